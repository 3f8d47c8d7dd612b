// The connector's Kafka sink against the real broker, checked by what the broker holds (kcat,
// the peer client, reads the topic back): exactly once commits a checkpoint's transaction
// only when the checkpoint completes; a prepared transaction left by a crash is committed by
// the restore, once; an open one is aborted by the sweep; a failed checkpoint's transaction
// is committed with the next; the pool of transactional ids runs out with a typed error.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "broker_session.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/job_manifest.hpp"
#include "kwire/connector/kafka_sink.hpp"
#include "kwire/connector/transaction_recovery.hpp"
#include "live_clients.hpp"

namespace kc = kwire::connector;
using kwire::test::bytes;
using namespace std::chrono_literals;

namespace {

class KafkaSinkLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker (KWIRE_BOOTSTRAP_FILE)";
    if (std::system("command -v kcat >/dev/null") != 0) GTEST_SKIP() << "no kcat on PATH";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto seed = std::to_string(::testing::UnitTest::GetInstance()->random_seed());
    topic_ = "sink-live-" + seed + "-" + info->name();
    prefix_ = "sink-" + seed + "-" + info->name();
    kwire::test::broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    s.negotiate();
    ASSERT_EQ(kwire::test::create_topic(s, topic_, 2, 1), "");
  }

  kc::kafka_sink_config config(kc::delivery_guarantee guarantee, std::int32_t pool = 5) {
    kc::kafka_sink_config c;
    c.properties = {{"bootstrap.servers", bootstrap_}, {"linger.ms", "5"}};
    c.topic = topic_;
    c.guarantee = guarantee;
    c.transactional_id_prefix = prefix_;
    c.transactional_id_pool = pool;
    return c;
  }

  std::unique_ptr<kc::kafka_sink> open_sink(kc::kafka_sink_config c, std::int32_t subtask = 0) {
    auto sink = std::make_unique<kc::kafka_sink>(io_.io.get_executor(), std::move(c));
    EXPECT_FALSE(sink->open(subtask, 1)) << sink->last_error();
    return sink;
  }

  void write(kc::kafka_sink& sink, const std::string& tag, int count) {
    for (int i = 0; i < count; ++i) {
      const auto value = tag + "-" + std::to_string(i);
      ASSERT_FALSE(sink.write({.value = bytes(value)})) << sink.last_error();
    }
  }

  // Values kcat reads under `isolation`, every partition.
  std::vector<std::string> read_back(const std::string& isolation) {
    std::vector<std::string> all;
    for (const auto& [p, values] :
         kwire::test::kcat_values_by_partition(bootstrap_, topic_, isolation))
      all.insert(all.end(), values.begin(), values.end());
    return all;
  }

  kwire::client::properties producer_properties() {
    return {{"bootstrap.servers", bootstrap_}, {"acks", "all"}, {"enable.idempotence", "true"}};
  }

  kwire::test::io_thread io_;
  std::string bootstrap_;
  std::string topic_;
  std::string prefix_;
};

TEST_F(KafkaSinkLive, ExactlyOnceShowsACheckpointsRecordsOnlyOnceItCompletes) {
  auto sink = open_sink(config(kc::delivery_guarantee::exactly_once));
  write(*sink, "a", 100);
  ASSERT_FALSE(sink->pre_commit(1)) << sink->last_error();
  const auto pending = sink->pending(1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].prepared_at, 1);
  write(*sink, "b", 10);  // the next checkpoint's transaction, on another id of the pool
  EXPECT_EQ(read_back("read_committed").size(), 0u);
  EXPECT_EQ(read_back("read_uncommitted").size(), 110u);
  sink->notify_complete(1);
  EXPECT_TRUE(sink->pending(1).empty());
  EXPECT_EQ(read_back("read_committed").size(), 100u);
  // A checkpoint with nothing written stores no transaction.
  ASSERT_FALSE(sink->pre_commit(2));
  ASSERT_FALSE(sink->pre_commit(3));
  EXPECT_EQ(sink->pending(3).size(), 1u);  // the "b" transaction, prepared at 2
  EXPECT_EQ(sink->pending(3)[0].prepared_at, 2);
  sink->notify_complete(3);
  EXPECT_EQ(read_back("read_committed").size(), 110u);
  EXPECT_EQ(sink->counters().transactions_committed.load(), 2);
  sink->close();
}

TEST_F(KafkaSinkLive, AFailedCheckpointsTransactionIsCommittedWithTheNextCompletedOne) {
  auto sink = open_sink(config(kc::delivery_guarantee::exactly_once));
  write(*sink, "a", 20);
  ASSERT_FALSE(sink->pre_commit(1));
  sink->notify_aborted(1);
  write(*sink, "b", 30);
  ASSERT_FALSE(sink->pre_commit(2));
  EXPECT_EQ(sink->pending(2).size(), 2u);
  EXPECT_EQ(read_back("read_committed").size(), 0u);
  sink->notify_complete(2);
  EXPECT_EQ(read_back("read_committed").size(), 50u);
  sink->close();
}

