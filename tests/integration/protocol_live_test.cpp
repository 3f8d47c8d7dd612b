// The protocol layer against a real Kafka broker (scripts/kafka-local.sh, started by the
// ctest fixture): ApiVersions, Metadata, CreateTopics, Produce (every codec) and Fetch, each
// at the highest version both sides support.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "broker_session.hpp"
#include "kwire/protocol/record_batch.hpp"

namespace kp = kwire::protocol;
using kwire::test::broker_session;
using namespace std::chrono_literals;

namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string as_string(std::span<const std::uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

class LiveBroker : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty())
      GTEST_SKIP() << "no broker: KWIRE_BOOTSTRAP_FILE is unset or empty (ctest starts one with "
                      "scripts/kafka-local.sh, which needs Java)";
    nodes_ = kwire::test::parse_bootstrap(bootstrap_);
    // The fixture lists every node it started.
    expected_brokers_ = static_cast<int>(nodes_.size());
  }

  kp::MetadataResponse metadata(broker_session& s, std::optional<std::string> topic,
                                std::vector<std::uint8_t>& storage) {
    kp::MetadataRequest req;
    if (topic) {
      req.topics.emplace(1);
      (*req.topics)[0].name = *topic;
      req.allow_auto_topic_creation = false;
    } else {
      req.topics.reset();  // every topic
    }
    kp::MetadataResponse resp;
    const auto v = s.version_for(kp::MetadataRequest::api_key);
    EXPECT_GE(v, 0);
    auto ec = s.call(req, v, resp, storage);
    EXPECT_FALSE(ec) << ec.message();
    return resp;
  }

  std::string bootstrap_;
  std::vector<kwire::test::host_port> nodes_;
  int expected_brokers_ = 0;
};

TEST_F(LiveBroker, ApiVersionsNegotiationCoversEveryApiTheBrokerOffers) {
  broker_session s(nodes_.front());
  auto resp = s.negotiate();
  EXPECT_EQ(s.api_versions_version(),
            std::min<std::int16_t>(kp::ApiVersionsRequest::max_version, s.broker_versions().at(18).second));
  int covered = 0;
  for (const auto& [key, range] : s.broker_versions()) {
    const auto* ours = kp::find_api(key);
    ASSERT_NE(ours, nullptr) << "broker offers API key " << key << " which kwire does not implement";
    // Any version the broker may pick or accept, kwire can encode and decode.
    EXPECT_LE(ours->min_version, range.first) << ours->name;
    EXPECT_GE(ours->max_version, range.second) << ours->name;
    std::cout << "  " << ours->name << " broker " << range.first << "-" << range.second << ", kwire "
              << ours->min_version << "-" << ours->max_version << ", chosen " << s.version_for(key) << "\n";
    ++covered;
  }
  EXPECT_GT(covered, 40);
}

