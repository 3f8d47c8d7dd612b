#include "kwire/connector/commit_latency.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kwire::connector {

// Below 64 us every microsecond has its bucket; above, each power of two [2^k, 2^(k+1)) is cut
// into 32 equal buckets, indexed after the exact ones.
std::size_t latency_histogram::bucket_of(std::int64_t micros) {
  const auto v = static_cast<std::uint64_t>(
      std::clamp<std::int64_t>(micros, 0, (std::int64_t{1} << powers) - 1));
  if (v < 2 * sub_buckets) return static_cast<std::size_t>(v);
  const int shift = std::bit_width(v) - 6;  // v >> shift is in [32, 64)
  return static_cast<std::size_t>((shift + 1) * sub_buckets + static_cast<int>(v >> shift) -
                                  sub_buckets);
}

std::int64_t latency_histogram::upper_bound_of(std::size_t bucket) {
  const auto i = static_cast<std::int64_t>(bucket);
  if (i < 2 * sub_buckets) return i;
  const auto shift = i / sub_buckets - 1;
  const auto top = i % sub_buckets + sub_buckets;
  return ((top + 1) << shift) - 1;
}

void latency_histogram::add(std::chrono::nanoseconds latency, std::int64_t count) {
  if (count <= 0) return;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(latency);
  buckets_[bucket_of(micros.count())] += count;
  count_ += count;
  max_ = std::max(max_, micros);
}

void latency_histogram::merge(const latency_histogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::chrono::microseconds latency_histogram::quantile(double q) const {
  if (count_ == 0) return std::chrono::microseconds(0);
  const auto rank = std::max<std::int64_t>(
      1,
      static_cast<std::int64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_))));
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(std::chrono::microseconds(upper_bound_of(i)), max_);
  }
  return max_;
}

void commit_latency_tracker::polled(steady_time when, std::int64_t records) {
  if (records > 0) open_.push_back({when, records});
}

void commit_latency_tracker::triggered(checkpoint_id id) {
  if (open_.empty()) return;
  auto& batches = pending_[id];
  batches.insert(batches.end(), open_.begin(), open_.end());
  open_.clear();
}

void commit_latency_tracker::completed(checkpoint_id id, steady_time when) {
  const auto end = pending_.upper_bound(id);
  for (auto it = pending_.begin(); it != end; ++it)
    for (const auto& batch : it->second) histogram_.add(when - batch.when, batch.records);
  pending_.erase(pending_.begin(), end);
}

}  // namespace kwire::connector
