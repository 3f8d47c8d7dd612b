// The idempotent producer while partition leaders die: on a 3-node cluster, 200,000 records
// go to a 3-partition topic (replication factor 3) while the leader of partition 0 is killed
// (SIGKILL) and restarted, twice. Then every partition is read back from its leader: every
// acknowledged record must be there exactly once, at the offset its delivery report gave,
// and each partition's records in the order they were sent.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/protocol/record_batch.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::broker_session;
using namespace std::chrono_literals;

namespace {

constexpr int kRecords = 200'000;
constexpr int kPartitions = 3;

kp::MetadataResponse topic_metadata(const std::vector<kwire::test::host_port>& nodes,
                                    const std::string& topic) {
  for (const auto& node : nodes) {
    try {
      broker_session s(node, 10s);
      s.negotiate();
      kp::MetadataRequest req;
      req.topics.emplace(1);
      (*req.topics)[0].name = topic;
      req.allow_auto_topic_creation = false;
      kp::MetadataResponse resp;
      std::vector<std::uint8_t> storage;
      if (!s.call(req, s.version_for(kp::MetadataRequest::api_key), resp, storage)) return resp;
    } catch (const std::exception&) {
      // That node is down: ask the next one.
    }
  }
  throw std::runtime_error("no broker answered Metadata");
}

std::int32_t leader_of(const std::vector<kwire::test::host_port>& nodes, const std::string& topic,
                       int partition) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto meta = topic_metadata(nodes, topic);
    for (const auto& t : meta.topics)
      for (const auto& p : t.partitions)
        if (p.partition_index == partition && p.leader_id >= 0) return p.leader_id;
    std::this_thread::sleep_for(200ms);
  }
  throw std::runtime_error("partition has no leader");
}

int run(const std::string& command) { return std::system(command.c_str()); }

// Reads a whole partition from its leader: offset -> value.
std::map<std::int64_t, std::string> read_partition(const std::vector<kwire::test::host_port>& nodes,
                                                   const std::string& topic, int partition) {
  auto meta = topic_metadata(nodes, topic);
  std::int32_t leader = -1;
  kp::uuid topic_id{};
  for (const auto& t : meta.topics) {
    topic_id = t.topic_id;
    for (const auto& p : t.partitions)
      if (p.partition_index == partition) leader = p.leader_id;
  }
  kwire::test::host_port where;
  for (const auto& b : meta.brokers)
    if (b.node_id == leader) where = {b.host, std::to_string(b.port)};
  broker_session s(where, 30s);
  s.negotiate();
  const auto fetch_v = s.version_for(kp::FetchRequest::api_key);
  std::map<std::int64_t, std::string> out;
  std::int64_t next = 0, high_watermark = 1;
  std::vector<std::uint8_t> storage, scratch;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (next < high_watermark && std::chrono::steady_clock::now() < deadline) {
    kp::FetchRequest req;
    req.max_wait_ms = 100;
    req.min_bytes = 1;
    req.max_bytes = 8 << 20;
    req.topics.resize(1);
    if (fetch_v >= 13)
      req.topics[0].topic_id = topic_id;
    else
      req.topics[0].topic = topic;
    req.topics[0].partitions.resize(1);
    req.topics[0].partitions[0].partition = partition;
    req.topics[0].partitions[0].fetch_offset = next;
    req.topics[0].partitions[0].partition_max_bytes = 8 << 20;
    kp::FetchResponse resp;
    if (auto ec = s.call(req, fetch_v, resp, storage))
      throw std::runtime_error("fetch: " + ec.message());
    const auto& part = resp.responses.at(0).partitions.at(0);
    if (part.error_code != 0)
      throw std::runtime_error(std::string("fetch: ") +
                               std::string(kp::broker_error_name(part.error_code)));
    high_watermark = part.high_watermark;
    if (!part.records) continue;
    kp::record_batch_reader reader(part.records->span(), scratch);
    kp::record_batch_view batch;
    while (reader.next(batch)) {
      kp::record_view r;
      for (auto c = batch.records(); c.next(r);) {
        if (r.offset < next) continue;
        out[r.offset] =
            std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size());
        next = r.offset + 1;
      }
      next = std::max(next, batch.header().next_offset());
    }
    if (reader.error()) throw std::runtime_error("corrupt batch: " + reader.error().message());
  }
  return out;
}

