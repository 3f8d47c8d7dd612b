// The classic consumer-group member (group.protocol=classic), as Java's
// AbstractCoordinator/ConsumerCoordinator behave: FindCoordinator -> JoinGroup (KIP-394
// member id retry, KIP-345 static membership) -> the leader assigns -> SyncGroup -> stable
// with heartbeats; eager or cooperative (KIP-429) rebalances; LeaveGroup on close.
//
// Driven through the group_member interface (group_common.hpp has the contract).
#pragma once

#include <functional>
#include <memory>

#include "group/group_common.hpp"

namespace kwire::client::detail {

// The ConsumerProtocol encodings (written elsewhere); decode failures return nullopt.
struct consumer_protocol_codec {
  // One JoinGroup protocol's metadata: `self` with the member's topics, owned partitions,
  // generation, rack and the assignor's user data.
  std::function<std::vector<std::uint8_t>(const partition_assignor&,
                                          const member_subscription& self)>
      encode_subscription;
  std::function<std::optional<member_subscription>(std::span<const std::uint8_t>)>
      decode_subscription;
  std::function<std::vector<std::uint8_t>(const member_assignment&)> encode_assignment;
  std::function<std::optional<member_assignment>(std::span<const std::uint8_t>)> decode_assignment;
};

struct classic_group_options : group_member_options {
  std::chrono::milliseconds session_timeout{45000};    // session.timeout.ms
  std::chrono::milliseconds heartbeat_interval{3000};  // heartbeat.interval.ms
  // partition.assignment.strategy, in preference order; JoinGroup offers one protocol each.
  std::vector<std::shared_ptr<const partition_assignor>> assignors;
  consumer_protocol_codec codec;
};

class classic_group final : public group_member {
 public:
  explicit classic_group(classic_group_options options);

  void subscribe(group_clock::time_point now, std::vector<std::string> topics) override;
  void poll(group_clock::time_point now) override;
  void on_response(group_clock::time_point now, std::uint64_t request_id,
                   const group_response& response) override;
  void on_request_failed(group_clock::time_point now, std::uint64_t request_id,
                         std::error_code error) override;
  void callbacks_done(group_clock::time_point now) override;
  void on_commit_error(group_clock::time_point now, std::int16_t error_code) override;
  void close(group_clock::time_point now) override;
  void partition_counts_ready(group_clock::time_point now,
                              const topic_partition_counts& counts) override;
  void metadata_updated(const topic_partition_counts& counts) override;
  group_clock::time_point next_deadline() const override;
  std::optional<commit_identity> commit_fence() const override;

  rebalance_protocol protocol() const noexcept { return protocol_; }
  std::int32_t generation() const noexcept { return generation_; }
  const std::string& member_id() const noexcept { return member_id_; }
  bool is_leader() const noexcept { return leader_; }

 private:
  enum class phase : std::uint8_t {
    unsubscribed,
    joining,  // prepare (revoke) then send JoinGroup
    join_in_flight,
    awaiting_partition_counts,  // leader
    sync_in_flight,
    stable,
    poll_expired,  // left after max.poll.interval.ms; waits for poll()
    closing,
    closed,
    failed,
  };

  void step(group_clock::time_point now) override;
  void fail(std::error_code error, std::string message) override;
  void heartbeat_step(group_clock::time_point now);
  void join_step(group_clock::time_point now);
  void close_step();
  void deliver_assignment();
  void send_join();
  void send_sync(std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assignments);
  void send_leave();

  void handle(group_clock::time_point now, const protocol::JoinGroupResponse& response);
  void handle(group_clock::time_point now, const protocol::SyncGroupResponse& response);
  void handle(group_clock::time_point now, const protocol::HeartbeatResponse& response);

  void coordinator_lost();
  void rejoin(group_clock::time_point retry_at);
  void reset_generation(bool forget_member_id);
  // The reaction to an error of JoinGroup, SyncGroup, Heartbeat or OffsetCommit.
  void handle_membership_error(group_clock::time_point now, std::string_view api,
                               std::int16_t error_code);
  const partition_assignor* assignor_named(std::string_view name) const;
  bool is_static() const noexcept { return options_.group_instance_id.has_value(); }
  // Leader: whether a member of this generation subscribes to the topic.
  bool subscribed_by_a_member(const std::string& topic) const;

  classic_group_options options_;
  rebalance_protocol protocol_ = rebalance_protocol::eager;
  phase phase_ = phase::unsubscribed;

  std::vector<std::string> subscription_;  // sorted
  std::vector<std::string> joined_topics_;
  std::string member_id_;
  std::int32_t generation_ = -1;
  std::string protocol_name_;
  bool leader_ = false;
  std::vector<member_subscription> leader_members_;
  topic_partition_counts assigned_counts_;  // leader: metadata the assignment used

  bool rejoin_needed_ = false;
  bool join_prepared_ = false;
  group_clock::time_point join_retry_at_{};
  std::optional<member_assignment> pending_assignment_;
  bool assignment_revoke_done_ = false;

  bool heartbeats_enabled_ = false;
  group_clock::time_point next_heartbeat_at_{};
  group_clock::time_point last_heartbeat_ok_{};
  group_clock::time_point last_poll_{};

  bool close_callback_done_ = false;
  bool close_revokes_ = false;
  bool leave_sent_ = false;

  std::uint64_t membership_id_ = 0;  // JoinGroup, SyncGroup or the closing LeaveGroup
  std::uint64_t heartbeat_id_ = 0;
};

}  // namespace kwire::client::detail
