// The checkpoint store in a compacted Kafka topic against the real broker, checked by what
// the broker holds (kcat reads the topic's keys and value sizes; the admin client its
// settings) and by a second store that reads the topic from the beginning: round trips,
// incomplete and corrupt checkpoints, pruning by tombstones, and the refusal of a topic that
// is not compacted or has more than one partition.
#include "kwire/connector/kafka_checkpoint_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker_session.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/connector/checkpoint_restore.hpp"
#include "kwire/connector/job_manifest.hpp"
#include "live_clients.hpp"

namespace kc = kwire::connector;
namespace kcl = kwire::client;
using namespace std::chrono_literals;

namespace {

kc::subtask_state sample_part(kc::checkpoint_id id, std::int32_t subtask) {
  kc::subtask_state part;
  part.checkpoint = id;
  part.subtask = subtask;
  part.positions = {{"in", subtask, 100 * id + subtask}};
  part.pending_transactions = {{id, "kwtx1.handle-" + std::to_string(id)}};
  part.participant_states["counts"] = {1, 2, static_cast<std::uint8_t>(id)};
  return part;
}

// Runs `command` and returns its standard output.
std::string output_of(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  ::pclose(pipe);
  return out;
}

class KafkaCheckpointStoreLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker (KWIRE_BOOTSTRAP_FILE)";
    if (std::system("command -v kcat >/dev/null") != 0) GTEST_SKIP() << "no kcat on PATH";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto seed = std::to_string(::testing::UnitTest::GetInstance()->random_seed());
    topic_ = "ckpt-store-" + seed + "-" + info->name();
    ASSERT_FALSE(kcl::parse_common_config({{"bootstrap.servers", bootstrap_}}, config_));
  }

  std::unique_ptr<kc::kafka_checkpoint_store> open_store(std::size_t keep_completed = 3) {
    kc::kafka_checkpoint_store::options options;
    options.keep_completed = keep_completed;
    return std::make_unique<kc::kafka_checkpoint_store>(io_.io.get_executor(), config_, topic_,
                                                        std::move(options));
  }

  void complete_checkpoint(kc::kafka_checkpoint_store& store, kc::checkpoint_id id) {
    ASSERT_FALSE(store.write_part(sample_part(id, 0)));
    ASSERT_FALSE(store.write_part(sample_part(id, 1)));
    const auto error = store.complete(id, 2, 1'700'000'000'000 + id);
    ASSERT_FALSE(error) << error.describe();
  }

  // "KEY SIZE" of every record of the topic as kcat reads it (size -1: a tombstone).
  std::vector<std::string> keys_and_sizes() {
    const auto text = output_of("kcat -C -b " + bootstrap_ + " -t " + topic_ +
                                " -o beginning -e -q -f '%k %S\\n' 2>/dev/null");
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }

  std::vector<std::string> keys() {
    std::vector<std::string> out;
    for (const auto& line : keys_and_sizes()) out.push_back(line.substr(0, line.find(' ')));
    return out;
  }

  std::optional<std::string> topic_config(const std::string& name) {
    kcl::admin_config admin_config;
    static_cast<kcl::common_config&>(admin_config) = config_;
    kcl::admin admin(io_.io.get_executor(), admin_config);
    // A topic created a moment ago may not have reached the broker asked yet (3 nodes).
    kcl::describe_configs_result result;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::promise<kcl::describe_configs_result> promise;
      admin.async_describe_configs(
          {{kcl::config_resource_type::topic, topic_}}, {},
          [&promise](std::error_code, kcl::describe_configs_result r) { promise.set_value(r); });
      result = promise.get_future().get();
      if (!result.resources.empty() && !result.resources[0].error) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    admin.close();
    if (result.resources.empty()) return std::nullopt;
    for (const auto& e : result.resources[0].entries)
      if (e.name == name) return e.value;
    return std::nullopt;
  }

  kwire::test::io_thread io_;
  std::string bootstrap_;
  std::string topic_;
  kcl::common_config config_;
};

