#include "kwire/connector/source_records.hpp"

namespace kwire::connector {

source_records::source_records(client::record_set set, std::vector<partition_limit> limits)
    : set_(std::move(set)), limits_(std::move(limits)), count_(set_.record_count()) {
  if (limits_.empty()) return;
  source_record r;
  for (auto c = set_.records(); c.next(r);)
    if (left_out(r)) --count_;
}

void source_records::clear() {
  set_ = client::record_set();
  limits_.clear();
  count_ = 0;
}

bool source_records::left_out(const source_record& record) const noexcept {
  // A handful of limits at most (partitions that reached their stop in this poll).
  for (const auto& limit : limits_)
    if (limit.partition == record.partition && limit.topic == record.topic)
      return record.offset >= limit.end_offset;
  return false;
}

bool source_records::cursor::next(source_record& out) {
  while (inner_.next(out))
    if (records_->limits_.empty() || !records_->left_out(out)) return true;
  return false;
}

}  // namespace kwire::connector
