// The producer's record accumulator: per-partition queues of batches filled by send() from
// any thread, buffer.memory accounting, records held until their topic's metadata arrives,
// and the choice of the batches ready to go (linger.ms, full batches, retries) per leader.
// No I/O: the sender (producer.cpp) drives it on its strand.
//
// Lock rule: one mutex guards every queue, the memory count and the batch pool. Batches taken
// out of a queue for sending ("in flight") belong to the sender until it gives them back
// (requeue, split_and_requeue, recycle).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/millisecond_clock.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "kwire/client/partitioner.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/record_batch.hpp"
#include "producer/producer_identity.hpp"

namespace kwire::client {
struct cluster_metadata;
}

namespace kwire::client::detail {

using accumulator_clock = std::chrono::steady_clock;

// The last error seen on a record's way to the broker: why it may not arrive in time.
struct error_on_the_way {
  std::error_code ec;
  std::string context;  // where: "connection to broker 1 (127.0.0.1:9092)", ...
};

struct producer_topic;

struct producer_batch {
  producer_topic* topic = nullptr;
  std::int32_t partition = -1;
  protocol::record_batch_builder builder;
  std::vector<delivery_callback> callbacks;
  std::vector<std::int64_t> timestamps;
  accumulator_clock::time_point created{};
  std::uint64_t generation = 0;  // flush generation at creation
  std::int64_t reserved = 0;     // against buffer.memory: see record_bookkeeping_bytes
  int attempts = 0;
  accumulator_clock::time_point retry_at{};
  std::int32_t base_sequence = -1;  // -1: not assigned (assigned at the first drain)
  std::int16_t sent_epoch = -1;     // the producer epoch of the last attempt
  bool full = false;                // a record did not fit: send without waiting for linger
  bool sealed = false;              // drained once: never appended to again, even when retried
  error_on_the_way last_error;      // of the last attempt that will be retried
};

// What buffer.memory counts: a record's encoded bytes plus what the producer keeps beside them
// until its delivery report (the callback and the timestamp), and a batch's header and
// bookkeeping. A queued 100-byte record costs about 180 bytes, not 110.
inline constexpr std::size_t record_bookkeeping_bytes =
    sizeof(delivery_callback) + sizeof(std::int64_t);
inline constexpr std::size_t batch_bookkeeping_bytes =
    sizeof(producer_batch) + protocol::record_batch_header_size;
// The room a new batch starts with; it doubles as records come (up to batch.size).
inline constexpr std::size_t initial_batch_bytes = 16384;

struct producer_partition {
  std::deque<producer_batch*> queue;  // oldest first; the back is open for appends unless full
  std::int32_t in_flight = 0;         // batches in Produce requests (strand)
  partition_sequences sequences;      // (strand)
  std::int32_t leader = -1;
};

// A record that arrived before its topic's metadata, or naming a partition beyond the count
// the metadata had then (the topic may have just grown): kept in its encoded form until the
// partition count is known, or, for a partition beyond it, until two metadata updates after
// it arrived still lack the partition (the first may have been asked before the record came).
struct pending_record {
  producer_topic* topic = nullptr;
  std::size_t offset = 0;     // into producer_topic::pending_bytes
  std::int64_t reserved = 0;  // bytes of buffer.memory; 0 once released
  std::int32_t partition = -1;
  std::int64_t timestamp = 0;
  accumulator_clock::time_point created{};
  std::uint64_t generation = 0;
  std::uint64_t metadata_updates = 0;  // producer_accumulator's count when it was held
  delivery_callback callback;
};

struct producer_topic {
  explicit producer_topic(std::string n, std::int32_t batch_size)
      : name(std::move(n)),
        sticky(batch_size),
        batch_target(static_cast<std::size_t>(batch_size)) {}
  std::string name;
  protocol::uuid topic_id{};
  std::int32_t partition_count = -1;  // -1: no metadata yet
  std::error_code error;              // last topic-level error from metadata
  std::vector<producer_partition> partitions;
  std::vector<std::int32_t> with_leader;
  sticky_partition_state sticky;
  // batch.size counts compressed bytes (as in Java): batches are filled up to batch.size
  // divided by the topic's observed compression ratio, in uncompressed bytes.
  std::size_t batch_target;
  double compression_ratio = 1.0;
  // Set when the broker refused a batch as too large: batches stay below it from then on.
  std::size_t split_limit = std::numeric_limits<std::size_t>::max();
  std::vector<std::uint8_t> pending_bytes;
  std::deque<pending_record> pending;
};

// What drain() needs to know beyond the queues.
struct drain_conditions {
  accumulator_clock::time_point now;
  bool flushing = false;  // a flush (or close) waits: send without waiting for linger
  bool may_send = true;   // false while the producer has no usable id: only expiry
};

// The batches drain() took, by leader, and when to look again.
struct drained_batches {
  std::map<std::int32_t, std::vector<producer_batch*>> by_node;
  std::vector<pending_record> expired_pending;  // waited for metadata past delivery.timeout.ms
  accumulator_clock::time_point next_wakeup = accumulator_clock::time_point::max();
};

class producer_accumulator {
 public:
  // `wake` is called (lock held) when a batch opens or fills: the sender should drain.
  // `want_topic` is called (lock held) for a topic seen for the first time.
  producer_accumulator(const producer_config& config, protocol::record_batch_options options,
                       unique_function<void()> wake,
                       unique_function<void(const std::string&)> want_topic);
  producer_accumulator(const producer_accumulator&) = delete;
  producer_accumulator& operator=(const producer_accumulator&) = delete;

