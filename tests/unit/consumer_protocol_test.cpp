#include "kwire/client/consumer_protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "kwire/protocol/errors.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;

namespace {

using bytes = std::vector<std::uint8_t>;

// Big-endian building blocks for expected encodings, written out from the schema
// (protocol/schema/ConsumerProtocolSubscription.json), not from kwire's writer.
void put16(bytes& b, std::int16_t v) {
  b.push_back(static_cast<std::uint8_t>(static_cast<std::uint16_t>(v) >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(bytes& b, std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(u >> shift));
}
void put_string(bytes& b, std::string_view s) {
  put16(b, static_cast<std::int16_t>(s.size()));
  b.insert(b.end(), s.begin(), s.end());
}

kc::member_subscription sample_subscription() {
  kc::member_subscription s;
  s.topics = {"orders", "audit"};
  s.user_data = {0xde, 0xad};
  // unsorted on purpose: Java writes topics and owned partitions sorted
  s.owned_partitions = {{"orders", 2}, {"audit", 0}, {"orders", 0}};
  s.generation_id = 7;
  s.rack_id = "r1";
  return s;
}

bytes expected_subscription(std::int16_t version) {
  bytes b;
  put16(b, version);
  put32(b, 2);
  put_string(b, "audit");
  put_string(b, "orders");
  put32(b, 2);
  b.push_back(0xde);
  b.push_back(0xad);
  if (version >= 1) {
    put32(b, 2);
    put_string(b, "audit");
    put32(b, 1);
    put32(b, 0);
    put_string(b, "orders");
    put32(b, 2);
    put32(b, 0);
    put32(b, 2);
  }
  if (version >= 2) put32(b, 7);
  if (version >= 3) put_string(b, "r1");
  return b;
}

TEST(ConsumerProtocol, SubscriptionBytesPerVersion) {
  for (std::int16_t version = 0; version <= 3; ++version) {
    bytes out;
    ASSERT_FALSE(kc::encode_subscription(sample_subscription(), version, out)) << version;
    EXPECT_EQ(out, expected_subscription(version)) << "version " << version;
  }
}

TEST(ConsumerProtocol, SubscriptionRoundTripDropsWhatTheVersionCannotCarry) {
  for (std::int16_t version = 0; version <= 3; ++version) {
    bytes out;
    ASSERT_FALSE(kc::encode_subscription(sample_subscription(), version, out));
    kc::member_subscription decoded;
    std::int16_t read_version = -5;
    ASSERT_FALSE(kc::decode_subscription(out, decoded, &read_version));
    EXPECT_EQ(read_version, version);
    EXPECT_EQ(decoded.topics, (std::vector<std::string>{"audit", "orders"}));
    EXPECT_EQ(decoded.user_data, sample_subscription().user_data);
    if (version >= 1) {
      const std::vector<kc::topic_partition> sorted{{"audit", 0}, {"orders", 0}, {"orders", 2}};
      EXPECT_EQ(decoded.owned_partitions, sorted);
    } else {
      EXPECT_TRUE(decoded.owned_partitions.empty());
    }
    EXPECT_EQ(decoded.generation_id, version >= 2 ? 7 : -1);
    EXPECT_EQ(decoded.rack_id, version >= 3 ? std::optional<std::string>("r1") : std::nullopt);
  }
}

TEST(ConsumerProtocol, EmptyUserDataAndAbsentRackAreNull) {
  kc::member_subscription s;
  s.topics = {"t"};
  bytes out;
  ASSERT_FALSE(kc::encode_subscription(s, 3, out));
  bytes expected;
  put16(expected, 3);
  put32(expected, 1);
  put_string(expected, "t");
  put32(expected, -1);  // user data null
  put32(expected, 0);   // no owned partitions
  put32(expected, -1);  // generation
  put16(expected, -1);  // rack null
  EXPECT_EQ(out, expected);
}

TEST(ConsumerProtocol, NewerVersionIsReadAsLatestIgnoringTrailingFields) {
  bytes b = expected_subscription(3);
  b[1] = 9;  // version 9
  b.insert(b.end(), {0x01, 0x02, 0x03});
  kc::member_subscription decoded;
  std::int16_t version = 0;
  ASSERT_FALSE(kc::decode_subscription(b, decoded, &version));
  EXPECT_EQ(version, 9);
  EXPECT_EQ(decoded.rack_id, std::optional<std::string>("r1"));
  EXPECT_EQ(decoded.generation_id, 7);

  bytes out;
  ASSERT_FALSE(kc::encode_subscription(sample_subscription(), 9, out));
  EXPECT_EQ(out, expected_subscription(3)) << "a version above 3 is written as 3";
}

TEST(ConsumerProtocol, MalformedInputIsAnError) {
  const bytes full = expected_subscription(3);
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    kc::member_subscription decoded;
    EXPECT_TRUE(kc::decode_subscription(std::span(full.data(), cut), decoded)) << "cut at " << cut;
  }
  bytes negative = full;
  negative[0] = 0xff;
  negative[1] = 0xff;
  kc::member_subscription decoded;
  EXPECT_EQ(kc::decode_subscription(negative, decoded), kp::errc::unsupported_version);
  bytes null_topics;
  put16(null_topics, 0);
  put32(null_topics, -1);
  put32(null_topics, -1);
  EXPECT_EQ(kc::decode_subscription(null_topics, decoded), kp::errc::invalid_length);

  bytes out;
  EXPECT_EQ(kc::encode_subscription(sample_subscription(), -1, out), kp::errc::unsupported_version);
  kc::member_subscription long_topic;
  long_topic.topics = {std::string(40000, 'x')};
  EXPECT_EQ(kc::encode_subscription(long_topic, 0, out), kp::errc::oversized);
}

TEST(ConsumerProtocol, AssignmentBytesAndRoundTrip) {
  kc::member_assignment a;
  a.partitions = {{"b", 1}, {"a", 0}, {"b", 0}};
  for (std::int16_t version = 0; version <= 3; ++version) {
    bytes expected;
    put16(expected, version);
    put32(expected, 2);
    put_string(expected, "b");
    put32(expected, 2);
    put32(expected, 1);
    put32(expected, 0);
    put_string(expected, "a");
    put32(expected, 1);
    put32(expected, 0);
    put32(expected, -1);
    bytes out;
    ASSERT_FALSE(kc::encode_assignment(a, version, out));
    EXPECT_EQ(out, expected) << version;

    kc::member_assignment decoded;
    std::int16_t read_version = -1;
    ASSERT_FALSE(kc::decode_assignment(out, decoded, &read_version));
    EXPECT_EQ(read_version, version);
    const std::vector<kc::topic_partition> grouped{{"b", 1}, {"b", 0}, {"a", 0}};
    EXPECT_EQ(decoded.partitions, grouped);
    EXPECT_TRUE(decoded.user_data.empty());
  }
  a.user_data = {1, 2, 3};
  bytes out;
  ASSERT_FALSE(kc::encode_assignment(a, 1, out));
  kc::member_assignment decoded;
  ASSERT_FALSE(kc::decode_assignment(out, decoded));
  EXPECT_EQ(decoded.user_data, a.user_data);
  out.pop_back();
  EXPECT_EQ(kc::decode_assignment(out, decoded), kp::errc::truncated);
}

}  // namespace
