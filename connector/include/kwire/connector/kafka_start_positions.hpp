// Where each partition starts and stops: decisions without I/O, from the answers the source
// gathered (ListOffsets for the earliest and latest offsets and for a timestamp, OffsetFetch
// for the group's committed offsets), so that every rule is testable without a broker.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "kwire/client/config.hpp"
#include "kwire/client/topic_partition.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/kafka_source_config.hpp"

namespace kwire::connector {

using partition_offsets = std::map<client::topic_partition, std::int64_t>;

// The brokers' answers for the partitions being resolved. A partition absent from a map was
// not asked about (or has no answer: no committed offset, no record at the timestamp).
struct start_lookups {
  partition_offsets committed;     // the group's committed offsets
  partition_offsets earliest;      // log start offsets
  partition_offsets latest;        // ends (last stable offsets under read_committed)
  partition_offsets at_timestamp;  // first offset with timestamp >= start.timestamp_ms
};

// The next offset to read of every partition in `partitions`:
//  - with `restored` (a restore): its offset when it names the partition, else the earliest
//    (a partition the checkpoint did not know, created since);
//  - otherwise by `start`; group offsets fall back to `reset` (auto.offset.reset) when the
//    group has none; `none` is refused (client::errc::no_offset, naming the partition).
// A lookup the rule needs and `lookups` lacks: errc::invalid_argument naming it.
checkpoint_error resolve_start_offsets(std::span<const client::topic_partition> partitions,
                                       const start_position& start, client::offset_reset reset,
                                       const partition_offsets* restored,
                                       const start_lookups& lookups, partition_offsets& out);

// The stop offset of every partition in `partitions` (stop.position), from the latest
// offsets looked up now; empty when unbounded.
checkpoint_error resolve_stop_offsets(std::span<const client::topic_partition> partitions,
                                      const stop_position& stop, const partition_offsets& latest,
                                      partition_offsets& out);

// Bounded reading of one partition, after a poll moved its position from below the stop to
// `position`.
struct stop_decision {
  bool finished = false;       // the partition reached its stop: read no more of it
  bool trim = false;           // the poll's records at or after `next_offset` are not handed out
  std::int64_t next_offset{};  // the position as of the records handed out
};
stop_decision decide_stop(std::int64_t position, std::optional<std::int64_t> stop) noexcept;

}  // namespace kwire::connector