  // --- any thread

  // Appends a record to its partition's open batch (or holds it until its topic's metadata
  // arrives). May block up to max.block.ms for buffer.memory when `may_block`.
  std::error_code append(const producer_record& record, delivery_callback& callback,
                         bool may_block);
  std::int64_t buffered_bytes() const;
  // A copy of the topic's name that lives as long as the accumulator (for the reports of
  // records that never reached it); asks for no metadata.
  std::string_view stable_topic_name(std::string_view topic);
  void set_partitioner(std::shared_ptr<partitioner> p);
  // Stops appends; senders blocked on buffer.memory give up.
  void close();
  // From now on every append() reports `ec` (the producer failed for good).
  void fail_appends(std::error_code ec);
  // Starts a flush: the generation that must complete (see oldest_incomplete()).
  std::uint64_t begin_flush();
  // The oldest flush generation with records not yet completed (max when none).
  std::uint64_t oldest_incomplete() const;
  // The topic's partition count (-1 while unknown) and its non-retriable metadata error.
  // Asks for the topic's metadata when it is new.
  std::pair<std::int32_t, std::error_code> partition_count(std::string_view topic);

  // --- the sender (strand)

  // Takes the metadata: partition counts and leaders; places the records held for it.
  // Records that cannot be placed are returned with their errors.
  // `fresh`: from a Metadata response, not a copy the cluster held already.
  std::vector<std::pair<pending_record, std::error_code>> update_metadata(
      const cluster_metadata& metadata, bool fresh = true);
  // Takes the batches past delivery.timeout.ms out of their queues (the oldest of each).
  std::vector<producer_batch*> take_expired(accumulator_clock::time_point now);
  // Takes the ready batches of every partition with a leader, oldest first per partition,
  // at most max.request.size per leader. `may_send(leader, partition, front)` adds the
  // sender's limits (connection, requests in flight, sequence order).
  template <class MaySend>
  drained_batches drain(const drain_conditions& conditions, MaySend&& may_send);
  // Every queued batch and held record (shutdown, a failed producer).
  std::pair<std::vector<producer_batch*>, std::vector<pending_record>> take_all();

  // A batch's attempt ended and it goes back to its queue for a retry at `retry_at`, in
  // sequence order among the batches already retried.
  void requeue(producer_batch* b, accumulator_clock::time_point retry_at);
  // A batch left flight for good (delivered or failed); recycle() it after its callbacks.
  void left_flight(producer_batch* b);
  // Releases a completed batch's memory and returns it to the pool.
  void recycle(producer_batch* b);
  // Releases a held record that failed.
  void pending_done(pending_record& r);
  // Whether a record waits for a partition the metadata does not have yet: the producer then
  // asks for metadata again.
  bool waiting_for_partitions() const;
  // Re-encodes an in-flight batch the broker refused as too large into batches of half its
  // size, back at the front of its queue; the sequence range is handed on, contiguous. False
  // when the batch cannot be read back (then it fails as it is).
  bool split_and_requeue(producer_batch* b, const producer_identity& identity);
  // After `b` was finished (compressed): counts the compressed copy that codecs other than lz4
  // keep beside the records, and follows the topic's compression ratio.
  void batch_finished(producer_batch& b);
  // A new epoch: every partition's sequences start again at 0.
  void reset_sequences();

