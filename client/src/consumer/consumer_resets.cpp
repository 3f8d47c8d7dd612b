// consumer_resets.hpp: offset resets by ListOffsets.
#include "consumer/consumer_resets.hpp"

#include <algorithm>
#include <map>

namespace kwire::client::detail {

consumer_resets::consumer_resets(const consumer_config& config, cluster& brokers,
                                 consumer_positions& positions, consumer_driver& driver)
    : config_(config), cluster_(brokers), positions_(positions), driver_(driver) {}

void consumer_resets::drive(consumer_clock::time_point now,
                            consumer_clock::time_point& next_wakeup) {
  std::map<std::int32_t, std::vector<assigned_partition*>> by_leader;
  for (auto& [tp, p] : positions_.partitions()) {
    if (p.phase != partition_phase::awaiting_reset || p.list_offsets_in_flight) continue;
    if (p.retry_at > now) {
      next_wakeup = std::min(next_wakeup, p.retry_at);
      continue;
    }
    const auto leader = leader_of(cluster_.metadata(), tp);
    if (leader < 0) continue;  // metadata brings us back
    by_leader[leader].push_back(&p);
  }
  for (auto& [node, parts] : by_leader) {
    auto conn = cluster_.ready_connection(node);
    if (!conn) continue;
    const auto version = conn->version_for(protocol::ListOffsetsRequest::api_key);
    if (!version) {
      for (auto* p : parts)
        positions_.fail_partition(*p, make_error_code(errc::broker_too_old), {});
      continue;
    }
    protocol::ListOffsetsRequest request;
    request.replica_id = -1;
    request.isolation_level = config_.isolation == isolation_level::read_committed ? 1 : 0;
    request.timeout_ms = static_cast<std::int32_t>(config_.request_timeout.count());
    std::vector<sent_partition> sent;
    for (auto* p : parts) {
      auto* topic = &request.topics.emplace_back();
      if (request.topics.size() > 1 &&
          request.topics[request.topics.size() - 2].name == p->tp.topic) {
        request.topics.pop_back();
        topic = &request.topics.back();
      }
      topic->name = p->tp.topic;
      auto& part = topic->partitions.emplace_back();
      part.partition_index = p->tp.partition;
      std::int32_t epoch = -1;
      leader_of(cluster_.metadata(), p->tp, &epoch);
      part.current_leader_epoch = epoch;
      part.timestamp = p->reset_timestamp;
      p->list_offsets_in_flight = true;
      sent.emplace_back(p->tp, p->seek_generation);
    }
    conn->send(request, *version,
               [this, alive = driver_.keep_alive(), node = node, sent = std::move(sent)](
                   std::error_code ec, response_frame frame) mutable {
                 handle_list_offsets(node, std::move(sent), ec, frame);
               });
  }
}

void consumer_resets::handle_list_offsets(std::int32_t node, std::vector<sent_partition> sent,
                                          std::error_code ec, const response_frame& frame) {
  if (driver_.closed()) return;
  protocol::ListOffsetsResponse response;
  if (!ec) ec = response.decode(frame.body, frame.api_version);
  for (const auto& [tp, generation] : sent) {
    auto* p = positions_.find(tp);
    if (!p) continue;
    p->list_offsets_in_flight = false;
    if (p->seek_generation != generation || p->phase != partition_phase::awaiting_reset) continue;
    std::error_code part_ec = ec;
    std::int64_t offset = -1;
    std::int32_t epoch = -1;
    if (!part_ec) {
      part_ec = make_error_code(errc::protocol_violation);
      for (const auto& t : response.topics) {
        if (t.name != tp.topic) continue;
        for (const auto& pr : t.partitions) {
          if (pr.partition_index != tp.partition) continue;
          part_ec = protocol::broker_error_code(pr.error_code);
          offset = pr.offset;
          epoch = pr.leader_epoch;
        }
      }
    }
    if (!part_ec) {
      // A timestamp past every record answers -1: the end of the log.
      if (offset < 0) {
        p->reset_timestamp = latest_timestamp;
        p->retry_at = {};
        continue;
      }
      positions_.set_position(*p, offset, epoch);
      continue;
    }
    if (protocol::is_retriable(part_ec) || is_stale_leadership(part_ec) ||
        is_transport_error(part_ec)) {
      cluster_.request_refresh();
      p->retry_at = consumer_clock::now() + driver_.backoff(1);
      continue;
    }
    diagnostics diag;
    diag.broker_id = node;
    diag.api_key = protocol::ListOffsetsRequest::api_key;
    positions_.fail_partition(*p, part_ec, diag);
  }
  driver_.drive();
}

}  // namespace kwire::client::detail
