// Exactly-once copy (consume -> transform -> transactional produce, with the consumed offsets
// committed in each transaction) through faults: every input record must appear in the output
// exactly once and in order per partition under read_committed (read by kcat, the peer
// client). The copier runs as a child process (EosCopierChild.CopyUntilDone) that a
// supervisor loop restarts whenever it dies or gives up; each restart re-initialises the
// transactional id, which aborts the previous run's open transaction, and resumes from the
// offsets committed with the last committed transaction.
//
// Faults, at even steps of the copy's progress: the copier SIGKILLed (both fixtures), and on
// the 3-node fixture also the broker that coordinates the copier's transactional id SIGKILLed
// and restarted (scripts/kafka-local.sh kill|start) while a transaction is open.
//
// KWIRE_EOS_RECORDS (default 30000), KWIRE_EOS_KILLS (copier kills, default 3 on 1 node and
// 2 on 3 nodes), KWIRE_EOS_COORDINATOR_KILLS (default 1) and KWIRE_EOS_PACE_MS (the copier's
// pause inside each transaction, default 150) size the run; `scripts/test.sh --slow` runs the
// long form (100,000 records, 3 + 3 kills).
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
#include <mutex>
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

// Writes `text` to `path` whole (temp file + rename), so a reader never sees half of it.
void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  if (FILE* f = std::fopen(temp.c_str(), "w")) {
    std::fputs(text.c_str(), f);
    std::fclose(f);
    std::rename(temp.c_str(), path.c_str());
  }
}

// The copier process: runs until every input partition is copied and committed (exit 0);
// any transaction error ends it with exit 3 (the test restarts it, as a supervisor would).
// After each commit it writes how many input records are committed to its progress file.
TEST(EosCopierChild, CopyUntilDone) {
  const char* spec = std::getenv("KWIRE_EOS_COPIER");
  if (!spec) GTEST_SKIP() << "only as the child of EosCopier tests";
  std::istringstream in(spec);
  std::string bootstrap, input, output, group, txid, progress_file;
  int per_partition = 0, pace_ms = 0;
  in >> bootstrap >> input >> output >> group >> txid >> per_partition >> pace_ms >> progress_file;

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
    // The pause is inside the transaction, so that the kills land while one is open, and
    // slow enough that they land mid-run, not after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(pace_ms));
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
    // Positions are the committed offsets now (also those an earlier run committed).
    std::int64_t total = 0;
    for (const auto& tp : partitions) total += consumer.position(tp).value_or(0);
    write_file_atomically(progress_file, std::to_string(total));
  }
}

enum class fault { kill_copier, kill_coordinator };

