// The Kafka consumer: reads partitions assigned by hand (assign) or by a consumer group
// (subscribe: the classic protocol, or KIP-848 with group.protocol=consumer); fetches them from
// their leaders (one fetch session per broker, KIP-227, with the next fetch in flight while the
// application reads the previous one) or, with client.rack, from the replica a leader prefers
// for that rack (KIP-392), keeps positions, resets them by auto.offset.reset, and commits
// offsets to a group.
//
//   kwire::client::consumer c(io.get_executor(), config);
//   c.assign({{"t", 0}, {"t", 1}});
//   auto set = co_await c.async_poll(100ms, asio::use_awaitable);
//   kwire::client::consumer_record r;
//   for (auto cursor = set.records(); cursor.next(r);) use(r.key, r.value);
//
// Records are views into the fetched buffers, never copies. They stay valid as long as the
// record_set they came from (which shares ownership of those buffers); copy what must live
// longer. After the set is gone, reading a view is a use after free, which AddressSanitizer
// builds report (decompressed records sit in pooled blocks, poisoned while idle; other debug
// builds overwrite them).
//
// Threading: like the producer, everything runs on a strand of the given executor; the
// public functions may be called from any thread, and completion handlers run on their
// own associated executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/assignor.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/detail/completion.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/record_batch.hpp"

namespace kwire::client {

namespace asio = boost::asio;

struct consumer_record {
  std::string_view topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
  protocol::timestamp_type timestamp_type = protocol::timestamp_type::create_time;
  std::int32_t leader_epoch = -1;  // of the batch; -1 when the broker did not set one
  protocol::optional_bytes key;
  protocol::optional_bytes value;
  protocol::header_range headers;
};

namespace detail {
struct fetched_buffers;
struct fetched_chunk {
  std::shared_ptr<const std::string> topic;
  std::int32_t partition = -1;
  std::shared_ptr<const fetched_buffers> owner;  // keeps the views valid
  std::vector<protocol::record_batch_view> batches;
  std::int64_t first_offset = 0;  // records below it (earlier in the first batch) are skipped
  // Records at or after it (later in the last batch) belong to a later poll.
  std::int64_t end_offset = std::numeric_limits<std::int64_t>::max();
  // Where the first batch's records start when an earlier poll took its beginning.
  std::optional<protocol::record_cursor> resume;
};
class consumer_impl;
}  // namespace detail

// What one poll returns: at most max.poll.records records of one or more partitions, in
// offset order per partition (a batch may be shared with the next poll). Cheap to move;
// copies share the buffers.
class record_set {
 public:
  class cursor {
   public:
    // The next record, or false at the end. Control records (transaction markers) are
    // skipped.
    bool next(consumer_record& out);

   private:
    friend class record_set;
    explicit cursor(const record_set* set) : set_(set) {}
    bool open_batch();
    const record_set* set_;
    std::size_t chunk_ = 0;
    std::size_t batch_ = 0;
    bool in_batch_ = false;
    protocol::record_cursor records_;
    std::int32_t leader_epoch_ = -1;
    protocol::timestamp_type timestamp_type_ = protocol::timestamp_type::create_time;
  };

  cursor records() const { return cursor(this); }
  // Records the cursor will return.
  std::size_t record_count() const noexcept { return record_count_; }
  bool empty() const noexcept { return record_count_ == 0; }
  // Bytes of record data (uncompressed records sections) in the set.
  std::size_t record_bytes() const noexcept { return record_bytes_; }

