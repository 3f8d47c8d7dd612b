// The SaslHandshake / SaslAuthenticate step machine the connection drives
// (client/src/core/sasl_authenticator.hpp), fed with broker responses by hand.
#include "core/sasl_authenticator.hpp"

#include <gtest/gtest.h>

#include <string>

#include "kwire/client/config.hpp"
#include "kwire/protocol/errors.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;

namespace {

constexpr const char* kPassword = "pw-9f8e7d";

std::shared_ptr<const kd::sasl_settings> settings_for(kc::sasl_mechanism mechanism,
                                                      const std::string& jaas) {
  kc::common_config config;
  config.security = kc::security_protocol::sasl_plaintext;
  config.sasl_mechanism_type = mechanism;
  config.sasl_jaas_config = jaas;
  std::shared_ptr<const kd::sasl_settings> out;
  const auto error = kd::make_sasl_settings(config, out);
  EXPECT_FALSE(error) << error->message;
  return out;
}

std::string plain_jaas() {
  return std::string(
             "org.apache.kafka.common.security.plain.PlainLoginModule required "
             "username=\"alice\" password=\"") +
         kPassword + "\";";
}

std::string scram_jaas() {
  return std::string(
             "org.apache.kafka.common.security.scram.ScramLoginModule required "
             "username=\"alice\" password=\"") +
         kPassword + "\";";
}

kp::SaslHandshakeResponse handshake_ok() {
  kp::SaslHandshakeResponse r;
  r.mechanisms = {"PLAIN", "SCRAM-SHA-256"};
  return r;
}

}  // namespace

TEST(SaslAuthenticator, PlainIsOneRoundTrip) {
  kd::sasl_authenticator auth(settings_for(kc::sasl_mechanism::plain, plain_jaas()), "127.0.0.1");
  EXPECT_EQ(auth.handshake_request().mechanism, "PLAIN");
  auto step = auth.on_handshake(handshake_ok());
  ASSERT_FALSE(step.error) << step.message;
  ASSERT_TRUE(step.request);
  const std::string expected = std::string("\0alice\0", 7) + kPassword;
  EXPECT_EQ(std::string(step.request->auth_bytes.begin(), step.request->auth_bytes.end()),
            expected);
  kp::SaslAuthenticateResponse response;
  response.session_lifetime_ms = 3600000;
  step = auth.on_authenticate(response);
  EXPECT_TRUE(step.done());
  EXPECT_EQ(auth.session_lifetime(), std::chrono::milliseconds(3600000));
}

TEST(SaslAuthenticator, AMechanismTheBrokerLacksListsWhatItOffers) {
  kd::sasl_authenticator auth(settings_for(kc::sasl_mechanism::scram_sha_512, scram_jaas()),
                              "127.0.0.1");
  EXPECT_EQ(auth.handshake_request().mechanism, "SCRAM-SHA-512");
  auto response = handshake_ok();
  response.error_code = static_cast<std::int16_t>(kp::broker_error::unsupported_sasl_mechanism);
  const auto step = auth.on_handshake(response);
  EXPECT_EQ(step.error, kp::broker_error_code(response.error_code));
  EXPECT_NE(step.message.find("does not offer sasl.mechanism SCRAM-SHA-512; it offers: PLAIN, "
                              "SCRAM-SHA-256"),
            std::string::npos)
      << step.message;
  EXPECT_FALSE(step.request);
}

TEST(SaslAuthenticator, ARefusedLoginCarriesTheBrokersMessageNotThePassword) {
  kd::sasl_authenticator auth(settings_for(kc::sasl_mechanism::plain, plain_jaas()), "127.0.0.1");
  ASSERT_TRUE(auth.on_handshake(handshake_ok()).request);
  kp::SaslAuthenticateResponse response;
  response.error_code = static_cast<std::int16_t>(kp::broker_error::sasl_authentication_failed);
  response.error_message = "Authentication failed: Invalid username or password";
  const auto step = auth.on_authenticate(response);
  EXPECT_EQ(step.error, kp::broker_error_code(response.error_code));
  EXPECT_EQ(step.message, "Authentication failed: Invalid username or password");
  EXPECT_EQ(step.message.find(kPassword), std::string::npos);
}

TEST(SaslAuthenticator, AMalformedScramChallengeStopsTheExchange) {
  kd::sasl_authenticator auth(settings_for(kc::sasl_mechanism::scram_sha_256, scram_jaas()),
                              "127.0.0.1");
  auto step = auth.on_handshake(handshake_ok());
  ASSERT_TRUE(step.request);
  const std::string first(step.request->auth_bytes.begin(), step.request->auth_bytes.end());
  EXPECT_EQ(first.rfind("n,,n=alice,r=", 0), 0u) << first;
  kp::SaslAuthenticateResponse response;
  const std::string garbage = "not a server-first message";
  response.auth_bytes.assign(garbage.begin(), garbage.end());
  step = auth.on_authenticate(response);
  EXPECT_TRUE(step.error);
  EXPECT_FALSE(step.request);
  EXPECT_EQ(step.message.find(kPassword), std::string::npos);
}

TEST(SaslAuthenticator, OAuthBearerSendsAnUnsecuredToken) {
  kd::sasl_authenticator auth(
      settings_for(kc::sasl_mechanism::oauthbearer,
                   "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
                   "unsecuredLoginStringClaim_sub=\"alice\";"),
      "127.0.0.1");
  auto step = auth.on_handshake(handshake_ok());
  ASSERT_TRUE(step.request);
  const std::string first(step.request->auth_bytes.begin(), step.request->auth_bytes.end());
  EXPECT_EQ(first.rfind("n,,\x01"
                        "auth=Bearer ",
                        0),
            0u)
      << first;
  step = auth.on_authenticate(kp::SaslAuthenticateResponse{});
  EXPECT_TRUE(step.done());
}
