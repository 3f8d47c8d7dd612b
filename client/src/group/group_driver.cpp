#include "group/group_driver.hpp"

#include <algorithm>
#include <random>

#include "core/observer.hpp"
#include "group/classic_group.hpp"
#include "group/consumer_group_heartbeat.hpp"
#include "kwire/client/consumer_protocol.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client::detail {

group_driver::group_driver(std::shared_ptr<cluster> cluster, std::unique_ptr<group_member> member,
                           group_driver_hooks hooks, std::chrono::milliseconds request_timeout,
                           std::chrono::milliseconds join_timeout)
    : cluster_(std::move(cluster)),
      member_(std::move(member)),
      hooks_(std::move(hooks)),
      request_timeout_(request_timeout),
      join_timeout_(join_timeout),
      self_(std::make_shared<group_driver*>(this)) {}

group_driver::~group_driver() = default;

void group_driver::subscribe(group_clock::time_point now, std::vector<std::string> topics) {
  for (const auto& topic : topics) cluster_->want_topic(topic);
  member_->subscribe(now, std::move(topics));
}

std::int32_t group_driver::coordinator() const noexcept {
  const auto& node = member_->coordinator();
  return node ? node->node_id : -1;
}

topic_partition_counts group_driver::known_partition_counts() const {
  topic_partition_counts counts;
  for (const auto& [name, topic] : cluster_->metadata().topics)
    if (topic.error_code == 0 && !topic.partitions.empty())
      counts[name] = static_cast<std::int32_t>(topic.partitions.size());
  return counts;
}

void group_driver::metadata_updated() {
  const auto& metadata = cluster_->metadata();
  if (metadata.version == metadata_version_seen_) return;
  metadata_version_seen_ = metadata.version;
  // Every known topic: a leader watches all members' topics, not only its own.
  known_counts_ = known_partition_counts();
  member_->metadata_updated(known_counts_);
}

namespace {

std::string describe(const std::vector<topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) {
    if (!out.empty()) out += ", ";
    out += tp.topic + "-" + std::to_string(tp.partition);
  }
  return out.empty() ? std::string("none") : out;
}

std::string_view request_name(const group_request& request) {
  return std::visit(
      [](const auto& r) -> std::string_view {
        const auto* api = protocol::find_api(std::decay_t<decltype(r)>::api_key);
        return api ? api->name : "?";
      },
      request);
}

// The error a group response carries (FindCoordinator v4+: its first key's), or 0.
std::int16_t response_error(const group_response& response) {
  return std::visit(
      [](const auto& r) -> std::int16_t {
        if constexpr (requires { r.coordinators; })
          if (!r.coordinators.empty() && r.coordinators.front().error_code != 0)
            return r.coordinators.front().error_code;
        return r.error_code;
      },
      response);
}

}  // namespace

// Why the member rejoins or looks up the coordinator again: a group request's error.
void group_driver::log_answer(const group_request& request, std::error_code ec,
                              const group_response* response) const {
  const auto* o = cluster_->observer();
  if (!o || !o->enabled(log_level::info, log_category::cgrp)) return;
  if (ec)
    return o->log(log_level::info, log_category::cgrp, request_name(request), " failed: ", ec);
  // MEMBER_ID_REQUIRED and the like are steps of the protocol, not failures.
  if (const auto error = response ? response_error(*response) : 0; error != 0)
    o->log(log_level::info, log_category::cgrp, request_name(request), " answered ",
           protocol::broker_error_code(error));
}

// Log, counters and hooks of what the member does: requests, assignments, revocations and
// coordinator changes.
void group_driver::observe(const group_action& action) {
  auto* o = cluster_->observer();
  if (!o) return;
  const auto report = [o](assignment_event::change what, const std::vector<topic_partition>& tps,
                          std::string_view verb) {
    o->log(log_level::info, log_category::cgrp, verb, " ", tps.size(),
           " partitions: ", describe(tps));
    if (const auto& hook = o->hooks().on_assignment) hook(assignment_event{what, tps});
  };
  if (const auto* send = std::get_if<send_request>(&action)) {
    if (o->enabled(log_level::debug, log_category::cgrp))
      o->log(log_level::debug, log_category::cgrp, "sending ", request_name(send->request),
             send->to_coordinator ? " to coordinator " + std::to_string(send->coordinator.node_id)
                                  : std::string(" to any broker"));
  } else if (const auto* revoke = std::get_if<revoke_partitions>(&action)) {
    for (const auto& tp : revoke->partitions) o->counters().forget_lag(tp.topic, tp.partition);
    report(assignment_event::change::revoked, revoke->partitions, "revoking");
  } else if (const auto* lose = std::get_if<lose_partitions>(&action)) {
    for (const auto& tp : lose->partitions) o->counters().forget_lag(tp.topic, tp.partition);
    report(assignment_event::change::lost, lose->partitions, "lost");
  } else if (const auto* assign = std::get_if<assign_partitions>(&action)) {
    o->counters().rebalances.add();
    o->log(log_level::info, log_category::cgrp, "assignment: ", assign->assignment.size(),
           " partitions, ", assign->added.size(), " new: ", describe(assign->added));
    if (const auto& hook = o->hooks().on_assignment)
      hook(assignment_event{assignment_event::change::assigned, assign->added});
  } else if (const auto* fatal = std::get_if<fatal_error>(&action)) {
    o->log(log_level::error, log_category::cgrp, "group membership failed: ", fatal->error, " (",
           fatal->message, ")");
  }
}

