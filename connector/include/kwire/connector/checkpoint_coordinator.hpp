// The checkpoint coordinator's decisions, without I/O and without a clock: time is passed in,
// actions come out, so every timing rule is tested without sleeping. A driver
// (checkpoint_driver.hpp) carries the actions out: it snapshots the subtasks, stores the
// parts, writes the completion record and notifies the participants.
//
//   trigger N         -> every subtask snapshots and stores its part of N
//   (every part of N stored) -> finalize N: write N's completion record
//   (completion record written) -> notify_complete N; pending ones before N are subsumed
//   (timeout, a failed part or completion write) -> notify_aborted N
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kwire/connector/checkpoint_state.hpp"

namespace kwire::connector {

using steady_time = std::chrono::steady_clock::time_point;

// As Flink's CheckpointConfig.
struct checkpoint_timing {
  std::chrono::milliseconds interval{5000};   // from one trigger to the next
  std::chrono::milliseconds timeout{600000};  // a checkpoint not completed by then is aborted
  std::int32_t max_concurrent = 1;            // checkpoints in progress at once
  // From the end (completion or abort) of one checkpoint to the next trigger. Above zero it
  // also means one checkpoint at a time, whatever max_concurrent says (as Flink).
  std::chrono::milliseconds min_pause{0};
};

// What is wrong with `timing` ("interval must be > 0 ms, got 0"), or nullopt.
std::optional<std::string> timing_problem(const checkpoint_timing& timing);

enum class abort_reason : std::uint8_t {
  expired,       // the timeout passed before every part was stored
  part_failed,   // a subtask could not snapshot or store its part
  store_failed,  // the completion record could not be written
  subsumed,      // a later checkpoint completed first
};
const char* to_string(abort_reason r) noexcept;

struct coordinator_action {
  enum class kind : std::uint8_t { trigger, finalize, notify_complete, notify_aborted };
  kind what = kind::trigger;
  checkpoint_id id = 0;
  abort_reason reason = abort_reason::expired;  // notify_aborted only
  bool operator==(const coordinator_action&) const = default;
};
const char* to_string(coordinator_action::kind k) noexcept;

class checkpoint_coordinator {
 public:
  // `subtasks`: the parts each checkpoint needs. `first_id`: the first checkpoint's id
  // (restore_point::next_id). The first trigger is due one interval after `start`.
  checkpoint_coordinator(checkpoint_timing timing, std::int32_t subtasks, checkpoint_id first_id,
                         steady_time start);

  // Triggers and timeouts due at `now`.
  std::vector<coordinator_action> advance(steady_time now);
  // A subtask's part of `id` is durable. Unknown or finished checkpoints are ignored.
  std::vector<coordinator_action> part_stored(checkpoint_id id, std::int32_t subtask,
                                              steady_time now);
  std::vector<coordinator_action> part_failed(checkpoint_id id, std::int32_t subtask,
                                              steady_time now);
  // The outcome of a finalize action: the completion record is durable (ok) or not.
  std::vector<coordinator_action> finalized(checkpoint_id id, bool ok, steady_time now);

  // When advance() has something to do next (a trigger or a timeout).
  steady_time next_deadline() const;

  std::size_t in_progress() const noexcept { return pending_.size(); }
  checkpoint_id last_completed() const noexcept { return last_completed_; }
  checkpoint_id next_id() const noexcept { return next_id_; }

 private:
  struct pending_checkpoint {
    steady_time triggered_at;
    std::set<std::int32_t> stored;
    bool finalizing = false;  // finalize emitted: the timeout no longer applies
  };

  bool may_trigger() const noexcept;
  steady_time next_trigger_at() const noexcept;
  void abort(checkpoint_id id, abort_reason reason, steady_time now,
             std::vector<coordinator_action>& out);

  checkpoint_timing timing_;
  std::int32_t subtasks_;
  checkpoint_id next_id_;
  checkpoint_id last_completed_ = 0;
  std::optional<steady_time> last_trigger_;
  steady_time start_;
  std::optional<steady_time> last_end_;  // completion or abort of the latest checkpoint
  std::map<checkpoint_id, pending_checkpoint> pending_;
};

}  // namespace kwire::connector
