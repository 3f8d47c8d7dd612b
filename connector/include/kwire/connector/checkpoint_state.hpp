// What a checkpoint holds. Every subtask of the job stores one part per checkpoint: where its
// source goes on (the next offset of each partition it reads), the transactions its sink
// prepared and has not seen committed (as kwire's prepared_transaction handle text), and the
// opaque state of every other participant (a user transform's counts, ...) by name. A
// checkpoint is completed when every part is durable and its completion record is written.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kwire::connector {

// Checkpoints are numbered 1, 2, 3, ... per job; 0 means "none".
using checkpoint_id = std::int64_t;

// The next record a source subtask reads of a partition (the last one it handed on + 1).
struct source_position {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t next_offset = -1;
  auto operator<=>(const source_position&) const = default;
};

// A transaction the sink prepared at checkpoint `prepared_at` and that no completed checkpoint
// has committed yet. A checkpoint that fails leaves it here: it is stored again in the next
// checkpoint's part and committed when that one completes.
struct pending_transaction {
  checkpoint_id prepared_at = 0;
  std::string handle;  // client::encode_prepared_transaction's text, "kwtx1...."
  auto operator<=>(const pending_transaction&) const = default;
};

using participant_bytes = std::vector<std::uint8_t>;

// One subtask's part of a checkpoint.
struct subtask_state {
  checkpoint_id checkpoint = 0;
  std::int32_t subtask = -1;  // 0 .. parallelism-1
  std::vector<source_position> positions;
  std::vector<pending_transaction> pending_transactions;
  std::map<std::string, participant_bytes> participant_states;  // by participant name
  bool operator==(const subtask_state&) const = default;
};

// A completed checkpoint as it is restored: every subtask's part.
struct completed_checkpoint {
  checkpoint_id id = 0;
  std::int64_t completed_ms = 0;     // wall clock, ms since the epoch
  std::int32_t parallelism = 0;      // the job's parallelism when it was taken
  std::vector<subtask_state> parts;  // ordered by subtask, one for each of 0 .. parallelism-1
  bool operator==(const completed_checkpoint&) const = default;
};

}  // namespace kwire::connector
