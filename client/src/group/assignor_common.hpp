// Helpers the built-in assignors share (private to client/src).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kwire/client/assignor.hpp"

namespace kwire::client::detail {

// Java's AbstractPartitionAssignor.MemberInfo order: static members (group.instance.id)
// first, by instance id, then dynamic members by member id. Member ids break ties so the
// order is total.
inline bool java_member_order(const member_subscription* a, const member_subscription* b) {
  if (a->group_instance_id && b->group_instance_id) {
    if (*a->group_instance_id != *b->group_instance_id) {
      return *a->group_instance_id < *b->group_instance_id;
    }
    return a->member_id < b->member_id;
  }
  if (a->group_instance_id || b->group_instance_id) return a->group_instance_id.has_value();
  return a->member_id < b->member_id;
}

inline bool subscribes_to(const member_subscription& member, std::string_view topic) {
  return std::find(member.topics.begin(), member.topics.end(), topic) != member.topics.end();
}

// Partitions of the topic the assignors may hand out; 0 for topics the metadata does not
// know (Java skips them, and topics with no partitions, the same way).
inline std::int32_t assignable_partitions(const topic_partition_counts& counts,
                                          std::string_view topic) {
  const auto it = counts.find(topic);
  return it == counts.end() ? 0 : std::max<std::int32_t>(it->second, 0);
}

// Every member present, each with nothing yet.
inline group_assignment empty_assignment(const std::vector<member_subscription>& members) {
  group_assignment assignment;
  for (const auto& member : members) assignment[member.member_id];
  return assignment;
}

inline void sort_partitions(group_assignment& assignment) {
  for (auto& [member, entry] : assignment)
    std::sort(entry.partitions.begin(), entry.partitions.end());
}

}  // namespace kwire::client::detail
