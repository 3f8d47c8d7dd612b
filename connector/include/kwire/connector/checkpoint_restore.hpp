// Which checkpoint a restart restores: the newest completed one. Checkpoints that never
// completed (a crash during their writes: a torn part, no completion record) are skipped with
// a warning; nothing of theirs was committed, so nothing is lost. A completed checkpoint
// that does not read back (a checksum failure, a missing part) is never skipped silently:
// it is refused with its typed error, or, when the caller allows it, skipped for an older
// one and reported, since restoring older positions replays records (duplicates).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kwire/connector/checkpoint_store.hpp"

namespace kwire::connector {

enum class on_unreadable_completed : std::uint8_t {
  refuse,            // the error of the newest completed checkpoint that does not read back
  fall_back_report,  // restore an older one; restore_point::skipped_unreadable says which
};

struct restore_point {
  std::optional<completed_checkpoint> checkpoint;  // none: start fresh (nothing completed)
  // Every checkpoint id the store holds, and the completed ones: what the source compares
  // with the group's committed offsets to detect a completed checkpoint that was lost.
  std::vector<checkpoint_id> ids_present;
  std::vector<checkpoint_id> completed_ids;
  std::vector<checkpoint_id> skipped_incomplete;     // newer than the restored one
  std::vector<checkpoint_error> skipped_unreadable;  // only with fall_back_report
  std::vector<std::string> warnings;                 // one sentence for each skipped checkpoint
  // The next checkpoint id to use: above every id present, so that no new part ever lands
  // beside an old torn one.
  checkpoint_id next_id = 1;
};

// Reads the store and picks the checkpoint to restore. An error: the store cannot be read,
// or (refuse) the newest completed checkpoint does not load — checkpoint_corrupt,
// checkpoint_part_missing, unsupported_format_version — naming its file.
checkpoint_error find_restore_point(checkpoint_store& store, on_unreadable_completed policy,
                                    restore_point& out);

}  // namespace kwire::connector
