// The transactional producer against the real broker: transactions committed and aborted in
// turn (read back under read_committed by kcat, the peer client), fencing of an older
// producer with the same transactional.id (nothing it sent after being fenced becomes
// visible), and the epoch the coordinator hands out per transaction under protocol v2.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/producer.hpp"
#include "live_clients.hpp"

namespace kc = kwire::client;
using kwire::test::broker_session;
using kwire::test::bytes;
using namespace std::chrono_literals;

namespace {

class TransactionsLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker (KWIRE_BOOTSTRAP_FILE)";
    if (std::system("command -v kcat >/dev/null") != 0) GTEST_SKIP() << "no kcat on PATH";
    topic_ = "txn-live-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name();
    broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    s.negotiate();
    ASSERT_EQ(kwire::test::create_topic(s, topic_, 3, 1), "");
  }

  kc::producer_config config(const std::string& transactional_id) {
    kc::producer_config c;
    kc::properties props{{"bootstrap.servers", bootstrap_},
                         {"transactional.id", transactional_id},
                         {"linger.ms", "5"}};
    if (auto e = kc::parse_producer_config(props, c)) ADD_FAILURE() << e->message;
    return c;
  }

  // Every value kcat reads under `isolation`, by partition.
  std::map<int, std::vector<std::string>> read_back(const std::string& isolation) {
    return kwire::test::kcat_values_by_partition(bootstrap_, topic_, isolation);
  }

  // Sends `count` records named "<tag>-<i>", keyed over every partition; waits for them.
  void send_all(kc::producer& p, const std::string& tag, int count) {
    std::vector<std::future<std::error_code>> acks;
    for (int i = 0; i < count; ++i) {
      const std::string key = "k" + std::to_string(i % 7);
      const std::string value = tag + "-" + std::to_string(i);
      auto done = std::make_shared<std::promise<std::error_code>>();
      acks.push_back(done->get_future());
      ASSERT_FALSE(
          p.send({.topic = topic_, .key = bytes(key), .value = bytes(value)},
                 [done](std::error_code ec, const kc::delivery_report&) { done->set_value(ec); }));
    }
    p.flush();
    for (auto& a : acks) EXPECT_FALSE(a.get());
  }

  // Runs TransactionsChild.PrepareAndDie in a new process: it prepares a transaction of
  // `records` records on this test's topic, prints the handle and kills itself (SIGKILL).
  kc::prepared_transaction prepare_in_child(const std::string& id, int records,
                                            int timeout_ms = 60000) {
    const std::string command = "KWIRE_TXN_CHILD='" + bootstrap_ + " " + topic_ + " " + id + " " +
                                std::to_string(records) + " " + std::to_string(timeout_ms) + "' " +
                                std::filesystem::read_symlink("/proc/self/exe").string() +
                                " --gtest_filter=TransactionsChild.PrepareAndDie 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    kc::prepared_transaction handle;
    if (!pipe) return handle;
    char line[8192];
    std::string text;
    while (std::fgets(line, sizeof line, pipe))
      if (std::string(line).rfind("HANDLE ", 0) == 0) text = std::string(line + 7);
    const int status = ::pclose(pipe);
    EXPECT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL))
        << "the child was to die by SIGKILL; status " << status;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    EXPECT_FALSE(kc::decode_prepared_transaction(text, handle)) << "no handle from the child";
    return handle;
  }

  // The last stable offset and the high watermark of partition `p`.
  std::pair<std::int64_t, std::int64_t> stable_and_high(int p) {
    broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    s.negotiate();
    std::int64_t out[2] = {-1, -1};
    for (int isolation = 0; isolation < 2; ++isolation) {
      kwire::protocol::ListOffsetsRequest request;
      request.replica_id = -1;
      request.isolation_level = static_cast<std::int8_t>(isolation);
      auto& t = request.topics.emplace_back();
      t.name = topic_;
      auto& part = t.partitions.emplace_back();
      part.partition_index = p;
      part.timestamp = -1;
      kwire::protocol::ListOffsetsResponse response;
      std::vector<std::uint8_t> storage;
      if (!s.call(request, s.version_for(kwire::protocol::ListOffsetsRequest::api_key), response,
                  storage))
        out[isolation] = response.topics.at(0).partitions.at(0).offset;
    }
    return {out[1], out[0]};
  }

  std::size_t committed_count() {
    std::size_t n = 0;
    for (const auto& [partition, values] : read_back("read_committed")) n += values.size();
    return n;
  }

  // A session to the coordinator of transactional id `id`.
  std::unique_ptr<broker_session> coordinator_session(const std::string& id) {
    broker_session any(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    any.negotiate();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    auto c = kwire::test::find_coordinator(any, id, 1);
    while (c.node_id < 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      c = kwire::test::find_coordinator(any, id, 1);
    }
    if (c.node_id < 0) throw std::runtime_error("no coordinator for " + id);
    auto s = std::make_unique<broker_session>(c.where, 30s);
    s->negotiate();
    return s;
  }

  // Raises the epoch of transactional id `id` to at least `target` with bare InitProducerId
  // requests (each bumps it by one, or hands out a new producer id at the overflow); the
  // producer id and epoch reached.
  std::pair<std::int64_t, std::int16_t> raise_epoch(const std::string& id, std::int16_t target) {
    auto s = coordinator_session(id);
    const auto version =
        std::min<std::int16_t>(s->version_for(kwire::protocol::InitProducerIdRequest::api_key), 5);
    kwire::protocol::InitProducerIdRequest request;
    request.transactional_id = id;
    request.transaction_timeout_ms = 60000;
    kwire::protocol::InitProducerIdResponse response;
    std::vector<std::uint8_t> storage;
    for (;;) {
      if (auto ec = s->call(request, version, response, storage))
        throw std::runtime_error("InitProducerId: " + ec.message());
      if (response.error_code == 51) {  // CONCURRENT_TRANSACTIONS: the last one is completing
        std::this_thread::sleep_for(5ms);
        continue;
      }
      // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR: the
      // transaction log is being created or moved; find the coordinator again.
      if (response.error_code == 14 || response.error_code == 15 || response.error_code == 16) {
        std::this_thread::sleep_for(200ms);
        s = coordinator_session(id);
        continue;
      }
      if (response.error_code != 0)
        throw std::runtime_error("InitProducerId: error " + std::to_string(response.error_code));
      if (response.producer_epoch >= target) return {response.producer_id, response.producer_epoch};
    }
  }

  // The producer id and epoch the coordinator holds for `id`, and the transaction's state.
  kwire::protocol::DescribeTransactionsResponse::TransactionState describe(const std::string& id) {
    auto s = coordinator_session(id);
    kwire::protocol::DescribeTransactionsRequest request;
    request.transactional_ids = {id};
    kwire::protocol::DescribeTransactionsResponse response;
    std::vector<std::uint8_t> storage;
    if (auto ec =
            s->call(request, s->version_for(kwire::protocol::DescribeTransactionsRequest::api_key),
                    response, storage))
      throw std::runtime_error("DescribeTransactions: " + ec.message());
    return response.transaction_states.at(0);
  }

  // describe(), once the last commit or abort is complete (its markers written): right after
  // EndTxn the coordinator may still show PrepareCommit with the bumped epoch and the old
  // producer id.
  kwire::protocol::DescribeTransactionsResponse::TransactionState describe_settled(
      const std::string& id) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    auto state = describe(id);
    while (state.transaction_state.rfind("Prepare", 0) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(50ms);
      state = describe(id);
    }
    return state;
  }

  std::string bootstrap_;
  std::string topic_;
};

