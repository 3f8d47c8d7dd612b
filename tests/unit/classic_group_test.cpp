#include "group/classic_group.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "group_test_support.hpp"

namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using kd::testing::tps;
using kwire::client::topic_partition;
using namespace std::chrono_literals;

namespace {

using kd::testing::code;
using kp::broker_error;

// A test codec: "topic,topic|t:p,t:p|generation" and "t:p,t:p".
std::vector<std::string> split(const std::string& text, char sep, bool keep_empty = false) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, sep))
    if (keep_empty || !item.empty()) out.push_back(item);
  return out;
}
std::string join_partitions(const std::vector<topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) out += tp.topic + ":" + std::to_string(tp.partition) + ",";
  return out;
}
std::vector<topic_partition> parse_partitions(const std::string& text) {
  std::vector<topic_partition> out;
  for (const auto& item : split(text, ',')) {
    const auto colon = item.find(':');
    out.push_back({item.substr(0, colon), std::stoi(item.substr(colon + 1))});
  }
  return out;
}
std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(std::span<const std::uint8_t> b) { return {b.begin(), b.end()}; }

std::vector<std::uint8_t> subscription_bytes(const std::vector<std::string>& topics,
                                             const std::vector<topic_partition>& owned,
                                             std::int32_t generation) {
  std::string out;
  for (const auto& t : topics) out += t + ",";
  return bytes(out + "|" + join_partitions(owned) + "|" + std::to_string(generation));
}

kd::consumer_protocol_codec test_codec() {
  kd::consumer_protocol_codec codec;
  codec.encode_subscription = [](const kwire::client::partition_assignor&,
                                 const kwire::client::member_subscription& self) {
    return subscription_bytes(self.topics, self.owned_partitions, self.generation_id);
  };
  codec.decode_subscription =
      [](std::span<const std::uint8_t> in) -> std::optional<kwire::client::member_subscription> {
    const auto parts = split(text(in), '|', true);
    if (parts.size() != 3) return std::nullopt;
    kwire::client::member_subscription sub;
    sub.topics = split(parts[0], ',');
    sub.owned_partitions = parse_partitions(parts[1]);
    sub.generation_id = std::stoi(parts[2]);
    return sub;
  };
  codec.encode_assignment = [](const kwire::client::member_assignment& a) {
    return bytes(join_partitions(a.partitions));
  };
  codec.decode_assignment =
      [](std::span<const std::uint8_t> in) -> std::optional<kwire::client::member_assignment> {
    if (text(in) == "garbage") return std::nullopt;
    return kwire::client::member_assignment{parse_partitions(text(in)), {}};
  };
  return codec;
}

// Deals every partition of every topic round-robin over the members in id order.
class dealing_assignor : public kwire::client::partition_assignor {
 public:
  explicit dealing_assignor(bool cooperative) : cooperative_(cooperative) {}
  std::string_view name() const noexcept override { return cooperative_ ? "coop" : "deal"; }
  std::vector<kwire::client::rebalance_protocol> supported_protocols() const override {
    if (cooperative_)
      return {kwire::client::rebalance_protocol::eager,
              kwire::client::rebalance_protocol::cooperative};
    return {kwire::client::rebalance_protocol::eager};
  }
  kwire::client::group_assignment assign(
      const kwire::client::topic_partition_counts& partitions,
      const std::vector<kwire::client::member_subscription>& members) const override {
    kwire::client::group_assignment out;
    std::vector<std::string> ids;
    for (const auto& m : members) {
      out[m.member_id];
      ids.push_back(m.member_id);
    }
    std::sort(ids.begin(), ids.end());
    std::size_t next = 0;
    for (const auto& [topic, count] : partitions)
      for (std::int32_t p = 0; p < count; ++p)
        out[ids[next++ % ids.size()]].partitions.push_back({topic, p});
    return out;
  }

 private:
  bool cooperative_;
};

kd::classic_group_options make_options(bool cooperative = false,
                                       std::optional<std::string> instance = std::nullopt) {
  kd::classic_group_options options;
  options.group_id = "g";
  options.group_instance_id = std::move(instance);
  options.session_timeout = 10s;
  options.heartbeat_interval = 3s;
  options.max_poll_interval = 60s;
  options.assignors.push_back(std::make_shared<dealing_assignor>(cooperative));
  options.codec = test_codec();
  return options;
}

