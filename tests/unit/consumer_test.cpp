// The consumer against scripted brokers: a corrupt batch behind good ones (the good
// records reach the application, then poll reports the corruption with the topic,
// partition and offset, and the position stays before the bad batch until a seek); pooled
// lz4 blocks; fetching from a preferred read replica (KIP-392); isolation.level (aborted
// transactions dropped under read_committed, transaction markers never returned).
#include "kwire/client/consumer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/thread_pool.hpp>
#include <future>
#include <map>
#include <memory>
#include <numeric>
#include <thread>

#include "fake_broker.hpp"
#include "fake_coordinator.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::run_until;
using namespace std::chrono_literals;

namespace {

std::string value_of(std::int64_t offset) {
  return "v" + std::to_string(offset) + std::string(static_cast<std::size_t>(offset % 300), '.');
}

std::vector<std::uint8_t> batch_at(std::int64_t base_offset, int records,
                                   kp::compression codec = kp::compression::none) {
  kp::record_batch_builder builder({.codec = codec});
  for (int i = 0; i < records; ++i) {
    const std::string value = value_of(base_offset + i);
    builder.append(1'700'000'000'000 + i, std::nullopt,
                   std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()),
                   {});
  }
  EXPECT_FALSE(builder.finish());
  std::vector<std::uint8_t> out(builder.bytes().begin(), builder.bytes().end());
  for (int i = 0; i < 8; ++i)  // base offset, big-endian
    out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(base_offset >> (56 - 8 * i));
  // The CRC covers attributes onwards, not the base offset: it stays valid.
  return out;
}

// Metadata of one topic "t" (id 9) with one partition led by node 1 at `leader_epoch`,
// replicated on every broker given (node id -> port; node N in rack "rN").
kwire::test::reply_body topic_metadata(const fake_request& r,
                                       const std::map<int, std::uint16_t>& brokers,
                                       std::int32_t leader_epoch) {
  kp::MetadataResponse resp;
  for (const auto& [id, port] : brokers) {
    auto& b = resp.brokers.emplace_back();
    b.node_id = id;
    b.host = "127.0.0.1";
    b.port = port;
    b.rack = "r" + std::to_string(id);
  }
  resp.controller_id = 1;
  auto& t = resp.topics.emplace_back();
  t.name = "t";
  t.topic_id.bytes[15] = 9;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.leader_id = 1;
  p.leader_epoch = leader_epoch;
  for (const auto& [id, port] : brokers) p.replica_nodes.push_back(id);
  p.isr_nodes = p.replica_nodes;
  return kwire::test::reply(resp, r.api_version);
}

// ListOffsets of partition 0: earliest 0, anything else `end`.
kwire::test::reply_body list_offsets(const fake_request& r, std::int64_t end) {
  const auto req = r.decode<kp::ListOffsetsRequest>();
  kp::ListOffsetsResponse resp;
  auto& t = resp.topics.emplace_back();
  t.name = req.topics.at(0).name;
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.offset = req.topics[0].partitions.at(0).timestamp == -2 ? 0 : end;
  return kwire::test::reply(resp, r.api_version);
}

// Like Kafka: the log from the batch holding `offset` to the end.
kp::byte_view records_from(const std::vector<std::uint8_t>& log, std::int64_t offset) {
  std::size_t from = 0;
  kp::record_batch_reader reader(log, kp::record_batch_reader_options{.verify_crc = false});
  kp::record_batch_view view;
  while (reader.next(view)) {
    const auto& h = view.header();
    if (h.base_offset + h.last_offset_delta >= offset) break;
    from = reader.consumed();
  }
  return kp::byte_view(std::span(log).subspan(from));
}

// One topic "t" led by broker 1, one log per partition. Its Fetch answers like Kafka: from
// the batch holding the fetch offset, whole batches up to the partition's max bytes (at
// least one). It keeps no fetch sessions.
struct fake_kafka {
  // An aborted transaction of a partition: its producer, first offset and ABORT marker.
  struct aborted_txn {
    std::int64_t producer_id = 0;
    std::int64_t first_offset = 0;
    std::int64_t marker_offset = 0;
  };
  std::uint16_t port = 0;
  std::vector<std::vector<std::uint8_t>> logs;
  std::vector<std::vector<aborted_txn>> aborted;  // per partition (may be shorter)
  std::vector<std::int64_t> last_stable;          // per partition (may be shorter): else the end
  std::vector<std::vector<std::int32_t>> fetched_partitions;  // per Fetch request
  std::vector<std::int8_t> isolation_levels;                  // per Fetch request
  // Leader epochs of partition 0's log, (epoch, start offset) ascending; when set, a fetch
  // is answered as Kafka does (KIP-320): a last_fetched_epoch that ends before the fetch
  // offset gets a diverging epoch and no records.
  std::vector<std::pair<std::int32_t, std::int64_t>> epoch_starts;
  std::vector<std::int32_t> last_fetched_epochs;  // of partition 0, per Fetch request

  fake_action operator()(const fake_request& r) {
    switch (r.api_key) {
      case kp::MetadataRequest::api_key: {
        kp::MetadataResponse resp;
        auto& b = resp.brokers.emplace_back();
        b.node_id = 1;
        b.host = "127.0.0.1";
        b.port = port;
        resp.controller_id = 1;
        auto& t = resp.topics.emplace_back();
        t.name = "t";
        t.topic_id.bytes[15] = 9;
        for (std::size_t i = 0; i < logs.size(); ++i) {
          auto& p = t.partitions.emplace_back();
          p.partition_index = static_cast<std::int32_t>(i);
          p.leader_id = 1;
          p.leader_epoch = 0;
        }
        return kwire::test::reply(resp, r.api_version);
      }
      case kp::ListOffsetsRequest::api_key: {
        const auto req = r.decode<kp::ListOffsetsRequest>();
        kp::ListOffsetsResponse resp;
        auto& t = resp.topics.emplace_back();
        t.name = req.topics.at(0).name;
        for (const auto& rp : req.topics[0].partitions) {
          auto& p = t.partitions.emplace_back();
          p.partition_index = rp.partition_index;
          p.offset = rp.timestamp == -2 ? 0 : end_offset(rp.partition_index);
          if (rp.partition_index == 0 && !epoch_starts.empty())
            p.leader_epoch =
                rp.timestamp == -2 ? epoch_starts.front().first : epoch_starts.back().first;
        }
        return kwire::test::reply(resp, r.api_version);
      }
      case kp::FetchRequest::api_key: {
        const auto req = r.decode<kp::FetchRequest>();
        auto& named = fetched_partitions.emplace_back();
        isolation_levels.push_back(req.isolation_level);
        kp::FetchResponse resp;
        for (const auto& t : req.topics) {
          auto& rt = resp.responses.emplace_back();
          rt.topic = t.topic;
          rt.topic_id = t.topic_id;
          for (const auto& p : t.partitions) {
            named.push_back(p.partition);
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition;
            rp.high_watermark = end_offset(p.partition);
            rp.last_stable_offset = static_cast<std::size_t>(p.partition) < last_stable.size()
                                        ? last_stable[static_cast<std::size_t>(p.partition)]
                                        : rp.high_watermark;
            rp.log_start_offset = 0;
            if (p.partition == 0) last_fetched_epochs.push_back(p.last_fetched_epoch);
            if (p.partition == 0 && !epoch_starts.empty() && p.last_fetched_epoch >= 0) {
              std::int64_t epoch_end = end_offset(0);
              for (const auto& [epoch, start] : epoch_starts)
                if (epoch > p.last_fetched_epoch) {
                  epoch_end = start;
                  break;
                }
              if (epoch_end < p.fetch_offset) {
                rp.diverging_epoch.epoch = p.last_fetched_epoch;
                rp.diverging_epoch.end_offset = epoch_end;
                continue;
              }
            }
            std::span<const std::uint8_t> log = logs.at(static_cast<std::size_t>(p.partition));
            if (req.isolation_level == 1)  // as Kafka: nothing at or past the last stable offset
              log = log.first(bytes_below(log, rp.last_stable_offset));
            const auto records = batches_from(log, p.fetch_offset, p.partition_max_bytes);
            rp.records = kp::byte_view(records);
            // As Kafka: under read_committed, the aborted transactions that overlap the
            // records sent (from the fetch offset to their last offset); else null.
            rp.aborted_transactions.reset();
            if (req.isolation_level == 1) {
              rp.aborted_transactions.emplace();
              const auto upto = last_offset_in(records);
              if (static_cast<std::size_t>(p.partition) < aborted.size())
                for (const auto& a : aborted[static_cast<std::size_t>(p.partition)])
                  if (a.marker_offset >= p.fetch_offset && a.first_offset <= upto)
                    rp.aborted_transactions->push_back({a.producer_id, a.first_offset, {}});
            }
          }
        }
        return kwire::test::reply(resp, r.api_version);
      }
    }
    return kwire::test::no_reply{};
  }

