#include "group/classic_group.hpp"

#include <algorithm>

#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {

namespace {

using protocol::broker_error;
constexpr std::string_view consumer_protocol_type = "consumer";

bool is(std::int16_t code, broker_error error) { return code == static_cast<std::int16_t>(error); }

// Cooperative only when every configured assignor supports it (ConsumerCoordinator).
rebalance_protocol common_protocol(
    const std::vector<std::shared_ptr<const partition_assignor>>& assignors) {
  if (assignors.empty()) return rebalance_protocol::eager;
  for (const auto& assignor : assignors) {
    const auto supported = assignor->supported_protocols();
    if (std::find(supported.begin(), supported.end(), rebalance_protocol::cooperative) ==
        supported.end())
      return rebalance_protocol::eager;
  }
  return rebalance_protocol::cooperative;
}

// Errors in a request that never reached the broker because kwire could not encode it.
bool is_fatal_request_failure(std::error_code error) {
  return error == protocol::errc::unsupported_version ||
         error == protocol::errc::field_not_in_version ||
         error == protocol::errc::null_not_allowed || error == errc::broker_too_old;
}

}  // namespace

classic_group::classic_group(classic_group_options options)
    : group_member(options.group_id, options.backoff, options.seed),
      options_(std::move(options)),
      protocol_(common_protocol(options_.assignors)) {}

void classic_group::subscribe(group_clock::time_point now, std::vector<std::string> topics) {
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  subscription_ = std::move(topics);
  if (phase_ == phase::unsubscribed) {
    phase_ = phase::joining;
    join_prepared_ = false;
    last_poll_ = now;
  } else if (subscription_ != joined_topics_) {
    rejoin_needed_ = true;
  }
}

void classic_group::poll(group_clock::time_point now) {
  last_poll_ = now;
  if (phase_ == phase::poll_expired) {
    phase_ = phase::joining;
    join_prepared_ = false;
  }
}

group_clock::time_point classic_group::next_deadline() const {
  auto deadline = group_clock::time_point::max();
  const bool wants_coordinator = phase_ != phase::unsubscribed && phase_ != phase::poll_expired &&
                                 phase_ != phase::closing && phase_ != phase::closed &&
                                 phase_ != phase::failed;
  if (wants_coordinator && !lookup_.known()) deadline = std::min(deadline, lookup_.deadline());
  if (phase_ == phase::joining && lookup_.known() && !outbox_.awaiting_callback() &&
      membership_id_ == 0)
    deadline = std::min(deadline, join_retry_at_);
  if (heartbeats_enabled_ && lookup_.known()) {
    if (heartbeat_id_ == 0) deadline = std::min(deadline, next_heartbeat_at_);
    deadline = std::min(deadline, last_heartbeat_ok_ + options_.session_timeout);
    if (!outbox_.awaiting_callback() && phase_ != phase::closing)
      deadline = std::min(deadline, last_poll_ + options_.max_poll_interval);
  }
  return deadline;
}

std::optional<commit_identity> classic_group::commit_fence() const {
  if (!heartbeats_enabled_ || generation_ < 0) return std::nullopt;
  return commit_identity{generation_, member_id_, options_.group_instance_id};
}

void classic_group::step(group_clock::time_point now) {
  if (phase_ == phase::closed || phase_ == phase::failed) return;
  const bool wants_coordinator =
      phase_ != phase::unsubscribed && phase_ != phase::poll_expired && phase_ != phase::closing;
  if (wants_coordinator) send_lookup_if_due(now);
  heartbeat_step(now);
  if (outbox_.awaiting_callback()) return;
  if (phase_ == phase::stable && pending_assignment_) {
    deliver_assignment();
    if (outbox_.awaiting_callback()) return;
  }
  if (phase_ == phase::stable && rejoin_needed_) {
    phase_ = phase::joining;
    join_prepared_ = false;
  }
  if (phase_ == phase::joining) join_step(now);
  if (phase_ == phase::closing) close_step();
}

