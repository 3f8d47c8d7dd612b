// The proof of a prepared transaction's outcome: the first transaction marker (control
// batch) its producer id wrote in a partition at or after the transaction's first offset
// there. Sans-io: reads the records of a Fetch response.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <system_error>

#include "kwire/protocol/record_batch.hpp"

namespace kwire::client::detail {

struct marker_search {
  std::optional<protocol::control_type> found;  // COMMIT or ABORT, once seen
  std::int64_t next_offset = -1;                // where to fetch on from (no marker yet)
  std::error_code error;                        // the records could not be read
};

// Looks through `records` (a Fetch response partition's batches) for a control batch of
// `producer_id` at or after `from_offset`.
marker_search find_transaction_marker(std::span<const std::uint8_t> records,
                                      std::int64_t producer_id, std::int64_t from_offset);

}  // namespace kwire::client::detail
