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

// Through the admin client: the consumer's own lookup needs the topics in its metadata
// (OffsetFetch v10 names topics by id), and these partitions are not assigned yet.
checkpoint_error committed_offsets(client::admin& admin, const std::string& group,
                                   const std::vector<client::topic_partition>& partitions,
                                   partition_offsets& out) {
  auto [ec, committed] = blocking_call<client::group_offsets>(
      [&](auto done) { admin.async_list_group_offsets(group, partitions, {}, std::move(done)); });
  if (ec)
    return {ec, "the committed offsets of group \"" + group +
                    "\": " + (committed.message.empty() ? ec.message() : committed.message)};
  for (const auto& p : committed.partitions)
    if (p.offset >= 0) out[{p.topic, p.partition}] = p.offset;
  return {};
}

}  // namespace

checkpoint_error gather_start_lookups(client::admin& admin, const kafka_source_settings& settings,
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
    if (auto e = committed_offsets(admin, *c.group_id, partitions, out.committed)) return e;
  if (from == start_from::timestamp)
    return list_offsets(admin, c, partitions, client::offset_spec::at(settings.start.timestamp_ms),
                        out.at_timestamp);
  return {};
}

}  // namespace kwire::connector::detail
