// Property descriptors: a Java property name bound to one member of a config struct. The
// value kind (and so how the text is parsed and written back) follows from the member's type;
// the rule says what is allowed. describe() and render_all() work from a table of them, so a
// new client kind is a struct, a table and its cross-field rules.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/config_values.hpp"
#include "kwire/client/config.hpp"

namespace kwire::client::detail {

enum class presence { optional, required };

template <class Config>
struct property {
  std::string_view name{};
  value_kind kind = value_kind::string;
  value_rule rule{};
  std::string_view doc{};
  bool required = false;
  // Parses the trimmed text into the bound member.
  problem (*assign)(const value_rule&, std::string_view text, Config&) = nullptr;
  // The member as it would be written; nullopt when unset.
  std::optional<std::string> (*render)(const value_rule&, const Config&) = nullptr;
};

template <class Config, auto member>
using member_type = std::remove_cvref_t<decltype(std::declval<Config&>().*member)>;

template <class T>
constexpr value_kind kind_of() {
  if constexpr (std::is_same_v<T, bool>) {
    return value_kind::boolean;
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return value_kind::int32;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return value_kind::int64;
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    return value_kind::duration;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return value_kind::string;
  } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
    return value_kind::optional_string;
  } else if constexpr (std::is_same_v<T, std::vector<broker_address>>) {
    return value_kind::broker_list;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return value_kind::string_list;
  } else {
    static_assert(std::is_enum_v<T>, "a config member of a type no value kind handles");
    return value_kind::choice;
  }
}

template <class Config, auto member>
problem assign_member(const value_rule& rule, std::string_view text, Config& config) {
  using T = member_type<Config, member>;
  T& field = config.*member;
  if constexpr (std::is_same_v<T, bool>) {
    return parse_boolean(text, field);
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds> || std::is_integral_v<T>) {
    std::int64_t value = 0;
    if (auto error = parse_integer(rule, text, value)) return error;
    field = T(value);  // the rule's range keeps the value within T
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return parse_string(rule, text, field);
  } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
    // ConfigDef.NonEmptyString: an optional string is either absent or non-empty.
    if (text.empty()) return std::string("is empty (leave the property out to unset it)");
    std::string value;
    if (auto error = parse_string(rule, text, value)) return error;
    field = std::move(value);
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, std::vector<broker_address>>) {
    return parse_broker_list(text, field);
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return parse_string_list(text, field);
  } else {
    static_assert(std::is_enum_v<T>);
    int value = 0;
    if (auto error = parse_choice(rule, text, value)) return error;
    field = static_cast<T>(value);
    return std::nullopt;
  }
}

template <class Config, auto member>
std::optional<std::string> render_member(const value_rule& rule, const Config& config) {
  using T = member_type<Config, member>;
  const T& field = config.*member;
  if constexpr (std::is_same_v<T, bool>) {
    return field ? "true" : "false";
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    return std::to_string(field.count());
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(field);
  } else if constexpr (std::is_same_v<T, std::string> ||
                       std::is_same_v<T, std::optional<std::string>>) {
    return field;
  } else if constexpr (std::is_same_v<T, std::vector<broker_address>>) {
    if (field.empty()) return std::nullopt;
    return join(field, ",", [](const broker_address& a) { return to_string(a); });
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return join(field, ",", [](const std::string& item) { return item; });
  } else {
    return std::string(choice_name(rule, static_cast<int>(field)));
  }
}

template <class Config, auto member>
constexpr property<Config> bind(std::string_view name, value_rule rule, std::string_view doc,
                                presence need = presence::optional) {
  return {.name = name,
          .kind = kind_of<member_type<Config, member>>(),
          .rule = rule,
          .doc = doc,
          .required = need == presence::required,
          .assign = &assign_member<Config, member>,
          .render = &render_member<Config, member>};
}

template <class T, std::size_t N, std::size_t M>
constexpr std::array<T, N + M> concat(const std::array<T, N>& first,
                                      const std::array<T, M>& second) {
  std::array<T, N + M> out{};
  std::ranges::copy(first, out.begin());
  std::ranges::copy(second, out.begin() + N);
  return out;
}

template <class Config>
std::vector<property_description> describe(std::span<const property<Config>> table) {
  static constexpr auto type_name = [](value_kind kind) -> std::string_view {
    switch (kind) {
      case value_kind::boolean:
        return "boolean";
      case value_kind::int32:
        return "int32";
      case value_kind::int64:
        return "int64";
      case value_kind::duration:
        return "ms";
      case value_kind::string:
        return "string";
      case value_kind::optional_string:
        return "string";
      case value_kind::broker_list:
      case value_kind::string_list:
        return "list";
      case value_kind::choice:
        return "enum";
    }
    return "?";
  };
  const Config defaults{};
  std::vector<property_description> out;
  for (const property<Config>& p : table) {
    std::string allowed;
    switch (p.kind) {
      case value_kind::boolean:
        allowed = "true, false";
        break;
      case value_kind::int32:
      case value_kind::int64:
      case value_kind::duration:
        allowed = range_text(p.rule);
        break;
      case value_kind::string:
        allowed = "at most " + std::to_string(p.rule.max) + " bytes";
        break;
      case value_kind::optional_string:
        allowed = "non-empty, at most " + std::to_string(p.rule.max) + " bytes";
        break;
      case value_kind::broker_list:
        allowed = "host:port[,host:port...], IPv6 as [::1]:9092";
        break;
      case value_kind::string_list:
        allowed = "comma-separated names";
        break;
      case value_kind::choice:
        allowed = choices_text(p.rule);
        break;
    }
    out.push_back({.name = p.name,
                   .type = type_name(p.kind),
                   .default_value = p.required ? std::nullopt : p.render(p.rule, defaults),
                   .allowed = std::move(allowed),
                   .doc = p.doc,
                   .required = p.required});
  }
  return out;
}

template <class Config>
properties render_all(std::span<const property<Config>> table, const Config& config) {
  properties out;
  for (const property<Config>& p : table) {
    if (auto value = p.render(p.rule, config))
      out.emplace_back(p.name, p.rule.secret ? std::string("[hidden]") : std::move(*value));
  }
  return out;
}

}  // namespace kwire::client::detail
