// What a sink subtask implements (the Kafka sink: FlinkKafkaProducer / KafkaSink). One
// instance per subtask; every call comes from the subtask's thread.
//
// Exactly once: one transaction per checkpoint. snapshot(N) prepares the open transaction
// (client::producer::prepare_transaction) and adds its handle to the pending list (see
// pending_transactions.hpp); pending() is what checkpoint N stores; notify_complete(N)
// commits every pending transaction prepared at or before N; notify_aborted(N) keeps them
// for the next checkpoint. Empty transactions are never checkpointed.
#pragma once

#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/connector/checkpoint_participant.hpp"
#include "kwire/connector/record.hpp"

namespace kwire::connector {

enum class delivery_guarantee : std::uint8_t {
  none,           // fire and forget
  at_least_once,  // flush on checkpoint: an async error fails the checkpoint
  exactly_once,   // transactions committed when the checkpoint completes
};
const char* to_string(delivery_guarantee g) noexcept;

class sink : public checkpoint_participant {
 public:
  // Subtask `subtask` of `parallelism` (its transactional ids: prefix-SUBTASK-SLOT).
  virtual std::error_code open(std::int32_t subtask, std::int32_t parallelism) = 0;

  // Before open's first write after a restore: the pending transactions this subtask must
  // commit first (its own, and those the caller gave it of subtasks that no longer exist).
  virtual std::error_code restore_pending(std::span<const pending_transaction> pending) = 0;

  // Hands a record to the producer (in the open transaction, with exactly once). An error
  // fails the pipeline.
  virtual std::error_code write(const sink_record& record) = 0;

  // At the barrier of checkpoint `id`, before snapshot(id): makes every record written so far
  // durable (at least once: flush) or prepares the open transaction (exactly once). An error
  // fails the checkpoint; the sink then refuses further writes, so the pipeline restarts from
  // the last completed checkpoint.
  virtual std::error_code pre_commit(checkpoint_id id) {
    (void)id;
    return {};
  }

  // The transactions prepared and not yet committed, including the one snapshot(id) just
  // prepared: what checkpoint `id` stores. Empty unless exactly once.
  virtual std::vector<pending_transaction> pending(checkpoint_id id) = 0;

  virtual delivery_guarantee guarantee() const noexcept = 0;

  // Ends the subtask (the job's end, or a failure before a restart): exactly once aborts the
  // open transaction, whose records belong to no checkpoint, and leaves prepared ones for the
  // restore; the other guarantees flush.
  virtual void close() {}
};

}  // namespace kwire::connector
