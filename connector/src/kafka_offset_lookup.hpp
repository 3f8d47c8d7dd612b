// The source's blocking offset lookups through the admin client: ListOffsets and the group's
// committed offsets (OffsetFetch), gathered into start_lookups for the sans-io
// resolution. Called on the subtask's thread; the executor runs elsewhere.
#pragma once

#include <vector>

#include "kwire/client/admin.hpp"
#include "kwire/connector/kafka_source_config.hpp"
#include "kwire/connector/kafka_start_positions.hpp"

namespace kwire::connector::detail {

// ListOffsets of `partitions` at `spec`; offsets of -1 (no record at a timestamp) are left
// out of `out`.
checkpoint_error list_offsets(client::admin& admin, const client::consumer_config& config,
                              const std::vector<client::topic_partition>& partitions,
                              client::offset_spec spec, partition_offsets& out);

// What resolving `partitions` needs: earliest and latest always (stops, fallbacks), the
// committed offsets when the start may use them, the timestamp's offsets for a timestamp
// start. A restore needs only the earliest (and the latest for bounded stops).
checkpoint_error gather_start_lookups(client::admin& admin, const kafka_source_settings& settings,
                                      const std::vector<client::topic_partition>& partitions,
                                      bool restoring, start_lookups& out);

}  // namespace kwire::connector::detail