class ClassicGroup : public kd::testing::group_fixture<kd::classic_group> {
 protected:
  kd::classic_group& group() { return machine(); }

  // Subscribes to t and finds coordinator 1: the first JoinGroup is then queued.
  void start() {
    group().subscribe(s().now, {"t"});
    s().find_coordinator(1);
  }
  // start(), then the first JoinGroup answered with `error`.
  void join_fails(broker_error error, const std::string& member_id = "") {
    start();
    auto [send, request] = s().take_request<kp::JoinGroupRequest>();
    kp::JoinGroupResponse response;
    response.error_code = code(error);
    response.member_id = member_id;
    s().respond(send, response);
  }
  // start(), then a JoinGroup and SyncGroup; the SyncGroup answered with `error`.
  void sync_fails(broker_error error) {
    start();
    join("m1", 1);
    auto [send, request] = s().take_request<kp::SyncGroupRequest>();
    kp::SyncGroupResponse response;
    response.error_code = code(error);
    s().respond(send, response);
  }

  // JoinGroup answered with success; returns the JoinGroup request the member sent.
  kp::JoinGroupRequest join(const std::string& member_id, std::int32_t generation,
                            const std::string& leader = "leader-x") {
    return answer_join(joined(member_id, generation, leader));
  }
  static kp::JoinGroupResponse joined(const std::string& member_id, std::int32_t generation,
                                      const std::string& leader, const std::string& protocol = "") {
    kp::JoinGroupResponse response;
    response.member_id = member_id;
    response.generation_id = generation;
    response.protocol_type = "consumer";
    response.protocol_name = protocol;
    response.leader = leader;
    return response;
  }
  // Answers the queued JoinGroup (choosing the member's first protocol unless `response`
  // names one).
  kp::JoinGroupRequest answer_join(kp::JoinGroupResponse response) {
    auto [send, request] = s().take_request<kp::JoinGroupRequest>();
    EXPECT_TRUE(send.to_coordinator);
    if (response.protocol_name->empty()) response.protocol_name = request.protocols.at(0).name;
    s().respond(send, response);
    return request;
  }
  void sync(const std::vector<topic_partition>& assignment) {
    auto [send, request] = s().take_request<kp::SyncGroupRequest>();
    EXPECT_EQ(request.generation_id, group().generation());
    kp::SyncGroupResponse response;
    response.assignment = bytes(join_partitions(assignment));
    s().respond(send, response);
  }
  // Subscribes to t and joins as a follower with `assignment`.
  void join_as_follower(const std::vector<topic_partition>& assignment,
                        const std::string& member_id = "m1", std::int32_t generation = 1) {
    start();
    join(member_id, generation);
    sync(assignment);
    auto assigned = s().take_event<kd::assign_partitions>();
    EXPECT_EQ(assigned.assignment, assignment);
  }
  void heartbeat_reply(std::int16_t error) {
    auto [send, request] = s().take_request<kp::HeartbeatRequest>();
    kp::HeartbeatResponse response;
    response.error_code = error;
    s().respond(send, response);
  }
};

