// A whole connector job (Kafka source -> a decoding transform -> exactly-once Kafka sink, file
// checkpoint store) against the real broker, for the two policies of a record the
// deserializer cannot read: an error restarts the job from its latest completed checkpoint
// and, once the restart budget is spent, ends it naming the record's topic, partition and
// offset; "skip" drops the record and counts it. Checked by what a read_committed reader
// (kcat) finds in the output, and the job's own source-to-commit latency figures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker_session.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/connector/deserializer.hpp"
#include "kwire/connector/file_checkpoint_store.hpp"
#include "kwire/connector/job.hpp"
#include "kwire/connector/kafka_partition_assigner.hpp"
#include "kwire/connector/kafka_sink.hpp"
#include "kwire/connector/kafka_source.hpp"
#include "kwire/connector/kafka_source_config.hpp"
#include "live_clients.hpp"

namespace kc = kwire::connector;
using namespace std::chrono_literals;

namespace {

// Decimal numbers; a value starting with "skip" is skipped, anything else is an error.
class number_deserializer final : public kc::value_deserializer<long> {
 public:
  kc::deserialized<long> deserialize(kwire::protocol::optional_bytes value) override {
    const std::string text = value ? std::string(value->begin(), value->end()) : std::string();
    if (text.rfind("skip", 0) == 0) return kc::skip_record{};
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
      return kc::deserialize_error{"not a number: '" + text + "'"};
    return std::stol(text);
  }
};

// Writes each number it decodes, doubled; counts what it skipped in `skipped`.
class doubler final : public kc::transform {
 public:
  explicit doubler(std::uint64_t& skipped) : skipped_(skipped) {}
  std::string participant_name() const override { return "doubler"; }
  kc::participant_bytes snapshot(kc::checkpoint_id) override { return {}; }
  std::error_code restore(std::span<const std::uint8_t>) override { return {}; }
  void notify_complete(kc::checkpoint_id) override {}
  void notify_aborted(kc::checkpoint_id) override {}

  std::error_code process(const kc::source_record& input, kc::record_emitter& out) override {
    long n = 0;
    kc::checkpoint_error error;
    const auto skipped_before = decoder_.skipped();
    const bool decoded = decoder_.decode(input, n, error);
    skipped_ += decoder_.skipped() - skipped_before;
    if (error) return error.code;
    if (!decoded) return {};
    text_ = std::to_string(2 * n);
    return out.emit({.value = kwire::test::bytes(text_)});
  }

 private:
  number_deserializer numbers_;
  kc::value_only<long> values_{numbers_};
  kc::record_decoder<long> decoder_{values_};
  std::uint64_t& skipped_;
  std::string text_;
};

// Writes nothing; keeps the event times it saw and the watermarks it was given.
class event_time_recorder final : public kc::transform {
 public:
  event_time_recorder(std::vector<std::int64_t>& times, std::vector<std::int64_t>& watermarks)
      : times_(times), watermarks_(watermarks) {}
  std::string participant_name() const override { return "event-times"; }
  kc::participant_bytes snapshot(kc::checkpoint_id) override { return {}; }
  std::error_code restore(std::span<const std::uint8_t>) override { return {}; }
  void notify_complete(kc::checkpoint_id) override {}
  void notify_aborted(kc::checkpoint_id) override {}
  std::error_code process(const kc::source_record& input, kc::record_emitter&) override {
    times_.push_back(input.timestamp);
    return {};
  }
  std::error_code on_watermark(std::int64_t watermark, kc::record_emitter&) override {
    watermarks_.push_back(watermark);
    return {};
  }

