// What a job does when it fails: Flink's fixed-delay restart strategy. Each failure restarts
// the job from its latest completed checkpoint after `delay`, up to `attempts` restarts in
// the job's life; the failure after that ends the job (the CLI exits 1 naming the cause).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace kwire::connector {

class fixed_delay_restart {
 public:
  struct decision {
    bool restart = false;
    std::chrono::milliseconds delay{0};
    std::int32_t attempt = 0;  // 1 for the first restart; with restart false, those made
  };

  fixed_delay_restart(std::int32_t attempts, std::chrono::milliseconds delay) noexcept
      : attempts_(attempts), delay_(delay) {}

  // Records a failure and says whether to restart.
  decision on_failure() noexcept;

  std::int32_t attempts_made() const noexcept { return made_; }
  std::int32_t attempts_allowed() const noexcept { return attempts_; }
  // "giving up after 3 restarts: CAUSE" for the final error message.
  std::string describe_exhausted(const std::string& cause) const;

 private:
  std::int32_t attempts_;
  std::chrono::milliseconds delay_;
  std::int32_t made_ = 0;
};

// What is wrong with the settings ("restart attempts must be >= 0, got -1"), or nullopt.
std::optional<std::string> restart_problem(std::int32_t attempts, std::chrono::milliseconds delay);

}  // namespace kwire::connector
