#include "core/sasl_authenticator.hpp"

#include <openssl/crypto.h>

#include "kwire/client/error.hpp"
#include "kwire/security/gssapi.hpp"
#include "kwire/security/oauthbearer.hpp"
#include "kwire/security/plain.hpp"
#include "kwire/security/scram.hpp"
#include "kwire/security/unsecured_jwt.hpp"

namespace kwire::client::detail {
namespace {

void wipe(std::string& s) noexcept {
  if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
  s.clear();
}

std::unique_ptr<security::sasl_client_mechanism> make_mechanism(const sasl_settings& settings,
                                                                const std::string& host) {
  const jaas_login& login = settings.login;
  switch (settings.mechanism) {
    case sasl_mechanism::plain:
      return std::make_unique<security::plain_client>(login.username, login.password);
    case sasl_mechanism::scram_sha_256:
    case sasl_mechanism::scram_sha_512: {
      security::scram_options options;
      options.delegation_token = login.token_auth;
      return std::make_unique<security::scram_client>(
          settings.mechanism == sasl_mechanism::scram_sha_256 ? security::scram_algorithm::sha256
                                                              : security::scram_algorithm::sha512,
          login.username, login.password, options);
    }
    case sasl_mechanism::oauthbearer: {
      // A fresh unsecured token per connection, so that it never expires in use.
      security::unsecured_jwt_claims claims;
      claims.subject = login.subject;
      claims.issued_at =
          std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
      claims.expires_at = claims.issued_at + login.lifetime;
      claims.scope = login.scope;
      security::sasl_extensions extensions(login.extensions.begin(), login.extensions.end());
      return std::make_unique<security::oauthbearer_client>(security::make_unsecured_jwt(claims),
                                                            std::move(extensions));
    }
    case sasl_mechanism::gssapi:
      return std::make_unique<security::gssapi_client>(settings.kerberos_service_name, host);
  }
  return nullptr;
}

}  // namespace

sasl_settings::~sasl_settings() {
  wipe(login.password);
  wipe(login.username);
}

std::optional<config_error> make_sasl_settings(const common_config& config,
                                               std::shared_ptr<const sasl_settings>& out) {
  auto settings = std::make_shared<sasl_settings>();
  settings->mechanism = config.sasl_mechanism_type;
  if (settings->mechanism == sasl_mechanism::gssapi) {
    if (config.sasl_kerberos_service_name.empty())
      return config_error{"sasl.kerberos.service.name",
                          "sasl.kerberos.service.name: must not be empty with GSSAPI"};
    settings->kerberos_service_name = config.sasl_kerberos_service_name;
    settings->kerberos = std::make_unique<kerberos_login>(
        kinit_command(config), config.sasl_kerberos_min_time_before_relogin);
    out = std::move(settings);
    return std::nullopt;
  }
  if (!config.sasl_jaas_config)
    return config_error{"sasl.jaas.config", "sasl.jaas.config: is required for SASL"};
  if (auto error = parse_jaas_config(*config.sasl_jaas_config, settings->login))
    return config_error{"sasl.jaas.config", "sasl.jaas.config: " + *error};
  out = std::move(settings);
  return std::nullopt;
}

std::string_view mechanism_name(sasl_mechanism mechanism) noexcept {
  switch (mechanism) {
    case sasl_mechanism::gssapi:
      return "GSSAPI";
    case sasl_mechanism::plain:
      return "PLAIN";
    case sasl_mechanism::scram_sha_256:
      return "SCRAM-SHA-256";
    case sasl_mechanism::scram_sha_512:
      return "SCRAM-SHA-512";
    case sasl_mechanism::oauthbearer:
      return "OAUTHBEARER";
  }
  return "?";
}

sasl_authenticator::sasl_authenticator(std::shared_ptr<const sasl_settings> settings,
                                       std::string host)
    : settings_(std::move(settings)), host_(std::move(host)) {}

sasl_authenticator::~sasl_authenticator() = default;

protocol::SaslHandshakeRequest sasl_authenticator::handshake_request() const {
  protocol::SaslHandshakeRequest request;
  request.mechanism = std::string(mechanism_name(settings_->mechanism));
  return request;
}

sasl_authenticator::step sasl_authenticator::fail(std::error_code ec, std::string message) {
  mechanism_.reset();  // wipes what it held
  return {ec, std::move(message), std::nullopt};
}

sasl_authenticator::step sasl_authenticator::on_handshake(
    const protocol::SaslHandshakeResponse& response) {
  if (response.error_code != 0) {
    std::string message;
    if (response.error_code ==
        static_cast<std::int16_t>(protocol::broker_error::unsupported_sasl_mechanism)) {
      message = "the broker does not offer sasl.mechanism " +
                std::string(mechanism_name(settings_->mechanism)) + "; it offers: ";
      for (std::size_t i = 0; i < response.mechanisms.size(); ++i)
        message += (i ? ", " : "") + response.mechanisms[i];
      if (response.mechanisms.empty()) message += "none";
    } else if (response.error_code ==
               static_cast<std::int16_t>(protocol::broker_error::illegal_sasl_state)) {
      message =
          "the broker did not expect SASL here: is it a PLAINTEXT or SSL listener? "
          "(security.protocol)";
    }
    return fail(protocol::broker_error_code(response.error_code), std::move(message));
  }
  // kinit before the first login and after the relogin interval. It runs here, on the
  // connection's thread, as the ticket is needed now; it takes milliseconds against a KDC.
  if (settings_->kerberos) {
    if (auto why = settings_->kerberos->refresh())
      return fail(make_error_code(errc::kerberos_failed),
                  "sasl.kerberos.kinit.cmd failed: " + *why +
                      " (sasl.kerberos.kinit.cmd=none uses the ticket cache as it is)");
  }
  mechanism_ = make_mechanism(*settings_, host_);
  if (!mechanism_) return fail(make_error_code(errc::invalid_argument), "no SASL mechanism");
  protocol::SaslAuthenticateRequest request;
  if (auto ec = mechanism_->initial_response(request.auth_bytes)) {
    if (auto* gssapi = dynamic_cast<security::gssapi_client*>(mechanism_.get()))
      return fail(
          make_error_code(errc::kerberos_failed),
          "GSSAPI for " + settings_->kerberos_service_name + "/" + host_ + ": " + gssapi->detail());
    return fail(ec, "the SASL mechanism could not start");
  }
  return {{}, {}, std::move(request)};
}

sasl_authenticator::step sasl_authenticator::on_authenticate(
    const protocol::SaslAuthenticateResponse& response) {
  if (!mechanism_) return fail(make_error_code(errc::protocol_violation), "unexpected response");
  if (response.error_code != 0) {
    std::string message = response.error_message.value_or("");
    if (message.empty()) message = "authentication failed";
    return fail(protocol::broker_error_code(response.error_code), std::move(message));
  }
  session_lifetime_ = std::chrono::milliseconds(response.session_lifetime_ms);
  if (mechanism_->is_complete()) {
    // Kafka ends every exchange with a response to the client's last message.
    mechanism_.reset();
    return {};
  }
  protocol::SaslAuthenticateRequest request;
  if (auto ec = mechanism_->evaluate_challenge(response.auth_bytes, request.auth_bytes)) {
    std::string message = "the broker's SASL message was refused: " + ec.message();
    if (auto* scram = dynamic_cast<security::scram_client*>(mechanism_.get());
        scram && !scram->server_error().empty())
      message += " (" + scram->server_error() + ")";
    if (auto* gssapi = dynamic_cast<security::gssapi_client*>(mechanism_.get()))
      return fail(make_error_code(errc::kerberos_failed), "GSSAPI: " + gssapi->detail());
    return fail(ec, std::move(message));
  }
  if (mechanism_->is_complete() && request.auth_bytes.empty()) {
    mechanism_.reset();
    return {};
  }
  return {{}, {}, std::move(request)};
}

}  // namespace kwire::client::detail