  std::int64_t end_offset(std::int32_t partition) const {
    std::int64_t end = 0;
    kp::record_batch_reader reader(logs.at(static_cast<std::size_t>(partition)),
                                   kp::record_batch_reader_options{.verify_crc = false});
    kp::record_batch_view view;
    while (reader.next(view)) end = view.header().base_offset + view.header().last_offset_delta + 1;
    return end;
  }

  // The bytes of the log's batches that end before `offset`.
  static std::size_t bytes_below(std::span<const std::uint8_t> log, std::int64_t offset) {
    kp::record_batch_reader reader(log, kp::record_batch_reader_options{.verify_crc = false});
    kp::record_batch_view view;
    std::size_t below = 0;
    while (reader.next(view) && view.header().last_offset() < offset) below = reader.consumed();
    return below;
  }

  static std::int64_t last_offset_in(std::span<const std::uint8_t> records) {
    std::int64_t last = -1;
    kp::record_batch_reader reader(records, kp::record_batch_reader_options{.verify_crc = false});
    kp::record_batch_view view;
    while (reader.next(view)) last = view.header().last_offset();
    return last;
  }

  static std::span<const std::uint8_t> batches_from(std::span<const std::uint8_t> log,
                                                    std::int64_t offset, std::int32_t max_bytes) {
    std::size_t from = 0, to = 0;
    kp::record_batch_reader reader(log, kp::record_batch_reader_options{.verify_crc = false});
    kp::record_batch_view view;
    while (reader.next(view)) {
      const auto& h = view.header();
      if (h.base_offset + h.last_offset_delta < offset) {
        from = to = reader.consumed();
        continue;
      }
      // A batch past the limit only when it is the first.
      if (to > from && reader.consumed() - from > static_cast<std::size_t>(max_bytes)) break;
      to = reader.consumed();
    }
    return log.subspan(from, to - from);
  }
};

// Partition 0 of `fake_kafka`: three good records at 0..2, then a batch at 3 with a flipped
// byte in its records (CRC mismatch), then a good one at 5.
struct corrupt_kafka : fake_kafka {
  corrupt_kafka() {
    auto& log = logs.emplace_back(batch_at(0, 3));
    auto bad = batch_at(3, 2);
    bad.back() ^= 0x5a;
    log.insert(log.end(), bad.begin(), bad.end());
    auto after = batch_at(5, 1);
    log.insert(log.end(), after.begin(), after.end());
  }
};

// `extra` adds properties or overrides these.
kc::consumer_config config_for(std::uint16_t port, kc::properties extra = {}) {
  kc::properties props = {{"bootstrap.servers", "127.0.0.1:" + std::to_string(port)},
                          {"auto.offset.reset", "earliest"},
                          {"fetch.max.wait.ms", "10"},
                          {"retry.backoff.ms", "5"}};
  props.insert(props.end(), extra.begin(), extra.end());
  kc::consumer_config config;
  auto error = kc::parse_consumer_config(props, config);
  EXPECT_FALSE(error) << error->message;
  return config;
}

struct poll_result {
  bool done = false;
  std::error_code ec;
  std::vector<std::int64_t> offsets;
};

poll_result poll(boost::asio::io_context& io, kc::consumer& c) {
  poll_result out;
  c.async_poll(1s, [&](std::error_code ec, kc::record_set set) {
    out.ec = ec;
    kc::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r);) out.offsets.push_back(r.offset);
    out.done = true;
  });
  run_until(
      io, [&] { return out.done; }, 5s);
  EXPECT_TRUE(out.done);
  return out;
}

void close(boost::asio::io_context& io, kc::consumer& c) {
  bool closed = false;
  c.async_close([&] { closed = true; });
  run_until(
      io, [&] { return closed; }, 5s);
  EXPECT_TRUE(closed);
}

