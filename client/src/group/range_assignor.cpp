// "range" (Java's RangeAssignor): per topic, the members subscribed to it in MemberInfo
// order each take a consecutive range; the first count % members take one extra. Java's
// rack-aware variant needs replica racks, which topic_partition_counts does not carry, so
// this is the assignment Java makes when no rack matching applies.
#include <set>

#include "group/assignor_common.hpp"
#include "group/builtin_assignors.hpp"

namespace kwire::client::detail {

group_assignment range_assignor::assign(const topic_partition_counts& partitions,
                                        const std::vector<member_subscription>& members) const {
  group_assignment assignment = empty_assignment(members);
  std::set<std::string_view> topics;
  for (const auto& member : members) topics.insert(member.topics.begin(), member.topics.end());

  std::vector<const member_subscription*> consumers;
  for (std::string_view topic : topics) {
    const std::int32_t count = assignable_partitions(partitions, topic);
    if (count == 0) continue;
    consumers.clear();
    for (const auto& member : members) {
      if (subscribes_to(member, topic)) consumers.push_back(&member);
    }
    std::sort(consumers.begin(), consumers.end(), java_member_order);
    const auto consumer_count = static_cast<std::int32_t>(consumers.size());
    const std::int32_t per_consumer = count / consumer_count;
    const std::int32_t with_extra = count % consumer_count;
    for (std::int32_t i = 0; i < consumer_count; ++i) {
      const std::int32_t start = per_consumer * i + std::min(i, with_extra);
      const std::int32_t length = per_consumer + (i < with_extra ? 1 : 0);
      auto& target = assignment[consumers[static_cast<std::size_t>(i)]->member_id].partitions;
      for (std::int32_t p = start; p < start + length; ++p)
        target.push_back({std::string(topic), p});
    }
  }
  sort_partitions(assignment);
  return assignment;
}

}  // namespace kwire::client::detail
