// The consumer against the real broker: records written by the kwire producer (plain and
// lz4 batches, explicit partitions and timestamps) read back from manually assigned
// partitions, exactly once and in order; seeks by offset, to the ends and by timestamp;
// commits to a group and a second consumer starting from them; out-of-range positions with
// auto.offset.reset=none reported with the partition; on 3 racked nodes, fetching from the
// replica in the consumer's rack (KIP-392).
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "live_clients.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::broker_session;
using kwire::test::bytes;
using kwire::test::io_thread;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 3;
constexpr int kPerPartition = 10'000;
constexpr std::int64_t kBaseTimestamp = 1'700'000'000'000;

std::string text(kp::optional_bytes b) {
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : "<null>";
}

// One io_context thread for the clients of a test.

class ConsumerLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker: KWIRE_BOOTSTRAP_FILE is unset";
    nodes_ = kwire::test::parse_bootstrap(bootstrap_);
    topic_ = "kwire-consumer-" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
             std::to_string(::getpid());
    broker_session s(nodes_.front());
    s.negotiate();
    ASSERT_EQ(kwire::test::create_topic(
                  s, topic_, kPartitions,
                  static_cast<std::int16_t>(std::min<std::size_t>(nodes_.size(), 3))),
              "");
  }

  // Writes kPerPartition records to each partition: value "v<i>", key "k<i>", timestamp
  // kBaseTimestamp + i, where i counts per partition; the second half lz4-compressed.
  void produce_all() {
    for (const char* codec : {"none", "lz4"}) {
      kc::producer_config config;
      auto error = kc::parse_producer_config({{"bootstrap.servers", bootstrap_},
                                              {"compression.type", codec},
                                              {"linger.ms", "5"},
                                              {"request.timeout.ms", "10000"},
                                              {"delivery.timeout.ms", "20000"}},
                                             config);
      ASSERT_FALSE(error) << error->message;
      kc::producer p(io_.io.get_executor(), config);
      const int from = std::string(codec) == "none" ? 0 : kPerPartition / 2;
      const int to = from + kPerPartition / 2;
      std::atomic<int> failed{0};
      for (int i = from; i < to; ++i) {
        for (int partition = 0; partition < kPartitions; ++partition) {
          const std::string key = "k" + std::to_string(i);
          const std::string value = "v" + std::to_string(i);
          auto ec = p.send(
              {.topic = topic_,
               .partition = partition,
               .key = bytes(key),
               .value = bytes(value),
               .timestamp = kBaseTimestamp + i},
              [&failed](std::error_code ec, const kc::delivery_report& r) {
                if (ec && failed++ == 0)
                  ADD_FAILURE() << "first failed record: "
                                << (r.error_details ? r.error_details->describe(ec) : ec.message());
              });
          ASSERT_FALSE(ec) << ec.message();
        }
      }
      p.flush();
      EXPECT_EQ(failed.load(), 0);
      p.close(5s);
    }
  }

  kc::consumer_config consumer_config(kc::properties extra = {}) {
    kc::properties props{{"bootstrap.servers", bootstrap_}};
    props.insert(props.end(), extra.begin(), extra.end());
    kc::consumer_config config;
    auto error = kc::parse_consumer_config(props, config);
    EXPECT_FALSE(error) << error->message;
    return config;
  }

  std::vector<kc::topic_partition> all_partitions() const {
    std::vector<kc::topic_partition> out;
    for (int p = 0; p < kPartitions; ++p) out.push_back({topic_, p});
    return out;
  }

  struct polled {
    std::error_code ec;
    std::vector<std::tuple<std::int32_t, std::int64_t, std::string, std::string, std::int64_t>>
        records;  // partition, offset, key, value, timestamp
  };
  polled poll_once(kc::consumer& c, std::chrono::milliseconds timeout = 2s) {
    std::promise<polled> result;
    c.async_poll(timeout, [&result](std::error_code ec, kc::record_set set) {
      polled out;
      out.ec = ec;
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r);)
        out.records.emplace_back(r.partition, r.offset, text(r.key), text(r.value), r.timestamp);
      result.set_value(std::move(out));
    });
    return result.get_future().get();
  }

  kc::topic_partition_offsets committed(kc::consumer& c, std::vector<kc::topic_partition> tps) {
    std::promise<kc::topic_partition_offsets> result;
    c.async_committed(std::move(tps),
                      [&result](std::error_code ec, kc::topic_partition_offsets offsets) {
                        EXPECT_FALSE(ec) << ec.message();
                        result.set_value(std::move(offsets));
                      });
    return result.get_future().get();
  }

  std::error_code commit(kc::consumer& c, kc::topic_partition_offsets offsets) {
    std::promise<std::error_code> result;
    c.async_commit(std::move(offsets), [&result](std::error_code ec) { result.set_value(ec); });
    return result.get_future().get();
  }

  // Polls until every record produce_all() wrote arrived (or 60 s), checking that each
  // partition's records come once, in order, with their keys, values and timestamps;
  // returns how many arrived.
  int read_all_in_order(kc::consumer& c) {
    std::map<std::int32_t, std::int64_t> next;  // partition -> expected offset
    int total = 0;
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (total < kPartitions * kPerPartition && std::chrono::steady_clock::now() < deadline) {
      auto got = poll_once(c);
      EXPECT_FALSE(got.ec) << got.ec.message();
      if (got.ec) break;
      for (const auto& [partition, offset, key, value, timestamp] : got.records) {
        EXPECT_EQ(offset, next[partition]) << "partition " << partition;
        if (offset != next[partition]) return total;
        EXPECT_EQ(key, "k" + std::to_string(offset));
        EXPECT_EQ(value, "v" + std::to_string(offset));
        EXPECT_EQ(timestamp, kBaseTimestamp + offset);
        next[partition] = offset + 1;
        ++total;
      }
    }
    return total;
  }

  void close(kc::consumer& c) {
    std::promise<void> closed;
    c.async_close([&] { closed.set_value(); });
    EXPECT_EQ(closed.get_future().wait_for(10s), std::future_status::ready);
  }

  std::string bootstrap_;
  std::vector<kwire::test::host_port> nodes_;
  std::string topic_;
  io_thread io_;
};

