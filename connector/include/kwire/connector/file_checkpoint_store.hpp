// A checkpoint store in a directory of the local (or a shared) file system. Every file is
// written atomically: a temporary file, fsync, rename over the final name, fsync of the
// directory; a crash leaves either the old state or the new one, and at most a *.tmp file,
// which is ignored. Files are checksummed (CRC-32C) and versioned; the layout and encoding
// are documented in connector/README.md ("Checkpoint files").
//
//   DIR/manifest
//   DIR/chk-00000000000000000042/part-00000 ... part-00003
//   DIR/chk-00000000000000000042/completed
#pragma once

#include <cstddef>
#include <filesystem>

#include "kwire/connector/checkpoint_store.hpp"

namespace kwire::connector {

class file_checkpoint_store final : public checkpoint_store {
 public:
  struct options {
    // Completed checkpoints kept; older ones (and incomplete ones older than the newest
    // completed) are removed after each completion. At least 1.
    std::size_t keep_completed = 3;
    warning_sink warn;
  };

  // The directory is created when missing (by the first write).
  explicit file_checkpoint_store(std::filesystem::path directory);
  file_checkpoint_store(std::filesystem::path directory, options settings);

  checkpoint_error write_manifest(const job_manifest& manifest) override;
  checkpoint_error read_manifest(job_manifest& out) override;
  checkpoint_error write_part(const subtask_state& part) override;
  checkpoint_error complete(checkpoint_id id, std::int32_t parallelism,
                            std::int64_t completed_ms) override;
  checkpoint_error list(std::vector<stored_checkpoint>& out) override;
  checkpoint_error load(checkpoint_id id, completed_checkpoint& out) override;

  // Removes what keep_completed does not keep; complete() calls it.
  checkpoint_error prune();

  const std::filesystem::path& directory() const noexcept { return directory_; }
  // Where checkpoint `id`'s files are.
  std::filesystem::path checkpoint_directory(checkpoint_id id) const;

 private:
  std::filesystem::path directory_;
  options options_;
};

}  // namespace kwire::connector