TEST_F(ClassicGroup, FollowerJoinsWithMemberIdRequiredRetryAndHeartbeats) {
  make(make_options());
  group().subscribe(s().now, {"t", "u"});
  s().find_coordinator(7);
  auto [first, first_join] = s().take_request<kp::JoinGroupRequest>();
  EXPECT_EQ(first.coordinator.node_id, 7);
  EXPECT_EQ(first.coordinator.host, "broker7");
  EXPECT_EQ(first_join.group_id, "g");
  EXPECT_EQ(first_join.member_id, "");
  EXPECT_EQ(first_join.session_timeout_ms, 10000);
  EXPECT_EQ(first_join.rebalance_timeout_ms, 60000);
  EXPECT_EQ(first_join.protocol_type, "consumer");
  ASSERT_EQ(first_join.protocols.size(), 1u);
  EXPECT_EQ(first_join.protocols[0].name, "deal");
  EXPECT_EQ(text(first_join.protocols[0].metadata), "t,u,||-1");
  kp::JoinGroupResponse required;
  required.error_code = code(broker_error::member_id_required);
  required.member_id = "m-42";
  s().respond(first, required);

  const auto second_join = join("m-42", 3);
  EXPECT_EQ(second_join.member_id, "m-42");
  EXPECT_FALSE(group().is_leader());
  auto [sync_send, sync_request] = s().take_request<kp::SyncGroupRequest>();
  EXPECT_TRUE(sync_request.assignments.empty());
  EXPECT_EQ(sync_request.member_id, "m-42");
  EXPECT_EQ(sync_request.generation_id, 3);
  EXPECT_EQ(group().commit_fence(), std::nullopt);  // mid-rebalance
  kp::SyncGroupResponse synced;
  synced.assignment = bytes("t:0,u:1,");
  s().respond(sync_send, synced);
  auto assigned = s().take_event<kd::assign_partitions>();
  EXPECT_EQ(assigned.added, tps({{"t", 0}, {"u", 1}}));
  EXPECT_EQ(group().assignment(), tps({{"t", 0}, {"u", 1}}));
  auto fence = group().commit_fence();
  ASSERT_TRUE(fence);
  EXPECT_EQ(fence->generation_or_epoch, 3);
  EXPECT_EQ(fence->member_id, "m-42");

  // Heartbeats every interval, not before.
  EXPECT_FALSE(s().has_request<kp::HeartbeatRequest>());
  EXPECT_EQ(group().next_deadline(), s().now + 3s);
  s().advance(3s);
  auto [hb_send, hb] = s().take_request<kp::HeartbeatRequest>();
  EXPECT_EQ(hb.generation_id, 3);
  EXPECT_EQ(hb.member_id, "m-42");
  s().respond(hb_send, kp::HeartbeatResponse{});
  s().advance(2s);
  group().poll(s().now);
  EXPECT_FALSE(s().has_request<kp::HeartbeatRequest>());
  s().advance(1s);
  heartbeat_reply(0);
  EXPECT_TRUE(s().idle());
}

TEST_F(ClassicGroup, LeaderAssignsFromMembersSubscriptionsAndMetadata) {
  make(make_options());
  start();
  auto response = joined("a", 5, "a");
  response.members.push_back({"a", std::nullopt, subscription_bytes({"t"}, {}, -1), {}});
  response.members.push_back({"b", std::nullopt, subscription_bytes({"t", "v"}, {}, -1), {}});
  answer_join(response);
  EXPECT_TRUE(group().is_leader());
  auto need = s().take_event<kd::need_partition_counts>();
  EXPECT_EQ(need.topics, (std::vector<std::string>{"t", "v"}));
  EXPECT_FALSE(s().has_request<kp::SyncGroupRequest>());  // waits for the metadata
  group().partition_counts_ready(s().now, {{"t", 3}, {"v", 1}});
  auto [sync_send, sync_request] = s().take_request<kp::SyncGroupRequest>();
  ASSERT_EQ(sync_request.assignments.size(), 2u);
  EXPECT_EQ(sync_request.assignments[0].member_id, "a");
  EXPECT_EQ(text(sync_request.assignments[0].assignment), "t:0,t:2,");
  EXPECT_EQ(sync_request.assignments[1].member_id, "b");
  EXPECT_EQ(text(sync_request.assignments[1].assignment), "t:1,v:0,");
  EXPECT_EQ(sync_request.protocol_name, "deal");
  kp::SyncGroupResponse synced;
  synced.assignment = sync_request.assignments[0].assignment;
  s().respond(sync_send, synced);
  EXPECT_EQ(s().take_event<kd::assign_partitions>().assignment, tps({{"t", 0}, {"t", 2}}));

  // A partition count change of an assigned topic makes the leader rejoin.
  group().metadata_updated({{"t", 3}, {"v", 1}});
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
  group().metadata_updated({{"t", 4}, {"v", 1}});
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"t", 0}, {"t", 2}}));
}

