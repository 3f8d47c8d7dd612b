// The checkpoint id the source commits with the group's offsets, and the refusal of a
// restore when the group names a newer completed checkpoint than the store holds.
#include <gtest/gtest.h>

#include "kwire/connector/group_checkpoint.hpp"

namespace kc = kwire::connector;

namespace {

TEST(KafkaGroupCheckpoint, Metadata) {
  EXPECT_EQ(kc::checkpoint_commit_metadata(42), "kwire-checkpoint=42");
  EXPECT_EQ(kc::parse_checkpoint_commit_metadata("kwire-checkpoint=42"), 42);
  EXPECT_EQ(kc::parse_checkpoint_commit_metadata(""), std::nullopt);
  EXPECT_EQ(kc::parse_checkpoint_commit_metadata("kwire-checkpoint="), std::nullopt);
  EXPECT_EQ(kc::parse_checkpoint_commit_metadata("kwire-checkpoint=4x"), std::nullopt);
  EXPECT_EQ(kc::parse_checkpoint_commit_metadata("kwire-checkpoint=0"), std::nullopt);
  EXPECT_EQ(kc::parse_checkpoint_commit_metadata("other=4"), std::nullopt);
}

TEST(KafkaGroupCheckpoint, RefusesWhenTheGroupIsAhead) {
  kc::restore_point point;
  point.ids_present = {8, 9, 10, 11};
  point.completed_ids = {8, 9, 10};  // 11 never completed
  EXPECT_FALSE(kc::check_group_checkpoint(point, "g", 0));
  EXPECT_FALSE(kc::check_group_checkpoint(point, "g", 9));
  EXPECT_FALSE(kc::check_group_checkpoint(point, "g", 10));
  // 11 is present but incomplete; the group committed it, so it did complete: its
  // completion record was lost.
  auto error = kc::check_group_checkpoint(point, "g", 11);
  EXPECT_EQ(error.code, kc::errc::completed_checkpoint_lost);
  EXPECT_NE(error.detail.find("checkpoint 11"), std::string::npos) << error.detail;
  EXPECT_NE(error.detail.find("store is 10"), std::string::npos) << error.detail;
  // Nothing left in the store at all.
  error = kc::check_group_checkpoint(kc::restore_point{}, "g", 3);
  EXPECT_EQ(error.code, kc::errc::completed_checkpoint_lost);
  EXPECT_NE(error.detail.find("store is none"), std::string::npos) << error.detail;
}

}  // namespace
