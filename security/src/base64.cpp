#include "kwire/security/base64.hpp"

#include <array>

namespace kwire::security {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kNotInAlphabet = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kNotInAlphabet;
  for (std::size_t i = 0; i < kStandardAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kStandardAlphabet[i])] = static_cast<std::uint8_t>(i);
  return table;
}
constexpr std::array<std::uint8_t, 256> kDecodeTable = make_decode_table();

std::string encode(std::span<const std::uint8_t> bytes, std::string_view alphabet, bool pad) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    text += alphabet[(group >> 18) & 63];
    text += alphabet[(group >> 12) & 63];
    text += alphabet[(group >> 6) & 63];
    text += alphabet[group & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return text;
  std::uint32_t group = std::uint32_t{bytes[i]} << 16;
  if (rest == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
  text += alphabet[(group >> 18) & 63];
  text += alphabet[(group >> 12) & 63];
  if (rest == 2) text += alphabet[(group >> 6) & 63];
  if (pad) text.append(rest == 1 ? 2 : 1, '=');
  return text;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  return encode(bytes, kStandardAlphabet, true);
}

std::string base64url_encode_unpadded(std::span<const std::uint8_t> bytes) {
  return encode(bytes, kUrlAlphabet, false);
}

bool base64_decode(std::string_view text, std::vector<std::uint8_t>& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last_group = i + 4 == text.size();
    std::size_t padding = 0;
    if (last_group) padding = text[i + 3] != '=' ? 0 : text[i + 2] != '=' ? 1 : 2;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint8_t value = 0;
      if (k < 4 - padding) {
        value = kDecodeTable[static_cast<unsigned char>(text[i + k])];
        if (value == kNotInAlphabet) {
          out.clear();
          return false;
        }
      }
      group = (group << 6) | value;
    }
    out.push_back(static_cast<std::uint8_t>(group >> 16));
    if (padding < 2) out.push_back(static_cast<std::uint8_t>(group >> 8));
    if (padding < 1) out.push_back(static_cast<std::uint8_t>(group));
    // Bits the padding leaves unused must be zero, or two texts would give the same bytes.
    const std::uint32_t unused_bits = padding == 2 ? 0xffff : padding == 1 ? 0xff : 0;
    if (group & unused_bits) {
      out.clear();
      return false;
    }
  }
  return true;
}

}  // namespace kwire::security
