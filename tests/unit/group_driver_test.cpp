// The group driver between a membership machine and scripted brokers (no Kafka): two fake
// brokers (nodes 1 and 2) answer Metadata, FindCoordinator and the group APIs for one
// member, and a test injects an error, silence or a dropped connection into the next
// request of an API. What is checked is what the driver adds to the machines (whose own
// tests script every response): requests reach the coordinator the lookup named, failures
// on the wire come back as failures, metadata answers the machines' questions and moves the
// subscription, and the listener hooks fire in order.
#include "group/group_driver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>

#include "core/observer.hpp"
#include "fake_broker.hpp"
#include "kwire/client/consumer_protocol.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using kp::broker_error;
using kwire::test::drop_connection;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::no_reply;
using kwire::test::reply;
using namespace std::chrono_literals;

namespace {

std::int16_t code(broker_error e) { return static_cast<std::int16_t>(e); }

// The scripted cluster: topic "t" (3 partitions led by node 1) and one group whose only
// member is the one under test.
struct fake_group_kafka {
  std::uint16_t ports[2] = {0, 0};
  int coordinator = 1;  // what FindCoordinator names
  bool topic_exists = true;
  kp::uuid topic_id = [] {
    kp::uuid id;
    id.bytes[15] = 7;
    return id;
  }();
  // What the next request of an API gets instead of the normal answer: an error code,
  // silence, or a dropped connection.
  using fault = std::variant<broker_error, no_reply, drop_connection>;
  std::map<std::int16_t, std::deque<fault>> faults;
  // Requests seen, by node and API key.
  std::map<std::pair<int, std::int16_t>, int> seen;
  std::vector<kp::JoinGroupRequest> joins;
  std::vector<kp::LeaveGroupRequest> leaves;
  int generation = 0;
  int next_member = 1;
  std::int32_t epoch = 0;                   // KIP-848
  std::optional<std::int16_t> missing_api;  // left out of the ApiVersions answer

  int count(int node, std::int16_t api_key) const {
    auto it = seen.find({node, api_key});
    return it == seen.end() ? 0 : it->second;
  }
  int count(std::int16_t api_key) const { return count(1, api_key) + count(2, api_key); }

  fake_action answer(int node, const fake_request& r) {
    ++seen[{node, r.api_key}];
    if (auto it = faults.find(r.api_key); it != faults.end() && !it->second.empty()) {
      const fault f = it->second.front();
      it->second.pop_front();
      if (std::holds_alternative<no_reply>(f)) return no_reply{};
      if (std::holds_alternative<drop_connection>(f)) return drop_connection{};
      return error_reply(r, std::get<broker_error>(f));
    }
    const bool at_coordinator = node == coordinator;
    switch (r.api_key) {
      case kp::ApiVersionsRequest::api_key: {
        kp::ApiVersionsResponse response;
        for (const auto& api : kp::implemented_apis())
          if (api.key != missing_api)
            response.api_keys.push_back({api.key, api.min_version, api.max_version, {}});
        return reply(response, r.api_version);
      }
      case kp::MetadataRequest::api_key:
        return metadata(r);
      case kp::FindCoordinatorRequest::api_key:
        return find_coordinator(r);
      case kp::JoinGroupRequest::api_key: {
        if (!at_coordinator) return error_reply(r, broker_error::not_coordinator);
        auto request = r.decode<kp::JoinGroupRequest>();
        joins.push_back(request);
        kp::JoinGroupResponse response;
        response.protocol_type = "consumer";
        if (request.member_id.empty() && !request.group_instance_id && r.api_version >= 4) {
          response.error_code = code(broker_error::member_id_required);
          response.member_id = "member-" + std::to_string(next_member++);
          return reply(response, r.api_version);
        }
        const std::string id = request.member_id.empty() ? "member-" + std::to_string(next_member++)
                                                         : request.member_id;
        response.generation_id = ++generation;
        response.protocol_name = request.protocols.at(0).name;
        response.leader = id;
        response.member_id = id;
        response.members.push_back(
            {id, request.group_instance_id, request.protocols[0].metadata, {}});
        return reply(response, r.api_version);
      }
      case kp::SyncGroupRequest::api_key: {
        if (!at_coordinator) return error_reply(r, broker_error::not_coordinator);
        auto request = r.decode<kp::SyncGroupRequest>();
        kp::SyncGroupResponse response;
        response.protocol_type = request.protocol_type;
        response.protocol_name = request.protocol_name;
        for (const auto& a : request.assignments)
          if (a.member_id == request.member_id) response.assignment = a.assignment;
        return reply(response, r.api_version);
      }
      case kp::HeartbeatRequest::api_key:
        return at_coordinator ? reply(kp::HeartbeatResponse{}, r.api_version)
                              : error_reply(r, broker_error::not_coordinator);
      case kp::LeaveGroupRequest::api_key:
        leaves.push_back(r.decode<kp::LeaveGroupRequest>());
        return reply(kp::LeaveGroupResponse{}, r.api_version);
      case kp::ConsumerGroupHeartbeatRequest::api_key: {
        if (!at_coordinator) return error_reply(r, broker_error::not_coordinator);
        auto request = r.decode<kp::ConsumerGroupHeartbeatRequest>();
        kp::ConsumerGroupHeartbeatResponse response;
        response.member_id = request.member_id;
        response.member_epoch = epoch = std::max(epoch, 1);
        response.heartbeat_interval_ms = 50;
        if (request.member_epoch == 0 && topic_exists) {
          auto& assignment = response.assignment.emplace();
          assignment.topic_partitions.push_back({topic_id, {0, 1, 2}, {}});
        }
        return reply(response, r.api_version);
      }
    }
    return no_reply{};
  }