TEST_F(TransactionsLive, CommittedTransactionsAreReadAndAbortedOnesAreNot) {
  kwire::test::io_thread io;
  kc::producer p(io.io.get_executor(), config(topic_ + "-tx"));
  ASSERT_FALSE(p.init_transactions());
  EXPECT_EQ(p.transaction_state(), kc::transaction_state::ready);
  std::set<std::string> committed;
  for (int t = 0; t < 6; ++t) {
    ASSERT_FALSE(p.begin_transaction());
    const std::string tag = "t" + std::to_string(t);
    send_all(p, tag, 200);
    if (t % 2 == 0) {
      ASSERT_FALSE(p.commit_transaction()) << "transaction " << t;
      for (int i = 0; i < 200; ++i) committed.insert(tag + "-" + std::to_string(i));
    } else {
      ASSERT_FALSE(p.abort_transaction()) << "transaction " << t;
    }
    EXPECT_EQ(p.transaction_state(), kc::transaction_state::ready);
  }
  // An empty transaction commits too (without a request).
  ASSERT_FALSE(p.begin_transaction());
  ASSERT_FALSE(p.commit_transaction());
  p.close(5s);

  std::set<std::string> read;
  std::size_t total = 0;
  for (const auto& [partition, values] : read_back("read_committed")) {
    for (const auto& v : values) {
      EXPECT_TRUE(read.insert(v).second) << "duplicate " << v;
      ++total;
    }
  }
  EXPECT_EQ(read, committed);
  EXPECT_EQ(total, committed.size());
  std::size_t uncommitted = 0;
  for (const auto& [partition, values] : read_back("read_uncommitted"))
    uncommitted += values.size();
  EXPECT_EQ(uncommitted, 1200u);
}