TEST(Consumer, ACorruptBatchIsReportedWithItsPartitionAndOffsetAfterTheGoodRecords) {
  boost::asio::io_context io;
  corrupt_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::consumer c(io.get_executor(), config_for(broker.port()));
  c.assign({{"t", 0}});
  std::vector<std::int64_t> got;
  poll_result last;
  for (int i = 0; i < 10 && !last.ec; ++i) {
    last = poll(io, c);
    got.insert(got.end(), last.offsets.begin(), last.offsets.end());
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(last.ec, kp::make_error_code(kp::errc::crc_mismatch)) << last.ec.message();
  const auto details = c.last_error_details();
  EXPECT_EQ(details.topic, "t");
  EXPECT_EQ(details.partition, 0);
  EXPECT_NE(details.server_message.find("after offset 2"), std::string::npos)
      << details.server_message;
  EXPECT_EQ(c.position({"t", 0}), 3);
  // Every later poll says the same until the application seeks past it.
  EXPECT_EQ(poll(io, c).ec, kp::make_error_code(kp::errc::crc_mismatch));
  c.seek({"t", 5}, 5);  // not assigned: ignored
  c.seek({"t", 0}, 5);
  got.clear();
  for (int i = 0; i < 10 && got.empty(); ++i) {
    last = poll(io, c);
    ASSERT_FALSE(last.ec) << last.ec.message();
    got = last.offsets;
  }
  EXPECT_EQ(got, (std::vector<std::int64_t>{5}));
  close(io, c);
}

// A slow application and a fast broker: fetching pauses at fetch.max.bytes of waiting
// responses, then resumes for every partition at once. Were each partition held back on its
// own, they would come free one by one as poll drains them, and the fetches would name one
// partition each (many more requests, and fetch-session churn on a real broker).
TEST(Consumer, EveryFetchNamesEveryPartitionWhileTheApplicationLagsBehind) {
  boost::asio::io_context io;
  fake_kafka kafka;
  constexpr int kPartitions = 3, kBatches = 40, kPerBatch = 10;
  for (int p = 0; p < kPartitions; ++p) {
    auto& log = kafka.logs.emplace_back();
    for (int b = 0; b < kBatches; ++b) {
      auto batch = batch_at(b * kPerBatch, kPerBatch);
      log.insert(log.end(), batch.begin(), batch.end());
    }
  }
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  auto config = config_for(broker.port());
  config.max_partition_fetch_bytes = 8000;  // a few batches of a partition per response
  config.fetch_max_bytes = 50000;           // about two responses wait, then fetching pauses
  config.max_poll_records = 7;
  kc::consumer c(io.get_executor(), config);
  std::vector<kc::topic_partition> all;
  for (int p = 0; p < kPartitions; ++p) all.push_back({"t", p});
  c.assign(all);
  std::vector<std::int64_t> next(kPartitions, 0);
  int received = 0;
  for (int polls = 0; polls < 2000 && received < kPartitions * kBatches * kPerBatch; ++polls) {
    bool done = false;
    c.async_poll(1s, [&](std::error_code ec, kc::record_set set) {
      EXPECT_FALSE(ec) << ec.message();
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r); ++received) {
        auto& expected = next.at(static_cast<std::size_t>(r.partition));
        ASSERT_EQ(r.offset, expected);
        ++expected;
      }
      done = true;
    });
    run_until(
        io, [&] { return done; }, 5s);
    ASSERT_TRUE(done);
  }
  EXPECT_EQ(received, kPartitions * kBatches * kPerBatch);
  // The whole log takes many responses: the limit was met again and again.
  EXPECT_GT(kafka.fetched_partitions.size(), 10u);
  for (std::size_t i = 0; i < kafka.fetched_partitions.size(); ++i)
    EXPECT_EQ(kafka.fetched_partitions[i].size(), std::size_t{kPartitions}) << "fetch " << i;
  close(io, c);
}

// A response whose batches cross a leader epoch change (a leader moved while they were
// written): the next fetch names the epoch of the last batch, so the leader sees no
// divergence. Naming an earlier epoch made the leader answer with that epoch's end, and the
// position went back there after every response: the records in between came again and again.
TEST(Consumer, AFetchAfterBatchesOfTwoLeaderEpochsNamesTheLastOne) {
  boost::asio::io_context io;
  fake_kafka kafka;
  auto& log = kafka.logs.emplace_back();
  for (int b = 0; b < 6; ++b) {
    auto batch = batch_at(b * 10, 10);
    const std::int32_t epoch = b < 2 ? 0 : 1;  // partitionLeaderEpoch: bytes 12-15, not in the CRC
    for (int i = 0; i < 4; ++i)
      batch[static_cast<std::size_t>(12 + i)] = static_cast<std::uint8_t>(epoch >> (24 - 8 * i));
    log.insert(log.end(), batch.begin(), batch.end());
  }
  kafka.epoch_starts = {{0, 0}, {1, 20}};
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  auto config = config_for(broker.port());
  config.auto_offset_reset = kc::offset_reset::earliest;  // ListOffsets gives offset 0, epoch 0
  kc::consumer c(io.get_executor(), config);
  c.assign({{"t", 0}});
  std::int64_t next = 0;
  for (int polls = 0; polls < 20; ++polls) {
    bool done = false;
    c.async_poll(100ms, [&](std::error_code ec, kc::record_set set) {
      EXPECT_FALSE(ec) << ec.message();
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r);) {
        ASSERT_EQ(r.offset, next) << "after poll " << polls;
        ++next;
      }
      done = true;
    });
    run_until(
        io, [&] { return done; }, 5s);
    ASSERT_TRUE(done);
  }
  EXPECT_EQ(next, 60);
  // Once the batches of epoch 1 were fetched, no fetch named epoch 0 again.
  bool past = false;
  for (const auto epoch : kafka.last_fetched_epochs) {
    if (epoch == 1) past = true;
    if (past) {
      EXPECT_EQ(epoch, 1);
    }
  }
  EXPECT_TRUE(past);
  close(io, c);
}

// An application that stops polling: the broker gets no Fetch while two of its responses
// wait, however far below fetch.max.bytes they are (one response read, the next one
// checked and then waiting, and at most one more in flight).
TEST(Consumer, ABrokerIsNotAskedAgainWhileTwoOfItsResponsesWait) {
  boost::asio::io_context io;
  fake_kafka kafka;
  for (int p = 0; p < 3; ++p) {
    auto& log = kafka.logs.emplace_back();
    for (int b = 0; b < 100; ++b) {
      auto batch = batch_at(b * 10, 10);
      log.insert(log.end(), batch.begin(), batch.end());
    }
  }
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  auto config = config_for(broker.port());
  config.max_partition_fetch_bytes = 4000;  // many responses to the end of the log
  config.max_poll_records = 5;
  kc::consumer c(io.get_executor(), config);
  c.assign({{"t", 0}, {"t", 1}, {"t", 2}});
  const auto first = poll(io, c);
  ASSERT_FALSE(first.ec) << first.ec.message();
  ASSERT_FALSE(first.offsets.empty());
  run_until(
      io, [] { return false; }, 300ms);  // no poll meanwhile
  EXPECT_LE(kafka.fetched_partitions.size(), 3u);
  const auto fetches_while_idle = kafka.fetched_partitions.size();
  // Polling on frees the responses and the fetches resume.
  for (int i = 0; i < 200; ++i) poll(io, c);
  EXPECT_GT(kafka.fetched_partitions.size(), fetches_while_idle);
  close(io, c);
}

// lz4 records are decompressed into pooled blocks that go back to the pool when the last
// record_set using them is gone: sets kept while others are dropped must keep their records
// (a block recycled too early would be overwritten by later fetches; ASan builds also see
// the use after free).
TEST(Consumer, Lz4RecordsStayValidAsLongAsTheirRecordSet) {
  boost::asio::io_context io;
  fake_kafka kafka;  // one partition of 60 good lz4 batches
  auto& log = kafka.logs.emplace_back();
  constexpr int kBatches = 60, kPerBatch = 50;
  for (int b = 0; b < kBatches; ++b) {
    auto batch = batch_at(b * kPerBatch, kPerBatch, kp::compression::lz4);
    log.insert(log.end(), batch.begin(), batch.end());
  }
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  auto config = config_for(broker.port());
  config.max_poll_records = 70;             // sets that end inside a batch
  config.max_partition_fetch_bytes = 4096;  // many responses, hence many pool blocks
  kc::consumer c(io.get_executor(), config);
  c.assign({{"t", 0}});
  std::vector<kc::record_set> kept;
  std::int64_t next = 0;
  for (int polls = 0; polls < 1000 && next < kBatches * kPerBatch; ++polls) {
    bool done = false;
    c.async_poll(1s, [&](std::error_code ec, kc::record_set set) {
      EXPECT_FALSE(ec) << ec.message();
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r); ++next) {
        ASSERT_EQ(r.offset, next);
        ASSERT_TRUE(r.value);
        EXPECT_EQ(std::string(r.value->begin(), r.value->end()), value_of(r.offset));
      }
      if (polls % 3 == 0) kept.push_back(std::move(set));  // the others die here
      done = true;
    });
    run_until(
        io, [&] { return done; }, 5s);
    ASSERT_TRUE(done);
  }
  EXPECT_EQ(next, kBatches * kPerBatch);
  ASSERT_GT(kept.size(), 3u);
  for (const auto& set : kept) {
    kc::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r);)
      EXPECT_EQ(std::string(r.value->begin(), r.value->end()), value_of(r.offset));
  }
  close(io, c);
}