TEST_F(KafkaSinkLive, ADroppedCompleteNotificationIsMadeGoodByTheNextOne) {
  auto sink = open_sink(config(kc::delivery_guarantee::exactly_once));
  write(*sink, "a", 20);
  ASSERT_FALSE(sink->pre_commit(1));
  // Checkpoint 1 completed, but its "complete" never reached the sink.
  write(*sink, "b", 30);
  ASSERT_FALSE(sink->pre_commit(2));
  EXPECT_EQ(sink->pending(2).size(), 2u);
  EXPECT_EQ(read_back("read_committed").size(), 0u);
  sink->notify_complete(2);
  EXPECT_EQ(read_back("read_committed").size(), 50u);
  EXPECT_EQ(sink->counters().transactions_committed.load(), 2);
  EXPECT_TRUE(sink->pending(2).empty());
  sink->close();
}

TEST_F(KafkaSinkLive, ThePoolRunsOutWithATypedErrorWhenTooManyCheckpointsArePending) {
  auto sink = open_sink(config(kc::delivery_guarantee::exactly_once, 2));
  write(*sink, "a", 5);
  ASSERT_FALSE(sink->pre_commit(1));
  write(*sink, "b", 5);
  ASSERT_FALSE(sink->pre_commit(2));
  // Both ids hold a prepared transaction: the third one has none to run on.
  const auto ec = sink->write({.value = bytes(std::string("c"))});
  EXPECT_EQ(ec, make_error_code(kc::errc::transactional_id_pool_exhausted));
  EXPECT_NE(sink->last_error().find("2 transactional ids"), std::string::npos)
      << sink->last_error();
  // Completing frees them; the sink stays failed (the pipeline restarts it).
  sink->notify_complete(2);
  EXPECT_EQ(read_back("read_committed").size(), 10u);
  sink->close();
}

TEST_F(KafkaSinkLive, ARestoreCommitsWhatACrashedSinkPreparedOnceAndTheSweepAbortsTheRest) {
  std::vector<kc::pending_transaction> stored;
  {
    // The crashed run: checkpoint 1 prepared (its part stored), then more records in an open
    // transaction; the process dies before "complete" reaches the sink. Destroying the sink
    // closes its producers without ending their transactions, as a crash leaves them.
    auto sink = open_sink(config(kc::delivery_guarantee::exactly_once));
    write(*sink, "a", 40);
    ASSERT_FALSE(sink->pre_commit(1));
    stored = sink->pending(1);
    write(*sink, "open", 7);
    ASSERT_FALSE(sink->write({.value = bytes(std::string("last"))}));
  }
  ASSERT_EQ(stored.size(), 1u);
  auto restored = open_sink(config(kc::delivery_guarantee::exactly_once));
  ASSERT_FALSE(restored->restore_pending(stored)) << restored->last_error();
  EXPECT_EQ(restored->counters().restored_committed.load(), 1);
  // The sweep: every id of the job's manifest not holding a pending handle is initialised,
  // which aborts the open transaction of the crashed run.
  const auto manifest = kc::make_job_manifest(1, prefix_, 5);
  const auto sweep =
      kc::abort_lingering_transactions(io_.io.get_executor(), producer_properties(), manifest, {});
  ASSERT_FALSE(sweep.error) << sweep.detail;
  EXPECT_EQ(sweep.initialised.size(), 5u);
  const auto committed = read_back("read_committed");
  EXPECT_EQ(committed.size(), 40u);
  for (const auto& v : committed) EXPECT_EQ(v.substr(0, 2), "a-");
  // The same handle again (a second crash before the next checkpoint): already committed.
  auto again = open_sink(config(kc::delivery_guarantee::exactly_once));
  ASSERT_FALSE(again->restore_pending(stored)) << again->last_error();
  EXPECT_EQ(again->counters().restored_already_committed.load(), 1);
  EXPECT_EQ(read_back("read_committed").size(), 40u);
  // And the restored sink writes on.
  write(*again, "c", 3);
  ASSERT_FALSE(again->pre_commit(2));
  again->notify_complete(2);
  EXPECT_EQ(read_back("read_committed").size(), 43u);
  again->close();
}

TEST_F(KafkaSinkLive, AtLeastOnceFlushesAtTheCheckpoint) {
  auto sink = open_sink(config(kc::delivery_guarantee::at_least_once));
  write(*sink, "a", 25);
  ASSERT_FALSE(sink->pre_commit(1)) << sink->last_error();
  // Flushed: every record is acknowledged before the checkpoint's part is stored.
  EXPECT_EQ(read_back("read_uncommitted").size(), 25u);
  EXPECT_TRUE(sink->pending(1).empty());
  sink->close();
}

}  // namespace
