// The log sink's filtering and format, the debug categories' parsing, the metrics counters
// and their Prometheus text.
#include "kwire/client/observability.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/client_counters.hpp"
#include "core/observer.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/metrics.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;

namespace {

TEST(LogCategories, ParsesNamesAndAll) {
  kc::log_categories set;
  ASSERT_FALSE(kc::parse_log_categories("broker, eos", set));
  EXPECT_TRUE(set.contains(kc::log_category::broker));
  EXPECT_TRUE(set.contains(kc::log_category::eos));
  EXPECT_FALSE(set.contains(kc::log_category::fetch));
  ASSERT_FALSE(kc::parse_log_categories("all", set));
  for (int i = 0; i < kc::log_category_count; ++i)
    EXPECT_TRUE(set.contains(static_cast<kc::log_category>(i)));
  EXPECT_EQ(set, kc::log_categories::all());
}

TEST(LogCategories, AnUnknownNameIsAnErrorNamingTheKeyAndTheAllowedOnes) {
  kc::log_categories set;
  set.add(kc::log_category::cgrp);
  const auto error = kc::parse_log_categories("broker,brokers", set, "-d");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "-d");
  EXPECT_NE(error->message.find("\"brokers\""), std::string::npos) << error->message;
  EXPECT_NE(error->message.find("all, broker, protocol, metadata, producer, eos, consumer, fetch, "
                                "cgrp, admin, security"),
            std::string::npos)
      << error->message;
  // Left as it was.
  EXPECT_TRUE(set.contains(kc::log_category::cgrp));
  EXPECT_FALSE(set.contains(kc::log_category::broker));
  EXPECT_TRUE(kc::parse_log_categories("", set));
}

TEST(LogSink, SilentByDefault) {
  kc::producer_config config;
  EXPECT_FALSE(config.observe.sink);
  EXPECT_TRUE(config.observe.debug.empty());
  const kd::observer o(config.observe, "producer", "kwire");
  EXPECT_FALSE(o.enabled(kc::log_level::error, kc::log_category::broker));
  EXPECT_FALSE(o.enabled(kc::log_level::debug, kc::log_category::broker));
}

TEST(LogSink, WarningsAlwaysDebugOnlyForEnabledCategories) {
  std::vector<std::string> lines;
  kc::observability settings;
  settings.sink = [&](const kc::log_record& r) {
    lines.push_back(std::string(kc::to_string(r.level)) + " " +
                    std::string(kc::to_string(r.category)) + " [" + std::string(r.client) + "] " +
                    std::string(r.message));
  };
  settings.debug.add(kc::log_category::eos);
  const kd::observer o(settings, "producer", "app-1");
  o.log(kc::log_level::debug, kc::log_category::broker, "not this ", 1);
  o.log(kc::log_level::debug, kc::log_category::eos, "producer id ", std::int64_t{42}, " epoch ",
        std::int16_t{3});
  o.log(kc::log_level::warn, kc::log_category::fetch,
        "failed: ", std::make_error_code(std::errc::connection_refused));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "DEBUG eos [producer app-1] producer id 42 epoch 3");
  EXPECT_EQ(lines[1], "WARN fetch [producer app-1] failed: " +
                          std::make_error_code(std::errc::connection_refused).message());
}

TEST(LogSink, StderrLineHasATimestampLevelCategoryAndClient) {
  const kc::log_record record{kc::log_level::info, kc::log_category::broker, "consumer c1",
                              "connected to node 1 (127.0.0.1:9092)"};
  const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764688801123));
  EXPECT_EQ(kc::format_log_line(record, when),
            "2025-12-02T15:20:01.123Z INFO broker [consumer c1] connected to node 1 "
            "(127.0.0.1:9092)");
}

