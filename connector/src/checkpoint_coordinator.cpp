#include "kwire/connector/checkpoint_coordinator.hpp"

#include <algorithm>

namespace kwire::connector {

std::optional<std::string> timing_problem(const checkpoint_timing& t) {
  if (t.interval.count() <= 0)
    return "the checkpoint interval must be > 0 ms, got " + std::to_string(t.interval.count());
  if (t.timeout.count() <= 0)
    return "the checkpoint timeout must be > 0 ms, got " + std::to_string(t.timeout.count());
  if (t.max_concurrent < 1)
    return "max concurrent checkpoints must be >= 1, got " + std::to_string(t.max_concurrent);
  if (t.min_pause.count() < 0)
    return "the min pause between checkpoints must be >= 0 ms, got " +
           std::to_string(t.min_pause.count());
  return std::nullopt;
}

const char* to_string(abort_reason r) noexcept {
  switch (r) {
    case abort_reason::expired:
      return "expired";
    case abort_reason::part_failed:
      return "part failed";
    case abort_reason::store_failed:
      return "store failed";
    case abort_reason::subsumed:
      return "subsumed";
  }
  return "unknown";
}

const char* to_string(coordinator_action::kind k) noexcept {
  switch (k) {
    case coordinator_action::kind::trigger:
      return "trigger";
    case coordinator_action::kind::finalize:
      return "finalize";
    case coordinator_action::kind::notify_complete:
      return "notify_complete";
    case coordinator_action::kind::notify_aborted:
      return "notify_aborted";
  }
  return "unknown";
}

checkpoint_coordinator::checkpoint_coordinator(checkpoint_timing timing, std::int32_t subtasks,
                                               checkpoint_id first_id, steady_time start)
    : timing_(timing),
      subtasks_(subtasks),
      next_id_(std::max<checkpoint_id>(first_id, 1)),
      start_(start) {}

bool checkpoint_coordinator::may_trigger() const noexcept {
  if (timing_.min_pause.count() > 0 && !pending_.empty()) return false;
  return pending_.size() < static_cast<std::size_t>(std::max(timing_.max_concurrent, 1));
}

steady_time checkpoint_coordinator::next_trigger_at() const noexcept {
  auto at = (last_trigger_ ? *last_trigger_ : start_) + timing_.interval;
  if (timing_.min_pause.count() > 0 && last_end_) at = std::max(at, *last_end_ + timing_.min_pause);
  return at;
}

steady_time checkpoint_coordinator::next_deadline() const {
  auto deadline = steady_time::max();
  for (const auto& [id, p] : pending_)
    if (!p.finalizing) deadline = std::min(deadline, p.triggered_at + timing_.timeout);
  if (may_trigger()) deadline = std::min(deadline, next_trigger_at());
  return deadline;
}

void checkpoint_coordinator::abort(checkpoint_id id, abort_reason reason, steady_time now,
                                   std::vector<coordinator_action>& out) {
  if (pending_.erase(id) == 0) return;
  last_end_ = now;
  out.push_back({coordinator_action::kind::notify_aborted, id, reason});
}

std::vector<coordinator_action> checkpoint_coordinator::advance(steady_time now) {
  std::vector<coordinator_action> out;
  std::vector<checkpoint_id> expired;
  for (const auto& [id, p] : pending_)
    if (!p.finalizing && now >= p.triggered_at + timing_.timeout) expired.push_back(id);
  for (const auto id : expired) abort(id, abort_reason::expired, now, out);
  // One trigger at most: checkpoints missed while busy are not caught up.
  if (may_trigger() && now >= next_trigger_at()) {
    const checkpoint_id id = next_id_++;
    pending_[id].triggered_at = now;
    last_trigger_ = now;
    out.push_back({coordinator_action::kind::trigger, id, {}});
  }
  return out;
}

std::vector<coordinator_action> checkpoint_coordinator::part_stored(checkpoint_id id,
                                                                    std::int32_t subtask,
                                                                    steady_time /*now*/) {
  std::vector<coordinator_action> out;
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.finalizing || subtask < 0 || subtask >= subtasks_)
    return out;
  it->second.stored.insert(subtask);
  if (it->second.stored.size() == static_cast<std::size_t>(subtasks_)) {
    it->second.finalizing = true;
    out.push_back({coordinator_action::kind::finalize, id, {}});
  }
  return out;
}

std::vector<coordinator_action> checkpoint_coordinator::part_failed(checkpoint_id id,
                                                                    std::int32_t /*subtask*/,
                                                                    steady_time now) {
  std::vector<coordinator_action> out;
  auto it = pending_.find(id);
  if (it != pending_.end() && !it->second.finalizing)
    abort(id, abort_reason::part_failed, now, out);
  return out;
}

std::vector<coordinator_action> checkpoint_coordinator::finalized(checkpoint_id id, bool ok,
                                                                  steady_time now) {
  std::vector<coordinator_action> out;
  if (!pending_.contains(id)) return out;
  if (!ok) {
    abort(id, abort_reason::store_failed, now, out);
    return out;
  }
  // Earlier checkpoints still in progress can no longer matter: this one is newer.
  std::vector<checkpoint_id> older;
  for (const auto& [other, p] : pending_)
    if (other < id) older.push_back(other);
  for (const auto other : older) abort(other, abort_reason::subsumed, now, out);
  pending_.erase(id);
  last_end_ = now;
  last_completed_ = id;
  out.push_back({coordinator_action::kind::notify_complete, id, {}});
  return out;
}

}  // namespace kwire::connector