TEST_F(LiveBroker, MetadataCreateTopicsProduceAndFetchEveryCodec) {
  broker_session bootstrap(nodes_.front());
  bootstrap.negotiate();
  std::vector<std::uint8_t> storage;

  auto cluster = metadata(bootstrap, std::nullopt, storage);
  if (expected_brokers_ > 0) {
    EXPECT_EQ(static_cast<int>(cluster.brokers.size()), expected_brokers_);
  }

  // CreateTopics: 3 partitions, replicated on every broker up to 3.
  // KWIRE_LIVE_TOPIC names the topic (scripts/demo.sh reads it back with kcat); it must not
  // exist yet.
  const char* topic_env = std::getenv("KWIRE_LIVE_TOPIC");
  const std::string topic = topic_env && *topic_env
                                ? std::string(topic_env)
                                : "kwire-live-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  kp::CreateTopicsRequest create;
  create.topics.resize(1);
  create.topics[0].name = topic;
  create.topics[0].num_partitions = 3;
  create.topics[0].replication_factor = static_cast<std::int16_t>(std::min<std::size_t>(3, cluster.brokers.size()));
  create.timeout_ms = 30000;
  kp::CreateTopicsResponse created;
  const auto create_v = bootstrap.version_for(kp::CreateTopicsRequest::api_key);
  ASSERT_FALSE(bootstrap.call(create, create_v, created, storage));
  ASSERT_EQ(created.topics.size(), 1u);
  ASSERT_EQ(created.topics[0].error_code, 0) << created.topics[0].error_message.value_or("");

  // Wait until every partition has a leader.
  kp::MetadataResponse meta;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    meta = metadata(bootstrap, topic, storage);
    bool ready = meta.topics.size() == 1 && meta.topics[0].error_code == 0 &&
                 meta.topics[0].partitions.size() == 3;
    if (ready)
      for (const auto& p : meta.topics[0].partitions) ready = ready && p.leader_id >= 0;
    if (ready) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "topic " << topic << " got no leaders";
    std::this_thread::sleep_for(200ms);
  }
  const auto topic_id = meta.topics[0].topic_id;
  std::int32_t leader = -1;
  for (const auto& p : meta.topics[0].partitions)
    if (p.partition_index == 0) leader = p.leader_id;
  kwire::test::host_port leader_addr;
  for (const auto& b : meta.brokers)
    if (b.node_id == leader) leader_addr = {b.host, std::to_string(b.port)};
  ASSERT_FALSE(leader_addr.host.empty());

  broker_session s(leader_addr);
  s.negotiate();
  const auto produce_v = s.version_for(kp::ProduceRequest::api_key);
  const auto fetch_v = s.version_for(kp::FetchRequest::api_key);
  std::cout << "  Produce v" << produce_v << ", Fetch v" << fetch_v << ", Metadata v"
            << s.version_for(kp::MetadataRequest::api_key) << ", CreateTopics v" << create_v << "\n";

  // Produce one batch per codec: keys, a null key, a null value, headers incl. a null value.
  const kp::compression codecs[] = {kp::compression::none, kp::compression::gzip, kp::compression::snappy,
                                    kp::compression::lz4, kp::compression::zstd};
  std::int64_t expected_offset = 0;
  for (auto codec : codecs) {
    kp::record_batch_builder builder({.codec = codec});
    const std::string name(kp::compression_name(codec));
    const std::string v0 = "value-" + name + "-0", v2 = "value-" + name + "-2";
    const kp::header_view headers[] = {{"h", as_bytes("x")}, {"nullh", std::nullopt}};
    builder.append(1700000000000, as_bytes("k0"), as_bytes(v0), headers);
    builder.append(1700000000001, std::nullopt, as_bytes("value-null-key"));
    builder.append(1700000000002, as_bytes("k2"), std::nullopt);
    builder.append(1700000000003, as_bytes("k3"), as_bytes(v2));
    ASSERT_FALSE(builder.finish());

    kp::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data.resize(1);
    if (produce_v >= 13) req.topic_data[0].topic_id = topic_id;
    else req.topic_data[0].name = topic;
    req.topic_data[0].partition_data.resize(1);
    req.topic_data[0].partition_data[0].index = 0;
    req.topic_data[0].partition_data[0].records = kp::byte_view(builder.bytes());
    // Right after CreateTopics the leader may not yet know it leads the partition: retry
    // retriable errors (NOT_LEADER_OR_FOLLOWER, ...) for a bounded time, as a client does.
    kp::ProduceResponse resp;
    const auto produce_deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      ASSERT_FALSE(s.call(req, produce_v, resp, storage));
      ASSERT_EQ(resp.responses.size(), 1u);
      ASSERT_EQ(resp.responses[0].partition_responses.size(), 1u);
      const auto code = resp.responses[0].partition_responses[0].error_code;
      if (code == 0 || !kp::is_retriable(kp::broker_error_code(code)) ||
          std::chrono::steady_clock::now() > produce_deadline)
        break;
      std::this_thread::sleep_for(100ms);
    }
    const auto& pr = resp.responses[0].partition_responses[0];
    ASSERT_EQ(pr.error_code, 0) << name << ": " << kp::broker_error_name(pr.error_code) << " "
                                << pr.error_message.value_or("");
    EXPECT_EQ(pr.base_offset, expected_offset) << name;
    expected_offset += 4;
  }

  // Fetch everything back from offset 0 and check every field.
  std::vector<std::string> seen;
  std::int64_t next = 0;
  std::vector<std::uint8_t> scratch;
  const auto fetch_deadline = std::chrono::steady_clock::now() + 30s;
  while (next < expected_offset) {
    ASSERT_LT(std::chrono::steady_clock::now(), fetch_deadline) << "fetch did not return every record";
    kp::FetchRequest req;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    req.topics.resize(1);
    if (fetch_v >= 13) req.topics[0].topic_id = topic_id;
    else req.topics[0].topic = topic;
    req.topics[0].partitions.resize(1);
    req.topics[0].partitions[0].partition = 0;
    req.topics[0].partitions[0].fetch_offset = next;
    req.topics[0].partitions[0].partition_max_bytes = 1 << 20;
    kp::FetchResponse resp;
    ASSERT_FALSE(s.call(req, fetch_v, resp, storage));
    ASSERT_EQ(resp.error_code, 0);
    ASSERT_EQ(resp.responses.size(), 1u);
    ASSERT_EQ(resp.responses[0].partitions.size(), 1u);
    const auto& part = resp.responses[0].partitions[0];
    ASSERT_EQ(part.error_code, 0) << kp::broker_error_name(part.error_code);
    if (!part.records) continue;
    kp::record_batch_reader reader(part.records->span(), scratch);
    kp::record_batch_view batch;
    while (reader.next(batch)) {
      const auto codec = codecs[batch.header().base_offset / 4];
      EXPECT_EQ(batch.header().codec(), codec);
      kp::record_view r;
      for (auto cursor = batch.records(); cursor.next(r);) {
        if (r.offset < next) continue;
        std::string line = std::to_string(r.offset) + " " + std::to_string(r.timestamp) + " " +
                           (r.key ? as_string(*r.key) : "null") + " " + (r.value ? as_string(*r.value) : "null");
        for (const auto& h : r.headers) line += " " + std::string(h.key) + "=" + (h.value ? as_string(*h.value) : "null");
        seen.push_back(line);
        next = r.offset + 1;
      }
    }
    ASSERT_FALSE(reader.error()) << reader.error().message();
  }
  ASSERT_EQ(seen.size(), 20u);
  for (std::size_t i = 0; i < 5; ++i) {
    const std::string name(kp::compression_name(codecs[i]));
    const auto base = static_cast<std::int64_t>(i * 4);
    EXPECT_EQ(seen[i * 4 + 0], std::to_string(base) + " 1700000000000 k0 value-" + name + "-0 h=x nullh=null");
    EXPECT_EQ(seen[i * 4 + 1], std::to_string(base + 1) + " 1700000000001 null value-null-key");
    EXPECT_EQ(seen[i * 4 + 2], std::to_string(base + 2) + " 1700000000002 k2 null");
    EXPECT_EQ(seen[i * 4 + 3], std::to_string(base + 3) + " 1700000000003 k3 value-" + name + "-2");
  }
}

}  // namespace
