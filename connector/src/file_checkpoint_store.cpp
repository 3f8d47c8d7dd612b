#include "kwire/connector/file_checkpoint_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>
#include <utility>

#include "checkpoint_format.hpp"
#include "checkpoint_reading.hpp"
#include "durable_file.hpp"

namespace kwire::connector {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view checkpoint_prefix = "chk-";
constexpr std::string_view part_prefix = "part-";
constexpr char manifest_name[] = "manifest";
constexpr char completion_name[] = "completed";

// Fixed-width decimal names, so that a directory listing sorts by number.
std::string padded(std::int64_t value, int width) {
  char text[32];
  std::snprintf(text, sizeof text, "%0*lld", width, static_cast<long long>(value));
  return text;
}

std::string part_file_name(std::int32_t subtask) {
  return std::string(part_prefix) + padded(subtask, 5);
}

// The number after `prefix` in `name`, or -1 when `name` is not prefix + digits.
std::int64_t number_after(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || name.size() == prefix.size()) return -1;
  std::int64_t value = -1;
  const char* begin = name.data() + prefix.size();
  const char* end = name.data() + name.size();
  const auto [stop, ec] = std::from_chars(begin, end, value);
  return ec == std::errc{} && stop == end ? value : -1;
}

bool is_missing(const checkpoint_error& e) {
  return e.code == std::errc::no_such_file_or_directory;
}

// A file as the shared reading rules take it: absent, read, or failing to read.
detail::stored_record read_stored(const fs::path& path) {
  detail::stored_record r;
  r.where = path.string();
  if (auto error = read_whole_file(path, r.bytes)) {
    if (!is_missing(error)) {
      r.present = true;
      r.error = std::move(error);
    }
    return r;
  }
  r.present = true;
  return r;
}

detail::part_lookup part_reader(fs::path checkpoint_dir) {
  return [dir = std::move(checkpoint_dir)](std::int32_t subtask) {
    return read_stored(dir / part_file_name(subtask));
  };
}

}  // namespace

const char* to_string(checkpoint_status s) noexcept {
  switch (s) {
    case checkpoint_status::incomplete:
      return "incomplete";
    case checkpoint_status::completed:
      return "completed";
    case checkpoint_status::unreadable:
      return "unreadable";
  }
  return "unknown";
}

file_checkpoint_store::file_checkpoint_store(fs::path directory)
    : file_checkpoint_store(std::move(directory), options{}) {}

file_checkpoint_store::file_checkpoint_store(fs::path directory, options settings)
    : directory_(std::move(directory)), options_(std::move(settings)) {
  options_.keep_completed = std::max<std::size_t>(options_.keep_completed, 1);
}

fs::path file_checkpoint_store::checkpoint_directory(checkpoint_id id) const {
  return directory_ / (std::string(checkpoint_prefix) + padded(id, 20));
}

checkpoint_error file_checkpoint_store::write_manifest(const job_manifest& manifest) {
  if (auto error = create_directory_durably(directory_)) return error;
  return write_file_durably(directory_ / manifest_name, format::encode_manifest(manifest));
}

checkpoint_error file_checkpoint_store::read_manifest(job_manifest& out) {
  const auto path = directory_ / manifest_name;
  std::vector<std::uint8_t> bytes;
  if (auto error = read_whole_file(path, bytes)) {
    if (is_missing(error)) return {make_error_code(errc::no_manifest), path.string()};
    return error;
  }
  return format::decode_manifest(bytes, path.string(), out);
}

checkpoint_error file_checkpoint_store::write_part(const subtask_state& part) {
  if (part.checkpoint <= 0 || part.subtask < 0)
    return {make_error_code(errc::invalid_argument),
            "a part of checkpoint " + std::to_string(part.checkpoint) + " for subtask " +
                std::to_string(part.subtask)};
  const auto dir = checkpoint_directory(part.checkpoint);
  if (auto error = create_directory_durably(dir)) return error;
  return write_file_durably(dir / part_file_name(part.subtask), format::encode_part(part), "part",
                            part.checkpoint);
}

checkpoint_error file_checkpoint_store::complete(checkpoint_id id, std::int32_t parallelism,
                                                 std::int64_t completed_ms) {
  const auto dir = checkpoint_directory(id);
  format::completion_record record;
  if (auto error =
          detail::completion_over_parts(id, parallelism, completed_ms, part_reader(dir), record))
    return error;
  if (auto error = write_file_durably(dir / completion_name, format::encode_completion(record),
                                      "completion", id))
    return error;
  if (auto error = prune(); error && options_.warn)
    options_.warn("checkpoint " + std::to_string(id) +
                  " completed, but old checkpoints could not be removed: " + error.describe());
  return {};
}

checkpoint_error file_checkpoint_store::list(std::vector<stored_checkpoint>& out) {
  out.clear();
  std::error_code ec;
  if (!fs::exists(directory_, ec)) return {};  // nothing written yet
  fs::directory_iterator entries(directory_, ec);
  if (ec) return {ec, directory_.string() + ": list"};
  for (const auto& entry : entries) {
    const auto id = number_after(entry.path().filename().string(), checkpoint_prefix);
    if (id <= 0 || !entry.is_directory(ec)) continue;
    stored_checkpoint c;
    c.id = id;
    fs::directory_iterator files(entry.path(), ec);
    if (ec) return {ec, entry.path().string() + ": list"};
    for (const auto& file : files) {
      const auto subtask = number_after(file.path().filename().string(), part_prefix);
      if (subtask >= 0) c.parts_present.push_back(static_cast<std::int32_t>(subtask));
    }
    std::sort(c.parts_present.begin(), c.parts_present.end());
    detail::read_completion_status(read_stored(entry.path() / completion_name), c);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const stored_checkpoint& a, const stored_checkpoint& b) { return a.id < b.id; });
  return {};
}

checkpoint_error file_checkpoint_store::load(checkpoint_id id, completed_checkpoint& out) {
  const auto dir = checkpoint_directory(id);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return {make_error_code(errc::checkpoint_not_found), dir.string()};
  return detail::load_completed(id, read_stored(dir / completion_name), part_reader(dir), out);
}

checkpoint_error file_checkpoint_store::prune() {
  std::vector<stored_checkpoint> stored;
  if (auto error = list(stored)) return error;
  const auto drop = detail::checkpoints_to_drop(stored, options_.keep_completed);
  checkpoint_id newest = 0;
  for (const auto& c : stored)
    if (c.status == checkpoint_status::completed) newest = c.id;
  checkpoint_error first_error;
  for (const auto& c : stored) {
    std::error_code ec;
    if (std::find(drop.begin(), drop.end(), c.id) != drop.end()) {
      fs::remove_all(checkpoint_directory(c.id), ec);
      if (ec && !first_error) first_error = {ec, checkpoint_directory(c.id).string() + ": remove"};
      continue;
    }
    if (c.id > newest) continue;  // may be being written now
    // Temporary files of a torn write inside a settled checkpoint.
    for (const auto& file : fs::directory_iterator(checkpoint_directory(c.id), ec))
      if (is_temporary_file_name(file.path().filename().string())) fs::remove(file.path(), ec);
  }
  return first_error;
}

}  // namespace kwire::connector
