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

TEST_F(CompletionWait, AsksAtOnceThenEveryMillisecondWhileTheCoordinatorPrepares) {
  EXPECT_FALSE(wait.holding());
  EXPECT_FALSE(wait.next(t0).ask);
  wait.start(t0);
  ASSERT_TRUE(wait.holding());
  EXPECT_TRUE(wait.next(t0).ask);
  wait.on_answer(t0, {}, "PrepareCommit");
  const auto step = wait.next(t0);
  EXPECT_FALSE(step.ask);
  EXPECT_EQ(step.at, t0 + 1ms);
  EXPECT_TRUE(wait.next(t0 + 1ms).ask);
  wait.on_answer(t0 + 1ms, {}, "CompleteCommit");
  EXPECT_FALSE(wait.holding());
  EXPECT_FALSE(wait.next(t0 + 1ms).ask);
}

TEST_F(CompletionWait, AsksLessOftenAsTheMarkersTakeLonger) {
  wait.start(t0);
  auto now = t0;
  std::vector<std::chrono::milliseconds> pauses;
  for (int i = 0; i < 9; ++i) {
    ASSERT_TRUE(wait.next(now).ask);
    wait.on_answer(now, {}, "PrepareAbort");
    const auto at = wait.next(now).at;
    pauses.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(at - now));
    now = at;
  }
  const std::vector<std::chrono::milliseconds> expected{1ms, 1ms, 1ms,  1ms, 2ms,
                                                        4ms, 8ms, 16ms, 16ms};
  EXPECT_EQ(pauses, expected);
}

TEST_F(CompletionWait, EndsAfterTheLongestHold) {
  wait.start(t0);
  wait.on_answer(t0, {}, "PrepareCommit");
  EXPECT_TRUE(wait.holding());
  const auto limit = t0 + kd::completion_wait::max_hold;
  EXPECT_TRUE(wait.next(limit - 1ms).ask);
  wait.on_answer(limit - 1ms, {}, "PrepareCommit");
  EXPECT_EQ(wait.next(limit - 1ms).at, limit);  // never later than the limit
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
