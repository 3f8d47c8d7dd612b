// The one FindCoordinator state machine (groups, the consumer's offsets, admin, and
// transactions next), with no broker: request shapes per version, answers per key, backoff
// after retriable errors, fatal errors, and a moved coordinator.
#include "core/coordinator_lookup.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kwire/protocol/errors.hpp"

namespace kc = kwire::client::detail;
namespace kp = kwire::protocol;
using namespace std::chrono_literals;

namespace {

kp::FindCoordinatorResponse answer_v4(const std::string& key, std::int16_t error,
                                      std::int32_t node) {
  kp::FindCoordinatorResponse response;
  auto& c = response.coordinators.emplace_back();
  c.key = key;
  c.error_code = error;
  c.node_id = node;
  c.host = "127.0.0.1";
  c.port = 9092 + node;
  return response;
}

constexpr auto not_available =
    static_cast<std::int16_t>(kp::broker_error::coordinator_not_available);
constexpr auto denied = static_cast<std::int16_t>(kp::broker_error::group_authorization_failed);

TEST(CoordinatorLookup, RequestsCarryEveryKeyFromV4AndOneKeyBefore) {
  const std::vector<std::string> keys{"a", "b"};
  auto request = kc::find_coordinator_request(kc::coordinator_type::transaction, keys);
  EXPECT_EQ(request.key_type, 1);
  EXPECT_EQ(request.coordinator_keys, keys);
  kc::fit_to_version(request, 4);
  EXPECT_EQ(request.coordinator_keys, keys);
  kc::fit_to_version(request, 3);
  EXPECT_EQ(request.key, "a");
  EXPECT_TRUE(request.coordinator_keys.empty());
}

TEST(CoordinatorLookup, AnswersArePerKeyFromV4AndTheTopLevelFieldsBefore) {
  kp::FindCoordinatorResponse v3;
  v3.node_id = 2;
  v3.host = "h";
  v3.port = 1;
  const std::vector<std::string> asked{"g"};
  auto answers = kc::coordinator_answers(v3, asked);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].key, "g");
  EXPECT_EQ(answers[0].node, (kc::coordinator_node{2, "h", 1}));

  auto v4 = answer_v4("x", 0, 3);
  v4.coordinators.push_back(answer_v4("y", denied, -1).coordinators[0]);
  const std::vector<std::string> both{"x", "y"};
  answers = kc::coordinator_answers(v4, both);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].key, "y");
  EXPECT_EQ(answers[1].error_code, denied);
}

TEST(CoordinatorLookup, FindsTheNodeAndAsksNothingMoreUntilItMoves) {
  kc::coordinator_lookup lookup(kc::coordinator_type::group, "g", {100ms, 1000ms}, 1);
  const auto t0 = kc::coordinator_lookup::clock::now();
  auto request = lookup.request_due(t0);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->coordinator_keys, std::vector<std::string>{"g"});
  EXPECT_FALSE(lookup.request_due(t0)) << "one lookup at a time";
  std::string message;
  EXPECT_FALSE(lookup.handle_response(t0, answer_v4("g", 0, 5), message));
  ASSERT_TRUE(lookup.known());
  EXPECT_EQ(lookup.node()->node_id, 5);
  EXPECT_FALSE(lookup.request_due(t0));
  lookup.mark_unknown();  // NOT_COORDINATOR: asked again at once
  EXPECT_TRUE(lookup.request_due(t0));
}

TEST(CoordinatorLookup, RetriableErrorsAndLostAnswersBackOffExponentially) {
  kc::coordinator_lookup lookup(kc::coordinator_type::group, "g", {100ms, 1000ms}, 1);
  auto now = kc::coordinator_lookup::clock::now();
  ASSERT_TRUE(lookup.request_due(now));
  std::string message;
  EXPECT_FALSE(lookup.handle_response(now, answer_v4("g", not_available, -1), message));
  EXPECT_FALSE(lookup.known());
  EXPECT_FALSE(lookup.request_due(now + 50ms));  // 100 ms +-20%
  EXPECT_TRUE(lookup.request_due(now + 130ms));
  now += 130ms;
  lookup.handle_failure(now);  // second failure: 200 ms +-20%
  EXPECT_FALSE(lookup.request_due(now + 150ms));
  EXPECT_EQ(lookup.deadline() > now + 150ms, true);
  EXPECT_TRUE(lookup.request_due(now + 250ms));
}

TEST(CoordinatorLookup, AFatalErrorIsReturnedWithTheBrokersWords) {
  kc::coordinator_lookup lookup(kc::coordinator_type::group, "g", {100ms, 1000ms}, 1);
  const auto now = kc::coordinator_lookup::clock::now();
  ASSERT_TRUE(lookup.request_due(now));
  auto response = answer_v4("g", denied, -1);
  response.coordinators[0].error_message = "not yours";
  std::string message;
  const auto ec = lookup.handle_response(now, response, message);
  EXPECT_EQ(ec, kp::make_error_code(kp::broker_error::group_authorization_failed));
  EXPECT_EQ(message, "FindCoordinator: GROUP_AUTHORIZATION_FAILED (not yours)");
}

TEST(CoordinatorLookup, AnAnswerForAnotherKeyIsNotTaken) {
  kc::coordinator_lookup lookup(kc::coordinator_type::group, "g", {100ms, 1000ms}, 1);
  const auto now = kc::coordinator_lookup::clock::now();
  ASSERT_TRUE(lookup.request_due(now));
  std::string message;
  EXPECT_FALSE(lookup.handle_response(now, answer_v4("other", 0, 1), message));
  EXPECT_FALSE(lookup.known());
}

}  // namespace
