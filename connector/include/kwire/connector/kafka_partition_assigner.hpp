// Which subtask reads a partition: the rule of Flink's Kafka connector
// (KafkaTopicPartitionAssigner, KafkaSourceEnumerator), so that a job moved from Flink keeps
// its partitions where they were. A topic's partitions go round the subtasks in order,
// starting at a subtask picked from the topic name's hash (so that topics with few
// partitions do not all start at subtask 0):
//
//   start = ((java_string_hash(topic) * 31) & 0x7FFFFFFF) % parallelism
//   owner = (start + partition) % parallelism
//
// with Java's int arithmetic (32-bit, wrapping).
#pragma once

#include <cstdint>
#include <string_view>

#include "kwire/connector/checkpoint_state.hpp"

namespace kwire::connector {

// Java's String.hashCode: h = 31 * h + c over the string's UTF-16 code units, wrapping at
// 32 bits. Kafka topic names are ASCII ([a-zA-Z0-9._-]), so the bytes are the code units.
std::int32_t java_string_hash(std::string_view text) noexcept;

// The subtask (0 .. parallelism-1) that reads `partition` of `topic`. parallelism > 0.
std::int32_t kafka_partition_owner(std::string_view topic, std::int32_t partition,
                                   std::int32_t parallelism) noexcept;

// The same, in the shape rescale_checkpoint's partition_owner takes (checkpoint_driver.hpp).
std::int32_t kafka_source_partition_owner(const source_position& position,
                                          std::int32_t parallelism) noexcept;

}  // namespace kwire::connector
