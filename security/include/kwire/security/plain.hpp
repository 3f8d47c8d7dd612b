// SASL PLAIN (RFC 4616) as Kafka uses it: an empty authorization id, the user name and the
// password, separated by NUL bytes, in one message; the broker answers with empty bytes.
// Only safe over TLS: the password travels as it is.
#pragma once

#include <string>
#include <string_view>

#include "kwire/security/sasl_mechanism.hpp"

namespace kwire::security {

class plain_client final : public sasl_client_mechanism {
 public:
  plain_client(std::string_view username, std::string_view password);
  ~plain_client() override;

  std::string_view name() const noexcept override { return "PLAIN"; }
  // errc::invalid_username / invalid_password for an empty value or one with a NUL byte.
  std::error_code initial_response(std::vector<std::uint8_t>& out) override;
  // Accepts only the broker's empty answer.
  std::error_code evaluate_challenge(std::span<const std::uint8_t> challenge,
                                     std::vector<std::uint8_t>& out) override;
  bool is_complete() const noexcept override { return state_ == state::complete; }

 private:
  enum class state { initial, awaiting_server, complete, failed };
  std::string username_;
  std::string password_;
  state state_ = state::initial;
};

}  // namespace kwire::security
