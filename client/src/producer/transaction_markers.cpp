#include "producer/transaction_markers.hpp"

namespace kwire::client::detail {

marker_search find_transaction_marker(std::span<const std::uint8_t> records,
                                      std::int64_t producer_id, std::int64_t from_offset) {
  marker_search out;
  out.next_offset = from_offset;
  protocol::record_batch_reader reader(records);
  protocol::record_batch_view batch;
  while (reader.next(batch)) {
    const auto& h = batch.header();
    if (h.last_offset() < from_offset) continue;  // a batch the fetch started inside
    out.next_offset = h.next_offset();
    if (!h.is_control() || h.producer_id != producer_id) continue;
    protocol::record_view record;
    auto cursor = batch.records();
    protocol::control_record_key key;
    if (!cursor.next(record) || protocol::parse_control_record_key(record, key)) {
      out.error = protocol::make_error_code(protocol::errc::invalid_record);
      return out;
    }
    if (key.type == protocol::control_type::commit || key.type == protocol::control_type::abort) {
      out.found = key.type;
      return out;
    }
  }
  out.error = reader.error();
  return out;
}

}  // namespace kwire::client::detail
