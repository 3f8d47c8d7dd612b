// Where the Kafka source starts and stops each partition, from the brokers' answers (no I/O):
// every start position, the auto.offset.reset fallback, a restore, bounded stops.
#include "kwire/connector/kafka_start_positions.hpp"

#include <gtest/gtest.h>

#include "kwire/client/error.hpp"

namespace kc = kwire::connector;
using kwire::client::offset_reset;
using kwire::client::topic_partition;

namespace {

const std::vector<topic_partition> parts{{"t", 0}, {"t", 1}, {"t", 2}};

// Partition 0 holds 10..99, 1 holds 0..49, 2 is empty at 7. The group committed 0 only.
kc::start_lookups answers() {
  kc::start_lookups l;
  l.earliest = {{{"t", 0}, 10}, {{"t", 1}, 0}, {{"t", 2}, 7}};
  l.latest = {{{"t", 0}, 100}, {{"t", 1}, 50}, {{"t", 2}, 7}};
  l.committed = {{{"t", 0}, 42}};
  return l;
}

kc::partition_offsets resolve(const kc::start_position& start, offset_reset reset,
                              const kc::start_lookups& lookups = answers(),
                              const kc::partition_offsets* restored = nullptr) {
  kc::partition_offsets out;
  const auto error = kc::resolve_start_offsets(parts, start, reset, restored, lookups, out);
  EXPECT_FALSE(error) << error.describe();
  return out;
}

TEST(KafkaStartPositions, GroupOffsetsFallBackToAutoOffsetReset) {
  EXPECT_EQ(resolve(kc::start_position::group_offsets(), offset_reset::earliest),
            (kc::partition_offsets{{{"t", 0}, 42}, {{"t", 1}, 0}, {{"t", 2}, 7}}));
  EXPECT_EQ(resolve(kc::start_position::group_offsets(), offset_reset::latest),
            (kc::partition_offsets{{{"t", 0}, 42}, {{"t", 1}, 50}, {{"t", 2}, 7}}));
  kc::partition_offsets out;
  const auto error = kc::resolve_start_offsets(parts, kc::start_position::group_offsets(),
                                               offset_reset::none, nullptr, answers(), out);
  EXPECT_EQ(error.code, kwire::client::errc::no_offset);
  EXPECT_EQ(error.detail, "t-1: the group has no committed offset and auto.offset.reset is none");
}

TEST(KafkaStartPositions, EarliestAndLatestIgnoreTheGroup) {
  EXPECT_EQ(resolve(kc::start_position::earliest(), offset_reset::none),
            (kc::partition_offsets{{{"t", 0}, 10}, {{"t", 1}, 0}, {{"t", 2}, 7}}));
  EXPECT_EQ(resolve(kc::start_position::latest(), offset_reset::none),
            (kc::partition_offsets{{{"t", 0}, 100}, {{"t", 1}, 50}, {{"t", 2}, 7}}));
}

TEST(KafkaStartPositions, TimestampStartsAtTheEndWhereEveryRecordIsOlder) {
  auto lookups = answers();
  // Partition 1's last record is older than the time: ListOffsets found none.
  lookups.at_timestamp = {{{"t", 0}, 60}, {{"t", 2}, 7}};
  EXPECT_EQ(resolve(kc::start_position::at(1000), offset_reset::none, lookups),
            (kc::partition_offsets{{{"t", 0}, 60}, {{"t", 1}, 50}, {{"t", 2}, 7}}));
}

TEST(KafkaStartPositions, SpecificOffsetsFallBackToTheGroup) {
  const auto start = kc::start_position::specific({{{"t", 1}, 5}});
  EXPECT_EQ(resolve(start, offset_reset::earliest),
            (kc::partition_offsets{{{"t", 0}, 42}, {{"t", 1}, 5}, {{"t", 2}, 7}}));
}

TEST(KafkaStartPositions, RestoreWinsAndNewPartitionsStartAtTheEarliest) {
  const kc::partition_offsets restored{{{"t", 0}, 77}, {{"t", 2}, 9}};
  // The start position is ignored after a restore; t-1 is new since the checkpoint.
  EXPECT_EQ(resolve(kc::start_position::latest(), offset_reset::none, answers(), &restored),
            (kc::partition_offsets{{{"t", 0}, 77}, {{"t", 1}, 0}, {{"t", 2}, 9}}));
}

TEST(KafkaStartPositions, AMissingLookupIsAnErrorNamingIt) {
  auto lookups = answers();
  lookups.latest.erase({"t", 2});
  kc::partition_offsets out;
  const auto error = kc::resolve_start_offsets(parts, kc::start_position::latest(),
                                               offset_reset::none, nullptr, lookups, out);
  EXPECT_EQ(error.code, kc::errc::invalid_argument);
  EXPECT_EQ(error.detail, "no latest offset looked up for t-2");
  EXPECT_TRUE(out.empty());
}

TEST(KafkaStartPositions, StopOffsets) {
  kc::partition_offsets out;
  ASSERT_FALSE(
      kc::resolve_stop_offsets(parts, kc::stop_position::unbounded(), answers().latest, out));
  EXPECT_TRUE(out.empty());
  ASSERT_FALSE(kc::resolve_stop_offsets(parts, kc::stop_position::latest(), answers().latest, out));
  EXPECT_EQ(out, answers().latest);
  // Partitions missing from the given offsets stop at the latest offset.
  ASSERT_FALSE(kc::resolve_stop_offsets(parts, kc::stop_position::given({{{"t", 0}, 20}}),
                                        answers().latest, out));
  EXPECT_EQ(out, (kc::partition_offsets{{{"t", 0}, 20}, {{"t", 1}, 50}, {{"t", 2}, 7}}));
}

TEST(KafkaStartPositions, DecideStop) {
  // Unbounded: the position is what it is.
  auto d = kc::decide_stop(500, std::nullopt);
  EXPECT_FALSE(d.finished);
  EXPECT_EQ(d.next_offset, 500);
  // Below the stop: go on.
  d = kc::decide_stop(19, 20);
  EXPECT_FALSE(d.finished);
  EXPECT_FALSE(d.trim);
  EXPECT_EQ(d.next_offset, 19);
  // Exactly at the stop: finished, nothing to leave out.
  d = kc::decide_stop(20, 20);
  EXPECT_TRUE(d.finished);
  EXPECT_FALSE(d.trim);
  EXPECT_EQ(d.next_offset, 20);
  // The poll went past it (a whole batch): records from 20 on are left out.
  d = kc::decide_stop(35, 20);
  EXPECT_TRUE(d.finished);
  EXPECT_TRUE(d.trim);
  EXPECT_EQ(d.next_offset, 20);
}

}  // namespace
