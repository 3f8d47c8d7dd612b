// When to re-authenticate a SASL session (KIP-368). The broker's last SaslAuthenticate
// response gives the session's lifetime (connections.max.reauth.ms, or less when the
// credential expires sooner); after it the broker closes the connection at its next request.
// The Java client re-authenticates at a random point between 85% and 95% of the lifetime, so
// that the connections of one client (and of many clients started together) spread out
// instead of re-authenticating at once; kwire does the same.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace kwire::client::detail {

inline constexpr double reauthentication_earliest = 0.85;
inline constexpr double reauthentication_latest = 0.95;

// The delay from the end of an authentication to the start of the next one; nullopt for a
// lifetime of 0 (the broker sets no limit: never).
template <class Random>
std::optional<std::chrono::milliseconds> reauthentication_delay(
    std::chrono::milliseconds session_lifetime, Random& random) {
  if (session_lifetime.count() <= 0) return std::nullopt;
  std::uniform_real_distribution<double> share(reauthentication_earliest, reauthentication_latest);
  const auto ms =
      static_cast<std::int64_t>(static_cast<double>(session_lifetime.count()) * share(random));
  return std::chrono::milliseconds(std::max<std::int64_t>(ms, 1));
}

}  // namespace kwire::client::detail
