// consumer_offsets.hpp: the group coordinator's requests for the consumer.
#include "consumer/consumer_offsets.hpp"

#include <algorithm>

namespace kwire::client::detail {
namespace {

using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

// The coordinator moved, or the connection to it failed: look it up again.
bool coordinator_lost(std::error_code ec) {
  return is_coordinator_moved(ec) || is_transport_error(ec);
}

// The committed offsets an OffsetFetch response carries (v8+ per group), into `found`; the
// error it reports (the group's, else the first partition's), if any.
std::error_code read_committed_offsets(const protocol::OffsetFetchResponse& response,
                                       std::int16_t version, const cluster_metadata& metadata,
                                       topic_partition_offsets& found) {
  std::error_code ec;
  auto take = [&](std::string_view topic, std::int32_t partition, std::int64_t offset,
                  std::int32_t epoch, const std::optional<std::string>& committed_metadata,
                  std::int16_t code) {
    if (code != 0 && !ec) ec = protocol::broker_error_code(code);
    if (code == 0 && offset >= 0)
      found[{std::string(topic), partition}] = {offset, epoch, committed_metadata.value_or("")};
  };
  if (version >= 8) {
    for (const auto& g : response.groups) {
      if (g.error_code != 0) ec = protocol::broker_error_code(g.error_code);
      for (const auto& t : g.topics)
        for (const auto& p : t.partitions)
          take(topic_named(metadata, t.name, t.topic_id), p.partition_index, p.committed_offset,
               p.committed_leader_epoch, p.metadata, p.error_code);
    }
  } else {
    if (response.error_code != 0) ec = protocol::broker_error_code(response.error_code);
    for (const auto& t : response.topics)
      for (const auto& p : t.partitions)
        take(t.name, p.partition_index, p.committed_offset, p.committed_leader_epoch, p.metadata,
             p.error_code);
  }
  return ec;
}

}  // namespace

consumer_offsets::consumer_offsets(const consumer_config& config, cluster& brokers,
                                   consumer_positions& positions, consumer_driver& driver,
                                   const asio::strand<asio::any_io_executor>& strand)
    : config_(config),
      cluster_(brokers),
      positions_(positions),
      driver_(driver),
      lookup_(coordinator_type::group, config.group_id.value_or(""),
              lookup_backoff{config.retry_backoff, config.retry_backoff_max},
              static_cast<std::uint32_t>(consumer_clock::now().time_since_epoch().count())),
      commit_timer_(strand) {}

void consumer_offsets::commit(topic_partition_offsets offsets, consumer::commit_handler handler,
                              consumer_clock::time_point deadline) {
  commits_.push_back({std::move(offsets), std::move(handler), deadline});
}

void consumer_offsets::query_committed(std::vector<topic_partition> partitions,
                                       consumer::committed_handler handler,
                                       consumer_clock::time_point deadline) {
  committed_queries_.push_back({std::move(partitions), std::move(handler), deadline});
}

void consumer_offsets::on_connection_lost(std::int32_t node) {
  if (node != coordinator_) return;
  coordinator_ = -1;
  lookup_.mark_unknown();
}

void consumer_offsets::shut_down() {
  commit_timer_.cancel();
  for (auto& c : commits_)
    if (c.handler) c.handler(make_error_code(errc::shut_down));
  commits_.clear();
  for (auto& q : committed_queries_)
    if (q.handler) q.handler(make_error_code(errc::shut_down), {});
  committed_queries_.clear();
}

void consumer_offsets::drive(consumer_clock::time_point now,
                             consumer_clock::time_point& next_wakeup) {
  // Expire what waited too long for a coordinator.
  for (auto it = commits_.begin(); it != commits_.end();) {
    if (!it->in_flight && it->deadline <= now) {
      auto h = std::move(it->handler);
      it = commits_.erase(it);
      h(make_error_code(errc::request_timed_out));
    } else {
      if (!it->in_flight) next_wakeup = std::min(next_wakeup, it->deadline);
      ++it;
    }
  }
  for (auto it = committed_queries_.begin(); it != committed_queries_.end();) {
    if (!it->in_flight && it->deadline <= now) {
      auto h = std::move(it->handler);
      it = committed_queries_.erase(it);
      h(make_error_code(errc::request_timed_out), {});
    } else {
      if (!it->in_flight) next_wakeup = std::min(next_wakeup, it->deadline);
      ++it;
    }
  }
  const bool need_positions = std::ranges::any_of(positions_.partitions(), [](const auto& e) {
    return e.second.phase == partition_phase::awaiting_committed;
  });
  if (!need_positions && commits_.empty() && committed_queries_.empty()) return;
  if (group_) coordinator_ = group_->coordinator();  // the member looks it up
  if (coordinator_ < 0) {
    if (!group_) find_coordinator(now, next_wakeup);
    return;
  }
  auto conn = cluster_.ready_connection(coordinator_);
  if (!conn) {
    if (!cluster_.metadata().broker(coordinator_)) coordinator_ = -1;
    return;
  }
  for (auto it = commits_.begin(); it != commits_.end();) {
    auto current = it++;
    if (current->in_flight) continue;
    if (auto refused = send_commit(*conn, *current)) {
      auto h = std::move(current->handler);
      commits_.erase(current);
      h(refused);
    }
  }
  for (auto& q : committed_queries_)
    if (!q.in_flight) send_offset_fetch(*conn, &q, {});
  if (need_positions && !position_fetch_in_flight_ && now < position_fetch_retry_at_)
    next_wakeup = std::min(next_wakeup, position_fetch_retry_at_);
  else if (need_positions && !position_fetch_in_flight_) {
    std::vector<topic_partition> tps;
    for (const auto& [tp, p] : positions_.partitions())
      if (p.phase == partition_phase::awaiting_committed) tps.push_back(tp);
    position_fetch_in_flight_ = true;
    send_offset_fetch(*conn, nullptr, tps);
  }
}

void consumer_offsets::find_coordinator(consumer_clock::time_point now,
                                        consumer_clock::time_point& next_wakeup) {
  if (lookup_.known()) {
    coordinator_ = lookup_.node()->node_id;
    return;
  }
  if (lookup_.deadline() > now) {
    next_wakeup = std::min(next_wakeup, lookup_.deadline());
    return;
  }
  auto conn = cluster_.any_ready_connection();
  if (!conn) return;  // the connection listener drives again
  const auto version = conn->version_for(protocol::FindCoordinatorRequest::api_key);
  if (!version) return fail_group_requests(make_error_code(errc::broker_too_old), {});
  auto request = lookup_.request_due(now);
  if (!request) return;
  fit_to_version(*request, *version);
  conn->send(*request, *version,
             [this, alive = driver_.keep_alive()](std::error_code ec, response_frame frame) {
               if (driver_.closed()) return;
               const auto now = consumer_clock::now();
               protocol::FindCoordinatorResponse response;
               if (!ec) ec = response.decode(frame.body, frame.api_version);
               std::string message;
               if (ec)
                 lookup_.handle_failure(now);
               else if (auto fatal = lookup_.handle_response(now, response, message))
                 fail_group_requests(fatal, std::move(message));
               else if (lookup_.known())
                 coordinator_ = lookup_.node()->node_id;
               driver_.drive();
             });
}

void consumer_offsets::fail_group_requests(std::error_code ec, std::string message) {
  auto commits = std::move(commits_);
  commits_.clear();
  for (auto& c : commits) c.handler(ec);
  auto queries = std::move(committed_queries_);
  committed_queries_.clear();
  for (auto& q : queries) q.handler(ec, {});
  diagnostics diag;
  diag.api_key = protocol::FindCoordinatorRequest::api_key;
  diag.server_message = message.empty() ? "group " + *config_.group_id : std::move(message);
  for (auto& [tp, p] : positions_.partitions())
    if (p.phase == partition_phase::awaiting_committed) positions_.fail_partition(p, ec, diag);
}

void consumer_offsets::coordinator_failed() {
  coordinator_ = -1;
  lookup_.mark_unknown();
  if (group_)
    group_->commit_failed(consumer_clock::now(),
                          static_cast<std::int16_t>(broker_error::not_coordinator));
}

std::error_code consumer_offsets::send_commit(connection& conn, pending_commit& c) {
  const auto version = conn.version_for(protocol::OffsetCommitRequest::api_key);
  if (!version) return make_error_code(errc::broker_too_old);
  protocol::OffsetCommitRequest request;
  request.group_id = *config_.group_id;
  request.generation_id_or_member_epoch = -1;  // no group membership: a simple commit
  request.member_id = "";
  if (group_) {
    const auto fence = group_->commit_fence();
    // As Java: no commit while the member has no generation (a rebalance is on).
    if (!fence) return make_error_code(broker_error::rebalance_in_progress);
    request.generation_id_or_member_epoch = fence->generation_or_epoch;
    request.member_id = fence->member_id;
    request.group_instance_id = fence->group_instance_id;
  }
  const bool by_id = *version >= 10;
  for (const auto& [tp, om] : c.offsets) {
    if (request.topics.empty() || request.topics.back().name != tp.topic) {
      auto& t = request.topics.emplace_back();
      t.name = tp.topic;
      if (by_id) {
        if (const auto* meta = cluster_.metadata().topic(tp.topic)) t.topic_id = meta->topic_id;
      }
    }
    auto& part = request.topics.back().partitions.emplace_back();
    part.partition_index = tp.partition;
    part.committed_offset = om.offset;
    part.committed_leader_epoch = om.leader_epoch;
    part.committed_metadata = om.metadata;
  }
  if (by_id)
    for (auto& t : request.topics) t.name.clear();
  c.in_flight = true;
  auto* key = &c;
  conn.send(request, *version,
            [this, alive = driver_.keep_alive(), key](std::error_code ec, response_frame frame) {
              handle_commit(key, ec, frame);
            });
  return {};
}

void consumer_offsets::handle_commit(pending_commit* key, std::error_code ec,
                                     const response_frame& frame) {
  if (driver_.closed()) return;
  auto it = std::ranges::find_if(commits_, [&](const pending_commit& c) { return &c == key; });
  if (it == commits_.end()) return;
  it->in_flight = false;
  protocol::OffsetCommitResponse response;
  if (!ec) ec = response.decode(frame.body, frame.api_version);
  if (!ec) {
    for (const auto& t : response.topics)
      for (const auto& p : t.partitions)
        if (p.error_code != 0 && !ec) ec = protocol::broker_error_code(p.error_code);
  }
  if (ec && (coordinator_lost(ec) || is(ec, broker_error::coordinator_load_in_progress) ||
             is(ec, broker_error::request_timed_out))) {
    if (!is(ec, broker_error::coordinator_load_in_progress)) coordinator_failed();
    return driver_.drive();  // retried until default.api.timeout.ms
  }
  // The member reacts to UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_MEMBER_EPOCH, ...
  if (ec && group_ && ec.category() == protocol::broker_category())
    group_->commit_failed(consumer_clock::now(), static_cast<std::int16_t>(ec.value()));
  auto h = std::move(it->handler);
  commits_.erase(it);
  h(ec);
  driver_.drive();
}

void consumer_offsets::send_offset_fetch(connection& conn, pending_committed* query,
                                         const std::vector<topic_partition>& tps) {
  const auto& parts = query ? query->partitions : tps;
  const auto version = conn.version_for(protocol::OffsetFetchRequest::api_key);
  if (!version) return;
  protocol::OffsetFetchRequest request;
  const bool batched = *version >= 8;
  const bool by_id = *version >= 10;
  auto add = [&](auto& topics) {
    for (const auto& tp : parts) {
      if (topics.empty() || topics.back().name != tp.topic) {
        auto& t = topics.emplace_back();
        t.name = tp.topic;
        if constexpr (requires { t.topic_id; }) {
          if (by_id) {
            if (const auto* meta = cluster_.metadata().topic(tp.topic)) t.topic_id = meta->topic_id;
          }
        }
      }
      topics.back().partition_indexes.push_back(tp.partition);
    }
  };
  if (batched) {
    auto& g = request.groups.emplace_back();
    g.group_id = *config_.group_id;
    g.member_epoch = -1;
    g.topics.emplace();
    add(*g.topics);
    if (by_id)
      for (auto& t : *g.topics) t.name.clear();
  } else {
    request.group_id = *config_.group_id;
    request.topics.emplace();
    add(*request.topics);
  }
  request.require_stable = true;
  if (query) query->in_flight = true;
  conn.send(request, *version,
            [this, alive = driver_.keep_alive(), query, tps = parts](std::error_code ec,
                                                                     response_frame frame) {
              handle_offset_fetch(query, tps, ec, frame);
            });
}

void consumer_offsets::handle_offset_fetch(pending_committed* query,
                                           const std::vector<topic_partition>& tps,
                                           std::error_code ec, const response_frame& frame) {
  if (driver_.closed()) return;
  if (!query) position_fetch_in_flight_ = false;
  protocol::OffsetFetchResponse response;
  if (!ec) ec = response.decode(frame.body, frame.api_version);
  topic_partition_offsets found;
  if (!ec) ec = read_committed_offsets(response, frame.api_version, cluster_.metadata(), found);
  const bool retry =
      ec &&
      (coordinator_lost(ec) || is(ec, broker_error::coordinator_load_in_progress) ||
       is(ec, broker_error::unstable_offset_commit) || is(ec, broker_error::request_timed_out));
  if (retry) {
    if (coordinator_lost(ec)) coordinator_failed();
    if (query) {
      if (auto it =
              std::ranges::find_if(committed_queries_, [&](const auto& q) { return &q == query; });
          it != committed_queries_.end())
        it->in_flight = false;
    } else {
      // Retried with a delay (an unstable offset clears when its transaction ends).
      position_fetch_retry_at_ = consumer_clock::now() + driver_.backoff(1);
    }
    return driver_.drive();
  }
  if (query) {
    auto it = std::ranges::find_if(committed_queries_, [&](const auto& q) { return &q == query; });
    if (it == committed_queries_.end()) return;
    auto h = std::move(it->handler);
    committed_queries_.erase(it);
    h(ec, std::move(found));
    return driver_.drive();
  }
  for (const auto& tp : tps) {
    auto* p = positions_.find(tp);
    if (!p || p->phase != partition_phase::awaiting_committed) continue;
    if (ec) {
      diagnostics diag;
      diag.broker_id = coordinator_;
      diag.api_key = protocol::OffsetFetchRequest::api_key;
      positions_.fail_partition(*p, ec, diag);
      continue;
    }
    if (auto it = found.find(tp); it != found.end()) {
      positions_.set_position(*p, it->second.offset, it->second.leader_epoch);
    } else {
      // Nothing committed: auto.offset.reset decides.
      diagnostics diag;
      diag.server_message = "no committed offset for group " + *config_.group_id;
      positions_.reset_by_policy(*p, make_error_code(errc::no_offset), diag);
    }
  }
  driver_.drive();
}

void consumer_offsets::start_auto_commit() {
  commit_timer_.expires_after(config_.auto_commit_interval);
  commit_timer_.async_wait(
      [this, weak = std::weak_ptr<void>(driver_.keep_alive())](boost::system::error_code ec) {
        auto alive = weak.lock();
        if (!alive || ec || driver_.closing()) return;
        auto offsets = positions_.consumed_positions(driver_.closing());
        std::erase_if(offsets, [&](const auto& e) {
          auto it = last_auto_committed_.find(e.first);
          return it != last_auto_committed_.end() && it->second == e.second.offset;
        });
        if (!offsets.empty()) {
          auto sent = offsets;
          commits_.push_back({std::move(offsets),
                              [this, weak, sent](std::error_code e) {
                                auto alive = weak.lock();
                                if (!alive || e) return;  // the next round tries again
                                for (const auto& [tp, om] : sent)
                                  last_auto_committed_[tp] = om.offset;
                              },
                              consumer_clock::now() + config_.auto_commit_interval});
          driver_.drive();
        }
        start_auto_commit();
      });
}

}  // namespace kwire::client::detail
