#include "group/consumer_group_heartbeat.hpp"

#include <algorithm>
#include <array>
#include <map>

#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {

namespace {

using protocol::broker_error;

bool is(std::int16_t code, broker_error error) { return code == static_cast<std::int16_t>(error); }

// 16 random bytes as unpadded base64url: the shape of Java's Uuid.toString().
std::string random_member_id() {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device device;
  std::array<std::uint8_t, 18> bytes{};  // 16 random, 2 zero pad bytes for the last group
  for (std::size_t i = 0; i < 16; ++i) bytes[i] = static_cast<std::uint8_t>(device());
  std::string out;
  for (std::size_t i = 0; i < 18; i += 3) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(group >> shift) & 63];
  }
  out.resize(22);  // 128 bits need 22 characters
  return out;
}

}  // namespace

consumer_group_heartbeat::consumer_group_heartbeat(consumer_group_options options)
    : group_member(options.group_id, options.backoff, options.seed),
      options_(std::move(options)),
      member_id_(options_.member_id.empty() ? random_member_id() : options_.member_id) {}

void consumer_group_heartbeat::subscribe(group_clock::time_point now,
                                         std::vector<std::string> topics) {
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  subscription_ = std::move(topics);
  if (phase_ == phase::unsubscribed) {
    phase_ = phase::joining;
    member_epoch_ = 0;
    send_all_fields_ = true;
    last_poll_ = now;
  }
  heartbeat_now_ = true;  // the new subscription goes out with the next heartbeat
}

void consumer_group_heartbeat::poll(group_clock::time_point now) {
  last_poll_ = now;
  if (phase_ == phase::stale) {
    phase_ = phase::joining;
    member_epoch_ = 0;
    send_all_fields_ = true;
    heartbeat_now_ = true;
  }
}

bool consumer_group_heartbeat::wants_coordinator() const noexcept {
  switch (phase_) {
    case phase::joining:
    case phase::member:
    case phase::fenced:
      return true;
    case phase::expiring:
    case phase::closing:
      return leave_pending();
    default:
      return false;
  }
}

// A leave heartbeat is still to be sent: we were a member when leaving started.
bool consumer_group_heartbeat::leave_pending() const noexcept {
  return close_as_member_ && !leave_sent_;
}

group_clock::time_point consumer_group_heartbeat::next_deadline() const {
  auto deadline = group_clock::time_point::max();
  if (wants_coordinator() && !lookup_.known()) deadline = std::min(deadline, lookup_.deadline());
  if (lookup_.known() && heartbeat_id_ == 0 &&
      (phase_ == phase::joining || phase_ == phase::member)) {
    deadline = std::min(deadline, std::max(retry_at_, heartbeat_now_ ? group_clock::time_point{}
                                                                     : next_heartbeat_at_));
  }
  if (phase_ == phase::member && !outbox_.awaiting_callback())
    deadline = std::min(deadline, last_poll_ + options_.max_poll_interval);
  if (leave_pending() && lookup_.known() && heartbeat_id_ == 0 && !outbox_.awaiting_callback())
    deadline = std::min(deadline, retry_at_);
  return deadline;
}

std::optional<commit_identity> consumer_group_heartbeat::commit_fence() const {
  // Closing members commit the partitions they revoke before the leave heartbeat.
  const bool in_group = phase_ == phase::member || (phase_ == phase::closing && leave_pending());
  if (!in_group || member_epoch_ <= 0) return std::nullopt;
  return commit_identity{member_epoch_, member_id_, options_.group_instance_id};
}

void consumer_group_heartbeat::step(group_clock::time_point now) {
  if (phase_ == phase::closed || phase_ == phase::failed) return;
  if (wants_coordinator()) send_lookup_if_due(now);
  if (!outbox_.awaiting_callback()) {
    if (phase_ == phase::member && now - last_poll_ >= options_.max_poll_interval) {
      // As Java: release the partitions and leave; rejoin at the next poll().
      phase_ = phase::expiring;
      close_as_member_ = true;
      leave_sent_ = false;
      target_.reset();
      assign_due_ = false;
      if (!owned_.empty()) outbox_.begin_callback(true, owned_);
    } else if (phase_ == phase::fenced) {
      if (!owned_.empty()) {
        outbox_.begin_callback(true, owned_);
      } else {
        phase_ = phase::joining;
        member_epoch_ = 0;
        send_all_fields_ = true;
        heartbeat_now_ = true;
      }
    } else if (phase_ == phase::member) {
      reconcile();
    } else if (phase_ == phase::closing && !close_callback_done_) {
      close_callback_done_ = true;
      if (!owned_.empty()) outbox_.begin_callback(!close_as_member_, owned_);
    }
  }
  maybe_send_heartbeat(now);
  if (!outbox_.awaiting_callback() && !leave_pending() && heartbeat_id_ == 0) {
    if (phase_ == phase::closing) {
      phase_ = phase::closed;
      outbox_.push(group_closed{});
    } else if (phase_ == phase::expiring) {
      phase_ = phase::stale;
    }
  }
}

