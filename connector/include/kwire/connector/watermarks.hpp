// Event time: per-partition timestamp assigners and watermarks, merged per subtask (Flink's
// AssignerWithPeriodicWatermarks / AssignerWithPunctuatedWatermarks run per Kafka partition,
// and the idleness of FLIP-27's sources). Sans-io: records and the clock in, watermarks out.
//
// - Each partition a subtask reads gets its own assigner. Every record's event time comes
//   from extract_timestamp(), which receives the record's Kafka timestamp as Flink's
//   "previous element timestamp".
// - A periodic assigner is asked for its watermark every `interval` (default 200 ms); a
//   punctuated one after each record. A partition's watermark never decreases.
// - The subtask's watermark is the minimum over its active partitions, and it never
//   decreases either. A partition without a record for `idle_timeout` is idle and left out
//   until its next record, so one quiet partition does not hold the others back. A subtask
//   whose partitions are all idle, or that has none, is idle itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "kwire/client/topic_partition.hpp"
#include "kwire/connector/checkpoint_coordinator.hpp"
#include "kwire/connector/record.hpp"

namespace kwire::connector {

// Milliseconds since the epoch, as Kafka's timestamps. no_watermark: none yet.
using event_time = std::int64_t;
inline constexpr event_time no_watermark = std::numeric_limits<event_time>::min();

class watermark_assigner {
 public:
  virtual ~watermark_assigner() = default;
  // The record's event time; by default its Kafka timestamp.
  virtual event_time extract_timestamp(const source_record& record, event_time kafka_timestamp) {
    (void)record;
    return kafka_timestamp;
  }
  // Punctuated: after each record, a watermark to emit, or nothing.
  virtual std::optional<event_time> after_record(const source_record& record, event_time t) {
    (void)record;
    (void)t;
    return std::nullopt;
  }
  // Periodic: every interval, the watermark to emit, or nothing.
  virtual std::optional<event_time> on_periodic() { return std::nullopt; }
};

// Periodic: the highest event time seen less `max_delay`, less 1 ms (a record at exactly
// the watermark would be late). Ascending timestamps: max_delay 0.
class bounded_out_of_orderness final : public watermark_assigner {
 public:
  explicit bounded_out_of_orderness(std::chrono::milliseconds max_delay) : delay_(max_delay) {}
  std::optional<event_time> after_record(const source_record&, event_time t) override;
  std::optional<event_time> on_periodic() override;

 private:
  std::chrono::milliseconds delay_;
  event_time max_seen_ = no_watermark;
};

using watermark_assigner_factory =
    std::function<std::unique_ptr<watermark_assigner>(const client::topic_partition&)>;

struct watermark_settings {
  watermark_assigner_factory assigners;  // required
  std::chrono::milliseconds interval{200};
  std::chrono::milliseconds idle_timeout{30000};
};

// One subtask's partitions and watermark.
class subtask_watermarks {
 public:
  subtask_watermarks(watermark_settings settings, steady_time now);

  // The partitions the subtask owns now: new ones get an assigner (active from `now`),
  // gone ones are dropped.
  void assign(const std::vector<client::topic_partition>& partitions, steady_time now);
  // A record handed out: its event time. A partition not assigned yet is added.
  event_time on_record(const source_record& record, steady_time now);
  // Runs the periodic assigners when due and the idleness checks; the subtask's watermark
  // when it advanced since the last call that returned one.
  std::optional<event_time> advance(steady_time now);

  event_time current() const noexcept { return current_; }
  bool idle() const noexcept { return idle_; }
  steady_time next_due() const noexcept { return next_periodic_; }

 private:
  struct partition_state {
    std::unique_ptr<watermark_assigner> assigner;
    event_time watermark = no_watermark;
    steady_time last_record{};
    bool idle = false;
  };
  partition_state& partition(const client::topic_partition& tp, steady_time now);

  watermark_settings settings_;
  std::map<client::topic_partition, partition_state> partitions_;
  partition_state* last_ = nullptr;  // on_record's last partition (map nodes do not move)
  const client::topic_partition* last_key_ = nullptr;
  steady_time next_periodic_;
  event_time current_ = no_watermark;
  bool idle_ = false;
};

}  // namespace kwire::connector
