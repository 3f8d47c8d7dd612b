// What the two consumer-group membership machines (classic_group, consumer_group_heartbeat)
// share: the requests they ask the driver to send, the actions they emit, and the
// coordinator lookup (FindCoordinator with backoff). Sans-io: no sockets, no timers; the
// caller passes `now`.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include "core/coordinator_lookup.hpp"
#include "kwire/client/assignor.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

using group_clock = std::chrono::steady_clock;

// Every request a membership machine sends. Built in the newest shape; fit_to_version
// moves fields for older versions.
using group_request =
    std::variant<protocol::FindCoordinatorRequest, protocol::JoinGroupRequest,
                 protocol::SyncGroupRequest, protocol::HeartbeatRequest,
                 protocol::LeaveGroupRequest, protocol::ConsumerGroupHeartbeatRequest>;
// The matching responses (same order).
using group_response =
    std::variant<protocol::FindCoordinatorResponse, protocol::JoinGroupResponse,
                 protocol::SyncGroupResponse, protocol::HeartbeatResponse,
                 protocol::LeaveGroupResponse, protocol::ConsumerGroupHeartbeatResponse>;

// FindCoordinator v0-3 carries one `key`, v4+ a `coordinator_keys` list; LeaveGroup v0-2
// one `member_id`, v3+ a `members` list. The machines fill the v4+/v3+ fields.
void fit_to_version(group_request& request, std::int16_t version);

// Decodes `body` as the response to `request` (same API) at `version`.
std::error_code decode_group_response(const group_request& request, std::int16_t version,
                                      std::span<const std::uint8_t> body, group_response& out);

// Send `request`. FindCoordinator goes to any ready broker (`to_coordinator` false); every
// other request goes to `coordinator`. Report the outcome with the same request_id.
struct send_request {
  std::uint64_t request_id = 0;
  bool to_coordinator = false;
  coordinator_node coordinator;
  group_request request;
};

// Listener callbacks. revoke/lose block the machine until the driver calls
// callbacks_done(): commit offsets of revoked partitions (not of lost ones) first.
struct revoke_partitions {
  std::vector<topic_partition> partitions;
};
struct lose_partitions {
  std::vector<topic_partition> partitions;
};
// Does not block. `added` are new to this member; `assignment` is all it now owns.
struct assign_partitions {
  std::vector<topic_partition> added;
  std::vector<topic_partition> assignment;
};
// Classic leader only: answer with partition_counts_ready() (topics unknown to the
// metadata are left out of the answer). Blocks the join until answered.
struct need_partition_counts {
  std::vector<std::string> topics;
};
// KIP-848 only: the assignment names topics by id; answer with learn_topic_name() for the
// ids the metadata knows (the rest stay pending until metadata learns them).
struct need_topic_names {
  std::vector<protocol::uuid> topic_ids;
};
// The member cannot continue (fenced instance, authorization, group full, ...). Final.
struct fatal_error {
  std::error_code error;
  std::string message;
};
// close() finished: the member left (or was not a member). Final.
struct group_closed {};

using group_action =
    std::variant<send_request, revoke_partitions, lose_partitions, assign_partitions,
                 need_partition_counts, need_topic_names, fatal_error, group_closed>;

// Fencing fields for OffsetCommit while the member is in a generation (classic) or has an
// epoch (KIP-848).
struct commit_identity {
  std::int32_t generation_or_epoch = -1;
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

// What both membership protocols (classic and KIP-848) take from the consumer's configuration.
struct group_member_options {
  std::string group_id;
  std::optional<std::string> group_instance_id;         // group.instance.id (static member)
  std::optional<std::string> rack_id;                   // client.rack
  std::chrono::milliseconds max_poll_interval{300000};  // max.poll.interval.ms = rebalance timeout
  lookup_backoff backoff;
  std::uint32_t seed = 1;  // backoff jitter
};

// The actions a machine has produced and not yet handed out, and the blocking callback
// (revoke/lose) it waits on.
class group_outbox {
 public:
  // Queues a send_request with a fresh id; returns the id.
  std::uint64_t send(const coordinator_lookup& lookup, bool to_coordinator, group_request request);
  void push(group_action action) { actions_.push_back(std::move(action)); }
  std::optional<group_action> pop();
  bool empty() const noexcept { return actions_.empty(); }
  // Queues revoke_partitions or lose_partitions; the partitions leave `owned` when the
  // driver reports the callback done (not before: a commit in the callback still needs them).
  void begin_callback(bool lost, std::vector<topic_partition> partitions);
  bool awaiting_callback() const noexcept { return awaiting_callback_; }
  // Removes the finished callback's partitions from `owned`; false if none was awaited.
  bool finish_callback(std::vector<topic_partition>& owned);

