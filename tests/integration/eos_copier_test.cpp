// Exactly-once copy (consume -> transform -> transactional produce, with the consumed offsets
// committed in each transaction) while the copier process is SIGKILLed and restarted: every
// input record must appear in the output exactly once and in order per partition under
// read_committed (read by kcat, the peer client). The copier runs as a child process
// (EosCopierChild.CopyUntilDone); each restart re-initialises the transactional id, which
// aborts the killed run's open transaction, and resumes from the offsets committed with the
// last committed transaction.
//
// KWIRE_EOS_RECORDS (default 30000) and KWIRE_EOS_KILLS (default 3) size the run; the slow
// test run sets larger ones.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "broker_session.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "live_clients.hpp"

extern char** environ;

namespace kc = kwire::client;
using kwire::test::broker_session;
using kwire::test::bytes;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 3;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

// The copier process: runs until every input partition is copied and committed (exit 0);
// any transaction error ends it with exit 3 (the test restarts it, as a supervisor would).
TEST(EosCopierChild, CopyUntilDone) {
  const char* spec = std::getenv("KWIRE_EOS_COPIER");
  if (!spec) GTEST_SKIP() << "only as the child of EosCopier tests";
  std::istringstream in(spec);
  std::string bootstrap, input, output, group, txid;
  int per_partition = 0;
  in >> bootstrap >> input >> output >> group >> txid >> per_partition;

  kwire::test::io_thread io;
  kc::producer_config pc;
  ASSERT_FALSE(kc::parse_producer_config(
      {{"bootstrap.servers", bootstrap}, {"transactional.id", txid}, {"linger.ms", "5"}}, pc));
  if (std::getenv("KWIRE_EOS_DEBUG")) {
    pc.observe.debug = kc::log_categories::all();
    pc.observe.sink = kc::stderr_log_sink();
  }
  kc::producer producer(io.io.get_executor(), pc);
  // First: fences the killed run and aborts its open transaction, so that the offsets read
  // next are the last committed transaction's.
  if (auto ec = producer.init_transactions()) {
    std::fprintf(stderr, "copier: init_transactions: %s\n", ec.message().c_str());
    std::_Exit(3);
  }
  kc::consumer_config cc;
  ASSERT_FALSE(kc::parse_consumer_config({{"bootstrap.servers", bootstrap},
                                          {"group.id", group},
                                          {"enable.auto.commit", "false"},
                                          {"auto.offset.reset", "earliest"},
                                          {"max.poll.records", "750"}},
                                         cc));
  if (std::getenv("KWIRE_EOS_DEBUG")) {
    cc.observe.debug = kc::log_categories::all();
    cc.observe.sink = kc::stderr_log_sink();
  }
  kc::consumer consumer(io.io.get_executor(), cc);
  std::vector<kc::topic_partition> partitions;
  for (int p = 0; p < kPartitions; ++p) partitions.push_back({input, p});
  ASSERT_FALSE(consumer.assign(partitions));

  for (;;) {
    std::promise<std::pair<std::error_code, kc::record_set>> polled;
    auto future = polled.get_future();
    consumer.async_poll(500ms, [&polled](std::error_code ec, kc::record_set set) {
      polled.set_value({ec, std::move(set)});
    });
    auto [ec, set] = future.get();
    if (ec) {
      std::fprintf(stderr, "copier: poll: %s\n", ec.message().c_str());
      std::_Exit(3);
    }
    if (set.empty()) {
      bool done = true;
      for (const auto& tp : partitions) {
        const auto at = consumer.position(tp);
        done &= at && *at >= per_partition;
      }
      if (done) std::_Exit(0);
      continue;
    }
    if (producer.begin_transaction()) std::_Exit(3);
    std::map<int, std::int64_t> next_offsets;
    kc::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r);) {
      const std::string value =
          "copy:" + std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size());
      if (producer.send({.topic = output, .partition = r.partition, .value = bytes(value)},
                        [](std::error_code, const kc::delivery_report&) {}))
        std::_Exit(3);
      next_offsets[r.partition] = r.offset + 1;
    }
    std::vector<kc::transaction_offset> offsets;
    for (const auto& [p, next] : next_offsets)
      offsets.push_back({input, p, next, -1, std::nullopt});
    if (auto e = producer.send_offsets_to_transaction(offsets, consumer.group_metadata())) {
      std::fprintf(stderr, "copier: send_offsets: %s\n", e.message().c_str());
      std::_Exit(3);
    }
    if (auto e = producer.commit_transaction()) {
      std::fprintf(stderr, "copier: commit: %s\n", e.message().c_str());
      std::_Exit(3);
    }
    // Slow enough that the kills land mid-run, not after it.
    std::this_thread::sleep_for(150ms);
  }
}