TEST_F(ClassicGroup, FindCoordinatorErrorsBackOffAndAuthorizationIsFatal) {
  make(make_options());
  group().subscribe(s().now, {"t"});
  auto [send, request] = s().take_request<kp::FindCoordinatorRequest>();
  EXPECT_EQ(request.coordinator_keys, std::vector<std::string>{"g"});
  kp::FindCoordinatorResponse busy;
  busy.coordinators.push_back(
      {"g", -1, "", 0, code(broker_error::coordinator_not_available), "", {}});
  s().respond(send, busy);
  EXPECT_FALSE(s().has_request<kp::FindCoordinatorRequest>());
  const auto retry_at = group().next_deadline();
  EXPECT_GE(retry_at, s().now + 80ms);  // retry.backoff.ms 100 with -20% jitter
  EXPECT_LE(retry_at, s().now + 120ms);
  s().advance_to_deadline();
  auto [again, again_request] = s().take_request<kp::FindCoordinatorRequest>();
  group().on_request_failed(s().now, again.request_id,
                            make_error_code(kwire::client::errc::connection_closed));
  EXPECT_GE(group().next_deadline(), s().now + 160ms);  // doubled
  s().advance_to_deadline();
  auto [third, third_request] = s().take_request<kp::FindCoordinatorRequest>();
  kp::FindCoordinatorResponse denied;
  denied.error_code = code(broker_error::group_authorization_failed);  // v0-3 shape
  s().respond(third, denied);
  auto fatal = s().take_event<kd::fatal_error>();
  EXPECT_EQ(fatal.error, make_error_code(broker_error::group_authorization_failed));
  s().advance(1h);
  EXPECT_TRUE(s().idle());
}

TEST_F(ClassicGroup, CoordinatorMovesMidJoin) {
  make(make_options());
  join_fails(broker_error::not_coordinator);
  s().find_coordinator(2);
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());  // backoff first
  s().advance_to_deadline();
  auto [again, again_request] = s().take_request<kp::JoinGroupRequest>();
  EXPECT_EQ(again.coordinator.node_id, 2);
  // The connection to the new one drops: rediscover again.
  group().on_request_failed(s().now, again.request_id,
                            make_error_code(kwire::client::errc::connection_closed));
  s().find_coordinator(3);
  s().advance_to_deadline();
  EXPECT_EQ(s().take_request<kp::JoinGroupRequest>().first.coordinator.node_id, 3);
}

TEST_F(ClassicGroup, CoordinatorMovesMidHeartbeatKeepsPartitions) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::not_coordinator));
  s().find_coordinator(4);
  EXPECT_FALSE(s().has_request<kp::HeartbeatRequest>());
  s().advance(3s);
  auto [send, request] = s().take_request<kp::HeartbeatRequest>();
  EXPECT_EQ(send.coordinator.node_id, 4);
  EXPECT_EQ(group().assignment(), tps({{"t", 0}}));
  EXPECT_FALSE(s().has_event<kd::revoke_partitions>());
  EXPECT_FALSE(s().has_event<kd::lose_partitions>());
}

TEST_F(ClassicGroup, LoadInProgressRetriesSameCoordinator) {
  make(make_options());
  join_fails(broker_error::coordinator_load_in_progress);
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
  s().advance_to_deadline();
  EXPECT_FALSE(s().has_request<kp::FindCoordinatorRequest>());
  EXPECT_EQ(s().take_request<kp::JoinGroupRequest>().first.coordinator.node_id, 1);
}

TEST_F(ClassicGroup, EagerRebalanceWaitsForRevocationBeforeJoining) {
  make(make_options());
  join_as_follower(tps({{"t", 0}, {"t", 1}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::rebalance_in_progress));
  auto revoked = s().take_event<kd::revoke_partitions>();
  EXPECT_EQ(revoked.partitions, tps({{"t", 0}, {"t", 1}}));
  // The driver commits in the callback: still fenced by the current generation.
  ASSERT_TRUE(group().commit_fence());
  EXPECT_EQ(group().commit_fence()->generation_or_epoch, 1);
  // No join while the driver is busy, but heartbeats go on.
  s().advance(3s);
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
  heartbeat_reply(0);
  group().callbacks_done(s().now);
  auto request = join("m1", 2);
  EXPECT_EQ(request.member_id, "m1");
  EXPECT_EQ(text(request.protocols[0].metadata), "t,||1");  // eager: owns nothing now
  sync(tps({{"t", 1}}));
  auto assigned = s().take_event<kd::assign_partitions>();
  EXPECT_EQ(assigned.added, tps({{"t", 1}}));
}

TEST_F(ClassicGroup, UnknownMemberIdOnHeartbeatLosesPartitionsAndForgetsId) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::unknown_member_id));
  EXPECT_EQ(s().take_event<kd::lose_partitions>().partitions, tps({{"t", 0}}));
  EXPECT_FALSE(s().has_event<kd::revoke_partitions>());
  EXPECT_EQ(group().commit_fence(), std::nullopt);
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
  group().callbacks_done(s().now);
  auto request = join("m9", 2);
  EXPECT_EQ(request.member_id, "");
  EXPECT_EQ(text(request.protocols[0].metadata), "t,||-1");
}

