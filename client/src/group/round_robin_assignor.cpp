// "roundrobin" (Java's RoundRobinAssignor): every subscribed partition, sorted by topic
// then partition, goes to the next member in MemberInfo order, skipping members that do
// not subscribe to its topic.
#include <set>

#include "group/assignor_common.hpp"
#include "group/builtin_assignors.hpp"

namespace kwire::client::detail {

group_assignment round_robin_assignor::assign(
    const topic_partition_counts& partitions,
    const std::vector<member_subscription>& members) const {
  group_assignment assignment = empty_assignment(members);
  if (members.empty()) return assignment;
  std::vector<const member_subscription*> ring;
  for (const auto& member : members) ring.push_back(&member);
  std::sort(ring.begin(), ring.end(), java_member_order);

  std::set<std::string_view> topics;
  for (const auto& member : members) topics.insert(member.topics.begin(), member.topics.end());

  std::size_t next = 0;
  for (std::string_view topic : topics) {
    const std::int32_t count = assignable_partitions(partitions, topic);
    for (std::int32_t p = 0; p < count; ++p) {
      // Someone subscribes to every topic in `topics`, so this stops within one lap.
      while (!subscribes_to(*ring[next], topic)) next = (next + 1) % ring.size();
      assignment[ring[next]->member_id].partitions.push_back({std::string(topic), p});
      next = (next + 1) % ring.size();
    }
  }
  sort_partitions(assignment);
  return assignment;
}

}  // namespace kwire::client::detail
