#include "kwire/protocol/errors.hpp"

#include <gtest/gtest.h>

namespace kp = kwire::protocol;

TEST(BrokerErrors, NamesAndRetriableFlagsFollowKafkasTable) {
  EXPECT_EQ(kp::broker_error_name(6), "NOT_LEADER_OR_FOLLOWER");
  EXPECT_TRUE(kp::is_retriable(kp::broker_error::not_leader_or_follower));
  EXPECT_FALSE(kp::is_retriable(kp::broker_error::topic_authorization_failed));
  EXPECT_EQ(kp::broker_error_name(-1), "UNKNOWN_SERVER_ERROR");
  EXPECT_EQ(kp::broker_error_name(32000), "UNKNOWN");
  EXPECT_FALSE(kp::broker_error_code(0));
  EXPECT_EQ(kp::broker_error_code(3), kp::broker_error::unknown_topic_or_partition);
}

TEST(ProtocolErrors, HaveTheirOwnCategory) {
  std::error_code ec = kp::errc::crc_mismatch;
  EXPECT_EQ(ec.category().name(), std::string("kwire.protocol"));
  EXPECT_FALSE(kp::is_retriable(ec));
  EXPECT_NE(ec.message().find("CRC"), std::string::npos);
}
