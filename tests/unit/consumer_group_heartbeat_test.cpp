#include "group/consumer_group_heartbeat.hpp"

#include <gtest/gtest.h>

#include "group_test_support.hpp"

namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using kd::testing::tps;
using kp::broker_error;
using namespace std::chrono_literals;

namespace {

using kd::testing::code;
const kp::uuid topic_a = kd::testing::test_topic_id(0xA);
const kp::uuid topic_b = kd::testing::test_topic_id(0xB);

using target = std::vector<std::pair<kp::uuid, std::vector<std::int32_t>>>;

kp::ConsumerGroupHeartbeatResponse answer(std::int32_t epoch,
                                          std::optional<target> assignment = std::nullopt,
                                          std::int32_t interval_ms = 5000) {
  kp::ConsumerGroupHeartbeatResponse response;
  response.member_epoch = epoch;
  response.heartbeat_interval_ms = interval_ms;
  if (assignment) {
    auto& out = response.assignment.emplace();
    for (const auto& [id, partitions] : *assignment)
      out.topic_partitions.push_back({id, partitions, {}});
  }
  return response;
}

kp::ConsumerGroupHeartbeatResponse error_answer(broker_error error) {
  kp::ConsumerGroupHeartbeatResponse response;
  response.error_code = code(error);
  return response;
}

kd::consumer_group_options make_options(std::optional<std::string> instance = std::nullopt) {
  kd::consumer_group_options options;
  options.group_id = "g";
  options.member_id = "member-1";
  options.group_instance_id = std::move(instance);
  options.rack_id = "rack-1";
  options.remote_assignor = "uniform";
  options.max_poll_interval = 60s;
  return options;
}

class ConsumerGroupHeartbeat : public kd::testing::group_fixture<kd::consumer_group_heartbeat> {
 protected:
  kd::consumer_group_heartbeat& m() { return machine(); }