  fake_action metadata(const fake_request& r) {
    const auto request = r.decode<kp::MetadataRequest>();
    kp::MetadataResponse response;
    for (int node = 1; node <= 2; ++node) {
      auto& b = response.brokers.emplace_back();
      b.node_id = node;
      b.host = "127.0.0.1";
      b.port = ports[node - 1];
    }
    response.controller_id = 1;
    if (request.topics) {
      for (const auto& wanted : *request.topics) {
        auto& t = response.topics.emplace_back();
        t.name = wanted.name;
        if (wanted.name != "t" || !topic_exists) {
          t.error_code = code(broker_error::unknown_topic_or_partition);
          continue;
        }
        t.topic_id = topic_id;
        for (int p = 0; p < 3; ++p) {
          auto& part = t.partitions.emplace_back();
          part.partition_index = p;
          part.leader_id = 1;
          part.replica_nodes = {1};
          part.isr_nodes = {1};
        }
      }
    }
    return reply(response, r.api_version);
  }

  fake_action find_coordinator(const fake_request& r) const {
    const auto request = r.decode<kp::FindCoordinatorRequest>();
    kp::FindCoordinatorResponse response;
    const auto port = ports[coordinator - 1];
    if (r.api_version >= 4) {
      for (const auto& key : request.coordinator_keys)
        response.coordinators.push_back({key, coordinator, "127.0.0.1", port, 0, {}, {}});
    } else {
      response.node_id = coordinator;
      response.host = "127.0.0.1";
      response.port = port;
    }
    return reply(response, r.api_version);
  }

  template <class Response>
  static fake_action error_of(const fake_request& r, broker_error error) {
    Response response;
    response.error_code = code(error);
    return reply(response, r.api_version);
  }