TEST(ClientCounters, CountRequestsLatencyAndInFlight) {
  kd::client_counters counters;
  counters.requests_started.add(3);
  counters.request_finished(0, 1500, false);
  counters.request_finished(0, 500, false);
  counters.request_finished(3, 100, true);
  counters.set_lag("t", 0, 100, 60);
  counters.set_lag("t", 1, 10, 10);
  counters.set_lag("t", 1, 12, 10);
  const auto s = counters.snapshot("consumer", "c");
  EXPECT_EQ(s.requests_in_flight, 0u);
  ASSERT_EQ(s.requests.size(), 2u);
  EXPECT_EQ(s.requests[0].name, "Produce");
  EXPECT_EQ(s.requests[0].count, 2u);
  EXPECT_EQ(s.requests[0].latency_sum_us, 2000u);
  EXPECT_EQ(s.requests[0].latency_max_us, 1500u);
  EXPECT_EQ(s.requests[1].name, "Metadata");
  EXPECT_EQ(s.requests[1].errors, 1u);
  ASSERT_EQ(s.lag.size(), 2u);
  EXPECT_EQ(s.lag[0].lag, 40);
  EXPECT_EQ(s.lag[1].lag, 2);
  counters.forget_lag("t", 0);
  EXPECT_EQ(counters.snapshot("consumer", "c").lag.size(), 1u);
}

TEST(PrometheusText, HelpTypeAndSamplesWithEscapedLabels) {
  kc::client_metrics_snapshot s;
  s.kind = "producer";
  s.client_id = "app \"1\"";
  s.records_sent = 1000;
  s.buffer_bytes_queued = 0;
  s.buffer_memory = 33554432;
  s.requests.push_back({0, "Produce", 4, 1, 2500, 1000});
  const auto text = kc::to_prometheus_text(s, {{"job", "a\\b\nc"}});
  const std::string labels = R"({client_id="app \"1\"",job="a\\b\nc"})";
  EXPECT_NE(text.find("# HELP kwire_producer_records_sent_total "), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE kwire_producer_records_sent_total counter\n"
                      "kwire_producer_records_sent_total" +
                      labels + " 1000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE kwire_producer_buffer_memory_bytes gauge\n"
                      "kwire_producer_buffer_memory_bytes" +
                      labels + " 33554432\n"),
            std::string::npos)
      << text;
  const std::string api = R"({client_id="app \"1\"",job="a\\b\nc",api="Produce"})";
  EXPECT_NE(text.find("kwire_producer_requests_total" + api + " 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE kwire_producer_request_latency_seconds summary\n"
                      "kwire_producer_request_latency_seconds_sum" +
                      api +
                      " 0.002500\n"
                      "kwire_producer_request_latency_seconds_count" +
                      api + " 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("kwire_producer_request_latency_max_seconds" + api + " 0.001000\n"),
            std::string::npos)
      << text;
  // A producer has no consumer lines; every line is a comment or a sample.
  EXPECT_EQ(text.find("records_received"), std::string::npos);
  std::size_t at = 0;
  while (at < text.size()) {
    const auto end = text.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    const auto line = text.substr(at, end - at);
    EXPECT_TRUE(line.starts_with("# HELP kwire_") || line.starts_with("# TYPE kwire_") ||
                line.starts_with("kwire_producer_"))
        << line;
    at = end + 1;
  }
}

TEST(PrometheusText, ConsumerLagPerPartition) {
  kc::client_metrics_snapshot s;
  s.kind = "consumer";
  s.client_id = "c";
  s.records_received = 7;
  s.lag.push_back({"orders", 2, 50, 45, 5});
  const auto text = kc::to_prometheus_text(s);
  EXPECT_NE(text.find("kwire_consumer_records_received_total{client_id=\"c\"} 7\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE kwire_consumer_partition_lag gauge\n"
                      "kwire_consumer_partition_lag{client_id=\"c\",topic=\"orders\","
                      "partition=\"2\"} 5\n"),
            std::string::npos)
      << text;
}

}  // namespace
