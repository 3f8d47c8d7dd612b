// What the checkpoint tests share: a scratch directory removed afterwards, sample parts, a
// completed checkpoint in any store, and byte surgery on stored files (a flipped bit, another
// format version).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kwire/connector/checkpoint_state.hpp"
#include "kwire/connector/checkpoint_store.hpp"
#include "kwire/protocol/crc32c.hpp"

namespace kwire::connector::testing {

class scratch_directory {
 public:
  scratch_directory() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kwire-checkpoint-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~scratch_directory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_directory(const scratch_directory&) = delete;
  scratch_directory& operator=(const scratch_directory&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

inline subtask_state sample_part(checkpoint_id id, std::int32_t subtask) {
  subtask_state part;
  part.checkpoint = id;
  part.subtask = subtask;
  part.positions = {{"in", subtask, 100 * id + subtask}, {"in", subtask + 2, 7}};
  part.pending_transactions = {
      {id, "kwtx1.handle-" + std::to_string(id) + "-" + std::to_string(subtask)}};
  part.participant_states["counts"] = {1, 2, static_cast<std::uint8_t>(id)};
  part.participant_states["empty"] = {};
  return part;
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void flip_byte(const std::filesystem::path& path, std::size_t at) {
  auto bytes = read_bytes(path);
  bytes.at(at) ^= 0x40;
  write_bytes(path, bytes);
}

// Rewrites the file's format version (bytes 4-5) and its checksum, as a kwire of another
// format version would have written it.
inline void set_format_version(const std::filesystem::path& path, std::uint16_t version) {
  auto bytes = read_bytes(path);
  bytes.at(4) = static_cast<std::uint8_t>(version >> 8);
  bytes.at(5) = static_cast<std::uint8_t>(version);
  const auto crc = protocol::crc32c(std::span(bytes).first(bytes.size() - 4));
  for (int i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  write_bytes(path, bytes);
}

// Stores both parts of checkpoint `id` (parallelism 2) and completes it, in any store.
inline void complete_checkpoint(checkpoint_store& store, checkpoint_id id) {
  ASSERT_FALSE(store.write_part(sample_part(id, 0)));
  ASSERT_FALSE(store.write_part(sample_part(id, 1)));
  ASSERT_FALSE(store.complete(id, 2, 1'700'000'000'000 + id));
}

// The ids the store lists, ascending.
inline std::vector<checkpoint_id> ids_of(checkpoint_store& store) {
  std::vector<stored_checkpoint> listed;
  EXPECT_FALSE(store.list(listed));
  std::vector<checkpoint_id> ids;
  for (const auto& c : listed) ids.push_back(c.id);
  return ids;
}

}  // namespace kwire::connector::testing