  std::pair<kd::send_request, kp::ConsumerGroupHeartbeatRequest> beat() {
    return s().take_request<kp::ConsumerGroupHeartbeatRequest>();
  }
  // Joins and owns a:0,1 at epoch 1 (names known up front).
  void join_owning_a01() {
    m().learn_topic_name(topic_a, "a");
    m().learn_topic_name(topic_b, "b");
    m().subscribe(s().now, {"a", "b"});
    s().find_coordinator(1);
    auto [send, request] = beat();
    s().respond(send, answer(1, target{{topic_a, {0, 1}}}));
    EXPECT_EQ(s().take_event<kd::assign_partitions>().assignment, tps({{"a", 0}, {"a", 1}}));
    auto [ack, ack_request] = beat();
    s().respond(ack, answer(1));
  }
};

TEST_F(ConsumerGroupHeartbeat, JoinsWithAllFieldsThenReconcilesAndAcknowledges) {
  make(make_options("inst"));
  m().subscribe(s().now, {"b", "a"});
  s().find_coordinator(3);
  auto [send, join] = beat();
  EXPECT_TRUE(send.to_coordinator);
  EXPECT_EQ(send.coordinator.node_id, 3);
  EXPECT_EQ(join.group_id, "g");
  EXPECT_EQ(join.member_id, "member-1");
  EXPECT_EQ(join.member_epoch, 0);
  EXPECT_EQ(join.instance_id, "inst");
  EXPECT_EQ(join.rack_id, "rack-1");
  EXPECT_EQ(join.rebalance_timeout_ms, 60000);
  EXPECT_EQ(join.subscribed_topic_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(join.server_assignor, "uniform");
  ASSERT_TRUE(join.topic_partitions);
  EXPECT_TRUE(join.topic_partitions->empty());
  EXPECT_EQ(m().commit_fence(), std::nullopt);

  s().respond(send, answer(1, target{{topic_a, {1, 0}}, {topic_b, {2}}}, 4000));
  EXPECT_EQ(m().member_epoch(), 1);
  EXPECT_EQ(m().heartbeat_interval(), 4000ms);
  // Topic ids need names first: ask the driver, reconcile what it can meanwhile.
  auto need = s().take_event<kd::need_topic_names>();
  EXPECT_EQ(need.topic_ids.size(), 2u);
  EXPECT_FALSE(s().has_event<kd::assign_partitions>());
  m().learn_topic_name(topic_a, "a");
  auto first = s().take_event<kd::assign_partitions>();
  EXPECT_EQ(first.added, tps({{"a", 0}, {"a", 1}}));
  auto [ack, ack_request] = beat();  // acknowledged at once, not after the interval
  EXPECT_EQ(ack_request.member_epoch, 1);
  EXPECT_FALSE(ack_request.subscribed_topic_names);  // unchanged: not resent
  EXPECT_FALSE(ack_request.rebalance_timeout_ms != -1);
  ASSERT_TRUE(ack_request.topic_partitions);
  ASSERT_EQ(ack_request.topic_partitions->size(), 1u);
  EXPECT_EQ((*ack_request.topic_partitions)[0].topic_id, topic_a);
  EXPECT_EQ((*ack_request.topic_partitions)[0].partitions, (std::vector<std::int32_t>{0, 1}));
  s().respond(ack, answer(1));
  m().learn_topic_name(topic_b, "b");
  EXPECT_EQ(s().take_event<kd::assign_partitions>().added, tps({{"b", 2}}));
  auto [ack2, ack2_request] = beat();
  EXPECT_EQ(ack2_request.topic_partitions->size(), 2u);
  s().respond(ack2, answer(1));
  EXPECT_EQ(m().commit_fence()->generation_or_epoch, 1);

  // Then heartbeats at the broker's interval, with nothing that did not change.
  EXPECT_EQ(m().next_deadline(), s().now + 5000ms);
  s().advance(4999ms);
  EXPECT_FALSE(s().has_request<kp::ConsumerGroupHeartbeatRequest>());
  s().advance(1ms);
  auto [steady, steady_request] = beat();
  EXPECT_FALSE(steady_request.topic_partitions);
  EXPECT_FALSE(steady_request.subscribed_topic_names);
  EXPECT_FALSE(steady_request.instance_id);
}

TEST_F(ConsumerGroupHeartbeat, RevokesBeforeAssigningAndWaitsForTheDriver) {
  make(make_options());
  join_owning_a01();
  s().advance(5s);
  auto [send, request] = beat();
  s().respond(send, answer(2, target{{topic_a, {1}}, {topic_b, {0}}}));
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"a", 0}}));
  EXPECT_FALSE(s().has_event<kd::assign_partitions>());
  // The commit in the callback is still fenced by the member epoch; heartbeats go on and
  // still report a:0 as owned until the driver is done.
  EXPECT_EQ(m().commit_fence()->generation_or_epoch, 2);
  s().advance(5s);
  auto [during, during_request] = beat();
  EXPECT_FALSE(during_request.topic_partitions);
  s().respond(during, answer(2));
  m().callbacks_done(s().now);
  auto assigned = s().take_event<kd::assign_partitions>();
  EXPECT_EQ(assigned.added, tps({{"b", 0}}));
  EXPECT_EQ(assigned.assignment, tps({{"a", 1}, {"b", 0}}));
  auto [ack, ack_request] = beat();
  ASSERT_TRUE(ack_request.topic_partitions);
  EXPECT_EQ(ack_request.topic_partitions->size(), 2u);
}

TEST_F(ConsumerGroupHeartbeat, AShrinkingAssignmentStillEndsWithAssigned) {
  make(make_options());
  join_owning_a01();
  s().advance(5s);
  auto [send, request] = beat();
  s().respond(send, answer(2, target{{topic_a, {1}}}));
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"a", 0}}));
  m().callbacks_done(s().now);
  // Nothing added, but the listener hears that the reconciliation finished (as Java's
  // onPartitionsAssigned with an empty set), once.
  auto assigned = s().take_event<kd::assign_partitions>();
  EXPECT_TRUE(assigned.added.empty());
  EXPECT_EQ(assigned.assignment, tps({{"a", 1}}));
  auto [ack, ack_request] = beat();
  ASSERT_TRUE(ack_request.topic_partitions);
  EXPECT_EQ((*ack_request.topic_partitions)[0].partitions, (std::vector<std::int32_t>{1}));
  s().respond(ack, answer(2));
  s().advance(5s);
  auto [steady, steady_request] = beat();
  s().respond(steady, answer(2));
  EXPECT_FALSE(s().has_event<kd::assign_partitions>());
}