TEST_F(ClassicGroup, IllegalGenerationKeepsMemberId) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::illegal_generation));
  s().take_event<kd::lose_partitions>();
  group().callbacks_done(s().now);
  EXPECT_EQ(join("m1", 2).member_id, "m1");
}

TEST_F(ClassicGroup, SyncGroupErrorsRejoin) {
  make(make_options());
  sync_fails(broker_error::rebalance_in_progress);
  EXPECT_EQ(join("m1", 2).member_id, "m1");
  auto [send2, request2] = s().take_request<kp::SyncGroupRequest>();
  kp::SyncGroupResponse unknown;
  unknown.error_code = code(broker_error::unknown_member_id);
  s().respond(send2, unknown);
  EXPECT_EQ(join("m2", 3).member_id, "");
  sync(tps({{"t", 0}}));
  EXPECT_EQ(s().take_event<kd::assign_partitions>().added, tps({{"t", 0}}));
}

class ClassicGroupFatalJoin : public ClassicGroup,
                              public ::testing::WithParamInterface<broker_error> {};

TEST_P(ClassicGroupFatalJoin, SurfacesAndStops) {
  make(make_options(false, "instance-1"));
  join_fails(GetParam());
  auto fatal = s().take_event<kd::fatal_error>();
  EXPECT_EQ(fatal.error, make_error_code(GetParam()));
  EXPECT_NE(fatal.message.find("JoinGroup"), std::string::npos);
  s().advance(1h);
  EXPECT_TRUE(s().idle());
  group().close(s().now);
  s().take_event<kd::group_closed>();
}

INSTANTIATE_TEST_SUITE_P(Errors, ClassicGroupFatalJoin,
                         ::testing::Values(broker_error::fenced_instance_id,
                                           broker_error::group_authorization_failed,
                                           broker_error::inconsistent_group_protocol,
                                           broker_error::group_max_size_reached,
                                           broker_error::invalid_session_timeout,
                                           broker_error::invalid_group_id));

TEST_F(ClassicGroup, FencedInstanceOnHeartbeatIsFatal) {
  make(make_options(false, "i1"));
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::fenced_instance_id));
  EXPECT_EQ(s().take_event<kd::fatal_error>().error,
            make_error_code(broker_error::fenced_instance_id));
  group().close(s().now);
  EXPECT_EQ(s().take_event<kd::lose_partitions>().partitions, tps({{"t", 0}}));
  group().callbacks_done(s().now);
  s().take_event<kd::group_closed>();
  EXPECT_FALSE(s().has_request<kp::LeaveGroupRequest>());
}

TEST_F(ClassicGroup, EncodingFailureIsFatal) {
  make(make_options());
  start();
  auto [send, request] = s().take_request<kp::JoinGroupRequest>();
  group().on_request_failed(s().now, send.request_id,
                            make_error_code(kp::errc::field_not_in_version));
  EXPECT_EQ(s().take_event<kd::fatal_error>().error,
            make_error_code(kp::errc::field_not_in_version));
}

