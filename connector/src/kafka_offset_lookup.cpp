#include "kafka_offset_lookup.hpp"

#include "blocking_call.hpp"

namespace kwire::connector::detail {

checkpoint_error list_offsets(client::admin& admin, const client::consumer_config& config,
                              const std::vector<client::topic_partition>& partitions,
                              client::offset_spec spec, partition_offsets& out) {
  if (partitions.empty()) return {};
  std::vector<client::offset_query> queries;
  for (const auto& tp : partitions) queries.push_back({tp.topic, tp.partition, spec});
  client::list_offsets_options options;
  options.read_committed = config.isolation == client::isolation_level::read_committed;
  auto [ec, result] = blocking_call<client::list_offsets_result>(
      [&](auto done) { admin.async_list_offsets(std::move(queries), options, std::move(done)); });
  for (const auto& p : result.partitions) {
    if (p.error)
      return {p.error, "ListOffsets of " + p.topic + "-" + std::to_string(p.partition) + ": " +
                           (p.message.empty() ? p.error.message() : p.message)};
    if (p.offset >= 0) out[{p.topic, p.partition}] = p.offset;
  }
  if (ec) return {ec, "ListOffsets: " + ec.message()};
  return {};
}

namespace {

checkpoint_error committed_offsets(client::consumer& consumer,
                                   const std::vector<client::topic_partition>& partitions,
                                   partition_offsets& out) {
  auto [ec, committed] = blocking_call<client::topic_partition_offsets>(
      [&](auto done) { consumer.async_committed(partitions, std::move(done)); });
  if (ec) return {ec, "the group's committed offsets: " + ec.message()};
  for (const auto& [tp, offset] : committed)
    if (offset.offset >= 0) out[tp] = offset.offset;
  return {};
}

}  // namespace

checkpoint_error gather_start_lookups(client::admin& admin, client::consumer& consumer,
                                      const kafka_source_settings& settings,
                                      const std::vector<client::topic_partition>& partitions,
                                      bool restoring, start_lookups& out) {
  const auto& c = settings.consumer;
  if (auto e = list_offsets(admin, c, partitions, client::offset_spec::earliest(), out.earliest))
    return e;
  if (restoring && settings.stop.at == stop_at::none) return {};
  if (auto e = list_offsets(admin, c, partitions, client::offset_spec::latest(), out.latest))
    return e;
  if (restoring) return {};
  const auto from = settings.start.from;
  if ((from == start_from::group_offsets || from == start_from::specific_offsets) && c.group_id)
    if (auto e = committed_offsets(consumer, partitions, out.committed)) return e;
  if (from == start_from::timestamp)
    return list_offsets(admin, c, partitions, client::offset_spec::at(settings.start.timestamp_ms),
                        out.at_timestamp);
  return {};
}

}  // namespace kwire::connector::detail
