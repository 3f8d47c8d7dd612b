// "cooperative-sticky" (Java's CooperativeStickyAssignor over AbstractStickyAssignor):
// balanced (member counts within one where subscriptions allow), sticky to what members
// own, and cooperative: a partition that changes owner is left out of this round's
// assignment, so its old owner revokes it first and a follow-up rebalance hands it over.
//
// The steps follow Java's so that the same input mostly gives the same output:
//  1. Ownership claims: a partition claimed by two members of the same generation is
//     invalid for both; between generations the newer claim wins. Claims on topics no one
//     subscribes to (or the metadata lacks) are dropped.
//  2. Every member subscribes to the same topics: the "constrained" fill (keep owned
//     partitions up to the quota, then round-robin the rest over under-filled members).
//  3. Otherwise the "general" algorithm: keep valid owned partitions, hand out the rest to
//     the least loaded subscriber, then move partitions from members with 2+ more than
//     another subscriber until balanced, preferring a partition's previous owner and
//     undoing earlier moves rather than making new ones.
// Where Java walks a HashMap (member order, which of several equivalent partitions moves),
// kwire walks members by member id and partitions in sorted order, so a few inputs give a
// different, equally balanced and sticky, assignment. Rack matching is not done: it needs
// replica racks, which topic_partition_counts does not carry.
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "group/assignor_common.hpp"
#include "group/builtin_assignors.hpp"

namespace kwire::client::detail {
namespace {

constexpr std::int32_t unknown_generation = -1;

using member_index = std::size_t;
using partition_owner = std::map<topic_partition, member_index>;

// The generation a member's claims date from: the v2+ field, or the int32 Java's
// cooperative-sticky puts in user_data for older subscriptions.
std::int32_t claimed_generation(const member_subscription& member) {
  if (member.generation_id >= 0) return member.generation_id;
  if (member.user_data.size() < 4) return unknown_generation;
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | member.user_data[i];
  return static_cast<std::int32_t>(value);
}

void erase_partition(std::vector<topic_partition>& partitions, const topic_partition& tp) {
  partitions.erase(std::remove(partitions.begin(), partitions.end(), tp), partitions.end());
}

bool contains(const std::vector<topic_partition>& partitions, const topic_partition& tp) {
  return std::find(partitions.begin(), partitions.end(), tp) != partitions.end();
}

// The input, indexed by member in member-id order, with ownership claims resolved.
struct sticky_state {
  std::vector<const member_subscription*> members;
  std::vector<std::set<std::string, std::less<>>> topics;  // subscribed, assignable or not
  std::vector<std::int32_t> generations;
  std::map<std::string, std::int32_t, std::less<>> assignable;  // subscribed and in metadata
  std::vector<std::vector<topic_partition>> owned;              // valid claims
  std::set<topic_partition> claimed_by_several;                 // same-generation conflicts
  std::int32_t max_generation = unknown_generation;
  bool same_subscriptions = true;

  sticky_state(const topic_partition_counts& counts,
               const std::vector<member_subscription>& input) {
    for (const auto& member : input) members.push_back(&member);
    std::sort(members.begin(), members.end(),
              [](const member_subscription* a, const member_subscription* b) {
                return a->member_id < b->member_id;
              });
    for (const auto* member : members) {
      topics.emplace_back(member->topics.begin(), member->topics.end());
      generations.push_back(claimed_generation(*member));
      max_generation = std::max(max_generation, generations.back());
      for (const auto& topic : member->topics) {
        if (const std::int32_t count = assignable_partitions(counts, topic); count > 0)
          assignable[topic] = count;
      }
      if (topics.back() != topics.front()) same_subscriptions = false;
    }
    resolve_claims();
  }

  bool assignable_partition(const topic_partition& tp) const {
    const auto it = assignable.find(tp.topic);
    return it != assignable.end() && tp.partition >= 0 && tp.partition < it->second;
  }

