#include "kwire/connector/watermarks.hpp"

#include <algorithm>
#include <set>

namespace kwire::connector {

std::optional<event_time> bounded_out_of_orderness::after_record(const source_record&,
                                                                 event_time t) {
  max_seen_ = std::max(max_seen_, t);
  return std::nullopt;
}

std::optional<event_time> bounded_out_of_orderness::on_periodic() {
  if (max_seen_ == no_watermark) return std::nullopt;
  return max_seen_ - delay_.count() - 1;
}

subtask_watermarks::subtask_watermarks(watermark_settings settings, steady_time now)
    : settings_(std::move(settings)), next_periodic_(now + settings_.interval) {}

subtask_watermarks::partition_state& subtask_watermarks::partition(
    const client::topic_partition& tp, steady_time now) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) {
    it = partitions_.emplace(tp, partition_state{}).first;
    it->second.assigner = settings_.assigners(tp);
    it->second.last_record = now;  // active from now: it gets idle_timeout to say something
  }
  return it->second;
}

void subtask_watermarks::assign(const std::vector<client::topic_partition>& partitions,
                                steady_time now) {
  const std::set<client::topic_partition> wanted(partitions.begin(), partitions.end());
  std::erase_if(partitions_, [&](const auto& entry) { return !wanted.contains(entry.first); });
  last_ = nullptr;
  for (const auto& tp : partitions) partition(tp, now);
}

event_time subtask_watermarks::on_record(const source_record& record, steady_time now) {
  // Records come in runs of one partition: the last one is found without building a key.
  if (!last_ || record.partition != last_key_->partition || record.topic != last_key_->topic) {
    const client::topic_partition tp{std::string(record.topic), record.partition};
    last_ = &partition(tp, now);
    last_key_ = &partitions_.find(tp)->first;
  }
  auto& p = *last_;
  p.last_record = now;
  p.idle = false;
  const auto t =
      p.assigner ? p.assigner->extract_timestamp(record, record.timestamp) : record.timestamp;
  if (p.assigner)
    if (const auto w = p.assigner->after_record(record, t)) p.watermark = std::max(p.watermark, *w);
  return t;
}

std::optional<event_time> subtask_watermarks::advance(steady_time now) {
  if (now >= next_periodic_) {
    for (auto& [tp, p] : partitions_)
      if (p.assigner)
        if (const auto w = p.assigner->on_periodic()) p.watermark = std::max(p.watermark, *w);
    next_periodic_ = now + settings_.interval;
  }
  event_time lowest = std::numeric_limits<event_time>::max();
  bool any_active = false;
  for (auto& [tp, p] : partitions_) {
    if (now - p.last_record >= settings_.idle_timeout) p.idle = true;
    if (p.idle) continue;
    any_active = true;
    lowest = std::min(lowest, p.watermark);
  }
  idle_ = !any_active;
  // An active partition without a watermark yet holds the subtask's back (lowest stays
  // no_watermark); an idle subtask emits nothing.
  if (!any_active || lowest == no_watermark || lowest <= current_) return std::nullopt;
  current_ = lowest;
  return current_;
}

}  // namespace kwire::connector
