#include "log_checkpoint_store.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "checkpoint_format.hpp"
#include "crash_point.hpp"

namespace kwire::connector::detail {
namespace {

constexpr std::string_view manifest_name = "manifest";
constexpr std::string_view checkpoint_prefix = "chk/";
constexpr std::string_view part_infix = "/part/";
constexpr std::string_view completion_suffix = "/completed";

// A non-negative number in canonical decimal (no sign, no leading zero), or -1.
std::int64_t canonical_number(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) return -1;
  std::int64_t value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && value >= 0 ? value : -1;
}

}  // namespace

std::string manifest_key() { return std::string(manifest_name); }

std::string part_key(checkpoint_id id, std::int32_t subtask) {
  return std::string(checkpoint_prefix) + std::to_string(id) + std::string(part_infix) +
         std::to_string(subtask);
}

std::string completion_key(checkpoint_id id) {
  return std::string(checkpoint_prefix) + std::to_string(id) + std::string(completion_suffix);
}

log_key parse_log_key(std::string_view key) {
  if (key == manifest_name) return {log_key_kind::manifest};
  if (!key.starts_with(checkpoint_prefix)) return {};
  key.remove_prefix(checkpoint_prefix.size());
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return {};
  const auto id = canonical_number(key.substr(0, slash));
  if (id <= 0) return {};
  const auto rest = key.substr(slash);
  if (rest == completion_suffix) return {log_key_kind::completion, id};
  if (!rest.starts_with(part_infix)) return {};
  const auto subtask = canonical_number(rest.substr(part_infix.size()));
  if (subtask < 0 || subtask > INT32_MAX) return {};
  return {log_key_kind::part, id, static_cast<std::int32_t>(subtask)};
}

log_checkpoint_store::log_checkpoint_store(checkpoint_log& log)
    : log_checkpoint_store(log, options{}) {}

log_checkpoint_store::log_checkpoint_store(checkpoint_log& log, options settings)
    : log_(log), options_(std::move(settings)) {
  options_.keep_completed = std::max<std::size_t>(options_.keep_completed, 1);
}

checkpoint_error log_checkpoint_store::catch_up() {
  return log_.read_new([this](log_record record) {
    if (record.value)
      latest_.insert_or_assign(std::move(record.key), std::move(*record.value));
    else
      latest_.erase(record.key);
  });
}

stored_record log_checkpoint_store::lookup(const std::string& key) const {
  stored_record r;
  r.where = log_.name() + " key " + key;
  if (const auto it = latest_.find(key); it != latest_.end()) {
    r.present = true;
    r.bytes = it->second;
  }
  return r;
}

checkpoint_error log_checkpoint_store::write_manifest(const job_manifest& manifest) {
  return log_.append({{manifest_key(), format::encode_manifest(manifest)}});
}

checkpoint_error log_checkpoint_store::read_manifest(job_manifest& out) {
  if (auto error = catch_up()) return error;
  const auto found = lookup(manifest_key());
  if (!found.present) return {make_error_code(errc::no_manifest), found.where};
  return format::decode_manifest(found.bytes, found.where, out);
}

checkpoint_error log_checkpoint_store::write_part(const subtask_state& part) {
  if (part.checkpoint <= 0 || part.subtask < 0)
    return {make_error_code(errc::invalid_argument),
            "a part of checkpoint " + std::to_string(part.checkpoint) + " for subtask " +
                std::to_string(part.subtask)};
  if (auto error =
          log_.append({{part_key(part.checkpoint, part.subtask), format::encode_part(part)}}))
    return error;
  crash_point("part-appended", part.checkpoint);
  return {};
}

checkpoint_error log_checkpoint_store::complete(checkpoint_id id, std::int32_t parallelism,
                                                std::int64_t completed_ms) {
  if (auto error = catch_up()) return error;
  format::completion_record record;
  const part_lookup parts = [this, id](std::int32_t subtask) {
    return lookup(part_key(id, subtask));
  };
  if (auto error = completion_over_parts(id, parallelism, completed_ms, parts, record))
    return error;
  if (auto error = log_.append({{completion_key(id), format::encode_completion(record)}}))
    return error;
  crash_point("completion-appended", id);
  if (auto error = prune(); error && options_.warn)
    options_.warn("checkpoint " + std::to_string(id) +
                  " completed, but old checkpoints could not be removed: " + error.describe());
  return {};
}

std::vector<stored_checkpoint> log_checkpoint_store::checkpoints() const {
  std::map<checkpoint_id, stored_checkpoint> by_id;
  for (const auto& [key, value] : latest_) {
    const auto parsed = parse_log_key(key);
    if (parsed.kind != log_key_kind::part && parsed.kind != log_key_kind::completion) continue;
    auto& c = by_id[parsed.id];
    c.id = parsed.id;
    if (parsed.kind == log_key_kind::part) c.parts_present.push_back(parsed.subtask);
  }
  std::vector<stored_checkpoint> out;
  for (auto& [id, c] : by_id) {
    std::sort(c.parts_present.begin(), c.parts_present.end());
    read_completion_status(lookup(completion_key(id)), c);
    out.push_back(std::move(c));
  }
  return out;
}

checkpoint_error log_checkpoint_store::list(std::vector<stored_checkpoint>& out) {
  out.clear();
  if (auto error = catch_up()) return error;
  out = checkpoints();
  return {};
}

checkpoint_error log_checkpoint_store::load(checkpoint_id id, completed_checkpoint& out) {
  if (auto error = catch_up()) return error;
  const auto listed = checkpoints();
  if (std::none_of(listed.begin(), listed.end(),
                   [id](const stored_checkpoint& c) { return c.id == id; }))
    return {make_error_code(errc::checkpoint_not_found),
            "checkpoint " + std::to_string(id) + " in " + log_.name()};
  const part_lookup parts = [this, id](std::int32_t subtask) {
    return lookup(part_key(id, subtask));
  };
  return load_completed(id, lookup(completion_key(id)), parts, out);
}

checkpoint_error log_checkpoint_store::prune() {
  if (auto error = catch_up()) return error;
  const auto listed = checkpoints();
  const auto drop = checkpoints_to_drop(listed, options_.keep_completed);
  std::vector<log_record> tombstones;
  for (const auto& c : listed) {
    if (std::find(drop.begin(), drop.end(), c.id) == drop.end()) continue;
    if (c.status != checkpoint_status::incomplete) tombstones.push_back({completion_key(c.id), {}});
    for (const auto subtask : c.parts_present) tombstones.push_back({part_key(c.id, subtask), {}});
  }
  if (tombstones.empty()) return {};
  return log_.append(tombstones);
}

}  // namespace kwire::connector::detail
