#include "kwire/client/partitioner.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

namespace kc = kwire::client;
namespace kp = kwire::protocol;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

struct java_vector {
  std::vector<std::uint8_t> key;
  std::int32_t murmur2;
  // partitionForKey for 1, 3, 7, 12, 100 and 1000 partitions
  std::array<std::int32_t, 6> partitions;
};

constexpr std::array<std::int32_t, 6> vector_partition_counts{1, 3, 7, 12, 100, 1000};

// Computed by the Java client itself, identical with kafka-clients 4.4.0 and 3.9.2:
//   tests/interop/java/run.sh 4.4.0 partition-keys --in KEYS --partitions 1,3,7,12,100,1000
// (Utils.murmur2, then BuiltInPartitioner.partitionForKey per count).
std::vector<java_vector> java_vectors() {
  return {
      {{}, 275646681, {0, 0, 2, 9, 81, 681}},
      {bytes_of("a"), -1563381124, {0, 1, 5, 4, 24, 524}},
      {bytes_of("ab"), 316155434, {0, 2, 0, 2, 34, 434}},
      {bytes_of("abc"), 479470107, {0, 0, 4, 3, 7, 107}},
      {bytes_of("abcd"), -1323649548, {0, 2, 5, 8, 0, 100}},
      {bytes_of("hello world"), 1221641059, {0, 1, 2, 7, 59, 59}},
      {bytes_of("kafka"), -798503068, {0, 1, 3, 4, 80, 580}},
      {{0x00}, 375494588, {0, 2, 0, 8, 88, 588}},
      {{0xff}, -311467685, {0, 0, 5, 3, 63, 963}},
      {{0xff, 0xff, 0xff, 0xff}, 644171429, {0, 2, 6, 5, 29, 429}},
      {{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
        0x0f, 0x10},
       1100346375,
       {0, 0, 2, 3, 75, 375}},
      {{0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87}, -1608452407, {0, 1, 0, 1, 41, 241}},
  };
}

TEST(Murmur2, MatchesJavaClientVectors) {
  for (const auto& vector : java_vectors()) {
    EXPECT_EQ(kc::murmur2(vector.key), vector.murmur2)
        << "key of " << vector.key.size() << " bytes";
  }
}

TEST(PartitionForKey, MatchesJavaClientVectors) {
  for (const auto& vector : java_vectors()) {
    for (std::size_t i = 0; i < vector_partition_counts.size(); ++i) {
      EXPECT_EQ(kc::partition_for_key(vector.key, vector_partition_counts[i]), vector.partitions[i])
          << "key of " << vector.key.size() << " bytes, " << vector_partition_counts[i]
          << " partitions";
    }
  }
}

TEST(ToPositive, ClearsTheSignBitLikeJava) {
  EXPECT_EQ(kc::to_positive(0), 0);
  EXPECT_EQ(kc::to_positive(5), 5);
  EXPECT_EQ(kc::to_positive(-1), std::numeric_limits<std::int32_t>::max());
  // Not abs(): the most negative value maps to 0, never stays negative.
  EXPECT_EQ(kc::to_positive(std::numeric_limits<std::int32_t>::min()), 0);
}

constexpr std::int32_t batch_size = 1000;

class StickyPartition : public ::testing::Test {
 protected:
  kc::partition_random random{42};
  kc::sticky_partition_state state{batch_size};
};

TEST_F(StickyPartition, StaysUntilBatchSizeBytesThenSwitches) {
  const std::array<std::int32_t, 4> leaders{0, 1, 2, 3};
  const kc::topic_partitions topic{4, leaders};
  EXPECT_EQ(state.current_partition(), -1);
  const std::int32_t first = state.partition(topic, random);
  ASSERT_GE(first, 0);
  ASSERT_LT(first, 4);

  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(state.partition(topic, random), first);
    state.record_appended(first, 100, topic, random);
  }
  EXPECT_EQ(state.partition(topic, random), first);
  EXPECT_EQ(state.bytes_in_current_partition(), 900);

  state.record_appended(first, 100, topic, random);  // reaches batch.size exactly
  const std::int32_t second = state.partition(topic, random);
  EXPECT_NE(second, first);
  EXPECT_EQ(state.bytes_in_current_partition(), 0);
}

TEST_F(StickyPartition, OneLargeRecordSwitchesAtOnce) {
  const std::array<std::int32_t, 3> leaders{0, 1, 2};
  const kc::topic_partitions topic{3, leaders};
  const std::int32_t first = state.partition(topic, random);
  state.record_appended(first, 5 * batch_size, topic, random);
  EXPECT_NE(state.partition(topic, random), first);
}

TEST_F(StickyPartition, NeverTheSameTwiceInARow) {
  const std::array<std::int32_t, 3> leaders{0, 1, 2};
  const kc::topic_partitions topic{3, leaders};
  std::int32_t previous = state.partition(topic, random);
  std::set<std::int32_t> seen{previous};
  for (int i = 0; i < 1000; ++i) {
    state.record_appended(previous, batch_size, topic, random);
    const std::int32_t next = state.partition(topic, random);
    ASSERT_NE(next, previous) << "switch " << i;
    seen.insert(next);
    previous = next;
  }
  EXPECT_EQ(seen.size(), 3U);
}

