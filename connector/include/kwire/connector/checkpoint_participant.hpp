// Anything with state that must survive a restart takes part in checkpoints: the source (its
// own bytes beside its positions), the sink, a user transform's counts. The checkpoint driver
// calls these on the subtask's thread, between records (a stop-the-world snapshot), so that
// every record belongs to exactly one checkpoint.
#pragma once

#include <span>
#include <string>
#include <system_error>

#include "kwire/connector/checkpoint_state.hpp"

namespace kwire::connector {

class checkpoint_participant {
 public:
  virtual ~checkpoint_participant() = default;

  // The key of this participant's bytes in the subtask's part: unique within a subtask and
  // stable across restarts (the restore finds its bytes by it).
  virtual std::string participant_name() const = 0;

  // The participant's state at the barrier of checkpoint `id`. The bytes are stored as they
  // are; the participant chooses (and versions) their encoding.
  virtual participant_bytes snapshot(checkpoint_id id) = 0;

  // Called before the first record after a restart with the bytes snapshot() returned for the
  // restored checkpoint (empty when the checkpoint has none for this name). An error fails the
  // restore (and counts as an attempt of the restart strategy).
  virtual std::error_code restore(std::span<const std::uint8_t> state) = 0;

  // Checkpoint `id` is completed: every part is durable. Also means that every earlier
  // checkpoint is settled, completed or aborted (a sink commits every pending transaction
  // prepared at or before `id`). A notification may be lost in a crash: the restore must
  // finish what it would have done.
  virtual void notify_complete(checkpoint_id id) = 0;

  // Checkpoint `id` failed or timed out: nothing it stored will be restored. State prepared
  // for it stays pending for the next checkpoint (a sink does NOT abort its transaction).
  virtual void notify_aborted(checkpoint_id id) = 0;
};

}  // namespace kwire::connector