class EosCopier : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker (KWIRE_BOOTSTRAP_FILE)";
    if (std::system("command -v kcat >/dev/null") != 0) GTEST_SKIP() << "no kcat on PATH";
    nodes_ = kwire::test::parse_bootstrap(bootstrap_);
    // Unique per run and per test (a name of 40 characters at most, for the topics).
    const auto* test = ::testing::UnitTest::GetInstance();
    const auto run =
        std::to_string(test->random_seed()) + "-" + std::to_string(::getpid()) + "-" +
        std::to_string(std::hash<std::string>{}(test->current_test_info()->name()) % 1000);
    input_ = "eos-in-" + run;
    output_ = "eos-out-" + run;
    progress_file_ = (std::filesystem::temp_directory_path() / (input_ + ".progress")).string();
    std::filesystem::remove(progress_file_);
    broker_session s(nodes_.front(), 30s);
    s.negotiate();
    const auto rf = static_cast<std::int16_t>(nodes_.size() >= 3 ? 3 : 1);
    ASSERT_EQ(kwire::test::create_topic(s, input_, kPartitions, rf), "");
    ASSERT_EQ(kwire::test::create_topic(s, output_, kPartitions, rf), "");
  }
  void TearDown() override {
    if (!progress_file_.empty()) std::filesystem::remove(progress_file_);
  }

  std::string transactional_id() const { return input_ + "-txn"; }

  // Writes `per_partition` records "p<P>-<i>" to each input partition.
  void write_input(int per_partition) {
    kwire::test::io_thread io;
    kc::producer_config c;
    ASSERT_FALSE(kc::parse_producer_config({{"bootstrap.servers", bootstrap_}}, c));
    kc::producer p(io.io.get_executor(), c);
    std::atomic<int> failed{0};
    std::mutex first_failure_mutex;
    std::string first_failure;
    for (int part = 0; part < kPartitions; ++part)
      for (int i = 0; i < per_partition; ++i) {
        const std::string value = "p" + std::to_string(part) + "-" + std::to_string(i);
        ASSERT_FALSE(p.send({.topic = input_, .partition = part, .value = bytes(value)},
                            [&, value](std::error_code ec, const kc::delivery_report&) {
                              if (!ec) return;
                              std::lock_guard lock(first_failure_mutex);
                              if (failed++ == 0) first_failure = value + ": " + ec.message();
                            }));
      }
    p.flush();
    p.close(5s);
    ASSERT_EQ(failed.load(), 0) << "input records failed; the first: " << first_failure;
  }

  pid_t start_copier(int per_partition, int pace_ms) {
    const std::string spec = "KWIRE_EOS_COPIER=" + bootstrap_ + " " + input_ + " " + output_ + " " +
                             input_ + "-group " + transactional_id() + " " +
                             std::to_string(per_partition) + " " + std::to_string(pace_ms) + " " +
                             progress_file_;
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

  // Input records committed so far, as the copier last wrote it.
  std::int64_t progress() const {
    std::int64_t n = 0;
    if (FILE* f = std::fopen(progress_file_.c_str(), "r")) {
      if (std::fscanf(f, "%ld", &n) != 1) n = 0;
      std::fclose(f);
    }
    return n;
  }

  // The node that coordinates the copier's transactional id now (waits while it moves).
  std::int32_t transaction_coordinator() {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& node : nodes_) {
        try {
          broker_session s(node, 5s);
          s.negotiate();
          const auto c = kwire::test::find_coordinator(s, transactional_id(), 1);
          if (c.node_id >= 0) return c.node_id;
        } catch (const std::exception&) {
          // That node is down: ask the next one.
        }
      }
      std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error("no coordinator for " + transactional_id());
  }

  // scripts/kafka-local.sh kill|start N on the fixture's cluster; its exit status.
  int cluster(const std::string& verb, std::int32_t node) {
    const auto dir = std::filesystem::path(std::getenv("KWIRE_BOOTSTRAP_FILE")).parent_path();
    const auto script = std::filesystem::path(KWIRE_SOURCE_DIR) / "scripts" / "kafka-local.sh";
    return std::system((script.string() + " " + verb + " " + std::to_string(node) + " --dir " +
                        dir.string() + " >/dev/null 2>&1")
                           .c_str());
  }

  // Runs the copier to the end through `faults`, the i-th of n fired when the copy's progress
  // passes (i+1)/(n+1) of the input; restarts the copier whenever it dies. A coordinator's
  // broker is down 2 s and then restarted (in the background: the copy goes on meanwhile; the
  // next coordinator kill waits for that restart).
  void copy_through(const std::vector<fault>& faults, int per_partition, int pace_ms) {
    const std::int64_t total = std::int64_t{per_partition} * kPartitions;
    const auto deadline = std::chrono::steady_clock::now() + 600s;
    std::size_t fired = 0;
    int restarts_after_errors = 0;
    std::future<int> broker_restart;
    pid_t pid = start_copier(per_partition, pace_ms);
    ASSERT_GT(pid, 0);
    // A failed assertion returns early: the copier must not outlive the test.
    struct reaper {
      pid_t& pid;
      ~reaper() {
        if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == 0) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, nullptr, 0);
        }
      }
    } reap_on_return{pid};
    int status = 0;
    for (;;) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "the copy did not finish within 600 s; " << fired << " faults fired, progress "
          << progress() << " of " << total;
      const pid_t ended = ::waitpid(pid, &status, WNOHANG);
      if (ended == pid) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
          pid = -1;
          break;
        }
        ++restarts_after_errors;  // gave up on an error (exit 3): a supervisor restarts it
        pid = start_copier(per_partition, pace_ms);
        ASSERT_GT(pid, 0);
        continue;
      }
      const bool restart_pending =
          broker_restart.valid() && broker_restart.wait_for(0s) != std::future_status::ready;
      if (fired < faults.size() && progress() >= total * static_cast<std::int64_t>(fired + 1) /
                                                     static_cast<std::int64_t>(faults.size() + 1)) {
        if (faults[fired] == fault::kill_copier) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, &status, 0);
          std::printf("fault %zu: copier killed at %ld of %ld\n", fired + 1, progress(), total);
          pid = start_copier(per_partition, pace_ms);
          ASSERT_GT(pid, 0);
          ++fired;
        } else if (!restart_pending) {
          if (broker_restart.valid()) {
            ASSERT_EQ(broker_restart.get(), 0) << "kafka-local.sh start";
          }
          const auto node = transaction_coordinator();
          ASSERT_EQ(cluster("kill", node), 0);
          std::printf("fault %zu: coordinator node %d killed at %ld of %ld\n", fired + 1, node,
                      progress(), total);
          broker_restart = std::async(std::launch::async, [this, node] {
            std::this_thread::sleep_for(2s);
            return cluster("start", node);
          });
          ++fired;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    if (broker_restart.valid()) {
      EXPECT_EQ(broker_restart.get(), 0) << "kafka-local.sh start";
    }
    std::printf("faults fired %zu of %zu; copier restarts after its own errors: %d\n", fired,
                faults.size(), restarts_after_errors);
    EXPECT_EQ(fired, faults.size()) << "the copy ended before every fault fired";
  }

  // Checks the output under read_committed: every input record exactly once, in order.
  void expect_exactly_once(int per_partition) {
    const auto output =
        kwire::test::kcat_values_by_partition(bootstrap_, output_, "read_committed");
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

  std::string bootstrap_, input_, output_, progress_file_;
  std::vector<kwire::test::host_port> nodes_;
};

