#include "kwire/security/error.hpp"

#include <string>

namespace kwire::security {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kwire.security"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_username:
        return "SASL user name is empty or contains a NUL byte";
      case errc::invalid_password:
        return "SASL password is empty or contains a NUL byte";
      case errc::invalid_token:
        return "OAUTHBEARER token is empty or has characters a bearer token cannot have";
      case errc::invalid_extension:
        return "SASL extension key or value has characters RFC 7628 does not allow";
      case errc::invalid_client_nonce:
        return "SCRAM client nonce is empty or not printable ASCII without ','";
      case errc::out_of_order:
        return "SASL exchange step out of order";
      case errc::malformed_server_message:
        return "the server's SASL message is malformed";
      case errc::invalid_base64:
        return "the server's SASL message has invalid base64";
      case errc::unsupported_mandatory_extension:
        return "the server's SCRAM message requires an extension kwire does not support";
      case errc::nonce_mismatch:
        return "the server's SCRAM nonce does not extend the client nonce";
      case errc::iteration_count_too_low:
        return "the server's SCRAM iteration count is below 4096";
      case errc::iteration_count_too_high:
        return "the server's SCRAM iteration count is above the allowed maximum";
      case errc::server_signature_mismatch:
        return "the server's SCRAM signature is wrong: it does not know the credentials";
      case errc::server_rejected:
        return "the server rejected the SASL authentication";
      case errc::gssapi_failed:
        return "Kerberos (GSSAPI) authentication failed";
      case errc::random_unavailable:
        return "the system's secure random generator failed";
      case errc::crypto_failure:
        return "an OpenSSL cryptographic operation failed";
    }
    return "unknown kwire.security error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& security_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace kwire::security
