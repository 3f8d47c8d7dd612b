// async_send's records that found buffer.memory full. They wait on the producer's strand, in
// arrival order, until memory frees (a batch completes), max.block.ms passes, the operation
// is cancelled or the producer closes. Waiting blocks no thread, so async_send may be called
// from the io_context's own threads (a coroutine on a one-thread io_context, say) without
// starving the strand that frees the memory. Java's send() blocks the caller instead, and
// so does kwire's send() off the strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/producer.hpp"

namespace kwire::client::detail {

// A copy of the caller's record: a waiting record cannot rely on the caller's bytes (the
// callback style returns before the record is accepted). Only records that wait pay for it.
class owned_record {
 public:
  explicit owned_record(const producer_record& record);
  owned_record(const owned_record&) = delete;
  owned_record& operator=(const owned_record&) = delete;
  // A view of the copy (valid while this lives and is not moved).
  producer_record view() const;
  const std::string& topic() const noexcept { return topic_; }
  std::int32_t partition() const noexcept { return partition_; }

 private:
  using bytes = std::optional<std::vector<std::uint8_t>>;
  static protocol::optional_bytes span_of(const bytes& b);

  std::string topic_;
  std::int32_t partition_;
  std::int64_t timestamp_;
  bytes key_;
  bytes value_;
  std::vector<std::pair<std::string, bytes>> header_fields_;
  std::vector<protocol::header_view> headers_;
};

class memory_waiters {
 public:
  using clock = std::chrono::steady_clock;
  struct waiter {
    std::uint64_t id = 0;
    std::unique_ptr<owned_record> record;
    delivery_callback callback;
    clock::time_point deadline;  // now + max.block.ms at the call
  };

  bool empty() const noexcept { return waiting_.empty(); }
  std::size_t size() const noexcept { return waiting_.size(); }
  void push(waiter w) { waiting_.push_back(std::move(w)); }

  // Offers the waiting records, oldest first, to `append(const producer_record&,
  // delivery_callback&) -> error_code` until one still finds no room (buffer_exhausted);
  // the others leave the queue. Returns those append refused for another reason, to fail.
  template <class Append>
  std::vector<std::pair<waiter, std::error_code>> admit(Append&& append);
  // Those whose max.block.ms passed (to fail with buffer_exhausted).
  std::vector<waiter> take_expired(clock::time_point now);
  // The waiter with this id, if it still waits.
  std::optional<waiter> take(std::uint64_t id);
  std::vector<waiter> take_all();
  clock::time_point next_deadline() const noexcept;

 private:
  std::deque<waiter> waiting_;
};

template <class Append>
std::vector<std::pair<memory_waiters::waiter, std::error_code>> memory_waiters::admit(
    Append&& append) {
  std::vector<std::pair<waiter, std::error_code>> refused;
  while (!waiting_.empty()) {
    waiter& front = waiting_.front();
    const auto ec = append(front.record->view(), front.callback);
    if (ec == errc::buffer_exhausted) break;
    if (ec) refused.emplace_back(std::move(front), ec);
    waiting_.pop_front();
  }
  return refused;
}

}  // namespace kwire::client::detail
