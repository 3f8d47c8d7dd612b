#include "kwire/connector/checkpoint_driver.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

namespace kwire::connector {
namespace {

checkpoint_error add_bytes(subtask_state& part, checkpoint_participant& participant,
                           checkpoint_id id) {
  auto name = participant.participant_name();
  if (part.participant_states.contains(name))
    return {make_error_code(errc::invalid_argument),
            "subtask " + std::to_string(part.subtask) + ": two participants named '" + name + "'"};
  part.participant_states.emplace(std::move(name), participant.snapshot(id));
  return {};
}

// Every participant of the subtask, the source and the sink included, in snapshot order.
std::vector<checkpoint_participant*> all_participants(const subtask_participants& s) {
  std::vector<checkpoint_participant*> all = s.others;
  if (s.source) all.push_back(s.source);
  if (s.sink) all.push_back(s.sink);
  return all;
}

}  // namespace

checkpoint_error snapshot_subtask(const subtask_participants& subtask, checkpoint_id id,
                                  subtask_state& out) {
  subtask_state part;
  part.checkpoint = id;
  part.subtask = subtask.subtask;
  for (auto* participant : subtask.others)
    if (auto error = add_bytes(part, *participant, id)) return error;
  if (subtask.source) {
    part.positions = subtask.source->positions(id);
    if (auto error = add_bytes(part, *subtask.source, id)) return error;
  }
  if (subtask.sink) {
    if (auto ec = subtask.sink->pre_commit(id))
      return {ec, "subtask " + std::to_string(subtask.subtask) +
                      ": sink pre-commit of checkpoint " + std::to_string(id)};
    if (auto error = add_bytes(part, *subtask.sink, id)) return error;
    part.pending_transactions = subtask.sink->pending(id);
  }
  out = std::move(part);
  return {};
}

checkpoint_error restore_subtask(const subtask_participants& subtask, const subtask_state& state) {
  const auto where = "subtask " + std::to_string(subtask.subtask) + " restoring checkpoint " +
                     std::to_string(state.checkpoint);
  for (auto* participant : all_participants(subtask)) {
    const auto name = participant->participant_name();
    const auto found = state.participant_states.find(name);
    const std::span<const std::uint8_t> bytes = found == state.participant_states.end()
                                                    ? std::span<const std::uint8_t>()
                                                    : std::span<const std::uint8_t>(found->second);
    if (auto ec = participant->restore(bytes)) return {ec, where + ": participant '" + name + "'"};
  }
  if (subtask.source)
    if (auto ec = subtask.source->restore_positions(state.positions))
      return {ec, where + ": source positions"};
  if (subtask.sink)
    if (auto ec = subtask.sink->restore_pending(state.pending_transactions))
      return {ec, where + ": sink pending transactions"};
  return {};
}

std::vector<subtask_state> rescale_checkpoint(const completed_checkpoint& restored,
                                              std::int32_t parallelism,
                                              const partition_owner& owner) {
  std::vector<subtask_state> out(static_cast<std::size_t>(std::max(parallelism, 0)));
  for (std::int32_t i = 0; i < parallelism; ++i) {
    out[static_cast<std::size_t>(i)].checkpoint = restored.id;
    out[static_cast<std::size_t>(i)].subtask = i;
  }
  if (parallelism <= 0) return out;
  for (const auto& part : restored.parts) {
    for (const auto& p : part.positions) {
      const auto to = owner(p, parallelism);
      if (to >= 0 && to < parallelism) out[static_cast<std::size_t>(to)].positions.push_back(p);
    }
    auto& heir = out[static_cast<std::size_t>(part.subtask % parallelism)];
    heir.pending_transactions.insert(heir.pending_transactions.end(),
                                     part.pending_transactions.begin(),
                                     part.pending_transactions.end());
    if (part.subtask < parallelism)
      out[static_cast<std::size_t>(part.subtask)].participant_states = part.participant_states;
  }
  return out;
}

checkpoint_driver::checkpoint_driver(checkpoint_timing timing, checkpoint_store& store,
                                     std::vector<subtask_participants> subtasks,
                                     checkpoint_id first_id, steady_time start,
                                     std::function<std::int64_t()> wall_clock_ms, event_sink events)
    : coordinator_(timing, static_cast<std::int32_t>(subtasks.size()), first_id, start),
      store_(store),
      subtasks_(std::move(subtasks)),
      wall_clock_ms_(std::move(wall_clock_ms)),
      events_(std::move(events)) {}

void checkpoint_driver::run_due(steady_time now) { carry_out(coordinator_.advance(now), now); }

void checkpoint_driver::carry_out(std::vector<coordinator_action> actions, steady_time now) {
  std::deque<coordinator_action> queue(actions.begin(), actions.end());
  auto append = [&queue](std::vector<coordinator_action> more) {
    queue.insert(queue.end(), more.begin(), more.end());
  };
  while (!queue.empty()) {
    const auto action = queue.front();
    queue.pop_front();
    checkpoint_error error;
    switch (action.what) {
      case coordinator_action::kind::trigger:
        for (const auto& subtask : subtasks_) {
          subtask_state part;
          error = snapshot_subtask(subtask, action.id, part);
          if (!error) error = store_.write_part(part);
          if (error) {
            append(coordinator_.part_failed(action.id, subtask.subtask, now));
            break;
          }
          append(coordinator_.part_stored(action.id, subtask.subtask, now));
        }
        break;
      case coordinator_action::kind::finalize:
        error = store_.complete(action.id, static_cast<std::int32_t>(subtasks_.size()),
                                wall_clock_ms_());
        append(coordinator_.finalized(action.id, !error, now));
        break;
      case coordinator_action::kind::notify_complete:
      case coordinator_action::kind::notify_aborted:
        notify(action);
        break;
    }
    if (events_) events_(action, error);
  }
}

void checkpoint_driver::notify(const coordinator_action& action) {
  if (action.what == coordinator_action::kind::notify_aborted) {
    for (const auto& subtask : subtasks_)
      for (auto* participant : all_participants(subtask)) participant->notify_aborted(action.id);
    return;
  }
  // Every sink commits first, then the other participants, then the sources, which commit
  // their positions to the group: offsets a monitor reads never run ahead of visible output.
  for (const auto& subtask : subtasks_)
    if (subtask.sink) subtask.sink->notify_complete(action.id);
  for (const auto& subtask : subtasks_)
    for (auto* participant : subtask.others) participant->notify_complete(action.id);
  for (const auto& subtask : subtasks_)
    if (subtask.source) subtask.source->notify_complete(action.id);
}

}  // namespace kwire::connector
