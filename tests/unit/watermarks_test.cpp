// Event time per partition: timestamps from the assigner (given the Kafka timestamp), periodic
// and punctuated watermarks, the subtask's minimum that never decreases, idle partitions left
// out, and an idle subtask.
#include "kwire/connector/watermarks.hpp"

#include <gtest/gtest.h>

namespace kc = kwire::connector;
using namespace std::chrono_literals;

namespace {

const kc::steady_time t0{};

kc::source_record at(const std::string& topic, std::int32_t partition, std::int64_t timestamp) {
  kc::source_record r;
  r.topic = topic;
  r.partition = partition;
  r.timestamp = timestamp;
  return r;
}

kc::watermark_settings bounded(std::chrono::milliseconds delay,
                               std::chrono::milliseconds idle = 30s) {
  kc::watermark_settings s;
  s.assigners = [delay](const kwire::client::topic_partition&) {
    return std::make_unique<kc::bounded_out_of_orderness>(delay);
  };
  s.idle_timeout = idle;
  return s;
}

const std::string topic = "t";

TEST(Watermarks, PeriodicIsTheMinimumOverPartitionsAndNeverDecreases) {
  kc::subtask_watermarks w(bounded(10ms), t0);
  w.assign({{topic, 0}, {topic, 1}}, t0);
  EXPECT_EQ(w.on_record(at(topic, 0, 1000), t0), 1000);
  EXPECT_FALSE(w.advance(t0 + 200ms)) << "partition 1 has no watermark yet: it holds back";
  w.on_record(at(topic, 1, 2000), t0 + 250ms);
  EXPECT_FALSE(w.advance(t0 + 300ms)) << "not due before the interval";
  EXPECT_EQ(w.advance(t0 + 400ms), 989);  // min(1000, 2000) - 10 - 1
  // An older record does not move a watermark back.
  w.on_record(at(topic, 0, 500), t0 + 450ms);
  EXPECT_FALSE(w.advance(t0 + 600ms));
  EXPECT_EQ(w.current(), 989);
  w.on_record(at(topic, 0, 3000), t0 + 650ms);
  EXPECT_EQ(w.advance(t0 + 800ms), 1989);  // partition 1 is the minimum now
}

TEST(Watermarks, AnIdlePartitionDoesNotHoldTheOthersBack) {
  kc::subtask_watermarks w(bounded(0ms, 1s), t0);
  w.assign({{topic, 0}, {topic, 1}}, t0);
  w.on_record(at(topic, 0, 5000), t0 + 100ms);
  EXPECT_FALSE(w.advance(t0 + 200ms)) << "partition 1 is not idle yet";
  w.on_record(at(topic, 0, 6000), t0 + 900ms);
  // 1 s after the assignment partition 1 said nothing: idle, left out.
  EXPECT_EQ(w.advance(t0 + 1000ms), 5999);
  EXPECT_FALSE(w.idle());
  // It comes back with an older record: it joins again, the watermark does not go back.
  w.on_record(at(topic, 1, 4000), t0 + 1100ms);
  EXPECT_FALSE(w.advance(t0 + 1200ms));
  EXPECT_EQ(w.current(), 5999);
}

TEST(Watermarks, ASubtaskWithoutPartitionsOrWithOnlyIdleOnesIsIdle) {
  kc::subtask_watermarks none(bounded(0ms, 1s), t0);
  EXPECT_FALSE(none.advance(t0 + 200ms));
  EXPECT_TRUE(none.idle());

  kc::subtask_watermarks w(bounded(0ms, 1s), t0);
  w.assign({{topic, 0}}, t0);
  w.on_record(at(topic, 0, 100), t0);
  EXPECT_EQ(w.advance(t0 + 200ms), 99);
  EXPECT_FALSE(w.idle());
  EXPECT_FALSE(w.advance(t0 + 1200ms));
  EXPECT_TRUE(w.idle());
  w.on_record(at(topic, 0, 200), t0 + 1300ms);
  EXPECT_EQ(w.advance(t0 + 1400ms), 199);
  EXPECT_FALSE(w.idle());
}

TEST(Watermarks, GonePartitionsAreDroppedAndNewOnesJoin) {
  kc::subtask_watermarks w(bounded(0ms), t0);
  w.assign({{topic, 0}, {topic, 1}}, t0);
  w.on_record(at(topic, 0, 100), t0);
  EXPECT_FALSE(w.advance(t0 + 200ms));
  w.assign({{topic, 0}}, t0 + 250ms);  // partition 1 went to another subtask
  EXPECT_EQ(w.advance(t0 + 400ms), 99);
  w.assign({{topic, 0}, {"u", 0}}, t0 + 450ms);  // a newly discovered partition holds back
  w.on_record(at(topic, 0, 300), t0 + 500ms);
  EXPECT_FALSE(w.advance(t0 + 600ms));
  w.on_record(at("u", 0, 250), t0 + 650ms);
  EXPECT_EQ(w.advance(t0 + 800ms), 249);
}

// Punctuated: a marker record carries the watermark in its key; event time from the value.
class marker_assigner final : public kc::watermark_assigner {
 public:
  kc::event_time extract_timestamp(const kc::source_record& r, kc::event_time kafka) override {
    previous_seen.push_back(kafka);
    return r.value ? std::stoll(std::string(r.value->begin(), r.value->end())) : kafka;
  }
  std::optional<kc::event_time> after_record(const kc::source_record& r, kc::event_time) override {
    if (!r.key) return std::nullopt;
    return std::stoll(std::string(r.key->begin(), r.key->end()));
  }
  std::vector<kc::event_time> previous_seen;
};

TEST(Watermarks, PunctuatedWatermarksComeWithTheirRecordAndTheAssignerGetsTheKafkaTimestamp) {
  marker_assigner* assigner = nullptr;
  kc::watermark_settings s;
  s.assigners = [&](const kwire::client::topic_partition&) {
    auto a = std::make_unique<marker_assigner>();
    assigner = a.get();
    return a;
  };
  kc::subtask_watermarks w(std::move(s), t0);
  const std::string value = "777", marker = "700";
  auto record = at(topic, 0, 42);
  record.value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size());
  EXPECT_EQ(w.on_record(record, t0), 777);
  ASSERT_NE(assigner, nullptr);
  EXPECT_EQ(assigner->previous_seen, (std::vector<kc::event_time>{42}));
  EXPECT_FALSE(w.advance(t0 + 1ms)) << "no marker yet";
  record.key = std::span(reinterpret_cast<const std::uint8_t*>(marker.data()), marker.size());
  w.on_record(record, t0 + 2ms);
  EXPECT_EQ(w.advance(t0 + 3ms), 700) << "a punctuated watermark does not wait for the interval";
}

}  // namespace