void group_driver::observe_coordinator() {
  const auto now_at = coordinator();
  if (now_at == coordinator_seen_) return;
  coordinator_seen_ = now_at;
  auto* o = cluster_->observer();
  if (!o) return;
  const auto& node = member_->coordinator();
  const std::string broker = node ? (node->host + ":" + std::to_string(node->port)) : std::string();
  if (now_at >= 0)
    o->log(log_level::info, log_category::cgrp, "group coordinator is node ", now_at, " (", broker,
           ")");
  else
    o->log(log_level::info, log_category::cgrp, "group coordinator lost; looking it up again");
  if (const auto& hook = o->hooks().on_coordinator) hook(coordinator_event{now_at, broker});
}

group_clock::time_point group_driver::run(group_clock::time_point now) {
  for (;;) {
    while (auto action = member_->next_action(now)) {
      observe(*action);
      act(now, *action);
    }
    observe_coordinator();
    const bool answered = answer_questions(now);
    const bool sent_or_failed = send_pending(now);
    if (!answered && !sent_or_failed) break;
  }
  auto next = member_->next_deadline();
  for (const auto& p : unsent_) next = std::min(next, p.deadline);
  return next;
}

void group_driver::act(group_clock::time_point now, group_action& action) {
  if (auto* send = std::get_if<send_request>(&action)) {
    // JoinGroup may wait for the whole rebalance; it may queue that long too.
    const bool join = std::holds_alternative<protocol::JoinGroupRequest>(send->request);
    unsent_.push_back({std::move(*send), now + (join ? join_timeout_ : request_timeout_)});
  } else if (auto* revoke = std::get_if<revoke_partitions>(&action)) {
    hooks_.release(std::move(revoke->partitions), false);
  } else if (auto* lose = std::get_if<lose_partitions>(&action)) {
    hooks_.release(std::move(lose->partitions), true);
  } else if (auto* assign = std::get_if<assign_partitions>(&action)) {
    hooks_.assigned(std::move(assign->added), std::move(assign->assignment));
    // A classic leader compares the metadata with what it assigned only once stable: the
    // metadata may have changed during the rebalance (a new topic's partitions appeared).
    member_->metadata_updated(known_counts_);
  } else if (auto* counts = std::get_if<need_partition_counts>(&action)) {
    for (const auto& topic : counts->topics) cluster_->want_topic(topic);
    counts_wanted_ = std::move(counts->topics);
  } else if (auto* names = std::get_if<need_topic_names>(&action)) {
    for (const auto& id : names->topic_ids)
      if (std::find(names_wanted_.begin(), names_wanted_.end(), id) == names_wanted_.end())
        names_wanted_.push_back(id);
    cluster_->request_refresh();
  } else if (auto* fatal = std::get_if<fatal_error>(&action)) {
    hooks_.failed(fatal->error, std::move(fatal->message));
  } else if (std::holds_alternative<group_closed>(action)) {
    unsent_.clear();
    hooks_.closed();
  }
}

bool group_driver::answer_questions(group_clock::time_point now) {
  bool answered = false;
  const auto& metadata = cluster_->metadata();
  if (counts_wanted_ && std::ranges::all_of(*counts_wanted_, [&](const std::string& t) {
        return metadata.topic(t);
      })) {
    // Every topic has an answer from the metadata (a count, or an error such as
    // UNKNOWN_TOPIC_OR_PARTITION: such topics are left out).
    counts_wanted_.reset();
    member_->partition_counts_ready(now, known_partition_counts());
    answered = true;
  }
  for (auto it = names_wanted_.begin(); it != names_wanted_.end();) {
    const auto known = std::ranges::find_if(
        metadata.topics, [&](const auto& entry) { return entry.second.topic_id == *it; });
    if (known == metadata.topics.end()) {
      ++it;
      continue;
    }
    member_->learn_topic_name(*it, known->first);
    it = names_wanted_.erase(it);
    answered = true;
  }
  return answered;
}

