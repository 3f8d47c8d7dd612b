#include "kwire/client/assignor.hpp"

#include "group/builtin_assignors.hpp"

namespace kwire::client {

std::unique_ptr<partition_assignor> make_assignor(std::string_view name) {
  if (name == "range" || name == "org.apache.kafka.clients.consumer.RangeAssignor") {
    return std::make_unique<detail::range_assignor>();
  }
  if (name == "roundrobin" || name == "org.apache.kafka.clients.consumer.RoundRobinAssignor") {
    return std::make_unique<detail::round_robin_assignor>();
  }
  if (name == "cooperative-sticky" ||
      name == "org.apache.kafka.clients.consumer.CooperativeStickyAssignor") {
    return std::make_unique<detail::cooperative_sticky_assignor>();
  }
  return nullptr;
}

}  // namespace kwire::client
