// The in-process checkpoint driver over a real file store: participants snapshotted into
// parts, notifications after the completion record, a failed checkpoint whose pending
// transaction is committed with the next one, restore, and rescaling a checkpoint.
#include "kwire/connector/checkpoint_driver.hpp"

#include <gtest/gtest.h>

#include "checkpoint_test_support.hpp"
#include "kwire/connector/checkpoint_restore.hpp"
#include "kwire/connector/file_checkpoint_store.hpp"
#include "kwire/connector/pending_transactions.hpp"

namespace kc = kwire::connector;
using namespace std::chrono_literals;
using kc::testing::scratch_directory;

namespace {

const kc::steady_time t0{};

// A user participant: a counter stored as one byte.
class counter final : public kc::checkpoint_participant {
 public:
  std::string participant_name() const override { return "counter"; }
  kc::participant_bytes snapshot(kc::checkpoint_id) override { return {value}; }
  std::error_code restore(std::span<const std::uint8_t> state) override {
    value = state.empty() ? 0 : state[0];
    return {};
  }
  void notify_complete(kc::checkpoint_id id) override { completed.push_back(id); }
  void notify_aborted(kc::checkpoint_id id) override { aborted.push_back(id); }

  std::uint8_t value = 0;
  std::vector<kc::checkpoint_id> completed;
  std::vector<kc::checkpoint_id> aborted;
};

// A sink that "prepares" a transaction at each snapshot and "commits" on completion.
class transactional_sink final : public kc::sink {
 public:
  std::string participant_name() const override { return "sink"; }
  kc::participant_bytes snapshot(kc::checkpoint_id id) override {
    ledger.add(id, "tx-" + std::to_string(id));
    return {};
  }
  std::error_code restore(std::span<const std::uint8_t>) override { return {}; }
  void notify_complete(kc::checkpoint_id id) override {
    for (auto& t : ledger.take_committable(id)) committed.push_back(t.handle);
  }
  void notify_aborted(kc::checkpoint_id) override {}
  std::error_code open(std::int32_t, std::int32_t) override { return {}; }
  std::error_code restore_pending(std::span<const kc::pending_transaction> pending) override {
    ledger.restore(pending);
    return {};
  }
  std::error_code write(const kc::sink_record&) override { return {}; }
  std::vector<kc::pending_transaction> pending(kc::checkpoint_id) override {
    return ledger.pending();
  }
  kc::delivery_guarantee guarantee() const noexcept override {
    return kc::delivery_guarantee::exactly_once;
  }

  kc::pending_transactions ledger;
  std::vector<std::string> committed;
};

// The file store, failing the parts of the checkpoints in `fail_parts_of`.
class flaky_store final : public kc::checkpoint_store {
 public:
  explicit flaky_store(const std::filesystem::path& dir) : files(dir) {}
  kc::checkpoint_error write_manifest(const kc::job_manifest& m) override {
    return files.write_manifest(m);
  }
  kc::checkpoint_error read_manifest(kc::job_manifest& out) override {
    return files.read_manifest(out);
  }
  kc::checkpoint_error write_part(const kc::subtask_state& part) override {
    if (part.checkpoint == fail_parts_of)
      return {std::make_error_code(std::errc::no_space_on_device), "test"};
    return files.write_part(part);
  }
  kc::checkpoint_error complete(kc::checkpoint_id id, std::int32_t parallelism,
                                std::int64_t ms) override {
    return files.complete(id, parallelism, ms);
  }
  kc::checkpoint_error list(std::vector<kc::stored_checkpoint>& out) override {
    return files.list(out);
  }
  kc::checkpoint_error load(kc::checkpoint_id id, kc::completed_checkpoint& out) override {
    return files.load(id, out);
  }

