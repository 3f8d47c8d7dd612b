#include "kwire/connector/transactional_id_pool.hpp"

#include <algorithm>
#include <charconv>

namespace kwire::connector {

std::string make_transactional_id(std::string_view prefix, std::int32_t subtask,
                                  std::int32_t slot) {
  return std::string(prefix) + '-' + std::to_string(subtask) + '-' + std::to_string(slot);
}

namespace {
std::optional<std::int32_t> parse_index(std::string_view text) {
  std::int32_t value = -1;
  if (text.empty() || text.size() > 9) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}
}  // namespace

std::optional<transactional_id_parts> parse_transactional_id(std::string_view prefix,
                                                             std::string_view id) {
  if (id.size() <= prefix.size() + 1 || id.substr(0, prefix.size()) != prefix ||
      id[prefix.size()] != '-')
    return std::nullopt;
  const auto rest = id.substr(prefix.size() + 1);
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto subtask = parse_index(rest.substr(0, dash));
  const auto slot = parse_index(rest.substr(dash + 1));
  if (!subtask || !slot) return std::nullopt;
  return transactional_id_parts{*subtask, *slot};
}

transactional_id_pool::transactional_id_pool(std::string prefix, std::int32_t subtask,
                                             std::int32_t size)
    : prefix_(std::move(prefix)),
      subtask_(subtask),
      busy_(static_cast<std::size_t>(std::max(size, 0)), false) {}

std::optional<std::int32_t> transactional_id_pool::acquire() {
  const auto n = size();
  for (std::int32_t i = 0; i < n; ++i) {
    const auto slot = (next_ + i) % n;
    if (!busy_[static_cast<std::size_t>(slot)]) {
      busy_[static_cast<std::size_t>(slot)] = true;
      next_ = (slot + 1) % n;
      return slot;
    }
  }
  return std::nullopt;
}

void transactional_id_pool::mark_busy(std::int32_t slot) {
  if (slot >= 0 && slot < size()) busy_[static_cast<std::size_t>(slot)] = true;
}

void transactional_id_pool::release(std::int32_t slot) {
  if (slot >= 0 && slot < size()) busy_[static_cast<std::size_t>(slot)] = false;
}

std::string transactional_id_pool::id(std::int32_t slot) const {
  return make_transactional_id(prefix_, subtask_, slot);
}

std::int32_t transactional_id_pool::busy_count() const noexcept {
  return static_cast<std::int32_t>(std::count(busy_.begin(), busy_.end(), true));
}

}  // namespace kwire::connector
