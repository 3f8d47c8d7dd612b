// Fetch sessions (KIP-227), sans-io: what each request names and forgets, and when the next
// request must be full again.
#include "consumer/fetch_session.hpp"

#include <gtest/gtest.h>

namespace kc = kwire::client;
using kc::detail::fetch_partition_map;
using kc::detail::fetch_session;

namespace {

fetch_partition_map at(std::initializer_list<std::pair<int, std::int64_t>> offsets) {
  fetch_partition_map m;
  for (const auto& [partition, offset] : offsets)
    m[kc::topic_partition{"t", partition}] = {.fetch_offset = offset, .max_bytes = 1 << 20};
  return m;
}

TEST(FetchSession, TheFirstRequestIsFullThenOnlyChangedPartitionsAreNamed) {
  fetch_session s;
  const auto first = s.plan(at({{0, 0}, {1, 0}}));
  EXPECT_TRUE(first.full);
  EXPECT_EQ(first.session_id, 0);
  EXPECT_EQ(first.session_epoch, 0);
  EXPECT_EQ(first.to_send.size(), 2u);
  s.on_success(first, 77);
  EXPECT_EQ(s.session_id(), 77);

  const auto second = s.plan(at({{0, 10}, {1, 0}}));
  EXPECT_FALSE(second.full);
  EXPECT_EQ(second.session_id, 77);
  EXPECT_EQ(second.session_epoch, 1);
  ASSERT_EQ(second.to_send.size(), 1u);
  EXPECT_EQ(second.to_send.begin()->first.partition, 0);
  EXPECT_TRUE(second.to_forget.empty());
  s.on_success(second, 77);

  const auto third = s.plan(at({{1, 5}}));
  EXPECT_EQ(third.session_epoch, 2);
  ASSERT_EQ(third.to_forget.size(), 1u);
  EXPECT_EQ(third.to_forget.front().partition, 0);
}

// Kafka closes a session that an incremental request empties and answers without a session
// id; asking on with the old id would only earn FETCH_SESSION_ID_NOT_FOUND.
TEST(FetchSession, ASessionTheBrokerClosedIsNotUsedAgain) {
  fetch_session s;
  const auto first = s.plan(at({{0, 0}}));
  s.on_success(first, 42);
  const auto forget_all = s.plan({});
  EXPECT_FALSE(forget_all.full);
  ASSERT_EQ(forget_all.to_forget.size(), 1u);
  s.on_success(forget_all, 0);
  EXPECT_EQ(s.session_id(), 0);
  EXPECT_EQ(s.in_session({"t", 0}), nullptr);
  const auto again = s.plan(at({{0, 3}}));
  EXPECT_TRUE(again.full);
  EXPECT_EQ(again.session_id, 0);
  EXPECT_EQ(again.session_epoch, 0);
}

TEST(FetchSession, BelowVersion7EveryRequestIsFullAndSessionless) {
  fetch_session s(false);
  const auto first = s.plan(at({{0, 0}}));
  EXPECT_TRUE(first.full);
  EXPECT_EQ(first.session_epoch, -1);
  s.on_success(first, 0);
  const auto second = s.plan(at({{0, 4}}));
  EXPECT_TRUE(second.full);
  EXPECT_EQ(second.session_epoch, -1);
}

}  // namespace
