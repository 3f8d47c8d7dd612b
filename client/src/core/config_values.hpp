// How a configuration property's text is read: the value rules (ranges, sizes, choices) and
// their parsers, independent of any config struct, as Java's ConfigDef types and validators.
// Each parser takes the trimmed text and returns what is wrong with it (a phrase that
// follows "key: "), or nullopt after storing the value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/client/config.hpp"

namespace kwire::client::detail {

// Java's String.trim(), which ConfigDef applies to every value: strips chars <= ' '.
std::string_view trim(std::string_view text);
char ascii_lower(char c);
bool equal_ignoring_case(std::string_view a, std::string_view b);
std::string quoted(std::string_view text);

template <class Range, class ToText>
std::string join(const Range& items, std::string_view separator, ToText to_text) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += to_text(item);
  }
  return out;
}

// --- Value rules and their parsers (independent of any config struct) ----------------------

enum class value_kind {
  boolean,
  int32,
  int64,
  duration,
  string,
  optional_string,
  broker_list,
  string_list,
  choice
};

// One written form of an enum value; the first form of a value is the one written back.
struct named_value {
  std::string_view name;
  int value;
};

template <class Enum>
constexpr named_value name_of(std::string_view name, Enum value) {
  return {name, static_cast<int>(value)};
}

// What a property allows. Integers (durations included): [min, max], plus special_value
// with its meaning if set. Strings: at most max bytes. Choices: one of `choices`.
struct value_rule {
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::optional<std::int64_t> special_value{};
  std::string_view special_meaning{};
  std::span<const named_value> choices{};
  bool ignore_case = false;
  bool secret = false;  // a password: to_properties() writes "[hidden]"
};

constexpr value_rule any_value{};
constexpr value_rule in_range(std::int64_t min, std::int64_t max) { return {min, max}; }
constexpr value_rule in_range_or(std::int64_t min, std::int64_t max, std::int64_t special,
                                 std::string_view meaning) {
  return {min, max, special, meaning};
}
constexpr value_rule at_most_bytes(std::int64_t max) { return {0, max}; }
constexpr value_rule secret_of_at_most_bytes(std::int64_t max) {
  return {.min = 0, .max = max, .secret = true};
}
enum class letter_case { exact, ignored };
constexpr value_rule one_of(std::span<const named_value> choices, letter_case match) {
  return {.choices = choices, .ignore_case = match == letter_case::ignored};
}

// "[min, max]" and the special value with its meaning.
std::string range_text(const value_rule& rule);
// The choices' names, comma-separated.
std::string choices_text(const value_rule& rule);

using problem = std::optional<std::string>;

problem parse_boolean(std::string_view text, bool& out);
// Integer.parseInt / Long.parseLong syntax within the rule's range.
problem parse_integer(const value_rule& rule, std::string_view text, std::int64_t& out);
problem parse_string(const value_rule& rule, std::string_view text, std::string& out);
problem parse_choice(const value_rule& rule, std::string_view text, int& out);
// The written form of a choice's value.
std::string_view choice_name(const value_rule& rule, int value);
// ConfigDef's LIST type with ValidList.anyNonDuplicateValues(false, false), as
// bootstrap.servers has it: host:port or [ipv6]:port entries, none empty, none twice.
problem parse_broker_list(std::string_view text, std::vector<broker_address>& out);
// ConfigDef's LIST type: comma-separated, items trimmed; an empty text is an empty list.
problem parse_string_list(std::string_view text, std::vector<std::string>& out);

// The known name closest to `key`, if it is close enough to be a typo: case, '_' or '-' for
// '.', and a quarter of the name's length (1 to 3) in edits.
std::optional<std::string_view> closest_name(std::string_view key,
                                             std::span<const std::string_view> names);

}  // namespace kwire::client::detail
