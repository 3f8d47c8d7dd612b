#include "kwire/connector/kafka_source.hpp"

#include <boost/asio/use_future.hpp>
#include <stdexcept>

#include "blocking_call.hpp"
#include "kafka_metadata_watch.hpp"
#include "kafka_offset_lookup.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/connector/group_checkpoint.hpp"
#include "kwire/connector/kafka_partition_assigner.hpp"
#include "topic_matcher.hpp"

namespace kwire::connector {

namespace asio = boost::asio;

kafka_source::kafka_source(asio::any_io_executor executor, kafka_source_settings settings,
                           std::string name)
    : executor_(std::move(executor)),
      settings_(std::move(settings)),
      name_(std::move(name)),
      matcher_(std::make_unique<detail::topic_matcher>(settings_.subscription)) {}

kafka_source::~kafka_source() {
  // Bounded waits: the executor's thread may be gone already. Nothing is committed here.
  if (consumer_) consumer_->async_close(asio::use_future).wait_for(std::chrono::seconds(30));
  consumer_.reset();
  admin_.reset();
  metadata_.reset();
}

std::error_code kafka_source::fail(checkpoint_error error) {
  last_error_ = std::move(error);
  return last_error_.code;
}

std::error_code kafka_source::open(std::int32_t subtask, std::int32_t parallelism) {
  if (parallelism <= 0 || subtask < 0 || subtask >= parallelism)
    return fail(
        {make_error_code(errc::invalid_argument),
         "subtask " + std::to_string(subtask) + " of parallelism " + std::to_string(parallelism)});
  if (consumer_) return fail({make_error_code(errc::invalid_argument), "opened twice"});
  subtask_ = subtask;
  parallelism_ = parallelism;
  try {
    metadata_ = std::make_unique<detail::metadata_watch>(executor_, settings_.consumer,
                                                         settings_.subscription);
    admin_ = std::make_unique<client::admin>(executor_, settings_.admin);
    consumer_ = std::make_unique<client::consumer>(executor_, settings_.consumer);
  } catch (const std::invalid_argument& e) {
    return fail({make_error_code(errc::invalid_config), e.what()});
  }
  const auto timeout = settings_.consumer.default_api_timeout;
  const auto topics = metadata_->wait_first(timeout);
  if (topics.version == 0)
    return fail({make_error_code(client::errc::operation_timed_out),
                 "no metadata for the subscription within default.api.timeout.ms (" +
                     std::to_string(timeout.count()) + " ms)"});
  metadata_version_ = topics.version;
  pending_start_ = owned_partitions(topics.partitions);
  next_discovery_ = std::chrono::steady_clock::now() + settings_.partition_discovery_interval;
  return {};
}

std::vector<client::topic_partition> kafka_source::owned_partitions(
    const std::map<std::string, std::int32_t>& topics) const {
  std::vector<client::topic_partition> owned;
  for (const auto& [topic, count] : topics) {
    if (!matcher_->matches(topic)) continue;
    for (std::int32_t p = 0; p < count; ++p)
      if (kafka_partition_owner(topic, p, parallelism_) == subtask_) owned.push_back({topic, p});
  }
  return owned;
}

std::error_code kafka_source::restore_positions(std::span<const source_position> positions) {
  if (started_)
    return fail({make_error_code(errc::invalid_argument), "restore_positions after the start"});
  partition_offsets restored;
  for (const auto& p : positions) {
    // A topic the subscription no longer covers is not read again.
    if (!matcher_->matches(p.topic)) {
      ++restored_dropped_;
      continue;
    }
    restored[{p.topic, p.partition}] = p.next_offset;
  }
  restored_ = std::move(restored);
  return {};
}

checkpoint_error kafka_source::start_partitions(const std::vector<client::topic_partition>& added,
                                                const partition_offsets* restored) {
  start_lookups lookups;
  if (auto e =
          detail::gather_start_lookups(*admin_, settings_, added, restored != nullptr, lookups))
    return e;
  partition_offsets starts;
  partition_offsets stops;
  if (auto e = resolve_start_offsets(added, settings_.start, settings_.consumer.auto_offset_reset,
                                     restored, lookups, starts))
    return e;
  if (auto e = resolve_stop_offsets(added, settings_.stop, lookups.latest, stops)) return e;
  for (const auto& tp : added) {
    auto& state = partitions_[tp];
    state.next_offset = starts.at(tp);
    if (const auto it = stops.find(tp); it != stops.end()) state.stop = it->second;
  }
  std::vector<client::topic_partition> all;
  for (const auto& [tp, state] : partitions_) all.push_back(tp);
  if (auto ec = consumer_->assign(std::move(all))) return {ec, "assigning partitions"};
  for (const auto& tp : added) {
    auto& state = partitions_.at(tp);
    // Explicit offsets: the position is known before any record comes.
    consumer_->seek(tp, state.next_offset);
    if (decide_stop(state.next_offset, state.stop).finished) finish_partition(tp, state);
  }
  return {};
}

checkpoint_error kafka_source::ensure_started() {
  if (started_) return {};
  if (!consumer_) return {make_error_code(errc::invalid_argument), "the source is not open"};
  if (auto e = start_partitions(pending_start_, restored_ ? &*restored_ : nullptr)) return e;
  pending_start_.clear();
  started_ = true;
  return {};
}

checkpoint_error kafka_source::discover() {
  if (settings_.partition_discovery_interval.count() == 0) return {};
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_discovery_) {
    // The answer shows up in a later poll; a poll never waits for metadata.
    metadata_->request_refresh();
    next_discovery_ = now + settings_.partition_discovery_interval;
  }
  const auto topics = metadata_->newest();
  if (topics.version == metadata_version_) return {};
  metadata_version_ = topics.version;
  std::vector<client::topic_partition> added;
  for (auto& tp : owned_partitions(topics.partitions))
    if (!partitions_.contains(tp)) added.push_back(std::move(tp));
  if (added.empty()) return {};
  // New partitions (and newly matching topics) are read from the earliest offset.
  static const partition_offsets none;
  if (auto e = start_partitions(added, &none)) return e;
  partitions_discovered_ += added.size();
  return {};
}

