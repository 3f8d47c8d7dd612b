// The Kerberos login of a GSSAPI client, as librdkafka does it: sasl.kerberos.kinit.cmd (a
// shell command, with %{sasl.kerberos.keytab} and %{sasl.kerberos.principal} replaced) fills
// the ticket cache (KRB5CCNAME) before the first connection and again, before a connection
// authenticates, once sasl.kerberos.min.time.before.relogin has passed since the last run.
// libsasl2 then takes the tickets from that cache.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "kwire/client/config.hpp"

namespace kwire::client::detail {

// The command with the two placeholders replaced; empty when the command is empty or "none"
// (no kinit: the ticket cache is the caller's).
std::string kinit_command(const common_config& config);

// Runs `command` with /bin/sh -c, at most `bound` (then it is killed). nullopt on exit 0;
// otherwise why, with the last lines it printed.
std::optional<std::string> run_command(const std::string& command, std::chrono::milliseconds bound);

// One client's kinit runs; shared by its connections, each of which may call refresh().
class kerberos_login {
 public:
  kerberos_login(std::string command, std::chrono::milliseconds relogin_interval)
      : command_(std::move(command)), relogin_interval_(relogin_interval) {}

  // Runs the command unless it ran successfully less than the relogin interval ago (or
  // ever, with an interval of 0). nullopt when the cache is fresh; else why not.
  std::optional<std::string> refresh();

 private:
  const std::string command_;
  const std::chrono::milliseconds relogin_interval_;
  std::mutex mutex_;
  std::optional<std::chrono::steady_clock::time_point> last_success_;
};

}  // namespace kwire::client::detail
