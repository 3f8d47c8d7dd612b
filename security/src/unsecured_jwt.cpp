#include "kwire/security/unsecured_jwt.hpp"

#include "kwire/security/base64.hpp"

namespace kwire::security {
namespace {

// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped,
// everything else (UTF-8 included) as it is.
std::string json_string(std::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      constexpr std::string_view kHex = "0123456789abcdef";
      quoted += "\\u00";
      quoted += kHex[(c >> 4) & 0xf];
      quoted += kHex[c & 0xf];
    } else {
      quoted += c;
    }
  }
  return quoted + '"';
}

std::string base64url_of(std::string_view text) {
  return base64url_encode_unpadded(
      {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace

std::string make_unsecured_jwt(const unsecured_jwt_claims& claims) {
  std::string payload = "{\"sub\":" + json_string(claims.subject) +
                        ",\"iat\":" + std::to_string(claims.issued_at.time_since_epoch().count()) +
                        ",\"exp\":" + std::to_string(claims.expires_at.time_since_epoch().count());
  if (!claims.scope.empty()) {
    payload += ",\"scope\":[";
    for (std::size_t i = 0; i < claims.scope.size(); ++i) {
      if (i) payload += ',';
      payload += json_string(claims.scope[i]);
    }
    payload += ']';
  }
  payload += '}';
  return base64url_of(R"({"alg":"none"})") + "." + base64url_of(payload) + ".";
}

}  // namespace kwire::security
