// The producer's accumulator without a broker: batches fill up to batch.size, become ready
// when full or after linger.ms, buffer.memory bounds what is buffered, a drain takes the
// batches of every partition a broker leads, and retried batches keep their sequence order.
#include "producer/producer_accumulator.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <thread>

#include "kwire/client/cluster.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
using namespace std::chrono_literals;

namespace {

kc::producer_config config_with(kc::properties extra) {
  kc::properties props{{"bootstrap.servers", "127.0.0.1:9"},
                       {"batch.size", "1000"},
                       {"linger.ms", "10000"},
                       {"delivery.timeout.ms", "120000"},
                       {"request.timeout.ms", "30000"}};
  props.insert(props.end(), extra.begin(), extra.end());
  kc::producer_config config;
  auto error = kc::parse_producer_config(props, config);
  EXPECT_FALSE(error) << error->message;
  return config;
}

// Metadata for topic "t" with the given partition leaders.
kc::cluster_metadata metadata_with_leaders(std::vector<std::int32_t> leaders) {
  kc::cluster_metadata m;
  auto& t = m.topics["t"];
  t.name = "t";
  for (std::size_t i = 0; i < leaders.size(); ++i) {
    auto& p = t.partitions.emplace_back();
    p.partition = static_cast<std::int32_t>(i);
    p.leader = leaders[i];
  }
  return m;
}

struct accumulator_fixture {
  explicit accumulator_fixture(kc::properties extra = {}, std::vector<std::int32_t> leaders = {1})
      : config(config_with(std::move(extra))),
        accumulator(
            config, {}, [this] { ++wakes; },
            [this](const std::string& topic) { wanted.push_back(topic); }) {
    accumulator.partition_count("t");  // the topic becomes known
    EXPECT_TRUE(accumulator.update_metadata(metadata_with_leaders(std::move(leaders))).empty());
  }

  std::error_code append(std::int32_t partition, std::size_t value_bytes, bool may_block = false) {
    values.push_back(std::string(value_bytes, 'v'));
    kc::delivery_callback callback = [this](std::error_code ec, const kc::delivery_report&) {
      completions.push_back(ec);
    };
    const auto& v = values.back();
    return accumulator.append(
        {.topic = "t",
         .partition = partition,
         .value = std::span(reinterpret_cast<const std::uint8_t*>(v.data()), v.size())},
        callback, may_block);
  }

  kd::drained_batches drain(kd::accumulator_clock::time_point now, bool flushing = false) {
    return accumulator.drain({.now = now, .flushing = flushing, .may_send = true},
                             [](std::int32_t, const kd::producer_partition&,
                                const kd::producer_batch&) { return true; });
  }

  // Completes a drained batch as delivered: its memory returns.
  void deliver(kd::producer_batch* b) {
    accumulator.left_flight(b);
    accumulator.recycle(b);
  }

