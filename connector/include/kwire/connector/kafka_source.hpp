// The Kafka source (Flink's FlinkKafkaConsumer / KafkaSource): one instance per subtask reads
// the partitions kafka_partition_owner() gives it (manual assignment, no group membership;
// group.id only for committed offsets), hands out records through source_records, and keeps
// the next offset of each partition as of the records handed out, which checkpoints store.
//
//   kafka_source_settings settings;
//   if (auto e = validate_kafka_source_config(config, settings)) fail(e.describe());
//   kafka_source src(io_thread_executor, std::move(settings));
//   src.open(subtask, parallelism);
//   src.restore_positions(restored);  // after a restore only
//   for (source_records out; !src.finished();) src.poll(100ms, out) ...
//
// Threading: every member is called from the subtask's thread and is synchronous. The
// client underneath is asynchronous on `executor`, which another thread must run (the
// caller's io_context thread): the source waits for it with futures, so calling it from a
// thread of that executor would deadlock.
//
// Start: partitions are looked up at open(); offsets are resolved before the first poll (or
// the first positions()), by start.position, or after a restore by the checkpoint (see
// kafka_start_positions.hpp), and every partition is sought there explicitly, so that its
// position is known before any record comes. Discovery (partition.discovery.interval.ms)
// adds new partitions of subscribed topics, read from the earliest offset.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kwire/client/consumer.hpp"
#include "kwire/connector/kafka_source_config.hpp"
#include "kwire/connector/kafka_start_positions.hpp"
#include "kwire/connector/source.hpp"

namespace kwire::client {
class admin;
}

namespace kwire::connector {

namespace detail {
class metadata_watch;
class topic_matcher;
}  // namespace detail

// Counters since construction, read on the subtask's thread.
struct kafka_source_metrics {
  std::uint64_t records_handed_out = 0;
  std::uint64_t commits_succeeded = 0;           // group commits after a completed checkpoint
  std::uint64_t commits_failed = 0;              // counted, never fatal (monitoring only)
  std::string last_commit_error;                 // "checkpoint N: why" of the latest failed commit
  std::uint64_t partitions_discovered = 0;       // added after the start
  std::uint64_t restored_positions_dropped = 0;  // of topics no longer subscribed
};

class kafka_source final : public source {
 public:
  // `name`: participant_name(), unique within the subtask.
  kafka_source(boost::asio::any_io_executor executor, kafka_source_settings settings,
               std::string name = "kafka-source");
  // Closes the consumer (without committing), waiting a bounded time.
  ~kafka_source() override;
  kafka_source(const kafka_source&) = delete;
  kafka_source& operator=(const kafka_source&) = delete;

  std::string participant_name() const override { return name_; }
  // The positions are stored typed (positions()); the bytes are empty.
  participant_bytes snapshot(checkpoint_id id) override;
  std::error_code restore(std::span<const std::uint8_t> state) override;
  // on_checkpoint: commits checkpoint id's positions to the group, metadata
  // "kwire-checkpoint=ID", asynchronously; the outcome is counted.
  void notify_complete(checkpoint_id id) override;
  void notify_aborted(checkpoint_id id) override;

  std::error_code open(std::int32_t subtask, std::int32_t parallelism) override;
  std::error_code restore_positions(std::span<const source_position> positions) override;
  std::error_code poll(std::chrono::milliseconds timeout, source_records& out) override;
  std::vector<source_position> positions(checkpoint_id id) override;
  bool finished() const override;
  bool caught_up() const override;

  kafka_source_metrics metrics() const;
  // The sentence behind the last error open(), poll() or the start returned.
  const checkpoint_error& last_error() const noexcept { return last_error_; }
  // The partitions this subtask reads now.
  std::vector<client::topic_partition> partitions() const override;

 private:
  struct partition_state {
    std::int64_t next_offset = -1;
    std::optional<std::int64_t> stop;
    bool finished = false;
  };
  // Shared with commit completions, which run on the client's side.
  struct counters {
    std::atomic<std::uint64_t> commits_succeeded{0};
    std::atomic<std::uint64_t> commits_failed{0};
    std::mutex mutex;
    std::string last_commit_error;  // under mutex
  };

  std::error_code fail(checkpoint_error error);
  std::vector<client::topic_partition> owned_partitions(
      const std::map<std::string, std::int32_t>& topics) const;
  // Resolves start offsets (and stops) of `added`, then assigns and seeks them.
  checkpoint_error start_partitions(const std::vector<client::topic_partition>& added,
                                    const partition_offsets* restored);
  checkpoint_error ensure_started();
  checkpoint_error discover();
  void finish_partition(const client::topic_partition& tp, partition_state& state);

  boost::asio::any_io_executor executor_;
  kafka_source_settings settings_;
  std::string name_;
  std::int32_t subtask_ = -1;
  std::int32_t parallelism_ = 0;
  std::unique_ptr<detail::topic_matcher> matcher_;
  std::unique_ptr<detail::metadata_watch> metadata_;
  std::unique_ptr<client::admin> admin_;
  std::unique_ptr<client::consumer> consumer_;
  std::map<client::topic_partition, partition_state> partitions_;
  std::vector<client::topic_partition> pending_start_;  // owned at open(), not yet started
  std::optional<partition_offsets> restored_;
  bool started_ = false;
  std::uint64_t metadata_version_ = 0;
  std::chrono::steady_clock::time_point next_discovery_{};
  std::map<checkpoint_id, partition_offsets> uncommitted_;  // positions(id), until complete
  std::shared_ptr<counters> counters_ = std::make_shared<counters>();
  std::uint64_t records_handed_out_ = 0;
  std::uint64_t partitions_discovered_ = 0;
  std::uint64_t restored_dropped_ = 0;
  checkpoint_error last_error_;
};

}  // namespace kwire::connector
