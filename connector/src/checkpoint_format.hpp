// The encoding of the checkpoint store's files (connector/README.md, "Checkpoint files").
// Every file is an envelope: "KWCP", format version, kind, body length, body, and a CRC-32C
// of everything before it. Pure functions on bytes: no I/O, so the tests (and a Kafka-topic
// store later) use the same encoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/connector/checkpoint_state.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/job_manifest.hpp"

namespace kwire::connector::format {

inline constexpr std::uint16_t current_version = 1;

enum class file_kind : std::uint8_t { manifest = 1, part = 2, completion = 3 };
const char* to_string(file_kind kind) noexcept;

// The completion record: the checkpoint is completed, with these parts.
struct completion_record {
  checkpoint_id id = 0;
  std::int64_t completed_ms = 0;
  // One for each subtask 0 .. parallelism-1: the CRC-32C of that part's file (its envelope's
  // checksum), so that a part replaced or damaged after completion is found.
  std::vector<std::uint32_t> part_checksums;
  bool operator==(const completion_record&) const = default;
};

std::vector<std::uint8_t> encode_manifest(const job_manifest& manifest);
std::vector<std::uint8_t> encode_part(const subtask_state& part);
std::vector<std::uint8_t> encode_completion(const completion_record& record);

// `where` names the file in the errors ("DIR/manifest"). checkpoint_corrupt for a wrong
// magic, checksum, kind or a body that does not parse; unsupported_format_version naming
// the version.
checkpoint_error decode_manifest(std::span<const std::uint8_t> file, std::string_view where,
                                 job_manifest& out);
checkpoint_error decode_part(std::span<const std::uint8_t> file, std::string_view where,
                             subtask_state& out);
checkpoint_error decode_completion(std::span<const std::uint8_t> file, std::string_view where,
                                   completion_record& out);

// The checksum an encoded file ends with (its last four bytes; 0 when shorter).
std::uint32_t file_checksum(std::span<const std::uint8_t> file) noexcept;

}  // namespace kwire::connector::format
