// ACLs against the restricted user of a `kafka-local.sh up --security` cluster, through the
// client's connection API: InitProducerId with a transactional id outside the user's prefix
// is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, one inside it gets a producer id.
// (The producer does not take transactional.id yet, so the request is sent by hand.)
// KWIRE_SECURITY_ENV names the file of kafka-local.sh's printed lines; without it the tests
// skip (tests/integration/cli_acls.sh starts the cluster and runs them).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/connection.hpp"
#include "kwire/protocol/errors.hpp"
#include "kwire/protocol/messages.hpp"
#include "security_env.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using namespace std::chrono_literals;

namespace {

class SecurityLive : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* file = std::getenv("KWIRE_SECURITY_ENV");
    if (!file) GTEST_SKIP() << "KWIRE_SECURITY_ENV is unset (cli_acls.sh sets it)";
    env_ = kwire::test::read_security_env(file);
    ASSERT_FALSE(env_["sasl_plaintext"].empty()) << "no sasl_plaintext= line in " << file;
    suffix_ = std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  }

  // Sends `request` on `conn` and waits (20 s at most) for the response's error_code.
  template <class Request, class Response>
  std::error_code call(boost::asio::io_context& io, kc::connection& conn, const Request& request) {
    bool done = false;
    std::error_code result;
    const auto version = conn.version_for(Request::api_key).value_or(0);
    conn.send(request, version, [&, version](std::error_code ec, kc::response_frame frame) {
      Response response;
      if (!ec) ec = response.decode(frame.body, version);
      if (!ec) ec = kp::broker_error_code(response.error_code);
      if constexpr (requires { response.coordinators; }) {
        if (!ec && !response.coordinators.empty())
          ec = kp::broker_error_code(response.coordinators.front().error_code);
      }
      result = ec;
      done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
    EXPECT_TRUE(done) << "no answer within 20 s";
    return result;
  }

  // InitProducerId for `transactional_id` as the restricted user over SASL_PLAINTEXT, after a
  // FindCoordinator (which makes the broker create its transaction log) and again while the
  // coordinator is not there yet: the broker's error code, or the connection's error.
  std::error_code init_producer_id(const std::string& transactional_id) {
    const auto address = env_["sasl_plaintext"];
    const auto options = kwire::test::sasl_plain_options(address, env_["restricted_user"],
                                                         env_["restricted_password"]);
    if (!options) {
      ADD_FAILURE() << "the SASL_PLAINTEXT configuration was refused";
      return kc::make_error_code(kc::errc::invalid_argument);
    }
    const auto where = kwire::test::parse_bootstrap(address).at(0);
    kc::broker_endpoint endpoint{-1, where.host, static_cast<std::uint16_t>(std::stoi(where.port))};
    boost::asio::io_context io;
    auto conn = kc::connection::create(io.get_executor(), endpoint, *options);
    bool connected = false;
    std::error_code result;
    conn->connect([&](std::error_code ec) {
      result = ec;
      connected = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!connected && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
    if (!connected || result) {
      ADD_FAILURE() << "connect: " << (connected ? result.message() : "no answer in 20 s");
      conn->close();
      return result;
    }
    kp::FindCoordinatorRequest find;
    find.key_type = 1;  // transaction
    if (conn->version_for(kp::FindCoordinatorRequest::api_key).value_or(0) >= 4)
      find.coordinator_keys = {transactional_id};
    else
      find.key = transactional_id;
    (void)call<kp::FindCoordinatorRequest, kp::FindCoordinatorResponse>(io, *conn, find);
    kp::InitProducerIdRequest request;
    request.transactional_id = transactional_id;
    request.transaction_timeout_ms = 60000;
    const auto until = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      result = call<kp::InitProducerIdRequest, kp::InitProducerIdResponse>(io, *conn, request);
      const bool not_yet =
          result ==
              kp::broker_error_code(static_cast<std::int16_t>(kp::broker_error::not_coordinator)) ||
          result == kp::broker_error_code(
                        static_cast<std::int16_t>(kp::broker_error::coordinator_not_available)) ||
          result == kp::broker_error_code(
                        static_cast<std::int16_t>(kp::broker_error::coordinator_load_in_progress));
      if (!not_yet || std::chrono::steady_clock::now() > until) break;
      std::this_thread::sleep_for(200ms);
    }
    conn->close();
    return result;
  }

  std::map<std::string, std::string> env_;
  std::string suffix_;
};

TEST_F(SecurityLive, DeniedTransactionalIdIsRefusedAtOnce) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto ec = init_producer_id("denied-txn-" + suffix_);
  EXPECT_EQ(ec, kp::broker_error_code(static_cast<std::int16_t>(
                    kp::broker_error::transactional_id_authorization_failed)))
      << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(SecurityLive, AllowedTransactionalIdGetsAProducerId) {
  const auto ec = init_producer_id(env_["restricted_prefix"] + "txn-" + suffix_);
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