void classic_group::heartbeat_step(group_clock::time_point now) {
  if (!heartbeats_enabled_ || !lookup_.known()) return;
  if (now - last_heartbeat_ok_ >= options_.session_timeout) {
    // As Java: the coordinator is presumed gone; rediscover it and keep heartbeating.
    coordinator_lost();
    send_lookup_if_due(now);
    return;
  }
  if (!outbox_.awaiting_callback() && phase_ != phase::closing &&
      now - last_poll_ >= options_.max_poll_interval) {
    // The application stopped polling: leave so the group can move on (static members
    // only forget their generation), and rejoin at the next poll().
    if (!is_static() && !member_id_.empty()) send_leave();
    membership_id_ = 0;
    reset_generation(true);
    phase_ = phase::poll_expired;
    return;
  }
  if (heartbeat_id_ == 0 && now >= next_heartbeat_at_) {
    protocol::HeartbeatRequest request;
    request.group_id = options_.group_id;
    request.generation_id = generation_;
    request.member_id = member_id_;
    request.group_instance_id = options_.group_instance_id;
    heartbeat_id_ = send(true, std::move(request));
    next_heartbeat_at_ = now + options_.heartbeat_interval;
  }
}

void classic_group::join_step(group_clock::time_point now) {
  if (!lookup_.known() || now < join_retry_at_ || membership_id_ != 0) return;
  if (generation_ < 0 && !owned_.empty()) {
    // The generation was lost: others may own these partitions already.
    outbox_.begin_callback(true, owned_);
    return;
  }
  if (!join_prepared_) {
    join_prepared_ = true;
    std::vector<topic_partition> revoked;
    for (const auto& tp : owned_) {
      const bool subscribed =
          std::binary_search(subscription_.begin(), subscription_.end(), tp.topic);
      if (protocol_ == rebalance_protocol::eager || !subscribed) revoked.push_back(tp);
    }
    if (!revoked.empty()) {
      outbox_.begin_callback(false, std::move(revoked));
      return;
    }
  }
  send_join();
}

void classic_group::send_join() {
  protocol::JoinGroupRequest request;
  request.group_id = options_.group_id;
  request.session_timeout_ms = static_cast<std::int32_t>(options_.session_timeout.count());
  request.rebalance_timeout_ms = static_cast<std::int32_t>(options_.max_poll_interval.count());
  request.member_id = member_id_;
  request.group_instance_id = options_.group_instance_id;
  request.protocol_type = std::string(consumer_protocol_type);
  member_subscription self;
  self.member_id = member_id_;
  self.group_instance_id = options_.group_instance_id;
  self.topics = subscription_;
  self.owned_partitions = owned_;
  self.generation_id = generation_;
  self.rack_id = options_.rack_id;
  for (const auto& assignor : options_.assignors) {
    self.user_data = assignor->subscription_user_data(subscription_, generation_);
    request.protocols.push_back(
        {std::string(assignor->name()), options_.codec.encode_subscription(*assignor, self), {}});
  }
  heartbeats_enabled_ = false;
  heartbeat_id_ = 0;
  rejoin_needed_ = false;
  joined_topics_ = subscription_;
  phase_ = phase::join_in_flight;
  membership_id_ = send(true, std::move(request));
}

void classic_group::send_sync(
    std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> assignments) {
  protocol::SyncGroupRequest request;
  request.group_id = options_.group_id;
  request.generation_id = generation_;
  request.member_id = member_id_;
  request.group_instance_id = options_.group_instance_id;
  request.protocol_type = std::string(consumer_protocol_type);
  request.protocol_name = protocol_name_;
  request.assignments = std::move(assignments);
  phase_ = phase::sync_in_flight;
  membership_id_ = send(true, std::move(request));
}

void classic_group::send_leave() {
  protocol::LeaveGroupRequest request;
  request.group_id = options_.group_id;
  request.members.push_back({member_id_, options_.group_instance_id, std::nullopt, {}});
  membership_id_ = send(true, std::move(request));
}

void classic_group::callbacks_done(group_clock::time_point /*now*/) {
  outbox_.finish_callback(owned_);
}

