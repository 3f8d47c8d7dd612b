// SASL OAUTHBEARER client (RFC 7628) as Kafka runs it (KIP-255, KIP-342): one client message
// carrying the bearer token and optional SASL extensions; the broker answers with empty bytes
// on success, or with an error JSON object, to which the client must reply with a single
// 0x01 byte before the broker fails the SaslAuthenticate request.
//
// Getting a token (a provider callback, OIDC client credentials) is the client's business;
// this mechanism only carries one.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "kwire/security/sasl_mechanism.hpp"

namespace kwire::security {

// SASL extensions (KIP-342), key -> value. Keys are letters only and not "auth"; values are
// non-empty visible ASCII, space, tab, CR or LF (RFC 7628; Kafka's broker wants a value).
using sasl_extensions = std::map<std::string, std::string, std::less<>>;

// The server's error response (RFC 7628, section 3.2.2); absent members are empty.
struct oauthbearer_server_error {
  std::string status;  // e.g. "invalid_token"; always present in a valid response
  std::string scope;
  std::string openid_configuration;
};

// Parses the error JSON: an object whose "status" is a string. Other members and other value
// types are skipped. errc::malformed_server_message for anything that is not such JSON.
std::error_code parse_oauthbearer_server_error(std::string_view json,
                                               oauthbearer_server_error& out);

class oauthbearer_client final : public sasl_client_mechanism {
 public:
  explicit oauthbearer_client(std::string_view token, sasl_extensions extensions = {});
  ~oauthbearer_client() override;

  std::string_view name() const noexcept override { return "OAUTHBEARER"; }
  // "n,,\x01auth=Bearer <token>\x01[key=value\x01...]\x01". errc::invalid_token (empty, or
  // outside RFC 6750's b64token), errc::invalid_extension.
  std::error_code initial_response(std::vector<std::uint8_t>& out) override;
  // Empty server bytes: complete. An error JSON: parsed into server_error(), and the answer
  // is the 0x01 byte RFC 7628 requires (the broker's SaslAuthenticate error follows; any
  // further server message is errc::server_rejected). Unparseable bytes:
  // errc::malformed_server_message.
  std::error_code evaluate_challenge(std::span<const std::uint8_t> challenge,
                                     std::vector<std::uint8_t>& out) override;
  bool is_complete() const noexcept override { return state_ == state::complete; }

  // True once the server has sent an error response.
  bool rejected() const noexcept { return state_ == state::rejected; }
  const oauthbearer_server_error& server_error() const noexcept { return server_error_; }

 private:
  enum class state { initial, awaiting_server, rejected, complete, failed };
  std::string token_;
  sasl_extensions extensions_;
  oauthbearer_server_error server_error_;
  state state_ = state::initial;
};

}  // namespace kwire::security