  kc::producer_config config;
  kd::producer_accumulator accumulator;
  int wakes = 0;
  std::vector<std::string> wanted;
  std::deque<std::string> values;  // the records' bytes live until appended
  std::vector<std::error_code> completions;
};

std::size_t drained_count(const kd::drained_batches& d) {
  std::size_t n = 0;
  for (const auto& [node, batches] : d.by_node) n += batches.size();
  return n;
}

TEST(ProducerAccumulator, AskedForTheMetadataOfANewTopicOnce) {
  accumulator_fixture f;
  EXPECT_EQ(f.wanted, std::vector<std::string>{"t"});
  EXPECT_FALSE(f.append(0, 10));
  EXPECT_EQ(f.wanted, std::vector<std::string>{"t"});
  EXPECT_EQ(f.accumulator.partition_count("t").first, 1);
}

TEST(ProducerAccumulator, AppendingFillsABatchUpToBatchSize) {
  accumulator_fixture f;
  const auto start = kd::accumulator_clock::now();
  int appended = 0;
  // Records of ~110 encoded bytes: nine fit in 1000 bytes with the batch header.
  while (appended < 30) {
    ASSERT_FALSE(f.append(0, 100));
    ++appended;
  }
  // Before linger.ms only the full batches are ready; the open one stays.
  const auto drained = f.drain(start);
  ASSERT_EQ(drained.by_node.count(1), 1u);
  const auto& batches = drained.by_node.at(1);
  ASSERT_EQ(batches.size(), 1u);  // one batch per partition and drain
  const auto* first = batches.front();
  EXPECT_TRUE(first->full);
  EXPECT_LE(first->builder.size_in_bytes(), 1000u);
  EXPECT_GT(first->builder.size_in_bytes() + 120, 1000u);  // no room for another record
  EXPECT_EQ(first->callbacks.size(), first->timestamps.size());
  std::size_t records = first->callbacks.size();
  auto* b = batches.front();
  f.deliver(b);
  // The remaining full batches follow one per drain; the last one (open) waits for linger.
  for (;;) {
    const auto next = f.drain(start);
    if (drained_count(next) == 0) {
      EXPECT_GE(next.next_wakeup, start + f.config.linger);  // the open batch's linger
      break;
    }
    records += next.by_node.at(1).front()->callbacks.size();
    f.deliver(next.by_node.at(1).front());
  }
  EXPECT_LT(records, 30u);
  const auto last = f.drain(kd::accumulator_clock::now() + f.config.linger);
  ASSERT_EQ(drained_count(last), 1u);
  records += last.by_node.at(1).front()->callbacks.size();
  EXPECT_EQ(records, 30u);
  f.deliver(last.by_node.at(1).front());
  EXPECT_EQ(f.accumulator.buffered_bytes(), 0);
}

TEST(ProducerAccumulator, LingerOrAFlushMakesABatchReady) {
  accumulator_fixture f(kc::properties{{"linger.ms", "50"}});
  const auto before = kd::accumulator_clock::now();
  ASSERT_FALSE(f.append(0, 10));
  const auto after = kd::accumulator_clock::now();
  const auto early = f.drain(before);
  EXPECT_EQ(drained_count(early), 0u);
  EXPECT_GE(early.next_wakeup, before + 50ms);
  EXPECT_LE(early.next_wakeup, after + 50ms);
  EXPECT_EQ(drained_count(f.drain(before, /*flushing=*/true)), 1u);
  ASSERT_FALSE(f.append(0, 10));
  EXPECT_EQ(drained_count(f.drain(kd::accumulator_clock::now() + 50ms)), 1u);
}

// What buffer.memory counts for a record with a `value_bytes` value, no key, no headers: its
// encoded bytes, its callback and timestamp, and (the first in its batch) the batch's own.
std::int64_t record_charge(std::size_t value_bytes) {
  const std::string v(value_bytes, 'v');
  const kwire::protocol::optional_bytes value =
      std::span(reinterpret_cast<const std::uint8_t*>(v.data()), v.size());
  const auto fields = kwire::protocol::encoded_record_fields_size(std::nullopt, value, {});
  return static_cast<std::int64_t>(kwire::protocol::encoded_record_size_for(0, 0, fields) +
                                   kd::record_bookkeeping_bytes);
}
constexpr auto batch_charge = static_cast<std::int64_t>(kd::batch_bookkeeping_bytes);

TEST(ProducerAccumulator, BufferMemoryCountsEachRecordWithItsCallbackAndTimestamp) {
  accumulator_fixture f;
  ASSERT_FALSE(f.append(0, 10));
  EXPECT_EQ(f.accumulator.buffered_bytes(), batch_charge + record_charge(10));
  ASSERT_FALSE(f.append(0, 20));  // same batch: the record only
  EXPECT_EQ(f.accumulator.buffered_bytes(), batch_charge + record_charge(10) + record_charge(20));
  // A 10-byte value costs several times its size while queued: the bound counts all of it.
  EXPECT_GT(record_charge(10), 10 + 48);
  auto drained = f.drain(kd::accumulator_clock::now(), true);
  ASSERT_EQ(drained_count(drained), 1u);
  f.deliver(drained.by_node.at(1).front());
  EXPECT_EQ(f.accumulator.buffered_bytes(), 0);
}

TEST(ProducerAccumulator, ALargeBatchSizeIsNotReservedPerPartition) {
  // 1,000 partitions with a record each, batch.size 1,000,000 and 2 MB of buffer.memory: a
  // batch costs what it holds, not batch.size (which would allow two partitions).
  accumulator_fixture f(kc::properties{{"batch.size", "1000000"}, {"buffer.memory", "2000000"}},
                        std::vector<std::int32_t>(1000, 1));
  for (std::int32_t p = 0; p < 1000; ++p) ASSERT_FALSE(f.append(p, 100)) << p;
  EXPECT_EQ(f.accumulator.buffered_bytes(), 1000 * (batch_charge + record_charge(100)));
  const auto drained = f.drain(kd::accumulator_clock::now(), true);
  ASSERT_EQ(drained_count(drained), 1000u);
  for (auto* b : drained.by_node.at(1)) {
    // Each batch started small: the room for one record and then some, not batch.size.
    EXPECT_LE(b->builder.buffer_capacity(), kd::initial_batch_bytes);
    f.deliver(b);
  }
  EXPECT_EQ(f.accumulator.buffered_bytes(), 0);
}

TEST(ProducerAccumulator, BufferMemoryFailsAtOnceWhenNotAllowedToBlock) {
  // Room for two one-record batches.
  const auto one = batch_charge + record_charge(10);
  accumulator_fixture f(kc::properties{{"buffer.memory", std::to_string(2 * one + 10)}}, {1, 1, 1});
  EXPECT_FALSE(f.append(0, 10));
  EXPECT_FALSE(f.append(1, 10));
  EXPECT_EQ(f.accumulator.buffered_bytes(), 2 * one);
  EXPECT_EQ(f.append(2, 10), kc::errc::buffer_exhausted);
  EXPECT_EQ(f.append(0, 10), kc::errc::buffer_exhausted);    // every record is counted
  EXPECT_EQ(f.accumulator.buffered_bytes(), 2 * one);        // nothing left over by a refusal
  EXPECT_EQ(f.append(2, 5000), kc::errc::record_too_large);  // could never fit
}

TEST(ProducerAccumulator, BufferMemoryBlocksUntilMaxBlockThenFails) {
  const auto one = batch_charge + record_charge(10);
  accumulator_fixture f(
      kc::properties{{"buffer.memory", std::to_string(one)}, {"max.block.ms", "50"}}, {1, 1});
  EXPECT_FALSE(f.append(0, 10));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(f.append(1, 10, /*may_block=*/true), kc::errc::buffer_exhausted);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);
}