TEST_F(ClassicGroup, SessionTimeoutWithoutCoordinatorThenMemberIsGone) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  const auto lost_at = s().now;
  auto [send, request] = s().take_request<kp::HeartbeatRequest>();
  group().on_request_failed(s().now, send.request_id,
                            make_error_code(kwire::client::errc::connection_closed));
  // No coordinator for longer than session.timeout.ms: keep looking, keep the partitions
  // (as Java: the broker decides).
  for (int i = 0; i < 20; ++i) {
    auto [find, find_request] = s().take_request<kp::FindCoordinatorRequest>();
    group().on_request_failed(s().now, find.request_id,
                              make_error_code(kwire::client::errc::connection_closed));
    s().advance_to_deadline();
  }
  EXPECT_GT(s().now - lost_at, 10s);
  EXPECT_EQ(group().assignment(), tps({{"t", 0}}));
  s().find_coordinator(2);
  heartbeat_reply(code(broker_error::unknown_member_id));
  EXPECT_EQ(s().take_event<kd::lose_partitions>().partitions, tps({{"t", 0}}));
  group().callbacks_done(s().now);
  EXPECT_EQ(s().take_request<kp::JoinGroupRequest>().first.coordinator.node_id, 2);
}

TEST_F(ClassicGroup, SessionTimeoutWithoutHeartbeatAnswerRediscovers) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  auto [send, request] = s().take_request<kp::HeartbeatRequest>();
  group().poll(s().now);
  s().advance_to_deadline();  // session timeout: 10s after the last good heartbeat
  EXPECT_TRUE(s().has_request<kp::FindCoordinatorRequest>());
  s().respond(send, kp::HeartbeatResponse{});  // too late: ignored
  s().find_coordinator(1);
  EXPECT_TRUE(s().has_request<kp::HeartbeatRequest>());
}

TEST_F(ClassicGroup, PollTimeoutLeavesAndRejoinsOnNextPoll) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  for (int i = 0; i < 19; ++i) {
    s().advance(3s);
    heartbeat_reply(0);
  }
  s().advance(3s);  // 60s since the join completed: max.poll.interval.ms
  EXPECT_FALSE(s().has_request<kp::HeartbeatRequest>());
  auto [send, leave] = s().take_request<kp::LeaveGroupRequest>();
  ASSERT_EQ(leave.members.size(), 1u);
  EXPECT_EQ(leave.members[0].member_id, "m1");
  s().respond(send, kp::LeaveGroupResponse{});
  s().advance(10s);
  EXPECT_FALSE(s().has_request<kp::HeartbeatRequest>());
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
  group().poll(s().now);
  EXPECT_EQ(s().take_event<kd::lose_partitions>().partitions, tps({{"t", 0}}));
  group().callbacks_done(s().now);
  EXPECT_EQ(join("m5", 2).member_id, "");
}

TEST_F(ClassicGroup, StaticMemberRejoinsWithoutMemberIdAndDoesNotLeave) {
  make(make_options(false, "host-a"));
  start();
  // A restarted static member: no MEMBER_ID_REQUIRED round, the broker hands it its id.
  auto request = join("static-m", 4);
  EXPECT_EQ(request.member_id, "");
  EXPECT_EQ(request.group_instance_id, "host-a");
  auto [sync_send, sync_request] = s().take_request<kp::SyncGroupRequest>();
  EXPECT_EQ(sync_request.group_instance_id, "host-a");
  kp::SyncGroupResponse synced;
  synced.assignment = bytes("t:3,");
  s().respond(sync_send, synced);
  s().take_event<kd::assign_partitions>();
  s().advance(3s);
  auto [hb_send, hb] = s().take_request<kp::HeartbeatRequest>();
  EXPECT_EQ(hb.group_instance_id, "host-a");
  s().respond(hb_send, kp::HeartbeatResponse{});
  EXPECT_EQ(group().commit_fence()->group_instance_id, "host-a");
  group().close(s().now);
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"t", 3}}));
  group().callbacks_done(s().now);
  s().take_event<kd::group_closed>();
  EXPECT_FALSE(s().has_request<kp::LeaveGroupRequest>());
}

TEST_F(ClassicGroup, StaticMemberPollTimeoutSendsNoLeave) {
  make(make_options(false, "host-a"));
  join_as_follower(tps({{"t", 0}}));
  for (int i = 0; i < 19; ++i) {
    s().advance(3s);
    heartbeat_reply(0);
  }
  s().advance(3s);
  EXPECT_FALSE(s().has_request<kp::LeaveGroupRequest>());
  EXPECT_FALSE(s().has_request<kp::HeartbeatRequest>());
  group().poll(s().now);
  s().take_event<kd::lose_partitions>();
  group().callbacks_done(s().now);
  auto request = join("m1", 2);
  EXPECT_EQ(request.group_instance_id, "host-a");
}

