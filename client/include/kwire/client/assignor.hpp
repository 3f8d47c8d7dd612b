// Consumer group partition assignment (classic protocol): the interface the group leader
// runs, and the assignors Java ships, by the names `partition.assignment.strategy` takes
// ("range", "roundrobin", "cooperative-sticky"; Java's class names are accepted too).
//
// The leader gets every member's subscription (decoded from ConsumerProtocolSubscription)
// and the partition count of every subscribed topic; it returns each member's partitions
// (encoded into ConsumerProtocolAssignment by the group code). An assignor is pure: no I/O,
// same input, same output.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/client/topic_partition.hpp"

namespace kwire::client {

// How members give up partitions in a rebalance: eager revokes everything before the
// join; cooperative (KIP-429) revokes only what moves, in a second round.
enum class rebalance_protocol : std::uint8_t { eager, cooperative };

struct member_subscription {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // static membership (KIP-345)
  std::vector<std::string> topics;
  std::vector<std::uint8_t> user_data;
  std::vector<topic_partition> owned_partitions;  // what the member holds now (v1+)
  std::int32_t generation_id = -1;                // generation it got them in (v2+); -1 unknown
  std::optional<std::string> rack_id;             // client.rack (v3+)
};

struct member_assignment {
  std::vector<topic_partition> partitions;  // sorted by topic, then partition
  std::vector<std::uint8_t> user_data;
};

// Partition count of every topic some member subscribes to (topics the leader's metadata
// does not know are left out; their members get nothing of them).
using topic_partition_counts = std::map<std::string, std::int32_t, std::less<>>;
// member_id -> assignment; every member of the input appears, possibly with nothing.
using group_assignment = std::map<std::string, member_assignment, std::less<>>;

class partition_assignor {
 public:
  virtual ~partition_assignor() = default;
  // The protocol name sent in JoinGroup ("range", "roundrobin", "cooperative-sticky").
  virtual std::string_view name() const noexcept = 0;
  // Protocols the assignor supports; the group uses cooperative only when every assignor
  // configured supports it (as Java's ConsumerCoordinator decides).
  virtual std::vector<rebalance_protocol> supported_protocols() const {
    return {rebalance_protocol::eager};
  }
  // user_data this member puts in its subscription. `generation_id` is the generation of
  // the member's last assignment (-1 before its first). Empty for range and roundrobin;
  // cooperative-sticky writes the generation there (an int32), as Java does, for leaders
  // that read ConsumerProtocolSubscription below v2 (no GenerationId field).
  virtual std::vector<std::uint8_t> subscription_user_data(
      const std::vector<std::string>& /*topics*/, std::int32_t /*generation_id*/) const {
    return {};
  }
  virtual group_assignment assign(const topic_partition_counts& partitions,
                                  const std::vector<member_subscription>& members) const = 0;
};

// The built-in assignor of that name (short or Java class name), or nullptr when unknown.
std::unique_ptr<partition_assignor> make_assignor(std::string_view name);

}  // namespace kwire::client