// The checks of a response's batches (CRC, lz4 decompression, records) run on any thread of
// the consumer's executor, beside the strand and the next responses: with three threads and
// a batch a response, large batches among tiny ones, every record still reaches poll once, in
// offset order per partition, intact. (It caught a FIFO deliberately broken in about one run
// of three: a guard, not a proof.)
TEST(Consumer, RecordsCheckedOnOtherThreadsArriveOnceInOrderAndIntact) {
  boost::asio::io_context broker_io;  // the fake broker on a thread of its own
  fake_kafka kafka;
  // Large batches among tiny ones, a batch or so a response: a response's checks often
  // take longer than the next response of the same partition takes to come and be checked.
  constexpr int kPartitions = 3, kBatches = 12;
  std::int64_t per_partition = 0;
  for (int p = 0; p < kPartitions; ++p) {
    auto& log = kafka.logs.emplace_back();
    std::int64_t offset = 0;
    for (int b = 0; b < kBatches; ++b) {
      const int records = b % 3 == 0 ? 20000 : 1;
      auto batch = batch_at(offset, records, kp::compression::lz4);
      log.insert(log.end(), batch.begin(), batch.end());
      offset += records;
    }
    per_partition = offset;
  }
  fake_broker broker(broker_io, std::ref(kafka));
  kafka.port = broker.port();
  auto guard = boost::asio::make_work_guard(broker_io);
  std::thread broker_thread([&] { broker_io.run(); });
  boost::asio::thread_pool pool(3);
  {
    auto config = config_for(broker.port());
    config.max_partition_fetch_bytes = 1;  // one batch a response (at least one is sent)
    config.max_poll_records = 100000;      // poll takes all: responses rarely wait for it
    kc::consumer c(pool.get_executor(), config);
    c.assign({{"t", 0}, {"t", 1}, {"t", 2}});
    std::vector<std::int64_t> next(kPartitions, 0);
    std::int64_t total = 0;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (total < kPartitions * per_partition && std::chrono::steady_clock::now() < deadline) {
      std::promise<std::pair<std::error_code, kc::record_set>> polled;
      c.async_poll(1s, [&polled](std::error_code ec, kc::record_set set) {
        polled.set_value({ec, std::move(set)});
      });
      auto [ec, set] = polled.get_future().get();
      ASSERT_FALSE(ec) << ec.message();
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r); ++total) {
        auto& expected = next.at(static_cast<std::size_t>(r.partition));
        ASSERT_EQ(r.offset, expected) << "partition " << r.partition;
        ++expected;
        ASSERT_TRUE(r.value);
        ASSERT_EQ(std::string(r.value->begin(), r.value->end()), value_of(r.offset));
      }
    }
    EXPECT_EQ(total, kPartitions * per_partition);
    EXPECT_EQ(next, std::vector<std::int64_t>(kPartitions, per_partition));
    std::promise<void> closed;
    c.async_close([&closed] { closed.set_value(); });
    EXPECT_EQ(closed.get_future().wait_for(10s), std::future_status::ready);
  }
  pool.join();
  guard.reset();
  broker_io.stop();
  broker_thread.join();
}

// max.poll.records is an upper bound, as in the Java client: a poll ends inside a batch
// when the budget runs out there, and the next poll starts at the record after it (batches
// of 7, 13, 1 and 25 records against polls of 4: most polls cut a batch).
class ConsumerPollLimit : public testing::TestWithParam<kp::compression> {};

TEST_P(ConsumerPollLimit, APollHandsOutAtMostMaxPollRecordsAndTheNextStartsAfterThem) {
  boost::asio::io_context io;
  fake_kafka kafka;
  auto& log = kafka.logs.emplace_back();
  std::int64_t end = 0;
  for (int round = 0; round < 5; ++round)
    for (int size : {7, 13, 1, 25}) {
      auto batch = batch_at(end, size, GetParam());
      log.insert(log.end(), batch.begin(), batch.end());
      end += size;
    }
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  auto config = config_for(broker.port());
  config.max_poll_records = 4;
  config.max_partition_fetch_bytes = 3000;  // responses end at various batches
  kc::consumer c(io.get_executor(), config);
  c.assign({{"t", 0}});
  std::int64_t next = 0;
  int full_polls = 0;
  for (int polls = 0; polls < 1000 && next < end; ++polls) {
    const auto got = poll(io, c);
    ASSERT_FALSE(got.ec) << got.ec.message();
    ASSERT_LE(got.offsets.size(), 4u);
    if (got.offsets.size() == 4) ++full_polls;
    for (auto offset : got.offsets) {
      ASSERT_EQ(offset, next++);  // no gap, no repeat
    }
    if (!got.offsets.empty()) {
      EXPECT_EQ(c.position({"t", 0}), next);
    }
  }
  EXPECT_EQ(next, end);
  EXPECT_GT(full_polls, static_cast<int>(end / 4 / 2));  // the limit is reached, not only kept
  close(io, c);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ConsumerPollLimit,
                         testing::Values(kp::compression::none, kp::compression::lz4),
                         [](const auto& info) {
                           return info.param == kp::compression::none ? "none" : "lz4";
                         });

// ---- isolation.level: aborted transactions and transaction markers

// A partition's log written as transactional producers and their coordinator write it:
// data batches (transactional or not) and COMMIT/ABORT markers, with what each isolation
// level must return and the aborted transactions' index.
struct txn_log {
  std::vector<std::uint8_t> bytes;
  std::int64_t end = 0;
  std::vector<std::int64_t> data;       // every data record's offset
  std::vector<std::int64_t> committed;  // the data records of committed (or no) transactions
  std::vector<fake_kafka::aborted_txn> aborted;
  std::map<std::int64_t, std::vector<std::int64_t>> open;  // producer -> its open records
  kp::compression codec = kp::compression::none;           // of the data batches