void consumer_group_heartbeat::reconcile() {
  if (!target_) return;
  std::vector<topic_partition> resolved;
  std::vector<protocol::uuid> unresolved;
  for (const auto& [id, partition] : *target_) {
    if (const std::string* name = topic_name(id)) {
      resolved.push_back({*name, partition});
    } else if (std::find(unresolved.begin(), unresolved.end(), id) == unresolved.end()) {
      unresolved.push_back(id);
    }
  }
  sort_partitions(resolved);
  std::vector<protocol::uuid> to_request;
  for (const auto& id : unresolved) {
    if (std::find(names_requested_.begin(), names_requested_.end(), id) == names_requested_.end())
      to_request.push_back(id);
  }
  if (!to_request.empty()) {
    names_requested_.insert(names_requested_.end(), to_request.begin(), to_request.end());
    outbox_.push(need_topic_names{std::move(to_request)});
  }
  if (resolved == owned_ && !assign_due_) return;
  // Revoke first, and only then assign: a partition moving between members must be
  // released (and its offsets committed) before anyone is told to take it.
  auto revoked = partitions_minus(owned_, resolved);
  if (!revoked.empty()) {
    outbox_.begin_callback(false, std::move(revoked));
    assign_due_ = true;
    return;
  }
  assign_due_ = false;
  auto added = partitions_minus(resolved, owned_);
  owned_ = std::move(resolved);
  outbox_.push(assign_partitions{std::move(added), owned_});
  heartbeat_now_ = true;  // acknowledge the new assignment
}

void consumer_group_heartbeat::maybe_send_heartbeat(group_clock::time_point now) {
  if (!lookup_.known() || heartbeat_id_ != 0 || now < retry_at_) return;
  const bool leaving = (phase_ == phase::closing || phase_ == phase::expiring) && leave_pending() &&
                       !outbox_.awaiting_callback();
  if (leaving) {
    protocol::ConsumerGroupHeartbeatRequest request;
    request.group_id = options_.group_id;
    request.member_id = member_id_;
    request.member_epoch = leave_epoch();
    request.instance_id = options_.group_instance_id;
    leave_sent_ = true;
    heartbeat_id_ = send(true, std::move(request));
    return;
  }
  if (phase_ != phase::joining && phase_ != phase::member) return;
  if (!heartbeat_now_ && now < next_heartbeat_at_) return;
  // Fenced members lose their partitions before joining again: no heartbeat meanwhile.
  heartbeat_now_ = false;
  heartbeat_id_ = send(true, build_request());
  // Until the response sets it from the broker's interval.
  next_heartbeat_at_ = group_clock::time_point::max();
}

protocol::ConsumerGroupHeartbeatRequest consumer_group_heartbeat::build_request() {
  protocol::ConsumerGroupHeartbeatRequest request;
  request.group_id = options_.group_id;
  request.member_id = member_id_;
  request.member_epoch = member_epoch_;
  const bool all = send_all_fields_ || member_epoch_ == 0;
  if (all) {
    request.instance_id = options_.group_instance_id;
    request.rack_id = options_.rack_id;
    request.rebalance_timeout_ms = static_cast<std::int32_t>(options_.max_poll_interval.count());
    request.server_assignor = options_.remote_assignor;
  }
  if (all || sent_topics_ != subscription_) {
    request.subscribed_topic_names = subscription_;
    sent_topics_ = subscription_;
  }
  if (all || sent_owned_ != owned_) {
    std::map<std::string, std::vector<std::int32_t>, std::less<>> by_topic;
    for (const auto& tp : owned_) by_topic[tp.topic].push_back(tp.partition);
    auto& out = request.topic_partitions.emplace();
    for (auto& [topic, partitions] : by_topic) {
      const protocol::uuid* id = topic_id(topic);
      if (id) out.push_back({*id, std::move(partitions), {}});
    }
    sent_owned_ = owned_;
  }
  send_all_fields_ = false;
  return request;
}

void consumer_group_heartbeat::on_response(group_clock::time_point now, std::uint64_t request_id,
                                           const group_response& response) {
  if (lookup_answered(now, request_id, response)) return;
  if (request_id != 0 && request_id == heartbeat_id_) {
    heartbeat_id_ = 0;
    if (const auto* beat = std::get_if<protocol::ConsumerGroupHeartbeatResponse>(&response))
      handle(now, *beat);
  }
}

void consumer_group_heartbeat::on_request_failed(group_clock::time_point now,
                                                 std::uint64_t request_id, std::error_code error) {
  if (lookup_failed(now, request_id)) return;
  if (request_id == 0 || request_id != heartbeat_id_) return;
  heartbeat_id_ = 0;
  if (leave_sent_) return left();
  if (error == protocol::errc::unsupported_version ||
      error == protocol::errc::field_not_in_version || error == errc::broker_too_old) {
    return fail(error,
                "the broker does not support ConsumerGroupHeartbeat (group.protocol=consumer)");
  }
  // Java marks the coordinator unknown on a failed request and resends every field.
  lookup_.mark_unknown();
  send_all_fields_ = true;
  heartbeat_now_ = true;
}