TEST_F(ClassicGroup, CooperativeRebalanceRevokesOnlyMovedPartitionsInTwoRounds) {
  make(make_options(true));
  EXPECT_EQ(group().protocol(), kwire::client::rebalance_protocol::cooperative);
  join_as_follower(tps({{"t", 0}, {"t", 1}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::rebalance_in_progress));
  // Round 1: nothing revoked up front; the subscription says what the member owns.
  EXPECT_FALSE(s().has_event<kd::revoke_partitions>());
  auto round1 = join("m1", 2);
  EXPECT_EQ(text(round1.protocols[0].metadata), "t,|t:0,t:1,|1");
  sync(tps({{"t", 0}}));
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"t", 1}}));
  EXPECT_FALSE(s().has_event<kd::assign_partitions>());  // after the revocation
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
  group().callbacks_done(s().now);
  auto assigned = s().take_event<kd::assign_partitions>();
  EXPECT_TRUE(assigned.added.empty());
  EXPECT_EQ(assigned.assignment, tps({{"t", 0}}));
  // Round 2: rejoin at once so the freed partition can move.
  auto round2 = join("m1", 3);
  EXPECT_EQ(text(round2.protocols[0].metadata), "t,|t:0,|2");
  sync(tps({{"t", 0}, {"t", 2}}));
  auto second = s().take_event<kd::assign_partitions>();
  EXPECT_EQ(second.added, tps({{"t", 2}}));
  EXPECT_FALSE(s().has_event<kd::revoke_partitions>());
  EXPECT_FALSE(s().has_request<kp::JoinGroupRequest>());
}

TEST_F(ClassicGroup, CooperativeRevokesUnsubscribedTopicsBeforeJoin) {
  make(make_options(true));
  join_as_follower(tps({{"t", 0}}));
  group().subscribe(s().now, {"u"});
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"t", 0}}));
  group().callbacks_done(s().now);
  EXPECT_EQ(text(join("m1", 2).protocols[0].metadata), "u,||1");
}

TEST_F(ClassicGroup, LeavesOnCloseAfterRevoking) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  group().close(s().now);
  EXPECT_EQ(s().take_event<kd::revoke_partitions>().partitions, tps({{"t", 0}}));
  EXPECT_FALSE(s().has_request<kp::LeaveGroupRequest>());
  group().callbacks_done(s().now);
  auto [send, leave] = s().take_request<kp::LeaveGroupRequest>();
  EXPECT_EQ(leave.group_id, "g");
  EXPECT_EQ(leave.members.at(0).member_id, "m1");
  EXPECT_FALSE(s().has_event<kd::group_closed>());
  s().respond(send, kp::LeaveGroupResponse{});
  s().take_event<kd::group_closed>();
  s().advance(1h);
  EXPECT_TRUE(s().idle());
}

TEST_F(ClassicGroup, CoordinatorMovesMidSyncRejoins) {
  make(make_options());
  sync_fails(broker_error::coordinator_not_available);
  s().find_coordinator(2);
  s().advance_to_deadline();
  auto rejoin = join("m1", 2);
  EXPECT_EQ(rejoin.member_id, "m1");
  sync(tps({{"t", 0}}));
  EXPECT_EQ(s().take_event<kd::assign_partitions>().added, tps({{"t", 0}}));
}

TEST_F(ClassicGroup, StaticLeaderWithSkipAssignmentSyncsWithoutAssigning) {
  make(make_options(false, "host-a"));
  start();
  auto response = joined("a", 2, "a");
  response.skip_assignment = true;
  response.members.push_back({"a", "host-a", subscription_bytes({"t"}, {}, -1), {}});
  answer_join(response);
  EXPECT_TRUE(group().is_leader());
  EXPECT_FALSE(s().has_event<kd::need_partition_counts>());
  EXPECT_TRUE(s().take_request<kp::SyncGroupRequest>().second.assignments.empty());
}

