// The consumer's assigned partitions: each one's position (the next offset to hand out),
// fetch offset (the next to fetch: the position plus what is buffered) and phase (waiting
// for its committed offset, for an offset reset, fetching, or failed); the records fetched
// for them that wait for poll, and how poll hands them out; the copy of positions and
// watermarks that queries read from any thread. All but those queries run on the strand.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "consumer/consumer_driver.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client::detail {

inline constexpr std::int64_t earliest_timestamp = -2;  // ListOffsets: the log start
inline constexpr std::int64_t latest_timestamp = -1;    // ListOffsets: the log end

// A partition named by a view of its topic: looks a partition up without copying the name.
struct partition_key {
  std::string_view topic;
  std::int32_t partition;
};

// topic_partition's order, also between a topic_partition and a partition_key.
struct partition_order {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    const std::string_view at = a.topic, bt = b.topic;
    return at < bt || (at == bt && a.partition < b.partition);
  }
};

enum class partition_phase : std::uint8_t {
  awaiting_committed,  // OffsetFetch from the group coordinator decides the position
  awaiting_reset,      // ListOffsets decides the position (reset_timestamp)
  fetching,
  failed,  // `error` is reported by poll until a seek
};

struct assigned_partition {
  topic_partition tp;
  std::shared_ptr<const std::string> topic;
  partition_phase phase = partition_phase::awaiting_reset;
  std::int64_t reset_timestamp = latest_timestamp;
  std::int64_t position = -1;
  std::int64_t fetch_offset = -1;
  std::int32_t last_fetched_epoch = -1;
  std::int32_t position_epoch = -1;   // leader epoch of the record before the position
  std::uint64_t seek_generation = 0;  // bumped by every seek/reset: older fetched data is stale
  int buffered = 0;                   // fetched chunks waiting for poll
  // The position before the records of poll number `handed_out_in_poll`: while that is the
  // latest poll, the application may still be working on them, so auto commit stops there.
  std::uint64_t handed_out_in_poll = 0;
  std::int64_t position_before_poll = -1;
  std::int32_t position_epoch_before_poll = -1;
  bool paused = false;
  bool revoking = false;  // leaving the group's assignment: not fetched, not returned
  bool list_offsets_in_flight = false;
  consumer_clock::time_point retry_at{};
  // KIP-392: the replica the leader told us to fetch from (client.rack), until
  // `preferred_until` (metadata.max.age.ms after it was named, as Java) or a failure there.
  std::int32_t preferred_replica = -1;
  consumer_clock::time_point preferred_until{};
  std::int32_t fetched_from = -1;  // the broker that last brought records
  partition_watermarks marks;
  std::error_code error;
  diagnostics error_details;
};

// Checked records of one partition from one Fetch response, waiting for poll.
struct ready_chunk {
  fetched_chunk chunk;
  std::uint64_t seek_generation = 0;
  std::vector<std::size_t> counts;  // records per batch (at or after first_offset)
  std::int64_t next_offset = 0;     // after the chunk's last batch
  std::int32_t last_epoch = -1;
};

// What one poll hands out: a record_set's content.
struct handed_out_records {
  std::vector<fetched_chunk> chunks;
  std::size_t records = 0;
  std::size_t bytes = 0;  // uncompressed records sections of the whole batches
};

class consumer_positions {
 public:
  using partition_map = std::map<topic_partition, assigned_partition, partition_order>;

  // `config` outlives this (the consumer owns both).
  explicit consumer_positions(const consumer_config& config) : config_(config) {}

  partition_map& partitions() noexcept { return partitions_; }
  const partition_map& partitions() const noexcept { return partitions_; }
  assigned_partition* find(const topic_partition& tp);
  // The partition of a fetched chunk, looked up without copying the topic's name.
  assigned_partition* find(const fetched_chunk& chunk);

  // Exactly these partitions from now on: new ones (returned) look up their position,
  // others go.
  std::vector<topic_partition> set_assignment(const std::set<topic_partition>& wanted);
  // The partition leaves the assignment (a revocation completed).
  void erase(const topic_partition& tp);

  // ---- positions (each drops the partition's fetched records that wait for poll)
  void set_position(assigned_partition& p, std::int64_t offset, std::int32_t epoch);
  // Starts an offset reset to `timestamp` (ListOffsets).
  void request_reset(assigned_partition& p, std::int64_t timestamp);
  // Starts an offset reset by auto.offset.reset (or fails the partition when it is none).
  void reset_by_policy(assigned_partition& p, std::error_code cause, const diagnostics& diag);
  // The partition stops fetching; poll reports `ec` once the records buffered before the
  // failure (kept unless `drop_buffered`) are handed out, and then on every poll until a
  // seek or reset.
  void fail_partition(assigned_partition& p, std::error_code ec, diagnostics diag,
                      bool drop_buffered = true);
  // Fetched records of `p` are stale (a seek, a reset, a revocation).
  void invalidate_fetched(assigned_partition& p);
  // Copies the partition's position and watermarks for the queries.
  void publish(const assigned_partition& p);

  topic_partition_offsets current_positions() const;
  // What auto commit commits: the offset after the records the application is done with,
  // those handed out before its latest poll call (the Java client commits in poll()).
  // Closing is the application's word that it is done with everything handed out.
  std::optional<offset_and_metadata> consumed_position(const assigned_partition& p,
                                                       bool closing) const;
  topic_partition_offsets consumed_positions(bool closing) const;

  // ---- records waiting for poll, in arrival order
  const std::deque<ready_chunk>& ready() const noexcept { return ready_; }
  void add_ready(assigned_partition& p, ready_chunk chunk);
  void clear_ready() { ready_.clear(); }
  // A poll call: the application is done with the records of the previous one.
  void count_poll() noexcept { ++polls_; }
  // Up to `max_records` records (max.poll.records), moving the positions past them.
  handed_out_records hand_out(std::size_t max_records);
  // The error poll reports: a failed partition's, once its records fetched before the
  // failure are handed out.
  std::error_code take_failure();

  // ---- queries, from any thread
  std::vector<topic_partition> assignment() const;
  std::optional<std::int64_t> position(const topic_partition& tp) const;
  std::optional<partition_watermarks> watermarks(const topic_partition& tp) const;
  std::optional<std::int32_t> fetched_from(const topic_partition& tp) const;
  diagnostics last_error_details() const;
  void set_last_error_details(diagnostics details);

 private:
  struct partition_snapshot {
    std::int64_t position = -1;
    partition_watermarks marks;
    std::int32_t fetched_from = -1;
  };

  std::shared_ptr<const std::string> topic_name(const std::string& name);
  void start_position_lookup(assigned_partition& p);
  std::int64_t default_reset_timestamp() const;

  const consumer_config& config_;
  partition_map partitions_;
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> topic_names_;
  std::deque<ready_chunk> ready_;
  std::uint64_t polls_ = 0;  // poll calls so far
  mutable std::mutex snapshot_mutex_;
  std::map<topic_partition, partition_snapshot> snapshot_;  // for the queries (the lock)
  diagnostics last_error_details_;                          // (the lock)
};

}  // namespace kwire::client::detail
