// Base64 (RFC 4648) as SASL needs it: the standard alphabet with padding for SCRAM, and the
// URL-safe alphabet without padding for JWTs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kwire::security {

std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64url_encode_unpadded(std::span<const std::uint8_t> bytes);

// Strict decoding of the standard alphabet: length a multiple of 4, '=' only as the final
// padding, no whitespace, and unused bits zero (so every byte string has one encoding).
// Replaces `out`; returns false (and leaves `out` empty) for anything else.
bool base64_decode(std::string_view text, std::vector<std::uint8_t>& out);

}  // namespace kwire::security
