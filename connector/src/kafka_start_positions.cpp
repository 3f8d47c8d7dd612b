#include "kwire/connector/kafka_start_positions.hpp"

#include <string>

#include "kwire/client/error.hpp"

namespace kwire::connector {
namespace {

std::string name(const client::topic_partition& tp) {
  return tp.topic + "-" + std::to_string(tp.partition);
}

checkpoint_error missing(const char* what, const client::topic_partition& tp) {
  return {make_error_code(errc::invalid_argument),
          std::string("no ") + what + " offset looked up for " + name(tp)};
}

// Looks `tp` up in `offsets`; an error naming `what` when it is absent.
checkpoint_error find(const partition_offsets& offsets, const char* what,
                      const client::topic_partition& tp, std::int64_t& out) {
  const auto it = offsets.find(tp);
  if (it == offsets.end()) return missing(what, tp);
  out = it->second;
  return {};
}

checkpoint_error from_group(const client::topic_partition& tp, client::offset_reset reset,
                            const start_lookups& lookups, std::int64_t& out) {
  if (const auto it = lookups.committed.find(tp);
      it != lookups.committed.end() && it->second >= 0) {
    out = it->second;
    return {};
  }
  switch (reset) {
    case client::offset_reset::earliest:
      return find(lookups.earliest, "earliest", tp, out);
    case client::offset_reset::latest:
      return find(lookups.latest, "latest", tp, out);
    case client::offset_reset::none:
      break;
  }
  return {make_error_code(client::errc::no_offset),
          name(tp) + ": the group has no committed offset and auto.offset.reset is none"};
}

checkpoint_error start_offset(const client::topic_partition& tp, const start_position& start,
                              client::offset_reset reset, const start_lookups& lookups,
                              std::int64_t& out) {
  switch (start.from) {
    case start_from::group_offsets:
      return from_group(tp, reset, lookups, out);
    case start_from::earliest:
      return find(lookups.earliest, "earliest", tp, out);
    case start_from::latest:
      return find(lookups.latest, "latest", tp, out);
    case start_from::timestamp:
      // No record at or after the time (the last one is older): start at the end.
      if (const auto it = lookups.at_timestamp.find(tp);
          it != lookups.at_timestamp.end() && it->second >= 0) {
        out = it->second;
        return {};
      }
      return find(lookups.latest, "latest", tp, out);
    case start_from::specific_offsets:
      if (const auto it = start.offsets.find(tp); it != start.offsets.end()) {
        out = it->second;
        return {};
      }
      return from_group(tp, reset, lookups, out);
  }
  return {make_error_code(errc::invalid_argument), "unknown start position"};
}

}  // namespace

checkpoint_error resolve_start_offsets(std::span<const client::topic_partition> partitions,
                                       const start_position& start, client::offset_reset reset,
                                       const partition_offsets* restored,
                                       const start_lookups& lookups, partition_offsets& out) {
  partition_offsets result;
  for (const auto& tp : partitions) {
    std::int64_t offset = -1;
    checkpoint_error error;
    if (!restored) {
      error = start_offset(tp, start, reset, lookups, offset);
    } else if (const auto it = restored->find(tp); it != restored->end()) {
      offset = it->second;
    } else {
      error = find(lookups.earliest, "earliest", tp, offset);
    }
    if (error) return error;
    result[tp] = offset;
  }
  out = std::move(result);
  return {};
}

checkpoint_error resolve_stop_offsets(std::span<const client::topic_partition> partitions,
                                      const stop_position& stop, const partition_offsets& latest,
                                      partition_offsets& out) {
  partition_offsets result;
  if (stop.at != stop_at::none) {
    for (const auto& tp : partitions) {
      if (stop.at == stop_at::given_offsets) {
        if (const auto it = stop.offsets.find(tp); it != stop.offsets.end()) {
          result[tp] = it->second;
          continue;
        }
      }
      if (auto error = find(latest, "latest", tp, result[tp])) return error;
    }
  }
  out = std::move(result);
  return {};
}

stop_decision decide_stop(std::int64_t position, std::optional<std::int64_t> stop) noexcept {
  if (!stop || position < *stop) return {false, false, position};
  return {true, position > *stop, *stop};
}

}  // namespace kwire::connector