class ConsumerGroupHeartbeatFenced : public ConsumerGroupHeartbeat,
                                     public ::testing::WithParamInterface<broker_error> {};

TEST_P(ConsumerGroupHeartbeatFenced, LosesPartitionsAndRejoinsWithEpochZero) {
  make(make_options());
  join_owning_a01();
  s().advance(5s);
  auto [send, request] = beat();
  s().respond(send, error_answer(GetParam()));
  EXPECT_EQ(s().take_event<kd::lose_partitions>().partitions, tps({{"a", 0}, {"a", 1}}));
  EXPECT_EQ(m().commit_fence(), std::nullopt);
  EXPECT_FALSE(s().has_request<kp::ConsumerGroupHeartbeatRequest>());
  m().callbacks_done(s().now);
  auto [join, join_request] = beat();
  EXPECT_EQ(join_request.member_epoch, 0);
  EXPECT_EQ(join_request.member_id, "member-1");
  EXPECT_TRUE(join_request.subscribed_topic_names);
  EXPECT_TRUE(join_request.topic_partitions && join_request.topic_partitions->empty());
}

INSTANTIATE_TEST_SUITE_P(Errors, ConsumerGroupHeartbeatFenced,
                         ::testing::Values(broker_error::fenced_member_epoch,
                                           broker_error::unknown_member_id));

class ConsumerGroupHeartbeatFatal : public ConsumerGroupHeartbeat,
                                    public ::testing::WithParamInterface<broker_error> {};

TEST_P(ConsumerGroupHeartbeatFatal, SurfacesAndStops) {
  make(make_options("inst"));
  m().subscribe(s().now, {"a"});
  s().find_coordinator(1);
  auto [send, request] = beat();
  s().respond(send, error_answer(GetParam()));
  EXPECT_EQ(s().take_event<kd::fatal_error>().error, make_error_code(GetParam()));
  s().advance(1h);
  EXPECT_TRUE(s().idle());
}

INSTANTIATE_TEST_SUITE_P(Errors, ConsumerGroupHeartbeatFatal,
                         ::testing::Values(broker_error::unreleased_instance_id,
                                           broker_error::group_max_size_reached,
                                           broker_error::group_authorization_failed,
                                           broker_error::unsupported_assignor,
                                           broker_error::invalid_request));

TEST_F(ConsumerGroupHeartbeat, CoordinatorMovesAndEveryFieldIsResent) {
  make(make_options());
  join_owning_a01();
  s().advance(5s);
  auto [send, request] = beat();
  s().respond(send, error_answer(broker_error::not_coordinator));
  s().find_coordinator(2);
  auto [again, again_request] = beat();
  EXPECT_EQ(again.coordinator.node_id, 2);
  EXPECT_EQ(again_request.member_epoch, 1);
  EXPECT_TRUE(again_request.subscribed_topic_names);
  EXPECT_EQ(again_request.topic_partitions->size(), 1u);
  EXPECT_EQ(m().assignment(), tps({{"a", 0}, {"a", 1}}));
  // And when the connection drops.
  m().on_request_failed(s().now, again.request_id,
                        make_error_code(kwire::client::errc::connection_closed));
  s().find_coordinator(3);
  EXPECT_EQ(beat().first.coordinator.node_id, 3);
}

TEST_F(ConsumerGroupHeartbeat, LoadInProgressRetriesAfterBackoff) {
  make(make_options());
  m().subscribe(s().now, {"a"});
  s().find_coordinator(1);
  auto [send, request] = beat();
  s().respond(send, error_answer(broker_error::coordinator_load_in_progress));
  EXPECT_FALSE(s().has_request<kp::ConsumerGroupHeartbeatRequest>());
  EXPECT_EQ(m().next_deadline(), s().now + 100ms);
  s().advance_to_deadline();
  auto [again, again_request] = beat();
  EXPECT_EQ(again.coordinator.node_id, 1);
  EXPECT_EQ(again_request.member_epoch, 0);
}