TEST_F(KafkaCheckpointStoreLive, RoundTripThroughTheTopicReadByAnotherStore) {
  {
    auto store = open_store();
    const auto opened = store->open();
    ASSERT_FALSE(opened) << opened.describe();
    EXPECT_EQ(topic_config("cleanup.policy"), "compact");
    kc::job_manifest manifest;
    EXPECT_EQ(store->read_manifest(manifest).code, kc::errc::no_manifest);
    ASSERT_FALSE(store->write_manifest(kc::make_job_manifest(2, "p", 5)));
    complete_checkpoint(*store, 1);
  }
  EXPECT_EQ(keys(), (std::vector<std::string>{"manifest", "chk/1/part/0", "chk/1/part/1",
                                              "chk/1/completed"}));
  // Another store (another process of the job) reads the topic from the beginning.
  auto reader = open_store();
  kc::job_manifest manifest;
  ASSERT_FALSE(reader->read_manifest(manifest));
  EXPECT_EQ(manifest.parallelism, 2);
  EXPECT_EQ(manifest.transactional_id_prefix, "p");
  kc::restore_point point;
  ASSERT_FALSE(kc::find_restore_point(*reader, kc::on_unreadable_completed::refuse, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 1);
  EXPECT_EQ(point.checkpoint->completed_ms, 1'700'000'000'001);
  EXPECT_EQ(point.checkpoint->parts,
            (std::vector<kc::subtask_state>{sample_part(1, 0), sample_part(1, 1)}));
  // The first store's writes after the reader's first read are seen by its next one.
  auto writer = open_store();
  complete_checkpoint(*writer, 2);
  ASSERT_FALSE(kc::find_restore_point(*reader, kc::on_unreadable_completed::refuse, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 2);
}

TEST_F(KafkaCheckpointStoreLive, IncompleteIsSkippedAndAGarbageCompletionRecordRefused) {
  auto store = open_store();
  complete_checkpoint(*store, 1);
  ASSERT_FALSE(store->write_part(sample_part(2, 0)));  // 2 never completes
  ASSERT_FALSE(store->write_part(sample_part(3, 0)));
  ASSERT_FALSE(store->write_part(sample_part(3, 1)));
  // A plain producer puts bytes that are no completion record under 3's completion key.
  const auto produce = "printf 'chk/3/completed:junk\\n' | kcat -P -b " + bootstrap_ + " -t " +
                       topic_ + " -K: -X acks=all 2>&1";
  ASSERT_EQ(output_of(produce), "");
  auto reader = open_store();
  std::vector<kc::stored_checkpoint> listed;
  ASSERT_FALSE(reader->list(listed));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].status, kc::checkpoint_status::completed);
  EXPECT_EQ(listed[1].status, kc::checkpoint_status::incomplete);
  EXPECT_EQ(listed[2].status, kc::checkpoint_status::unreadable);
  kc::restore_point point;
  const auto refused = kc::find_restore_point(*reader, kc::on_unreadable_completed::refuse, point);
  EXPECT_EQ(refused.code, kc::errc::checkpoint_corrupt);
  EXPECT_NE(refused.detail.find("topic " + topic_ + " key chk/3/completed"), std::string::npos)
      << refused.detail;
  ASSERT_FALSE(
      kc::find_restore_point(*reader, kc::on_unreadable_completed::fall_back_report, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 1);
  EXPECT_EQ(point.skipped_incomplete, (std::vector<kc::checkpoint_id>{2}));
  EXPECT_EQ(point.next_id, 4);
}

TEST_F(KafkaCheckpointStoreLive, OldCheckpointsAreRemovedByTombstones) {
  auto store = open_store(2);
  complete_checkpoint(*store, 1);
  ASSERT_FALSE(store->write_part(sample_part(2, 1)));  // never completes
  complete_checkpoint(*store, 3);
  complete_checkpoint(*store, 4);
  const auto records = keys_and_sizes();
  // 2 went at 3's completion, 1 at 4's, right after 4's completion record: the completion
  // record's tombstone before the parts'.
  ASSERT_GE(records.size(), 4u);
  EXPECT_EQ(records[records.size() - 4].substr(0, 16), "chk/4/completed ");
  const std::vector<std::string> tail(records.end() - 3, records.end());
  EXPECT_EQ(tail,
            (std::vector<std::string>{"chk/1/completed -1", "chk/1/part/0 -1", "chk/1/part/1 -1"}));
  EXPECT_NE(std::find(records.begin(), records.end(), "chk/2/part/1 -1"), records.end());
  auto reader = open_store();
  std::vector<kc::stored_checkpoint> listed;
  ASSERT_FALSE(reader->list(listed));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, 3);
  EXPECT_EQ(listed[1].id, 4);
}

TEST_F(KafkaCheckpointStoreLive, ATopicThatIsNotCompactedOrHasMorePartitionsIsRefused) {
  kwire::test::broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
  s.negotiate();
  ASSERT_EQ(kwire::test::create_topic(s, topic_, 2, 1, {{"cleanup.policy", "compact"}}), "");
  auto error = open_store()->open();
  EXPECT_EQ(error.code, kc::errc::checkpoint_topic_unsuitable);
  EXPECT_NE(error.detail.find("topic " + topic_ + " has 2 partitions"), std::string::npos)
      << error.detail;

  topic_ += "-delete";
  ASSERT_EQ(kwire::test::create_topic(s, topic_, 1, 1, {{"cleanup.policy", "delete"}}), "");
  error = open_store()->open();
  EXPECT_EQ(error.code, kc::errc::checkpoint_topic_unsuitable);
  EXPECT_NE(error.detail.find("topic " + topic_ + " has cleanup.policy=delete"), std::string::npos)
      << error.detail;

  // A reader that must not create the topic: an error, and still no topic.
  topic_ += "-missing";
  kc::kafka_checkpoint_store::options options;
  options.create_topic = false;
  kc::kafka_checkpoint_store reader(io_.io.get_executor(), config_, topic_, std::move(options));
  EXPECT_TRUE(reader.open());
  EXPECT_EQ(topic_config("cleanup.policy"), std::nullopt);
}

}  // namespace