 private:
  producer_topic& topic_locked(std::string_view name);
  producer_topic& find_topic_locked(std::string_view name);
  std::error_code reserve_locked(std::unique_lock<std::mutex>& lock, std::int64_t bytes,
                                 bool may_block);
  void release_locked(std::int64_t bytes);
  producer_batch* new_batch_locked();
  void pool_locked(producer_batch* b);
  std::error_code append_locked(
      std::unique_lock<std::mutex>& lock, producer_topic& topic, std::int32_t partition,
      std::int64_t timestamp, const protocol::optional_bytes& key,
      const protocol::optional_bytes& value, std::span<const protocol::header_view> headers,
      std::size_t fields_size, std::size_t record_size, delivery_callback& callback, bool may_block,
      std::optional<accumulator_clock::time_point> created, std::uint64_t generation);
  // Holds a record of a topic whose partitions are not known yet; `charge` is reserved.
  void hold_pending_locked(producer_topic& topic, const producer_record& record,
                           std::int64_t timestamp, std::int64_t charge,
                           delivery_callback& callback);
  void place_pending_locked(std::unique_lock<std::mutex>& lock, producer_topic& topic,
                            std::vector<std::pair<pending_record, std::error_code>>& failed);
  void decrement_incomplete_locked(std::uint64_t generation);
  static void insert_in_sequence_order(producer_partition& p, std::int32_t base_sequence,
                                       std::span<producer_batch* const> batches);

  const producer_config& config_;
  const protocol::record_batch_options batch_options_;
  unique_function<void()> wake_;
  unique_function<void(const std::string&)> want_topic_;

  mutable std::mutex mutex_;
  std::condition_variable memory_freed_;
  std::map<std::string, std::unique_ptr<producer_topic>, std::less<>> topics_;
  producer_topic* last_topic_ = nullptr;                  // the topic topic_locked() found last
  std::set<std::string, std::less<>> other_topic_names_;  // see stable_topic_name
  millisecond_clock create_time_clock_;  // records sent without a timestamp get its reading
  std::vector<std::unique_ptr<producer_batch>> owned_;
  std::vector<producer_batch*> pool_;
  std::int64_t pooled_bytes_ = 0;  // buffers kept by the batches in pool_ (see recycle)
  std::int64_t memory_used_ = 0;
  std::uint64_t generation_ = 0;
  std::uint64_t metadata_updates_ = 0;                // update_metadata() calls so far
  std::map<std::uint64_t, std::int64_t> incomplete_;  // by flush generation
  std::shared_ptr<partitioner> custom_partitioner_;
  partition_random random_;
  bool closing_ = false;
  std::error_code append_error_;  // the producer's fatal error, once it failed
};

template <class MaySend>
drained_batches producer_accumulator::drain(const drain_conditions& c, MaySend&& may_send) {
  drained_batches out;
  std::unique_lock lock(mutex_);
  for (auto& [name, topic] : topics_) {
    // Records still waiting for metadata expire too.
    while (!topic->pending.empty() &&
           topic->pending.front().created + config_.delivery_timeout <= c.now) {
      out.expired_pending.push_back(std::move(topic->pending.front()));
      topic->pending.pop_front();
    }
    if (!topic->pending.empty())
      out.next_wakeup =
          std::min(out.next_wakeup, topic->pending.front().created + config_.delivery_timeout);
    for (std::int32_t pi = 0; pi < static_cast<std::int32_t>(topic->partitions.size()); ++pi) {
      auto& p = topic->partitions[static_cast<std::size_t>(pi)];
      if (p.queue.empty()) continue;
      producer_batch* b = p.queue.front();
      out.next_wakeup = std::min(out.next_wakeup, b->created + config_.delivery_timeout);
      if (!c.may_send) continue;
      if (b->attempts > 0 && b->retry_at > c.now) {
        out.next_wakeup = std::min(out.next_wakeup, b->retry_at);
        continue;
      }
      const bool ready = b->full || p.queue.size() > 1 || b->attempts > 0 || c.flushing ||
                         closing_ || c.now >= b->created + config_.linger;
      if (!ready) {
        out.next_wakeup = std::min(out.next_wakeup, b->created + config_.linger);
        continue;
      }
      if (p.leader < 0) continue;  // metadata refresh brings us back
      if (!may_send(p.leader, p, *b)) continue;
      auto& list = out.by_node[p.leader];
      std::size_t request_bytes = 0;
      for (auto* x : list) request_bytes += x->builder.size_in_bytes();
      if (!list.empty() && request_bytes + b->builder.size_in_bytes() >
                               static_cast<std::size_t>(config_.max_request_size)) {
        out.next_wakeup = c.now;  // more next round
        continue;
      }
      p.queue.pop_front();
      b->sealed = true;
      ++p.in_flight;
      list.push_back(b);
    }
  }
  return out;
}

}  // namespace kwire::client::detail
