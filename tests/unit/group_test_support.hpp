// Scripted driving of the sans-io group machines: collects their actions, pulls out the
// request or event a test expects next, and feeds responses back.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <optional>
#include <utility>

#include "group/group_common.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client::detail::testing {

template <class Machine>
class group_script {
 public:
  explicit group_script(Machine& machine) : machine_(machine) {}

  group_clock::time_point now = group_clock::time_point{} + std::chrono::hours(1);

  void advance(std::chrono::milliseconds by) { now += by; }
  // Moves the clock to the machine's next deadline (fails when it has none).
  void advance_to_deadline() {
    pump();
    const auto deadline = machine_.next_deadline();
    ASSERT_NE(deadline, group_clock::time_point::max());
    ASSERT_GE(deadline, now);
    now = deadline;
  }

  void pump() {
    while (auto action = machine_.next_action(now)) pending_.push_back(std::move(*action));
  }

  // The first queued request of type Request (test fails if there is none).
  template <class Request>
  std::pair<send_request, Request> take_request() {
    pump();
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      auto* send = std::get_if<send_request>(&*it);
      if (send && std::holds_alternative<Request>(send->request)) {
        send_request copy = *send;
        pending_.erase(it);
        return {copy, std::get<Request>(copy.request)};
      }
    }
    ADD_FAILURE() << "no " << Request::message_name << " queued; " << describe();
    return {};
  }

  template <class Request>
  bool has_request() {
    pump();
    for (const auto& action : pending_) {
      const auto* send = std::get_if<send_request>(&action);
      if (send && std::holds_alternative<Request>(send->request)) return true;
    }
    return false;
  }

  // The first queued action of type Event (test fails if there is none).
  template <class Event>
  Event take_event() {
    pump();
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (auto* event = std::get_if<Event>(&*it)) {
        Event copy = std::move(*event);
        pending_.erase(it);
        return copy;
      }
    }
    ADD_FAILURE() << "expected event missing; " << describe();
    return {};
  }

  template <class Event>
  bool has_event() {
    pump();
    for (const auto& action : pending_)
      if (std::holds_alternative<Event>(action)) return true;
    return false;
  }

  bool idle() {
    pump();
    return pending_.empty();
  }

  template <class Response>
  void respond(const send_request& request, Response response) {
    machine_.on_response(now, request.request_id, group_response{std::move(response)});
  }

  // Answers the pending FindCoordinator with node `node_id`.
  void find_coordinator(std::int32_t node_id) {
    auto [send, request] = take_request<protocol::FindCoordinatorRequest>();
    EXPECT_FALSE(send.to_coordinator);
    EXPECT_EQ(request.key_type, 0);
    protocol::FindCoordinatorResponse response;
    protocol::FindCoordinatorResponse::Coordinator c;
    c.key = request.coordinator_keys.empty() ? request.key : request.coordinator_keys.front();
    c.node_id = node_id;
    c.host = "broker" + std::to_string(node_id);
    c.port = 9092;
    response.coordinators.push_back(c);
    respond(send, response);
  }

  std::string describe() const {
    std::string text = "pending action indices:";
    for (const auto& action : pending_) {
      text += ' ' + std::to_string(action.index());
      if (const auto* send = std::get_if<send_request>(&action))
        text += "(request " + std::to_string(send->request.index()) + ")";
    }
    return text;
  }

 private:
  Machine& machine_;
  std::deque<group_action> pending_;
};

// A test fixture owning one machine (built by make()) and its script.
template <class Machine>
class group_fixture : public ::testing::Test {
 protected:
  template <class Options>
  void make(Options options) {
    machine_.emplace(std::move(options));
    script_.emplace(*machine_);
  }
  Machine& machine() { return *machine_; }
  group_script<Machine>& s() { return *script_; }

 private:
  std::optional<Machine> machine_;
  std::optional<group_script<Machine>> script_;
};

// A broker error as the int16 a response carries.
constexpr std::int16_t code(protocol::broker_error e) { return static_cast<std::int16_t>(e); }

// A topic id that differs from others by its last byte.
inline protocol::uuid test_topic_id(std::uint8_t n) {
  protocol::uuid id;
  id.bytes[15] = n;
  return id;
}

inline std::vector<topic_partition> tps(std::initializer_list<topic_partition> list) {
  return std::vector<topic_partition>(list);
}

}  // namespace kwire::client::detail::testing