 private:
  friend class detail::consumer_impl;
  std::vector<detail::fetched_chunk> chunks_;
  std::size_t record_count_ = 0;
  std::size_t record_bytes_ = 0;
};

// An offset to commit, with the leader epoch of the record before it (KIP-320) and
// metadata kept with it by the group coordinator.
struct offset_and_metadata {
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::string metadata;
};
using topic_partition_offsets = std::map<topic_partition, offset_and_metadata>;

// A partition's positions as the consumer last heard from the broker it fetches from (its
// leader, or a preferred read replica whose high watermark may lag the leader's a little).
struct partition_watermarks {
  std::int64_t log_start_offset = -1;
  std::int64_t high_watermark = -1;
  std::int64_t last_stable_offset = -1;
};

// What a subscribed consumer tells the application when its partitions change (Java's
// ConsumerRebalanceListener). The callbacks run on the consumer's strand, so they must not
// block (never wait there for a future of this consumer). Each one that gets `done` calls
// it when it has finished, possibly later; the rebalance waits for it.
struct rebalance_listener {
  using done_function = detail::unique_function<void()>;
  // These partitions are about to leave this consumer (a rebalance, or close); poll no
  // longer returns their records. Commit their offsets here (async_commit), then call done.
  // With enable.auto.commit the consumer has committed, before this call, the offsets after
  // the records handed out before the latest poll call (not those of the set the
  // application may still be working on: they come again to the partition's next owner);
  // when the revocation comes from close, after every record handed out.
  std::function<void(const std::vector<topic_partition>& partitions, done_function done)>
      on_revoked;
  // These partitions were taken away without a revocation: the membership was lost
  // (session timeout, fencing, max.poll.interval.ms exceeded), and other members may own
  // them already, so their offsets must not be committed.
  std::function<void(const std::vector<topic_partition>& partitions, done_function done)> on_lost;
  // After every rebalance: `added` are new to this consumer, `assignment` is all it owns.
  // A new partition starts at its committed offset (or by auto.offset.reset) unless seek()
  // is called for it here.
  std::function<void(const std::vector<topic_partition>& added,
                     const std::vector<topic_partition>& assignment)>
      on_assigned;
};

class consumer {
 public:
  // The configuration comes from parse_consumer_config(); it is not validated again.
  consumer(asio::any_io_executor executor, consumer_config config);
  // Starts a close (without committing) that needs the io_context to run afterwards; prefer
  // async_close, then destroy.
  ~consumer();
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  // Manual assignment: exactly these partitions from now on (replacing any earlier
  // assignment). Each starts at its committed offset (with group.id) or by
  // auto.offset.reset, unless seek() says otherwise. Error: invalid_argument after
  // subscribe().
  std::error_code assign(std::vector<topic_partition> partitions);
  // Group membership (group.id): the group coordinator (classic) or the broker (KIP-848)
  // shares these topics' partitions among the members, and `listener` hears of every
  // change. Calling it again changes the topics. Errors: invalid_argument without group.id,
  // with no topic or an empty name, or after assign().
  std::error_code subscribe(std::vector<std::string> topics, rebalance_listener listener = {});
  // Group membership of every topic whose whole name matches `regex` (ECMAScript syntax, as
  // std::regex), as Java's subscribe(Pattern): the consumer fetches the metadata of all
  // topics and subscribes to the matching ones (internal topics only with
  // exclude.internal.topics=false), again after each metadata refresh
  // (metadata.max.age.ms), so topics created later join the subscription. Errors:
  // invalid_argument for a pattern std::regex refuses, and as subscribe().
  std::error_code subscribe_pattern(std::string_view regex, rebalance_listener listener = {});
  // Partitions assigned by hand, or by the group now.
  std::vector<topic_partition> assignment() const;

  // Positions. A seek takes effect for the next poll; records fetched before it are
  // dropped.
  void seek(const topic_partition& partition, std::int64_t offset);
  void seek_to_beginning(const std::vector<topic_partition>& partitions);
  void seek_to_end(const std::vector<topic_partition>& partitions);
  // The first offset whose timestamp is >= `timestamp_ms` (ListOffsets), or the end.
  void seek_to_timestamp(const std::vector<topic_partition>& partitions, std::int64_t timestamp_ms);
  // Paused partitions are not fetched and not returned by poll, and keep their position.
  void pause(const std::vector<topic_partition>& partitions);
  void resume(const std::vector<topic_partition>& partitions);

  // Waits up to `timeout` for records of the assigned partitions; completes with at most
  // max.poll.records records, or an empty set at the timeout. The position of a partition
  // moves past the records handed out. Calling poll again tells the consumer that the
  // application is done with the records of the previous poll: auto commit
  // (enable.auto.commit, every auto.commit.interval.ms) commits only those, as the Java
  // client commits in poll(). Errors: a partition whose position is out of range with
  // auto.offset.reset=none, a corrupt batch (the error names topic, partition and offset;
  // the position stays before it), an authorization failure, a group membership that
  // cannot continue (e.g. FENCED_INSTANCE_ID; every later poll reports it too), shut_down.
  // A subscribed consumer must poll at least every max.poll.interval.ms to stay in the
  // group.
  // Signature void(error_code, record_set). One poll at a time.
  // Cancellation (asio::bind_cancellation_slot, or a coroutine's cancellation): any type
  // completes the poll at once with std::errc::operation_canceled and no records; nothing
  // is lost (records not handed out stay for the next poll).
  template <class Token>
  auto async_poll(std::chrono::milliseconds timeout, Token&& token);