void kafka_source::finish_partition(const client::topic_partition& tp, partition_state& state) {
  state.finished = true;
  consumer_->pause({tp});
}

std::error_code kafka_source::poll(std::chrono::milliseconds timeout, source_records& out) {
  out.clear();
  if (auto e = ensure_started()) return fail(std::move(e));
  if (auto e = discover()) return fail(std::move(e));
  if (finished()) return {};
  auto [ec, set] = detail::blocking_call<client::record_set>(
      [&](auto done) { consumer_->async_poll(timeout, std::move(done)); });
  if (ec) return fail({ec, consumer_->last_error_details().describe(ec)});
  // The consumer's position moved past exactly the records of this set (it hands out in
  // order and we poll once at a time), except where a bounded partition went past its stop.
  std::vector<partition_limit> limits;
  for (auto& [tp, state] : partitions_) {
    if (state.finished) continue;
    const auto position = consumer_->position(tp);
    if (!position) continue;
    const auto decision = decide_stop(*position, state.stop);
    state.next_offset = decision.next_offset;
    if (decision.trim) limits.push_back({tp.topic, tp.partition, decision.next_offset});
    if (decision.finished) finish_partition(tp, state);
  }
  out = source_records(std::move(set), std::move(limits));
  records_handed_out_ += out.record_count();
  return {};
}

std::vector<source_position> kafka_source::positions(checkpoint_id id) {
  std::vector<source_position> out;
  if (auto e = ensure_started()) {
    // Not started (the next poll reports why): a restore's positions still stand.
    last_error_ = std::move(e);
    if (restored_)
      for (const auto& tp : pending_start_)
        if (const auto it = restored_->find(tp); it != restored_->end())
          out.push_back({tp.topic, tp.partition, it->second});
    return out;
  }
  partition_offsets stored;
  for (const auto& [tp, state] : partitions_) {
    out.push_back({tp.topic, tp.partition, state.next_offset});
    stored[tp] = state.next_offset;
  }
  if (settings_.commit_mode == offset_commit_mode::on_checkpoint)
    uncommitted_[id] = std::move(stored);
  return out;
}

participant_bytes kafka_source::snapshot(checkpoint_id) { return {}; }

std::error_code kafka_source::restore(std::span<const std::uint8_t> state) {
  // Version 1 keeps everything in the typed positions; bytes would be a later version's.
  if (!state.empty())
    return fail({make_error_code(errc::unsupported_format_version),
                 participant_name() + ": " + std::to_string(state.size()) +
                     " bytes of state; this kwire's Kafka source stores none"});
  return {};
}

void kafka_source::notify_complete(checkpoint_id id) {
  const auto it = uncommitted_.find(id);
  if (it != uncommitted_.end() && consumer_ && !it->second.empty()) {
    client::topic_partition_offsets offsets;
    const auto metadata = checkpoint_commit_metadata(id);
    for (const auto& [tp, offset] : it->second) offsets[tp] = {offset, -1, metadata};
    // Asynchronous: the group's offsets are for monitoring and a slow coordinator must not
    // hold the pipeline up (as Flink); the outcome is counted.
    consumer_->async_commit(std::move(offsets), [c = counters_, id](std::error_code ec) {
      if (!ec) {
        ++c->commits_succeeded;
        return;
      }
      ++c->commits_failed;
      std::lock_guard lock(c->mutex);
      c->last_commit_error = "checkpoint " + std::to_string(id) + ": " + ec.message();
    });
  }
  // Every checkpoint up to `id` is settled.
  uncommitted_.erase(uncommitted_.begin(), uncommitted_.upper_bound(id));
}

void kafka_source::notify_aborted(checkpoint_id id) { uncommitted_.erase(id); }

bool kafka_source::finished() const {
  if (settings_.stop.at == stop_at::none || !started_) return false;
  for (const auto& [tp, state] : partitions_)
    if (!state.finished) return false;
  return true;
}

bool kafka_source::caught_up() const {
  if (!started_ || !consumer_) return false;
  const bool read_committed =
      settings_.consumer.isolation == client::isolation_level::read_committed;
  for (const auto& [tp, state] : partitions_) {
    if (state.finished) continue;
    const auto marks = consumer_->watermarks(tp);
    if (!marks || marks->high_watermark < 0) return false;
    // Under read_committed an open transaction holds the last stable offset back: records
    // are still to come, so waiting for them is not idleness.
    if (read_committed && marks->last_stable_offset != marks->high_watermark) return false;
    if (state.next_offset < marks->high_watermark) return false;
  }
  return true;
}

kafka_source_metrics kafka_source::metrics() const {
  kafka_source_metrics m;
  m.records_handed_out = records_handed_out_;
  m.commits_succeeded = counters_->commits_succeeded.load();
  m.commits_failed = counters_->commits_failed.load();
  {
    std::lock_guard lock(counters_->mutex);
    m.last_commit_error = counters_->last_commit_error;
  }
  m.partitions_discovered = partitions_discovered_;
  m.restored_positions_dropped = restored_dropped_;
  return m;
}

std::vector<client::topic_partition> kafka_source::partitions() const {
  std::vector<client::topic_partition> out;
  for (const auto& [tp, state] : partitions_) out.push_back(tp);
  return out;
}

}  // namespace kwire::connector