 private:
  std::vector<std::int64_t>& times_;
  std::vector<std::int64_t>& watermarks_;
};

class ConnectorJobLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker (KWIRE_BOOTSTRAP_FILE)";
    if (std::system("command -v kcat >/dev/null") != 0) GTEST_SKIP() << "no kcat on PATH";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto seed = std::to_string(::testing::UnitTest::GetInstance()->random_seed());
    const std::string name =
        std::string(info->name()) + "-" + seed + "-" + std::to_string(::getpid());
    in_ = "job-in-" + name;
    out_ = "job-out-" + name;
    prefix_ = "job-" + name;
    store_dir_ = std::filesystem::temp_directory_path() / ("kwire-job-live-" + name);
    std::filesystem::remove_all(store_dir_);
    kwire::test::broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    s.negotiate();
    ASSERT_EQ(kwire::test::create_topic(s, in_, 1, 1), "");
    ASSERT_EQ(kwire::test::create_topic(s, out_, 1, 1), "");
  }

  void TearDown() override {
    if (!store_dir_.empty()) std::filesystem::remove_all(store_dir_);
  }

  // Appends `values` to partition 0 of the input, one record each, through kcat.
  void produce(const std::vector<std::string>& values) {
    const std::string command = "kcat -P -b " + bootstrap_ + " -t " + in_ + " -p 0 2>&1";
    FILE* pipe = ::popen(command.c_str(), "w");
    ASSERT_NE(pipe, nullptr);
    for (const auto& v : values) std::fprintf(pipe, "%s\n", v.c_str());
    ASSERT_EQ(::pclose(pipe), 0) << "kcat -P failed";
  }

  static std::vector<std::string> numbers(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
    return out;
  }

  kc::job_result run(std::int32_t restart_attempts) {
    kc::kafka_source_config source;
    source.properties = {{"bootstrap.servers", bootstrap_},
                         {"isolation.level", "read_committed"},
                         {"fetch.max.wait.ms", "100"}};
    source.subscription = kc::topic_subscription::topic(in_);
    source.start = kc::start_position::earliest();
    source.commit_mode = kc::offset_commit_mode::disabled;
    // The event-time test's topic is created just before the job: on 3 nodes the source's
    // first metadata may not show its partitions yet; discovery picks them up then.
    if (watermarks_) source.partition_discovery_interval = 200ms;

    kc::kafka_sink_config sink;
    sink.properties = {{"bootstrap.servers", bootstrap_}, {"linger.ms", "5"}};
    sink.topic = out_;
    sink.guarantee = kc::delivery_guarantee::exactly_once;
    sink.transactional_id_prefix = prefix_;
    kwire::client::properties sweep;
    std::string message;
    std::vector<std::string> warnings;
    EXPECT_FALSE(kc::sink_producer_properties(sink, sweep, message, warnings)) << message;

    kc::job_settings job;
    job.parallelism = 1;
    job.timing.interval = 200ms;
    job.restart_attempts = restart_attempts;
    job.restart_delay = 100ms;
    job.transactional_id_prefix = prefix_;
    job.transactional_id_pool = sink.transactional_id_pool;
    job.sweep_producer_properties = sweep;
    job.executor = io_.io.get_executor();
    job.owner = kc::kafka_source_partition_owner;
    job.stop_after_idle = 1500ms;
    job.log = [this](std::string_view line) { log_.emplace_back(line); };
    job.watermarks = watermarks_;

    const kc::subtask_factory factory = [&](std::int32_t, std::int32_t, kc::job_subtask& subtask,
                                            std::string& why) {
      kc::kafka_source_settings settings;
      if (auto error = kc::validate_kafka_source_config(source, settings)) {
        why = error.describe();
        return error.code;
      }
      subtask.source =
          std::make_unique<kc::kafka_source>(io_.io.get_executor(), std::move(settings));
      if (watermarks_)
        subtask.transform = std::make_unique<event_time_recorder>(event_times_, emitted_);
      else
        subtask.transform = std::make_unique<doubler>(skipped_);
      subtask.sink = std::make_unique<kc::kafka_sink>(io_.io.get_executor(), sink);
      return std::error_code();
    };
    kc::file_checkpoint_store store(store_dir_);
    return kc::run_job(job, store, factory);
  }

  std::vector<std::string> output() {
    return kwire::test::kcat_values_by_partition(bootstrap_, out_, "read_committed")[0];
  }

  static std::vector<std::string> doubled(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) out.push_back(std::to_string(2 * i));
    return out;
  }

  kwire::test::io_thread io_;
  std::string bootstrap_;
  std::string in_;
  std::string out_;
  std::string prefix_;
  std::filesystem::path store_dir_;
  std::uint64_t skipped_ = 0;
  std::vector<std::string> log_;
  std::optional<kc::watermark_settings> watermarks_;
  std::vector<std::int64_t> event_times_;
  std::vector<std::int64_t> emitted_;
};