TEST_F(StickyPartition, TwoPartitionsAlternate) {
  const std::array<std::int32_t, 2> leaders{5, 9};
  const kc::topic_partitions topic{10, leaders};
  std::int32_t previous = state.partition(topic, random);
  for (int i = 0; i < 50; ++i) {
    state.record_appended(previous, batch_size, topic, random);
    const std::int32_t next = state.partition(topic, random);
    EXPECT_EQ(next, previous == 5 ? 9 : 5);
    previous = next;
  }
}

TEST_F(StickyPartition, SwitchesAreSpreadOverAllPartitionsWithALeader) {
  const std::array<std::int32_t, 6> leaders{0, 1, 2, 3, 4, 5};
  const kc::topic_partitions topic{6, leaders};
  std::array<int, 6> picks{};
  std::int32_t current = state.partition(topic, random);
  for (int i = 0; i < 6000; ++i) {
    state.record_appended(current, batch_size, topic, random);
    current = state.partition(topic, random);
    ++picks[static_cast<std::size_t>(current)];
  }
  for (int count : picks) {
    EXPECT_GT(count, 800);  // 1000 expected each
    EXPECT_LT(count, 1200);
  }
}

TEST_F(StickyPartition, OnlyPartitionsWithALeaderArePicked) {
  const std::array<std::int32_t, 3> leaders{7, 2, 4};  // any order
  const kc::topic_partitions topic{8, leaders};
  std::set<std::int32_t> seen;
  std::int32_t current = state.partition(topic, random);
  seen.insert(current);
  for (int i = 0; i < 300; ++i) {
    state.record_appended(current, batch_size, topic, random);
    current = state.partition(topic, random);
    seen.insert(current);
  }
  EXPECT_EQ(seen, (std::set<std::int32_t>{2, 4, 7}));
}

TEST_F(StickyPartition, SingleLeaderKeepsBeingPicked) {
  const std::array<std::int32_t, 1> leaders{3};
  const kc::topic_partitions topic{4, leaders};
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(state.partition(topic, random), 3);
    state.record_appended(3, batch_size, topic, random);
  }
}

TEST_F(StickyPartition, CurrentPartitionLosingItsLeaderIsLeftAtTheNextSwitch) {
  const std::array<std::int32_t, 2> both{0, 1};
  const std::int32_t first = state.partition({2, both}, random);
  const std::int32_t other = 1 - first;
  // The metadata now says only `other` has a leader; the sticky choice holds until the switch.
  const std::array<std::int32_t, 1> only_other{other};
  const kc::topic_partitions after{2, only_other};
  EXPECT_EQ(state.partition(after, random), first);
  state.record_appended(first, batch_size, after, random);
  EXPECT_EQ(state.partition(after, random), other);
}

TEST_F(StickyPartition, WithoutAnyLeaderPicksAmongAllPartitions) {
  const kc::topic_partitions topic{3, {}};
  std::int32_t previous = state.partition(topic, random);
  std::set<std::int32_t> seen{previous};
  for (int i = 0; i < 300; ++i) {
    state.record_appended(previous, batch_size, topic, random);
    const std::int32_t next = state.partition(topic, random);
    ASSERT_GE(next, 0);
    ASSERT_LT(next, 3);
    ASSERT_NE(next, previous);
    seen.insert(next);
    previous = next;
  }
  EXPECT_EQ(seen.size(), 3U);

  kc::sticky_partition_state single{batch_size};
  const kc::topic_partitions one{1, {}};
  EXPECT_EQ(single.partition(one, random), 0);
  single.record_appended(0, batch_size, one, random);
  EXPECT_EQ(single.partition(one, random), 0);
}

TEST_F(StickyPartition, SwitchWaitsForTheBatchBoundaryUntilTwiceBatchSize) {
  const std::array<std::int32_t, 4> leaders{0, 1, 2, 3};
  const kc::topic_partitions topic{4, leaders};
  const std::int32_t first = state.partition(topic, random);
  state.record_appended(first, batch_size, topic, random, /*switch_allowed=*/false);
  EXPECT_EQ(state.partition(topic, random), first);
  state.record_appended(first, batch_size - 1, topic, random, /*switch_allowed=*/false);
  EXPECT_EQ(state.partition(topic, random), first);
  state.record_appended(first, 1, topic, random, /*switch_allowed=*/false);  // 2 x batch.size
  EXPECT_NE(state.partition(topic, random), first);
}

TEST_F(StickyPartition, BytesForAnotherPartitionAreNotCounted) {
  const std::array<std::int32_t, 4> leaders{0, 1, 2, 3};
  const kc::topic_partitions topic{4, leaders};
  const std::int32_t first = state.partition(topic, random);
  state.record_appended((first + 1) % 4, 10 * batch_size, topic, random);
  EXPECT_EQ(state.partition(topic, random), first);
  EXPECT_EQ(state.bytes_in_current_partition(), 0);
}

