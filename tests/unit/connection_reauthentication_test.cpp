// SASL re-authentication (KIP-368) of kwire::client::connection against a scripted fake
// broker whose sessions last 300 ms: the connection runs SaslHandshake + SaslAuthenticate
// again on the same socket before each session ends, while requests keep flowing; none
// fails, and nothing but the exchange goes out between its SaslHandshake and its end. Also
// when (core/sasl_reauthentication.hpp), the test hook that turns it off, and a refused
// re-authentication.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>

#include "connection_test_support.hpp"
#include "core/sasl_authenticator.hpp"
#include "core/sasl_reauthentication.hpp"
#include "fake_broker.hpp"
#include "kwire/client/connection.hpp"
#include "kwire/protocol/errors.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using kwire::test::connect_to;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::run_until;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kLifetimeMs = 300;

kc::connection_options plain_options() {
  kc::common_config config;
  config.security = kc::security_protocol::sasl_plaintext;
  config.sasl_mechanism_type = kc::sasl_mechanism::plain;
  config.sasl_jaas_config =
      "org.apache.kafka.common.security.plain.PlainLoginModule required "
      "username=\"alice\" password=\"pw-1\";";
  kc::connection_options o;
  o.client_id = "unit";
  o.request_timeout = 2s;
  o.connect_timeout = 2s;
  const auto error = kd::make_sasl_settings(config, o.sasl);
  EXPECT_FALSE(error) << error->message;
  return o;
}

// PLAIN in one round trip, sessions of kLifetimeMs; Metadata answered after 30 ms, so that
// requests are always in flight when a re-authentication starts. `refuse_from`: the
// SaslAuthenticate with this index (0: the first) and later ones are refused.
fake_broker::script sasl_broker(int refuse_from = 1 << 30) {
  auto authentications = std::make_shared<int>(0);
  return [authentications, refuse_from](const fake_request& r) -> fake_action {
    if (r.api_key == kp::SaslHandshakeRequest::api_key) {
      kp::SaslHandshakeResponse response;
      response.mechanisms = {"PLAIN"};
      return kwire::test::reply(response, r.api_version);
    }
    if (r.api_key == kp::SaslAuthenticateRequest::api_key) {
      kp::SaslAuthenticateResponse response;
      if ((*authentications)++ >= refuse_from) {
        response.error_code =
            static_cast<std::int16_t>(kp::broker_error::sasl_authentication_failed);
        response.error_message = "Authentication failed during re-authentication";
      } else {
        response.session_lifetime_ms = kLifetimeMs;
      }
      return kwire::test::reply(response, r.api_version);
    }
    kp::MetadataResponse response;
    auto out = kwire::test::reply(response, r.api_version);
    out.delay = 30ms;
    return out;
  };
}

// Keeps `depth` Metadata requests outstanding on `conn` for `duration`, each answered one
// sent again; counts answers and failures.
struct request_stream {
  explicit request_stream(std::shared_ptr<kc::connection> c) : conn(std::move(c)) {}

  std::shared_ptr<kc::connection> conn;
  std::chrono::steady_clock::time_point until{};
  int outstanding = 0;
  int answered = 0;
  int failed = 0;
  std::string first_failure;

  void send_one() {
    ++outstanding;
    conn->send(kp::MetadataRequest{}, 12, [this](std::error_code ec, kc::response_frame) {
      --outstanding;
      if (ec) {
        if (failed++ == 0) first_failure = ec.message();
        return;
      }
      ++answered;
      if (std::chrono::steady_clock::now() < until) send_one();
    });
  }
  void run(boost::asio::io_context& io, std::chrono::milliseconds duration, int depth) {
    until = std::chrono::steady_clock::now() + duration;
    for (int i = 0; i < depth; ++i) send_one();
    run_until(
        io, [&] { return outstanding == 0; }, duration + 5s);
  }
};