TEST_F(TransactionsLive, ATransactionOpenTooLongIsReportedBeforeTheBrokerAbortsIt) {
  auto c = config(topic_ + "-slow");
  c.transaction_timeout = std::chrono::milliseconds(4000);
  c.transaction_warn_percent = 25;
  std::vector<std::string> warnings;
  std::mutex lines;
  c.observe.sink = [&](const kc::log_record& r) {
    if (r.level == kc::log_level::warn && r.category == kc::log_category::eos) {
      std::lock_guard lock(lines);
      warnings.emplace_back(r.message);
    }
  };
  kwire::test::io_thread io;
  kc::producer p(io.io.get_executor(), c);
  ASSERT_FALSE(p.init_transactions());
  ASSERT_FALSE(p.begin_transaction());
  send_all(p, "slow", 5);
  EXPECT_EQ(p.metrics().transactions_overdue, 0u);
  std::this_thread::sleep_for(1500ms);  // past 25% of 4 s, well before the broker's abort
  EXPECT_EQ(p.metrics().transactions_overdue, 1u);
  {
    std::lock_guard lock(lines);
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("open for"), std::string::npos) << warnings[0];
  }
  ASSERT_FALSE(p.commit_transaction());
  p.close(2s);
}

TEST_F(TransactionsLive, AnOlderProducerIsFencedAndNothingItSentAfterwardsIsVisible) {
  kwire::test::io_thread io;
  const std::string id = topic_ + "-fenced";
  kc::producer older(io.io.get_executor(), config(id));
  ASSERT_FALSE(older.init_transactions());
  ASSERT_FALSE(older.begin_transaction());
  send_all(older, "before-fencing", 50);

  kc::producer newer(io.io.get_executor(), config(id));
  ASSERT_FALSE(newer.init_transactions());  // aborts the older producer's open transaction

  // The older producer's next operation reports it is fenced, as a typed error.
  auto sent = std::make_shared<std::promise<std::error_code>>();
  const std::string value = "after-fencing";
  const auto refused =
      older.send({.topic = topic_, .key = bytes(value), .value = bytes(value)},
                 [sent](std::error_code ec, const kc::delivery_report&) { sent->set_value(ec); });
  if (!refused) (void)sent->get_future().get();
  const auto commit = older.commit_transaction();
  EXPECT_EQ(commit, kc::make_error_code(kc::errc::producer_fenced)) << commit.message();
  EXPECT_EQ(older.transaction_state(), kc::transaction_state::fatal_error);
  EXPECT_EQ(older.begin_transaction(), kc::make_error_code(kc::errc::producer_fenced));

  ASSERT_FALSE(newer.begin_transaction());
  send_all(newer, "newer", 30);
  ASSERT_FALSE(newer.commit_transaction());
  older.close(2s);
  newer.close(5s);

  std::size_t newer_records = 0;
  for (const auto& [partition, values] : read_back("read_committed"))
    for (const auto& v : values) {
      EXPECT_EQ(v.rfind("newer-", 0), 0u) << "visible from the fenced producer: " << v;
      ++newer_records;
    }
  EXPECT_EQ(newer_records, 30u);
}

