// The thin driver of the checkpoint coordinator for subtasks that run in this process: a
// stop-the-world snapshot between records. The caller's loop calls run_due() between records
// (and sleeps at most until next_deadline()); the driver snapshots every local subtask's
// participants, stores the parts, writes the completion record, and notifies. All on the
// caller's thread; no timer, no thread of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kwire/connector/checkpoint_coordinator.hpp"
#include "kwire/connector/checkpoint_participant.hpp"
#include "kwire/connector/checkpoint_store.hpp"
#include "kwire/connector/sink.hpp"
#include "kwire/connector/source.hpp"

namespace kwire::connector {

// One subtask's participants. The source's positions and the sink's pending transactions
// go to their typed places in the part; every participant's bytes (source and sink
// included) are stored by participant_name().
struct subtask_participants {
  std::int32_t subtask = 0;
  connector::source* source = nullptr;          // may be null (a test, a sink-only job)
  connector::sink* sink = nullptr;              // may be null
  std::vector<checkpoint_participant*> others;  // transforms, user state
};

// The part of checkpoint `id` for one subtask: every participant's snapshot, the source last
// but one and the sink last (it prepares its transaction with every record written so far).
// invalid_argument when two participants share a name.
checkpoint_error snapshot_subtask(const subtask_participants& subtask, checkpoint_id id,
                                  subtask_state& out);

// Gives every participant its bytes from `state`, the source its positions and the sink its
// pending transactions. The first error stops it.
checkpoint_error restore_subtask(const subtask_participants& subtask, const subtask_state& state);

// The restored checkpoint's state spread over `parallelism` subtasks (its parallelism or
// another): positions go to the subtask `owner` names for their partition, pending
// transactions of old subtask S to S modulo parallelism (so those of subtasks that are gone
// are committed too), participant bytes of old subtask S to subtask S when it still exists
// (rescaling opaque state is the participant's own business).
using partition_owner =
    std::function<std::int32_t(const source_position& position, std::int32_t parallelism)>;
std::vector<subtask_state> rescale_checkpoint(const completed_checkpoint& restored,
                                              std::int32_t parallelism,
                                              const partition_owner& owner);

class checkpoint_driver {
 public:
  // What happened, for the caller's log and counters: each action once carried out, with
  // the error that made a part or the completion fail (empty otherwise).
  using event_sink = std::function<void(const coordinator_action&, const checkpoint_error&)>;

  // `parallelism`: the job's subtasks, all of them in `subtasks` (one process). `first_id`:
  // restore_point::next_id. `wall_clock_ms`: milliseconds since the epoch, for the record.
  checkpoint_driver(checkpoint_timing timing, checkpoint_store& store,
                    std::vector<subtask_participants> subtasks, checkpoint_id first_id,
                    steady_time start, std::function<std::int64_t()> wall_clock_ms,
                    event_sink events = {});

  // Carries out every action due at `now`, the snapshots and the store writes included.
  void run_due(steady_time now);
  steady_time next_deadline() const { return coordinator_.next_deadline(); }
  checkpoint_id last_completed() const noexcept { return coordinator_.last_completed(); }

 private:
  void carry_out(std::vector<coordinator_action> actions, steady_time now);
  void notify(const coordinator_action& action);

  checkpoint_coordinator coordinator_;
  checkpoint_store& store_;
  std::vector<subtask_participants> subtasks_;
  std::function<std::int64_t()> wall_clock_ms_;
  event_sink events_;
};

}  // namespace kwire::connector
