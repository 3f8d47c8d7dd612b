// Exponential backoff with jitter, as the Java client does for reconnects and retries: the
// base doubles per attempt up to the maximum, then +-20% jitter so that many clients that
// failed together do not retry in lockstep.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace kwire::client::detail {

template <class Random>
std::chrono::milliseconds jittered_backoff(std::chrono::milliseconds base,
                                           std::chrono::milliseconds max, int attempt,
                                           Random& random) {
  auto ms = base.count();
  for (int i = 1; i < attempt && ms < max.count(); ++i) ms *= 2;
  ms = std::min<std::int64_t>(ms, max.count());
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(ms) * jitter(random)));
}

}  // namespace kwire::client::detail
