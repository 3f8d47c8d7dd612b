// What a source subtask implements (the Kafka source: FlinkKafkaConsumer / KafkaSource).
// One instance per subtask; every call comes from the subtask's thread. Besides its
// participant bytes, a source's state is typed (its partitions' positions) so that a restore
// can redistribute them over another parallelism.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/connector/checkpoint_participant.hpp"
#include "kwire/connector/record.hpp"
#include "kwire/connector/source_records.hpp"

namespace kwire::connector {

class source : public checkpoint_participant {
 public:
  // Subtask `subtask` of `parallelism`; picks its partitions, but reads nothing yet.
  virtual std::error_code open(std::int32_t subtask, std::int32_t parallelism) = 0;

  // Instead of the configured start positions: where to go on after a restore (the
  // positions of the partitions this subtask owns now, redistributed by the caller).
  // Before the first poll.
  virtual std::error_code restore_positions(std::span<const source_position> positions) = 0;

  // The next records, waiting up to `timeout` for some; an empty set when none came. The
  // records stay valid until the next poll. An error fails the pipeline (restart strategy).
  // A view rather than the client's record_set: a bounded source leaves out the records at
  // or after a partition's stop offset (source_records.hpp).
  virtual std::error_code poll(std::chrono::milliseconds timeout, source_records& out) = 0;

  // The next offset of every partition this subtask owns, as of the records handed out so
  // far: what checkpoint `id` stores. (snapshot() holds the source's other state.)
  virtual std::vector<source_position> positions(checkpoint_id id) = 0;

  // Bounded mode: every partition reached its stop offset.
  virtual bool finished() const = 0;

  // Every partition this subtask owns has been read up to its end as of the last poll (its
  // high watermark; under read_committed its last stable offset, and only when that equals
  // the high watermark: a partition waiting for an open transaction is not caught up). What
  // a job's idle stop waits for.
  virtual bool caught_up() const { return false; }

  // The partitions this subtask reads now (discovery may add some): each gets its own
  // watermark assigner (watermarks.hpp). Empty for a source without partitions.
  virtual std::vector<client::topic_partition> partitions() const { return {}; }
};

}  // namespace kwire::connector
