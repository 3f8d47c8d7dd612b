// What the Kafka source is told: the client's properties (Java names, passed to the consumer)
// and the source's own settings, validated once by validate_kafka_source_config() into
// kafka_source_settings, which the source takes. Each refusal is errc::invalid_config with a
// sentence that starts with the key and says what is allowed. The source's own keys, as
// errors and the README name them: subscription, start.position, stop.position,
// partition.discovery.interval.ms, offset.commit.mode.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/topic_partition.hpp"
#include "kwire/connector/error.hpp"

namespace kwire::connector {

// subscription: one topic, a list, or every topic whose whole name matches an ECMAScript
// regular expression (std::regex); exactly one of `topics` and `pattern`.
struct topic_subscription {
  std::vector<std::string> topics;
  std::optional<std::string> pattern;

  static topic_subscription topic(std::string name) { return {{std::move(name)}, {}}; }
  static topic_subscription list(std::vector<std::string> names) { return {std::move(names), {}}; }
  static topic_subscription matching(std::string regex) { return {{}, std::move(regex)}; }
};

// start.position: where a partition starts when no checkpoint names it.
enum class start_from : std::uint8_t {
  group_offsets,     // the group's committed offset; auto.offset.reset when it has none
  earliest,          // the log start offset
  latest,            // the end (the last stable offset under read_committed)
  timestamp,         // the first record at or after timestamp_ms; the end when none is
  specific_offsets,  // offsets[partition] (the next record to read); others: group_offsets
};

struct start_position {
  start_from from = start_from::group_offsets;
  std::int64_t timestamp_ms = -1;                             // timestamp
  std::map<client::topic_partition, std::int64_t> offsets{};  // specific_offsets

  static start_position group_offsets() { return {}; }
  static start_position earliest() { return {start_from::earliest}; }
  static start_position latest() { return {start_from::latest}; }
  static start_position at(std::int64_t ms) { return {start_from::timestamp, ms}; }
  static start_position specific(std::map<client::topic_partition, std::int64_t> offsets) {
    return {start_from::specific_offsets, -1, std::move(offsets)};
  }
};

// stop.position (bounded mode): no record at or after a partition's stop offset is handed
// out, and finished() turns true once every partition has reached its stop.
enum class stop_at : std::uint8_t {
  none,             // unbounded
  latest_at_start,  // the end of each partition when the source looks it up (start, discovery)
  given_offsets,    // offsets[partition]; a partition missing from the map: latest_at_start
};

struct stop_position {
  stop_at at = stop_at::none;
  std::map<client::topic_partition, std::int64_t> offsets{};

  static stop_position unbounded() { return {}; }
  static stop_position latest() { return {stop_at::latest_at_start}; }
  static stop_position given(std::map<client::topic_partition, std::int64_t> offsets) {
    return {stop_at::given_offsets, std::move(offsets)};
  }
};

// offset.commit.mode. The group's offsets are for monitoring (lag); the source never starts
// from them after a restore (the checkpoint's positions win).
enum class offset_commit_mode : std::uint8_t {
  on_checkpoint,      // after each completed checkpoint, its positions (needs checkpointing)
  kafka_auto_commit,  // the consumer's enable.auto.commit (only without checkpointing)
  disabled,
};
const char* to_string(offset_commit_mode mode) noexcept;
const char* to_string(start_from from) noexcept;

struct kafka_source_config {
  client::properties properties;  // the consumer's, e.g. bootstrap.servers, group.id
  topic_subscription subscription;
  start_position start;
  stop_position stop;
  std::chrono::milliseconds partition_discovery_interval{0};  // 0: no discovery
  bool checkpointing = true;                                  // the job takes checkpoints
  // Default: on_checkpoint with checkpointing; without, kafka_auto_commit when group.id is
  // set and enable.auto.commit is not false, else disabled.
  std::optional<offset_commit_mode> commit_mode;
};

// The validated form the source runs with.
struct kafka_source_settings {
  client::consumer_config consumer;  // enable.auto.commit set from the commit mode
  client::admin_config admin;        // the consumer's connection settings, for ListOffsets
  topic_subscription subscription;
  start_position start;
  stop_position stop;
  std::chrono::milliseconds partition_discovery_interval{0};
  bool checkpointing = true;
  offset_commit_mode commit_mode = offset_commit_mode::on_checkpoint;
  std::vector<std::string> warnings;  // the client's, for the log
};

// Validates `given` into `out`; on error `out` is left as it was.
checkpoint_error validate_kafka_source_config(const kafka_source_config& given,
                                              kafka_source_settings& out);

}  // namespace kwire::connector