  // `records` data records of `producer` (-1: not transactional).
  void add_data(std::int64_t producer, int records) {
    kp::record_batch_builder builder({.codec = codec,
                                      .transactional = producer >= 0,
                                      .base_offset = end,
                                      .producer_id = producer,
                                      .producer_epoch = std::int16_t(producer >= 0 ? 0 : -1)});
    for (int i = 0; i < records; ++i, ++end) {
      const std::string value = value_of(end);
      builder.append(1'700'000'000'000 + end, std::nullopt,
                     std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
      data.push_back(end);
      (producer >= 0 ? open[producer] : committed).push_back(end);
    }
    add(builder);
  }
  // The marker that ends `producer`'s transaction.
  void add_marker(std::int64_t producer, kp::control_type type) {
    kp::record_batch_builder builder({.transactional = true,
                                      .control = true,
                                      .base_offset = end,
                                      .producer_id = producer,
                                      .producer_epoch = 0});
    builder.append_end_txn_marker(type, 7, 1'700'000'000'000 + end);
    const auto records = std::move(open[producer]);
    open.erase(producer);
    if (type == kp::control_type::commit) {
      committed.insert(committed.end(), records.begin(), records.end());
      std::sort(committed.begin(), committed.end());
    } else {
      aborted.push_back({producer, records.empty() ? end : records.front(), end});
    }
    ++end;
    add(builder);
  }
  void add(kp::record_batch_builder& builder) {
    EXPECT_FALSE(builder.finish());
    bytes.insert(bytes.end(), builder.bytes().begin(), builder.bytes().end());
  }
};

// Two producers' transactions interleaved on one partition, committed and aborted, with
// records of no transaction between them; the data batches compressed with `codec`.
txn_log interleaved_transactions(kp::compression codec) {
  txn_log log;
  log.codec = codec;
  constexpr std::int64_t p1 = 1001, p2 = 2002;
  log.add_data(-1, 2);
  log.add_data(p1, 2);  // committed
  log.add_data(p2, 2);  // aborted
  log.add_data(p1, 1);
  log.add_marker(p1, kp::control_type::commit);
  log.add_data(p2, 3);
  log.add_data(-1, 1);
  log.add_marker(p2, kp::control_type::abort);
  log.add_data(p2, 1);  // committed
  log.add_data(p1, 2);  // aborted
  log.add_data(p2, 2);
  log.add_data(p1, 1);
  log.add_marker(p2, kp::control_type::commit);
  log.add_marker(p1, kp::control_type::abort);
  log.add_data(p1, 2);  // aborted, alone
  log.add_marker(p1, kp::control_type::abort);
  return log;
}

struct read_result {
  std::error_code ec;
  std::vector<std::int64_t> offsets;
  std::vector<std::string> values;
  std::int64_t position = -1;
};

// Polls partition 0 of topic "t" (the fake broker on `io`) from the beginning until the position
// reaches `end`.
read_result read_to(boost::asio::io_context& io, std::uint16_t port, std::int64_t end,
                    kc::properties extra) {
  kc::consumer c(io.get_executor(), config_for(port, std::move(extra)));
  c.assign({{"t", 0}});
  read_result out;
  for (int polls = 0; polls < 200 && !out.ec && c.position({"t", 0}).value_or(-1) < end; ++polls) {
    bool done = false;
    c.async_poll(200ms, [&](std::error_code ec, kc::record_set set) {
      out.ec = ec;
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r);) {
        out.offsets.push_back(r.offset);
        out.values.emplace_back(r.value ? std::string(r.value->begin(), r.value->end()) : "");
      }
      done = true;
    });
    run_until(
        io, [&] { return done; }, 5s);
  }
  out.position = c.position({"t", 0}).value_or(-1);
  close(io, c);
  return out;
}

std::vector<std::string> values_of(const std::vector<std::int64_t>& offsets) {
  std::vector<std::string> out;
  for (auto offset : offsets) out.push_back(value_of(offset));
  return out;
}

// The settings each isolation test runs with: whole responses and polls; one batch per
// response (a transaction's batches and its marker in different responses, responses
// holding aborted data only); one record per poll.
const std::vector<std::pair<std::string, kc::properties>> isolation_variants = {
    {"defaults", {}},
    {"one batch per fetch", {{"max.partition.fetch.bytes", "1"}}},
    {"one record per poll", {{"max.poll.records", "1"}}},
    {"both", {{"max.partition.fetch.bytes", "1"}, {"max.poll.records", "1"}}},
};

// Reads `interleaved_transactions(codec)` under `level` with each variant: exactly the
// records of the log's `expected` offsets, in order, then the position past the last marker;
// every Fetch asks for `level`.
void expect_isolation(const std::string& level, std::vector<std::int64_t> txn_log::*expected,
                      std::int8_t fetch_level, kp::compression codec) {
  boost::asio::io_context io;
  fake_kafka kafka;
  const auto log = interleaved_transactions(codec);
  kafka.logs.push_back(log.bytes);
  kafka.aborted.push_back(log.aborted);
  ASSERT_EQ(log.aborted.size(), 3u);
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  for (const auto& [name, props] : isolation_variants) {
    SCOPED_TRACE(level + ", " + name);
    auto extra = props;
    extra.emplace_back("isolation.level", level);
    const auto got = read_to(io, broker.port(), log.end, extra);
    ASSERT_FALSE(got.ec) << got.ec.message();
    EXPECT_EQ(got.offsets, log.*expected);
    EXPECT_EQ(got.values, values_of(log.*expected));
    EXPECT_EQ(got.position, log.end);  // past the last marker
  }
  EXPECT_TRUE(std::all_of(kafka.isolation_levels.begin(), kafka.isolation_levels.end(),
                          [&](std::int8_t l) { return l == fetch_level; }));
}

// Compressed batches too: a dropped lz4 batch's pooled room is reused by the next one.
class ConsumerIsolationCodecs : public testing::TestWithParam<kp::compression> {};

TEST_P(ConsumerIsolationCodecs, ReadCommittedReturnsExactlyTheCommittedRecordsInOrder) {
  expect_isolation("read_committed", &txn_log::committed, 1, GetParam());
}