void classic_group::deliver_assignment() {
  auto received = std::move(pending_assignment_->partitions);
  sort_partitions(received);
  if (protocol_ == rebalance_protocol::cooperative && !assignment_revoke_done_) {
    assignment_revoke_done_ = true;
    auto revoked = partitions_minus(owned_, received);
    if (!revoked.empty()) {
      // KIP-429: give up what moved, then rejoin so the others can take it.
      rejoin_needed_ = true;
      pending_assignment_->partitions = std::move(received);
      outbox_.begin_callback(false, std::move(revoked));
      return;
    }
  }
  auto added = partitions_minus(received, owned_);
  owned_ = std::move(received);
  pending_assignment_.reset();
  outbox_.push(assign_partitions{std::move(added), owned_});
}

void classic_group::close_step() {
  if (outbox_.awaiting_callback()) return;
  if (!close_callback_done_) {
    close_callback_done_ = true;
    if (!owned_.empty()) {
      outbox_.begin_callback(!close_revokes_, owned_);
      return;
    }
  }
  if (!leave_sent_) {
    leave_sent_ = true;
    heartbeats_enabled_ = false;
    heartbeat_id_ = 0;
    // As Java: a dynamic member with an id leaves even mid-rebalance, so the group need
    // not wait for it.
    if (!is_static() && lookup_.known() && !member_id_.empty()) {
      send_leave();
      return;
    }
  }
  if (membership_id_ != 0) return;  // waiting for LeaveGroup
  phase_ = phase::closed;
  outbox_.push(group_closed{});
}

void classic_group::close(group_clock::time_point /*now*/) {
  if (phase_ == phase::closing || phase_ == phase::closed) return;
  close_revokes_ = phase_ != phase::failed && generation_ >= 0 && heartbeats_enabled_;
  if (phase_ == phase::failed) member_id_.clear();
  phase_ = phase::closing;
  pending_assignment_.reset();
  membership_id_ = 0;
  abandon_lookup();
}

void classic_group::on_response(group_clock::time_point now, std::uint64_t request_id,
                                const group_response& response) {
  if (request_id == 0) return;
  if (lookup_answered(now, request_id, response)) {
    // A fresh coordinator gets a full session before it is presumed gone (Java resets
    // the session timer on lookup).
    if (lookup_.known()) last_heartbeat_ok_ = now;
  } else if (request_id == heartbeat_id_) {
    heartbeat_id_ = 0;
    if (const auto* beat = std::get_if<protocol::HeartbeatResponse>(&response)) handle(now, *beat);
  } else if (request_id == membership_id_) {
    membership_id_ = 0;
    if (const auto* join = std::get_if<protocol::JoinGroupResponse>(&response)) {
      handle(now, *join);
    } else if (const auto* sync = std::get_if<protocol::SyncGroupResponse>(&response)) {
      handle(now, *sync);
    }
    // A LeaveGroup answer needs nothing: close_step finishes once membership_id_ is 0.
  }
}

void classic_group::on_request_failed(group_clock::time_point now, std::uint64_t request_id,
                                      std::error_code error) {
  if (request_id == 0) return;
  const bool ours =
      request_id == lookup_id_ || request_id == heartbeat_id_ || request_id == membership_id_;
  if (!ours) return;
  if (is_fatal_request_failure(error)) {
    if (phase_ == phase::closing) {
      membership_id_ = 0;
      return;
    }
    return fail(error, "the broker does not support a request the group needs");
  }
  if (lookup_failed(now, request_id)) return;
  if (request_id == membership_id_ && phase_ == phase::closing) {
    membership_id_ = 0;
    return;
  }
  // Java marks the coordinator unknown when a request to it fails on the connection.
  const bool was_joining = request_id == membership_id_;
  coordinator_lost();
  if (was_joining) join_retry_at_ = now + options_.backoff.retry_backoff;
}

