// Source-to-commit latency: from the poll that handed a record to the job to the end of the
// "complete" notification of the checkpoint that holds it, when its transaction is committed
// (visible to read_committed readers) and its position may be committed to the group. The
// figure an operator of an exactly-once pipeline waits on; about one checkpoint interval plus
// the commit by design.
//
// Recorded per poll, not per record: every record of one poll shares its start, so the hot
// path adds one entry per poll and nothing per record.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

#include "kwire/connector/checkpoint_coordinator.hpp"

namespace kwire::connector {

// Counts of durations in logarithmic buckets of about 3% width, from 1 us to about 10^6 s.
class latency_histogram {
 public:
  void add(std::chrono::nanoseconds latency, std::int64_t count);
  void merge(const latency_histogram& other);

  std::int64_t count() const noexcept { return count_; }
  // The smallest bucket bound at or above the q-th quantile (0 < q <= 1); 0 when empty.
  std::chrono::microseconds quantile(double q) const;
  std::chrono::microseconds max() const noexcept { return max_; }

 private:
  static constexpr int sub_buckets = 32;  // per power of two: about 3% apart
  static constexpr int powers = 40;       // up to 2^40 us
  static std::size_t bucket_of(std::int64_t micros);
  static std::int64_t upper_bound_of(std::size_t bucket);

  std::array<std::int64_t, sub_buckets*(powers + 1)> buckets_{};
  std::int64_t count_ = 0;
  std::chrono::microseconds max_{0};
};

class commit_latency_tracker {
 public:
  // `records` records were handed out at `when`; they belong to the next checkpoint triggered.
  void polled(steady_time when, std::int64_t records);
  // Checkpoint `id` was triggered: what was polled since the previous trigger is in it.
  void triggered(checkpoint_id id);
  // Checkpoint `id`'s "complete" was notified (its sinks committed) at `when`: its records and
  // those of every earlier checkpoint that failed (their transactions commit with it) are done.
  void completed(checkpoint_id id, steady_time when);

  const latency_histogram& histogram() const noexcept { return histogram_; }

 private:
  struct poll_batch {
    steady_time when;
    std::int64_t records;
  };
  std::vector<poll_batch> open_;
  std::map<checkpoint_id, std::vector<poll_batch>> pending_;
  latency_histogram histogram_;
};

}  // namespace kwire::connector
