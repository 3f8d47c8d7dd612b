#include "kwire/client/partitioner.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>

namespace kwire::client {

namespace {

constexpr std::uint32_t murmur2_seed = 0x9747b28cU;
constexpr std::uint32_t murmur2_multiplier = 0x5bd1e995U;
constexpr int murmur2_shift = 24;

// Unsigned arithmetic throughout: it wraps like Java's int, where signed overflow would be UB.
std::uint32_t load_little_endian_32(const std::uint8_t* bytes) noexcept {
  return static_cast<std::uint32_t>(bytes[0]) | static_cast<std::uint32_t>(bytes[1]) << 8 |
         static_cast<std::uint32_t>(bytes[2]) << 16 | static_cast<std::uint32_t>(bytes[3]) << 24;
}

// A uniform-enough index in [0, bound): minstd's range is ~2^31, so the modulo bias is < 2^-20
// for any realistic partition count. Modulo rather than std::uniform_int_distribution because
// the latter's output differs between standard libraries, and tests pin sequences by seed.
std::size_t random_index(partition_random& random, std::size_t bound) {
  return static_cast<std::size_t>(random() - partition_random::min()) % bound;
}

// A value of `candidates` picked at random, skipping `excluded` when it is there and is not the
// only candidate.
std::int32_t pick_other_than(std::span<const std::int32_t> candidates, std::int32_t excluded,
                             partition_random& random) {
  const auto excluded_at = std::find(candidates.begin(), candidates.end(), excluded);
  if (excluded_at == candidates.end() || candidates.size() == 1) {
    return candidates[random_index(random, candidates.size())];
  }
  // Draw among the others and step over the excluded slot: one draw, no retry loop.
  const auto excluded_index = static_cast<std::size_t>(excluded_at - candidates.begin());
  std::size_t index = random_index(random, candidates.size() - 1);
  if (index >= excluded_index) ++index;
  return candidates[index];
}

// The same over 0..count-1, without materialising the list.
std::int32_t pick_other_than(std::int32_t count, std::int32_t excluded, partition_random& random) {
  const auto bound = static_cast<std::size_t>(count);
  if (excluded < 0 || excluded >= count || count == 1) {
    return static_cast<std::int32_t>(random_index(random, bound));
  }
  auto partition = static_cast<std::int32_t>(random_index(random, bound - 1));
  if (partition >= excluded) ++partition;
  return partition;
}

}  // namespace

std::int32_t murmur2(std::span<const std::uint8_t> data) noexcept {
  const auto length = static_cast<std::uint32_t>(data.size());
  std::uint32_t hash = murmur2_seed ^ length;

  const std::size_t whole_words = data.size() / 4;
  for (std::size_t word = 0; word < whole_words; ++word) {
    std::uint32_t k = load_little_endian_32(data.data() + word * 4);
    k *= murmur2_multiplier;
    k ^= k >> murmur2_shift;
    k *= murmur2_multiplier;
    hash *= murmur2_multiplier;
    hash ^= k;
  }

  // The last 1-3 bytes, the highest first, as the reference falls through its switch.
  const std::uint8_t* tail = data.data() + whole_words * 4;
  switch (data.size() % 4) {
    case 3:
      hash ^= static_cast<std::uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      hash ^= static_cast<std::uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      hash ^= static_cast<std::uint32_t>(tail[0]);
      hash *= murmur2_multiplier;
      break;
    default:
      break;
  }

  hash ^= hash >> 13;
  hash *= murmur2_multiplier;
  hash ^= hash >> 15;
  return static_cast<std::int32_t>(hash);
}

std::int32_t partition_for_key(std::span<const std::uint8_t> key,
                               std::int32_t partition_count) noexcept {
  return to_positive(murmur2(key)) % partition_count;
}

sticky_partition_state::sticky_partition_state(std::int32_t batch_size) noexcept
    : batch_size_(batch_size) {}

std::int32_t sticky_partition_state::partition(const topic_partitions& partitions,
                                               partition_random& random) {
  if (current_partition_ < 0 || current_partition_ >= partitions.count) {
    switch_partition(partitions, random);
  }
  return current_partition_;
}

void sticky_partition_state::record_appended(std::int32_t partition, std::int32_t appended_bytes,
                                             const topic_partitions& partitions,
                                             partition_random& random, bool switch_allowed) {
  if (partition != current_partition_) return;
  produced_bytes_ += appended_bytes;
  const std::int64_t threshold = batch_size_;
  if ((switch_allowed && produced_bytes_ >= threshold) || produced_bytes_ >= 2 * threshold) {
    switch_partition(partitions, random);
  }
}

void sticky_partition_state::switch_partition(const topic_partitions& partitions,
                                              partition_random& random) {
  // Partitions without a leader would only queue records until metadata finds one; when no
  // partition has a leader, any is as good as another.
  current_partition_ = partitions.with_leader.empty()
                           ? pick_other_than(partitions.count, current_partition_, random)
                           : pick_other_than(partitions.with_leader, current_partition_, random);
  produced_bytes_ = 0;
}

partition_choice built_in_partition(const protocol::optional_bytes& key, bool ignore_keys,
                                    sticky_partition_state& sticky,
                                    const topic_partitions& partitions, partition_random& random) {
  if (key && !ignore_keys) {
    return {partition_for_key(*key, partitions.count), false};
  }
  return {sticky.partition(partitions, random), true};
}

}  // namespace kwire::client