TEST_F(ConnectorJobLive, AnUnreadableRecordRestartsFromTheCheckpointThenEndsTheJobNamingIt) {
  produce(numbers(0, 50));
  const auto first = run(2);
  ASSERT_FALSE(first.error) << first.cause;
  ASSERT_GT(first.last_completed, 0);
  EXPECT_EQ(output(), doubled(0, 50));
  // Every record of the first run was committed by a checkpoint, and each has its latency.
  EXPECT_EQ(first.commit_latency.count(), 50);
  EXPECT_GT(first.commit_latency.quantile(0.99).count(), 0);

  produce({"x1"});  // offset 50
  produce(numbers(51, 60));
  const auto second = run(2);
  ASSERT_TRUE(second.error);
  EXPECT_EQ(second.error, kc::errc::deserialization_failed) << second.error.message();
  EXPECT_EQ(second.restarts, 2);
  EXPECT_GE(second.restored_from, first.last_completed) << "each attempt restores a checkpoint";
  EXPECT_NE(second.cause.find(in_ + "-0@50"), std::string::npos) << second.cause;
  EXPECT_NE(second.cause.find("giving up after 2 restarts"), std::string::npos) << second.cause;
  // Nothing past the unreadable record, nothing twice.
  EXPECT_EQ(output(), doubled(0, 50));
}

TEST_F(ConnectorJobLive, SkippedRecordsAreCountedAndEveryOtherRecordIsWrittenOnce) {
  auto values = numbers(0, 30);
  values.push_back("skip-me");  // offset 30
  for (const auto& v : numbers(30, 60)) values.push_back(v);
  values.push_back("skip-me-too");  // offset 61
  produce(values);
  const auto result = run(0);
  ASSERT_FALSE(result.error) << result.cause;
  EXPECT_EQ(skipped_, 2U);
  EXPECT_EQ(result.records_in, 62);
  EXPECT_EQ(result.records_out, 60);
  EXPECT_EQ(output(), doubled(0, 60));
}

}  // namespace

namespace {

TEST_F(ConnectorJobLive, AnIdlePartitionDoesNotHoldTheWatermarkBack) {
  // Two partitions; partition 0 gets a record every 100 ms for 3 s, with event times
  // 1000..1029, while the job runs; partition 1 gets none.
  in_ += "-2";
  {
    kwire::test::broker_session s(kwire::test::parse_bootstrap(bootstrap_).front(), 30s);
    s.negotiate();
    ASSERT_EQ(kwire::test::create_topic(s, in_, 2, 1), "");
  }
  kwire::client::producer_config config;
  ASSERT_FALSE(kwire::client::parse_producer_config(
      {{"bootstrap.servers", bootstrap_}, {"linger.ms", "0"}}, config));
  std::atomic<int> failed{0};
  std::atomic<bool> first_acknowledged{false};
  std::thread feeder([&] {
    kwire::client::producer p(io_.io.get_executor(), config);
    const std::string value = "v";
    for (int i = 0; i < 30; ++i) {
      if (p.send({.topic = in_,
                  .partition = 0,
                  .value = kwire::test::bytes(value),
                  .timestamp = 1000 + i},
                 [&](std::error_code ec, const kwire::client::delivery_report&) {
                   if (!ec) first_acknowledged = true;
                 }))
        ++failed;
      std::this_thread::sleep_for(100ms);
    }
    p.flush();
    p.async_close(10s, boost::asio::use_future).get();
  });
  kc::watermark_settings settings;
  settings.assigners = [](const kwire::client::topic_partition&) {
    return std::make_unique<kc::bounded_out_of_orderness>(5ms);
  };
  settings.idle_timeout = 1000ms;
  watermarks_ = settings;
  // The job ends once it has read everything and nothing came for 1.5 s: it starts after the
  // first record is in (the first produce to a new topic may take seconds on 3 nodes).
  for (int i = 0; i < 300 && !first_acknowledged; ++i) std::this_thread::sleep_for(50ms);
  if (!first_acknowledged) {
    feeder.join();
    FAIL() << "the first record was not acknowledged in 15 s";
  }
  const auto result = run(0);
  feeder.join();
  ASSERT_EQ(failed.load(), 0);
  ASSERT_FALSE(result.error) << result.cause;
  ASSERT_EQ(event_times_.size(), 30U);
  EXPECT_EQ(event_times_.front(), 1000) << "the event time is the Kafka timestamp by default";
  ASSERT_FALSE(emitted_.empty()) << "partition 1 never had a record: only its idleness lets the "
                                    "watermark advance";
  EXPECT_TRUE(std::is_sorted(emitted_.begin(), emitted_.end()));
  EXPECT_EQ(std::adjacent_find(emitted_.begin(), emitted_.end()), emitted_.end())
      << "a watermark is handed over only when it advanced";
  EXPECT_GT(emitted_.size(), 3U) << "it advanced with the records, not once at the end";
  EXPECT_EQ(emitted_.back(), 1029 - 5 - 1);
}

}  // namespace
