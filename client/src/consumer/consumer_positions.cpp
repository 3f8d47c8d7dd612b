// consumer_positions.hpp: the assigned partitions, their positions, and the fetched records
// that wait for poll.
#include "consumer/consumer_positions.hpp"

#include <algorithm>
#include <cassert>

namespace kwire::client::detail {

assigned_partition* consumer_positions::find(const topic_partition& tp) {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : &it->second;
}

assigned_partition* consumer_positions::find(const fetched_chunk& chunk) {
  auto it = partitions_.find(partition_key{*chunk.topic, chunk.partition});
  return it == partitions_.end() ? nullptr : &it->second;
}

std::vector<topic_partition> consumer_positions::set_assignment(
    const std::set<topic_partition>& wanted) {
  std::erase_if(partitions_, [&](const auto& entry) { return !wanted.contains(entry.first); });
  {
    std::lock_guard lock(snapshot_mutex_);
    std::erase_if(snapshot_, [&](const auto& entry) { return !wanted.contains(entry.first); });
  }
  std::vector<topic_partition> added;
  for (const auto& tp : wanted) {
    if (partitions_.contains(tp)) continue;
    assigned_partition p;
    p.tp = tp;
    p.topic = topic_name(tp.topic);
    start_position_lookup(p);
    publish(p);
    partitions_.emplace(tp, std::move(p));
    added.push_back(tp);
  }
  return added;
}

void consumer_positions::erase(const topic_partition& tp) {
  partitions_.erase(tp);
  std::lock_guard lock(snapshot_mutex_);
  snapshot_.erase(tp);
}

std::shared_ptr<const std::string> consumer_positions::topic_name(const std::string& name) {
  auto& slot = topic_names_[name];
  if (!slot) slot = std::make_shared<const std::string>(name);
  return slot;
}

void consumer_positions::start_position_lookup(assigned_partition& p) {
  if (config_.group_id) {
    p.phase = partition_phase::awaiting_committed;
  } else {
    reset_by_policy(p, make_error_code(errc::no_offset), {});
  }
}

std::int64_t consumer_positions::default_reset_timestamp() const {
  return config_.auto_offset_reset == offset_reset::earliest ? earliest_timestamp
                                                             : latest_timestamp;
}

void consumer_positions::invalidate_fetched(assigned_partition& p) {
  ++p.seek_generation;
  p.buffered = 0;
  std::erase_if(ready_, [&](const ready_chunk& c) {
    return c.chunk.partition == p.tp.partition && *c.chunk.topic == p.tp.topic;
  });
}

void consumer_positions::set_position(assigned_partition& p, std::int64_t offset,
                                      std::int32_t epoch) {
  invalidate_fetched(p);
  p.handed_out_in_poll = 0;  // a seek is the application's word: commit from there
  p.position = offset;
  p.fetch_offset = offset;
  p.position_epoch = epoch;
  p.last_fetched_epoch = epoch;
  p.phase = partition_phase::fetching;
  p.error.clear();
  publish(p);
}

void consumer_positions::reset_by_policy(assigned_partition& p, std::error_code cause,
                                         const diagnostics& diag) {
  if (config_.auto_offset_reset == offset_reset::none) return fail_partition(p, cause, diag);
  request_reset(p, default_reset_timestamp());
}

void consumer_positions::request_reset(assigned_partition& p, std::int64_t timestamp) {
  invalidate_fetched(p);
  p.phase = partition_phase::awaiting_reset;
  p.reset_timestamp = timestamp;
  p.error.clear();
}

void consumer_positions::fail_partition(assigned_partition& p, std::error_code ec, diagnostics diag,
                                        bool drop_buffered) {
  if (drop_buffered) invalidate_fetched(p);
  p.phase = partition_phase::failed;
  p.error = ec;
  diag.topic = p.tp.topic;
  diag.partition = p.tp.partition;
  p.error_details = std::move(diag);
}

void consumer_positions::publish(const assigned_partition& p) {
  std::lock_guard lock(snapshot_mutex_);
  auto& snap = snapshot_[p.tp];
  snap.position = p.position;
  snap.marks = p.marks;
  snap.fetched_from = p.fetched_from;
}

topic_partition_offsets consumer_positions::current_positions() const {
  topic_partition_offsets out;
  for (const auto& [tp, p] : partitions_)
    if (p.position >= 0) out[tp] = {p.position, p.position_epoch, {}};
  return out;
}

std::optional<offset_and_metadata> consumer_positions::consumed_position(
    const assigned_partition& p, bool closing) const {
  if (p.handed_out_in_poll == polls_ && p.handed_out_in_poll != 0 && !closing) {
    if (p.position_before_poll < 0) return std::nullopt;
    return offset_and_metadata{p.position_before_poll, p.position_epoch_before_poll, {}};
  }
  if (p.position < 0) return std::nullopt;
  return offset_and_metadata{p.position, p.position_epoch, {}};
}

topic_partition_offsets consumer_positions::consumed_positions(bool closing) const {
  topic_partition_offsets out;
  for (const auto& [tp, p] : partitions_)
    if (auto consumed = consumed_position(p, closing)) out[tp] = std::move(*consumed);
  return out;
}

void consumer_positions::add_ready(assigned_partition& p, ready_chunk chunk) {
  ++p.buffered;
  ready_.push_back(std::move(chunk));
}

handed_out_records consumer_positions::hand_out(std::size_t max_records) {
  handed_out_records set;
  std::size_t budget = max_records;
  for (auto it = ready_.begin(); it != ready_.end() && budget > 0;) {
    auto* p = find(it->chunk);
    if (!p || p->seek_generation != it->seek_generation) {
      it = ready_.erase(it);
      continue;
    }
    if (p->paused) {
      ++it;
      continue;
    }
    if (p->handed_out_in_poll != polls_) {
      p->handed_out_in_poll = polls_;
      p->position_before_poll = p->position;
      p->position_epoch_before_poll = p->position_epoch;
    }
    auto& chunk = it->chunk;
    // Whole batches that fit the budget, then part of the next one if any budget is left.
    std::size_t take = 0;
    std::size_t records = 0;
    while (take < chunk.batches.size() && records + it->counts[take] <= budget)
      records += it->counts[take++];
    const std::size_t part = take < chunk.batches.size() ? budget - records : 0;
    fetched_chunk out;
    out.topic = chunk.topic;
    out.partition = chunk.partition;
    out.owner = chunk.owner;
    out.first_offset = chunk.first_offset;
    out.resume = chunk.resume;
    const auto handed_batches = static_cast<std::ptrdiff_t>(take + (part > 0 ? 1 : 0));
    for (std::ptrdiff_t i = 0; i < handed_batches; ++i) {
      const auto& batch = chunk.batches[static_cast<std::size_t>(i)];
      const auto& h = batch.header();
      // A batch split between polls counts in the poll that hands out its end.
      if (static_cast<std::size_t>(i) < take) set.bytes += batch.records_section().size();
      if (h.partition_leader_epoch >= 0) p->position_epoch = h.partition_leader_epoch;
      p->position = h.base_offset + h.last_offset_delta + 1;
    }
    out.batches.assign(chunk.batches.begin(), chunk.batches.begin() + handed_batches);
    std::optional<protocol::record_cursor> rest;
    if (part > 0) {
      // The batch is shared with a later poll: this one ends after `part` of its records.
      rest = take == 0 && chunk.resume ? *chunk.resume : chunk.batches[take].records();
      std::int64_t offset = -1;
      std::size_t counted = 0;
      while (counted < part && rest->skip(offset))
        if (offset >= chunk.first_offset) ++counted;
      // The arrival check counted these records, so the walk finds them all.
      assert(counted == part);
      p->position = offset + 1;
      out.end_offset = p->position;
      records += part;
      it->counts[take] -= part;
    }
    if (take == chunk.batches.size()) {
      // Past the chunk's end: its last batches may be data of aborted transactions, which
      // read_committed drops (the position moves past them all the same).
      if (it->last_epoch >= 0) p->position_epoch = it->last_epoch;
      p->position = it->next_offset;
    }
    publish(*p);
    set.records += records;
    budget -= records;
    if (take == chunk.batches.size()) {
      --p->buffered;
      it = ready_.erase(it);
    } else {
      chunk.batches.erase(chunk.batches.begin(),
                          chunk.batches.begin() + static_cast<std::ptrdiff_t>(take));
      it->counts.erase(it->counts.begin(), it->counts.begin() + static_cast<std::ptrdiff_t>(take));
      if (take > 0 || rest) chunk.resume = rest;
      chunk.first_offset = p->position;
      ++it;
    }
    if (records > 0) set.chunks.push_back(std::move(out));
  }
  return set;
}

std::error_code consumer_positions::take_failure() {
  for (auto& [tp, p] : partitions_) {
    if (p.phase == partition_phase::failed && p.error && p.buffered == 0) {
      std::lock_guard lock(snapshot_mutex_);
      last_error_details_ = p.error_details;
      return p.error;
    }
  }
  return {};
}

std::vector<topic_partition> consumer_positions::assignment() const {
  std::lock_guard lock(snapshot_mutex_);
  std::vector<topic_partition> out;
  for (const auto& [tp, snap] : snapshot_) out.push_back(tp);
  return out;
}

std::optional<std::int64_t> consumer_positions::position(const topic_partition& tp) const {
  std::lock_guard lock(snapshot_mutex_);
  auto it = snapshot_.find(tp);
  if (it == snapshot_.end() || it->second.position < 0) return std::nullopt;
  return it->second.position;
}

std::optional<partition_watermarks> consumer_positions::watermarks(
    const topic_partition& tp) const {
  std::lock_guard lock(snapshot_mutex_);
  auto it = snapshot_.find(tp);
  if (it == snapshot_.end()) return std::nullopt;
  return it->second.marks;
}

std::optional<std::int32_t> consumer_positions::fetched_from(const topic_partition& tp) const {
  std::lock_guard lock(snapshot_mutex_);
  auto it = snapshot_.find(tp);
  if (it == snapshot_.end() || it->second.fetched_from < 0) return std::nullopt;
  return it->second.fetched_from;
}

diagnostics consumer_positions::last_error_details() const {
  std::lock_guard lock(snapshot_mutex_);
  return last_error_details_;
}

void consumer_positions::set_last_error_details(diagnostics details) {
  std::lock_guard lock(snapshot_mutex_);
  last_error_details_ = std::move(details);
}

}  // namespace kwire::client::detail
