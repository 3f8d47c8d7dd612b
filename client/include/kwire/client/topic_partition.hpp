// One partition of one topic: the name every client API (admin, consumer, assignors) uses,
// defined once so that a program may include all of their headers together.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace kwire::client {

struct topic_partition {
  std::string topic;
  std::int32_t partition = -1;
  auto operator<=>(const topic_partition&) const = default;
};

}  // namespace kwire::client