  void resolve_claims() {
    owned.resize(members.size());
    partition_owner claimant;
    for (member_index m = 0; m < members.size(); ++m) {
      for (const auto& tp : members[m]->owned_partitions) {
        if (!assignable_partition(tp) || contains(owned[m], tp)) continue;
        const auto [it, first_claim] = claimant.try_emplace(tp, m);
        if (first_claim) {
          owned[m].push_back(tp);
          continue;
        }
        const member_index other = it->second;
        if (other == m) continue;
        if (generations[m] == generations[other]) {
          claimed_by_several.insert(tp);
          erase_partition(owned[other], tp);
          it->second = m;
        } else if (generations[m] > generations[other]) {
          owned[m].push_back(tp);
          erase_partition(owned[other], tp);
          it->second = m;
        }
      }
    }
  }

  // All assignable partitions, topics in name order.
  std::vector<topic_partition> all_partitions() const {
    std::vector<topic_partition> all;
    for (const auto& [topic, count] : assignable) {
      for (std::int32_t p = 0; p < count; ++p) all.push_back({topic, p});
    }
    return all;
  }
};

struct sticky_result {
  std::vector<std::vector<topic_partition>> assignment;
  // partition -> member it goes to while another member still owns it (cooperative: held back)
  std::map<topic_partition, member_index> transferring;
};

// Every member subscribes to the same topics: Java's ConstrainedAssignmentBuilder.
sticky_result constrained_assign(const sticky_state& state) {
  const std::size_t member_count = state.members.size();
  sticky_result result;
  result.assignment.resize(member_count);
  const std::vector<topic_partition> all = state.all_partitions();
  const std::size_t min_quota = all.size() / member_count;
  const std::size_t max_quota = (all.size() + member_count - 1) / member_count;
  const std::size_t expected_over_min = all.size() % member_count;
  std::size_t current_over_min = 0;

  std::set<topic_partition> assigned;
  std::set<topic_partition> revoked;
  std::vector<member_index> under_min;
  std::deque<member_index> exactly_min;  // may still take one more (up to max_quota)

  for (member_index m = 0; m < member_count; ++m) {
    std::vector<topic_partition> owned;
    for (const auto& tp : state.owned[m]) {
      if (!state.claimed_by_several.contains(tp)) owned.push_back(tp);
    }
    // Java keeps the owned partitions with the lowest numbers first, across topics.
    std::sort(owned.begin(), owned.end(), [](const topic_partition& a, const topic_partition& b) {
      return std::tie(a.partition, a.topic) < std::tie(b.partition, b.topic);
    });
    std::size_t keep = owned.size();
    if (owned.size() < min_quota) {
      under_min.push_back(m);
    } else if (owned.size() >= max_quota && current_over_min < expected_over_min) {
      keep = max_quota;
      if (++current_over_min == expected_over_min) exactly_min.clear();
    } else {
      keep = min_quota;
      if (current_over_min < expected_over_min) exactly_min.push_back(m);
    }
    for (std::size_t i = 0; i < owned.size(); ++i) {
      if (i < keep) {
        result.assignment[m].push_back(owned[i]);
        assigned.insert(owned[i]);
      } else {
        revoked.insert(owned[i]);
      }
    }
  }

  // Round-robin the rest over the members under min_quota, then one more each to members
  // at min_quota while the number of members above it is short.
  std::size_t cursor = 0;
  for (const auto& tp : all) {
    if (assigned.contains(tp)) continue;
    member_index m = 0;
    bool from_under_min = true;
    if (cursor < under_min.size()) {
      m = under_min[cursor];
    } else if (!under_min.empty()) {
      cursor = 0;
      m = under_min[cursor];
    } else if (!exactly_min.empty()) {
      m = exactly_min.front();
      exactly_min.pop_front();
      from_under_min = false;
    } else {
      break;  // quotas add up to the partition count: not reached
    }
    result.assignment[m].push_back(tp);
    if (revoked.contains(tp) || state.claimed_by_several.contains(tp)) result.transferring[tp] = m;
    if (from_under_min) {
      if (result.assignment[m].size() == min_quota) {
        under_min.erase(under_min.begin() + static_cast<std::ptrdiff_t>(cursor));
        exactly_min.push_back(m);
      } else {
        ++cursor;
      }
    }
  }
  return result;
}

// Java's PartitionMovements: the moves made so far per topic, so that moving a partition
// back undoes an earlier move instead of starting a chain of new ones.
class partition_movements {
 public:
  // The partition to move so that `tp`'s move from `from` to `to` stays sticky.
  topic_partition partition_to_move(const topic_partition& tp, member_index from,
                                    member_index to) const {
    const auto topic_moves = by_topic_.find(tp.topic);
    if (topic_moves == by_topic_.end()) return tp;
    if (const auto earlier = moves_.find(tp); earlier != moves_.end()) from = earlier->second.first;
    const auto reverse = topic_moves->second.find({to, from});
    if (reverse == topic_moves->second.end()) return tp;
    return *reverse->second.begin();
  }