// Both fixtures: the copier is SIGKILLed mid-transaction and restarted.
TEST_F(EosCopier, EveryRecordIsCopiedExactlyOnceThroughCopierKills) {
  if (nodes_.size() >= 3) GTEST_SKIP() << "the 3-node fixture runs the coordinator kills test";
  const int per_partition = (env_int("KWIRE_EOS_RECORDS", 30000) + kPartitions - 1) / kPartitions;
  ASSERT_NO_FATAL_FAILURE(write_input(per_partition));
  std::vector<fault> faults(static_cast<std::size_t>(env_int("KWIRE_EOS_KILLS", 3)),
                            fault::kill_copier);
  copy_through(faults, per_partition, env_int("KWIRE_EOS_PACE_MS", 150));
  expect_exactly_once(per_partition);
}

// 3 nodes: the copier and the broker coordinating its transactions are both SIGKILLed, in
// turn, while transactions are open.
TEST_F(EosCopier, EveryRecordIsCopiedExactlyOnceThroughCopierAndCoordinatorKills) {
  if (nodes_.size() < 3) GTEST_SKIP() << "needs the 3-node fixture";
  const int per_partition = (env_int("KWIRE_EOS_RECORDS", 30000) + kPartitions - 1) / kPartitions;
  ASSERT_NO_FATAL_FAILURE(write_input(per_partition));
  const int copier_kills = env_int("KWIRE_EOS_KILLS", 2);
  const int coordinator_kills = env_int("KWIRE_EOS_COORDINATOR_KILLS", 1);
  std::vector<fault> faults;
  for (int i = 0; i < std::max(copier_kills, coordinator_kills); ++i) {
    if (i < coordinator_kills) faults.push_back(fault::kill_coordinator);
    if (i < copier_kills) faults.push_back(fault::kill_copier);
  }
  copy_through(faults, per_partition, env_int("KWIRE_EOS_PACE_MS", 150));
  expect_exactly_once(per_partition);
}

}  // namespace