TEST(ProducerAccumulator, BufferMemoryBlocksUntilABatchCompletes) {
  const auto one = batch_charge + record_charge(10);
  accumulator_fixture f(
      kc::properties{{"buffer.memory", std::to_string(one)}, {"max.block.ms", "10000"}}, {1, 1});
  EXPECT_FALSE(f.append(0, 10));
  auto drained = f.drain(kd::accumulator_clock::now(), true);
  ASSERT_EQ(drained_count(drained), 1u);
  auto* b = drained.by_node.at(1).front();
  std::thread sender([&] {
    std::this_thread::sleep_for(30ms);
    f.deliver(b);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(f.append(1, 10, /*may_block=*/true));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 25ms);
  sender.join();
  EXPECT_EQ(f.accumulator.buffered_bytes(), one);
}

TEST(ProducerAccumulator, CloseWakesASendBlockedOnBufferMemory) {
  accumulator_fixture f(
      kc::properties{{"buffer.memory", std::to_string(batch_charge + record_charge(10))},
                     {"max.block.ms", "10000"}},
      {1, 1});
  EXPECT_FALSE(f.append(0, 10));
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    f.accumulator.close();
  });
  EXPECT_EQ(f.append(1, 10, /*may_block=*/true), kc::errc::shut_down);
  closer.join();
  EXPECT_EQ(f.append(0, 10), kc::errc::shut_down);
}

// A send of a topic whose partitions are not known yet waits for buffer.memory; meanwhile the
// metadata arrives and the held records are placed. The waiting record must follow them into
// the batch, not be held after the placing is over (it was: it then failed by
// delivery.timeout.ms, seen as one lost record in 100,000 on a live broker).
TEST(ProducerAccumulator, ARecordThatWaitedForMemoryWhileItsTopicWasPlacedJoinsTheBatch) {
  const auto held = batch_charge + record_charge(10);
  accumulator_fixture f(kc::properties{
      {"buffer.memory", std::to_string(2 * held + record_charge(10))}, {"max.block.ms", "10000"}});
  std::deque<std::string> values;
  std::vector<std::error_code> completions;
  auto append_to_u = [&](bool may_block) {
    values.push_back(std::string(10, static_cast<char>('a' + values.size())));
    kc::delivery_callback callback = [&](std::error_code ec, const kc::delivery_report&) {
      completions.push_back(ec);
    };
    const auto& v = values.back();
    return f.accumulator.append(
        {.topic = "u",
         .partition = 0,
         .value = std::span(reinterpret_cast<const std::uint8_t*>(v.data()), v.size())},
        callback, may_block);
  };
  ASSERT_FALSE(append_to_u(false));  // held: "u" has no metadata yet
  ASSERT_FALSE(append_to_u(false));
  EXPECT_EQ(append_to_u(false), kc::errc::buffer_exhausted);
  values.pop_back();
  std::thread metadata([&] {
    std::this_thread::sleep_for(30ms);
    kc::cluster_metadata m;
    auto& t = m.topics["u"];
    t.name = "u";
    t.partitions.emplace_back().leader = 1;
    EXPECT_TRUE(f.accumulator.update_metadata(m).empty());
  });
  EXPECT_FALSE(append_to_u(true));  // waits for memory, which the placing frees
  metadata.join();
  const auto drained = f.drain(kd::accumulator_clock::now(), true);
  ASSERT_EQ(drained_count(drained), 1u);
  const auto* batch = drained.by_node.at(1).front();
  EXPECT_EQ(batch->callbacks.size(), 3u) << "a record was left behind";
  EXPECT_TRUE(drained.expired_pending.empty());
  EXPECT_TRUE(completions.empty());
}