TEST_F(TransactionsLive, APreparedTransactionIsCommittedOnceFromItsHandleInAnotherProcess) {
  const std::string id = topic_ + "-2pc";
  const auto handle = prepare_in_child(id, 100);
  ASSERT_GE(handle.producer_id, 0);
  EXPECT_FALSE(handle.partitions.empty());
  EXPECT_EQ(committed_count(), 0u);  // prepared, not committed: nothing visible

  kwire::test::io_thread io;
  {
    kc::producer p(io.io.get_executor(), config(id));
    auto [ec, outcome] = p.commit_prepared(handle);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(outcome, kc::transaction_outcome::committed);
    EXPECT_EQ(p.transaction_state(), kc::transaction_state::uninitialized);
    // The same commit again: a success, said as such.
    std::tie(ec, outcome) = p.commit_prepared(handle);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(outcome, kc::transaction_outcome::already_committed);
    p.close(2s);
  }
  EXPECT_EQ(committed_count(), 100u);
}

TEST_F(TransactionsLive, APreparedTransactionAbortedFromItsHandleNeverShows) {
  const std::string id = topic_ + "-2pc-abort";
  const auto handle = prepare_in_child(id, 50);
  kwire::test::io_thread io;
  kc::producer p(io.io.get_executor(), config(id));
  auto [ec, outcome] = p.abort_prepared(handle);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(outcome, kc::transaction_outcome::aborted);
  std::tie(ec, outcome) = p.abort_prepared(handle);
  EXPECT_EQ(outcome, kc::transaction_outcome::already_aborted);
  // A commit after the abort cannot bring the records back: it reports the abort.
  std::tie(ec, outcome) = p.commit_prepared(handle);
  EXPECT_EQ(outcome, kc::transaction_outcome::aborted);
  p.close(2s);
  EXPECT_EQ(committed_count(), 0u);
}

TEST_F(TransactionsLive, APreparedTransactionTheBrokerTimedOutIsReportedAborted) {
  const std::string id = topic_ + "-2pc-timeout";
  const auto handle = prepare_in_child(id, 20, /*timeout_ms=*/2000);
  // The coordinator aborts it after transaction.timeout.ms, at its next check (every 10 s by
  // default): the last stable offsets catch up with the high watermarks then.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    open = false;
    for (const auto& part : handle.partitions) {
      const auto [stable, high] = stable_and_high(part.partition);
      open |= stable < high;
    }
    if (open) std::this_thread::sleep_for(500ms);
  }
  ASSERT_FALSE(open) << "the broker did not abort the timed-out transaction";
  kwire::test::io_thread io;
  kc::producer p(io.io.get_executor(), config(id));
  auto [ec, outcome] = p.commit_prepared(handle);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(outcome, kc::transaction_outcome::aborted);
  p.close(2s);
  EXPECT_EQ(committed_count(), 0u);
}

