// The checkpoint store over a keyed log (what the Kafka-topic store runs on a compacted
// topic), on a log in memory: record keys, the latest value per key and tombstones, round
// trips, two stores sharing one log, torn and corrupt records, keep-last-N by tombstones; and
// the Kafka store's topic settings and the check of an existing topic.
#include "log_checkpoint_store.hpp"

#include <gtest/gtest.h>

#include "checkpoint_format.hpp"
#include "checkpoint_test_support.hpp"
#include "kafka_checkpoint_log.hpp"
#include "kwire/connector/checkpoint_restore.hpp"
#include "kwire/connector/job_manifest.hpp"

namespace kc = kwire::connector;
namespace kd = kwire::connector::detail;
using kc::testing::complete_checkpoint;
using kc::testing::ids_of;
using kc::testing::sample_part;

namespace {

// A log in memory: the records every store appended, in order; each store reads on from
// where it stopped, as the Kafka log's consumer does.
class memory_log final : public kd::checkpoint_log {
 public:
  explicit memory_log(std::vector<kd::log_record>& records) : records_(records) {}
  kc::checkpoint_error append(const std::vector<kd::log_record>& records) override {
    records_.insert(records_.end(), records.begin(), records.end());
    return {};
  }
  kc::checkpoint_error read_new(const std::function<void(kd::log_record)>& apply) override {
    for (; read_ < records_.size(); ++read_) apply(records_[read_]);
    return {};
  }
  std::string name() const override { return "topic ckpt"; }

 private:
  std::vector<kd::log_record>& records_;
  std::size_t read_ = 0;
};

TEST(checkpoint_log_keys, round_trip_and_only_canonical_numbers) {
  EXPECT_EQ(kd::manifest_key(), "manifest");
  EXPECT_EQ(kd::part_key(42, 3), "chk/42/part/3");
  EXPECT_EQ(kd::completion_key(42), "chk/42/completed");
  EXPECT_EQ(kd::parse_log_key("manifest"), (kd::log_key{kd::log_key_kind::manifest}));
  EXPECT_EQ(kd::parse_log_key("chk/42/part/3"), (kd::log_key{kd::log_key_kind::part, 42, 3}));
  EXPECT_EQ(kd::parse_log_key("chk/42/part/0"), (kd::log_key{kd::log_key_kind::part, 42, 0}));
  EXPECT_EQ(kd::parse_log_key("chk/42/completed"), (kd::log_key{kd::log_key_kind::completion, 42}));
  for (const char* other :
       {"chk/042/completed", "chk/0/completed", "chk/42/part/03", "chk/42/part/-1", "chk/42/part/",
        "chk//completed", "chk/42", "chk/4x/completed", "chk/42/completed/", "manifest2", ""})
    EXPECT_EQ(kd::parse_log_key(other).kind, kd::log_key_kind::other) << other;
}

TEST(log_checkpoint_store, round_trip_between_two_stores_sharing_the_log) {
  std::vector<kd::log_record> records;
  memory_log writer_log(records), reader_log(records);
  kd::log_checkpoint_store writer(writer_log), reader(reader_log);
  kc::job_manifest manifest;
  EXPECT_EQ(reader.read_manifest(manifest).code, kc::errc::no_manifest);
  const auto written = kc::make_job_manifest(2, "p", 5);
  ASSERT_FALSE(writer.write_manifest(written));
  ASSERT_FALSE(reader.read_manifest(manifest));
  EXPECT_EQ(manifest, written);

  // Subtask 1's part comes from the other store (another process), then is written again.
  ASSERT_FALSE(writer.write_part(sample_part(1, 0)));
  auto first = sample_part(1, 1);
  first.positions[0].next_offset = 1;
  ASSERT_FALSE(reader.write_part(first));
  ASSERT_FALSE(reader.write_part(sample_part(1, 1)));  // the latest value counts
  ASSERT_FALSE(writer.complete(1, 2, 1234));

  std::vector<kc::stored_checkpoint> listed;
  ASSERT_FALSE(reader.list(listed));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, kc::checkpoint_status::completed);
  EXPECT_EQ(listed[0].parts_present, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(listed[0].completed_ms, 1234);
  EXPECT_EQ(listed[0].parallelism, 2);
  kc::completed_checkpoint loaded;
  ASSERT_FALSE(reader.load(1, loaded));
  EXPECT_EQ(loaded.parts, (std::vector<kc::subtask_state>{sample_part(1, 0), sample_part(1, 1)}));
  EXPECT_EQ(reader.load(7, loaded).code, kc::errc::checkpoint_not_found);

  // The values are the file store's encodings.
  EXPECT_EQ(records.front().key, "manifest");
  ASSERT_TRUE(records.front().value);
  EXPECT_EQ(*records.front().value, kc::format::encode_manifest(written));
}

TEST(log_checkpoint_store, refuses_to_complete_without_every_part) {
  std::vector<kd::log_record> records;
  memory_log log(records);
  kd::log_checkpoint_store store(log);
  ASSERT_FALSE(store.write_part(sample_part(1, 0)));
  const auto error = store.complete(1, 2, 0);
  EXPECT_EQ(error.code, kc::errc::checkpoint_part_missing);
  EXPECT_NE(error.detail.find("topic ckpt key chk/1/part/1"), std::string::npos) << error.detail;
  EXPECT_EQ(records.size(), 1u);  // no completion record written
  kc::completed_checkpoint loaded;
  EXPECT_EQ(store.load(1, loaded).code, kc::errc::checkpoint_not_completed);
  EXPECT_EQ(store.write_part(sample_part(0, 0)).code, kc::errc::invalid_argument);
}

TEST(log_checkpoint_store, incomplete_checkpoint_is_skipped_and_a_garbage_completion_refused) {
  std::vector<kd::log_record> records;
  memory_log log(records);
  kd::log_checkpoint_store store(log);
  complete_checkpoint(store, 1);
  ASSERT_FALSE(store.write_part(sample_part(2, 1)));  // 2 never completed
  kc::restore_point point;
  ASSERT_FALSE(kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 1);
  EXPECT_EQ(point.skipped_incomplete, (std::vector<kc::checkpoint_id>{2}));
  EXPECT_EQ(point.next_id, 3);

  // A value under a completion key that is no completion record (another writer).
  records.push_back({kd::completion_key(2), std::vector<std::uint8_t>{'j', 'u', 'n', 'k'}});
  std::vector<kc::stored_checkpoint> listed;
  ASSERT_FALSE(store.list(listed));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].status, kc::checkpoint_status::unreadable);
  const auto error = kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point);
  EXPECT_EQ(error.code, kc::errc::checkpoint_corrupt);
  EXPECT_NE(error.detail.find("topic ckpt key chk/2/completed"), std::string::npos) << error.detail;
  ASSERT_FALSE(kc::find_restore_point(store, kc::on_unreadable_completed::fall_back_report, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 1);
}