TEST(ProducerAccumulator, DrainByBrokerTakesEveryPartitionItLeadsInOrder) {
  accumulator_fixture f({}, {1, 2, 1, 2, -1});
  for (std::int32_t p = 0; p < 5; ++p) ASSERT_FALSE(f.append(p, 10));
  const auto drained = f.drain(kd::accumulator_clock::now(), true);
  ASSERT_EQ(drained.by_node.size(), 2u);  // partition 4 has no leader: it stays
  std::vector<std::int32_t> on_1, on_2;
  for (auto* b : drained.by_node.at(1)) on_1.push_back(b->partition);
  for (auto* b : drained.by_node.at(2)) on_2.push_back(b->partition);
  EXPECT_EQ(on_1, (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(on_2, (std::vector<std::int32_t>{1, 3}));
  for (auto* b : drained.by_node.at(1)) EXPECT_TRUE(b->sealed);
  EXPECT_EQ(drained.by_node.at(1).front()->topic->partitions[0].in_flight, 1);
  // The sender's limits keep a broker's batches back.
  ASSERT_FALSE(f.append(0, 10));
  ASSERT_FALSE(f.append(1, 10));
  const auto only_2 =
      f.accumulator.drain({.now = kd::accumulator_clock::now(), .flushing = true, .may_send = true},
                          [](std::int32_t leader, const kd::producer_partition&,
                             const kd::producer_batch&) { return leader == 2; });
  ASSERT_EQ(only_2.by_node.size(), 1u);
  EXPECT_EQ(only_2.by_node.at(2).front()->partition, 1);
  // Without a usable producer id nothing is drained.
  const auto none = f.accumulator.drain(
      {.now = kd::accumulator_clock::now(), .flushing = true, .may_send = false},
      [](std::int32_t, const kd::producer_partition&, const kd::producer_batch&) { return true; });
  EXPECT_EQ(drained_count(none), 0u);
}

TEST(ProducerAccumulator, ARetriedBatchKeepsItsSequenceOrder) {
  accumulator_fixture f;
  kd::producer_batch* sent[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(f.append(0, 10));
    auto d = f.drain(kd::accumulator_clock::now(), true);
    ASSERT_EQ(drained_count(d), 1u);
    sent[i] = d.by_node.at(1).front();
    sent[i]->base_sequence = i * 10;
  }
  ASSERT_FALSE(f.append(0, 10));  // a new batch, never sent, no sequence
  // The responses come back out of order; each batch goes back ahead of the new one, in
  // sequence order.
  const auto later = kd::accumulator_clock::now() + 1h;
  f.accumulator.requeue(sent[2], later);
  f.accumulator.requeue(sent[0], later);
  f.accumulator.requeue(sent[1], later);
  const auto& queue = sent[0]->topic->partitions[0].queue;
  ASSERT_EQ(queue.size(), 4u);
  EXPECT_EQ(queue[0], sent[0]);
  EXPECT_EQ(queue[1], sent[1]);
  EXPECT_EQ(queue[2], sent[2]);
  EXPECT_EQ(queue[3]->base_sequence, -1);
  EXPECT_EQ(sent[0]->attempts, 1);
  EXPECT_EQ(sent[0]->topic->partitions[0].in_flight, 0);
  // A retried batch waits for its backoff, and is never appended to.
  EXPECT_EQ(drained_count(f.drain(kd::accumulator_clock::now(), true)), 0u);
  ASSERT_FALSE(f.append(0, 10));
  EXPECT_EQ(sent[2]->callbacks.size(), 1u);
  const auto retry = f.drain(later, true);
  ASSERT_EQ(drained_count(retry), 1u);
  EXPECT_EQ(retry.by_node.at(1).front(), sent[0]);
}

TEST(ProducerAccumulator, ExpiredBatchesAndHeldRecordsLeaveTheirQueues) {
  accumulator_fixture f(kc::properties{
      {"delivery.timeout.ms", "1000"}, {"linger.ms", "0"}, {"request.timeout.ms", "500"}});
  ASSERT_FALSE(f.append(0, 10));
  kc::delivery_callback ignore;
  const std::string v = "x";
  ASSERT_FALSE(f.accumulator.append(
      {.topic = "unknown", .value = std::span(reinterpret_cast<const std::uint8_t*>(v.data()), 1)},
      ignore, false));  // held until its topic's metadata arrives
  const auto later = kd::accumulator_clock::now() + 2s;
  EXPECT_EQ(f.accumulator.take_expired(later).size(), 1u);
  const auto drained = f.drain(later);
  EXPECT_EQ(drained.expired_pending.size(), 1u);
  EXPECT_EQ(drained_count(drained), 0u);
}

}  // namespace
