// kwire::client::cluster against scripted fake brokers: bootstrap (past a dead server),
// metadata for wanted topics, refresh while a topic has no leader, connections to brokers
// by id, reconnect after the broker drops the connection.
#include "kwire/client/cluster.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "fake_broker.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::run_until;
using namespace std::chrono_literals;

namespace {

std::uint16_t dead_port(boost::asio::io_context& io) {
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// Metadata naming one broker (node 1 at `port`) and, for each requested topic, `partitions`
// partitions led by node 1 (leader -1 while `leaderless` is true).
struct metadata_script {
  std::uint16_t port = 0;
  int partitions = 3;
  bool leaderless = false;
  int metadata_requests = 0;

  fake_action operator()(const fake_request& r) {
    if (r.api_key != kp::MetadataRequest::api_key) return kwire::test::no_reply{};
    ++metadata_requests;
    const auto request = r.decode<kp::MetadataRequest>();
    kp::MetadataResponse response;
    response.cluster_id = "fake";
    response.controller_id = 1;
    auto& b = response.brokers.emplace_back();
    b.node_id = 1;
    b.host = "127.0.0.1";
    b.port = port;
    if (request.topics) {
      for (const auto& t : *request.topics) {
        auto& topic = response.topics.emplace_back();
        topic.name = t.name;
        if (*t.name == "missing") {
          topic.error_code =
              static_cast<std::int16_t>(kp::broker_error::unknown_topic_or_partition);
          continue;
        }
        for (int p = 0; p < partitions; ++p) {
          auto& part = topic.partitions.emplace_back();
          part.partition_index = p;
          part.leader_id = leaderless ? -1 : 1;
          part.leader_epoch = 5;
          part.replica_nodes = {1};
          part.isr_nodes = {1};
        }
      }
    }
    return kwire::test::reply(response, r.api_version);
  }
};

kc::cluster_options options_for(std::vector<std::uint16_t> ports) {
  kc::cluster_options o;
  for (auto port : ports) o.bootstrap.push_back({-1, "127.0.0.1", port});
  o.connection.request_timeout = 2s;
  o.connection.connect_timeout = 2s;
  o.reconnect_backoff = 10ms;
  o.reconnect_backoff_max = 50ms;
  o.retry_backoff = 20ms;
  return o;
}

TEST(Cluster, BootstrapsPastADeadServerAndFetchesWantedTopics) {
  boost::asio::io_context io;
  metadata_script script;
  fake_broker broker(io, std::ref(script));
  script.port = broker.port();
  // The dead server first and second: whichever is tried first, the cluster must get there.
  auto c = kc::cluster::create(io.get_executor(),
                               options_for({dead_port(io), broker.port(), dead_port(io)}));
  int updates = 0;
  c->on_metadata([&](const kc::cluster_metadata&) { ++updates; });
  c->want_topic("orders");
  c->start();
  run_until(io, [&] { return c->metadata().topic("orders") != nullptr; });
  const auto* topic = c->metadata().topic("orders");
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->partitions.size(), 3u);
  EXPECT_EQ(topic->partitions[2].leader, 1);
  EXPECT_EQ(topic->partitions[2].leader_epoch, 5);
  ASSERT_NE(c->metadata().broker(1), nullptr);
  EXPECT_EQ(c->metadata().cluster_id, "fake");
  EXPECT_GE(updates, 1);
  c->close();
}

TEST(Cluster, ConnectsToBrokersByIdAndReportsReadiness) {
  boost::asio::io_context io;
  metadata_script script;
  fake_broker broker(io, std::ref(script));
  script.port = broker.port();
  auto c = kc::cluster::create(io.get_executor(), options_for({broker.port()}));
  std::vector<std::pair<std::int32_t, std::error_code>> events;
  c->on_connection([&](std::int32_t id, std::error_code ec) { events.emplace_back(id, ec); });
  c->start();
  run_until(io, [&] { return c->metadata().broker(1) != nullptr; });
  EXPECT_EQ(c->ready_connection(1), nullptr);  // starts connecting
  run_until(io, [&] { return c->ready_connection(1) != nullptr; });
  auto conn = c->ready_connection(1);
  ASSERT_NE(conn, nullptr);
  EXPECT_TRUE(conn->ready());
  EXPECT_TRUE(
      std::any_of(events.begin(), events.end(), [](auto& e) { return e.first == 1 && !e.second; }));
  // The broker drops every connection: the cluster hears it, refreshes metadata, reconnects.
  const int before = script.metadata_requests;
  broker.drop_all();
  run_until(io, [&] {
    return std::any_of(events.begin(), events.end(),
                       [](auto& e) { return e.first == 1 && e.second; });
  });
  run_until(io,
            [&] { return c->ready_connection(1) != nullptr && script.metadata_requests > before; });
  EXPECT_NE(c->ready_connection(1), nullptr);
  EXPECT_GT(script.metadata_requests, before);
  c->close();
}

TEST(Cluster, RefreshesWhileATopicHasNoLeaderOrIsUnknown) {
  boost::asio::io_context io;
  metadata_script script;
  script.leaderless = true;
  fake_broker broker(io, std::ref(script));
  script.port = broker.port();
  auto c = kc::cluster::create(io.get_executor(), options_for({broker.port()}));
  c->want_topic("orders");
  c->want_topic("missing");
  c->start();
  run_until(io, [&] { return script.metadata_requests >= 3; });
  EXPECT_GE(script.metadata_requests, 3);  // retry.backoff.ms = 20 ms: keeps asking
  ASSERT_NE(c->metadata().topic("missing"), nullptr);
  EXPECT_EQ(c->metadata().topic("missing")->error_code,
            static_cast<std::int16_t>(kp::broker_error::unknown_topic_or_partition));
  script.leaderless = false;
  run_until(io, [&] {
    const auto* t = c->metadata().topic("orders");
    return t && !t->partitions.empty() && t->partitions[0].leader == 1;
  });
  EXPECT_EQ(c->metadata().topic("orders")->partitions[0].leader, 1);
  c->close();
}

TEST(Cluster, NoReachableBootstrapKeepsRetryingWithBackoff) {
  boost::asio::io_context io;
  auto c = kc::cluster::create(io.get_executor(), options_for({dead_port(io)}));
  int failures = 0;
  c->on_connection([&](std::int32_t, std::error_code ec) { failures += ec ? 1 : 0; });
  c->start();
  run_until(
      io, [&] { return failures >= 3; }, 3s);
  EXPECT_GE(failures, 3);
  EXPECT_TRUE(c->metadata().brokers.empty());
  c->close();
}

// unreachable_bootstrap: every bootstrap server and its error once all have failed for the
// bound given; nothing while the bound has not passed or once a broker answered.
TEST(Cluster, SaysWhenEveryBootstrapServerRefusedForTheGivenTime) {
  boost::asio::io_context io;
  const auto first = dead_port(io);
  const auto second = dead_port(io);
  auto c = kc::cluster::create(io.get_executor(), options_for({first, second}));
  c->start();
  run_until(
      io, [&] { return !c->unreachable_bootstrap(300ms).empty(); }, 3s);
  const auto servers = c->unreachable_bootstrap(300ms);
  ASSERT_EQ(servers.size(), 2u);
  std::set<std::string> addresses;
  for (const auto& s : servers) {
    addresses.insert(s.address);
    EXPECT_EQ(s.error, std::errc::connection_refused) << s.address << ": " << s.error.message();
  }
  EXPECT_EQ(addresses, (std::set<std::string>{"127.0.0.1:" + std::to_string(first),
                                              "127.0.0.1:" + std::to_string(second)}));
  EXPECT_TRUE(c->unreachable_bootstrap(1h).empty());  // not refused for that long
  c->close();

  // Past a dead server to a live one: metadata arrives, and nothing is unreachable.
  metadata_script script;
  fake_broker broker(io, std::ref(script));
  script.port = broker.port();
  auto live = kc::cluster::create(io.get_executor(), options_for({first, broker.port()}));
  live->start();
  run_until(io, [&] { return live->metadata().version > 0; });
  EXPECT_TRUE(live->unreachable_bootstrap(0ms).empty());
  live->close();
}

}  // namespace