std::vector<std::int16_t> api_keys(const fake_broker& broker) {
  std::vector<std::int16_t> keys;
  for (const auto& r : broker.requests()) keys.push_back(r.api_key);
  return keys;
}

}  // namespace

TEST(SaslReauthentication, DelayIsBetween85And95PercentOfTheLifetime) {
  std::minstd_rand random(7);
  for (int i = 0; i < 1000; ++i) {
    const auto delay = kd::reauthentication_delay(10000ms, random);
    ASSERT_TRUE(delay);
    EXPECT_GE(delay->count(), 8500);
    EXPECT_LE(delay->count(), 9500);
  }
  EXPECT_FALSE(kd::reauthentication_delay(0ms, random));
  EXPECT_EQ(kd::reauthentication_delay(1ms, random), 1ms);
}

TEST(SaslReauthentication, RenewsTheSessionOnTheSameConnectionWithoutFailingRequests) {
  boost::asio::io_context io;
  fake_broker broker(io, sasl_broker());
  auto conn = connect_to(io, broker, plain_options());
  ASSERT_TRUE(conn->ready());
  request_stream stream(conn);
  stream.run(io, 1200ms, 3);  // 4 session lifetimes
  run_until(
      io, [] { return false; }, 100ms);  // one begun at the end completes

  EXPECT_EQ(stream.failed, 0) << stream.first_failure;
  EXPECT_GT(stream.answered, 30);
  EXPECT_TRUE(conn->ready());
  EXPECT_EQ(broker.connections_accepted(), 1);
  EXPECT_GE(conn->reauthentications(), 3u);
  EXPECT_LE(conn->reauthentications(), 5u);
  // Every SaslHandshake is followed at once by its SaslAuthenticate: the requests queued
  // meanwhile waited. The later ones went out behind Metadata requests still in flight.
  const auto keys = api_keys(broker);
  int handshakes = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] != kp::SaslHandshakeRequest::api_key) continue;
    ++handshakes;
    ASSERT_LT(i + 1, keys.size());
    EXPECT_EQ(keys[i + 1], kp::SaslAuthenticateRequest::api_key) << "after handshake " << i;
    if (handshakes > 1) {
      EXPECT_EQ(keys[i - 1], kp::MetadataRequest::api_key);
    }
  }
  EXPECT_EQ(static_cast<std::uint64_t>(handshakes), conn->reauthentications() + 1);
}

TEST(SaslReauthentication, TheTestHookTurnsItOff) {
  boost::asio::io_context io;
  fake_broker broker(io, sasl_broker());
  auto options = plain_options();
  options.sasl_reauthentication = false;
  auto conn = connect_to(io, broker, options);
  request_stream stream(conn);
  stream.run(io, 700ms, 2);
  EXPECT_EQ(stream.failed, 0) << stream.first_failure;
  EXPECT_EQ(conn->reauthentications(), 0u);
  const auto keys = api_keys(broker);
  EXPECT_EQ(std::count(keys.begin(), keys.end(), kp::SaslHandshakeRequest::api_key), 1);
}

TEST(SaslReauthentication, ARefusedReauthenticationClosesTheConnectionWithTheBrokersError) {
  boost::asio::io_context io;
  fake_broker broker(io, sasl_broker(1));
  auto conn = connect_to(io, broker, plain_options());
  request_stream stream(conn);
  stream.run(io, 1000ms, 2);
  EXPECT_EQ(conn->current_state(), kc::connection::state::closed);
  EXPECT_EQ(conn->close_reason(), kp::broker_error_code(static_cast<std::int16_t>(
                                      kp::broker_error::sasl_authentication_failed)));
  EXPECT_NE(conn->close_detail().find("re-authentication"), std::string::npos)
      << conn->close_detail();
  EXPECT_EQ(conn->reauthentications(), 0u);
  EXPECT_GT(stream.answered, 0);
  EXPECT_GT(stream.failed, 0);  // those held or in flight when it closed
}
