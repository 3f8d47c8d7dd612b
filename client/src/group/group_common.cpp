#include "group/group_common.hpp"

#include <algorithm>
#include <iterator>

#include "core/backoff.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {

namespace {

template <class Response>
std::error_code decode_as(std::int16_t version, std::span<const std::uint8_t> body,
                          group_response& out) {
  Response response;
  if (auto ec = response.decode(body, version)) return ec;
  out = std::move(response);
  return {};
}

}  // namespace

void fit_to_version(group_request& request, std::int16_t version) {
  if (auto* find = std::get_if<protocol::FindCoordinatorRequest>(&request)) {
    fit_to_version(*find, version);
  } else if (auto* leave = std::get_if<protocol::LeaveGroupRequest>(&request)) {
    if (version < 3 && !leave->members.empty()) {
      leave->member_id = leave->members.front().member_id;
      leave->members.clear();
    }
  }
}

std::error_code decode_group_response(const group_request& request, std::int16_t version,
                                      std::span<const std::uint8_t> body, group_response& out) {
  // The response alternative has the request's index in the two variants.
  switch (request.index()) {
    case 0:
      return decode_as<protocol::FindCoordinatorResponse>(version, body, out);
    case 1:
      return decode_as<protocol::JoinGroupResponse>(version, body, out);
    case 2:
      return decode_as<protocol::SyncGroupResponse>(version, body, out);
    case 3:
      return decode_as<protocol::HeartbeatResponse>(version, body, out);
    case 4:
      return decode_as<protocol::LeaveGroupResponse>(version, body, out);
    default:
      return decode_as<protocol::ConsumerGroupHeartbeatResponse>(version, body, out);
  }
}

std::uint64_t group_outbox::send(const coordinator_lookup& lookup, bool to_coordinator,
                                 group_request request) {
  const std::uint64_t id = next_request_id_++;
  send_request out{id, to_coordinator, {}, std::move(request)};
  if (to_coordinator && lookup.node()) out.coordinator = *lookup.node();
  actions_.emplace_back(std::move(out));
  return id;
}

std::optional<group_action> group_outbox::pop() {
  if (actions_.empty()) return std::nullopt;
  group_action action = std::move(actions_.front());
  actions_.pop_front();
  return action;
}

void group_outbox::begin_callback(bool lost, std::vector<topic_partition> partitions) {
  awaiting_callback_ = true;
  callback_removes_ = partitions;
  if (lost)
    actions_.emplace_back(lose_partitions{std::move(partitions)});
  else
    actions_.emplace_back(revoke_partitions{std::move(partitions)});
}

bool group_outbox::finish_callback(std::vector<topic_partition>& owned) {
  if (!awaiting_callback_) return false;
  awaiting_callback_ = false;
  owned = partitions_minus(owned, callback_removes_);
  callback_removes_.clear();
  return true;
}

std::optional<group_action> group_member::next_action(group_clock::time_point now) {
  if (outbox_.empty()) step(now);
  return outbox_.pop();
}

void group_member::send_lookup_if_due(group_clock::time_point now) {
  if (lookup_.known()) return;
  if (auto request = lookup_.request_due(now)) lookup_id_ = send(false, std::move(*request));
}

bool group_member::lookup_answered(group_clock::time_point now, std::uint64_t request_id,
                                   const group_response& response) {
  if (request_id == 0 || request_id != lookup_id_) return false;
  lookup_id_ = 0;
  if (const auto* found = std::get_if<protocol::FindCoordinatorResponse>(&response)) {
    std::string message;
    if (auto ec = lookup_.handle_response(now, *found, message)) fail(ec, std::move(message));
  }
  return true;
}

bool group_member::lookup_failed(group_clock::time_point now, std::uint64_t request_id) {
  if (request_id == 0 || request_id != lookup_id_) return false;
  lookup_id_ = 0;
  lookup_.handle_failure(now);
  return true;
}

void sort_partitions(std::vector<topic_partition>& partitions) {
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
}

std::vector<topic_partition> partitions_minus(const std::vector<topic_partition>& from,
                                              const std::vector<topic_partition>& remove) {
  std::vector<topic_partition> out;
  std::set_difference(from.begin(), from.end(), remove.begin(), remove.end(),
                      std::back_inserter(out));
  return out;
}

}  // namespace kwire::client::detail
