// Choosing the partition of a produced record, as the Java client does.
//
// The producer decides in this order:
//  1. the record names a partition: that one (the caller's job, nothing here);
//  2. the user configured a `partitioner`: whatever it returns;
//  3. the record has a key and partitioner.ignore.keys is false: partition_for_key(), which
//     equals the Java client's BuiltInPartitioner.partitionForKey for every key and count, so
//     kwire and Java producers put the same key into the same partition;
//  4. otherwise the topic's sticky partition (KIP-480, KIP-794's uniform sticky partitioner
//     without adaptive load): keyless records fill one partition's batch, then move on.
// built_in_partition() does 3 and 4.
//
// Nothing here locks or keeps global state: the producer owns one sticky_partition_state per
// topic and one random source, and calls these under its own synchronisation.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string_view>

#include "kwire/protocol/record_batch.hpp"

namespace kwire::client {

// Kafka's 32-bit murmur2 (seed 0x9747b28c), bit for bit the Java client's Utils.murmur2,
// returned as the same signed value Java returns.
std::int32_t murmur2(std::span<const std::uint8_t> data) noexcept;

// Java's Utils.toPositive: clears the sign bit (not abs(): INT_MIN must not stay negative).
constexpr std::int32_t to_positive(std::int32_t value) noexcept { return value & 0x7fffffff; }

// The partition the Java client gives a keyed record: toPositive(murmur2(key)) % partition_count.
// partition_count must be positive. Counts all partitions, with a leader or not, so that a key
// keeps its partition while a broker is down.
std::int32_t partition_for_key(std::span<const std::uint8_t> key,
                               std::int32_t partition_count) noexcept;

// What the producer's metadata says about one topic's partitions when it picks one.
struct topic_partitions {
  std::int32_t count = 0;                     // partitions 0..count-1
  std::span<const std::int32_t> with_leader;  // those with a known leader, any order
};

// The random source for sticky choices. Owned and seeded by the producer; minstd_rand is fully
// specified by the standard, so a seed gives the same choices with any standard library.
using partition_random = std::minstd_rand;

// One topic's sticky partition for keyless records: stays on a partition until at least
// batch_size bytes went to it, then switches to another partition picked at random among those
// with a known leader (among all when none has one), never the same one twice in a row when
// there is a choice. No allocation.
//
// Usage, per keyless record: p = state.partition(...); append to p; state.record_appended(p,
// bytes appended, ...).
class sticky_partition_state {
 public:
  // batch_size: the producer's batch.size, in bytes.
  explicit sticky_partition_state(std::int32_t batch_size) noexcept;

  // The partition for the next keyless record. Picks one if there is none yet, or if the current
  // one is no longer below partitions.count (the topic shrank in metadata). partitions.count must
  // be positive.
  std::int32_t partition(const topic_partitions& partitions, partition_random& random);

  // Counts appended_bytes against `partition` and switches once batch_size bytes are reached.
  // Ignored unless `partition` is the current sticky one (a record placed before a switch).
  // switch_allowed: false while the current partition's open batch still has room, so a switch
  // does not leave a half-empty batch behind (Java's enableSwitch); the switch is then forced
  // at 2 x batch_size.
  void record_appended(std::int32_t partition, std::int32_t appended_bytes,
                       const topic_partitions& partitions, partition_random& random,
                       bool switch_allowed = true);

  // -1 before the first keyless record.
  std::int32_t current_partition() const noexcept { return current_partition_; }
  std::int64_t bytes_in_current_partition() const noexcept { return produced_bytes_; }

 private:
  void switch_partition(const topic_partitions& partitions, partition_random& random);

  std::int32_t batch_size_;
  std::int32_t current_partition_ = -1;
  std::int64_t produced_bytes_ = 0;
};

// The producer's built-in choice for a record that names no partition (steps 3 and 4 above).
struct partition_choice {
  std::int32_t partition = 0;
  // true: the choice came from the sticky state; the producer must report the appended bytes
  // with sticky_partition_state::record_appended().
  bool sticky = false;
};

// ignore_keys: partitioner.ignore.keys (keys then never pick the partition).
partition_choice built_in_partition(const protocol::optional_bytes& key, bool ignore_keys,
                                    sticky_partition_state& sticky,
                                    const topic_partitions& partitions, partition_random& random);

// A user-supplied partitioner (Java's partitioner.class). The producer calls it under its own
// synchronisation for every record that names no partition; the spans are valid only during
// the call.
class partitioner {
 public:
  virtual ~partitioner() = default;

  // Returns a partition in [0, partitions.count); the producer fails the record otherwise.
  virtual std::int32_t partition(std::string_view topic, const protocol::optional_bytes& key,
                                 const protocol::optional_bytes& value,
                                 const topic_partitions& partitions) = 0;
};

}  // namespace kwire::client