  // These queries read what the consumer's strand last recorded (under a lock), so they
  // may be called from any thread, completion handlers included.
  // The offset of the next record poll will return; nullopt when not known yet.
  std::optional<std::int64_t> position(const topic_partition& partition) const;
  // The last fetch's watermarks of an assigned partition.
  std::optional<partition_watermarks> watermarks(const topic_partition& partition) const;
  // The broker whose Fetch response last brought records of an assigned partition: its
  // leader, or the replica the leader named for client.rack (KIP-392); nullopt before any.
  std::optional<std::int32_t> fetched_from(const topic_partition& partition) const;
  // The details of the last error poll returned (broker, partition, offset, message).
  diagnostics last_error_details() const;
  // What a transactional producer's send_offsets_to_transaction needs to commit this
  // member's offsets (KIP-447): group.id, and the generation (or KIP-848 member epoch) and
  // member id of the current assignment (-1 and empty between generations, and for a
  // consumer without a group); any thread.
  consumer_group_metadata group_metadata() const;
  // Counters since construction and each fetched partition's lag (metrics.hpp); from any
  // thread, cheap.
  client_metrics_snapshot metrics() const;

  // Commits offsets to group.id's coordinator; a group member's commit carries its
  // generation (or epoch), and fails with REBALANCE_IN_PROGRESS while it has none, or with
  // the coordinator's error (e.g. UNKNOWN_MEMBER_ID) after the group moved on without it.
  // Signature void(error_code).
  template <class Token>
  auto async_commit(topic_partition_offsets offsets, Token&& token);
  // Commits the current position of every assigned partition that has one: after every
  // record handed out, read or not (commit explicit offsets to commit less).
  template <class Token>
  auto async_commit(Token&& token);
  // The group's committed offsets of these partitions (absent: none committed).
  // Signature void(error_code, topic_partition_offsets).
  template <class Token>
  auto async_committed(std::vector<topic_partition> partitions, Token&& token);

  // Stops fetching; commits positions first when enable.auto.commit is on, after every record
  // handed out (the application is done with them when it closes; commit explicit offsets
  // and turn auto commit off when it is not, as `kwire consume` does). A group member
  // revokes its partitions through the listener and leaves the group, within
  // default.api.timeout.ms and at most 30 s. Fails a pending poll with shut_down; closes
  // the connections. Signature void().
  template <class Token>
  auto async_close(Token&& token);

  const consumer_config& config() const noexcept;

  using poll_handler = detail::unique_function<void(std::error_code, record_set)>;
  using commit_handler = detail::unique_function<void(std::error_code)>;
  using committed_handler = detail::unique_function<void(std::error_code, topic_partition_offsets)>;

 private:
  void start_poll(std::chrono::milliseconds timeout, poll_handler handler,
                  asio::cancellation_slot slot);
  void start_commit(std::optional<topic_partition_offsets> offsets, commit_handler handler);
  void start_committed(std::vector<topic_partition> partitions, committed_handler handler);
  void start_close(detail::unique_function<void()> done);

  std::shared_ptr<detail::consumer_impl> impl_;
};

template <class Token>
auto consumer::async_poll(std::chrono::milliseconds timeout, Token&& token) {
  return detail::initiate_cancellable<void(std::error_code, record_set)>(
      std::forward<Token>(token),
      [this](poll_handler done, asio::cancellation_slot slot, std::chrono::milliseconds limit) {
        start_poll(limit, std::move(done), slot);
      },
      timeout);
}

template <class Token>
auto consumer::async_commit(topic_partition_offsets offsets, Token&& token) {
  return detail::initiate<void(std::error_code)>(
      std::forward<Token>(token),
      [this](commit_handler done, topic_partition_offsets to_commit) {
        start_commit(std::move(to_commit), std::move(done));
      },
      std::move(offsets));
}

template <class Token>
auto consumer::async_commit(Token&& token) {
  return detail::initiate<void(std::error_code)>(
      std::forward<Token>(token),
      [this](commit_handler done) { start_commit(std::nullopt, std::move(done)); });
}

template <class Token>
auto consumer::async_committed(std::vector<topic_partition> partitions, Token&& token) {
  return detail::initiate<void(std::error_code, topic_partition_offsets)>(
      std::forward<Token>(token),
      [this](committed_handler done, std::vector<topic_partition> asked) {
        start_committed(std::move(asked), std::move(done));
      },
      std::move(partitions));
}

template <class Token>
auto consumer::async_close(Token&& token) {
  return detail::initiate<void()>(
      std::forward<Token>(token),
      [this](detail::completion<void()> done) { start_close(std::move(done)); });
}

}  // namespace kwire::client