  static fake_action error_reply(const fake_request& r, broker_error error) {
    switch (r.api_key) {
      case kp::JoinGroupRequest::api_key:
        return error_of<kp::JoinGroupResponse>(r, error);
      case kp::SyncGroupRequest::api_key:
        return error_of<kp::SyncGroupResponse>(r, error);
      case kp::HeartbeatRequest::api_key:
        return error_of<kp::HeartbeatResponse>(r, error);
      case kp::ConsumerGroupHeartbeatRequest::api_key:
        return error_of<kp::ConsumerGroupHeartbeatResponse>(r, error);
    }
    throw std::runtime_error("fake kafka: no error reply for api " + std::to_string(r.api_key));
  }
};

// A group_driver over a cluster of the two fake brokers, run the way the consumer runs it:
// after each wake, at its deadline, and when metadata changes. A revocation or loss is
// finished (release_done) on the next turn, as a listener that calls done() at once.
class GroupDriver : public ::testing::Test {
 protected:
  void start(kc::properties extra = {}) {
    broker1_.emplace(io_, [this](const fake_request& r) { return kafka_.answer(1, r); });
    broker2_.emplace(io_, [this](const fake_request& r) { return kafka_.answer(2, r); });
    kafka_.ports[0] = broker1_->port();
    kafka_.ports[1] = broker2_->port();
    broker1_->script_api_versions_ = broker2_->script_api_versions_ = true;
    kc::properties props{{"bootstrap.servers", "127.0.0.1:" + std::to_string(broker1_->port())},
                         {"group.id", "g"},
                         {"retry.backoff.ms", "10"},
                         {"retry.backoff.max.ms", "50"},
                         {"reconnect.backoff.ms", "10"},
                         {"metadata.max.age.ms", "100"}};
    const bool kip848 = std::ranges::any_of(
        extra, [](const auto& p) { return p.first == "group.protocol" && p.second == "consumer"; });
    if (!kip848) {  // settings of the classic protocol only (the broker's with KIP-848)
      props.emplace_back("heartbeat.interval.ms", "50");
      props.emplace_back("session.timeout.ms", "6000");
      props.emplace_back("partition.assignment.strategy", "range");
    }
    props.insert(props.end(), extra.begin(), extra.end());
    kc::consumer_config config;
    auto error = kc::parse_consumer_config(props, config);
    ASSERT_FALSE(error) << error->message;
    config.observe = observe_;
    auto options = kc::cluster_options_for(config, "consumer");
    options.connection.request_timeout = 300ms;
    cluster_ = kc::cluster::create(io_.get_executor(), options);

    kd::group_driver_hooks hooks;
    hooks.release = [this](std::vector<kc::topic_partition> partitions, bool lost) {
      events_.push_back((lost ? "lost " : "revoked ") + std::to_string(partitions.size()));
      release_due_ = true;
    };
    hooks.assigned = [this](std::vector<kc::topic_partition>,
                            std::vector<kc::topic_partition> assignment) {
      events_.push_back("assigned " + std::to_string(assignment.size()));
      assignment_ = std::move(assignment);
    };
    hooks.failed = [this](std::error_code ec, std::string) { failure_ = ec; };
    hooks.closed = [this] { closed_ = true; };
    hooks.wake = [] {};  // the pump runs the driver after every turn anyway
    driver_ = std::make_unique<kd::group_driver>(cluster_, kd::make_group_member(config),
                                                 std::move(hooks), 300ms, 1s);
    cluster_->on_metadata([this](const kc::cluster_metadata&) { driver_->metadata_updated(); });
    cluster_->start();
    driver_->subscribe(kd::group_clock::now(), {"t"});
  }

  void TearDown() override {
    if (cluster_) cluster_->close();
    io_.restart();
    io_.run_for(20ms);
  }

  // Runs the io_context and the driver until `done` or `bound` passes.
  template <class Pred>
  bool pump_until(Pred done, std::chrono::milliseconds bound = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    io_.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(2ms);
      const auto now = kd::group_clock::now();
      if (release_due_) {
        release_due_ = false;
        driver_->release_done(now);
      }
      driver_->poll(now);
      driver_->run(now);
    }
    return done();
  }

  bool joined() {
    return pump_until([this] { return assignment_.size() == 3; });
  }

  std::string events() const {
    std::string out;
    for (const auto& e : events_) out += e + "; ";
    return out;
  }

  boost::asio::io_context io_;
  fake_group_kafka kafka_;
  std::optional<fake_broker> broker1_;
  std::optional<fake_broker> broker2_;
  std::shared_ptr<kc::cluster> cluster_;
  std::unique_ptr<kd::group_driver> driver_;
  std::vector<std::string> events_;
  std::vector<kc::topic_partition> assignment_;
  bool release_due_ = false;
  std::error_code failure_;
  bool closed_ = false;
  kc::observability observe_;  // set before start()
};

constexpr auto find_key = kp::FindCoordinatorRequest::api_key;
constexpr auto join_key = kp::JoinGroupRequest::api_key;
constexpr auto sync_key = kp::SyncGroupRequest::api_key;
constexpr auto heartbeat_key = kp::HeartbeatRequest::api_key;