void classic_group::partition_counts_ready(group_clock::time_point /*now*/,
                                           const topic_partition_counts& counts) {
  if (phase_ != phase::awaiting_partition_counts) return;
  const partition_assignor* assignor = assignor_named(protocol_name_);
  const group_assignment assignment = assignor->assign(counts, leader_members_);
  // What the assignment was made from: the counts of the topics some member subscribes to.
  assigned_counts_.clear();
  for (const auto& [topic, count] : counts)
    if (subscribed_by_a_member(topic)) assigned_counts_[topic] = count;
  std::vector<protocol::SyncGroupRequest::SyncGroupRequestAssignment> out;
  for (const auto& member : leader_members_) {
    const auto it = assignment.find(member.member_id);
    const member_assignment none;
    out.push_back({member.member_id,
                   options_.codec.encode_assignment(it == assignment.end() ? none : it->second),
                   {}});
  }
  send_sync(std::move(out));
}

void classic_group::metadata_updated(const topic_partition_counts& counts) {
  if (!leader_ || phase_ != phase::stable) return;
  // A topic gone from the metadata was deleted (its partitions must leave the group's
  // assignment), as one whose partition count changed.
  for (const auto& [topic, count] : assigned_counts_) {
    const auto it = counts.find(topic);
    if (it == counts.end() || it->second != count) rejoin_needed_ = true;
  }
  for (const auto& [topic, count] : counts)
    if (!assigned_counts_.contains(topic) && subscribed_by_a_member(topic)) rejoin_needed_ = true;
}

bool classic_group::subscribed_by_a_member(const std::string& topic) const {
  return std::any_of(leader_members_.begin(), leader_members_.end(),
                     [&](const member_subscription& m) {
                       return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
                     });
}

void classic_group::on_commit_error(group_clock::time_point now, std::int16_t error_code) {
  if (phase_ == phase::closed || phase_ == phase::failed || phase_ == phase::closing) return;
  handle_membership_error(now, "OffsetCommit", error_code);
}

void classic_group::handle(group_clock::time_point now,
                           const protocol::JoinGroupResponse& response) {
  const std::int16_t error = response.error_code;
  if (error == 0) {
    member_id_ = response.member_id;
    generation_ = response.generation_id;
    protocol_name_ = response.protocol_name.value_or("");
    if (response.protocol_type && *response.protocol_type != consumer_protocol_type) {
      return fail(broker_error::inconsistent_group_protocol,
                  "JoinGroup: the group's protocol type is " + *response.protocol_type);
    }
    if (!assignor_named(protocol_name_)) {
      return fail(
          broker_error::inconsistent_group_protocol,
          "JoinGroup: the group chose an assignor this member did not offer: " + protocol_name_);
    }
    leader_ = response.leader == member_id_;
    leader_members_.clear();
    if (!leader_ || response.skip_assignment) {
      // skip_assignment: a static leader rejoined and the group kept its assignment.
      send_sync({});
      return;
    }
    std::vector<std::string> topics;
    for (const auto& member : response.members) {
      auto subscription = options_.codec.decode_subscription(member.metadata);
      if (!subscription) {
        return fail(errc::protocol_violation,
                    "JoinGroup: member " + member.member_id + " sent a malformed subscription");
      }
      subscription->member_id = member.member_id;
      subscription->group_instance_id = member.group_instance_id;
      topics.insert(topics.end(), subscription->topics.begin(), subscription->topics.end());
      leader_members_.push_back(std::move(*subscription));
    }
    std::sort(topics.begin(), topics.end());
    topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
    phase_ = phase::awaiting_partition_counts;
    outbox_.push(need_partition_counts{std::move(topics)});
    return;
  }
  if (is(error, broker_error::member_id_required)) {
    // KIP-394: the broker assigned an id; join again with it at once.
    member_id_ = response.member_id;
    rejoin(now);
    return;
  }
  handle_membership_error(now, "JoinGroup", error);
}