 private:
  std::deque<group_action> actions_;
  std::uint64_t next_request_id_ = 1;
  bool awaiting_callback_ = false;
  std::vector<topic_partition> callback_removes_;
};

// The driving interface both membership machines implement (classic_group for
// group.protocol=classic, consumer_group_heartbeat for group.protocol=consumer), so one
// driver serves both. Contract:
//  1. After any input, loop `while (auto a = m.next_action(now))` and act on each action:
//     send_request -> fit_to_version(req, v) and send it (to the coordinator, or to any
//       broker for FindCoordinator), then report on_response(now, id, decoded) (see
//       decode_group_response) or on_request_failed(now, id, ec);
//     revoke_partitions / lose_partitions -> run the listener (commit revoked offsets
//       first, fenced with commit_fence()), then callbacks_done(now);
//     assign_partitions -> run the listener (nothing to report);
//     need_partition_counts -> partition_counts_ready(); need_topic_names ->
//       learn_topic_name() per known id;
//     fatal_error -> surface it; group_closed -> close() has finished.
//  2. Arm one timer for next_deadline(); when it fires, loop next_action again.
//  3. poll(now) on every application poll (max.poll.interval.ms); subscribe() to start or
//     change the subscription; close() to leave (bound it with the close timeout).
class group_member {
 public:
  virtual ~group_member() = default;

  // --- inputs ---
  virtual void subscribe(group_clock::time_point now, std::vector<std::string> topics) = 0;
  // The application polled: resets the max.poll.interval.ms timer; after a poll timeout
  // made the member leave, it rejoins.
  virtual void poll(group_clock::time_point now) = 0;
  virtual void on_response(group_clock::time_point now, std::uint64_t request_id,
                           const group_response& response) = 0;
  // Connection failure, timeout, or a request that could not be encoded at this version.
  virtual void on_request_failed(group_clock::time_point now, std::uint64_t request_id,
                                 std::error_code error) = 0;
  // The revoke_partitions / lose_partitions listener finished.
  virtual void callbacks_done(group_clock::time_point now) = 0;
  // An OffsetCommit got this error; the member reacts to the membership ones
  // (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_MEMBER_EPOCH, coordinator errors, ...).
  virtual void on_commit_error(group_clock::time_point now, std::int16_t error_code) = 0;
  // Revokes what the member owns, leaves the group (not a static classic member), then
  // emits group_closed.
  virtual void close(group_clock::time_point now) = 0;
  // Classic leader: the answer to need_partition_counts.
  virtual void partition_counts_ready(group_clock::time_point /*now*/,
                                      const topic_partition_counts& /*counts*/) {}
  // Classic leader: new metadata (every topic it knows with its partition count); rejoins
  // when a topic of the group's subscriptions changed its count, appeared or disappeared.
  virtual void metadata_updated(const topic_partition_counts& /*counts*/) {}
  // KIP-848: metadata knows this topic id's name (answers need_topic_names, any time).
  virtual void learn_topic_name(const protocol::uuid& /*topic_id*/, std::string /*name*/) {}

  // --- outputs ---
  std::optional<group_action> next_action(group_clock::time_point now);
  // When next_action has something to do without any input; time_point::max() if never.
  virtual group_clock::time_point next_deadline() const = 0;

  // --- state ---
  // Fencing fields for OffsetCommit while in a generation / with an epoch; nullopt
  // during a rebalance (the commit then fails as Java's RebalanceInProgressException).
  virtual std::optional<commit_identity> commit_fence() const = 0;
  const std::vector<topic_partition>& assignment() const noexcept { return owned_; }
  const std::optional<coordinator_node>& coordinator() const noexcept { return lookup_.node(); }

 protected:
  group_member(std::string group_id, lookup_backoff backoff, std::uint32_t seed)
      : lookup_(coordinator_type::group, std::move(group_id), backoff, seed) {}

  // Queues whatever is due now into outbox_.
  virtual void step(group_clock::time_point now) = 0;
  virtual void fail(std::error_code error, std::string message) = 0;
  std::uint64_t send(bool to_coordinator, group_request request) {
    return outbox_.send(lookup_, to_coordinator, std::move(request));
  }
  void send_lookup_if_due(group_clock::time_point now);
  // Whether request_id was the FindCoordinator in flight (then it is handled; a fatal
  // answer calls fail()).
  bool lookup_answered(group_clock::time_point now, std::uint64_t request_id,
                       const group_response& response);
  bool lookup_failed(group_clock::time_point now, std::uint64_t request_id);
  void abandon_lookup() noexcept {
    lookup_id_ = 0;
    lookup_.abandon();
  }

  coordinator_lookup lookup_;
  group_outbox outbox_;
  std::vector<topic_partition> owned_;  // sorted
  std::uint64_t lookup_id_ = 0;
};

// Set helpers over sorted, duplicate-free partition lists.
void sort_partitions(std::vector<topic_partition>& partitions);
std::vector<topic_partition> partitions_minus(const std::vector<topic_partition>& from,
                                              const std::vector<topic_partition>& remove);

}  // namespace kwire::client::detail