TEST_F(ConsumerLive, AssignedPartitionsReadEveryRecordOnceInOrder) {
  produce_all();
  kc::consumer c(io_.io.get_executor(), consumer_config({{"auto.offset.reset", "earliest"},
                                                         {"max.poll.records", "1000"}}));
  c.assign(all_partitions());
  ASSERT_EQ(read_all_in_order(c), kPartitions * kPerPartition);
  for (const auto& tp : all_partitions()) {
    EXPECT_EQ(c.position(tp), kPerPartition);
    auto marks = c.watermarks(tp);
    ASSERT_TRUE(marks);
    EXPECT_EQ(marks->high_watermark, kPerPartition);
  }
  // Nothing more: an empty poll at the timeout.
  auto idle = poll_once(c, 300ms);
  EXPECT_FALSE(idle.ec);
  EXPECT_TRUE(idle.records.empty());

  // Seeks: an offset, the beginning, the end, a timestamp.
  c.seek({topic_, 0}, 5000);
  c.seek_to_beginning({{topic_, 1}});
  c.seek_to_end({{topic_, 2}});
  std::map<std::int32_t, std::int64_t> first;
  const auto seek_deadline = std::chrono::steady_clock::now() + 30s;
  while (first.size() < 2 && std::chrono::steady_clock::now() < seek_deadline) {
    for (const auto& r : poll_once(c).records) first.emplace(std::get<0>(r), std::get<1>(r));
  }
  EXPECT_EQ(first[0], 5000);
  EXPECT_EQ(first[1], 0);
  EXPECT_FALSE(first.contains(2));
  EXPECT_EQ(c.position({topic_, 2}), kPerPartition);

  c.assign({{topic_, 0}});
  c.seek_to_timestamp({{topic_, 0}}, kBaseTimestamp + 7777);
  std::optional<std::int64_t> at;
  const auto ts_deadline = std::chrono::steady_clock::now() + 30s;
  while (!at && std::chrono::steady_clock::now() < ts_deadline) {
    auto got = poll_once(c);
    if (!got.records.empty()) at = std::get<1>(got.records.front());
  }
  EXPECT_EQ(at, 7777);
  close(c);
}

TEST_F(ConsumerLive, CommittedOffsetsAreWhereAGroupMemberStarts) {
  produce_all();
  const std::string group = "kwire-group-" + topic_;
  {
    kc::consumer c(io_.io.get_executor(), consumer_config({{"group.id", group},
                                                           {"enable.auto.commit", "false"},
                                                           {"auto.offset.reset", "earliest"}}));
    c.assign({{topic_, 0}, {topic_, 1}});
    auto none = committed(c, all_partitions());
    EXPECT_TRUE(none.empty());
    kc::topic_partition_offsets offsets{{{topic_, 0}, {1234, -1, "first"}},
                                        {{topic_, 1}, {4321, -1, ""}}};
    EXPECT_FALSE(commit(c, offsets));
    auto stored = committed(c, all_partitions());
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[(kc::topic_partition{topic_, 0})].offset, 1234);
    EXPECT_EQ(stored[(kc::topic_partition{topic_, 0})].metadata, "first");
    EXPECT_EQ(stored[(kc::topic_partition{topic_, 1})].offset, 4321);
    close(c);
  }
  // A new consumer of the group starts at the committed offsets (partition 2 has none:
  // earliest).
  kc::consumer c(io_.io.get_executor(), consumer_config({{"group.id", group},
                                                         {"enable.auto.commit", "true"},
                                                         {"auto.commit.interval.ms", "100"},
                                                         {"auto.offset.reset", "earliest"}}));
  c.assign(all_partitions());
  std::map<std::int32_t, std::int64_t> first;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (first.size() < 3 && std::chrono::steady_clock::now() < deadline)
    for (const auto& r : poll_once(c).records) first.emplace(std::get<0>(r), std::get<1>(r));
  EXPECT_EQ(first[0], 1234);
  EXPECT_EQ(first[1], 4321);
  EXPECT_EQ(first[2], 0);
  // Auto commit then stores the positions after the records of earlier polls: polling
  // again says the application is done with those it holds.
  const auto p0 = c.position({topic_, 0});
  ASSERT_TRUE(p0);
  (void)poll_once(c);
  std::this_thread::sleep_for(500ms);
  auto stored = committed(c, {{topic_, 0}});
  EXPECT_GE(stored[(kc::topic_partition{topic_, 0})].offset, *p0);
  close(c);
}