bool group_driver::send_pending(group_clock::time_point now) {
  bool member_input = false;
  for (auto it = unsent_.begin(); it != unsent_.end();) {
    if (it->deadline <= now) {
      const auto id = it->send.request_id;
      it = unsent_.erase(it);
      member_->on_request_failed(now, id, make_error_code(errc::request_timed_out));
      member_input = true;
      continue;
    }
    switch (try_send(now, *it)) {
      case send_outcome::waiting:
        ++it;
        break;
      case send_outcome::failed:
        member_input = true;
        [[fallthrough]];
      case send_outcome::sent:
        it = unsent_.erase(it);
        break;
    }
  }
  return member_input;
}

group_driver::send_outcome group_driver::try_send(group_clock::time_point now, pending_send& p) {
  std::shared_ptr<connection> conn;
  if (p.send.to_coordinator) {
    conn = cluster_->ready_connection(p.send.coordinator.node_id);
    if (!conn && !cluster_->metadata().broker(p.send.coordinator.node_id))
      cluster_->request_refresh();
  } else {
    conn = cluster_->any_ready_connection();
  }
  if (!conn) return send_outcome::waiting;
  const auto api_key = std::visit([](const auto& r) { return r.api_key; }, p.send.request);
  const auto version = conn->version_for(api_key);
  const auto id = p.send.request_id;
  if (!version) {
    member_->on_request_failed(now, id, make_error_code(errc::broker_too_old));
    return send_outcome::failed;
  }
  fit_to_version(p.send.request, *version);
  const bool join = std::holds_alternative<protocol::JoinGroupRequest>(p.send.request);
  std::weak_ptr<group_driver*> weak = self_;
  auto on_answer = [weak, id, request = p.send.request](std::error_code ec, response_frame frame) {
    auto self = weak.lock();
    if (!self) return;
    group_driver& driver = **self;
    const auto at = group_clock::now();
    group_response response;
    if (!ec) ec = decode_group_response(request, frame.api_version, frame.body, response);
    driver.log_answer(request, ec, ec ? nullptr : &response);
    if (ec)
      driver.member_->on_request_failed(at, id, ec);
    else
      driver.member_->on_response(at, id, response);
    driver.hooks_.wake();
  };
  std::visit(
      [&](const auto& request) {
        conn->send(request, *version, join ? join_timeout_ : request_timeout_,
                   std::move(on_answer));
      },
      p.send.request);
  return send_outcome::sent;
}

namespace {

// The ConsumerProtocol encodings at the newest version (an error leaves nothing useful in
// the bytes; only strings over 32767 bytes cause one).
template <class T, class Encode>
std::vector<std::uint8_t> encoded(const T& value, Encode encode) {
  std::vector<std::uint8_t> out;
  (void)encode(value, consumer_protocol_latest_version, out);
  return out;
}

template <class T, std::error_code (*Decode)(std::span<const std::uint8_t>, T&, std::int16_t*)>
std::optional<T> decoded(std::span<const std::uint8_t> bytes) {
  T out;
  if (Decode(bytes, out, nullptr)) return std::nullopt;
  return out;
}

}  // namespace

std::unique_ptr<group_member> make_group_member(const consumer_config& config) {
  group_member_options common;
  common.group_id = *config.group_id;
  common.group_instance_id = config.group_instance_id;
  common.rack_id = config.client_rack;
  common.max_poll_interval = config.max_poll_interval;
  common.backoff = {config.retry_backoff, config.retry_backoff_max};
  common.seed = static_cast<std::uint32_t>(std::random_device{}());
  if (config.group_protocol_type == group_protocol::consumer) {
    consumer_group_options options;
    static_cast<group_member_options&>(options) = std::move(common);
    options.remote_assignor = config.group_remote_assignor;
    return std::make_unique<consumer_group_heartbeat>(std::move(options));
  }
  classic_group_options options;
  static_cast<group_member_options&>(options) = std::move(common);
  options.session_timeout = config.session_timeout;
  options.heartbeat_interval = config.heartbeat_interval;
  for (const auto& name : config.partition_assignment_strategy)
    if (auto assignor = make_assignor(name)) options.assignors.push_back(std::move(assignor));
  options.codec.encode_subscription = [](const partition_assignor&,
                                         const member_subscription& self) {
    return encoded(self, encode_subscription);
  };
  options.codec.decode_subscription = decoded<member_subscription, decode_subscription>;
  options.codec.encode_assignment = [](const member_assignment& assignment) {
    return encoded(assignment, encode_assignment);
  };
  options.codec.decode_assignment = decoded<member_assignment, decode_assignment>;
  return std::make_unique<classic_group>(std::move(options));
}

}  // namespace kwire::client::detail
