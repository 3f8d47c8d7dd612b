#include "kwire/connector/checkpoint_restore.hpp"

#include <algorithm>
#include <utility>

namespace kwire::connector {
namespace {

std::string describe_parts(const stored_checkpoint& c) {
  if (c.parts_present.empty()) return "no part written";
  std::string text = "parts of subtasks";
  for (const auto subtask : c.parts_present) text += " " + std::to_string(subtask);
  return text + " written";
}

}  // namespace

checkpoint_error find_restore_point(checkpoint_store& store, on_unreadable_completed policy,
                                    restore_point& out) {
  out = {};
  std::vector<stored_checkpoint> stored;
  if (auto error = store.list(stored)) return error;
  for (const auto& c : stored) {
    out.ids_present.push_back(c.id);
    if (c.status == checkpoint_status::completed) out.completed_ids.push_back(c.id);
    out.next_id = std::max(out.next_id, c.id + 1);
  }
  // Newest first: skip what never completed, stop at the first one that loads.
  for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
    const auto& c = *it;
    if (c.status == checkpoint_status::incomplete) {
      out.skipped_incomplete.push_back(c.id);
      out.warnings.push_back("checkpoint " + std::to_string(c.id) + " never completed (" +
                             describe_parts(c) + "): skipped");
      continue;
    }
    checkpoint_error problem = c.problem;
    if (!problem) {
      completed_checkpoint loaded;
      problem = store.load(c.id, loaded);
      if (!problem) {
        if (!out.skipped_incomplete.empty() || !out.skipped_unreadable.empty())
          out.warnings.push_back("restoring checkpoint " + std::to_string(c.id));
        out.checkpoint = std::move(loaded);
        return {};
      }
    }
    if (policy == on_unreadable_completed::refuse) return problem;
    out.warnings.push_back("completed checkpoint " + std::to_string(c.id) +
                           " does not read back (" + problem.describe() +
                           "): skipped; records after the older checkpoint's positions will "
                           "be read again (duplicates)");
    out.skipped_unreadable.push_back(std::move(problem));
  }
  return {};
}

}  // namespace kwire::connector