TEST_F(ConsumerLive, OutOfRangeWithResetNoneIsAnErrorNamingThePartition) {
  produce_all();
  kc::consumer c(io_.io.get_executor(), consumer_config({{"auto.offset.reset", "none"}}));
  c.assign({{topic_, 1}});
  // No group and no seek: no offset to start from.
  auto got = poll_once(c);
  EXPECT_EQ(got.ec, kc::errc::no_offset) << got.ec.message();
  c.seek({topic_, 1}, 999'999);
  got = poll_once(c, 5s);
  EXPECT_EQ(got.ec, kp::make_error_code(kp::broker_error::offset_out_of_range)) << got.ec.message();
  const auto details = c.last_error_details();
  EXPECT_EQ(details.topic, topic_);
  EXPECT_EQ(details.partition, 1);
  EXPECT_NE(details.server_message.find("999999"), std::string::npos) << details.server_message;
  // A seek into range clears it.
  c.seek({topic_, 1}, 10);
  got = poll_once(c, 5s);
  EXPECT_FALSE(got.ec) << got.ec.message();
  ASSERT_FALSE(got.records.empty());
  EXPECT_EQ(std::get<1>(got.records.front()), 10);
  close(c);
}

// KIP-392 on the 3-node fixture (kafka-local.sh --racks: node N in rack-N, the rack-aware
// replica selector): a consumer in the rack of a follower of partition 0 reads every
// record once, and the records of every partition come from the broker in its rack, a
// follower for partition 0 at least.
TEST_F(ConsumerLive, AConsumerWithClientRackFetchesFromTheReplicaInItsRack) {
  if (nodes_.size() < 3) GTEST_SKIP() << "needs the 3-node cluster";
  produce_all();
  broker_session s(nodes_.front());
  s.negotiate();
  kp::MetadataRequest request;
  request.topics.emplace().emplace_back().name = topic_;
  kp::MetadataResponse metadata;
  std::vector<std::uint8_t> storage;
  ASSERT_FALSE(s.call(request, s.version_for(kp::MetadataRequest::api_key), metadata, storage));
  std::map<std::int32_t, std::string> rack_of;
  for (const auto& b : metadata.brokers)
    if (b.rack) rack_of[b.node_id] = *b.rack;
  if (rack_of.size() < 3) GTEST_SKIP() << "the brokers have no racks (kafka-local.sh up --racks)";
  ASSERT_EQ(metadata.topics.size(), 1u);
  std::int32_t leader = -1, follower = -1;
  for (const auto& p : metadata.topics[0].partitions) {
    if (p.partition_index != 0) continue;
    leader = p.leader_id;
    for (auto replica : p.replica_nodes)
      if (replica != leader && follower < 0) follower = replica;
  }
  ASSERT_GE(leader, 0);
  ASSERT_GE(follower, 0) << "partition 0 has no follower";

  kc::consumer c(io_.io.get_executor(), consumer_config({{"auto.offset.reset", "earliest"},
                                                         {"max.poll.records", "1000"},
                                                         {"client.rack", rack_of[follower]}}));
  c.assign(all_partitions());
  EXPECT_EQ(read_all_in_order(c), kPartitions * kPerPartition);
  for (const auto& tp : all_partitions())
    EXPECT_EQ(c.fetched_from(tp), follower)
        << "partition " << tp.partition << " (leader of 0: " << leader << ", client.rack "
        << rack_of[follower] << ")";
  auto idle = poll_once(c, 300ms);  // nothing more, nothing twice
  EXPECT_FALSE(idle.ec);
  EXPECT_TRUE(idle.records.empty());
  close(c);
}

}  // namespace
