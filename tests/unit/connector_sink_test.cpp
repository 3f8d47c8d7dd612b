// The exactly-once sink's parts that need no broker: the transactional-id pool and the
// producer settings each guarantee runs with.
#include <gtest/gtest.h>

#include "kwire/connector/error.hpp"
#include "kwire/connector/kafka_sink.hpp"
#include "kwire/connector/kafka_sink_checks.hpp"
#include "kwire/connector/transactional_id_pool.hpp"

namespace kc = kwire::connector;

namespace {

std::string value_of(const kwire::client::properties& properties, const std::string& key) {
  std::string found;
  for (const auto& [k, v] : properties)
    if (k == key) found = v;
  return found;
}

struct settings_outcome {
  std::error_code ec;
  std::string message;
  kwire::client::properties properties;
  std::vector<std::string> warnings;
};

settings_outcome settings_of(const kc::kafka_sink_config& config) {
  settings_outcome out;
  out.ec = kc::sink_producer_properties(config, out.properties, out.message, out.warnings);
  return out;
}

kc::kafka_sink_config exactly_once() {
  kc::kafka_sink_config c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:9092"}};
  c.topic = "out";
  c.guarantee = kc::delivery_guarantee::exactly_once;
  c.transactional_id_prefix = "job";
  return c;
}

}  // namespace

TEST(TransactionalIdPool, NamesIdsPrefixSubtaskSlotAndParsesThemBack) {
  EXPECT_EQ(kc::make_transactional_id("copier", 3, 1), "copier-3-1");
  const auto parts = kc::parse_transactional_id("copier", "copier-3-1");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->subtask, 3);
  EXPECT_EQ(parts->slot, 1);
  // A prefix with dashes of its own still parses from the right.
  EXPECT_TRUE(kc::parse_transactional_id("a-b", "a-b-0-4").has_value());
  EXPECT_FALSE(kc::parse_transactional_id("copier", "other-3-1").has_value());
  EXPECT_FALSE(kc::parse_transactional_id("copier", "copier-3").has_value());
  EXPECT_FALSE(kc::parse_transactional_id("copier", "copier-x-1").has_value());
  EXPECT_FALSE(kc::parse_transactional_id("copier", "copier-3-1-2").has_value());
}

TEST(TransactionalIdPool, TakesSlotsInTurnAndRunsOutWhenEveryOneIsBusy) {
  kc::transactional_id_pool pool("p", 0, 3);
  EXPECT_EQ(pool.acquire(), 0);
  EXPECT_EQ(pool.acquire(), 1);
  pool.release(0);
  // The slot after the last one taken, not the lowest free one: ids cycle.
  EXPECT_EQ(pool.acquire(), 2);
  EXPECT_EQ(pool.acquire(), 0);
  EXPECT_EQ(pool.acquire(), std::nullopt);
  EXPECT_EQ(pool.busy_count(), 3);
  pool.release(1);
  EXPECT_EQ(pool.acquire(), 1);
  EXPECT_EQ(pool.id(1), "p-0-1");
}

TEST(TransactionalIdPool, ARestoredBusySlotIsNotHandedOut) {
  kc::transactional_id_pool pool("p", 2, 2);
  pool.mark_busy(0);
  EXPECT_EQ(pool.acquire(), 1);
  EXPECT_EQ(pool.acquire(), std::nullopt);
}

TEST(KafkaSinkSettings, GuaranteesForceAcksAllAndIdempotence) {
  kc::kafka_sink_config c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:9092"}};
  c.guarantee = kc::delivery_guarantee::at_least_once;
  const auto s = settings_of(c);
  ASSERT_FALSE(s.ec) << s.message;
  EXPECT_EQ(value_of(s.properties, "acks"), "all");
  EXPECT_EQ(value_of(s.properties, "enable.idempotence"), "true");
  EXPECT_EQ(value_of(s.properties, "transaction.timeout.ms"), "");
}

TEST(KafkaSinkSettings, RefusesWeakAcksUnderAGuaranteeNamingTheKey) {
  for (const auto* acks : {"0", "1"}) {
    auto c = exactly_once();
    c.properties.emplace_back("acks", acks);
    const auto s = settings_of(c);
    EXPECT_EQ(s.ec, make_error_code(kc::errc::invalid_config));
    EXPECT_NE(s.message.find(std::string("acks=") + acks), std::string::npos) << s.message;
  }
  auto none = exactly_once();
  none.guarantee = kc::delivery_guarantee::none;
  none.properties.emplace_back("acks", "1");
  EXPECT_FALSE(settings_of(none).ec);
}

