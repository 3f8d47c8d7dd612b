#include "kwire/client/assignor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "../support/assignment_properties.hpp"

namespace kc = kwire::client;
namespace kt = kwire::test;

namespace {

using partitions = std::vector<kc::topic_partition>;

kc::member_subscription member(std::string id, std::vector<std::string> topics,
                               partitions owned = {}, std::int32_t generation = -1) {
  kc::member_subscription m;
  m.member_id = std::move(id);
  m.topics = std::move(topics);
  m.owned_partitions = std::move(owned);
  m.generation_id = generation;
  return m;
}

std::unique_ptr<kc::partition_assignor> assignor(std::string_view name) {
  auto a = kc::make_assignor(name);
  EXPECT_NE(a, nullptr) << name;
  return a;
}

// Every partition of the topic, 0..count-1.
partitions all_of(const std::string& topic, std::int32_t count) {
  partitions all;
  for (std::int32_t p = 0; p < count; ++p) all.push_back({topic, p});
  return all;
}

void expect_valid_and_complete(const kc::topic_partition_counts& counts,
                               const std::vector<kc::member_subscription>& members,
                               const kc::group_assignment& result, bool cooperative) {
  EXPECT_EQ(kt::validity_violations(counts, members, result), std::vector<std::string>{});
  EXPECT_EQ(kt::completeness_violations(counts, members, result, cooperative),
            std::vector<std::string>{});
}

TEST(Assignors, NamesAndProtocols) {
  for (auto [name, java] :
       {std::pair{"range", "org.apache.kafka.clients.consumer.RangeAssignor"},
        std::pair{"roundrobin", "org.apache.kafka.clients.consumer.RoundRobinAssignor"},
        std::pair{"cooperative-sticky",
                  "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"}}) {
    auto by_short = kc::make_assignor(name);
    auto by_class = kc::make_assignor(java);
    ASSERT_NE(by_short, nullptr);
    ASSERT_NE(by_class, nullptr);
    EXPECT_EQ(by_short->name(), name);
    EXPECT_EQ(by_class->name(), name);
  }
  EXPECT_EQ(kc::make_assignor("sticky"), nullptr);
  EXPECT_EQ(kc::make_assignor("Range"), nullptr);
  EXPECT_EQ(kc::make_assignor(""), nullptr);
  using kc::rebalance_protocol;
  EXPECT_EQ(assignor("range")->supported_protocols(), std::vector{rebalance_protocol::eager});
  EXPECT_EQ(assignor("roundrobin")->supported_protocols(), std::vector{rebalance_protocol::eager});
  EXPECT_EQ(assignor("cooperative-sticky")->supported_protocols(),
            (std::vector{rebalance_protocol::cooperative, rebalance_protocol::eager}));
  EXPECT_TRUE(assignor("range")->subscription_user_data({"t"}, 5).empty());
  // Java's CooperativeStickyAssignor: the generation as a big-endian int32
  EXPECT_EQ(assignor("cooperative-sticky")->subscription_user_data({"t"}, 0x01020304),
            (std::vector<std::uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(assignor("cooperative-sticky")->subscription_user_data({"t"}, -1),
            (std::vector<std::uint8_t>{0xff, 0xff, 0xff, 0xff}));
}

// The example in Java's RangeAssignor documentation.
TEST(RangeAssignor, JavaDocumentedExample) {
  const kc::topic_partition_counts counts{{"t0", 3}, {"t1", 3}};
  const auto result =
      assignor("range")->assign(counts, {member("C1", {"t0", "t1"}), member("C0", {"t0", "t1"})});
  EXPECT_EQ(result.at("C0").partitions, (partitions{{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}}));
  EXPECT_EQ(result.at("C1").partitions, (partitions{{"t0", 2}, {"t1", 2}}));
}

TEST(RangeAssignor, StaticMembersSortByInstanceIdAndComeFirst) {
  auto a = member("z-dynamic", {"t"});
  auto b = member("a-static", {"t"});
  b.group_instance_id = "i2";
  auto c = member("m-static", {"t"});
  c.group_instance_id = "i1";
  const auto result = assignor("range")->assign({{"t", 5}}, {a, b, c});
  EXPECT_EQ(result.at("m-static").partitions, (partitions{{"t", 0}, {"t", 1}}));
  EXPECT_EQ(result.at("a-static").partitions, (partitions{{"t", 2}, {"t", 3}}));
  EXPECT_EQ(result.at("z-dynamic").partitions, (partitions{{"t", 4}}));
}

TEST(RangeAssignor, PerTopicSubscribersOnly) {
  const kc::topic_partition_counts counts{{"a", 4}, {"b", 2}, {"empty", 0}};
  const std::vector members{member("m1", {"a"}), member("m2", {"a", "b", "unknown", "empty"}),
                            member("m3", {})};
  const auto result = assignor("range")->assign(counts, members);
  EXPECT_EQ(result.at("m1").partitions, (partitions{{"a", 0}, {"a", 1}}));
  EXPECT_EQ(result.at("m2").partitions, (partitions{{"a", 2}, {"a", 3}, {"b", 0}, {"b", 1}}));
  EXPECT_TRUE(result.at("m3").partitions.empty());
  expect_valid_and_complete(counts, members, result, false);
}

// The example in Java's RoundRobinAssignor documentation (different subscriptions).
TEST(RoundRobinAssignor, JavaDocumentedExample) {
  const kc::topic_partition_counts counts{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto result = assignor("roundrobin")
                          ->assign(counts, {member("C0", {"t0"}), member("C1", {"t0", "t1"}),
                                            member("C2", {"t0", "t1", "t2"})});
  EXPECT_EQ(result.at("C0").partitions, (partitions{{"t0", 0}}));
  EXPECT_EQ(result.at("C1").partitions, (partitions{{"t1", 0}}));
  EXPECT_EQ(result.at("C2").partitions, (partitions{{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}));
}

TEST(RoundRobinAssignor, SameSubscriptionsInterleave) {
  const auto result = assignor("roundrobin")
                          ->assign({{"t0", 3}, {"t1", 3}},
                                   {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})});
  EXPECT_EQ(result.at("C0").partitions, (partitions{{"t0", 0}, {"t0", 2}, {"t1", 1}}));
  EXPECT_EQ(result.at("C1").partitions, (partitions{{"t0", 1}, {"t1", 0}, {"t1", 2}}));
}

TEST(Assignors, EmptyGroupAndNothingToAssign) {
  for (auto name : {"range", "roundrobin", "cooperative-sticky"}) {
    EXPECT_TRUE(assignor(name)->assign({{"t", 3}}, {}).empty()) << name;
    const std::vector members{member("a", {"t"}), member("b", {"gone"}), member("c", {})};
    const auto result = assignor(name)->assign({{"t", 0}}, members);
    ASSERT_EQ(result.size(), 3u) << name;
    for (const auto& [id, entry] : result)
      EXPECT_TRUE(entry.partitions.empty()) << name << " " << id;
  }
}

TEST(Assignors, OutputDoesNotDependOnMemberOrder) {
  std::mt19937_64 random(7);
  const kc::topic_partition_counts counts{{"a", 7}, {"b", 3}, {"c", 5}};
  std::vector members{member("m1", {"a", "b"}, {{"a", 0}, {"b", 1}}, 3),
                      member("m2", {"a", "c"}, {{"a", 0}}, 3),
                      member("m3", {"a", "b", "c"}, {{"c", 4}}, 2), member("m4", {"b"})};
  for (auto name : {"range", "roundrobin", "cooperative-sticky"}) {
    const auto expected = assignor(name)->assign(counts, members);
    for (int i = 0; i < 5; ++i) {
      std::shuffle(members.begin(), members.end(), random);
      EXPECT_EQ(assignor(name)->assign(counts, members).size(), expected.size());
      for (const auto& [id, entry] : assignor(name)->assign(counts, members)) {
        EXPECT_EQ(entry.partitions, expected.at(id).partitions) << name << " " << id;
      }
    }
  }
}

TEST(CooperativeSticky, FreshGroupIsBalancedAndComplete) {
  const kc::topic_partition_counts counts{{"a", 5}, {"b", 6}};
  const std::vector members{member("m1", {"a", "b"}), member("m2", {"a", "b"}),
                            member("m3", {"a", "b"})};
  const auto result = assignor("cooperative-sticky")->assign(counts, members);
  expect_valid_and_complete(counts, members, result, false);
  EXPECT_EQ(kt::balance_violations(members, result), std::vector<std::string>{});
  for (const auto& [id, entry] : result) {
    EXPECT_GE(entry.partitions.size(), 3u);
    EXPECT_LE(entry.partitions.size(), 4u);
  }
}

// A member joins: the others keep what they can, the newcomer gets nothing that someone
// still owns in this round, and the follow-up round completes without further moves.
TEST(CooperativeSticky, NewMemberGetsRevokedPartitionsOnlyInTheFollowUpRound) {
  const kc::topic_partition_counts counts{{"t", 6}};
  const std::vector members{member("m1", {"t"}, {{"t", 0}, {"t", 1}, {"t", 2}}, 4),
                            member("m2", {"t"}, {{"t", 3}, {"t", 4}, {"t", 5}}, 4),
                            member("m3", {"t"})};
  const auto sticky = assignor("cooperative-sticky");
  const auto first = sticky->assign(counts, members);
  expect_valid_and_complete(counts, members, first, true);
  EXPECT_TRUE(first.at("m3").partitions.empty());
  EXPECT_EQ(first.at("m1").partitions.size(), 2u);
  EXPECT_EQ(first.at("m2").partitions.size(), 2u);
  for (const auto& tp : first.at("m1").partitions) EXPECT_LT(tp.partition, 3);

  const auto second_round = kt::next_round(members, first);
  const auto second = sticky->assign(counts, second_round);
  expect_valid_and_complete(counts, second_round, second, false);
  EXPECT_EQ(second.at("m1").partitions, first.at("m1").partitions);
  EXPECT_EQ(second.at("m2").partitions, first.at("m2").partitions);
  EXPECT_EQ(second.at("m3").partitions.size(), 2u);
  EXPECT_EQ(kt::stickiness_violations(members, second), std::vector<std::string>{});
}

TEST(CooperativeSticky, MemberLeavingFreesItsPartitionsAtOnce) {
  const kc::topic_partition_counts counts{{"t", 6}};
  const std::vector members{member("m1", {"t"}, {{"t", 0}, {"t", 1}}, 9),
                            member("m2", {"t"}, {{"t", 2}, {"t", 3}}, 9)};
  const auto result = assignor("cooperative-sticky")->assign(counts, members);
  expect_valid_and_complete(counts, members, result, false);  // nobody holds t-4, t-5
  EXPECT_EQ(result.at("m1").partitions.size(), 3u);
  EXPECT_EQ(result.at("m2").partitions.size(), 3u);
  for (const auto& tp : members[0].owned_partitions)
    EXPECT_TRUE(kt::subscribes(members[0], tp.topic));
  EXPECT_EQ(kt::stickiness_violations(members, result), std::vector<std::string>{});
}

TEST(CooperativeSticky, UnsubscribedTopicIsRevokedThenReassigned) {
  const kc::topic_partition_counts counts{{"a", 2}, {"b", 2}};
  const std::vector members{member("m1", {"a"}, {{"a", 0}, {"b", 0}}, 2),
                            member("m2", {"a", "b"}, {{"a", 1}, {"b", 1}}, 2)};
  const auto sticky = assignor("cooperative-sticky");
  const auto first = sticky->assign(counts, members);
  expect_valid_and_complete(counts, members, first, true);
  // Balanced is m1 {a-0, a-1}, m2 {b-0, b-1}: a-1 and b-0 change owner, so both wait for
  // their owners to revoke them (Java 4.4.0 and 3.9.2 give the same).
  EXPECT_EQ(first.at("m1").partitions, (partitions{{"a", 0}}));
  EXPECT_EQ(first.at("m2").partitions, (partitions{{"b", 1}}));
  const auto second = sticky->assign(counts, kt::next_round(members, first));
  EXPECT_EQ(second.at("m1").partitions, (partitions{{"a", 0}, {"a", 1}}));
  EXPECT_EQ(second.at("m2").partitions, (partitions{{"b", 0}, {"b", 1}}));
}

TEST(CooperativeSticky, SameGenerationConflictInvalidatesBothClaims) {
  const kc::topic_partition_counts counts{{"t", 4}};
  const std::vector members{member("m1", {"t"}, {{"t", 0}, {"t", 1}}, 3),
                            member("m2", {"t"}, {{"t", 1}, {"t", 2}}, 3)};
  const auto sticky = assignor("cooperative-sticky");
  const auto first = sticky->assign(counts, members);
  expect_valid_and_complete(counts, members, first, true);
  // t-1 is claimed twice: nobody gets it this round (each claimant must revoke it first)
  for (const auto& [id, entry] : first)
    EXPECT_FALSE(kt::contains_partition(entry.partitions, {"t", 1})) << id;
  EXPECT_TRUE(kt::contains_partition(first.at("m1").partitions, {"t", 0}));
  EXPECT_TRUE(kt::contains_partition(first.at("m2").partitions, {"t", 2}));
  const auto second = sticky->assign(counts, kt::next_round(members, first));
  expect_valid_and_complete(counts, members, second, false);
  EXPECT_EQ(kt::balance_violations(members, second), std::vector<std::string>{});
}

TEST(CooperativeSticky, StaleGenerationLosesTheConflict) {
  const kc::topic_partition_counts counts{{"t", 4}};
  // m2's claim on t-1 dates from generation 2; m1 got it in generation 5.
  const std::vector members{member("m1", {"t"}, {{"t", 0}, {"t", 1}}, 5),
                            member("m2", {"t"}, {{"t", 1}, {"t", 3}}, 2)};
  const auto result = assignor("cooperative-sticky")->assign(counts, members);
  expect_valid_and_complete(counts, members, result, true);
  EXPECT_EQ(result.at("m1").partitions, (partitions{{"t", 0}, {"t", 1}}));
  EXPECT_EQ(result.at("m2").partitions, (partitions{{"t", 2}, {"t", 3}}));
}

TEST(CooperativeSticky, GenerationFromUserDataWhenTheFieldIsAbsent) {
  const kc::topic_partition_counts counts{{"t", 4}};
  auto m1 = member("m1", {"t"}, {{"t", 0}, {"t", 1}});
  auto m2 = member("m2", {"t"}, {{"t", 1}, {"t", 3}});
  const auto sticky = assignor("cooperative-sticky");
  m1.user_data = sticky->subscription_user_data(m1.topics, 5);  // as an old subscription carries it
  m2.user_data = sticky->subscription_user_data(m2.topics, 2);
  const auto result = sticky->assign(counts, {m1, m2});
  EXPECT_EQ(result.at("m1").partitions, (partitions{{"t", 0}, {"t", 1}}));
  EXPECT_EQ(result.at("m2").partitions, (partitions{{"t", 2}, {"t", 3}}));
}

TEST(CooperativeSticky, DifferentSubscriptionsStayValidBalancedAndSticky) {
  const kc::topic_partition_counts counts{{"a", 6}, {"b", 2}, {"c", 3}};
  const std::vector members{member("m1", {"a"}, all_of("a", 6), 1),
                            member("m2", {"a", "b"}, all_of("b", 2), 1),
                            member("m3", {"a", "b", "c"})};
  const auto sticky = assignor("cooperative-sticky");
  const auto first = sticky->assign(counts, members);
  expect_valid_and_complete(counts, members, first, true);
  const auto second = sticky->assign(counts, kt::next_round(members, first));
  expect_valid_and_complete(counts, members, second, false);
  EXPECT_EQ(kt::balance_violations(members, second), std::vector<std::string>{});
  EXPECT_EQ(kt::stickiness_violations(members, second), std::vector<std::string>{});
  // m1 only subscribes to a and held all of it: it keeps more than anyone else of a
  EXPECT_GE(second.at("m1").partitions.size(), 3u);
}

// Random groups: every assignor valid and complete; cooperative-sticky balanced after the
// follow-up round when subscriptions are equal, and never moving what it need not.
TEST(Assignors, RandomGroupsKeepTheProperties) {
  std::mt19937_64 random(20261129);
  const auto pick = [&](std::uint64_t n) { return static_cast<std::int32_t>(random() % n); };
  int equal_subscription_groups = 0;
  for (int scenario = 0; scenario < 300; ++scenario) {
    kc::topic_partition_counts counts;
    const int topic_count = 1 + pick(5);
    for (int t = 0; t < topic_count; ++t) counts["t" + std::to_string(t)] = pick(9);
    const bool equal = pick(2) == 0;
    equal_subscription_groups += equal;
    std::vector<kc::member_subscription> members;
    std::vector<std::string> shared;
    for (const auto& [topic, count] : counts) {
      if (pick(3) != 0) shared.push_back(topic);
    }
    if (shared.empty()) shared.push_back("t0");
    const int member_count = 1 + pick(8);
    for (int m = 0; m < member_count; ++m) {
      std::vector<std::string> topics = shared;
      if (!equal) {
        topics.clear();
        for (const auto& [topic, count] : counts) {
          if (pick(2) == 0) topics.push_back(topic);
        }
        if (pick(6) == 0) topics.push_back("missing");
      }
      partitions owned;
      for (const auto& [topic, count] : counts) {
        for (std::int32_t p = 0; p < count; ++p) {
          if (pick(member_count + 1) == 0) owned.push_back({topic, p});
        }
      }
      members.push_back(member("member-" + std::to_string(pick(1000)) + "-" + std::to_string(m),
                               topics, owned, 3 + pick(3)));
    }
    for (auto name : {"range", "roundrobin", "cooperative-sticky"}) {
      const bool cooperative = std::string_view(name) == "cooperative-sticky";
      const auto result = assignor(name)->assign(counts, members);
      SCOPED_TRACE(std::string(name) + " scenario " + std::to_string(scenario));
      expect_valid_and_complete(counts, members, result, cooperative);
      if (!cooperative) continue;
      const auto next = kt::next_round(members, result);
      const auto second = assignor(name)->assign(counts, next);
      expect_valid_and_complete(counts, next, second, false);
      if (equal) {
        EXPECT_EQ(kt::balance_violations(next, second), std::vector<std::string>{});
      }
      // With equal subscriptions the follow-up round only hands out what was held back.
      if (!equal) continue;
      for (const auto& [id, entry] : result) {
        for (const auto& tp : entry.partitions)
          EXPECT_TRUE(kt::contains_partition(second.at(id).partitions, tp)) << id;
      }
    }
  }
  EXPECT_GT(equal_subscription_groups, 50);
}

}  // namespace