  kc::file_checkpoint_store files;
  kc::checkpoint_id fail_parts_of = 0;
};

TEST(checkpoint_driver, failed_checkpoint_is_committed_with_the_next_and_restores) {
  scratch_directory dir;
  flaky_store store(dir.path());
  counter count;
  transactional_sink sink;
  std::vector<std::string> events;
  kc::checkpoint_driver driver(
      {.interval = 100ms}, store, {{.subtask = 0, .sink = &sink, .others = {&count}}}, 1, t0,
      [] { return std::int64_t{1'700'000'000'000}; },
      [&](const kc::coordinator_action& a, const kc::checkpoint_error& e) {
        events.push_back(std::string(kc::to_string(a.what)) + " " + std::to_string(a.id) +
                         (e ? " failed" : ""));
      });

  count.value = 5;
  driver.run_due(t0 + 100ms);
  EXPECT_EQ(driver.last_completed(), 1);
  EXPECT_EQ(count.completed, (std::vector<kc::checkpoint_id>{1}));
  EXPECT_EQ(sink.committed, (std::vector<std::string>{"tx-1"}));

  store.fail_parts_of = 2;
  count.value = 6;
  driver.run_due(t0 + 200ms);
  EXPECT_EQ(count.aborted, (std::vector<kc::checkpoint_id>{2}));
  EXPECT_EQ(sink.committed.size(), 1u);  // tx-2 stays pending, not aborted

  count.value = 7;
  driver.run_due(t0 + 300ms);
  EXPECT_EQ(driver.last_completed(), 3);
  EXPECT_EQ(sink.committed, (std::vector<std::string>{"tx-1", "tx-2", "tx-3"}));
  EXPECT_EQ(events, (std::vector<std::string>{"trigger 1", "finalize 1", "notify_complete 1",
                                              "trigger 2 failed", "notify_aborted 2", "trigger 3",
                                              "finalize 3", "notify_complete 3"}));

  // Checkpoint 3 stored the carried-over transaction beside its own.
  kc::restore_point point;
  ASSERT_FALSE(kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point));
  ASSERT_TRUE(point.checkpoint);
  ASSERT_EQ(point.checkpoint->id, 3);
  const auto& part = point.checkpoint->parts.at(0);
  EXPECT_EQ(part.pending_transactions,
            (std::vector<kc::pending_transaction>{{2, "tx-2"}, {3, "tx-3"}}));
  EXPECT_EQ(part.participant_states.at("counter"), kc::participant_bytes{7});

  // A restart: the participants get their state back; the sink commits what was pending
  // (a lost "complete" notification is made good).
  counter restored_count;
  transactional_sink restored_sink;
  const kc::subtask_participants restored{
      .subtask = 0, .sink = &restored_sink, .others = {&restored_count}};
  ASSERT_FALSE(kc::restore_subtask(restored, part));
  EXPECT_EQ(restored_count.value, 7);
  restored_sink.notify_complete(point.checkpoint->id);
  EXPECT_EQ(restored_sink.committed, (std::vector<std::string>{"tx-2", "tx-3"}));
}

TEST(checkpoint_driver, participants_with_the_same_name_fail_the_part) {
  counter a;
  counter b;
  kc::subtask_state part;
  const auto error = kc::snapshot_subtask({.subtask = 3, .others = {&a, &b}}, 1, part);
  EXPECT_EQ(error.code, kc::errc::invalid_argument);
  EXPECT_NE(error.detail.find("'counter'"), std::string::npos);
}

TEST(rescale_checkpoint, positions_by_owner_and_pending_transactions_of_gone_subtasks) {
  kc::completed_checkpoint restored;
  restored.id = 9;
  restored.parallelism = 3;
  for (std::int32_t s = 0; s < 3; ++s) {
    kc::subtask_state part;
    part.checkpoint = 9;
    part.subtask = s;
    part.positions = {{"in", s, 10 + s}};
    part.pending_transactions = {{9, "tx-" + std::to_string(s)}};
    part.participant_states["counter"] = {static_cast<std::uint8_t>(s)};
    restored.parts.push_back(part);
  }
  const auto by_partition = [](const kc::source_position& p, std::int32_t parallelism) {
    return p.partition % parallelism;
  };
  const auto two = kc::rescale_checkpoint(restored, 2, by_partition);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].positions, (std::vector<kc::source_position>{{"in", 0, 10}, {"in", 2, 12}}));
  EXPECT_EQ(two[1].positions, (std::vector<kc::source_position>{{"in", 1, 11}}));
  EXPECT_EQ(two[0].pending_transactions,
            (std::vector<kc::pending_transaction>{{9, "tx-0"}, {9, "tx-2"}}));
  EXPECT_EQ(two[1].participant_states.at("counter"), kc::participant_bytes{1});
  EXPECT_EQ(two[1].subtask, 1);
  EXPECT_EQ(two[1].checkpoint, 9);
}

}  // namespace