void consumer_group_heartbeat::handle(group_clock::time_point now,
                                      const protocol::ConsumerGroupHeartbeatResponse& response) {
  const std::int16_t error = response.error_code;
  if (leave_sent_) {
    // Whatever the answer, the member is out (a fenced member has nothing left to leave).
    if (error != 0 && is_coordinator_moved(error)) lookup_.mark_unknown();
    return left();
  }
  if (error == 0) {
    if (response.member_id && !response.member_id->empty()) member_id_ = *response.member_id;
    member_epoch_ = response.member_epoch;
    heartbeat_interval_ = std::chrono::milliseconds(response.heartbeat_interval_ms);
    next_heartbeat_at_ = now + heartbeat_interval_;
    if (phase_ == phase::joining) phase_ = phase::member;
    if (response.assignment) {
      std::vector<id_partition> target;
      for (const auto& topic : response.assignment->topic_partitions)
        for (std::int32_t partition : topic.partitions)
          target.emplace_back(topic.topic_id, partition);
      std::sort(target.begin(), target.end(), id_partition_less{});
      target_ = std::move(target);
    }
    return;
  }
  const std::string message =
      describe_broker_error("ConsumerGroupHeartbeat", error, response.error_message);
  send_all_fields_ = true;
  if (is(error, broker_error::fenced_member_epoch) || is(error, broker_error::unknown_member_id)) {
    return fence(now);
  }
  if (is_coordinator_moved(error)) {
    lookup_.mark_unknown();
    heartbeat_now_ = true;
    return;
  }
  const std::error_code ec = protocol::broker_error_code(error);
  if (is(error, broker_error::unreleased_instance_id) ||
      is(error, broker_error::group_max_size_reached) ||
      is(error, broker_error::group_authorization_failed) ||
      is(error, broker_error::unsupported_assignor) ||
      is(error, broker_error::fenced_instance_id) || !protocol::is_retriable(ec)) {
    return fail(ec, message);
  }
  // COORDINATOR_LOAD_IN_PROGRESS and other retriable errors: retry after the backoff.
  retry_at_ = now + options_.backoff.retry_backoff;
  heartbeat_now_ = true;
}

void consumer_group_heartbeat::fence(group_clock::time_point now) {
  if (phase_ != phase::joining && phase_ != phase::member) return;
  // Fenced while joining: do not hammer the coordinator with joins.
  if (phase_ == phase::joining) retry_at_ = now + options_.backoff.retry_backoff;
  // The member id stays (KIP-848); the partitions are gone and the member joins with
  // epoch 0 once the driver has run the lost callback.
  phase_ = phase::fenced;
  member_epoch_ = 0;
  target_.reset();
  assign_due_ = false;
  names_requested_.clear();
  heartbeat_now_ = true;
}

void consumer_group_heartbeat::left() {
  leave_sent_ = false;
  close_as_member_ = false;
  member_epoch_ = 0;
  target_.reset();
}

void consumer_group_heartbeat::callbacks_done(group_clock::time_point /*now*/) {
  // A member tells the broker at once what it released.
  if (outbox_.finish_callback(owned_) && phase_ == phase::member) heartbeat_now_ = true;
}

void consumer_group_heartbeat::learn_topic_name(const protocol::uuid& topic_id, std::string name) {
  for (auto& [id, known] : topic_names_) {
    if (id == topic_id) {
      known = std::move(name);
      return;
    }
  }
  topic_names_.emplace_back(topic_id, std::move(name));
}

void consumer_group_heartbeat::on_commit_error(group_clock::time_point now,
                                               std::int16_t error_code) {
  if (is(error_code, broker_error::unknown_member_id) ||
      is(error_code, broker_error::fenced_member_epoch)) {
    fence(now);
  } else if (is_coordinator_moved(error_code)) {
    lookup_.mark_unknown();
  }
}

void consumer_group_heartbeat::close(group_clock::time_point /*now*/) {
  if (phase_ == phase::closing || phase_ == phase::closed) return;
  // A joining member may already be in the group (its id is its own): it leaves too.
  close_as_member_ = phase_ == phase::member || phase_ == phase::joining;
  leave_sent_ = false;
  close_callback_done_ = false;
  target_.reset();
  assign_due_ = false;
  phase_ = phase::closing;
  heartbeat_id_ = 0;
  abandon_lookup();
}

void consumer_group_heartbeat::fail(std::error_code error, std::string message) {
  phase_ = phase::failed;
  lookup_id_ = heartbeat_id_ = 0;
  outbox_.push(fatal_error{error, std::move(message)});
}

const std::string* consumer_group_heartbeat::topic_name(const protocol::uuid& id) const {
  for (const auto& [known, name] : topic_names_)
    if (known == id) return &name;
  return nullptr;
}

const protocol::uuid* consumer_group_heartbeat::topic_id(std::string_view name) const {
  for (const auto& [id, known] : topic_names_)
    if (known == name) return &id;
  return nullptr;
}

}  // namespace kwire::client::detail
