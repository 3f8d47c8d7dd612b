// sasl.jaas.config as Java users write it, for the login modules kwire understands:
//
//   org.apache.kafka.common.security.plain.PlainLoginModule required
//       username="alice" password="alice-secret";
//   org.apache.kafka.common.security.scram.ScramLoginModule required
//       username="alice" password="alice-secret" tokenauth="false";
//   org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required
//       unsecuredLoginStringClaim_sub="alice" unsecuredLoginListClaim_scope=",read,write"
//       unsecuredLoginLifetimeSeconds="3600" unsecuredLoginExtension_traceId="123";
//
// Syntax (javax.security.auth.login.ConfigFile with Kafka's one-module rule): a login module
// class, a control flag (required, requisite, sufficient, optional), options key=value with
// the value in double quotes (\" and \\ escape) or bare, and a closing ';'. Strict where Java
// is lenient: an option the module does not have is an error, not ignored, so a typo never
// turns into an empty password.
//
// Error messages name the option, never a value: values hold passwords.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kwire::client {

enum class jaas_login_module { plain, scram, oauthbearer };

struct jaas_login {
  jaas_login_module module = jaas_login_module::plain;
  // PlainLoginModule and ScramLoginModule.
  std::string username;
  std::string password;
  bool token_auth = false;  // ScramLoginModule tokenauth: a delegation token
  // OAuthBearerLoginModule's unsecured token (Kafka's OAuthBearerUnsecuredLoginCallbackHandler:
  // an {"alg":"none"} JWT for brokers running the unsecured validator; tests, development).
  std::string subject;                  // unsecuredLoginStringClaim_sub (required)
  std::vector<std::string> scope;       // unsecuredLoginListClaim_scope
  std::chrono::seconds lifetime{3600};  // unsecuredLoginLifetimeSeconds
  std::vector<std::pair<std::string, std::string>> extensions;  // unsecuredLoginExtension_NAME
};

// Parses `text` into `out`; on error returns a sentence for "sasl.jaas.config: " to follow.
std::optional<std::string> parse_jaas_config(std::string_view text, jaas_login& out);

// The login module class name Java users write for a module.
std::string_view login_module_class(jaas_login_module module) noexcept;

}  // namespace kwire::client
