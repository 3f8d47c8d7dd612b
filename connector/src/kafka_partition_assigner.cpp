#include "kwire/connector/kafka_partition_assigner.hpp"

namespace kwire::connector {

std::int32_t java_string_hash(std::string_view text) noexcept {
  // Unsigned arithmetic wraps as Java's int does; signed overflow would be undefined.
  std::uint32_t h = 0;
  for (const char c : text) h = 31U * h + static_cast<unsigned char>(c);
  return static_cast<std::int32_t>(h);
}

std::int32_t kafka_partition_owner(std::string_view topic, std::int32_t partition,
                                   std::int32_t parallelism) noexcept {
  const std::uint32_t scaled = static_cast<std::uint32_t>(java_string_hash(topic)) * 31U;
  const auto start = static_cast<std::int32_t>(scaled & 0x7FFFFFFFU) % parallelism;
  // Java's % keeps the sign of the dividend; partitions are never negative, so the two agree.
  return static_cast<std::int32_t>((static_cast<std::int64_t>(start) + partition) % parallelism);
}

std::int32_t kafka_source_partition_owner(const source_position& position,
                                          std::int32_t parallelism) noexcept {
  return kafka_partition_owner(position.topic, position.partition, parallelism);
}

}  // namespace kwire::connector
