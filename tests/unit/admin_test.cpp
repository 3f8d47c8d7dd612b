// The admin client against two scripted fake brokers (node 1 and node 2): routing to the
// controller, every broker, the group and transaction coordinators and the partition
// leaders; retries on NOT_CONTROLLER, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS and
// NOT_LEADER_OR_FOLLOWER; per-item errors that are final; the operation's timeout; and
// parse_admin_config.
#include "kwire/client/admin.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "fake_broker.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::run_until;
using namespace std::chrono_literals;

namespace {

std::int16_t code(kp::broker_error e) { return static_cast<std::int16_t>(e); }

// Two brokers; topic "t" has partition 0 led by node 1 and partition 1 by node 2 (leader -1
// for every partition while `leaderless`). Requests other than Metadata go to `handle`.
struct fake_cluster {
  std::uint16_t port[3] = {0, 0, 0};  // by node id
  std::int32_t controller = 1;
  bool leaderless = false;
  std::vector<std::pair<int, fake_request>> log;  // (node, request), Metadata left out
  std::function<fake_action(int node, const fake_request&)> handle;

  fake_action on(int node, const fake_request& r) {
    if (r.api_key == kp::MetadataRequest::api_key) return metadata(r);
    log.emplace_back(node, r);
    return handle ? handle(node, r) : kwire::test::no_reply{};
  }

  fake_action metadata(const fake_request& r) {
    const auto request = r.decode<kp::MetadataRequest>();
    kp::MetadataResponse response;
    response.cluster_id = "fake";
    response.controller_id = controller;
    for (int id : {1, 2}) {
      auto& b = response.brokers.emplace_back();
      b.node_id = id;
      b.host = "127.0.0.1";
      b.port = port[id];
    }
    for (const auto& t :
         request.topics.value_or(std::vector<kp::MetadataRequest::MetadataRequestTopic>{})) {
      auto& topic = response.topics.emplace_back();
      topic.name = t.name;
      if (*t.name != "t") {
        topic.error_code = code(kp::broker_error::unknown_topic_or_partition);
        continue;
      }
      for (int p = 0; p < 2; ++p) {
        auto& part = topic.partitions.emplace_back();
        part.partition_index = p;
        part.leader_id = leaderless ? -1 : p + 1;
      }
    }
    return kwire::test::reply(response, r.api_version);
  }

  int count(int node, std::int16_t api_key) const {
    int n = 0;
    for (const auto& [at, r] : log) n += (at == node && r.api_key == api_key) ? 1 : 0;
    return n;
  }
};

class AdminTest : public ::testing::Test {
 protected:
  AdminTest()
      : broker1(io, [this](const fake_request& r) { return cluster.on(1, r); }),
        broker2(io, [this](const fake_request& r) { return cluster.on(2, r); }) {
    cluster.port[1] = broker1.port();
    cluster.port[2] = broker2.port();
  }

  kc::admin_config config(std::string timeout_ms = "3000") {
    kc::admin_config c;
    const auto error = kc::parse_admin_config(
        {{"bootstrap.servers", "127.0.0.1:" + std::to_string(broker1.port())},
         {"request.timeout.ms", "1000"},
         {"default.api.timeout.ms", timeout_ms},
         {"retry.backoff.ms", "10"},
         {"retry.backoff.max.ms", "50"},
         {"reconnect.backoff.ms", "10"},
         {"reconnect.backoff.max.ms", "50"}},
        c);
    EXPECT_FALSE(error) << error->message;
    return c;
  }

  // Runs the io_context until the operation completes.
  template <class Result, class Start>
  std::pair<std::error_code, Result> wait_for(Start start) {
    bool done = false;
    std::pair<std::error_code, Result> out;
    start([&](std::error_code ec, Result r) {
      out = {ec, std::move(r)};
      done = true;
    });
    run_until(io, [&] { return done; });
    EXPECT_TRUE(done);
    return out;
  }

