#include "kwire/connector/restart_strategy.hpp"

namespace kwire::connector {

fixed_delay_restart::decision fixed_delay_restart::on_failure() noexcept {
  if (made_ >= attempts_) return {false, std::chrono::milliseconds(0), made_};
  ++made_;
  return {true, delay_, made_};
}

std::string fixed_delay_restart::describe_exhausted(const std::string& cause) const {
  return "giving up after " + std::to_string(made_) + (made_ == 1 ? " restart" : " restarts") +
         " (the fixed-delay strategy allows " + std::to_string(attempts_) + "): " + cause;
}

std::optional<std::string> restart_problem(std::int32_t attempts, std::chrono::milliseconds delay) {
  if (attempts < 0) return "restart attempts must be >= 0, got " + std::to_string(attempts);
  if (delay.count() < 0)
    return "the restart delay must be >= 0 ms, got " + std::to_string(delay.count());
  return std::nullopt;
}

}  // namespace kwire::connector
