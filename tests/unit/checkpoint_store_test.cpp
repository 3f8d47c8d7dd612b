// The file checkpoint store and the restore selection: round trips, torn writes of
// checkpoints that never completed, corrupt and lost completed checkpoints, keep-last-N,
// format versions, and the job manifest.
#include <gtest/gtest.h>

#include "checkpoint_format.hpp"
#include "checkpoint_test_support.hpp"
#include "kwire/connector/checkpoint_restore.hpp"
#include "kwire/connector/file_checkpoint_store.hpp"
#include "kwire/connector/job_manifest.hpp"

namespace kc = kwire::connector;
using kc::testing::complete_checkpoint;
using kc::testing::ids_of;
using kc::testing::sample_part;
using kc::testing::scratch_directory;

namespace {

TEST(checkpoint_format, part_round_trip_and_damage) {
  const auto part = sample_part(42, 3);
  const auto bytes = kc::format::encode_part(part);
  kc::subtask_state back;
  ASSERT_FALSE(kc::format::decode_part(bytes, "part", back));
  EXPECT_EQ(back, part);

  auto truncated = bytes;
  truncated.resize(bytes.size() - 9);
  auto error = kc::format::decode_part(truncated, "part", back);
  EXPECT_EQ(error.code, kc::errc::checkpoint_corrupt);

  auto flipped = bytes;
  flipped[20] ^= 1;
  error = kc::format::decode_part(flipped, "part", back);
  EXPECT_EQ(error.code, kc::errc::checkpoint_corrupt);
  EXPECT_NE(error.detail.find("CRC-32C"), std::string::npos) << error.detail;

  // A manifest is not a part.
  error = kc::format::decode_part(kc::format::encode_manifest({}), "manifest", back);
  EXPECT_EQ(error.code, kc::errc::checkpoint_corrupt);
}

TEST(file_checkpoint_store, round_trip) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path() / "job");
  kc::job_manifest manifest;
  EXPECT_EQ(store.read_manifest(manifest).code, kc::errc::no_manifest);
  const auto written = kc::make_job_manifest(2, "pipeline", 5);
  ASSERT_FALSE(store.write_manifest(written));
  ASSERT_FALSE(store.read_manifest(manifest));
  EXPECT_EQ(manifest, written);

  complete_checkpoint(store, 7);
  kc::completed_checkpoint loaded;
  ASSERT_FALSE(store.load(7, loaded));
  EXPECT_EQ(loaded.id, 7);
  EXPECT_EQ(loaded.parallelism, 2);
  EXPECT_EQ(loaded.completed_ms, 1'700'000'000'007);
  ASSERT_EQ(loaded.parts.size(), 2u);
  EXPECT_EQ(loaded.parts[0], sample_part(7, 0));
  EXPECT_EQ(loaded.parts[1], sample_part(7, 1));

  std::vector<kc::stored_checkpoint> listed;
  ASSERT_FALSE(store.list(listed));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].status, kc::checkpoint_status::completed);
  EXPECT_EQ(listed[0].parts_present, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(store.load(8, loaded).code, kc::errc::checkpoint_not_found);
}

TEST(file_checkpoint_store, refuses_to_complete_without_every_part) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path());
  ASSERT_FALSE(store.write_part(sample_part(1, 0)));
  EXPECT_EQ(store.complete(1, 2, 0).code, kc::errc::checkpoint_part_missing);
  kc::completed_checkpoint loaded;
  EXPECT_EQ(store.load(1, loaded).code, kc::errc::checkpoint_not_completed);
  EXPECT_EQ(store.write_part(sample_part(0, 0)).code, kc::errc::invalid_argument);
}

TEST(checkpoint_restore, nothing_stored_starts_fresh) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path() / "never-written");
  kc::restore_point point;
  ASSERT_FALSE(kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point));
  EXPECT_FALSE(point.checkpoint);
  EXPECT_EQ(point.next_id, 1);
}

TEST(checkpoint_restore, torn_checkpoint_that_never_completed_is_skipped_with_a_warning) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path());
  complete_checkpoint(store, 1);
  // Checkpoint 2: one part written, the other torn (its temporary file), and the completion
  // record torn too (a crash before the rename).
  ASSERT_FALSE(store.write_part(sample_part(2, 0)));
  const auto chk2 = store.checkpoint_directory(2);
  kc::testing::write_bytes(chk2 / "part-00001.tmp-4242", {'K', 'W', 'C'});
  kc::testing::write_bytes(chk2 / "completed.tmp-4242", {'K'});

  kc::restore_point point;
  ASSERT_FALSE(kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 1);
  EXPECT_EQ(point.skipped_incomplete, (std::vector<kc::checkpoint_id>{2}));
  EXPECT_EQ(point.ids_present, (std::vector<kc::checkpoint_id>{1, 2}));
  EXPECT_EQ(point.completed_ids, (std::vector<kc::checkpoint_id>{1}));
  EXPECT_EQ(point.next_id, 3);
  ASSERT_FALSE(point.warnings.empty());
  EXPECT_NE(point.warnings[0].find("checkpoint 2 never completed (parts of subtasks 0 written)"),
            std::string::npos)
      << point.warnings[0];
}

