// Reading checkpoints back, the same for every store (a directory, a Kafka topic): a
// completion is written only over parts that read back, load() checks every part against the
// completion record, list() reads a checkpoint's status from its completion record, and
// keep-last-N picks what to remove. The stores differ only in where the bytes come from and
// how errors name them, so the rules (and the format, checkpoint_format.hpp) are written once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "checkpoint_format.hpp"
#include "kwire/connector/checkpoint_store.hpp"

namespace kwire::connector::detail {

// One stored record (a file, a topic's latest value of a key) as a store found it.
struct stored_record {
  bool present = false;
  std::vector<std::uint8_t> bytes;
  // How errors name it: "DIR/chk-00000000000000000042/part-00001", "topic T key chk/42/part/1".
  std::string where;
  checkpoint_error error;  // present, but it could not be read (an I/O error)
};

// The part of `subtask` of the checkpoint being read.
using part_lookup = std::function<stored_record(std::int32_t subtask)>;

// The completion record of checkpoint `id`, made only when the part of every subtask
// 0 .. parallelism-1 reads back intact as that subtask's part of `id`: checkpoint_part_missing,
// checkpoint_corrupt, unsupported_format_version otherwise.
checkpoint_error completion_over_parts(checkpoint_id id, std::int32_t parallelism,
                                       std::int64_t completed_ms, const part_lookup& parts,
                                       format::completion_record& out);

// What list() says of a checkpoint from its completion record: incomplete without one,
// completed (time, parallelism) when it decodes, unreadable (why) otherwise.
void read_completion_status(const stored_record& completion, stored_checkpoint& out);

// load() of checkpoint `id`: its completion record (absent: checkpoint_not_completed; `where`
// then names where it was looked for) and every part it names, each checked against the
// checksum the record holds for it.
checkpoint_error load_completed(checkpoint_id id, const stored_record& completion,
                                const part_lookup& parts, completed_checkpoint& out);

// Keep-last-N, after a completion: checkpoints older than the newest `keep_completed`
// completed ones, and incomplete ones older than the newest completed one (their pending
// transactions were carried into later parts). Newer ones may be in progress: never listed.
std::vector<checkpoint_id> checkpoints_to_drop(const std::vector<stored_checkpoint>& stored,
                                               std::size_t keep_completed);

}  // namespace kwire::connector::detail
