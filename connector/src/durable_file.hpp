// Whole-file reads and crash-safe whole-file writes on POSIX: what the file checkpoint store
// is built on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "kwire/connector/checkpoint_state.hpp"
#include "kwire/connector/error.hpp"

namespace kwire::connector {

// Writes `bytes` to `path` so that a crash at any moment leaves either the old file (or
// none) or the whole new one: a temporary file beside it (PATH.tmp-PID), fsync, rename over
// PATH, fsync of the directory. The temporary file is removed on failure. `kind` ("part",
// "completion") and `id` name the crash points of a test build (crash_point.hpp) between the
// steps; empty: none.
checkpoint_error write_file_durably(const std::filesystem::path& path,
                                    std::span<const std::uint8_t> bytes, std::string_view kind = {},
                                    checkpoint_id id = 0);

// Creates `directory` (and its parents) when missing and makes its entry durable (fsync of
// the parent), so that files renamed into it survive a crash with it.
checkpoint_error create_directory_durably(const std::filesystem::path& directory);

// The whole file; std::errc::no_such_file_or_directory when it does not exist.
checkpoint_error read_whole_file(const std::filesystem::path& path, std::vector<std::uint8_t>& out);

// Whether `name` is a temporary file write_file_durably left behind (a torn write).
bool is_temporary_file_name(const std::string& name);

}  // namespace kwire::connector