TEST(log_checkpoint_store, part_replaced_or_removed_after_completion_is_found) {
  std::vector<kd::log_record> records;
  memory_log log(records);
  kd::log_checkpoint_store store(log);
  complete_checkpoint(store, 1);
  auto other = sample_part(1, 1);
  other.positions[0].next_offset = 5;  // intact, but not what the completion record names
  ASSERT_FALSE(store.write_part(other));
  kc::completed_checkpoint loaded;
  EXPECT_EQ(store.load(1, loaded).code, kc::errc::checkpoint_corrupt);

  complete_checkpoint(store, 2);
  records.push_back({kd::part_key(2, 0), std::nullopt});  // a tombstone for a named part
  EXPECT_EQ(store.load(2, loaded).code, kc::errc::checkpoint_part_missing);
}

TEST(log_checkpoint_store, keeps_the_last_n_completed_by_tombstones_completion_first) {
  std::vector<kd::log_record> records;
  memory_log log(records);
  kd::log_checkpoint_store store(log, {.keep_completed = 2, .warn = {}});
  complete_checkpoint(store, 1);
  ASSERT_FALSE(store.write_part(sample_part(2, 0)));  // 2 failed: never completed
  complete_checkpoint(store, 3);
  complete_checkpoint(store, 4);
  ASSERT_FALSE(store.write_part(sample_part(6, 1)));  // in progress
  const auto before = records.size();
  complete_checkpoint(store, 5);
  EXPECT_EQ(ids_of(store), (std::vector<kc::checkpoint_id>{4, 5, 6}));
  // Completing 5 appended its part, its completion, then 3's tombstones: completion first.
  ASSERT_EQ(records.size(), before + 2 + 1 + 3);
  EXPECT_EQ(records[before + 3], (kd::log_record{kd::completion_key(3), std::nullopt}));
  EXPECT_EQ(records[before + 4], (kd::log_record{kd::part_key(3, 0), std::nullopt}));
  EXPECT_EQ(records[before + 5], (kd::log_record{kd::part_key(3, 1), std::nullopt}));
  // A store reading the whole log from the start sees the same.
  memory_log fresh_log(records);
  kd::log_checkpoint_store fresh(fresh_log);
  EXPECT_EQ(ids_of(fresh), (std::vector<kc::checkpoint_id>{4, 5, 6}));
}

TEST(kafka_checkpoint_topic, created_compacted_with_one_partition_and_replicated) {
  const auto one = kd::checkpoint_topic_spec("ck", 1);
  EXPECT_EQ(one.partitions, 1);
  EXPECT_EQ(one.replication_factor, 1);
  const auto five = kd::checkpoint_topic_spec("ck", 5);
  EXPECT_EQ(five.replication_factor, 3);
  const std::vector<std::pair<std::string, std::string>> wanted{{"cleanup.policy", "compact"},
                                                                {"min.insync.replicas", "2"}};
  EXPECT_EQ(five.configs, wanted);
}

TEST(kafka_checkpoint_topic, an_existing_topic_must_be_compacted_with_one_partition) {
  kwire::client::described_config configs;
  kwire::client::config_entry policy_entry;
  policy_entry.name = "cleanup.policy";
  policy_entry.value = "compact";
  configs.entries.push_back(policy_entry);
  EXPECT_FALSE(kd::check_checkpoint_topic("ck", 1, configs));
  auto error = kd::check_checkpoint_topic("ck", 3, configs);
  EXPECT_EQ(error.code, kc::errc::checkpoint_topic_unsuitable);
  EXPECT_NE(error.detail.find("topic ck has 3 partitions"), std::string::npos) << error.detail;
  for (const char* policy : {"delete", "compact,delete"}) {
    configs.entries[0].value = policy;
    error = kd::check_checkpoint_topic("ck", 1, configs);
    EXPECT_EQ(error.code, kc::errc::checkpoint_topic_unsuitable);
    EXPECT_NE(error.detail.find(std::string("topic ck has cleanup.policy=") + policy),
              std::string::npos)
        << error.detail;
  }
}

}  // namespace
