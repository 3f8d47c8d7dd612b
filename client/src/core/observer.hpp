// A client's observer: its log (checked against the enabled categories before anything is
// formatted), its event hooks and its metrics counters. One per client, shared by its cluster
// and connections; used on the client's strand only (the counters may be read anywhere).
#pragma once

#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "core/client_counters.hpp"
#include "kwire/client/observability.hpp"

namespace kwire::client::detail {

inline void append_log_part(std::string& out, std::string_view text) { out += text; }
inline void append_log_part(std::string& out, const std::error_code& ec) { out += ec.message(); }
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char>) void append_log_part(std::string& out,
                                                                                T value) {
  out += std::to_string(value);
}

class observer {
 public:
  // `kind`: "producer", "consumer", "admin"; names the client in log lines with client.id
  // (a known-safe property).
  observer(observability settings, std::string kind, std::string client_id);

  bool enabled(log_level level, log_category category) const noexcept {
    return has_sink_ && (level <= log_level::warn || settings_.debug.contains(category));
  }
  // Concatenates `parts` (text, integers, error codes) into one line, only when enabled.
  template <class... Parts>
  void log(log_level level, log_category category, const Parts&... parts) const {
    if (!enabled(level, category)) return;
    std::string message;
    (append_log_part(message, parts), ...);
    write(level, category, message);
  }

  const event_hooks& hooks() const noexcept { return settings_.hooks; }
  client_counters& counters() noexcept { return counters_; }
  const client_counters& counters() const noexcept { return counters_; }
  const std::string& kind() const noexcept { return kind_; }
  const std::string& client_id() const noexcept { return client_id_; }

 private:
  void write(log_level level, log_category category, std::string_view message) const;

  observability settings_;
  std::string kind_;
  std::string client_id_;
  std::string name_;  // "producer kwire"
  bool has_sink_;
  client_counters counters_;
};

// For components that may run without one (a connection made by a test).
template <class... Parts>
void log(const observer* o, log_level level, log_category category, const Parts&... parts) {
  if (o) o->log(level, category, parts...);
}

}  // namespace kwire::client::detail
