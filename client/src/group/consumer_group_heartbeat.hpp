// The KIP-848 consumer-group member (group.protocol=consumer): one ConsumerGroupHeartbeat
// RPC carries joining (epoch 0), the subscription, the owned partitions, and leaving
// (epoch -1, or -2 for a static member); the broker assigns (group.remote.assignor) and
// the member reconciles its target assignment: revoke first, then assign, then
// acknowledge with the next heartbeat. Behaves as Java's ConsumerMembershipManager.
//
// Driven through the group_member interface (group_common.hpp has the contract).
#pragma once

#include <utility>

#include "group/group_common.hpp"

namespace kwire::client::detail {

struct consumer_group_options : group_member_options {
  // The member id this member keeps for its lifetime (KIP-848: chosen by the client);
  // empty: a random one (22 characters of base64url, as Java's Uuid.toString()).
  std::string member_id;
  std::optional<std::string> remote_assignor;  // group.remote.assignor; broker default if unset
};

class consumer_group_heartbeat final : public group_member {
 public:
  explicit consumer_group_heartbeat(consumer_group_options options);

  void subscribe(group_clock::time_point now, std::vector<std::string> topics) override;
  void poll(group_clock::time_point now) override;
  void on_response(group_clock::time_point now, std::uint64_t request_id,
                   const group_response& response) override;
  void on_request_failed(group_clock::time_point now, std::uint64_t request_id,
                         std::error_code error) override;
  void callbacks_done(group_clock::time_point now) override;
  void on_commit_error(group_clock::time_point now, std::int16_t error_code) override;
  void close(group_clock::time_point now) override;
  void learn_topic_name(const protocol::uuid& topic_id, std::string name) override;
  group_clock::time_point next_deadline() const override;
  std::optional<commit_identity> commit_fence() const override;

  const std::string& member_id() const noexcept { return member_id_; }
  std::int32_t member_epoch() const noexcept { return member_epoch_; }
  std::chrono::milliseconds heartbeat_interval() const noexcept { return heartbeat_interval_; }

 private:
  enum class phase : std::uint8_t {
    unsubscribed,
    joining,   // epoch 0 heartbeat to send or in flight
    member,    // has an epoch; reconciles its target assignment
    fenced,    // lose partitions, then join again with epoch 0
    expiring,  // max.poll.interval.ms passed: lose partitions, then leave
    stale,     // left after a poll timeout; rejoins at the next poll()
    closing,   // revoke, then leave
    closed,
    failed,
  };
  using id_partition = std::pair<protocol::uuid, std::int32_t>;
  struct id_partition_less {
    bool operator()(const id_partition& a, const id_partition& b) const noexcept {
      return std::tie(a.first.bytes, a.second) < std::tie(b.first.bytes, b.second);
    }
  };

  void step(group_clock::time_point now) override;
  void fail(std::error_code error, std::string message) override;
  void reconcile();
  void maybe_send_heartbeat(group_clock::time_point now);
  protocol::ConsumerGroupHeartbeatRequest build_request();
  std::int32_t leave_epoch() const noexcept { return options_.group_instance_id ? -2 : -1; }
  bool leave_pending() const noexcept;
  void handle(group_clock::time_point now, const protocol::ConsumerGroupHeartbeatResponse& r);
  void fence(group_clock::time_point now);
  void left();
  const std::string* topic_name(const protocol::uuid& id) const;
  const protocol::uuid* topic_id(std::string_view name) const;
  bool wants_coordinator() const noexcept;

  consumer_group_options options_;
  phase phase_ = phase::unsubscribed;

  std::vector<std::string> subscription_;  // sorted
  std::string member_id_;
  std::int32_t member_epoch_ = 0;
  std::chrono::milliseconds heartbeat_interval_{0};

  std::optional<std::vector<id_partition>> target_;  // latest assignment from the broker
  std::vector<std::pair<protocol::uuid, std::string>> topic_names_;
  std::vector<protocol::uuid> names_requested_;

  // What the last heartbeat carried; a field is sent again only when it changed, all of
  // them after joining or a failed heartbeat.
  bool send_all_fields_ = true;
  std::optional<std::vector<std::string>> sent_topics_;
  std::optional<std::vector<topic_partition>> sent_owned_;

  bool heartbeat_now_ = false;
  // A reconciliation revoked partitions and owes the listener its assign_partitions (also
  // when nothing is added: Java calls onPartitionsAssigned after every reconciliation).
  bool assign_due_ = false;
  group_clock::time_point next_heartbeat_at_{};
  group_clock::time_point retry_at_{};
  group_clock::time_point last_poll_{};
  bool close_as_member_ = false;
  bool close_callback_done_ = false;
  bool leave_sent_ = false;

  std::uint64_t heartbeat_id_ = 0;
};

}  // namespace kwire::client::detail
