// Properties of a consumer-group assignment, checked the same way for kwire's and Java's
// output (unit tests and tests/interop/xcheck_assignors.cpp). Each returns a list of
// violations in words; empty means the property holds.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kwire/client/assignor.hpp"

namespace kwire::test {

using client::group_assignment;
using client::member_subscription;
using client::topic_partition;
using client::topic_partition_counts;

inline std::string to_string(const topic_partition& tp) {
  return tp.topic + "-" + std::to_string(tp.partition);
}

inline bool subscribes(const member_subscription& member, const std::string& topic) {
  return std::find(member.topics.begin(), member.topics.end(), topic) != member.topics.end();
}

inline bool contains_partition(const std::vector<topic_partition>& partitions,
                               const topic_partition& tp) {
  return std::find(partitions.begin(), partitions.end(), tp) != partitions.end();
}

inline bool exists(const topic_partition_counts& counts, const topic_partition& tp) {
  const auto it = counts.find(tp.topic);
  return it != counts.end() && tp.partition >= 0 && tp.partition < it->second;
}

// Every input member present and no other; partitions exist, go to subscribers, once.
inline std::vector<std::string> validity_violations(const topic_partition_counts& counts,
                                                    const std::vector<member_subscription>& members,
                                                    const group_assignment& assignment) {
  std::vector<std::string> violations;
  std::map<std::string, const member_subscription*> by_id;
  for (const auto& member : members) by_id[member.member_id] = &member;
  for (const auto& [id, member] : by_id) {
    if (!assignment.contains(id)) violations.push_back("member " + id + " missing");
  }
  std::set<topic_partition> seen;
  for (const auto& [id, entry] : assignment) {
    const auto member = by_id.find(id);
    if (member == by_id.end()) {
      violations.push_back("unknown member " + id);
      continue;
    }
    for (const auto& tp : entry.partitions) {
      if (!exists(counts, tp)) violations.push_back(id + " got nonexistent " + to_string(tp));
      if (!subscribes(*member->second, tp.topic))
        violations.push_back(id + " got unsubscribed " + to_string(tp));
      if (!seen.insert(tp).second) violations.push_back(to_string(tp) + " assigned twice");
    }
  }
  return violations;
}

// Every partition of a subscribed topic is assigned, except (cooperative) those some
// member claims and does not keep: those wait for the follow-up rebalance.
inline std::vector<std::string> completeness_violations(
    const topic_partition_counts& counts, const std::vector<member_subscription>& members,
    const group_assignment& assignment, bool cooperative) {
  std::set<topic_partition> assigned;
  for (const auto& [id, entry] : assignment)
    assigned.insert(entry.partitions.begin(), entry.partitions.end());
  std::set<topic_partition> claimed;
  for (const auto& member : members)
    claimed.insert(member.owned_partitions.begin(), member.owned_partitions.end());
  std::set<std::string> topics;
  for (const auto& member : members) topics.insert(member.topics.begin(), member.topics.end());
  std::vector<std::string> violations;
  for (const auto& topic : topics) {
    const auto it = counts.find(topic);
    if (it == counts.end()) continue;
    for (std::int32_t p = 0; p < it->second; ++p) {
      const topic_partition tp{topic, p};
      if (assigned.contains(tp)) continue;
      if (cooperative && claimed.contains(tp)) continue;
      violations.push_back(to_string(tp) + " not assigned");
    }
  }
  return violations;
}

// Java's notion of balance (AbstractStickyAssignor.isBalanced): no partition could move
// to a subscriber holding 2+ fewer than its owner. With equal subscriptions this is
// "counts within one".
inline std::vector<std::string> balance_violations(const std::vector<member_subscription>& members,
                                                   const group_assignment& assignment) {
  std::map<topic_partition, std::string> owner;
  for (const auto& [id, entry] : assignment) {
    for (const auto& tp : entry.partitions) owner[tp] = id;
  }
  const auto load = [&](const std::string& id) { return assignment.at(id).partitions.size(); };
  std::vector<std::string> violations;
  for (const auto& member : members) {
    for (const auto& [tp, id] : owner) {
      if (id != member.member_id && subscribes(member, tp.topic) &&
          load(member.member_id) + 1 < load(id)) {
        violations.push_back(to_string(tp) + " could move from " + id + " (" +
                             std::to_string(load(id)) + ") to " + member.member_id + " (" +
                             std::to_string(load(member.member_id)) + ")");
        break;
      }
    }
  }
  return violations;
}

// Stickiness: a partition its owner still subscribes to moved to a member that ended with
// more partitions than the owner; giving it back would have been as balanced.
inline std::vector<std::string> stickiness_violations(
    const std::vector<member_subscription>& members, const group_assignment& assignment) {
  std::map<topic_partition, std::string> owner;
  for (const auto& [id, entry] : assignment) {
    for (const auto& tp : entry.partitions) owner[tp] = id;
  }
  std::map<topic_partition, int> claims;
  for (const auto& member : members) {
    for (const auto& tp : member.owned_partitions) ++claims[tp];
  }
  const auto load = [&](const std::string& id) { return assignment.at(id).partitions.size(); };
  std::vector<std::string> violations;
  for (const auto& member : members) {
    for (const auto& tp : member.owned_partitions) {
      if (claims[tp] != 1 || !subscribes(member, tp.topic)) continue;  // contested or unsubscribed
      const auto it = owner.find(tp);
      if (it == owner.end() || it->second == member.member_id) continue;
      if (load(member.member_id) < load(it->second)) {
        violations.push_back(to_string(tp) + " moved from " + member.member_id + " (" +
                             std::to_string(load(member.member_id)) + ") to " + it->second + " (" +
                             std::to_string(load(it->second)) + ")");
      }
    }
  }
  return violations;
}

// The next round of a cooperative rebalance: every member owns what it was given, one
// generation later (kwire's group code runs this round when something was held back).
inline std::vector<member_subscription> next_round(const std::vector<member_subscription>& members,
                                                   const group_assignment& assignment) {
  std::vector<member_subscription> next = members;
  std::int32_t generation = -1;
  for (const auto& member : members) generation = std::max(generation, member.generation_id);
  for (auto& member : next) {
    member.owned_partitions = assignment.at(member.member_id).partitions;
    member.generation_id = generation + 1;
  }
  return next;
}

}  // namespace kwire::test