  void record(const topic_partition& tp, member_index from, member_index to) {
    if (const auto earlier = moves_.find(tp); earlier != moves_.end()) {
      const member_index original = earlier->second.first;
      forget(tp);
      if (original != to) add(tp, original, to);
    } else {
      add(tp, from, to);
    }
  }

 private:
  using member_pair = std::pair<member_index, member_index>;

  void add(const topic_partition& tp, member_index from, member_index to) {
    moves_[tp] = {from, to};
    by_topic_[tp.topic][{from, to}].insert(tp);
  }

  void forget(const topic_partition& tp) {
    const member_pair pair = moves_.at(tp);
    moves_.erase(tp);
    auto& topic_moves = by_topic_.at(tp.topic);
    auto& partitions = topic_moves.at(pair);
    partitions.erase(tp);
    if (partitions.empty()) topic_moves.erase(pair);
    if (topic_moves.empty()) by_topic_.erase(tp.topic);
  }

  std::map<topic_partition, member_pair> moves_;
  std::map<std::string, std::map<member_pair, std::set<topic_partition>>, std::less<>> by_topic_;
};

// Members subscribe to different topics: Java's GeneralAssignmentBuilder.
class general_assigner {
 public:
  explicit general_assigner(const sticky_state& state) : state_(state) {
    const std::size_t member_count = state.members.size();
    current_.resize(member_count);
    fixed_.assign(member_count, false);
    potential_.resize(member_count);
    for (const auto& [topic, count] : state.assignable) consumers_[topic];
    for (member_index m = 0; m < member_count; ++m) {
      for (const auto& topic : state.topics[m]) {
        if (!state.assignable.contains(topic)) continue;
        potential_[m].push_back(topic);
        consumers_[topic].push_back(m);
      }
    }
    // Partitions of topics with fewer potential consumers first, then by topic name.
    std::vector<std::string> topics;
    for (const auto& [topic, count] : state.assignable) topics.push_back(topic);
    std::stable_sort(topics.begin(), topics.end(), [&](const std::string& a, const std::string& b) {
      return consumers_[a].size() < consumers_[b].size();
    });
    for (const auto& topic : topics) {
      for (std::int32_t p = 0; p < state.assignable.at(topic); ++p)
        sorted_partitions_.push_back({topic, p});
    }
  }

  std::vector<std::vector<topic_partition>> run() {
    keep_owned();
    remember_previous_owners();
    std::vector<topic_partition> unassigned;
    for (const auto& tp : sorted_partitions_) {
      if (!owner_.contains(tp)) unassigned.push_back(tp);
    }
    for (member_index m = 0; m < current_.size(); ++m) by_load_.insert({current_[m].size(), m});
    balance(unassigned);
    return current_;
  }

 private:
  void keep_owned() {
    for (member_index m = 0; m < current_.size(); ++m) {
      for (const auto& tp : state_.owned[m]) {
        if (state_.topics[m].contains(tp.topic)) {
          current_[m].push_back(tp);
          owner_[tp] = m;
        } else {
          revocation_required_ = true;  // it stopped subscribing to the topic
        }
      }
    }
  }

