// The job's manifest, written to its checkpoint store before the first checkpoint: the
// parallelism it runs at and the transactional ids it owns. The ids are what the sink's
// restore may abort ("prefix-subtask-slot"), so the manifest remembers the largest
// parallelism and pool the job ever used: after a scale-down, the ids of the subtasks that
// are gone are still the job's to clean up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kwire/connector/error.hpp"

namespace kwire::connector {

struct job_manifest {
  std::int32_t parallelism = 1;            // subtasks of the job now
  std::string transactional_id_prefix;     // empty: the sink uses no transactions
  std::int32_t transactional_id_pool = 0;  // ids per subtask: prefix-SUBTASK-0 .. pool-1
  // The largest parallelism and pool ever recorded: every prefix-S-K with S below
  // owned_parallelism and K below owned_pool belongs to the job.
  std::int32_t owned_parallelism = 1;
  std::int32_t owned_pool = 0;
  std::int64_t written_ms = 0;  // wall clock of the last write, ms since the epoch
  bool operator==(const job_manifest&) const = default;
};

// A manifest for a job starting now: owned_* set from parallelism and pool.
job_manifest make_job_manifest(std::int32_t parallelism, std::string transactional_id_prefix,
                               std::int32_t transactional_id_pool);

// What a restart finds when it compares the stored manifest with the job it starts.
struct manifest_reconciliation {
  checkpoint_error error;  // manifest_mismatch: another job's store (a different prefix)
  // Set when the parallelism changed: the caller redistributes the source positions and
  // gives the pending transactions of subtasks that are gone to those that remain.
  std::optional<std::int32_t> previous_parallelism;
  std::optional<std::int32_t> previous_pool;  // set when the pool size changed
  job_manifest merged;  // what to write back: the new parallelism and pool, owned_* widened
};

// Compares `stored` with `wanted`. A parallelism or pool change is allowed and reported; a
// different transactional-id prefix is refused, naming both (the old ids would never be
// cleaned up, and two jobs may be sharing one store).
manifest_reconciliation reconcile_manifest(const job_manifest& stored, const job_manifest& wanted);

}  // namespace kwire::connector
