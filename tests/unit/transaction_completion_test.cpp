// The wait for the coordinator to finish the previous transaction (protocol v2) before the
// next one's first Produce: when it asks, how often, and what ends it.
#include "producer/transaction_completion.hpp"

#include <gtest/gtest.h>

#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using namespace std::chrono_literals;

namespace {

class CompletionWait : public ::testing::Test {
 protected:
  kd::completion_wait wait;
  kd::completion_wait::clock::time_point t0 = kd::completion_wait::clock::now();
};

TEST_F(CompletionWait, AsksSoonAfterEndTxnThenEveryHalfMillisecondWhileTheCoordinatorPrepares) {
  EXPECT_FALSE(wait.holding());
  EXPECT_FALSE(wait.next(t0).ask);
  wait.start(t0);
  ASSERT_TRUE(wait.holding());
  EXPECT_FALSE(wait.next(t0).ask);
  EXPECT_EQ(wait.next(t0).at, t0 + 500us);
  const auto t1 = t0 + 500us;
  EXPECT_TRUE(wait.next(t1).ask);
  wait.on_answer(t1, {}, "PrepareCommit");
  EXPECT_FALSE(wait.next(t1).ask);
  EXPECT_EQ(wait.next(t1).at, t1 + 500us);
  EXPECT_TRUE(wait.next(t1 + 500us).ask);
  wait.on_answer(t1 + 500us, {}, "CompleteCommit");
  EXPECT_FALSE(wait.holding());
  EXPECT_FALSE(wait.next(t1 + 1ms).ask);
}

TEST_F(CompletionWait, AsksLessOftenAsTheMarkersTakeLonger) {
  wait.start(t0);
  auto now = wait.next(t0).at;
  std::vector<std::chrono::microseconds> pauses;
  for (int i = 0; i < 14; ++i) {
    ASSERT_TRUE(wait.next(now).ask);
    wait.on_answer(now, {}, "PrepareAbort");
    const auto at = wait.next(now).at;
    pauses.push_back(std::chrono::duration_cast<std::chrono::microseconds>(at - now));
    now = at;
  }
  std::vector<std::chrono::microseconds> expected(8, 500us);
  for (auto p : {1ms, 2ms, 4ms, 8ms, 16ms, 16ms}) expected.push_back(p);
  EXPECT_EQ(pauses, expected);
}

TEST_F(CompletionWait, EndsAfterTheLongestHold) {
  wait.start(t0);
  wait.on_answer(t0, {}, "PrepareCommit");
  EXPECT_TRUE(wait.holding());
  const auto limit = t0 + kd::completion_wait::max_hold;
  EXPECT_TRUE(wait.next(limit - 200us).ask);
  wait.on_answer(limit - 200us, {}, "PrepareCommit");
  EXPECT_EQ(wait.next(limit - 200us).at, limit);  // never later than the limit
  EXPECT_FALSE(wait.next(limit).ask);
  EXPECT_FALSE(wait.holding());
}

TEST_F(CompletionWait, AnyOtherStateOrAnErrorEndsTheHold) {
  for (const char* s : {"CompleteCommit", "CompleteAbort", "Empty", "Ongoing", "Dead"}) {
    wait.start(t0);
    wait.on_answer(t0, {}, s);
    EXPECT_FALSE(wait.holding()) << s;
  }
  for (auto e : {kp::make_error_code(kp::broker_error::not_coordinator),
                 kp::make_error_code(kp::broker_error::coordinator_load_in_progress),
                 kp::make_error_code(kp::broker_error::transactional_id_not_found),
                 kc::make_error_code(kc::errc::request_timed_out)}) {
    wait.start(t0);
    wait.on_answer(t0, e, "PrepareCommit");
    EXPECT_FALSE(wait.holding()) << e;
    EXPECT_TRUE(wait.usable()) << e;  // the next transaction waits again
  }
  wait.start(t0);
  wait.stop();
  EXPECT_FALSE(wait.holding());
  wait.on_answer(t0, {}, "PrepareCommit");  // a late answer changes nothing
  EXPECT_FALSE(wait.holding());
}

TEST_F(CompletionWait, ACoordinatorThatCannotAnswerIsNeverAskedAgain) {
  for (auto e : {kp::broker_error::transactional_id_authorization_failed,
                 kp::broker_error::unsupported_version}) {
    kd::completion_wait w;
    w.start(t0);
    w.on_answer(t0, kp::make_error_code(e), "");
    EXPECT_FALSE(w.holding());
    EXPECT_FALSE(w.usable());
    w.start(t0 + 1s);
    EXPECT_FALSE(w.holding());
  }
  wait.give_up_for_good();
  wait.start(t0);
  EXPECT_FALSE(wait.holding());
}

}  // namespace