TEST_F(ConsumerGroupHeartbeat, DynamicMemberLeavesWithEpochMinusOne) {
  make(make_options());
  join_owning_a01();
  m().close(s().now);
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"a", 0}, {"a", 1}}));
  EXPECT_FALSE(s().has_request<kp::ConsumerGroupHeartbeatRequest>());
  m().callbacks_done(s().now);
  auto [send, leave] = beat();
  EXPECT_EQ(leave.member_epoch, -1);
  EXPECT_EQ(leave.member_id, "member-1");
  EXPECT_FALSE(s().has_event<kd::group_closed>());
  s().respond(send, answer(-1));
  s().take_event<kd::group_closed>();
  s().advance(1h);
  EXPECT_TRUE(s().idle());
}

TEST_F(ConsumerGroupHeartbeat, StaticMemberLeavesWithEpochMinusTwo) {
  make(make_options("inst"));
  join_owning_a01();
  m().close(s().now);
  s().take_event<kd::revoke_partitions>();
  m().callbacks_done(s().now);
  auto [send, leave] = beat();
  EXPECT_EQ(leave.member_epoch, -2);
  EXPECT_EQ(leave.instance_id, "inst");
  m().on_request_failed(s().now, send.request_id,
                        make_error_code(kwire::client::errc::connection_closed));
  s().take_event<kd::group_closed>();
}

TEST_F(ConsumerGroupHeartbeat, CloseWhileJoiningStillLeaves) {
  make(make_options());
  m().subscribe(s().now, {"a"});
  s().find_coordinator(1);
  auto [send, join] = beat();
  m().close(s().now);
  s().respond(send, answer(1));  // after close: ignored
  auto [leave_send, leave] = beat();
  EXPECT_EQ(leave.member_epoch, -1);
  s().respond(leave_send, error_answer(broker_error::unknown_member_id));
  s().take_event<kd::group_closed>();
}

TEST_F(ConsumerGroupHeartbeat, PollTimeoutLosesPartitionsLeavesAndRejoinsOnPoll) {
  make(make_options());
  join_owning_a01();
  for (int i = 0; i < 11; ++i) {
    s().advance(5s);
    auto [send, request] = beat();
    s().respond(send, answer(1));
  }
  s().advance(5s);  // 60 s without poll()
  EXPECT_EQ(s().take_event<kd::lose_partitions>().partitions, tps({{"a", 0}, {"a", 1}}));
  m().callbacks_done(s().now);
  auto [send, leave] = beat();
  EXPECT_EQ(leave.member_epoch, -1);
  s().respond(send, answer(-1));
  s().advance(30s);
  EXPECT_TRUE(s().idle());
  m().poll(s().now);
  auto [join, join_request] = beat();
  EXPECT_EQ(join_request.member_epoch, 0);
  EXPECT_TRUE(join_request.subscribed_topic_names);
}

TEST_F(ConsumerGroupHeartbeat, FencedWhileJoiningBacksOff) {
  make(make_options());
  m().subscribe(s().now, {"a"});
  s().find_coordinator(1);
  auto [send, request] = beat();
  s().respond(send, error_answer(broker_error::unknown_member_id));
  EXPECT_FALSE(s().has_request<kp::ConsumerGroupHeartbeatRequest>());
  EXPECT_FALSE(s().has_event<kd::lose_partitions>());  // owned nothing
  s().advance_to_deadline();
  EXPECT_EQ(beat().second.member_epoch, 0);
}

TEST_F(ConsumerGroupHeartbeat, SubscriptionChangeGoesOutAtOnce) {
  make(make_options());
  join_owning_a01();
  m().subscribe(s().now, {"a", "c"});
  auto [send, request] = beat();
  EXPECT_EQ(request.subscribed_topic_names, (std::vector<std::string>{"a", "c"}));
  EXPECT_FALSE(request.topic_partitions);
}

TEST_F(ConsumerGroupHeartbeat, GeneratesAJavaShapedMemberId) {
  auto options = make_options();
  options.member_id.clear();
  kd::consumer_group_heartbeat a(options);
  kd::consumer_group_heartbeat b(options);
  EXPECT_EQ(a.member_id().size(), 22u);
  EXPECT_NE(a.member_id(), b.member_id());
  EXPECT_EQ(a.member_id().find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST_F(ConsumerGroupHeartbeat, CommitFencedErrorFencesTheMember) {
  make(make_options());
  join_owning_a01();
  m().on_commit_error(s().now, code(broker_error::fenced_member_epoch));
  s().take_event<kd::lose_partitions>();
}

}  // namespace
