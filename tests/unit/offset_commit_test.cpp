#include "group/offset_commit.hpp"

#include <gtest/gtest.h>

#include "group_test_support.hpp"

namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using kp::broker_error;

namespace {

using kd::testing::code;
const auto id_of = kd::testing::test_topic_id;

TEST(OffsetCommit, RequestIsFencedAndGroupedByTopic) {
  const kd::commit_identity fence{7, "m1", std::string("inst")};
  const auto request = kd::make_offset_commit(
      "g", fence, {{{"a", 0}, 10, 3, "x"}, {{"b", 1}, 20, -1, ""}, {{"a", 2}, 30, -1, ""}},
      {{"a", id_of(1)}});
  EXPECT_EQ(request.group_id, "g");
  EXPECT_EQ(request.generation_id_or_member_epoch, 7);
  EXPECT_EQ(request.member_id, "m1");
  EXPECT_EQ(request.group_instance_id, "inst");
  ASSERT_EQ(request.topics.size(), 2u);
  EXPECT_EQ(request.topics[0].name, "a");
  EXPECT_EQ(request.topics[0].topic_id, id_of(1));
  ASSERT_EQ(request.topics[0].partitions.size(), 2u);
  EXPECT_EQ(request.topics[0].partitions[1].committed_offset, 30);
  EXPECT_EQ(request.topics[0].partitions[0].committed_leader_epoch, 3);
  EXPECT_EQ(request.topics[0].partitions[0].committed_metadata, "x");
  EXPECT_TRUE(request.topics[1].topic_id.is_zero());
  for (std::int16_t version : {7, 9, 10}) {
    std::vector<std::uint8_t> out;
    EXPECT_FALSE(request.encode(out, version)) << version;
  }
  // A static member cannot commit below v7 (as Java: UnsupportedVersionException).
  std::vector<std::uint8_t> old;
  EXPECT_EQ(request.encode(old, 6), kp::errc::field_not_in_version);
  const auto anonymous = kd::make_offset_commit("g", std::nullopt, {{{"a", 0}, 1, -1, ""}});
  EXPECT_EQ(anonymous.generation_id_or_member_epoch, -1);
  EXPECT_EQ(anonymous.member_id, "");
}

kp::OffsetCommitResponse response_with(std::vector<std::pair<std::int32_t, std::int16_t>> errors) {
  kp::OffsetCommitResponse response;
  auto& topic = response.topics.emplace_back();
  topic.name = "a";
  for (auto [partition, error] : errors) topic.partitions.push_back({partition, error, {}});
  return response;
}

TEST(OffsetCommit, AllCommitted) {
  const auto result = kd::read_offset_commit_response(response_with({{0, 0}, {1, 0}}));
  EXPECT_EQ(result.committed.size(), 2u);
  EXPECT_FALSE(result.error);
  EXPECT_EQ(result.group_error, 0);
}

TEST(OffsetCommit, GenerationErrorsFailTheCommitAndReachTheGroup) {
  for (auto error : {broker_error::illegal_generation, broker_error::unknown_member_id,
                     broker_error::rebalance_in_progress, broker_error::fenced_instance_id,
                     broker_error::fenced_member_epoch}) {
    const auto result = kd::read_offset_commit_response(response_with({{0, 0}, {1, code(error)}}));
    EXPECT_EQ(result.committed.size(), 1u);
    ASSERT_EQ(result.failed.size(), 1u);
    EXPECT_EQ(result.failed[0].first.partition, 1);
    EXPECT_EQ(result.error, make_error_code(error));
    EXPECT_FALSE(result.retriable);
    EXPECT_EQ(result.group_error, code(error));
  }
}

TEST(OffsetCommit, RetriableErrors) {
  const auto moved =
      kd::read_offset_commit_response(response_with({{0, code(broker_error::not_coordinator)}}));
  EXPECT_TRUE(moved.retriable);
  EXPECT_EQ(moved.group_error, code(broker_error::not_coordinator));
  const auto loading = kd::read_offset_commit_response(
      response_with({{0, code(broker_error::coordinator_load_in_progress)}}));
  EXPECT_TRUE(loading.retriable);
  EXPECT_EQ(loading.group_error, 0);
  const auto too_large = kd::read_offset_commit_response(
      response_with({{0, code(broker_error::offset_metadata_too_large)}}));
  EXPECT_FALSE(too_large.retriable);
  EXPECT_EQ(too_large.group_error, 0);
}

TEST(OffsetCommit, V10ResponseNamesTopicsById) {
  kp::OffsetCommitResponse response;
  auto& topic = response.topics.emplace_back();
  topic.topic_id = id_of(9);
  topic.partitions.push_back({4, 0, {}});
  const auto result = kd::read_offset_commit_response(response, {{"nine", id_of(9)}});
  ASSERT_EQ(result.committed.size(), 1u);
  EXPECT_EQ(result.committed[0].topic, "nine");
  EXPECT_EQ(result.committed[0].partition, 4);
}

}  // namespace