TEST(KafkaSinkSettings, RefusesIdempotenceOffAndAUsersTransactionalId) {
  auto c = exactly_once();
  c.properties.emplace_back("enable.idempotence", "false");
  EXPECT_NE(settings_of(c).message.find("enable.idempotence"), std::string::npos);
  auto d = exactly_once();
  d.properties.emplace_back("transactional.id", "mine");
  const auto s = settings_of(d);
  EXPECT_EQ(s.ec, make_error_code(kc::errc::invalid_config));
  EXPECT_NE(s.message.find("transactional.id"), std::string::npos);
}

TEST(KafkaSinkSettings, ExactlyOnceNeedsAPrefixAndDefaultsTheTimeoutToFifteenMinutes) {
  auto c = exactly_once();
  c.transactional_id_prefix.clear();
  EXPECT_NE(settings_of(c).message.find("prefix"), std::string::npos);
  const auto s = settings_of(exactly_once());
  ASSERT_FALSE(s.ec) << s.message;
  EXPECT_EQ(value_of(s.properties, "transaction.timeout.ms"), "900000");
  auto given = exactly_once();
  given.properties.emplace_back("transaction.timeout.ms", "120000");
  EXPECT_EQ(value_of(settings_of(given).properties, "transaction.timeout.ms"), "120000");
  auto small_pool = exactly_once();
  small_pool.transactional_id_pool = 1;
  EXPECT_NE(settings_of(small_pool).message.find("pool"), std::string::npos);
}

TEST(KafkaSinkSettings, LogFailuresOnlyWarnsAndOnlyGoesWithAtLeastOnce) {
  kc::kafka_sink_config c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:9092"}};
  c.log_failures_only = true;
  const auto s = settings_of(c);
  ASSERT_FALSE(s.ec) << s.message;
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("no longer holds"), std::string::npos);
  auto e = exactly_once();
  e.log_failures_only = true;
  EXPECT_EQ(settings_of(e).ec, make_error_code(kc::errc::invalid_config));
}

TEST(KafkaSinkSettings, AnInvalidProducerPropertyIsRefusedByName) {
  auto c = exactly_once();
  c.properties.emplace_back("linger.msx", "5");
  const auto s = settings_of(c);
  EXPECT_EQ(s.ec, make_error_code(kc::errc::invalid_config));
  EXPECT_NE(s.message.find("linger.msx"), std::string::npos) << s.message;
}

TEST(KafkaSinkChecks, ATransactionTimeoutAboveTheBrokersMaximumIsRefusedNamingBoth) {
  kc::checkpoint_timing timing;
  timing.interval = std::chrono::milliseconds(1000);
  timing.timeout = std::chrono::milliseconds(60000);
  const auto r = kc::check_sink_timeouts(std::chrono::milliseconds(900001), 900000, timing);
  EXPECT_EQ(r.error.code, make_error_code(kc::errc::invalid_config));
  EXPECT_NE(r.error.detail.find("900001"), std::string::npos) << r.error.detail;
  EXPECT_NE(r.error.detail.find("transaction.max.timeout.ms 900000"), std::string::npos);
  EXPECT_FALSE(kc::check_sink_timeouts(std::chrono::milliseconds(900000), 900000, timing).error);
}

TEST(KafkaSinkChecks, OneCheckpointAboveTheTimeoutIsRefusedAndTwoWarned) {
  kc::checkpoint_timing timing;
  timing.interval = std::chrono::milliseconds(10000);
  timing.timeout = std::chrono::milliseconds(50000);
  // 60 s for one checkpoint: a 59 s transaction could be aborted before its checkpoint ends.
  EXPECT_TRUE(kc::check_sink_timeouts(std::chrono::milliseconds(59000), -1, timing).error);
  const auto warned = kc::check_sink_timeouts(std::chrono::milliseconds(100000), -1, timing);
  EXPECT_FALSE(warned.error);
  ASSERT_EQ(warned.warnings.size(), 1u);
  EXPECT_NE(warned.warnings[0].find("twice"), std::string::npos);
  const auto fine = kc::check_sink_timeouts(std::chrono::milliseconds(120000), -1, timing);
  EXPECT_FALSE(fine.error);
  EXPECT_TRUE(fine.warnings.empty());
}
