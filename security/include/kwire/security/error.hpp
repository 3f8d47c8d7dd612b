// Errors of the security layer: std::error_code in the "kwire.security" category.
// Messages are fixed texts: they never carry a user name, password, token or any other byte
// of a credential, so they are safe for logs and for `kwire` output.
#pragma once

#include <system_error>

namespace kwire::security {

enum class errc {
  // The caller's input.
  invalid_username = 1,  // empty, or contains a NUL byte
  invalid_password,      // empty, or contains a NUL byte
  invalid_token,         // OAUTHBEARER token empty or outside RFC 6750's b64token
  invalid_extension,     // SASL extension key or value outside what RFC 7628 allows
  invalid_client_nonce,  // injected SCRAM nonce empty or not printable without ','
  // The order of the exchange.
  out_of_order,  // a step the mechanism's state does not expect
  // What the server sent.
  malformed_server_message,         // does not parse as the mechanism's message
  invalid_base64,                   // an attribute that must be base64 is not
  unsupported_mandatory_extension,  // SCRAM m=, which a client must refuse (RFC 5802)
  nonce_mismatch,                   // the server nonce does not extend the client nonce
  iteration_count_too_low,          // SCRAM i= below 4096 (Kafka's minimum)
  iteration_count_too_high,         // SCRAM i= above the configured bound
  server_signature_mismatch,        // SCRAM v= is not the signature the password gives
  server_rejected,                  // SCRAM e=, or an OAUTHBEARER error response
  // Kerberos (GSSAPI through libsasl2).
  gssapi_failed,  // no or expired ticket, unknown service principal, ...: see detail
  // The local crypto library.
  random_unavailable,  // the CSPRNG could not produce bytes
  crypto_failure,      // an OpenSSL digest, HMAC or PBKDF2 call failed
};

const std::error_category& security_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), security_category()};
}

}  // namespace kwire::security

template <>
struct std::is_error_code_enum<kwire::security::errc> : std::true_type {};
