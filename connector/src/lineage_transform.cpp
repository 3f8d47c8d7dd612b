#include "kwire/connector/lineage_transform.hpp"

#include "kwire/connector/lineage_audit.hpp"

namespace kwire::connector {

std::error_code lineage_transform::process(const source_record& input, record_emitter& out) {
  lineage_ = format_lineage(input.topic, input.partition, input.offset);
  headers_.clear();
  for (const auto& h : input.headers)
    if (h.key != lineage_header) headers_.push_back(h);  // a pipeline's output read again
  headers_.push_back({lineage_header, std::span<const std::uint8_t>(
                                          reinterpret_cast<const std::uint8_t*>(lineage_.data()),
                                          lineage_.size())});
  sink_record record;
  record.key = input.key;
  record.value = input.value;
  record.timestamp = input.timestamp;
  record.headers = headers_;
  if (mapping_ == value_mapping::upper && input.value) {
    value_.assign(input.value->begin(), input.value->end());
    for (auto& c : value_)
      if (c >= 'a' && c <= 'z') c = static_cast<std::uint8_t>(c - 'a' + 'A');
    record.value = std::span<const std::uint8_t>(value_);
  }
  return out.emit(record);
}

}  // namespace kwire::connector