TEST_F(StickyPartition, TopicShrinkingBelowTheCurrentPartitionRepicks) {
  const std::array<std::int32_t, 1> high{7};
  EXPECT_EQ(state.partition({8, high}, random), 7);
  const std::array<std::int32_t, 2> low{0, 1};
  const std::int32_t now = state.partition({2, low}, random);
  EXPECT_TRUE(now == 0 || now == 1);
}

TEST(StickyPartitionDeterminism, SameSeedSameSequence) {
  const std::array<std::int32_t, 5> leaders{0, 1, 2, 3, 4};
  const kc::topic_partitions topic{5, leaders};
  auto sequence = [&](unsigned seed) {
    kc::partition_random random{seed};
    kc::sticky_partition_state state{batch_size};
    std::vector<std::int32_t> picks;
    for (int i = 0; i < 50; ++i) {
      picks.push_back(state.partition(topic, random));
      state.record_appended(picks.back(), batch_size, topic, random);
    }
    return picks;
  };
  EXPECT_EQ(sequence(7), sequence(7));
  EXPECT_NE(sequence(7), sequence(8));
}

TEST(BuiltInPartition, KeyedRecordsHashTheKeyOverAllPartitions) {
  kc::partition_random random{1};
  kc::sticky_partition_state sticky{batch_size};
  // Only partition 0 has a leader: a key still maps over all 12, as in Java.
  const std::array<std::int32_t, 1> leaders{0};
  const kc::topic_partitions topic{12, leaders};
  const auto key = bytes_of("hello world");
  const auto choice = kc::built_in_partition(kp::optional_bytes{key}, false, sticky, topic, random);
  EXPECT_EQ(choice.partition, 7);  // Java vector above
  EXPECT_FALSE(choice.sticky);
  EXPECT_EQ(sticky.current_partition(), -1);  // the sticky state is left alone
}

TEST(BuiltInPartition, EmptyKeyIsAKeyNullKeyIsNot) {
  kc::partition_random random{1};
  kc::sticky_partition_state sticky{batch_size};
  const std::array<std::int32_t, 3> leaders{0, 1, 2};
  const kc::topic_partitions topic{100, leaders};
  const std::vector<std::uint8_t> empty;
  const auto hashed =
      kc::built_in_partition(kp::optional_bytes{empty}, false, sticky, topic, random);
  EXPECT_EQ(hashed.partition, 81);  // Java: partitionForKey(new byte[0], 100)
  EXPECT_FALSE(hashed.sticky);

  const auto keyless = kc::built_in_partition(std::nullopt, false, sticky, topic, random);
  EXPECT_TRUE(keyless.sticky);
  EXPECT_EQ(keyless.partition, sticky.current_partition());
  EXPECT_LT(keyless.partition, 3);
}

TEST(BuiltInPartition, IgnoreKeysSendsKeyedRecordsToTheStickyPartition) {
  kc::partition_random random{3};
  kc::sticky_partition_state sticky{batch_size};
  const std::array<std::int32_t, 4> leaders{0, 1, 2, 3};
  const kc::topic_partitions topic{4, leaders};
  const auto key_a = bytes_of("a");
  const auto key_b = bytes_of("kafka");
  const auto first = kc::built_in_partition(kp::optional_bytes{key_a}, true, sticky, topic, random);
  const auto second =
      kc::built_in_partition(kp::optional_bytes{key_b}, true, sticky, topic, random);
  EXPECT_TRUE(first.sticky);
  EXPECT_TRUE(second.sticky);
  EXPECT_EQ(first.partition, second.partition);
  EXPECT_EQ(first.partition, sticky.current_partition());
}

// A user partitioner as an application would write one: every record to the last partition.
class last_partition final : public kc::partitioner {
 public:
  std::int32_t partition(std::string_view topic, const kp::optional_bytes& key,
                         const kp::optional_bytes& value,
                         const kc::topic_partitions& partitions) override {
    last_topic = topic;
    saw_key = key.has_value();
    saw_value = value.has_value();
    return partitions.count - 1;
  }
  std::string_view last_topic;
  bool saw_key = false;
  bool saw_value = false;
};

TEST(UserPartitioner, IsCalledThroughTheInterface) {
  auto custom = std::make_unique<last_partition>();
  auto* observed = custom.get();
  std::unique_ptr<kc::partitioner> configured = std::move(custom);
  const auto value = bytes_of("v");
  const std::array<std::int32_t, 2> leaders{0, 1};
  EXPECT_EQ(configured->partition("orders", std::nullopt, kp::optional_bytes{value}, {6, leaders}),
            5);
  EXPECT_EQ(observed->last_topic, "orders");
  EXPECT_FALSE(observed->saw_key);
  EXPECT_TRUE(observed->saw_value);
}

}  // namespace
