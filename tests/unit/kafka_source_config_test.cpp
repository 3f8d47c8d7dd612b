// Validation of the Kafka source's settings: every refusal names its key, and the commit
// mode follows from checkpointing, group.id and enable.auto.commit.
#include "kwire/connector/kafka_source_config.hpp"

#include <gtest/gtest.h>

namespace kc = kwire::connector;

namespace {

kc::kafka_source_config base() {
  kc::kafka_source_config c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:9092"}, {"group.id", "g"}};
  c.subscription = kc::topic_subscription::topic("in");
  return c;
}

// The refusal's sentence; empty when the config is accepted.
std::string refusal(const kc::kafka_source_config& c) {
  kc::kafka_source_settings s;
  const auto error = kc::validate_kafka_source_config(c, s);
  if (error) {
    EXPECT_EQ(error.code, kc::errc::invalid_config);
  }
  return error.detail;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

TEST(KafkaSourceConfig, DefaultsWithCheckpointing) {
  kc::kafka_source_settings s;
  ASSERT_FALSE(kc::validate_kafka_source_config(base(), s));
  EXPECT_EQ(s.commit_mode, kc::offset_commit_mode::on_checkpoint);
  EXPECT_FALSE(s.consumer.enable_auto_commit);
  EXPECT_EQ(s.start.from, kc::start_from::group_offsets);
  EXPECT_EQ(s.partition_discovery_interval.count(), 0);
  EXPECT_EQ(s.admin.bootstrap_servers, s.consumer.bootstrap_servers);
}

TEST(KafkaSourceConfig, AutoCommitWithCheckpointingIsRefusedNamingTheKey) {
  auto c = base();
  c.properties.emplace_back("enable.auto.commit", " TRUE ");
  EXPECT_TRUE(starts_with(refusal(c), "enable.auto.commit: ")) << refusal(c);
  c.properties.back().second = "false";  // allowed: it says what checkpointing does anyway
  EXPECT_EQ(refusal(c), "");
  c.commit_mode = kc::offset_commit_mode::kafka_auto_commit;
  EXPECT_TRUE(starts_with(refusal(c), "offset.commit.mode: ")) << refusal(c);
}

TEST(KafkaSourceConfig, CommitModeWithoutCheckpointing) {
  auto c = base();
  c.checkpointing = false;
  kc::kafka_source_settings s;
  ASSERT_FALSE(kc::validate_kafka_source_config(c, s));
  EXPECT_EQ(s.commit_mode, kc::offset_commit_mode::kafka_auto_commit);
  EXPECT_TRUE(s.consumer.enable_auto_commit);

  c.properties.emplace_back("enable.auto.commit", "false");
  ASSERT_FALSE(kc::validate_kafka_source_config(c, s));
  EXPECT_EQ(s.commit_mode, kc::offset_commit_mode::disabled);
  EXPECT_FALSE(s.consumer.enable_auto_commit);

  c.commit_mode = kc::offset_commit_mode::on_checkpoint;
  EXPECT_TRUE(starts_with(refusal(c), "offset.commit.mode: on_checkpoint needs checkpointing"));
}

TEST(KafkaSourceConfig, GroupIdRequiredWhereTheGroupIsUsed) {
  auto c = base();
  c.properties = {{"bootstrap.servers", "127.0.0.1:9092"}};
  EXPECT_TRUE(starts_with(refusal(c), "group.id: required by start.position group_offsets"));
  c.start = kc::start_position::earliest();
  kc::kafka_source_settings s;
  ASSERT_FALSE(kc::validate_kafka_source_config(c, s));
  EXPECT_EQ(s.commit_mode, kc::offset_commit_mode::disabled);  // nothing to commit to
  c.commit_mode = kc::offset_commit_mode::on_checkpoint;
  EXPECT_TRUE(starts_with(refusal(c), "group.id: required by offset.commit.mode on_checkpoint"));
}

TEST(KafkaSourceConfig, ClientPropertiesAreTheConsumers) {
  auto c = base();
  c.properties.emplace_back("isolation.level", "read_committed");
  kc::kafka_source_settings s;
  ASSERT_FALSE(kc::validate_kafka_source_config(c, s));
  EXPECT_EQ(s.consumer.isolation, kwire::client::isolation_level::read_committed);
  c.properties.emplace_back("acks", "all");  // a producer property
  EXPECT_TRUE(starts_with(refusal(c), "acks")) << refusal(c);
}

TEST(KafkaSourceConfig, Subscription) {
  auto c = base();
  c.subscription = {};
  EXPECT_TRUE(starts_with(refusal(c), "subscription: no topic and no pattern"));
  c.subscription = kc::topic_subscription::list({"a", ""});
  EXPECT_TRUE(starts_with(refusal(c), "subscription: a topic name is empty"));
  c.subscription = kc::topic_subscription::matching("in-(");
  EXPECT_TRUE(starts_with(refusal(c), "subscription: pattern \"in-(\" is not an ECMAScript"));
  c.subscription = {{"a"}, "b.*"};
  EXPECT_TRUE(starts_with(refusal(c), "subscription: give topics or a pattern, not both"));
  c.subscription = kc::topic_subscription::matching("in-.*");
  EXPECT_EQ(refusal(c), "");
}

TEST(KafkaSourceConfig, StartAndStopPositions) {
  auto c = base();
  c.start = kc::start_position::at(-5);
  EXPECT_TRUE(starts_with(refusal(c), "start.position: timestamp -5"));
  c.start = kc::start_position::specific({{{"in", 0}, -1}});
  EXPECT_TRUE(starts_with(refusal(c), "start.position: offset -1 for in-0"));
  c.start = kc::start_position::specific({{{"other", 0}, 3}});
  EXPECT_TRUE(starts_with(refusal(c), "start.position: other-0 is not of a subscribed topic"));
  c.start = kc::start_position::specific({{{"in", 0}, 3}});
  EXPECT_EQ(refusal(c), "");
  c.stop = kc::stop_position::given({});
  EXPECT_TRUE(starts_with(refusal(c), "stop.position: given_offsets without an offset"));
  c.stop = kc::stop_position::given({{{"in", -1}, 3}});
  EXPECT_TRUE(starts_with(refusal(c), "stop.position: partition -1"));
  c.stop = kc::stop_position::given({{{"in", 1}, 3}});
  EXPECT_EQ(refusal(c), "");
  c.partition_discovery_interval = std::chrono::milliseconds(-1);
  EXPECT_TRUE(starts_with(refusal(c), "partition.discovery.interval.ms: -1 is negative"));
}

}  // namespace