void classic_group::handle(group_clock::time_point now,
                           const protocol::SyncGroupResponse& response) {
  const std::int16_t error = response.error_code;
  if (error == 0) {
    if ((response.protocol_type && *response.protocol_type != consumer_protocol_type) ||
        (response.protocol_name && *response.protocol_name != protocol_name_)) {
      return fail(broker_error::inconsistent_group_protocol,
                  "SyncGroup: protocol differs from the one JoinGroup chose");
    }
    auto assignment = options_.codec.decode_assignment(response.assignment);
    if (!assignment) return fail(errc::protocol_violation, "SyncGroup: malformed assignment");
    phase_ = phase::stable;
    heartbeats_enabled_ = true;
    last_heartbeat_ok_ = now;
    last_poll_ = now;
    next_heartbeat_at_ = now + options_.heartbeat_interval;
    join_prepared_ = false;
    assignment_revoke_done_ = false;
    pending_assignment_ = std::move(*assignment);
    if (subscription_ != joined_topics_) rejoin_needed_ = true;
    return;
  }
  handle_membership_error(now, "SyncGroup", error);
}

void classic_group::handle(group_clock::time_point now,
                           const protocol::HeartbeatResponse& response) {
  const std::int16_t error = response.error_code;
  if (error == 0) {
    last_heartbeat_ok_ = now;
    return;
  }
  handle_membership_error(now, "Heartbeat", error);
}

void classic_group::handle_membership_error(group_clock::time_point now, std::string_view api,
                                            std::int16_t error) {
  if (is(error, broker_error::unknown_member_id) || is(error, broker_error::illegal_generation)) {
    // Java keeps the member id on ILLEGAL_GENERATION so the rejoin is the same member.
    reset_generation(is(error, broker_error::unknown_member_id));
    return rejoin(now);
  }
  // The group is rebalancing: a stable member rejoins after its revocation step; a
  // joining one sends JoinGroup again at once (no new revocation round).
  if (is(error, broker_error::rebalance_in_progress)) return rejoin(now);
  if (is_coordinator_moved(error)) {
    const bool in_join = phase_ == phase::join_in_flight || phase_ == phase::sync_in_flight ||
                         phase_ == phase::awaiting_partition_counts;
    coordinator_lost();
    if (in_join) join_retry_at_ = now + options_.backoff.retry_backoff;
    return;
  }
  const std::error_code ec = protocol::broker_error_code(error);
  if (is(error, broker_error::fenced_instance_id) ||
      is(error, broker_error::group_authorization_failed) ||
      is(error, broker_error::inconsistent_group_protocol) ||
      is(error, broker_error::group_max_size_reached) || !protocol::is_retriable(ec)) {
    return fail(ec, describe_broker_error(api, error));
  }
  // COORDINATOR_LOAD_IN_PROGRESS and other retriable errors: same coordinator, later.
  if (api == "Heartbeat") {
    next_heartbeat_at_ = now + options_.backoff.retry_backoff;
  } else if (api != "OffsetCommit") {
    rejoin(now + options_.backoff.retry_backoff);
  }
}

void classic_group::coordinator_lost() {
  lookup_.mark_unknown();
  heartbeat_id_ = 0;
  if (phase_ == phase::join_in_flight || phase_ == phase::sync_in_flight ||
      phase_ == phase::awaiting_partition_counts) {
    membership_id_ = 0;
    phase_ = phase::joining;
  }
}

void classic_group::rejoin(group_clock::time_point retry_at) {
  if (phase_ == phase::closing || phase_ == phase::closed || phase_ == phase::failed) return;
  if (phase_ == phase::stable) {
    rejoin_needed_ = true;
    return;
  }
  membership_id_ = 0;
  phase_ = phase::joining;
  join_retry_at_ = retry_at;
}

void classic_group::reset_generation(bool forget_member_id) {
  generation_ = -1;
  if (forget_member_id) member_id_.clear();
  heartbeats_enabled_ = false;
  heartbeat_id_ = 0;
  leader_ = false;
  if (phase_ == phase::stable) {
    phase_ = phase::joining;
    join_prepared_ = false;
  }
}

void classic_group::fail(std::error_code error, std::string message) {
  phase_ = phase::failed;
  heartbeats_enabled_ = false;
  lookup_id_ = membership_id_ = heartbeat_id_ = 0;
  outbox_.push(fatal_error{error, std::move(message)});
}

const partition_assignor* classic_group::assignor_named(std::string_view name) const {
  for (const auto& assignor : options_.assignors)
    if (assignor->name() == name) return assignor.get();
  return nullptr;
}

}  // namespace kwire::client::detail