TEST(ProducerRestarts, IdempotentRecordsExactlyOnceInOrderWhileLeadersDie) {
  const std::string bootstrap = kwire::test::bootstrap_from_env();
  if (bootstrap.empty()) GTEST_SKIP() << "no broker: KWIRE_BOOTSTRAP_FILE is unset";
  const auto nodes = kwire::test::parse_bootstrap(bootstrap);
  if (nodes.size() < 3)
    GTEST_SKIP() << "needs the 3-node cluster (this one has " << nodes.size() << ")";
  const auto cluster_dir = std::filesystem::path(std::getenv("KWIRE_BOOTSTRAP_FILE")).parent_path();
  const auto script = std::filesystem::path(KWIRE_SOURCE_DIR) / "scripts" / "kafka-local.sh";
  const std::string topic = "kwire-restarts-" + std::to_string(::getpid());

  {
    broker_session s(nodes.front());
    s.negotiate();
    ASSERT_EQ(kwire::test::create_topic(s, topic, kPartitions, 3, {{"min.insync.replicas", "2"}}),
              "");
  }
  leader_of(nodes, topic, 0);

  kc::producer_config config;
  auto error = kc::parse_producer_config({{"bootstrap.servers", bootstrap},
                                          {"linger.ms", "5"},
                                          {"batch.size", "16384"},
                                          {"request.timeout.ms", "5000"},
                                          {"delivery.timeout.ms", "120000"},
                                          {"reconnect.backoff.max.ms", "500"},
                                          {"metadata.max.age.ms", "5000"}},
                                         config);
  ASSERT_FALSE(error) << error->message;
  ASSERT_TRUE(config.enable_idempotence);

  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  std::thread network([&] { io.run(); });
  struct ack {
    std::int32_t partition = -1;
    std::int64_t offset = -1;
    std::error_code ec;
    bool done = false;
  };
  std::vector<ack> acks(kRecords);
  std::atomic<int> completed{0};
  auto producer = std::make_unique<kc::producer>(io.get_executor(), config);

  // The killer: when 20% and 60% of the records are acknowledged, SIGKILL partition 0's
  // leader, keep it down 3 s (producing goes on), then start it again.
  std::vector<std::int32_t> killed;
  std::thread killer([&] {
    try {
      for (int threshold : {kRecords / 5, kRecords * 3 / 5}) {
        const auto wait_deadline = std::chrono::steady_clock::now() + 120s;
        while (completed.load() < threshold && std::chrono::steady_clock::now() < wait_deadline)
          std::this_thread::sleep_for(5ms);
        if (completed.load() < threshold) break;
        const auto leader = leader_of(nodes, topic, 0);
        killed.push_back(leader);
        run(script.string() + " kill " + std::to_string(leader) + " --dir " + cluster_dir.string() +
            " >/dev/null");
        std::this_thread::sleep_for(3s);
        run(script.string() + " start " + std::to_string(leader) + " --dir " +
            cluster_dir.string() + " >/dev/null");
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "killer: " << e.what();
    }
  });

  std::vector<std::string> keys;
  for (int k = 0; k < 64; ++k) keys.push_back("key-" + std::to_string(k));
  for (int i = 0; i < kRecords; ++i) {
    const std::string value = "seq-" + std::to_string(i);
    const auto& key = keys[static_cast<std::size_t>(i % 64)];
    auto ec = producer->send(
        {.topic = topic,
         .key = std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()),
         .value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size())},
        [&acks, &completed, i](std::error_code ec, const kc::delivery_report& r) {
          acks[static_cast<std::size_t>(i)] = {r.partition, r.offset, ec, true};
          completed.fetch_add(1);
        });
    ASSERT_FALSE(ec) << "record " << i << ": " << ec.message();
    // About 10,000 records/s, so that production spans the kills and the restarts.
    if (i % 100 == 99) std::this_thread::sleep_for(10ms);
  }
  const auto deadline = std::chrono::steady_clock::now() + 180s;
  while (completed.load() < kRecords && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  killer.join();
  producer->close(5s);
  producer.reset();
  work.reset();
  network.join();
  ASSERT_EQ(completed.load(), kRecords) << "delivery reports missing";
  EXPECT_EQ(killed.size(), 2u);

  int failed = 0;
  for (const auto& a : acks) failed += a.ec ? 1 : 0;
  EXPECT_EQ(failed, 0) << "first failure: " << [&] {
    for (const auto& a : acks)
      if (a.ec) return a.ec.message();
    return std::string();
  }();

  // Read back and check: acknowledged records exactly once at their offsets, in send order.
  std::map<std::string, int> seen_count;
  for (int p = 0; p < kPartitions; ++p) {
    const auto log = read_partition(nodes, topic, p);
    int previous = -1;
    for (const auto& [offset, value] : log) {
      ++seen_count[value];
      const int seq = std::stoi(value.substr(4));
      EXPECT_GT(seq, previous) << "partition " << p << " offset " << offset << ": out of order";
      previous = seq;
    }
    for (int i = 0; i < kRecords; ++i) {
      const auto& a = acks[static_cast<std::size_t>(i)];
      if (a.ec || a.partition != p) continue;
      auto it = log.find(a.offset);
      ASSERT_NE(it, log.end()) << "record " << i << " acknowledged at " << p << "/" << a.offset
                               << " is missing";
      EXPECT_EQ(it->second, "seq-" + std::to_string(i));
    }
  }
  int duplicates = 0;
  for (const auto& [value, count] : seen_count) duplicates += count > 1 ? 1 : 0;
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(static_cast<int>(seen_count.size()), kRecords - failed);
  std::cout << "  killed leaders " << (killed.size() > 0 ? killed[0] : -1) << " and "
            << (killed.size() > 1 ? killed[1] : -1) << "; acknowledged " << kRecords - failed
            << ", distinct records read back " << seen_count.size() << ", values seen twice "
            << duplicates << "\n";
}

}  // namespace
