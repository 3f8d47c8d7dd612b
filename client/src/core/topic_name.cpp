#include "kwire/client/topic_name.hpp"

#include <algorithm>
#include <cstdio>

namespace kwire::client {
namespace {

bool is_legal_topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// A character as a user can read it in a message.
std::string describe_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (c == ' ') return "a space";
  if (byte > ' ' && byte < 0x7f) return "'" + std::string(1, c) + "'";
  char escaped[16];
  std::snprintf(escaped, sizeof escaped, "the byte 0x%02x", byte);
  return escaped;
}

}  // namespace

std::optional<std::string> topic_name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "cannot be \".\" or \"..\"";
  if (name.size() > max_topic_name_length) {
    return "is " + std::to_string(name.size()) + " characters long, more than the " +
           std::to_string(max_topic_name_length) + " allowed";
  }
  const auto illegal = std::ranges::find_if_not(name, is_legal_topic_char);
  if (illegal != name.end()) {
    return "contains " + describe_char(*illegal) +
           " (allowed: ASCII letters, digits, '.', '_' and '-')";
  }
  return std::nullopt;
}

}  // namespace kwire::client
