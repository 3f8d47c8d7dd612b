// The Kafka source's partition assignment against values worked out by hand from Java's
// String.hashCode (h = 31 * h + c, 32-bit wrapping) and Flink's formula
// ((hash * 31) & 0x7FFFFFFF) % parallelism + partition, modulo parallelism.
#include "kwire/connector/kafka_partition_assigner.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "kwire/connector/checkpoint_driver.hpp"

namespace kc = kwire::connector;

namespace {

std::vector<std::int32_t> owners(const char* topic, int partitions, std::int32_t parallelism) {
  std::vector<std::int32_t> out;
  for (int p = 0; p < partitions; ++p)
    out.push_back(kc::kafka_partition_owner(topic, p, parallelism));
  return out;
}

TEST(KafkaPartitionAssigner, JavaStringHash) {
  EXPECT_EQ(kc::java_string_hash(""), 0);
  EXPECT_EQ(kc::java_string_hash("a"), 97);
  EXPECT_EQ(kc::java_string_hash("test"), 3556498);    // Java's "test".hashCode()
  EXPECT_EQ(kc::java_string_hash("hello"), 99162322);  // Java's "hello".hashCode()
  // Wraps past 2^31 to a negative int, as Java's does.
  EXPECT_EQ(kc::java_string_hash("orders"), -1008770331);
  EXPECT_EQ(kc::java_string_hash("kwire-input-topic-with-a-long-name"), -1771742777);
}

TEST(KafkaPartitionAssigner, FlinkStartIndexThenRoundRobin) {
  // "test": 3556498 * 31 = 110251438, & 0x7FFFFFFF unchanged, % 4 = 2.
  EXPECT_EQ(owners("test", 6, 4), (std::vector<std::int32_t>{2, 3, 0, 1, 2, 3}));
  EXPECT_EQ(owners("test", 4, 3), (std::vector<std::int32_t>{1, 2, 0, 1}));
  // A negative hash: the product wraps and the mask drops the sign bit.
  EXPECT_EQ(owners("orders", 6, 4), (std::vector<std::int32_t>{3, 0, 1, 2, 3, 0}));
  EXPECT_EQ(owners("kwire-input-topic-with-a-long-name", 4, 3),
            (std::vector<std::int32_t>{2, 0, 1, 2}));
  EXPECT_EQ(owners("hello", 3, 1), (std::vector<std::int32_t>{0, 0, 0}));
}

TEST(KafkaPartitionAssigner, RescalesACheckpointByTheSameRule) {
  kc::completed_checkpoint restored;
  restored.id = 7;
  restored.parallelism = 1;
  kc::subtask_state part;
  part.checkpoint = 7;
  part.subtask = 0;
  for (int p = 0; p < 4; ++p) part.positions.push_back({"test", p, 100 + p});
  restored.parts.push_back(part);
  const auto parts = kc::rescale_checkpoint(restored, 3, kc::kafka_source_partition_owner);
  ASSERT_EQ(parts.size(), 3U);
  // Owners of test-0..3 at parallelism 3: 1, 2, 0, 1.
  EXPECT_EQ(parts[0].positions, (std::vector<kc::source_position>{{"test", 2, 102}}));
  EXPECT_EQ(parts[1].positions,
            (std::vector<kc::source_position>{{"test", 0, 100}, {"test", 3, 103}}));
  EXPECT_EQ(parts[2].positions, (std::vector<kc::source_position>{{"test", 1, 101}}));
}

}  // namespace
