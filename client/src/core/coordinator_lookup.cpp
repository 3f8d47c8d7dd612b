#include "core/coordinator_lookup.hpp"

#include "core/backoff.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {

protocol::FindCoordinatorRequest find_coordinator_request(coordinator_type type,
                                                          std::span<const std::string> keys) {
  protocol::FindCoordinatorRequest request;
  request.key_type = static_cast<std::int8_t>(type);
  request.coordinator_keys.assign(keys.begin(), keys.end());
  return request;
}

void fit_to_version(protocol::FindCoordinatorRequest& request, std::int16_t version) {
  if (version < 4 && !request.coordinator_keys.empty()) {
    request.key = request.coordinator_keys.front();
    request.coordinator_keys.clear();
  }
}

std::vector<coordinator_answer> coordinator_answers(
    const protocol::FindCoordinatorResponse& response, std::span<const std::string> keys) {
  std::vector<coordinator_answer> answers;
  if (!response.coordinators.empty()) {  // v4+
    for (const auto& c : response.coordinators)
      answers.push_back({c.key, c.error_code, c.error_message, {c.node_id, c.host, c.port}});
  } else if (!keys.empty()) {
    answers.push_back({keys.front(),
                       response.error_code,
                       response.error_message,
                       {response.node_id, response.host, response.port}});
  }
  return answers;
}

std::string describe_broker_error(std::string_view api, std::int16_t error_code,
                                  const std::optional<std::string>& server_message) {
  std::string text(api);
  text += ": ";
  text += protocol::broker_error_name(error_code);
  if (server_message && !server_message->empty()) {
    text += " (";
    text += *server_message;
    text += ')';
  }
  return text;
}

std::optional<protocol::FindCoordinatorRequest> coordinator_lookup::request_due(
    clock::time_point now) {
  if (node_ || in_flight_ || now < retry_at_) return std::nullopt;
  in_flight_ = true;
  return find_coordinator_request(type_, std::span(&key_, 1));
}

coordinator_lookup::clock::time_point coordinator_lookup::deadline() const noexcept {
  if (node_ || in_flight_) return clock::time_point::max();
  return retry_at_;
}

std::error_code coordinator_lookup::handle_response(
    clock::time_point now, const protocol::FindCoordinatorResponse& response,
    std::string& message) {
  in_flight_ = false;
  const auto answers = coordinator_answers(response, std::span(&key_, 1));
  const coordinator_answer* mine = nullptr;
  for (const auto& a : answers)
    if (a.key == key_) mine = &a;
  if (mine == nullptr) {  // the broker answered another question
    fail(now);
    return {};
  }
  if (mine->error_code == 0 && mine->node.node_id >= 0) {
    node_ = mine->node;
    failures_ = 0;
    return {};
  }
  const std::error_code ec = protocol::broker_error_code(mine->error_code);
  if (mine->error_code == 0 || protocol::is_retriable(ec)) {
    fail(now);
    return {};
  }
  message = describe_broker_error("FindCoordinator", mine->error_code, mine->error_message);
  return ec;
}

void coordinator_lookup::handle_failure(clock::time_point now) {
  in_flight_ = false;
  fail(now);
}

void coordinator_lookup::fail(clock::time_point now) {
  ++failures_;
  retry_at_ = now + jittered_backoff(backoff_.retry_backoff, backoff_.retry_backoff_max, failures_,
                                     random_);
}

}  // namespace kwire::client::detail
