// Where a job keeps its checkpoints: one store per job, shared by every subtask, so that a
// job can restore at another parallelism. Each subtask writes its own part; the coordinator
// then writes the completion record, which makes the checkpoint completed. Implementations:
// file_checkpoint_store (a directory) and kafka_checkpoint_store (a compacted Kafka topic).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "kwire/connector/checkpoint_state.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/job_manifest.hpp"

namespace kwire::connector {

enum class checkpoint_status : std::uint8_t {
  incomplete,  // parts (maybe none) but no completion record: never completed
  completed,   // a completion record that reads back intact (its parts are checked by load)
  unreadable,  // a completion record that does not read back: corrupt, or an unknown version
};
const char* to_string(checkpoint_status s) noexcept;

// One checkpoint the store holds, as list() sees it without reading the parts.
struct stored_checkpoint {
  checkpoint_id id = 0;
  checkpoint_status status = checkpoint_status::incomplete;
  std::vector<std::int32_t> parts_present;  // subtasks whose part file exists
  std::int64_t completed_ms = 0;            // completed: from the completion record
  std::int32_t parallelism = 0;             // completed: parts the completion record names
  checkpoint_error problem;                 // unreadable: why
};

// Receives what a store noticed but did not fail on (an old checkpoint it could not remove,
// ...), one sentence each.
using warning_sink = std::function<void(std::string_view)>;

class checkpoint_store {
 public:
  virtual ~checkpoint_store() = default;

  // The manifest, replaced atomically.
  virtual checkpoint_error write_manifest(const job_manifest& manifest) = 0;
  // errc::no_manifest when none was written; checkpoint_corrupt or
  // unsupported_format_version when it does not read back.
  virtual checkpoint_error read_manifest(job_manifest& out) = 0;

  // Makes one subtask's part durable. Writing a part again replaces it.
  virtual checkpoint_error write_part(const subtask_state& part) = 0;
  // Writes the completion record of checkpoint `id` after checking that the part of every
  // subtask 0 .. parallelism-1 reads back intact; once it returns no error, the checkpoint
  // is completed and load() returns it. Afterwards the store may drop old checkpoints.
  virtual checkpoint_error complete(checkpoint_id id, std::int32_t parallelism,
                                    std::int64_t completed_ms) = 0;

  // Every checkpoint the store holds, by ascending id. An error only when the store itself
  // cannot be read (its directory, its topic).
  virtual checkpoint_error list(std::vector<stored_checkpoint>& out) = 0;
  // A completed checkpoint with every part. checkpoint_not_found,
  // checkpoint_not_completed, checkpoint_corrupt (a checksum failed), checkpoint_part_missing,
  // unsupported_format_version (the detail names the version).
  virtual checkpoint_error load(checkpoint_id id, completed_checkpoint& out) = 0;
};

}  // namespace kwire::connector
