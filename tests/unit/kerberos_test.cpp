// The Kerberos login pieces that need no KDC: the kinit command's placeholders, running a
// command with a bound, the relogin interval, and the GSSAPI mechanism without a ticket.
// (Against a real KDC: tests/integration/cli_gssapi.sh.)
#include "core/kerberos.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/sasl_authenticator.hpp"
#include "kwire/client/error.hpp"
#include "kwire/security/error.hpp"
#include "kwire/security/gssapi.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace ks = kwire::security;
using namespace std::chrono_literals;

namespace {

TEST(Kerberos, KinitCommandReplacesBothPlaceholdersEverywhere) {
  kc::common_config config;
  config.sasl_kerberos_keytab = "/etc/k.keytab";
  config.sasl_kerberos_principal = "alice@EXAMPLE.COM";
  EXPECT_EQ(kd::kinit_command(config),
            "kinit -R -t \"/etc/k.keytab\" -k alice@EXAMPLE.COM || "
            "kinit -t \"/etc/k.keytab\" -k alice@EXAMPLE.COM");
  config.sasl_kerberos_kinit_cmd = "none";
  EXPECT_EQ(kd::kinit_command(config), "");
  config.sasl_kerberos_kinit_cmd = "";
  EXPECT_EQ(kd::kinit_command(config), "");
}

TEST(Kerberos, RunCommandReportsTheExitStatusAndTheLastLines) {
  EXPECT_FALSE(kd::run_command("true", 5s));
  const auto error = kd::run_command("echo one; echo two >&2; echo three; exit 3", 5s);
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, "exit 3: two; three");
}

TEST(Kerberos, RunCommandKillsWhatOutlivesTheBound) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto error = kd::run_command("sleep 20", 200ms);
  ASSERT_TRUE(error);
  EXPECT_EQ(*error, "did not finish within 200 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

class KerberosLogin : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kwire-kerberos-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A command that appends a line to a file per run.
  std::string counting_command() const { return "echo run >>" + (dir_ / "runs").string(); }
  int runs() const {
    std::ifstream in(dir_ / "runs");
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  std::filesystem::path dir_;
};

TEST_F(KerberosLogin, RunsOnceWithinTheReloginIntervalAndAgainAfterIt) {
  kd::kerberos_login login(counting_command(), 300ms);
  EXPECT_FALSE(login.refresh());
  EXPECT_FALSE(login.refresh());
  EXPECT_EQ(runs(), 1);
  std::this_thread::sleep_for(350ms);
  EXPECT_FALSE(login.refresh());
  EXPECT_EQ(runs(), 2);
}

TEST_F(KerberosLogin, AnIntervalOfZeroRunsOnlyOnceAndAFailureIsTriedAgain) {
  kd::kerberos_login once(counting_command(), 0ms);
  EXPECT_FALSE(once.refresh());
  EXPECT_FALSE(once.refresh());
  EXPECT_EQ(runs(), 1);
  kd::kerberos_login failing(counting_command() + "; exit 1", 60s);
  EXPECT_TRUE(failing.refresh());
  EXPECT_TRUE(failing.refresh());
  EXPECT_EQ(runs(), 3);
  kd::kerberos_login none("", 60s);
  EXPECT_FALSE(none.refresh());
}

// Kerberos with an empty ticket cache and no KDC: the mechanism fails at its first step with
// gssapi_failed and Kerberos' reason, never with a token.
TEST(Gssapi, WithoutATicketTheFirstStepFailsWithTheReason) {
  const auto cache =
      std::filesystem::temp_directory_path() / ("kwire-no-ccache-" + std::to_string(::getpid()));
  std::filesystem::remove(cache);
  const std::string ccache = "FILE:" + cache.string();
  const char* previous = std::getenv("KRB5CCNAME");
  const std::string saved = previous ? previous : "";
  ::setenv("KRB5CCNAME", ccache.c_str(), 1);
  ks::gssapi_client client("kafka", "127.0.0.1");
  std::vector<std::uint8_t> out{1, 2, 3};
  EXPECT_EQ(client.initial_response(out), ks::make_error_code(ks::errc::gssapi_failed));
  EXPECT_FALSE(client.detail().empty());
  EXPECT_FALSE(client.is_complete());
  EXPECT_EQ(client.evaluate_challenge({}, out), ks::make_error_code(ks::errc::out_of_order));
  if (previous)
    ::setenv("KRB5CCNAME", saved.c_str(), 1);
  else
    ::unsetenv("KRB5CCNAME");
}

TEST(Gssapi, AnAuthenticatorRunsKinitFirstAndReportsItsFailureAsKerberosFailed) {
  kc::common_config config;
  config.security = kc::security_protocol::sasl_plaintext;
  config.sasl_kerberos_kinit_cmd = "echo no keytab here >&2; exit 1";
  std::shared_ptr<const kd::sasl_settings> settings;
  ASSERT_FALSE(kd::make_sasl_settings(config, settings));
  kd::sasl_authenticator auth(settings, "127.0.0.1");
  EXPECT_EQ(auth.handshake_request().mechanism, "GSSAPI");
  kwire::protocol::SaslHandshakeResponse ok;
  ok.mechanisms = {"GSSAPI"};
  const auto step = auth.on_handshake(ok);
  EXPECT_EQ(step.error, kc::make_error_code(kc::errc::kerberos_failed));
  EXPECT_NE(step.message.find("sasl.kerberos.kinit.cmd failed: exit 1: no keytab here"),
            std::string::npos)
      << step.message;
  EXPECT_FALSE(step.request);
}

}  // namespace
