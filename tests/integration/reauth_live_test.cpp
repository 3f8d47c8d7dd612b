// SASL re-authentication (KIP-368) against the broker of a `kafka-local.sh up --security
// --reauth-ms MS` cluster; tests/integration/cli_reauth.sh starts it and runs these with
// KWIRE_SECURITY_ENV (without it they skip). Two connections side by side send a Metadata
// request every 200 ms for 2.3 session lifetimes. The one that re-authenticates keeps its
// connection, re-authenticated at least twice, with no request failed; the one whose
// re-authentication the test hook turned off is closed by the broker at its first request
// after the session ran out, which shows that the broker enforces the lifetime (so the
// first one's survival is the re-authentication's doing).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "broker_session.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/connection.hpp"
#include "kwire/protocol/messages.hpp"
#include "security_env.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// One Metadata request at a time on a connection, the next 200 ms after each answer; the
// first failure ends it and says when.
class request_ticker {
 public:
  request_ticker(boost::asio::io_context& io, std::shared_ptr<kc::connection> conn)
      : conn_(std::move(conn)), timer_(io) {}

  void start() {
    started_at_ = steady::now();
    tick();
  }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }

  int answered() const { return answered_; }
  int failed() const { return failed_; }
  std::error_code first_error() const { return first_error_; }
  // From start() to the first failure.
  std::chrono::milliseconds failed_after() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(failed_at_ - started_at_);
  }

 private:
  void tick() {
    if (stopped_) return;
    const auto version = conn_->version_for(kp::MetadataRequest::api_key).value_or(0);
    conn_->send(kp::MetadataRequest{}, version, [this](std::error_code ec, kc::response_frame) {
      if (ec) {
        if (failed_++ == 0) {
          first_error_ = ec;
          failed_at_ = steady::now();
        }
        return;
      }
      ++answered_;
      timer_.expires_after(200ms);
      timer_.async_wait([this](boost::system::error_code wait_ec) {
        if (!wait_ec) tick();
      });
    });
  }

  std::shared_ptr<kc::connection> conn_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  steady::time_point started_at_{};
  steady::time_point failed_at_{};
  int answered_ = 0;
  int failed_ = 0;
  std::error_code first_error_;
};

class ReauthLive : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* file = std::getenv("KWIRE_SECURITY_ENV");
    if (!file) GTEST_SKIP() << "KWIRE_SECURITY_ENV is unset (cli_reauth.sh sets it)";
    env_ = kwire::test::read_security_env(file);
    ASSERT_FALSE(env_["sasl_plaintext"].empty()) << "no sasl_plaintext= line in " << file;
    lifetime_ =
        std::chrono::milliseconds(std::stoll(env_["reauth_ms"].empty() ? "0" : env_["reauth_ms"]));
    if (lifetime_ < 2s) GTEST_SKIP() << "the cluster's reauth_ms is " << lifetime_.count();
  }

  // A ready PLAIN connection over SASL_PLAINTEXT as the cluster's user.
  std::shared_ptr<kc::connection> connect(boost::asio::io_context& io, bool reauthenticate) {
    const auto address = env_["sasl_plaintext"];
    auto options = kwire::test::sasl_plain_options(address, env_["user"], env_["password"])
                       .value_or(kc::connection_options{});
    options.sasl_reauthentication = reauthenticate;
    const auto where = kwire::test::parse_bootstrap(address).at(0);
    kc::broker_endpoint endpoint{-1, where.host, static_cast<std::uint16_t>(std::stoi(where.port))};
    auto conn = kc::connection::create(io.get_executor(), endpoint, options);
    std::optional<std::error_code> result;
    conn->connect([&](std::error_code ec) { result = ec; });
    const auto deadline = steady::now() + 20s;
    while (!result && steady::now() < deadline) io.run_for(5ms);
    EXPECT_TRUE(result) << "no connection within 20 s";
    EXPECT_FALSE(result.value_or(std::error_code{})) << result->message();
    return conn;
  }

  std::map<std::string, std::string> env_;
  std::chrono::milliseconds lifetime_{0};
};

}  // namespace

TEST_F(ReauthLive, TheBrokerClosesAnExpiredSessionAndARenewedOneStays) {
  boost::asio::io_context io;
  auto renewing = connect(io, true);
  auto expiring = connect(io, false);
  ASSERT_TRUE(renewing->ready() && expiring->ready());
  request_ticker renewing_requests(io, renewing);
  request_ticker expiring_requests(io, expiring);
  renewing_requests.start();
  expiring_requests.start();
  const auto until = steady::now() + lifetime_ * 23 / 10;
  while (steady::now() < until) io.run_for(5ms);
  renewing_requests.stop();
  expiring_requests.stop();

  EXPECT_EQ(renewing_requests.failed(), 0) << renewing_requests.first_error().message();
  EXPECT_TRUE(renewing->ready()) << renewing->close_reason().message();
  EXPECT_GE(renewing->reauthentications(), 2u);
  EXPECT_GT(renewing_requests.answered(), 10);

  EXPECT_EQ(expiring->reauthentications(), 0u);
  EXPECT_EQ(expiring->current_state(), kc::connection::state::closed);
  ASSERT_EQ(expiring_requests.failed(), 1);
  EXPECT_EQ(expiring_requests.first_error(), kc::make_error_code(kc::errc::connection_closed))
      << expiring_requests.first_error().message();
  // Closed at the first request after the session's end, not before it.
  EXPECT_GE(expiring_requests.failed_after(), lifetime_ * 9 / 10);
  EXPECT_LE(expiring_requests.failed_after(), lifetime_ + 3s);
  std::cout << "renewed: " << renewing->reauthentications() << " re-authentications, "
            << renewing_requests.answered() << " requests answered; expired: closed by the broker "
            << expiring_requests.failed_after().count() << " ms after the session began ("
            << expiring_requests.answered() << " requests answered before)\n";

  renewing->close();
  expiring->close();
  io.run_for(50ms);
}