TEST_P(ConsumerIsolationCodecs, ReadUncommittedReturnsEveryDataRecordAndNoMarker) {
  expect_isolation("read_uncommitted", &txn_log::data, 0, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Codecs, ConsumerIsolationCodecs,
                         testing::Values(kp::compression::none, kp::compression::lz4,
                                         kp::compression::zstd),
                         [](const auto& info) {
                           switch (info.param) {
                             case kp::compression::lz4:
                               return "lz4";
                             case kp::compression::zstd:
                               return "zstd";
                             default:
                               return "none";
                           }
                         });

// The aborted transaction's first batch comes in one response, its marker in a later one:
// each response names the transaction (it overlaps the records sent), and its batches in
// both are dropped.
TEST(ConsumerIsolation, AnAbortedTransactionSpanningResponsesIsDroppedInEach) {
  boost::asio::io_context io;
  fake_kafka kafka;
  txn_log log;
  log.add_data(7, 3);
  log.add_data(-1, 1);
  log.add_data(7, 1);
  log.add_data(-1, 2);
  log.add_marker(7, kp::control_type::abort);
  log.add_data(-1, 1);
  kafka.logs.push_back(log.bytes);
  kafka.aborted.push_back(log.aborted);
  ASSERT_EQ(log.committed, (std::vector<std::int64_t>{3, 5, 6, 8}));
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  const auto got = read_to(io, broker.port(), log.end,
                           {{"isolation.level", "read_committed"},
                            {"max.partition.fetch.bytes", "1"}});  // a batch per response
  ASSERT_FALSE(got.ec) << got.ec.message();
  EXPECT_EQ(got.offsets, log.committed);
  EXPECT_EQ(got.values, values_of(log.committed));
  EXPECT_EQ(got.position, log.end);
  EXPECT_GE(kafka.fetched_partitions.size(), 6u);  // one response per batch at least
}

TEST(ConsumerIsolation, MarkersAloneMoveThePositionAndReturnNothing) {
  boost::asio::io_context io;
  fake_kafka kafka;
  txn_log log;
  log.add_marker(1, kp::control_type::commit);
  log.add_marker(2, kp::control_type::abort);
  log.add_marker(1, kp::control_type::commit);
  kafka.logs.push_back(log.bytes);
  kafka.aborted.push_back(log.aborted);
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  for (const char* level : {"read_committed", "read_uncommitted"}) {
    for (const auto& [name, props] : isolation_variants) {
      SCOPED_TRACE(std::string(level) + ", " + name);
      auto extra = props;
      extra.emplace_back("isolation.level", level);
      const auto got = read_to(io, broker.port(), log.end, extra);
      ASSERT_FALSE(got.ec) << got.ec.message();
      EXPECT_TRUE(got.offsets.empty());
      EXPECT_EQ(got.position, 3);
    }
  }
}

// An open transaction holds the last stable offset below the high watermark: read_committed
// reads up to it, and its lag and watermarks say so; read_uncommitted reads everything.
TEST(ConsumerIsolation, ReadCommittedEndsAtTheLastStableOffset) {
  boost::asio::io_context io;
  fake_kafka kafka;
  txn_log log;
  log.add_data(-1, 2);
  log.add_data(5, 2);  // open
  log.add_data(-1, 1);
  kafka.logs.push_back(log.bytes);
  kafka.last_stable.push_back(2);
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  for (const char* level : {"read_committed", "read_uncommitted"}) {
    SCOPED_TRACE(level);
    const bool committed = std::string_view(level) == "read_committed";
    const std::int64_t end = committed ? 2 : 5;
    kc::consumer c(io.get_executor(), config_for(broker.port(), {{"isolation.level", level}}));
    c.assign({{"t", 0}});
    std::vector<std::int64_t> got;
    for (int polls = 0; polls < 50 && c.position({"t", 0}).value_or(-1) < end; ++polls) {
      const auto r = poll(io, c);
      ASSERT_FALSE(r.ec) << r.ec.message();
      got.insert(got.end(), r.offsets.begin(), r.offsets.end());
    }
    const auto more = poll(io, c);  // and nothing more comes
    got.insert(got.end(), more.offsets.begin(), more.offsets.end());
    EXPECT_EQ(got, (committed ? std::vector<std::int64_t>{0, 1} : log.data));
    EXPECT_EQ(c.position({"t", 0}), end);
    const auto marks = c.watermarks({"t", 0});
    ASSERT_TRUE(marks);
    EXPECT_EQ(marks->high_watermark, 5);
    EXPECT_EQ(marks->last_stable_offset, 2);
    const auto m = c.metrics();
    ASSERT_EQ(m.lag.size(), 1u);
    EXPECT_EQ(m.lag[0].high_watermark, end);  // the last stable offset under read_committed
    EXPECT_EQ(m.lag[0].lag, 0);
    close(io, c);
  }
}

// `fake_kafka` that is also the group coordinator: it keeps what is committed.
struct committing_kafka : fake_kafka {
  kwire::test::fake_offsets_coordinator coordinator;

  fake_action operator()(const fake_request& r) {
    coordinator.port = port;
    if (auto answer = coordinator(r)) return *answer;
    return fake_kafka::operator()(r);
  }
};

// Auto commit commits what the application is done with: the records of a poll count as
// consumed when the application polls again (as in the Java client), never records it may
// still be working on. Close, the application's last word, commits everything handed out.
TEST(Consumer, AutoCommitCommitsOnlyTheRecordsOfEarlierPolls) {
  boost::asio::io_context io;
  committing_kafka kafka;
  auto& log = kafka.logs.emplace_back();
  for (int b = 0; b < 8; ++b) {  // batches of a poll's size: the limit is not what is tested
    auto batch = batch_at(b * 5, 5);
    log.insert(log.end(), batch.begin(), batch.end());
  }
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  auto config = config_for(broker.port(), {{"group.id", "g"},
                                           {"enable.auto.commit", "true"},
                                           {"auto.commit.interval.ms", "20"},
                                           {"max.poll.records", "5"}});
  kc::consumer c(io.get_executor(), config);
  c.assign({{"t", 0}});
  auto committed_after_a_while = [&] {
    const int before = kafka.coordinator.commits;
    run_until(
        io, [&] { return kafka.coordinator.commits >= before + 1; }, 2s);
    run_until(
        io, [] { return false; }, 100ms);  // more rounds: the value must stay
    auto it = kafka.coordinator.committed.find(0);
    return it == kafka.coordinator.committed.end() ? std::int64_t{-1} : it->second;
  };
  const auto first = poll(io, c);
  ASSERT_EQ(first.offsets, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  // Still working on 0..4: nothing of them is committed.
  EXPECT_EQ(committed_after_a_while(), 0);
  const auto second = poll(io, c);
  ASSERT_EQ(second.offsets, (std::vector<std::int64_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(committed_after_a_while(), 5);
  close(io, c);
  EXPECT_EQ(kafka.coordinator.committed.at(0), 10);
}

// A commit asked for just before the close (async_commit, then async_close at once) still
// reaches the coordinator and is answered before the close completes, as the Java client's
// close waits for its pending async commits: the connector's last checkpoint commits so.
TEST(Consumer, CloseWaitsForTheCommitsAskedForBeforeIt) {
  boost::asio::io_context io;
  committing_kafka kafka;
  kafka.logs.emplace_back();
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::consumer c(io.get_executor(), config_for(broker.port(), {{"group.id", "g"}}));
  c.assign({{"t", 0}});
  std::optional<std::error_code> committed;
  c.async_commit(kc::topic_partition_offsets{{{"t", 0}, {42, -1, "checkpoint 7"}}},
                 [&](std::error_code ec) { committed = ec; });
  bool closed = false;
  c.async_close([&] { closed = true; });
  run_until(
      io, [&] { return closed; }, 5s);
  EXPECT_TRUE(closed);
  ASSERT_TRUE(committed);
  EXPECT_FALSE(*committed) << committed->message();
  EXPECT_EQ(kafka.coordinator.committed.at(0), 42);
}

// KIP-392 against two scripted brokers: node 1 leads "t"-0, node 2 follows it in rack "r2".
#if defined(__SANITIZE_ADDRESS__)
#define KWIRE_TEST_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KWIRE_TEST_ADDRESS_SANITIZER 1
#endif
#endif
#ifdef KWIRE_TEST_ADDRESS_SANITIZER
// The lifetime rule is enforced where it can be: an AddressSanitizer build reports a record
// view read after its record_set is gone, also when the records sit in a pooled lz4 block
// (which goes back to the pool, not to the allocator).
TEST(ConsumerDeathTest, AViewReadAfterItsRecordSetIsGoneIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto read_stale_view = [] {
    boost::asio::io_context io;
    fake_kafka kafka;
    auto& log = kafka.logs.emplace_back();
    for (int b = 0; b < 4; ++b) {
      auto batch = batch_at(b * 50, 50, kp::compression::lz4);
      log.insert(log.end(), batch.begin(), batch.end());
    }
    fake_broker broker(io, std::ref(kafka));
    kafka.port = broker.port();
    kc::consumer c(io.get_executor(), config_for(broker.port()));
    c.assign({{"t", 0}});
    const std::uint8_t* stale = nullptr;
    std::int64_t next = 0;
    for (int polls = 0; polls < 100 && next < 200; ++polls) {
      bool done = false;
      c.async_poll(1s, [&](std::error_code, kc::record_set set) {
        kc::consumer_record r;
        for (auto cursor = set.records(); cursor.next(r); ++next)
          if (!stale && r.value) stale = r.value->data();
        done = true;  // the set dies here
      });
      run_until(
          io, [&] { return done; }, 5s);
    }
    if (next < 200 || !stale) std::abort();  // not the failure looked for
    std::fprintf(stderr, "%d\n",
                 static_cast<int>(*static_cast<const volatile std::uint8_t*>(stale)));
  };
  EXPECT_DEATH(read_stale_view(), "AddressSanitizer: (use-after-poison|heap-use-after-free)");
}
#endif

// The leader names node 2 as the preferred read replica (without records) while node 2 has
// the fetch offset, as Kafka's RackAwareReplicaSelector does; node 2 serves records up to
// `follower_end`, or answers `follower_error`. Each node keeps an incremental fetch session,
// so that moving a partition between them shows as a forget at the node it left.
struct replica_kafka {
  struct fetch_seen {
    int node = 0;
    std::chrono::steady_clock::time_point at;
    std::int64_t named_offset = -1;  // partition 0's offset when the request named it
    bool records = false;            // the answer carried partition 0's records
    bool forgot = false;             // the request told the node to forget partition 0
    std::string rack;
  };
  std::uint16_t ports[3] = {};
  std::vector<std::uint8_t> log;  // the leader's; node 2 has it up to follower_end
  std::int64_t log_end = 0;
  std::int64_t follower_end = 0;
  bool leader_names_replica = true;
  std::int16_t follower_error = 0;
  std::vector<fetch_seen> fetches;
  std::map<int, std::map<std::int32_t, std::int64_t>> sessions;  // node -> partition -> offset

  void append(std::int64_t base_offset, int records) {
    auto batch = batch_at(base_offset, records);
    log.insert(log.end(), batch.begin(), batch.end());
    log_end = base_offset + records;
  }

  fake_action operator()(int node, const fake_request& r) {
    switch (r.api_key) {
      case kp::MetadataRequest::api_key:
        return topic_metadata(r, {{1, ports[1]}, {2, ports[2]}}, 4);
      case kp::ListOffsetsRequest::api_key:
        return list_offsets(r, log_end);
      case kp::FetchRequest::api_key:
        return fetch(node, r);
    }
    return kwire::test::no_reply{};
  }

  fake_action fetch(int node, const fake_request& r) {
    const auto req = r.decode<kp::FetchRequest>();
    auto& seen = fetches.emplace_back();
    seen.node = node;
    seen.at = std::chrono::steady_clock::now();
    seen.rack = req.rack_id;
    auto& session = sessions[node];
    if (req.session_epoch <= 0) session.clear();
    for (const auto& t : req.topics) {
      for (const auto& p : t.partitions) {
        EXPECT_EQ(p.current_leader_epoch, 4);  // the leader's, whichever node is asked
        session[p.partition] = p.fetch_offset;
        if (p.partition == 0) seen.named_offset = p.fetch_offset;
      }
    }
    for (const auto& t : req.forgotten_topics_data) {
      for (auto p : t.partitions) {
        session.erase(p);
        seen.forgot = seen.forgot || p == 0;
      }
    }
    kp::FetchResponse resp;
    resp.session_id = 100 * node;
    bool any_records = false;
    for (const auto& [partition, offset] : session) {
      auto& rt = resp.responses.emplace_back();
      rt.topic = "t";
      rt.topic_id.bytes[15] = 9;
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = partition;
      rp.log_start_offset = 0;
      rp.high_watermark = node == 1 ? log_end : follower_end;
      rp.last_stable_offset = rp.high_watermark;
      if (node == 1 && leader_names_replica && follower_end >= offset) {
        rp.preferred_read_replica = 2;
        any_records = true;  // an answer worth sending at once
        continue;
      }
      if (node == 2 && follower_error != 0) {
        rp.error_code = follower_error;
        any_records = true;
        continue;
      }
      if (node == 2 && offset > follower_end) {
        rp.error_code = static_cast<std::int16_t>(kp::broker_error::offset_out_of_range);
        any_records = true;
        continue;
      }
      const auto end = node == 1 ? log_end : follower_end;
      if (offset < end) {
        rp.records = records_from(log, offset);
        seen.records = any_records = true;
      }
    }
    auto reply = kwire::test::reply(resp, r.api_version);
    if (!any_records) reply.delay = 5ms;  // like fetch.max.wait.ms: no busy loop
    return reply;
  }

  // The nodes asked for partition 0 by name, in order, without repeats.
  std::vector<int> nodes_asked() const {
    std::vector<int> out;
    for (const auto& f : fetches)
      if (f.named_offset >= 0 && (out.empty() || out.back() != f.node)) out.push_back(f.node);
    return out;
  }
  bool forgot_at(int node) const {
    return std::ranges::any_of(fetches,
                               [&](const fetch_seen& f) { return f.forgot && f.node == node; });
  }
};

struct replica_cluster {
  boost::asio::io_context io;
  replica_kafka kafka;
  fake_broker leader{io, [this](const fake_request& r) { return kafka(1, r); }};
  fake_broker follower{io, [this](const fake_request& r) { return kafka(2, r); }};

  replica_cluster() {
    kafka.ports[1] = leader.port();
    kafka.ports[2] = follower.port();
  }

  // A consumer in node 2's rack.
  kc::consumer_config config(kc::properties extra = {}) {
    extra.emplace_back("client.rack", "r2");
    return config_for(leader.port(), std::move(extra));
  }

  // Polls until `count` records arrived (or 20 polls).
  std::vector<std::int64_t> read(kc::consumer& c, std::size_t count) {
    std::vector<std::int64_t> got;
    for (int i = 0; i < 20 && got.size() < count; ++i) {
      auto result = poll(io, c);
      EXPECT_FALSE(result.ec) << result.ec.message();
      got.insert(got.end(), result.offsets.begin(), result.offsets.end());
    }
    return got;
  }

  // Records 0..count-1 on both nodes, read by a new consumer of "t"-0 (from node 2).
  std::unique_ptr<kc::consumer> read_from_replica(int count, kc::properties extra = {}) {
    kafka.append(0, count);
    kafka.follower_end = count;
    auto c = std::make_unique<kc::consumer>(io.get_executor(), config(std::move(extra)));
    c->assign({{"t", 0}});
    std::vector<std::int64_t> all(static_cast<std::size_t>(count));
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(read(*c, all.size()), all);
    EXPECT_EQ(c->fetched_from({"t", 0}), 2);
    return c;
  }
};

TEST(Consumer, FetchesFromThePreferredReadReplicaUntilItRefuses) {
  replica_cluster cluster;
  auto& kafka = cluster.kafka;
  auto consumer = cluster.read_from_replica(5);
  auto& c = *consumer;
  // The leader was asked first, named node 2 and sent nothing; node 2 sent the records.
  ASSERT_FALSE(kafka.fetches.empty());
  EXPECT_EQ(kafka.fetches.front().rack, "r2");
  ASSERT_GE(kafka.nodes_asked().size(), 2u);
  EXPECT_EQ(kafka.nodes_asked()[0], 1);
  EXPECT_EQ(kafka.nodes_asked()[1], 2);
  EXPECT_FALSE(
      std::ranges::any_of(kafka.fetches, [](const auto& f) { return f.node == 1 && f.records; }));
  // The partition left the leader's fetch session.
  EXPECT_TRUE(kafka.forgot_at(1));
  EXPECT_FALSE(kafka.sessions[1].contains(0));

  // Node 2 is no longer a replica it can serve: back to the leader, which keeps the
  // partition this time; node 2's session forgets it.
  kafka.follower_error = static_cast<std::int16_t>(kp::broker_error::not_leader_or_follower);
  kafka.leader_names_replica = false;
  kafka.append(5, 3);
  EXPECT_EQ(cluster.read(c, 3), (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_EQ(c.fetched_from({"t", 0}), 1);
  EXPECT_EQ(kafka.nodes_asked(), (std::vector<int>{1, 2, 1}));
  EXPECT_TRUE(kafka.forgot_at(2));
  close(cluster.io, c);
}

TEST(Consumer, HooksAndMetricsSeePreferredReplicaMovesRecordsAndLag) {
  replica_cluster cluster;
  auto& kafka = cluster.kafka;
  std::vector<std::pair<std::int32_t, std::int32_t>> moves;
  auto config = cluster.config();
  config.observe.hooks.on_preferred_replica = [&](const kc::preferred_replica_event& e) {
    EXPECT_EQ(e.partition, (kc::topic_partition{"t", 0}));
    moves.emplace_back(e.from_node, e.to_node);
  };
  kafka.append(0, 5);
  kafka.follower_end = 5;
  kc::consumer c(cluster.io.get_executor(), config);
  c.assign({{"t", 0}});
  EXPECT_EQ(cluster.read(c, 5).size(), 5u);
  kafka.follower_error = static_cast<std::int16_t>(kp::broker_error::not_leader_or_follower);
  kafka.leader_names_replica = false;
  kafka.append(5, 3);
  EXPECT_EQ(cluster.read(c, 3).size(), 3u);
  EXPECT_EQ(moves, (std::vector<std::pair<std::int32_t, std::int32_t>>{{-1, 2}, {2, -1}}));
  const auto m = c.metrics();
  EXPECT_EQ(m.kind, "consumer");
  EXPECT_EQ(m.records_received, 8u);
  EXPECT_GT(m.record_bytes_received, 0u);
  EXPECT_EQ(m.preferred_replica_moves, 2u);
  ASSERT_EQ(m.lag.size(), 1u);
  EXPECT_EQ(m.lag[0].topic, "t");
  EXPECT_EQ(m.lag[0].high_watermark, 8);
  EXPECT_EQ(m.lag[0].lag, 0);
  EXPECT_TRUE(std::ranges::any_of(m.requests, [](const kc::api_request_metrics& r) {
    return r.name == "Fetch" && r.count > 0;
  }));
  close(cluster.io, c);
}

TEST(Consumer, AnUnreachablePreferredReadReplicaSendsTheFetchesBackToTheLeader) {
  replica_cluster cluster;
  auto& kafka = cluster.kafka;
  auto consumer = cluster.read_from_replica(5);
  kafka.leader_names_replica = false;
  cluster.follower.stop_accepting();
  cluster.follower.drop_all();
  kafka.append(5, 3);
  EXPECT_EQ(cluster.read(*consumer, 3), (std::vector<std::int64_t>{5, 6, 7}));
  EXPECT_EQ(consumer->fetched_from({"t", 0}), 1);
  close(cluster.io, *consumer);
}

TEST(Consumer, ThePreferredReadReplicaLeaseEndsAfterMetadataMaxAge) {
  replica_cluster cluster;
  auto& kafka = cluster.kafka;
  const auto start = std::chrono::steady_clock::now();
  auto consumer = cluster.read_from_replica(3, {{"metadata.max.age.ms", "300"}});
  auto& c = *consumer;
  // At least 800 ms (two leases and more), and until the replica's second turn (a slow start
  // must not cut the test short).
  while (std::chrono::steady_clock::now() - start < 800ms ||
         (kafka.nodes_asked().size() < 4 && std::chrono::steady_clock::now() - start < 5s))
    poll(cluster.io, c);
  // Leader, replica, and after each lease (300 ms) the leader again, which names it again.
  const auto asked = kafka.nodes_asked();
  ASSERT_GE(asked.size(), 4u) << ::testing::PrintToString(asked);
  EXPECT_EQ(std::vector<int>(asked.begin(), asked.begin() + 4), (std::vector<int>{1, 2, 1, 2}));
  // Not back to the leader at every fetch: one leader-replica pair per lease.
  const auto leases = (std::chrono::steady_clock::now() - start) / 300ms + 1;
  EXPECT_LE(asked.size(), static_cast<std::size_t>(2 * leases));
  // The lease is not cut short: the leader is asked again 300 ms after it named node 2.
  std::vector<std::chrono::steady_clock::time_point> leader_asked;
  for (const auto& f : kafka.fetches)
    if (f.node == 1 && f.named_offset >= 0) leader_asked.push_back(f.at);
  ASSERT_GE(leader_asked.size(), 2u);
  EXPECT_GE(leader_asked[1] - leader_asked[0], 290ms);
  EXPECT_EQ(c.fetched_from({"t", 0}), 2);
  close(cluster.io, c);
}

// A follower behind the leader answers OFFSET_OUT_OF_RANGE for an offset the leader has:
// the consumer asks the leader instead of resetting the position (auto.offset.reset is
// earliest here, so a wrong reset would bring offset 0 back).
TEST(Consumer, OffsetOutOfRangeFromAFollowerGoesBackToTheLeaderWithoutAReset) {
  replica_cluster cluster;
  auto& kafka = cluster.kafka;
  auto consumer = cluster.read_from_replica(5);
  auto& c = *consumer;
  kafka.append(5, 4);  // the follower stays at 5
  c.seek({"t", 0}, 7);
  EXPECT_EQ(cluster.read(c, 2), (std::vector<std::int64_t>{7, 8}));
  EXPECT_EQ(c.fetched_from({"t", 0}), 1);
  EXPECT_TRUE(std::ranges::any_of(kafka.fetches, [](const auto& f) {
    return f.node == 2 && f.named_offset == 7;  // asked there first, refused
  }));
  close(cluster.io, c);
}

}  // namespace
