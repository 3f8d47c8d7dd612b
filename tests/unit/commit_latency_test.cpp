// Source-to-commit latency: the histogram's quantiles and the tracker's assignment of polls to
// the checkpoint that commits them (a failed checkpoint's records commit with the next one).
#include "kwire/connector/commit_latency.hpp"

#include <gtest/gtest.h>

namespace kc = kwire::connector;
using namespace std::chrono_literals;

namespace {

const kc::steady_time t0{};

TEST(LatencyHistogram, QuantilesAreWithinThreePercentAndNeverAboveTheMaximum) {
  kc::latency_histogram h;
  for (int ms = 1; ms <= 1000; ++ms) h.add(std::chrono::milliseconds(ms), 1);
  EXPECT_EQ(h.count(), 1000);
  EXPECT_EQ(h.max(), 1000ms);
  const auto p50 = h.quantile(0.50);
  EXPECT_GE(p50, 500ms);
  EXPECT_LE(p50, 515ms);
  const auto p99 = h.quantile(0.99);
  EXPECT_GE(p99, 990ms);
  EXPECT_LE(p99, 1000ms);
  EXPECT_EQ(h.quantile(1.0), 1000ms);
}

TEST(LatencyHistogram, SmallValuesAreExactAndCountsWeigh) {
  kc::latency_histogram h;
  h.add(7us, 99);
  h.add(40us, 1);
  EXPECT_EQ(h.quantile(0.5), 7us);
  EXPECT_EQ(h.quantile(0.99), 7us);
  EXPECT_EQ(h.quantile(1.0), 40us);
  EXPECT_EQ(kc::latency_histogram().quantile(0.99), 0us);
}

TEST(LatencyHistogram, MergeAddsCounts) {
  kc::latency_histogram a, b;
  a.add(10ms, 3);
  b.add(2s, 1);
  a.merge(b);
  EXPECT_EQ(a.count(), 4);
  EXPECT_EQ(a.max(), 2s);
  EXPECT_LE(a.quantile(0.75), 10ms + 310us);
}

TEST(CommitLatencyTracker, RecordsCountFromTheirPollToTheCompletionOfTheirCheckpoint) {
  kc::commit_latency_tracker t;
  t.polled(t0, 10);
  t.polled(t0 + 100ms, 10);
  t.triggered(1);
  t.polled(t0 + 200ms, 5);  // after the trigger: checkpoint 2's
  t.completed(1, t0 + 1000ms);
  EXPECT_EQ(t.histogram().count(), 20);
  EXPECT_LE(t.histogram().max(), 1000ms);
  EXPECT_GE(t.histogram().quantile(0.5), 900ms);
  EXPECT_LT(t.histogram().quantile(0.5), 1000ms);
  t.triggered(2);
  t.completed(2, t0 + 2200ms);
  EXPECT_EQ(t.histogram().count(), 25);
  EXPECT_EQ(t.histogram().max(), 2000ms);
}

TEST(CommitLatencyTracker, AFailedCheckpointsRecordsCommitWithTheNextCompletedOne) {
  kc::commit_latency_tracker t;
  t.polled(t0, 4);
  t.triggered(1);  // fails: never completed
  t.polled(t0 + 1s, 6);
  t.triggered(2);
  t.completed(2, t0 + 3s);
  EXPECT_EQ(t.histogram().count(), 10);
  EXPECT_EQ(t.histogram().max(), 3s);
  EXPECT_GE(t.histogram().quantile(0.5), 2s);  // the 6 of checkpoint 2 waited 2 s
  EXPECT_LE(t.histogram().quantile(0.5), 2s + 63ms);
  t.completed(3, t0 + 4s);  // nothing pending: nothing added
  EXPECT_EQ(t.histogram().count(), 10);
}

TEST(CommitLatencyTracker, NothingCountsBeforeACompletion) {
  kc::commit_latency_tracker t;
  t.polled(t0, 3);
  t.triggered(1);
  EXPECT_EQ(t.histogram().count(), 0);
}

}  // namespace
