// SASL authentication of one connection (KIP-43, KIP-152): after ApiVersions, a
// SaslHandshake v1 names the mechanism, then SaslAuthenticate requests carry the mechanism's
// messages until it completes. This is the sans-io half: it turns responses into the next
// request or an outcome; the connection sends and receives.
//
// Nothing here logs or returns a credential: errors are codes plus the broker's own message
// (Kafka's messages name the mechanism, never the password).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "core/kerberos.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/jaas.hpp"
#include "kwire/protocol/messages.hpp"
#include "kwire/security/sasl_mechanism.hpp"

namespace kwire::client::detail {

// What a client authenticates with; shared by its connections. Secrets are wiped when the
// last connection lets go.
struct sasl_settings {
  sasl_mechanism mechanism = sasl_mechanism::plain;
  jaas_login login;  // all but GSSAPI
  // GSSAPI: the broker principal's service part, and the client's kinit runs.
  std::string kerberos_service_name;
  std::unique_ptr<kerberos_login> kerberos;
  sasl_settings() = default;
  sasl_settings(const sasl_settings&) = delete;
  sasl_settings& operator=(const sasl_settings&) = delete;
  ~sasl_settings();
};

// From a parsed configuration (parse_*_config validated sasl.jaas.config already).
std::optional<config_error> make_sasl_settings(const common_config& config,
                                               std::shared_ptr<const sasl_settings>& out);

std::string_view mechanism_name(sasl_mechanism mechanism) noexcept;

class sasl_authenticator {
 public:
  // What to do next: send `request` (a SaslAuthenticate), or stop with `error` (and the
  // broker's `message`), or done (error empty, no request).
  struct step {
    std::error_code error;
    std::string message;
    std::optional<protocol::SaslAuthenticateRequest> request;
    bool done() const noexcept { return !error && !request; }
  };

  // `host`: the broker as connected to (GSSAPI asks for a ticket to service/host).
  sasl_authenticator(std::shared_ptr<const sasl_settings> settings, std::string host);
  ~sasl_authenticator();

  protocol::SaslHandshakeRequest handshake_request() const;
  step on_handshake(const protocol::SaslHandshakeResponse& response);
  step on_authenticate(const protocol::SaslAuthenticateResponse& response);

  // session_lifetime_ms of the last SaslAuthenticate response (0: no limit; KIP-368).
  std::chrono::milliseconds session_lifetime() const noexcept { return session_lifetime_; }

 private:
  step fail(std::error_code ec, std::string message);

  std::shared_ptr<const sasl_settings> settings_;
  std::string host_;
  std::unique_ptr<security::sasl_client_mechanism> mechanism_;
  std::chrono::milliseconds session_lifetime_{0};
};

}  // namespace kwire::client::detail
