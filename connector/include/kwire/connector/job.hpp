// A job: `parallelism` subtasks of source -> transforms -> sink, run on the caller's thread
// with checkpoints, restored from the latest completed checkpoint at start and after every
// failure (Flink's fixed-delay restart strategy). What `kwire pipeline` and an embedding
// service run.
//
// One attempt, in order:
//   1. the manifest: written on the first start; compared on a restart (a parallelism or pool
//      change is allowed and reported, another transactional-id prefix refused);
//   2. the restore point (find_restore_point), its state spread over the job's parallelism;
//   3. every subtask built (the factory) and opened, then restored: the source's positions,
//      every participant's bytes, the sink's pending transactions (committed here);
//   4. exactly once: the abort sweep over the job's other transactional ids
//      (transaction_recovery.hpp), after every commit of step 3;
//   5. the loop: poll each subtask's source, hand each record through the transform to the
//      sink, and run the checkpoints due in between;
//   6. at the end (bounded sources finished, idle, or a stop request): one more checkpoint,
//      triggered after the last record, so that everything read is committed.
// A failure in 3-5 (a source, transform or sink error, a checkpoint that fails), or a store
// that cannot be read in 1-2 (an I/O error, brokers out of reach), closes the subtasks (an
// open transaction is aborted; prepared ones are left for the restore) and restarts from 1
// after the delay, until the attempts are spent. A damaged store (a corrupt or unreadable
// completed checkpoint, another format version) or another job's manifest ends it at once.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/connector/checkpoint_coordinator.hpp"
#include "kwire/connector/checkpoint_driver.hpp"
#include "kwire/connector/checkpoint_restore.hpp"
#include "kwire/connector/checkpoint_store.hpp"
#include "kwire/connector/commit_latency.hpp"
#include "kwire/connector/sink.hpp"
#include "kwire/connector/source.hpp"
#include "kwire/connector/transform.hpp"
#include "kwire/connector/watermarks.hpp"

namespace kwire::connector {

// One subtask's operators, made by the job's factory on every attempt.
struct job_subtask {
  std::unique_ptr<connector::source> source;
  std::unique_ptr<connector::transform> transform;  // null: records go to the sink unchanged
  std::unique_ptr<connector::sink> sink;
  // More state to checkpoint with the subtask (not owned; must outlive the attempt).
  std::vector<checkpoint_participant*> others;
};
using subtask_factory = std::function<std::error_code(
    std::int32_t subtask, std::int32_t parallelism, job_subtask& out, std::string& error_message)>;

struct job_settings {
  std::int32_t parallelism = 1;
  checkpoint_timing timing;
  std::int32_t restart_attempts = 3;
  std::chrono::milliseconds restart_delay{1000};
  on_unreadable_completed unreadable = on_unreadable_completed::refuse;
  // Exactly once: the sink's transactional ids (recorded in the manifest; the sweep of step 4
  // runs on them with these producer properties). Empty prefix: no transactions.
  std::string transactional_id_prefix;
  std::int32_t transactional_id_pool = 0;
  client::properties sweep_producer_properties;
  boost::asio::any_io_executor executor;  // for the sweep's producers
  // Which subtask a partition's position goes to when the parallelism changed.
  partition_owner owner;
  // End once every source is caught up and nothing arrived for this long (0: never).
  std::chrono::milliseconds stop_after_idle{0};
  // Set from another thread or a signal handler: end as at idle (a last checkpoint).
  const std::atomic<bool>* stop_requested = nullptr;
  std::function<void(std::string_view)> log;
  // Called with the restore point before anything is restored; an error refuses the restore
  // and ends the job (no restart). E.g. the source's lost-checkpoint check
  // (group_checkpoint.hpp). May be empty.
  std::function<checkpoint_error(const restore_point&)> check_restore;
  // Event time (watermarks.hpp): set, every subtask keeps per-partition watermarks of the
  // partitions its source reads, gives each record its event time as its timestamp, and
  // hands the subtask's watermark to its transform (transform::on_watermark) as it advances.
  std::optional<watermark_settings> watermarks;
};

struct job_result {
  std::error_code error;  // none: the job ended (bounded, idle or stopped) after a checkpoint
  std::string cause;      // with an error: what failed last, and where
  bool configuration_error = false;  // no restart was tried: it would fail the same way
  std::int32_t restarts = 0;
  checkpoint_id restored_from = 0;  // of the last attempt; 0: a fresh start
  checkpoint_id last_completed = 0;
  std::int64_t records_in = 0;   // handed out by the sources, in the last attempt
  std::int64_t records_out = 0;  // written to the sinks, in the last attempt
  // From the first record handed out to the last, in the last attempt (0 without records):
  // the figure a throughput is taken over, without start-up and the idle wait at the end.
  std::chrono::nanoseconds busy{0};
  // Each record's source-to-commit latency, in the last attempt (commit_latency.hpp).
  latency_histogram commit_latency;
};

job_result run_job(const job_settings& settings, checkpoint_store& store,
                   const subtask_factory& factory);

}  // namespace kwire::connector
