#include "producer/memory_waiters.hpp"

#include <algorithm>

namespace kwire::client::detail {

namespace {

std::optional<std::vector<std::uint8_t>> copy_of(const protocol::optional_bytes& b) {
  if (!b) return std::nullopt;
  return std::vector<std::uint8_t>(b->begin(), b->end());
}

}  // namespace

owned_record::owned_record(const producer_record& record)
    : topic_(record.topic),
      partition_(record.partition),
      timestamp_(record.timestamp),
      key_(copy_of(record.key)),
      value_(copy_of(record.value)) {
  header_fields_.reserve(record.headers.size());
  for (const auto& h : record.headers)
    header_fields_.emplace_back(std::string(h.key), copy_of(h.value));
  headers_.reserve(header_fields_.size());
  for (const auto& [name, value] : header_fields_) headers_.push_back({name, span_of(value)});
}

protocol::optional_bytes owned_record::span_of(const bytes& b) {
  if (!b) return std::nullopt;
  return std::span<const std::uint8_t>(*b);
}

producer_record owned_record::view() const {
  return {.topic = topic_,
          .partition = partition_,
          .key = span_of(key_),
          .value = span_of(value_),
          .headers = headers_,
          .timestamp = timestamp_};
}

std::vector<memory_waiters::waiter> memory_waiters::take_expired(clock::time_point now) {
  std::vector<waiter> expired;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->deadline <= now) {
      expired.push_back(std::move(*it));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

std::optional<memory_waiters::waiter> memory_waiters::take(std::uint64_t id) {
  auto it = std::ranges::find_if(waiting_, [id](const waiter& w) { return w.id == id; });
  if (it == waiting_.end()) return std::nullopt;
  waiter w = std::move(*it);
  waiting_.erase(it);
  return w;
}

std::vector<memory_waiters::waiter> memory_waiters::take_all() {
  std::vector<waiter> all(std::make_move_iterator(waiting_.begin()),
                          std::make_move_iterator(waiting_.end()));
  waiting_.clear();
  return all;
}

memory_waiters::clock::time_point memory_waiters::next_deadline() const noexcept {
  auto at = clock::time_point::max();
  for (const auto& w : waiting_) at = std::min(at, w.deadline);
  return at;
}

}  // namespace kwire::client::detail
