// The coordinator's timing, with time passed in: interval, min pause, max concurrent,
// timeout, subsumption; the pending transactions of a failed checkpoint carried into the
// next one; the fixed-delay restart strategy.
#include "kwire/connector/checkpoint_coordinator.hpp"

#include <gtest/gtest.h>

#include "kwire/connector/pending_transactions.hpp"
#include "kwire/connector/restart_strategy.hpp"

namespace kc = kwire::connector;
using namespace std::chrono_literals;
using kind = kc::coordinator_action::kind;

namespace {

const kc::steady_time t0{};

kc::steady_time at(std::chrono::milliseconds ms) { return t0 + ms; }

kc::coordinator_action trigger(kc::checkpoint_id id) { return {kind::trigger, id, {}}; }
kc::coordinator_action finalize(kc::checkpoint_id id) { return {kind::finalize, id, {}}; }
kc::coordinator_action complete(kc::checkpoint_id id) { return {kind::notify_complete, id, {}}; }
kc::coordinator_action aborted(kc::checkpoint_id id, kc::abort_reason why) {
  return {kind::notify_aborted, id, why};
}
using actions = std::vector<kc::coordinator_action>;

// Stores every part of `id` and confirms its completion record at `when`.
actions complete_all(kc::checkpoint_coordinator& c, kc::checkpoint_id id, std::int32_t subtasks,
                     kc::steady_time when) {
  actions out;
  for (std::int32_t s = 0; s < subtasks; ++s) {
    auto more = c.part_stored(id, s, when);
    out.insert(out.end(), more.begin(), more.end());
  }
  auto more = c.finalized(id, true, when);
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

TEST(checkpoint_coordinator, triggers_every_interval_and_completes_when_every_part_is_stored) {
  kc::checkpoint_coordinator c({.interval = 100ms}, 2, 1, t0);
  EXPECT_EQ(c.next_deadline(), at(100ms));
  EXPECT_EQ(c.advance(at(99ms)), actions{});
  EXPECT_EQ(c.advance(at(100ms)), actions{trigger(1)});
  EXPECT_EQ(c.part_stored(1, 0, at(110ms)), actions{});
  EXPECT_EQ(c.part_stored(1, 0, at(111ms)), actions{});  // the same part again
  EXPECT_EQ(c.part_stored(1, 1, at(120ms)), actions{finalize(1)});
  EXPECT_EQ(c.finalized(1, true, at(130ms)), actions{complete(1)});
  EXPECT_EQ(c.last_completed(), 1);
  EXPECT_EQ(c.next_deadline(), at(200ms));
  EXPECT_EQ(c.advance(at(200ms)), actions{trigger(2)});
}

TEST(checkpoint_coordinator, ids_go_on_from_the_restore_point) {
  kc::checkpoint_coordinator c({.interval = 10ms}, 1, 43, t0);
  EXPECT_EQ(c.advance(at(10ms)), actions{trigger(43)});
}

TEST(checkpoint_coordinator, max_concurrent_one_waits_for_the_checkpoint_in_progress) {
  kc::checkpoint_coordinator c({.interval = 100ms, .max_concurrent = 1}, 1, 1, t0);
  EXPECT_EQ(c.advance(at(100ms)), actions{trigger(1)});
  EXPECT_EQ(c.advance(at(200ms)), actions{});
  EXPECT_EQ(c.advance(at(300ms)), actions{});  // missed triggers are not caught up
  EXPECT_EQ(complete_all(c, 1, 1, at(350ms)), (actions{finalize(1), complete(1)}));
  EXPECT_EQ(c.next_deadline(), at(200ms));  // overdue: at once
  EXPECT_EQ(c.advance(at(350ms)), actions{trigger(2)});
  EXPECT_EQ(c.next_deadline(), at(350ms) + 600000ms);  // only 2's timeout while it runs
  complete_all(c, 2, 1, at(360ms));
  EXPECT_EQ(c.next_deadline(), at(450ms));
}

TEST(checkpoint_coordinator, a_later_completion_subsumes_earlier_checkpoints) {
  kc::checkpoint_coordinator c({.interval = 100ms, .max_concurrent = 2}, 1, 1, t0);
  EXPECT_EQ(c.advance(at(100ms)), actions{trigger(1)});
  EXPECT_EQ(c.advance(at(200ms)), actions{trigger(2)});
  EXPECT_EQ(c.advance(at(300ms)), actions{});  // two in progress
  EXPECT_EQ(c.in_progress(), 2u);
  EXPECT_EQ(complete_all(c, 2, 1, at(310ms)),
            (actions{finalize(2), aborted(1, kc::abort_reason::subsumed), complete(2)}));
  EXPECT_EQ(c.part_stored(1, 0, at(320ms)), actions{});  // 1 is over
  EXPECT_EQ(c.in_progress(), 0u);
}

TEST(checkpoint_coordinator, min_pause_counts_from_the_end_of_the_previous_checkpoint) {
  kc::checkpoint_coordinator c({.interval = 100ms, .max_concurrent = 3, .min_pause = 80ms}, 1, 1,
                               t0);
  EXPECT_EQ(c.advance(at(100ms)), actions{trigger(1)});
  // A min pause means one checkpoint at a time, whatever max_concurrent says.
  EXPECT_EQ(c.advance(at(200ms)), actions{});
  complete_all(c, 1, 1, at(150ms));
  EXPECT_EQ(c.next_deadline(), at(230ms));
  EXPECT_EQ(c.advance(at(229ms)), actions{});
  EXPECT_EQ(c.advance(at(230ms)), actions{trigger(2)});
  // A quick checkpoint: the interval, not the pause, decides.
  complete_all(c, 2, 1, at(240ms));
  EXPECT_EQ(c.next_deadline(), at(330ms));
}

TEST(checkpoint_coordinator, timeout_aborts_and_late_parts_are_ignored) {
  kc::checkpoint_coordinator c({.interval = 100ms, .timeout = 50ms}, 2, 1, t0);
  EXPECT_EQ(c.advance(at(100ms)), actions{trigger(1)});
  EXPECT_EQ(c.part_stored(1, 0, at(120ms)), actions{});
  EXPECT_EQ(c.next_deadline(), at(150ms));
  EXPECT_EQ(c.advance(at(149ms)), actions{});
  EXPECT_EQ(c.advance(at(150ms)), actions{aborted(1, kc::abort_reason::expired)});
  EXPECT_EQ(c.part_stored(1, 1, at(160ms)), actions{});
  EXPECT_EQ(c.finalized(1, true, at(160ms)), actions{});
  EXPECT_EQ(c.last_completed(), 0);
  EXPECT_EQ(c.advance(at(200ms)), actions{trigger(2)});
}

TEST(checkpoint_coordinator, a_failed_part_or_completion_record_aborts) {
  kc::checkpoint_coordinator c({.interval = 100ms}, 2, 1, t0);
  c.advance(at(100ms));
  EXPECT_EQ(c.part_failed(1, 1, at(110ms)), actions{aborted(1, kc::abort_reason::part_failed)});
  c.advance(at(200ms));
  c.part_stored(2, 0, at(210ms));
  EXPECT_EQ(c.part_stored(2, 1, at(210ms)), actions{finalize(2)});
  // Once finalizing, the timeout no longer applies: the store's answer decides (and with
  // max_concurrent 1 no trigger is due meanwhile).
  EXPECT_EQ(c.next_deadline(), kc::steady_time::max());
  EXPECT_EQ(c.finalized(2, false, at(220ms)), actions{aborted(2, kc::abort_reason::store_failed)});
}

TEST(checkpoint_coordinator, timing_problems_are_named) {
  EXPECT_FALSE(kc::timing_problem({}));
  EXPECT_TRUE(kc::timing_problem({.interval = 0ms}));
  EXPECT_TRUE(kc::timing_problem({.timeout = 0ms}));
  EXPECT_TRUE(kc::timing_problem({.max_concurrent = 0}));
  const auto problem = kc::timing_problem({.min_pause = -1ms});
  ASSERT_TRUE(problem);
  EXPECT_NE(problem->find("min pause"), std::string::npos);
}

// A failed checkpoint's transaction stays pending, is stored again with the next checkpoint
// and committed when that one completes.
TEST(pending_transactions, a_failed_checkpoint_carries_over_to_the_next) {
  kc::checkpoint_coordinator c({.interval = 100ms, .timeout = 50ms}, 1, 1, t0);
  kc::pending_transactions sink;
  std::vector<kc::pending_transaction> committed;
  auto run = [&](const actions& due) {
    for (const auto& a : due) {
      if (a.what == kind::trigger) sink.add(a.id, "tx-" + std::to_string(a.id));
      if (a.what == kind::notify_complete) {
        auto now = sink.take_committable(a.id);
        committed.insert(committed.end(), now.begin(), now.end());
      }
    }
  };
  run(c.advance(at(100ms)));
  run(c.advance(at(150ms)));  // 1 expired: aborted, tx-1 not aborted
  EXPECT_TRUE(committed.empty());
  run(c.advance(at(200ms)));
  ASSERT_EQ(sink.pending().size(), 2u);  // what checkpoint 2 stores: tx-1 and tx-2
  run(complete_all(c, 2, 1, at(210ms)));
  EXPECT_EQ(committed, (std::vector<kc::pending_transaction>{{1, "tx-1"}, {2, "tx-2"}}));
  EXPECT_TRUE(sink.pending().empty());

  sink.restore(std::vector<kc::pending_transaction>{{5, "b"}, {4, "a"}});
  EXPECT_EQ(sink.take_committable(4), (std::vector<kc::pending_transaction>{{4, "a"}}));
  EXPECT_EQ(sink.pending().size(), 1u);
}

TEST(fixed_delay_restart, restarts_up_to_the_attempts_then_gives_up) {
  kc::fixed_delay_restart restarts(2, 1500ms);
  auto d = restarts.on_failure();
  EXPECT_TRUE(d.restart);
  EXPECT_EQ(d.delay, 1500ms);
  EXPECT_EQ(d.attempt, 1);
  EXPECT_TRUE(restarts.on_failure().restart);
  d = restarts.on_failure();
  EXPECT_FALSE(d.restart);
  EXPECT_EQ(d.attempt, 2);
  EXPECT_EQ(restarts.describe_exhausted("deserializer failed at in/0@17"),
            "giving up after 2 restarts (the fixed-delay strategy allows 2): deserializer failed "
            "at in/0@17");
  EXPECT_FALSE(kc::fixed_delay_restart(0, 0ms).on_failure().restart);
  EXPECT_TRUE(kc::restart_problem(-1, 0ms));
  EXPECT_FALSE(kc::restart_problem(3, 10ms));
}

}  // namespace