  void close(kc::admin& a) {
    bool closed = false;
    a.async_close([&] { closed = true; });
    run_until(io, [&] { return closed; });
  }

  boost::asio::io_context io;
  fake_cluster cluster;
  fake_broker broker1;
  fake_broker broker2;
};

TEST_F(AdminTest, CreateTopicsRetriesNotControllerAtTheNewControllerAndKeepsFinalErrors) {
  cluster.handle = [this](int node, const fake_request& r) -> fake_action {
    const auto request = r.decode<kp::CreateTopicsRequest>();
    kp::CreateTopicsResponse response;
    for (const auto& t : request.topics) {
      auto& out = response.topics.emplace_back();
      out.name = t.name;
      out.num_partitions = t.num_partitions;
      out.replication_factor = t.replication_factor;
      if (t.name == "exists") {
        out.error_code = code(kp::broker_error::topic_already_exists);
        out.error_message = "Topic 'exists' already exists.";
      } else if (node == 1) {
        out.error_code = code(kp::broker_error::not_controller);
        cluster.controller = 2;  // the next metadata names node 2
      }
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::create_topics_result>([&](auto handler) {
    a.async_create_topics({{.name = "fresh", .partitions = 3, .replication_factor = 2},
                           {.name = "exists", .partitions = 1, .replication_factor = 1}},
                          {}, handler);
  });
  ASSERT_EQ(result.topics.size(), 2u);
  EXPECT_FALSE(result.topics[0].error) << result.topics[0].message;
  EXPECT_EQ(result.topics[0].partitions, 3);
  EXPECT_EQ(result.topics[1].error, kp::make_error_code(kp::broker_error::topic_already_exists));
  EXPECT_NE(result.topics[1].message.find("already exists"), std::string::npos);
  EXPECT_EQ(result.topics[1].detail.topic, "exists");
  EXPECT_EQ(ec, result.topics[1].error);  // the first failed item
  // "fresh" went to node 1, got NOT_CONTROLLER (again if the retry beat the metadata
  // refresh), then to node 2; "exists" was sent once.
  EXPECT_GE(cluster.count(1, kp::CreateTopicsRequest::api_key), 1);
  EXPECT_EQ(cluster.count(2, kp::CreateTopicsRequest::api_key), 1);
  int exists_sent = 0;
  for (const auto& [node, r] : cluster.log)
    for (const auto& t : r.decode<kp::CreateTopicsRequest>().topics)
      exists_sent += t.name == "exists" ? 1 : 0;
  EXPECT_EQ(exists_sent, 1);
  const auto second = cluster.log.back().second.decode<kp::CreateTopicsRequest>();
  ASSERT_EQ(second.topics.size(), 1u);
  EXPECT_EQ(second.topics[0].name, "fresh");
  close(a);
}

TEST_F(AdminTest, GroupRequestsFollowTheCoordinatorAfterNotCoordinator) {
  int lookups = 0;
  cluster.handle = [&](int node, const fake_request& r) -> fake_action {
    if (r.api_key == kp::FindCoordinatorRequest::api_key) {
      const auto request = r.decode<kp::FindCoordinatorRequest>();
      EXPECT_GE(r.api_version, 4);  // batched keys
      kp::FindCoordinatorResponse response;
      for (const auto& key : request.coordinator_keys) {
        auto& c = response.coordinators.emplace_back();
        c.key = key;
        c.node_id = lookups == 0 ? 1 : 2;  // moves to node 2 after the first answer
        c.host = "127.0.0.1";
        c.port = cluster.port[c.node_id];
      }
      ++lookups;
      return kwire::test::reply(response, r.api_version);
    }
    if (r.api_key == kp::DescribeGroupsRequest::api_key) {
      const auto request = r.decode<kp::DescribeGroupsRequest>();
      kp::DescribeGroupsResponse response;
      for (const auto& g : request.groups) {
        auto& out = response.groups.emplace_back();
        out.group_id = g;
        if (node == 1) {
          out.error_code = code(kp::broker_error::not_coordinator);
          continue;
        }
        out.group_state = "Stable";
        out.protocol_type = "consumer";
        out.protocol_data = "range";
        auto& m = out.members.emplace_back();
        m.member_id = "m-1";
        m.client_id = "c";
        m.member_assignment = {1, 2, 3};
      }
      return kwire::test::reply(response, r.api_version);
    }
    return kwire::test::no_reply{};
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::describe_groups_result>([&](auto handler) {
    a.async_describe_groups({"g1", "g2"}, {}, handler);
  });
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_EQ(result.groups.size(), 2u);
  for (const auto& g : result.groups) {
    EXPECT_FALSE(g.error) << g.message;
    EXPECT_EQ(g.coordinator, 2);
    EXPECT_EQ(g.state, "Stable");
    ASSERT_EQ(g.members.size(), 1u);
    EXPECT_EQ(g.members[0].assignment, (std::vector<std::uint8_t>{1, 2, 3}));
  }
  // The first lookup asked for both groups at once, and both went to node 1 in one request;
  // each retry (their backoffs differ) looked its group up again and found node 2.
  EXPECT_GE(lookups, 2);
  const auto first = std::find_if(cluster.log.begin(), cluster.log.end(), [](const auto& e) {
    return e.second.api_key == kp::FindCoordinatorRequest::api_key;
  });
  ASSERT_NE(first, cluster.log.end());
  EXPECT_EQ(first->second.template decode<kp::FindCoordinatorRequest>().coordinator_keys.size(),
            2u);
  EXPECT_EQ(cluster.count(1, kp::DescribeGroupsRequest::api_key), 1);
  EXPECT_GE(cluster.count(2, kp::DescribeGroupsRequest::api_key), 1);
  close(a);
}

TEST_F(AdminTest, ListOffsetsSendsOneRequestPerLeader) {
  cluster.handle = [&](int node, const fake_request& r) -> fake_action {
    const auto request = r.decode<kp::ListOffsetsRequest>();
    kp::ListOffsetsResponse response;
    for (const auto& t : request.topics) {
      auto& out = response.topics.emplace_back();
      out.name = t.name;
      for (const auto& p : t.partitions) {
        auto& po = out.partitions.emplace_back();
        po.partition_index = p.partition_index;
        if (p.partition_index != node - 1) {
          po.error_code = code(kp::broker_error::not_leader_or_follower);
          continue;
        }
        po.offset = p.timestamp == -2 ? 0 : 100 * node;
      }
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::list_offsets_result>([&](auto handler) {
    a.async_list_offsets({{"t", 0, kc::offset_spec::latest()},
                          {"t", 1, kc::offset_spec::latest()},
                          {"t", 1, kc::offset_spec::earliest()}},
                         {}, handler);
  });
  ASSERT_EQ(result.partitions.size(), 3u);
  EXPECT_FALSE(result.partitions[0].error) << result.partitions[0].message;
  EXPECT_EQ(result.partitions[0].offset, 100);
  EXPECT_FALSE(result.partitions[1].error) << result.partitions[1].message;
  EXPECT_EQ(result.partitions[1].offset, 200);
  // The same partition twice in one call is refused before anything is sent.
  EXPECT_EQ(result.partitions[2].error, kc::make_error_code(kc::errc::invalid_argument));
  EXPECT_EQ(ec, result.partitions[2].error);
  ASSERT_EQ(cluster.count(1, kp::ListOffsetsRequest::api_key), 1);
  ASSERT_EQ(cluster.count(2, kp::ListOffsetsRequest::api_key), 1);
  for (const auto& [node, r] : cluster.log) {
    const auto request = r.decode<kp::ListOffsetsRequest>();
    ASSERT_EQ(request.topics.size(), 1u);
    ASSERT_EQ(request.topics[0].partitions.size(), 1u);
    EXPECT_EQ(request.topics[0].partitions[0].partition_index, node - 1);
    EXPECT_EQ(request.replica_id, -1);
  }
  close(a);
}

TEST_F(AdminTest, DeleteRecordsWithoutALeaderTimesOutNamingTheLastError) {
  cluster.leaderless = true;
  kc::admin a(io.get_executor(), config("1000"));
  const auto started = std::chrono::steady_clock::now();
  auto [ec, result] = wait_for<kc::delete_records_result>([&](auto handler) {
    a.async_delete_records({{"t", 0, 5}}, {.timeout = 300ms}, handler);
  });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(ec, kc::make_error_code(kc::errc::operation_timed_out));
  ASSERT_EQ(result.partitions.size(), 1u);
  EXPECT_EQ(result.partitions[0].error, ec);
  EXPECT_NE(result.partitions[0].message.find("timed out after 300 ms"), std::string::npos)
      << result.partitions[0].message;
  EXPECT_NE(result.partitions[0].message.find("LEADER_NOT_AVAILABLE"), std::string::npos)
      << result.partitions[0].message;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(cluster.count(1, kp::DeleteRecordsRequest::api_key), 0);
  close(a);
}

TEST_F(AdminTest, AlterAndFetchGroupOffsetsRetryCoordinatorLoading) {
  int commits = 0;
  cluster.handle = [&](int, const fake_request& r) -> fake_action {
    if (r.api_key == kp::FindCoordinatorRequest::api_key) {
      const auto request = r.decode<kp::FindCoordinatorRequest>();
      kp::FindCoordinatorResponse response;
      for (const auto& key : request.coordinator_keys) {
        auto& c = response.coordinators.emplace_back();
        c.key = key;
        c.node_id = 2;
        c.host = "127.0.0.1";
        c.port = cluster.port[2];
      }
      return kwire::test::reply(response, r.api_version);
    }
    if (r.api_key == kp::OffsetCommitRequest::api_key) {
      const auto request = r.decode<kp::OffsetCommitRequest>();
      EXPECT_EQ(request.generation_id_or_member_epoch, -1);
      EXPECT_EQ(request.member_id, "");
      kp::OffsetCommitResponse response;
      for (const auto& t : request.topics) {
        auto& out = response.topics.emplace_back();
        out.name = t.name;
        for (const auto& p : t.partitions) {
          auto& po = out.partitions.emplace_back();
          po.partition_index = p.partition_index;
          if (commits == 0) po.error_code = code(kp::broker_error::coordinator_load_in_progress);
          if (p.partition_index == 7)
            po.error_code = code(kp::broker_error::unknown_topic_or_partition);
        }
      }
      ++commits;
      return kwire::test::reply(response, r.api_version);
    }
    if (r.api_key == kp::OffsetFetchRequest::api_key) {
      EXPECT_LE(r.api_version, 9);  // topic names, not ids
      const auto request = r.decode<kp::OffsetFetchRequest>();
      kp::OffsetFetchResponse response;
      auto& g = response.groups.emplace_back();
      g.group_id = request.groups.at(0).group_id;
      EXPECT_FALSE(request.groups[0].topics.has_value());  // every partition
      auto& t = g.topics.emplace_back();
      t.name = "t";
      auto& p = t.partitions.emplace_back();
      p.partition_index = 0;
      p.committed_offset = 42;
      p.metadata = "m";
      return kwire::test::reply(response, r.api_version);
    }
    return kwire::test::no_reply{};
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, altered] = wait_for<kc::alter_group_offsets_result>([&](auto handler) {
    a.async_alter_group_offsets("g", {{"t", 0, 42}, {"t", 7, 1}}, {}, handler);
  });
  EXPECT_EQ(commits, 2);  // COORDINATOR_LOAD_IN_PROGRESS: the whole commit again
  EXPECT_FALSE(altered.error) << altered.message;
  ASSERT_EQ(altered.partitions.size(), 2u);
  EXPECT_FALSE(altered.partitions[0].error);
  EXPECT_EQ(altered.partitions[1].error,
            kp::make_error_code(kp::broker_error::unknown_topic_or_partition));
  EXPECT_EQ(altered.partitions[1].detail.partition, 7);
  EXPECT_EQ(ec, altered.partitions[1].error);

  auto [fetch_ec, offsets] = wait_for<kc::group_offsets>(
      [&](auto handler) { a.async_list_group_offsets("g", std::nullopt, {}, handler); });
  EXPECT_FALSE(fetch_ec) << offsets.message;
  ASSERT_EQ(offsets.partitions.size(), 1u);
  EXPECT_EQ(offsets.partitions[0].offset, 42);
  EXPECT_EQ(offsets.partitions[0].metadata, "m");
  EXPECT_EQ(cluster.count(1, kp::OffsetCommitRequest::api_key), 0);  // all to the coordinator
  close(a);
}

TEST_F(AdminTest, DeleteTopicsUnknownTopicIsAnAnswerNotARetry) {
  cluster.handle = [&](int, const fake_request& r) -> fake_action {
    const auto request = r.decode<kp::DeleteTopicsRequest>();
    kp::DeleteTopicsResponse response;
    auto names = request.topic_names;
    for (const auto& t : request.topics) names.push_back(*t.name);
    for (const auto& name : names) {
      auto& out = response.responses.emplace_back();
      out.name = name;
      if (name == "gone") out.error_code = code(kp::broker_error::unknown_topic_or_partition);
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::delete_topics_result>([&](auto handler) {
    a.async_delete_topics({"t", "gone"}, {}, handler);
  });
  ASSERT_EQ(result.topics.size(), 2u);
  EXPECT_FALSE(result.topics[0].error);
  EXPECT_EQ(result.topics[1].error,
            kp::make_error_code(kp::broker_error::unknown_topic_or_partition));
  EXPECT_EQ(cluster.log.size(), 1u);
  close(a);
}

TEST_F(AdminTest, ListTransactionsAsksEveryBrokerWithTheFiltersAndRetriesLoading) {
  int loading = 1;  // node 2 is loading its transaction log once
  cluster.handle = [&](int node, const fake_request& r) -> fake_action {
    const auto request = r.decode<kp::ListTransactionsRequest>();
    EXPECT_GE(r.api_version, 1);  // the duration filter needs v1
    EXPECT_EQ(request.state_filters, std::vector<std::string>{"Ongoing"});
    EXPECT_EQ(request.producer_id_filters, (std::vector<std::int64_t>{7, 8}));
    EXPECT_EQ(request.duration_filter, 5000);
    kp::ListTransactionsResponse response;
    if (node == 2 && loading-- > 0) {
      response.error_code = code(kp::broker_error::coordinator_load_in_progress);
      return kwire::test::reply(response, r.api_version);
    }
    auto& t = response.transaction_states.emplace_back();
    t.transactional_id = "tx-" + std::to_string(node);
    t.producer_id = 6 + node;
    t.transaction_state = "Ongoing";
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::list_transactions_result>([&](auto handler) {
    a.async_list_transactions(
        {.states = {"Ongoing"}, .producer_ids = {7, 8}, .min_duration = 5000ms}, handler);
  });
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_EQ(result.brokers.size(), 2u);
  ASSERT_EQ(result.transactions.size(), 2u);
  for (const auto& t : result.transactions) {
    EXPECT_EQ(t.transactional_id, "tx-" + std::to_string(t.coordinator));
    EXPECT_EQ(t.producer_id, 6 + t.coordinator);
    EXPECT_EQ(t.state, "Ongoing");
  }
  EXPECT_EQ(cluster.count(1, kp::ListTransactionsRequest::api_key), 1);
  EXPECT_EQ(cluster.count(2, kp::ListTransactionsRequest::api_key), 2);
  close(a);
}

TEST_F(AdminTest, ListTransactionsDurationFilterNeedsABrokerWithV1) {
  broker1.script_api_versions_ = true;
  broker2.script_api_versions_ = true;
  cluster.handle = [&](int, const fake_request& r) -> fake_action {
    if (r.api_key != kp::ApiVersionsRequest::api_key) return kwire::test::no_reply{};
    kp::ApiVersionsResponse response;
    for (const auto& api : kp::implemented_apis()) {
      auto& entry = response.api_keys.emplace_back();
      entry.api_key = api.key;
      entry.min_version = api.min_version;
      entry.max_version = api.key == kp::ListTransactionsRequest::api_key ? 0 : api.max_version;
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::list_transactions_result>(
      [&](auto handler) { a.async_list_transactions({.min_duration = 1000ms}, handler); });
  // Refused rather than sent without the filter (which would list every transaction).
  EXPECT_EQ(ec, kc::make_error_code(kc::errc::broker_too_old));
  ASSERT_EQ(result.brokers.size(), 2u);
  for (const auto& b : result.brokers) EXPECT_EQ(b.error, ec) << b.message;
  EXPECT_EQ(cluster.count(1, kp::ListTransactionsRequest::api_key), 0);
  EXPECT_EQ(cluster.count(2, kp::ListTransactionsRequest::api_key), 0);
  close(a);
}

TEST_F(AdminTest, DescribeTransactionsFindsTransactionCoordinatorsAndNamesTheIdOnError) {
  int lookups = 0;
  cluster.handle = [&](int node, const fake_request& r) -> fake_action {
    if (r.api_key == kp::FindCoordinatorRequest::api_key) {
      const auto request = r.decode<kp::FindCoordinatorRequest>();
      EXPECT_EQ(request.key_type, 1);  // transaction coordinators
      kp::FindCoordinatorResponse response;
      for (const auto& key : request.coordinator_keys) {
        auto& c = response.coordinators.emplace_back();
        c.key = key;
        c.node_id = lookups == 0 ? 1 : 2;  // moves to node 2 after the first answer
        c.host = "127.0.0.1";
        c.port = cluster.port[c.node_id];
      }
      ++lookups;
      return kwire::test::reply(response, r.api_version);
    }
    const auto request = r.decode<kp::DescribeTransactionsRequest>();
    kp::DescribeTransactionsResponse response;
    for (const auto& id : request.transactional_ids) {
      auto& t = response.transaction_states.emplace_back();
      t.transactional_id = id;
      if (node == 1) {
        t.error_code = code(kp::broker_error::not_coordinator);
      } else if (id == "missing") {
        t.error_code = code(kp::broker_error::transactional_id_not_found);
      } else {
        t.transaction_state = "Ongoing";
        t.transaction_timeout_ms = 60000;
        t.transaction_start_time_ms = 1234;
        t.producer_id = 42;
        t.producer_epoch = 3;
        auto& topic = t.topics.emplace_back();
        topic.topic = "t";
        topic.partitions = {0, 1};
      }
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::describe_transactions_result>([&](auto handler) {
    a.async_describe_transactions({"tx", "missing"}, {}, handler);
  });
  ASSERT_EQ(result.transactions.size(), 2u);
  const auto& tx = result.transactions[0];
  EXPECT_FALSE(tx.error) << tx.message;
  EXPECT_EQ(tx.state, "Ongoing");
  EXPECT_EQ(tx.timeout_ms, 60000);
  EXPECT_EQ(tx.start_time_ms, 1234);
  EXPECT_EQ(tx.producer_id, 42);
  EXPECT_EQ(tx.producer_epoch, 3);
  EXPECT_EQ(tx.coordinator, 2);
  EXPECT_EQ(tx.partitions, (std::vector<kc::topic_partition>{{"t", 0}, {"t", 1}}));
  const auto& missing = result.transactions[1];
  EXPECT_EQ(missing.error, kp::make_error_code(kp::broker_error::transactional_id_not_found));
  EXPECT_EQ(missing.message.rfind("transactional id missing: ", 0), 0u) << missing.message;
  EXPECT_EQ(ec, missing.error);
  EXPECT_GE(lookups, 2);
  const auto first = std::find_if(cluster.log.begin(), cluster.log.end(), [](const auto& e) {
    return e.second.api_key == kp::FindCoordinatorRequest::api_key;
  });
  ASSERT_NE(first, cluster.log.end());
  EXPECT_EQ(first->second.template decode<kp::FindCoordinatorRequest>().coordinator_keys.size(),
            2u);
  EXPECT_EQ(cluster.count(1, kp::DescribeTransactionsRequest::api_key), 1);
  close(a);
}

TEST_F(AdminTest, DescribeProducersAsksEachLeaderAndRetriesNotLeader) {
  int not_leader = 1;
  cluster.handle = [&](int node, const fake_request& r) -> fake_action {
    const auto request = r.decode<kp::DescribeProducersRequest>();
    kp::DescribeProducersResponse response;
    for (const auto& t : request.topics) {
      auto& out = response.topics.emplace_back();
      out.name = t.name;
      for (auto p : t.partition_indexes) {
        EXPECT_EQ(p, node - 1);
        auto& po = out.partitions.emplace_back();
        po.partition_index = p;
        if (node == 2 && not_leader-- > 0) {
          po.error_code = code(kp::broker_error::not_leader_or_follower);
          continue;
        }
        auto& s = po.active_producers.emplace_back();
        s.producer_id = 100 + p;
        s.producer_epoch = 5;
        s.last_sequence = 9;
        s.last_timestamp = 777;
        s.coordinator_epoch = 2;
        s.current_txn_start_offset = p == 1 ? 40 : -1;
      }
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::describe_producers_result>([&](auto handler) {
    a.async_describe_producers({{"t", 0}, {"t", 1}}, {}, handler);
  });
  EXPECT_FALSE(ec) << ec.message();
  ASSERT_EQ(result.partitions.size(), 2u);
  for (int p = 0; p < 2; ++p) {
    const auto& out = result.partitions[static_cast<std::size_t>(p)];
    EXPECT_FALSE(out.error) << out.message;
    EXPECT_EQ(out.leader, p + 1);
    ASSERT_EQ(out.producers.size(), 1u);
    EXPECT_EQ(out.producers[0].producer_id, 100 + p);
    EXPECT_EQ(out.producers[0].producer_epoch, 5);
    EXPECT_EQ(out.producers[0].last_sequence, 9);
    EXPECT_EQ(out.producers[0].last_timestamp, 777);
    EXPECT_EQ(out.producers[0].coordinator_epoch, 2);
    EXPECT_EQ(out.producers[0].current_txn_start_offset, p == 1 ? 40 : -1);
  }
  EXPECT_EQ(cluster.count(1, kp::DescribeProducersRequest::api_key), 1);
  EXPECT_EQ(cluster.count(2, kp::DescribeProducersRequest::api_key), 2);
  close(a);
}

TEST_F(AdminTest, AbortTransactionWritesAnAbortMarkerAtTheLeader) {
  int not_leader = 1;
  cluster.handle = [&](int node, const fake_request& r) -> fake_action {
    EXPECT_EQ(node, 2);  // the leader of t/1
    const auto request = r.decode<kp::WriteTxnMarkersRequest>();
    kp::WriteTxnMarkersResponse response;
    for (const auto& m : request.markers) {
      auto& mo = response.markers.emplace_back();
      mo.producer_id = m.producer_id;
      for (const auto& t : m.topics) {
        auto& to = mo.topics.emplace_back();
        to.name = t.name;
        for (auto p : t.partition_indexes) {
          auto& po = to.partitions.emplace_back();
          po.partition_index = p;
          if (not_leader-- > 0)
            po.error_code = code(kp::broker_error::not_leader_or_follower);
          else if (m.coordinator_epoch != 2)
            po.error_code = code(kp::broker_error::transaction_coordinator_fenced);
        }
      }
    }
    return kwire::test::reply(response, r.api_version);
  };
  kc::admin a(io.get_executor(), config());
  auto [ec, result] = wait_for<kc::partition_outcome>([&](auto handler) {
    a.async_abort_transaction({"t", 1, 42, 3, 2}, {}, handler);
  });
  EXPECT_FALSE(ec) << result.message;
  EXPECT_EQ(result.topic, "t");
  EXPECT_EQ(result.partition, 1);
  ASSERT_EQ(cluster.count(2, kp::WriteTxnMarkersRequest::api_key), 2);  // NOT_LEADER retried
  const auto request = cluster.log.back().second.decode<kp::WriteTxnMarkersRequest>();
  ASSERT_EQ(request.markers.size(), 1u);
  const auto& m = request.markers[0];
  EXPECT_EQ(m.producer_id, 42);
  EXPECT_EQ(m.producer_epoch, 3);
  EXPECT_EQ(m.coordinator_epoch, 2);
  EXPECT_FALSE(m.transaction_result);  // abort
  ASSERT_EQ(m.topics.size(), 1u);
  EXPECT_EQ(m.topics[0].name, "t");
  EXPECT_EQ(m.topics[0].partition_indexes, std::vector<std::int32_t>{1});

  // A stale coordinator epoch is final, and the message says what was being aborted.
  auto [fenced, outcome] = wait_for<kc::partition_outcome>([&](auto handler) {
    a.async_abort_transaction({"t", 1, 42, 3, 1}, {}, handler);
  });
  EXPECT_EQ(fenced, kp::make_error_code(kp::broker_error::transaction_coordinator_fenced));
  EXPECT_NE(outcome.message.find("producer id 42 epoch 3 on t partition 1"), std::string::npos)
      << outcome.message;
  EXPECT_EQ(cluster.count(2, kp::WriteTxnMarkersRequest::api_key), 3);
  close(a);
}

TEST_F(AdminTest, CloseFailsOperationsInProgress) {
  kc::admin a(io.get_executor(), config());  // no script: nothing is ever answered
  bool done = false;
  std::error_code got;
  a.async_describe_cluster({}, [&](std::error_code ec, kc::cluster_description) {
    got = ec;
    done = true;
  });
  run_until(io, [&] { return !cluster.log.empty(); });
  close(a);
  run_until(io, [&] { return done; });
  EXPECT_EQ(got, kc::make_error_code(kc::errc::shut_down));
}

TEST(AdminConfig, ParsesJavaNamesAndRefusesOthersByName) {
  kc::admin_config config;
  EXPECT_FALSE(kc::parse_admin_config({{"bootstrap.servers", "a:1"}, {"retries", "3"}}, config));
  EXPECT_EQ(config.retries, 3);
  EXPECT_EQ(config.default_api_timeout, 60000ms);
  EXPECT_EQ(config.connections_max_idle, 300000ms);  // the admin client's own default

  auto error = kc::parse_admin_config({{"bootstrap.servers", "a:1"}, {"acks", "all"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "acks");
  EXPECT_EQ(error->message, "acks is a producer property, not an admin property");

  error =
      kc::parse_admin_config({{"bootstrap.servers", "a:1"}, {"default.api.timeout", "5"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "default.api.timeout");
  EXPECT_NE(error->message.find("did you mean \"default.api.timeout.ms\""), std::string::npos)
      << error->message;

  error = kc::parse_admin_config({{"bootstrap.servers", "a:1"},
                                  {"request.timeout.ms", "5000"},
                                  {"default.api.timeout.ms", "4000"}},
                                 config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "default.api.timeout.ms");

  // Not given: raised to request.timeout.ms, with a warning (as Java does).
  EXPECT_FALSE(kc::parse_admin_config(
      {{"bootstrap.servers", "a:1"}, {"request.timeout.ms", "90000"}}, config));
  EXPECT_EQ(config.default_api_timeout, 90000ms);
  EXPECT_EQ(config.warnings.size(), 1u);

  kc::admin_config again;
  EXPECT_FALSE(kc::parse_admin_config(kc::to_properties(config), again));
  again.warnings = config.warnings;
  EXPECT_EQ(again, config);
}

}  // namespace
