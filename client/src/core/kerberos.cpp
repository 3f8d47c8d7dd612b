#include "core/kerberos.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace kwire::client::detail {
namespace {

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

// The last two lines of a command's output: kinit's reason, without pages of it.
std::string tail_lines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  auto at = text.rfind('\n');
  if (at != std::string::npos && at > 0) at = text.rfind('\n', at - 1);
  if (at != std::string::npos) text.erase(0, at + 1);
  replace_all(text, "\n", "; ");
  return text;
}

}  // namespace

std::string kinit_command(const common_config& config) {
  std::string command = config.sasl_kerberos_kinit_cmd;
  if (command == "none") return {};
  replace_all(command, "%{sasl.kerberos.keytab}", config.sasl_kerberos_keytab.value_or(""));
  replace_all(command, "%{sasl.kerberos.principal}", config.sasl_kerberos_principal);
  return command;
}

std::optional<std::string> run_command(const std::string& command,
                                       std::chrono::milliseconds bound) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    return std::string("cannot start /bin/sh: ") + std::strerror(spawned);
  }
  // Read its output until it closes the pipe or the bound passes.
  std::string output;
  const auto deadline = std::chrono::steady_clock::now() + bound;
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends it
    char buffer[4096];
    const auto n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 64 * 1024) output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return "did not finish within " + std::to_string(bound.count()) + " ms";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
  std::string why = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status));
  const auto said = tail_lines(std::move(output));
  return said.empty() ? why : why + ": " + said;
}

std::optional<std::string> kerberos_login::refresh() {
  if (command_.empty()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (last_success_ && (relogin_interval_.count() == 0 || now - *last_success_ < relogin_interval_))
    return std::nullopt;
  // kinit gives up on an unreachable KDC by itself; the bound is for anything else.
  auto error = run_command(command_, std::chrono::seconds(30));
  if (!error) last_success_ = now;
  return error;
}

}  // namespace kwire::client::detail
