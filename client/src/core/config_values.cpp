#include "core/config_values.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>

namespace kwire::client::detail {

// Java's String.trim(), which ConfigDef applies to every value: strips chars <= ' '.
std::string_view trim(std::string_view text) {
  auto is_blank = [](char c) { return static_cast<unsigned char>(c) <= ' '; };
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string quoted(std::string_view text) { return '"' + std::string(text) + '"'; }

std::string range_text(const value_rule& rule) {
  std::string text = "[" + std::to_string(rule.min) + ", " + std::to_string(rule.max) + "]";
  if (rule.special_value) {
    text += " or " + std::to_string(*rule.special_value) + " (" +
            std::string(rule.special_meaning) + ")";
  }
  return text;
}

std::string choices_text(const value_rule& rule) {
  std::string text = join(rule.choices, ", ", [](const named_value& c) { return c.name; });
  return rule.ignore_case ? text + " (in any case)" : text;
}

problem parse_boolean(std::string_view text, bool& out) {
  // ConfigDef.parseType: "true"/"false", case-insensitive.
  if (equal_ignoring_case(text, "true")) {
    out = true;
  } else if (equal_ignoring_case(text, "false")) {
    out = false;
  } else {
    return quoted(text) + " is not a boolean (true or false)";
  }
  return std::nullopt;
}

// Integer.parseInt / Long.parseLong syntax: an optional sign, then decimal digits.
problem parse_integer(const value_rule& rule, std::string_view text, std::int64_t& out) {
  std::string_view digits = text;
  if (digits.starts_with('+')) {
    digits.remove_prefix(1);
    if (digits.starts_with('-')) return quoted(text) + " is not an integer";
  }
  std::int64_t value = 0;
  const char* end = digits.data() + digits.size();
  const auto [stop, ec] = std::from_chars(digits.data(), end, value);
  const bool well_formed = stop == end && !digits.empty();
  if (ec == std::errc::result_out_of_range && well_formed) {
    return std::string(text) + " is out of range " + range_text(rule);
  }
  if (ec != std::errc{} || !well_formed) return quoted(text) + " is not an integer";
  if ((value < rule.min || value > rule.max) && value != rule.special_value) {
    return std::string(text) + " is out of range " + range_text(rule);
  }
  out = value;
  return std::nullopt;
}

problem parse_string(const value_rule& rule, std::string_view text, std::string& out) {
  if (std::cmp_greater(text.size(), rule.max)) {
    return std::to_string(text.size()) + " bytes is longer than the " + std::to_string(rule.max) +
           " allowed";
  }
  out = text;
  return std::nullopt;
}

problem parse_choice(const value_rule& rule, std::string_view text, int& out) {
  for (const named_value& choice : rule.choices) {
    if (rule.ignore_case ? equal_ignoring_case(text, choice.name) : text == choice.name) {
      out = choice.value;
      return std::nullopt;
    }
  }
  return quoted(text) + " is not one of " + choices_text(rule);
}

std::string_view choice_name(const value_rule& rule, int value) {
  const auto found = std::ranges::find(rule.choices, value, &named_value::value);
  return found == rule.choices.end() ? std::string_view("?") : found->name;
}

namespace {

bool is_host_name(std::string_view host) {
  return !host.empty() && std::ranges::all_of(host, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// An IPv6 address as written between brackets, with an optional %zone; loose on purpose:
// the resolver has the last word, this only keeps out what cannot be an address.
bool is_ipv6_text(std::string_view host) {
  const std::string_view address = host.substr(0, host.find('%'));
  const std::string_view zone =
      host.size() > address.size() ? host.substr(address.size() + 1) : std::string_view("-");
  const bool address_chars = std::ranges::all_of(address, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
  });
  return address.find(':') != std::string_view::npos && address_chars && is_host_name(zone);
}

// One bootstrap.servers entry: host:port or [ipv6]:port, port 1..65535.
problem parse_broker_address(std::string_view entry, broker_address& out) {
  std::string_view host;
  std::string_view port;
  if (entry.starts_with('[')) {
    const std::size_t close = entry.find(']');
    if (close == std::string_view::npos || entry.substr(close + 1, 1) != ":") {
      return quoted(entry) + " is not [address]:port";
    }
    host = entry.substr(1, close - 1);
    port = entry.substr(close + 2);
    if (!is_ipv6_text(host)) return quoted(entry) + " does not hold an IPv6 address in brackets";
  } else {
    const std::size_t colon = entry.rfind(':');
    if (colon == std::string_view::npos) return quoted(entry) + " has no port (write host:port)";
    host = entry.substr(0, colon);
    port = entry.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return quoted(entry) + " is ambiguous (write an IPv6 address in brackets, as [::1]:9092)";
    }
    if (!is_host_name(host)) return quoted(entry) + " does not start with a host name or address";
  }
  unsigned number = 0;
  const auto [stop, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || stop != port.data() + port.size() || number < 1 || number > 65535) {
    return quoted(entry) + " has port " + quoted(port) + ", not a number in [1, 65535]";
  }
  out = {std::string(host), static_cast<std::uint16_t>(number)};
  return std::nullopt;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substituted = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substituted});
    }
  }
  return row[b.size()];
}

}  // namespace

// Split at commas, items trimmed, none empty, none twice.
problem parse_broker_list(std::string_view text, std::vector<broker_address>& out) {
  if (text.empty()) return std::string("is empty (give host:port[,host:port...])");
  std::vector<broker_address> addresses;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = trim(text.substr(start, comma - start));
    if (item.empty()) return quoted(text) + " has an empty entry";
    broker_address address;
    if (auto error = parse_broker_address(item, address)) return error;
    if (std::ranges::find(addresses, address) != addresses.end()) {
      return quoted(item) + " is listed twice";
    }
    addresses.push_back(std::move(address));
    start = comma + 1;
  }
  out = std::move(addresses);
  return std::nullopt;
}

// ConfigDef's LIST type: comma-separated, items trimmed; an empty text is an empty list.
problem parse_string_list(std::string_view text, std::vector<std::string>& out) {
  std::vector<std::string> items;
  if (!text.empty()) {
    for (std::size_t start = 0; start <= text.size();) {
      const std::size_t comma = std::min(text.find(',', start), text.size());
      const std::string_view item = trim(text.substr(start, comma - start));
      if (item.empty()) return quoted(text) + " has an empty entry";
      items.emplace_back(item);
      start = comma + 1;
    }
  }
  out = std::move(items);
  return std::nullopt;
}

std::optional<std::string_view> closest_name(std::string_view key,
                                             std::span<const std::string_view> names) {
  std::string normalized(key);
  for (char& c : normalized) c = (c == '_' || c == '-') ? '.' : ascii_lower(c);
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (std::string_view name : names) {
    const std::size_t distance = edit_distance(normalized, name);
    const std::size_t allowed = std::clamp<std::size_t>(name.size() / 4, 1, 3);
    if (distance <= allowed && (!best || distance < best_distance)) {
      best = name;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace kwire::client::detail
