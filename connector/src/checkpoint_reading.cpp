#include "checkpoint_reading.hpp"

#include <algorithm>
#include <utility>

namespace kwire::connector::detail {
namespace {

// The part of `subtask` of checkpoint `id`, decoded; `missing_note` is added to the message
// when it is absent.
checkpoint_error read_part(checkpoint_id id, std::int32_t subtask, const part_lookup& parts,
                           const std::string& missing_note, subtask_state& part,
                           stored_record& found) {
  found = parts(subtask);
  if (found.error) return found.error;
  if (!found.present)
    return {make_error_code(errc::checkpoint_part_missing), found.where + missing_note};
  if (auto error = format::decode_part(found.bytes, found.where, part)) return error;
  if (part.checkpoint != id || part.subtask != subtask)
    return {make_error_code(errc::checkpoint_corrupt),
            found.where + ": holds checkpoint " + std::to_string(part.checkpoint) + " subtask " +
                std::to_string(part.subtask)};
  return {};
}

}  // namespace

checkpoint_error completion_over_parts(checkpoint_id id, std::int32_t parallelism,
                                       std::int64_t completed_ms, const part_lookup& parts,
                                       format::completion_record& out) {
  if (parallelism <= 0)
    return {
        make_error_code(errc::invalid_argument),
        "checkpoint " + std::to_string(id) + " with parallelism " + std::to_string(parallelism)};
  format::completion_record record{id, completed_ms, {}};
  for (std::int32_t subtask = 0; subtask < parallelism; ++subtask) {
    subtask_state part;
    stored_record found;
    if (auto error = read_part(id, subtask, parts, "", part, found)) return error;
    record.part_checksums.push_back(format::file_checksum(found.bytes));
  }
  out = std::move(record);
  return {};
}

void read_completion_status(const stored_record& completion, stored_checkpoint& out) {
  if (completion.error) {
    out.status = checkpoint_status::unreadable;
    out.problem = completion.error;
    return;
  }
  if (!completion.present) {
    out.status = checkpoint_status::incomplete;
    return;
  }
  format::completion_record record;
  if (auto problem = format::decode_completion(completion.bytes, completion.where, record)) {
    out.status = checkpoint_status::unreadable;
    out.problem = std::move(problem);
    return;
  }
  out.status = checkpoint_status::completed;
  out.completed_ms = record.completed_ms;
  out.parallelism = static_cast<std::int32_t>(record.part_checksums.size());
}

checkpoint_error load_completed(checkpoint_id id, const stored_record& completion,
                                const part_lookup& parts, completed_checkpoint& out) {
  if (completion.error) return completion.error;
  if (!completion.present)
    return {
        make_error_code(errc::checkpoint_not_completed),
        "checkpoint " + std::to_string(id) + " (no completion record: " + completion.where + ")"};
  format::completion_record record;
  if (auto error = format::decode_completion(completion.bytes, completion.where, record))
    return error;
  if (record.id != id)
    return {make_error_code(errc::checkpoint_corrupt),
            completion.where + ": names checkpoint " + std::to_string(record.id)};
  completed_checkpoint c;
  c.id = id;
  c.completed_ms = record.completed_ms;
  c.parallelism = static_cast<std::int32_t>(record.part_checksums.size());
  const std::string missing_note =
      " (named by the completion record of checkpoint " + std::to_string(id) + ")";
  for (std::int32_t subtask = 0; subtask < c.parallelism; ++subtask) {
    subtask_state part;
    stored_record found;
    auto error = read_part(id, subtask, parts, missing_note, part, found);
    if (!error && format::file_checksum(found.bytes) !=
                      record.part_checksums[static_cast<std::size_t>(subtask)])
      error = {make_error_code(errc::checkpoint_corrupt),
               found.where +
                   ": not the part the completion record names (replaced after the checkpoint "
                   "completed?)"};
    if (error) return error;
    c.parts.push_back(std::move(part));
  }
  out = std::move(c);
  return {};
}

std::vector<checkpoint_id> checkpoints_to_drop(const std::vector<stored_checkpoint>& stored,
                                               std::size_t keep_completed) {
  keep_completed = std::max<std::size_t>(keep_completed, 1);
  std::vector<checkpoint_id> completed;
  for (const auto& c : stored)
    if (c.status == checkpoint_status::completed) completed.push_back(c.id);
  std::sort(completed.begin(), completed.end());
  if (completed.empty()) return {};
  const checkpoint_id newest = completed.back();
  const checkpoint_id oldest_kept = completed.size() > keep_completed
                                        ? completed[completed.size() - keep_completed]
                                        : completed.front();
  std::vector<checkpoint_id> drop;
  for (const auto& c : stored)
    if (c.id < oldest_kept || (c.status == checkpoint_status::incomplete && c.id < newest))
      drop.push_back(c.id);
  return drop;
}

}  // namespace kwire::connector::detail