  // Claims from generations before the newest: a partition may go back to such an owner.
  void remember_previous_owners() {
    if (state_.max_generation == unknown_generation) return;
    for (member_index m = 0; m < state_.members.size(); ++m) {
      const std::int32_t generation = state_.generations[m];
      if (generation >= state_.max_generation) continue;
      for (const auto& tp : state_.members[m]->owned_partitions) {
        const auto [it, inserted] = previous_owner_.try_emplace(tp, m, generation);
        if (!inserted && generation > it->second.second) it->second = {m, generation};
      }
    }
  }

  std::size_t load(member_index m) const { return current_[m].size(); }

  bool can_take(member_index m, const std::string& topic) const {
    return !fixed_[m] && state_.topics[m].contains(topic);
  }

  void give(const topic_partition& tp, member_index m) {
    by_load_.erase({load(m), m});
    current_[m].push_back(tp);
    owner_[tp] = m;
    by_load_.insert({load(m), m});
  }

  void move(const topic_partition& tp, member_index to) {
    const member_index from = owner_.at(tp);
    by_load_.erase({load(from), from});
    by_load_.erase({load(to), to});
    movements_.record(tp, from, to);
    erase_partition(current_[from], tp);
    current_[to].push_back(tp);
    owner_[tp] = to;
    by_load_.insert({load(to), to});
    by_load_.insert({load(from), from});
  }

  void reassign(const topic_partition& tp, member_index to) {
    move(movements_.partition_to_move(tp, owner_.at(tp), to), to);
  }

  // To the least loaded member that subscribes to the topic.
  void reassign(const topic_partition& tp) {
    for (const auto& [count, m] : by_load_) {
      if (state_.topics[m].contains(tp.topic)) return reassign(tp, m);
    }
  }

  std::size_t max_assignment_size(member_index m) const {
    std::size_t total = 0;
    for (const auto& topic : potential_[m])
      total += static_cast<std::size_t>(state_.assignable.at(topic));
    return total;
  }

  bool topic_movable(const std::string& topic) const { return consumers_.at(topic).size() >= 2; }

  bool member_movable(member_index m) const {
    if (load(m) < max_assignment_size(m)) return true;
    return std::any_of(current_[m].begin(), current_[m].end(),
                       [&](const topic_partition& tp) { return topic_movable(tp.topic); });
  }

  // Balanced: loads within one, or no partition could move to a member with 2+ fewer.
  bool balanced() const {
    if (by_load_.empty() || by_load_.begin()->first + 1 >= by_load_.rbegin()->first) return true;
    for (const auto& [count, m] : by_load_) {
      if (count == max_assignment_size(m)) continue;
      for (const auto& topic : potential_[m]) {
        for (std::int32_t p = 0; p < state_.assignable.at(topic); ++p) {
          const auto it = owner_.find({topic, p});
          if (it == owner_.end() || it->second == m) continue;
          if (count + 1 < load(it->second)) return false;
        }
      }
    }
    return true;
  }

  // Sum of load differences over all pairs of movable members (0: perfectly even).
  std::size_t balance_score() const {
    std::size_t score = 0;
    for (auto a = by_load_.begin(); a != by_load_.end(); ++a) {
      for (auto b = std::next(a); b != by_load_.end(); ++b) score += b->first - a->first;
    }
    return score;
  }

  bool perform_reassignments(const std::vector<topic_partition>& partitions) {
    bool performed = false;
    bool modified = true;
    while (modified) {
      modified = false;
      for (const auto& tp : partitions) {
        if (balanced()) break;
        const member_index current = owner_.at(tp);
        if (const auto previous = previous_owner_.find(tp); previous != previous_owner_.end()) {
          const member_index earlier = previous->second.first;
          if (can_take(earlier, tp.topic) && load(current) > load(earlier) + 1) {
            reassign(tp, earlier);
            performed = modified = true;
            continue;
          }
        }
        for (member_index other : consumers_.at(tp.topic)) {
          if (load(current) > load(other) + 1) {
            reassign(tp);
            performed = modified = true;
            break;
          }
        }
      }
    }
    return performed;
  }