// Protocol v2 (KIP-890): EndTxn bumps the epoch at every commit and abort, and at the overflow
// hands out a new producer id with epoch 0 (the broker fixes of 4.0+ near epoch 32766). The
// transactional id's epoch is first driven next to the overflow with bare InitProducerId
// requests (some 32,760 round trips, ~15 s); then transactions run across it in one producer,
// and a transaction prepared in a process that dies is committed from its handle across it.
// Only where transaction.version >= 2 (4.x; 3.9 speaks v1 only).
TEST_F(TransactionsLive, TransactionsAndAPreparedCommitCrossTheEpochOverflow) {
  {
    broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    std::int16_t level = 0;
    for (const auto& f : s.negotiate().finalized_features)
      if (f.name == "transaction.version") level = f.max_version_level;
    if (level < 2) GTEST_SKIP() << "transaction.version " << level << ": protocol v1 only";
  }
  // Nothing here depends on replication, and 32,760 InitProducerId take 4x longer on 3 nodes.
  if (kwire::test::parse_bootstrap(bootstrap_).size() > 1)
    GTEST_SKIP() << "runs on the 1-node fixture";
  const std::string id = topic_ + "-overflow";
  const auto started = std::chrono::steady_clock::now();
  const auto [first_id, raised] = raise_epoch(id, 32760);
  std::printf("epoch raised to %d (producer id %ld) in %.1f s\n", raised, first_id,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  kwire::test::io_thread io;
  std::set<std::string> committed;
  {
    kc::producer p(io.io.get_executor(), config(id));
    ASSERT_FALSE(p.init_transactions());
    for (int t = 0; t < 10; ++t) {
      ASSERT_FALSE(p.begin_transaction());
      const std::string tag = "over" + std::to_string(t);
      send_all(p, tag, 10);
      ASSERT_FALSE(p.commit_transaction()) << "transaction " << t;
      for (int i = 0; i < 10; ++i) committed.insert(tag + "-" + std::to_string(i));
      const auto state = describe_settled(id);
      std::printf("after commit %d: producer id %ld epoch %d (%s)\n", t, state.producer_id,
                  state.producer_epoch, state.transaction_state.c_str());
    }
    p.close(5s);
  }
  EXPECT_NE(describe_settled(id).producer_id, first_id) << "the epoch did not overflow";
  std::set<std::string> read;
  for (const auto& [partition, values] : read_back("read_committed"))
    for (const auto& v : values) EXPECT_TRUE(read.insert(v).second) << "duplicate " << v;
  EXPECT_EQ(read, committed);

  // A prepared transaction whose commit crosses the overflow.
  const std::string id2 = topic_ + "-overflow-2pc";
  const auto [second_id, second_epoch] = raise_epoch(id2, 32765);
  const auto handle = prepare_in_child(id2, 40);
  std::printf("prepared at producer id %ld epoch %d (raised to %d)\n", handle.producer_id,
              handle.epoch, second_epoch);
  kc::producer p(io.io.get_executor(), config(id2));
  auto [ec, outcome] = p.commit_prepared(handle);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(outcome, kc::transaction_outcome::committed);
  const auto after_commit = describe_settled(id2);
  EXPECT_NE(after_commit.producer_id, handle.producer_id)
      << "the commit did not cross the overflow";
  std::printf("after the prepared commit: producer id %ld epoch %d (%s)\n",
              after_commit.producer_id, after_commit.producer_epoch,
              after_commit.transaction_state.c_str());
  std::tie(ec, outcome) = p.commit_prepared(handle);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(outcome, kc::transaction_outcome::already_committed);
  p.close(2s);
  EXPECT_EQ(committed_count(), committed.size() + 40);
}

// The other process of the tests above (runs only when KWIRE_TXN_CHILD is set).
TEST(TransactionsChild, PrepareAndDie) {
  const char* spec = std::getenv("KWIRE_TXN_CHILD");
  if (!spec) GTEST_SKIP() << "only as the child of a prepared-transaction test";
  std::istringstream in(spec);
  std::string bootstrap, topic, id;
  int records = 0, timeout_ms = 0;
  in >> bootstrap >> topic >> id >> records >> timeout_ms;
  kc::producer_config c;
  ASSERT_FALSE(kc::parse_producer_config({{"bootstrap.servers", bootstrap},
                                          {"transactional.id", id},
                                          {"transaction.timeout.ms", std::to_string(timeout_ms)}},
                                         c));
  kwire::test::io_thread io;
  kc::producer p(io.io.get_executor(), c);
  ASSERT_FALSE(p.init_transactions());
  ASSERT_FALSE(p.begin_transaction());
  for (int i = 0; i < records; ++i) {
    const std::string key = "k" + std::to_string(i % 7);
    const std::string value = "prepared-" + std::to_string(i);
    ASSERT_FALSE(p.send({.topic = topic, .key = bytes(key), .value = bytes(value)},
                        [](std::error_code, const kc::delivery_report&) {}));
  }
  auto [ec, handle] = p.prepare_transaction();
  ASSERT_FALSE(ec) << ec.message();
  std::printf("HANDLE %s\n", kc::encode_prepared_transaction(handle).c_str());
  std::fflush(stdout);
  std::raise(SIGKILL);
}

}  // namespace