class EosCopier : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker (KWIRE_BOOTSTRAP_FILE)";
    if (std::system("command -v kcat >/dev/null") != 0) GTEST_SKIP() << "no kcat on PATH";
    const auto seed = std::to_string(::testing::UnitTest::GetInstance()->random_seed());
    input_ = "eos-in-" + seed + "-" + std::to_string(::getpid());
    output_ = "eos-out-" + seed + "-" + std::to_string(::getpid());
    broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    s.negotiate();
    const auto nodes = kwire::test::parse_bootstrap(bootstrap_).size();
    const auto rf = static_cast<std::int16_t>(nodes >= 3 ? 3 : 1);
    ASSERT_EQ(kwire::test::create_topic(s, input_, kPartitions, rf), "");
    ASSERT_EQ(kwire::test::create_topic(s, output_, kPartitions, rf), "");
  }

  // Writes `per_partition` records "p<P>-<i>" to each input partition.
  void write_input(int per_partition) {
    kwire::test::io_thread io;
    kc::producer_config c;
    ASSERT_FALSE(kc::parse_producer_config({{"bootstrap.servers", bootstrap_}}, c));
    kc::producer p(io.io.get_executor(), c);
    std::atomic<int> failed{0};
    for (int part = 0; part < kPartitions; ++part)
      for (int i = 0; i < per_partition; ++i) {
        const std::string value = "p" + std::to_string(part) + "-" + std::to_string(i);
        ASSERT_FALSE(p.send({.topic = input_, .partition = part, .value = bytes(value)},
                            [&failed](std::error_code ec, const kc::delivery_report&) {
                              if (ec) ++failed;
                            }));
      }
    p.flush();
    p.close(5s);
    ASSERT_EQ(failed.load(), 0);
  }

  pid_t start_copier(int per_partition) {
    const std::string spec = "KWIRE_EOS_COPIER=" + bootstrap_ + " " + input_ + " " + output_ + " " +
                             input_ + "-group " + input_ + "-txn " + std::to_string(per_partition);
    std::vector<std::string> env_strings{spec};
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("KWIRE_EOS_COPIER=", 0) != 0) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string filter = "--gtest_filter=EosCopierChild.CopyUntilDone";
    char* argv[] = {const_cast<char*>(self.c_str()), filter.data(), nullptr};
    pid_t pid = -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    EXPECT_EQ(posix_spawn(&pid, self.c_str(), &actions, nullptr, argv, envp.data()), 0);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  }

  // Output partition -> values, as kcat reads them under read_committed.
  std::map<int, std::vector<std::string>> read_output() {
    return kwire::test::kcat_values_by_partition(bootstrap_, output_, "read_committed");
  }

  std::string bootstrap_, input_, output_;
};

TEST_F(EosCopier, EveryRecordIsCopiedExactlyOnceThroughCopierKills) {
  const int per_partition = env_int("KWIRE_EOS_RECORDS", 30000) / kPartitions;
  const int kills = env_int("KWIRE_EOS_KILLS", 3);
  write_input(per_partition);
  std::mt19937 random(::testing::UnitTest::GetInstance()->random_seed());
  int killed = 0;
  for (int run = 0; run < kills; ++run) {
    const pid_t pid = start_copier(per_partition);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(800 + random() % 1200));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ++killed;
    }
  }
  // The last run copies what is left, and ends by itself.
  const pid_t pid = start_copier(per_partition);
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + 240s;
  int status = 0;
  pid_t ended = 0;
  while ((ended = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  if (ended == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the last copier run did not finish within 240 s";
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "copier status " << status;
  std::printf("copier killed %d times\n", killed);
  EXPECT_EQ(killed, kills) << "a run finished before its kill: the test did not kill it";

  const auto output = read_output();
  std::size_t lost = 0, duplicated = 0, out_of_order = 0, total = 0;
  for (int part = 0; part < kPartitions; ++part) {
    const auto it = output.find(part);
    const std::vector<std::string> none;
    const auto& values = it == output.end() ? none : it->second;
    total += values.size();
    std::map<int, int> seen;
    int last = -1;
    for (const auto& v : values) {
      const auto dash = v.rfind('-');
      const int i = std::stoi(v.substr(dash + 1));
      EXPECT_EQ(v.substr(0, dash), "copy:p" + std::to_string(part)) << v;
      if (++seen[i] > 1) ++duplicated;
      if (i <= last) ++out_of_order;
      last = std::max(last, i);
    }
    for (int i = 0; i < per_partition; ++i)
      if (!seen.contains(i)) ++lost;
  }
  std::printf("output: %zu records for %d input; lost %zu, duplicated %zu, out of order %zu\n",
              total, per_partition * kPartitions, lost, duplicated, out_of_order);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(total, static_cast<std::size_t>(per_partition * kPartitions));
}

}  // namespace