  void balance(std::vector<topic_partition> unassigned) {
    const bool initializing = by_load_.empty() || by_load_.rbegin()->first == 0;
    for (const auto& tp : unassigned) {
      for (const auto& [count, m] : by_load_) {
        if (state_.topics[m].contains(tp.topic)) {
          give(tp, m);
          break;
        }
      }
    }

    // Only partitions with 2+ potential consumers and members that could change take part.
    const auto fixed_topic = [&](const topic_partition& tp) { return !topic_movable(tp.topic); };
    std::erase_if(sorted_partitions_, fixed_topic);
    std::erase_if(unassigned, fixed_topic);
    for (member_index m = 0; m < current_.size(); ++m) {
      if (!member_movable(m)) {
        fixed_[m] = true;
        by_load_.erase({load(m), m});
      }
    }

    const auto before = current_;
    const auto owners_before = owner_;
    const auto load_before = by_load_;
    const std::size_t score_before = balance_score();
    // First try moving only partitions that had no owner, unless some owner must give up
    // a partition anyway.
    if (!revocation_required_) perform_reassignments(unassigned);
    const bool performed = perform_reassignments(sorted_partitions_);
    if (!initializing && performed && balance_score() >= score_before) {
      current_ = before;
      owner_ = owners_before;
      by_load_ = load_before;
    }
  }

  const sticky_state& state_;
  std::vector<std::vector<topic_partition>> current_;
  std::vector<bool> fixed_;
  std::vector<std::vector<std::string>> potential_;  // assignable topics per member
  std::map<std::string, std::vector<member_index>, std::less<>> consumers_;  // per assignable topic
  std::vector<topic_partition> sorted_partitions_;
  partition_owner owner_;
  std::map<topic_partition, std::pair<member_index, std::int32_t>> previous_owner_;
  std::set<std::pair<std::size_t, member_index>> by_load_;  // movable members, least loaded first
  partition_movements movements_;
  bool revocation_required_ = false;
};

// Partitions some member gets that another member claims and loses in this round.
std::map<topic_partition, member_index> changing_owner(
    const sticky_state& state, const std::vector<std::vector<topic_partition>>& assignment) {
  std::map<topic_partition, member_index> added;
  std::set<topic_partition> revoked;
  for (member_index m = 0; m < assignment.size(); ++m) {
    const auto& claimed = state.members[m]->owned_partitions;
    for (const auto& tp : assignment[m]) {
      if (!contains(claimed, tp)) added[tp] = m;
    }
    for (const auto& tp : claimed) {
      if (!contains(assignment[m], tp)) revoked.insert(tp);
    }
  }
  std::erase_if(added, [&](const auto& entry) { return !revoked.contains(entry.first); });
  return added;
}

}  // namespace

std::vector<std::uint8_t> cooperative_sticky_assignor::subscription_user_data(
    const std::vector<std::string>& /*topics*/, std::int32_t generation_id) const {
  const auto value = static_cast<std::uint32_t>(generation_id);
  return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
          static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
}

group_assignment cooperative_sticky_assignor::assign(
    const topic_partition_counts& partitions,
    const std::vector<member_subscription>& members) const {
  group_assignment assignment = empty_assignment(members);
  if (members.empty()) return assignment;
  const sticky_state state(partitions, members);
  sticky_result result;
  if (state.same_subscriptions) {
    result = constrained_assign(state);
  } else {
    result.assignment = general_assigner(state).run();
    result.transferring = changing_owner(state, result.assignment);
  }
  for (const auto& [tp, m] : result.transferring) erase_partition(result.assignment[m], tp);
  for (member_index m = 0; m < state.members.size(); ++m) {
    assignment[state.members[m]->member_id].partitions = std::move(result.assignment[m]);
  }
  sort_partitions(assignment);
  return assignment;
}

}  // namespace kwire::client::detail