TEST_F(ClassicGroup, ProtocolNotOfferedIsFatal) {
  make(make_options());
  start();
  answer_join(joined("a", 1, "b", "range"));
  EXPECT_EQ(s().take_event<kd::fatal_error>().error,
            make_error_code(broker_error::inconsistent_group_protocol));
}

TEST_F(ClassicGroup, HeartbeatLoadInProgressRetriesAfterBackoff) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  s().advance(3s);
  heartbeat_reply(code(broker_error::coordinator_load_in_progress));
  EXPECT_EQ(group().next_deadline(), s().now + 100ms);
  s().advance(100ms);
  heartbeat_reply(0);
  EXPECT_FALSE(s().has_request<kp::FindCoordinatorRequest>());
  EXPECT_EQ(group().assignment(), tps({{"t", 0}}));
}

TEST_F(ClassicGroup, CloseMidJoinLeavesWithTheMemberId) {
  make(make_options());
  join_fails(broker_error::member_id_required, "m-7");
  auto [second, second_request] = s().take_request<kp::JoinGroupRequest>();
  group().close(s().now);
  s().respond(second, kp::JoinGroupResponse{});  // after close: ignored
  auto [leave_send, leave] = s().take_request<kp::LeaveGroupRequest>();
  EXPECT_EQ(leave.members.at(0).member_id, "m-7");
  EXPECT_FALSE(s().has_request<kp::SyncGroupRequest>());
  group().on_request_failed(s().now, leave_send.request_id,
                            make_error_code(kwire::client::errc::connection_closed));
  s().take_event<kd::group_closed>();
}

TEST_F(ClassicGroup, CommitErrorsReachTheGroup) {
  make(make_options());
  join_as_follower(tps({{"t", 0}}));
  group().on_commit_error(s().now, code(broker_error::illegal_generation));
  s().take_event<kd::lose_partitions>();
}

TEST_F(ClassicGroup, MalformedAssignmentIsFatal) {
  make(make_options());
  start();
  join("m1", 1);
  auto [send, request] = s().take_request<kp::SyncGroupRequest>();
  kp::SyncGroupResponse bad;
  bad.assignment = bytes("garbage");
  s().respond(send, bad);
  EXPECT_EQ(s().take_event<kd::fatal_error>().error,
            make_error_code(kwire::client::errc::protocol_violation));
}

TEST(GroupRequests, FitToVersionMovesListFieldsForOldVersions) {
  kd::group_request find = kp::FindCoordinatorRequest{};
  std::get<0>(find).coordinator_keys = {"g"};
  kd::fit_to_version(find, 3);
  EXPECT_EQ(std::get<0>(find).key, "g");
  EXPECT_TRUE(std::get<0>(find).coordinator_keys.empty());
  std::vector<std::uint8_t> out;
  EXPECT_FALSE(std::get<0>(find).encode(out, 3));

  kd::group_request leave = kp::LeaveGroupRequest{};
  std::get<kp::LeaveGroupRequest>(leave).members.push_back({"m1", std::nullopt, std::nullopt, {}});
  auto kept = leave;
  kd::fit_to_version(kept, 5);
  EXPECT_EQ(std::get<kp::LeaveGroupRequest>(kept).members.size(), 1u);
  kd::fit_to_version(leave, 2);
  EXPECT_EQ(std::get<kp::LeaveGroupRequest>(leave).member_id, "m1");
  out.clear();
  EXPECT_FALSE(std::get<kp::LeaveGroupRequest>(leave).encode(out, 2));
}

TEST(GroupRequests, DecodesTheResponseMatchingTheRequest) {
  kp::HeartbeatResponse beat;
  beat.error_code = code(broker_error::rebalance_in_progress);
  std::vector<std::uint8_t> body;
  ASSERT_FALSE(beat.encode(body, 4));
  kd::group_response out;
  ASSERT_FALSE(kd::decode_group_response(kp::HeartbeatRequest{}, 4, body, out));
  ASSERT_TRUE(std::holds_alternative<kp::HeartbeatResponse>(out));
  EXPECT_EQ(std::get<kp::HeartbeatResponse>(out).error_code, beat.error_code);
  EXPECT_TRUE(kd::decode_group_response(kp::HeartbeatRequest{}, 4, std::span(body).first(1), out));
}

}  // namespace
