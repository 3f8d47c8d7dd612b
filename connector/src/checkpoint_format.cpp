#include "checkpoint_format.hpp"

#include <array>
#include <cstdio>
#include <cstring>

#include "kwire/protocol/buffer.hpp"
#include "kwire/protocol/crc32c.hpp"

namespace kwire::connector::format {
namespace {

constexpr std::array<std::uint8_t, 4> magic = {'K', 'W', 'C', 'P'};
// magic, version (uint16), kind (uint8), body length (uint32).
constexpr std::size_t header_size = 4 + 2 + 1 + 4;
constexpr std::size_t checksum_size = 4;
constexpr bool compact = true;  // strings, bytes and arrays: unsigned varint N+1, then N

std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

std::uint32_t read_checksum(const std::uint8_t* at) noexcept {
  protocol::reader r(at, checksum_size);
  return r.uint32();
}

std::vector<std::uint8_t> envelope(file_kind kind, const std::vector<std::uint8_t>& body) {
  std::vector<std::uint8_t> out;
  out.reserve(header_size + body.size() + checksum_size);
  protocol::writer w(out);
  w.raw(magic.data(), magic.size());
  w.uint16(current_version);
  w.int8(static_cast<std::int8_t>(kind));
  w.uint32(static_cast<std::uint32_t>(body.size()));
  w.raw(body.data(), body.size());
  w.uint32(protocol::crc32c(out));
  return out;
}

checkpoint_error corrupt(std::string_view where, std::string why) {
  return {make_error_code(errc::checkpoint_corrupt), std::string(where) + ": " + why};
}

// Checks the envelope in the order that keeps a damaged file from passing as a newer
// version: magic, then the checksum (which every version ends with), then the version.
checkpoint_error open_envelope(std::span<const std::uint8_t> file, std::string_view where,
                               file_kind expected, std::span<const std::uint8_t>& body) {
  if (file.size() < header_size + checksum_size)
    return corrupt(where, "truncated (" + std::to_string(file.size()) + " bytes)");
  if (std::memcmp(file.data(), magic.data(), magic.size()) != 0)
    return corrupt(where, "not a kwire checkpoint file (no KWCP magic)");
  const auto covered = file.first(file.size() - checksum_size);
  const std::uint32_t stored = read_checksum(file.data() + covered.size());
  const std::uint32_t computed = protocol::crc32c(covered);
  if (stored != computed)
    return corrupt(where, "CRC-32C " + hex32(stored) + " stored, " + hex32(computed) + " computed");
  protocol::reader r(file.subspan(magic.size()));
  const std::uint16_t version = r.uint16();
  if (version != current_version)
    return {make_error_code(errc::unsupported_format_version),
            std::string(where) + ": format version " + std::to_string(version) +
                ", this kwire reads version " + std::to_string(current_version)};
  const auto kind = static_cast<file_kind>(r.int8());
  if (kind != expected)
    return corrupt(where, std::string("a ") + to_string(kind) + " file where a " +
                              to_string(expected) + " was expected");
  const std::uint32_t length = r.uint32();
  if (length != covered.size() - header_size)
    return corrupt(where, "body length " + std::to_string(length) + ", the file holds " +
                              std::to_string(covered.size() - header_size));
  body = covered.subspan(header_size);
  return {};
}

std::string read_string(protocol::reader& r) {
  const auto n = r.string_length(compact);
  if (n <= 0) return {};
  const auto* p = r.take(static_cast<std::size_t>(n));
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

participant_bytes read_bytes(protocol::reader& r) {
  const auto n = r.bytes_length(compact);
  if (n <= 0) return {};
  const auto* p = r.take(static_cast<std::size_t>(n));
  return p ? participant_bytes(p, p + n) : participant_bytes();
}

// Opens the envelope, parses the body with `parse` into a fresh T, and hands it out only
// when the body parsed to its last byte.
template <class T, class Parse>
checkpoint_error decode_file(std::span<const std::uint8_t> file, std::string_view where,
                             file_kind kind, T& out, Parse parse) {
  std::span<const std::uint8_t> body;
  if (auto error = open_envelope(file, where, kind, body)) return error;
  protocol::reader r(body);
  T value;
  parse(r, value);
  if (!r.ok()) return corrupt(where, "malformed body (" + r.error().message() + ")");
  if (r.remaining() != 0)
    return corrupt(where, std::to_string(r.remaining()) + " bytes after the body's last field");
  out = std::move(value);
  return {};
}

}  // namespace

const char* to_string(file_kind kind) noexcept {
  switch (kind) {
    case file_kind::manifest:
      return "manifest";
    case file_kind::part:
      return "part";
    case file_kind::completion:
      return "completion";
  }
  return "unknown";
}

std::vector<std::uint8_t> encode_manifest(const job_manifest& m) {
  std::vector<std::uint8_t> body;
  protocol::writer w(body);
  w.int32(m.parallelism);
  w.string(m.transactional_id_prefix, compact);
  w.int32(m.transactional_id_pool);
  w.int32(m.owned_parallelism);
  w.int32(m.owned_pool);
  w.int64(m.written_ms);
  return envelope(file_kind::manifest, body);
}

std::vector<std::uint8_t> encode_part(const subtask_state& part) {
  std::vector<std::uint8_t> body;
  protocol::writer w(body);
  w.int64(part.checkpoint);
  w.int32(part.subtask);
  w.array_length(part.positions.size(), compact);
  for (const auto& p : part.positions) {
    w.string(p.topic, compact);
    w.int32(p.partition);
    w.int64(p.next_offset);
  }
  w.array_length(part.pending_transactions.size(), compact);
  for (const auto& t : part.pending_transactions) {
    w.int64(t.prepared_at);
    w.string(t.handle, compact);
  }
  w.array_length(part.participant_states.size(), compact);
  for (const auto& [name, state] : part.participant_states) {
    w.string(name, compact);
    w.bytes(state, compact);
  }
  return envelope(file_kind::part, body);
}

std::vector<std::uint8_t> encode_completion(const completion_record& c) {
  std::vector<std::uint8_t> body;
  protocol::writer w(body);
  w.int64(c.id);
  w.int64(c.completed_ms);
  w.array_length(c.part_checksums.size(), compact);
  for (const auto crc : c.part_checksums) w.uint32(crc);
  return envelope(file_kind::completion, body);
}

checkpoint_error decode_manifest(std::span<const std::uint8_t> file, std::string_view where,
                                 job_manifest& out) {
  return decode_file(file, where, file_kind::manifest, out,
                     [](protocol::reader& r, job_manifest& m) {
                       m.parallelism = r.int32();
                       m.transactional_id_prefix = read_string(r);
                       m.transactional_id_pool = r.int32();
                       m.owned_parallelism = r.int32();
                       m.owned_pool = r.int32();
                       m.written_ms = r.int64();
                     });
}

checkpoint_error decode_part(std::span<const std::uint8_t> file, std::string_view where,
                             subtask_state& out) {
  return decode_file(file, where, file_kind::part, out,
                     [](protocol::reader& r, subtask_state& part) {
                       part.checkpoint = r.int64();
                       part.subtask = r.int32();
                       // The smallest encoding of an element bounds each count before anything is
                       // allocated.
                       for (auto n = r.array_length(compact, 1 + 4 + 8); n > 0; --n) {
                         source_position p;
                         p.topic = read_string(r);
                         p.partition = r.int32();
                         p.next_offset = r.int64();
                         part.positions.push_back(std::move(p));
                       }
                       for (auto n = r.array_length(compact, 8 + 1); n > 0; --n) {
                         pending_transaction t;
                         t.prepared_at = r.int64();
                         t.handle = read_string(r);
                         part.pending_transactions.push_back(std::move(t));
                       }
                       for (auto n = r.array_length(compact, 1 + 1); n > 0; --n) {
                         auto name = read_string(r);
                         part.participant_states[std::move(name)] = read_bytes(r);
                       }
                     });
}

checkpoint_error decode_completion(std::span<const std::uint8_t> file, std::string_view where,
                                   completion_record& out) {
  return decode_file(file, where, file_kind::completion, out,
                     [](protocol::reader& r, completion_record& c) {
                       c.id = r.int64();
                       c.completed_ms = r.int64();
                       for (auto n = r.array_length(compact, 4); n > 0; --n)
                         c.part_checksums.push_back(r.uint32());
                     });
}

std::uint32_t file_checksum(std::span<const std::uint8_t> file) noexcept {
  if (file.size() < checksum_size) return 0;
  return read_checksum(file.data() + file.size() - checksum_size);
}

}  // namespace kwire::connector::format