TEST(checkpoint_restore, corrupt_newest_completed_checkpoint_is_refused_or_reported) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path());
  complete_checkpoint(store, 1);
  complete_checkpoint(store, 2);
  const auto damaged = store.checkpoint_directory(2) / "part-00001";
  kc::testing::flip_byte(damaged, 30);

  kc::completed_checkpoint loaded;
  auto error = store.load(2, loaded);
  EXPECT_EQ(error.code, kc::errc::checkpoint_corrupt);
  EXPECT_NE(error.detail.find("part-00001"), std::string::npos) << error.detail;

  kc::restore_point point;
  error = kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point);
  EXPECT_EQ(error.code, kc::errc::checkpoint_corrupt);
  EXPECT_FALSE(point.checkpoint);

  ASSERT_FALSE(kc::find_restore_point(store, kc::on_unreadable_completed::fall_back_report, point));
  ASSERT_TRUE(point.checkpoint);
  EXPECT_EQ(point.checkpoint->id, 1);
  ASSERT_EQ(point.skipped_unreadable.size(), 1u);
  EXPECT_EQ(point.skipped_unreadable[0].code, kc::errc::checkpoint_corrupt);
  ASSERT_FALSE(point.warnings.empty());
  EXPECT_NE(point.warnings[0].find("duplicates"), std::string::npos) << point.warnings[0];
}

TEST(checkpoint_restore, lost_part_or_damaged_completion_record_is_a_typed_error) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path());
  complete_checkpoint(store, 1);
  complete_checkpoint(store, 2);
  std::filesystem::remove(store.checkpoint_directory(2) / "part-00000");
  kc::restore_point point;
  EXPECT_EQ(kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point).code,
            kc::errc::checkpoint_part_missing);

  complete_checkpoint(store, 3);
  kc::testing::flip_byte(store.checkpoint_directory(3) / "completed", 12);
  std::vector<kc::stored_checkpoint> listed;
  ASSERT_FALSE(store.list(listed));
  EXPECT_EQ(listed.back().status, kc::checkpoint_status::unreadable);
  EXPECT_EQ(kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point).code,
            kc::errc::checkpoint_corrupt);
}

TEST(checkpoint_restore, part_replaced_after_completion_is_found) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path());
  complete_checkpoint(store, 1);
  auto other = sample_part(1, 1);
  other.positions[0].next_offset = 5;  // intact, but not what the completion record names
  ASSERT_FALSE(store.write_part(other));
  kc::completed_checkpoint loaded;
  EXPECT_EQ(store.load(1, loaded).code, kc::errc::checkpoint_corrupt);
}

TEST(file_checkpoint_store, keeps_the_last_n_completed) {
  scratch_directory dir;
  std::vector<std::string> warnings;
  kc::file_checkpoint_store store(
      dir.path(),
      {.keep_completed = 2, .warn = [&](std::string_view w) { warnings.emplace_back(w); }});
  complete_checkpoint(store, 1);
  ASSERT_FALSE(store.write_part(sample_part(2, 0)));  // 2 failed: never completed
  complete_checkpoint(store, 3);
  complete_checkpoint(store, 4);
  ASSERT_FALSE(store.write_part(sample_part(6, 1)));  // in progress
  complete_checkpoint(store, 5);
  EXPECT_EQ(ids_of(store), (std::vector<kc::checkpoint_id>{4, 5, 6}));
  EXPECT_TRUE(warnings.empty());
}

TEST(file_checkpoint_store, another_format_version_is_refused_naming_it) {
  scratch_directory dir;
  kc::file_checkpoint_store store(dir.path());
  ASSERT_FALSE(store.write_manifest(kc::make_job_manifest(1, "", 0)));
  kc::testing::set_format_version(dir.path() / "manifest", 7);
  kc::job_manifest manifest;
  auto error = store.read_manifest(manifest);
  EXPECT_EQ(error.code, kc::errc::unsupported_format_version);
  EXPECT_NE(error.detail.find("format version 7"), std::string::npos) << error.detail;

  complete_checkpoint(store, 1);
  kc::testing::set_format_version(store.checkpoint_directory(1) / "completed", 2);
  kc::restore_point point;
  error = kc::find_restore_point(store, kc::on_unreadable_completed::refuse, point);
  EXPECT_EQ(error.code, kc::errc::unsupported_format_version);
  EXPECT_NE(error.describe().find("format version 2, this kwire reads version 1"),
            std::string::npos)
      << error.describe();
}

TEST(job_manifest, parallelism_change_is_reported_and_ownership_kept) {
  const auto stored = kc::make_job_manifest(4, "p", 5);
  const auto wanted = kc::make_job_manifest(2, "p", 3);
  const auto r = kc::reconcile_manifest(stored, wanted);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.previous_parallelism, 4);
  EXPECT_EQ(r.previous_pool, 5);
  EXPECT_EQ(r.merged.parallelism, 2);
  EXPECT_EQ(r.merged.transactional_id_pool, 3);
  EXPECT_EQ(r.merged.owned_parallelism, 4);  // subtasks 2 and 3's ids are still the job's
  EXPECT_EQ(r.merged.owned_pool, 5);

  const auto same = kc::reconcile_manifest(stored, stored);
  EXPECT_FALSE(same.previous_parallelism);
  EXPECT_FALSE(same.previous_pool);
  EXPECT_EQ(same.merged, stored);
}

TEST(job_manifest, another_prefix_is_refused) {
  const auto r =
      kc::reconcile_manifest(kc::make_job_manifest(2, "a", 5), kc::make_job_manifest(2, "b", 5));
  EXPECT_EQ(r.error.code, kc::errc::manifest_mismatch);
  EXPECT_NE(r.error.detail.find("'a'"), std::string::npos);
  EXPECT_NE(r.error.detail.find("'b'"), std::string::npos);
}

}  // namespace