TEST_F(GroupDriver, JoinsAtTheCoordinatorAssignsFromMetadataAndHeartbeats) {
  kafka_.coordinator = 2;  // not the bootstrap broker
  start();
  ASSERT_TRUE(joined()) << events();
  EXPECT_EQ(assignment_, (std::vector<kc::topic_partition>{{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_EQ(driver_->coordinator(), 2);
  // The member id dance (MEMBER_ID_REQUIRED), then the sync, all at node 2.
  EXPECT_EQ(kafka_.count(2, join_key), 2);
  EXPECT_EQ(kafka_.count(2, sync_key), 1);
  EXPECT_EQ(kafka_.count(1, join_key) + kafka_.count(1, sync_key), 0);
  ASSERT_TRUE(pump_until([this] { return kafka_.count(2, heartbeat_key) >= 3; }));
  EXPECT_EQ(kafka_.count(1, heartbeat_key), 0);
  EXPECT_EQ(events(), "assigned 3; ");
  EXPECT_TRUE(driver_->commit_fence());
}

TEST_F(GroupDriver, CoordinatorMoveIsFollowedWithoutLosingPartitions) {
  start();
  ASSERT_TRUE(joined()) << events();
  const int lookups = kafka_.count(find_key);
  kafka_.coordinator = 2;  // node 1 now answers NOT_COORDINATOR
  ASSERT_TRUE(pump_until([this] { return kafka_.count(2, heartbeat_key) >= 2; })) << events();
  EXPECT_GT(kafka_.count(find_key), lookups);
  EXPECT_EQ(driver_->coordinator(), 2);
  EXPECT_EQ(events(), "assigned 3; ");  // a heartbeat error is no rebalance
}

TEST_F(GroupDriver, SilentCoordinatorTimesOutAndIsLookedUpAgain) {
  start();
  ASSERT_TRUE(joined()) << events();
  const int lookups = kafka_.count(find_key);
  const int beats = kafka_.count(heartbeat_key);
  kafka_.faults[heartbeat_key].push_back(no_reply{});
  // request.timeout.ms (300 ms) fails the heartbeat; the member looks the coordinator up
  // again and heartbeats go on, with the partitions kept.
  ASSERT_TRUE(pump_until([&] {
    return kafka_.count(find_key) > lookups && kafka_.count(heartbeat_key) >= beats + 3;
  })) << events()
      << " lookups " << lookups << " -> " << kafka_.count(find_key) << ", heartbeats " << beats
      << " -> " << kafka_.count(heartbeat_key);
  EXPECT_EQ(events(), "assigned 3; ");
}

TEST_F(GroupDriver, ConnectionDroppedDuringSyncRejoins) {
  kafka_.faults[sync_key].push_back(drop_connection{});
  start();
  ASSERT_TRUE(joined()) << events();
  EXPECT_EQ(kafka_.count(sync_key), 2);
  EXPECT_GE(kafka_.count(join_key), 3);
  EXPECT_GE(kafka_.count(find_key), 2);  // the coordinator was looked up again
}

TEST_F(GroupDriver, RebalanceInProgressRevokesThenRejoinsWithTheSameMemberId) {
  start();
  ASSERT_TRUE(joined()) << events();
  const auto member_id = kafka_.joins.back().member_id;
  kafka_.faults[heartbeat_key].push_back(broker_error::rebalance_in_progress);
  ASSERT_TRUE(pump_until([this] { return events_.size() >= 3; })) << events();
  EXPECT_EQ(events(), "assigned 3; revoked 3; assigned 3; ");  // eager (range)
  EXPECT_EQ(kafka_.joins.back().member_id, member_id);
}

TEST_F(GroupDriver, UnknownMemberIdLosesPartitionsAndJoinsAfresh) {
  start();
  ASSERT_TRUE(joined()) << events();
  kafka_.faults[heartbeat_key].push_back(broker_error::unknown_member_id);
  ASSERT_TRUE(pump_until([this] { return events_.size() >= 3; })) << events();
  EXPECT_EQ(events(), "assigned 3; lost 3; assigned 3; ");
  // The old id is forgotten: the next join starts without one (and gets a new one).
  const auto rejoin = std::find_if(kafka_.joins.begin() + 2, kafka_.joins.end(),
                                   [](const auto& j) { return j.member_id.empty(); });
  EXPECT_NE(rejoin, kafka_.joins.end());
}

TEST_F(GroupDriver, TopicDeletedWhileSubscribedEmptiesTheAssignment) {
  start();
  ASSERT_TRUE(joined()) << events();
  kafka_.topic_exists = false;  // the next metadata refresh (metadata.max.age.ms 100) sees it
  ASSERT_TRUE(pump_until([this] { return events_.size() >= 3; })) << events();
  EXPECT_EQ(events(), "assigned 3; revoked 3; assigned 0; ");
  EXPECT_FALSE(failure_);
}

TEST_F(GroupDriver, FencedInstanceIdIsFatal) {
  start({{"group.instance.id", "instance-1"}});
  ASSERT_TRUE(joined()) << events();
  kafka_.faults[heartbeat_key].push_back(broker_error::fenced_instance_id);
  ASSERT_TRUE(pump_until([this] { return bool(failure_); })) << events();
  EXPECT_EQ(failure_, kp::make_error_code(broker_error::fenced_instance_id));
}

TEST_F(GroupDriver, ABrokerWithoutJoinGroupFailsTheMember) {
  kafka_.missing_api = join_key;
  start();
  ASSERT_TRUE(pump_until([this] { return bool(failure_); })) << events();
  EXPECT_EQ(failure_, kc::make_error_code(kc::errc::broker_too_old));
  EXPECT_EQ(kafka_.count(join_key), 0);
}

TEST_F(GroupDriver, CloseRevokesLeavesAndReportsClosed) {
  start();
  ASSERT_TRUE(joined()) << events();
  const auto member_id = kafka_.joins.back().member_id;
  driver_->close(kd::group_clock::now());
  ASSERT_TRUE(pump_until([this] { return closed_; })) << events();
  EXPECT_EQ(events(), "assigned 3; revoked 3; ");
  ASSERT_EQ(kafka_.leaves.size(), 1u);
  ASSERT_EQ(kafka_.leaves[0].members.size(), 1u);
  EXPECT_EQ(kafka_.leaves[0].members[0].member_id, member_id);
}

TEST_F(GroupDriver, Kip848MemberLearnsTopicNamesFromMetadata) {
  start({{"group.protocol", "consumer"}});
  // The assignment names the topic by id only; the driver answers from the metadata.
  ASSERT_TRUE(joined()) << events();
  EXPECT_EQ(assignment_, (std::vector<kc::topic_partition>{{"t", 0}, {"t", 1}, {"t", 2}}));
  EXPECT_GE(kafka_.count(1, kp::ConsumerGroupHeartbeatRequest::api_key), 1);
}

TEST_F(GroupDriver, Kip848UnsupportedVersionIsFatal) {
  kafka_.faults[kp::ConsumerGroupHeartbeatRequest::api_key].push_back(
      broker_error::unsupported_version);
  start({{"group.protocol", "consumer"}});
  ASSERT_TRUE(pump_until([this] { return bool(failure_); })) << events();
  EXPECT_EQ(failure_, kp::make_error_code(broker_error::unsupported_version));
}

}  // namespace

TEST_F(GroupDriver, HooksAndLogSeeTheCoordinatorAssignmentsAndRevocations) {
  std::vector<std::string> seen;
  std::vector<std::string> lines;
  observe_.hooks.on_assignment = [&](const kc::assignment_event& e) {
    const char* what = e.what == kc::assignment_event::change::assigned  ? "assigned "
                       : e.what == kc::assignment_event::change::revoked ? "revoked "
                                                                         : "lost ";
    seen.push_back(what + std::to_string(e.partitions.size()));
  };
  observe_.hooks.on_coordinator = [&](const kc::coordinator_event& e) {
    seen.push_back("coordinator " + std::to_string(e.node_id));
  };
  observe_.sink = [&](const kc::log_record& r) {
    if (r.category == kc::log_category::cgrp) lines.emplace_back(r.message);
  };
  observe_.debug.add(kc::log_category::cgrp);
  kafka_.coordinator = 2;
  start();
  ASSERT_TRUE(joined()) << events();
  kafka_.faults[heartbeat_key].push_back(broker_error::rebalance_in_progress);
  ASSERT_TRUE(pump_until([this] { return events_.size() >= 3; })) << events();
  std::string all;
  for (const auto& s : seen) all += s + "; ";
  EXPECT_EQ(all, "coordinator 2; assigned 3; revoked 3; assigned 3; ");
  const auto has_line = [&](std::string_view text) {
    return std::ranges::any_of(
        lines, [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has_line("group coordinator is node 2 (127.0.0.1:"));
  EXPECT_TRUE(has_line("sending JoinGroup to coordinator 2"));
  EXPECT_TRUE(has_line("sending SyncGroup to coordinator 2"));
  EXPECT_TRUE(has_line("assignment: 3 partitions, 3 new: t-0, t-1, t-2"));
  EXPECT_TRUE(has_line("revoking 3 partitions: t-0, t-1, t-2"));
  EXPECT_EQ(cluster_->observer()->counters().rebalances.get(), 2u);
}
