#include "kwire/client/observability.hpp"

#include <array>
#include <cstdio>
#include <ctime>

#include "kwire/client/config.hpp"

namespace kwire::client {
namespace {

constexpr std::array<std::string_view, log_category_count> kCategoryNames = {
    "broker",   "protocol", "metadata", "producer", "eos",
    "consumer", "fetch",    "cgrp",     "admin",    "security"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::error:
      return "ERROR";
    case log_level::warn:
      return "WARN";
    case log_level::info:
      return "INFO";
    case log_level::debug:
      return "DEBUG";
  }
  return "?";
}

std::string_view to_string(log_category category) noexcept {
  const auto i = static_cast<std::size_t>(category);
  return i < kCategoryNames.size() ? kCategoryNames[i] : "?";
}

std::string format_log_line(const log_record& record, std::chrono::system_clock::time_point when) {
  const auto since_epoch = when.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[96];  // room for any int the compiler imagines
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  std::string line = stamp;
  line += ' ';
  line += to_string(record.level);
  line += ' ';
  line += to_string(record.category);
  line += " [";
  line += record.client;
  line += "] ";
  line += record.message;
  return line;
}

log_sink stderr_log_sink() {
  return [](const log_record& record) {
    auto line = format_log_line(record, std::chrono::system_clock::now());
    line += '\n';
    // One write per line: lines of clients on other threads do not interleave.
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

std::string allowed_log_categories() {
  std::string out = "all";
  for (const auto name : kCategoryNames) {
    out += ", ";
    out += name;
  }
  return out;
}

std::optional<config_error> parse_log_categories(std::string_view list, log_categories& out,
                                                 std::string_view key) {
  log_categories parsed;
  while (true) {
    const auto comma = list.find(',');
    const auto name = trim(list.substr(0, comma));
    if (name == "all") {
      parsed = log_categories::all();
    } else {
      bool known = false;
      for (std::size_t i = 0; i < kCategoryNames.size(); ++i)
        if (kCategoryNames[i] == name) {
          parsed.add(static_cast<log_category>(i));
          known = true;
        }
      if (!known)
        return config_error{std::string(key),
                            std::string(key) + ": \"" + std::string(name) +
                                "\" is not a debug category; allowed: " + allowed_log_categories()};
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  out = parsed;
  return std::nullopt;
}

}  // namespace kwire::client
