#include "kwire/client/cluster.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "core/backoff.hpp"
#include "core/observer.hpp"
#include "core/sasl_authenticator.hpp"
#include "core/tls_stream.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client {
namespace {

using clock = std::chrono::steady_clock;

bool needs_refresh(const topic_metadata& topic) {
  if (topic.error_code != 0)
    return protocol::is_retriable(protocol::broker_error_code(topic.error_code));
  return std::any_of(topic.partitions.begin(), topic.partitions.end(),
                     [](const partition_metadata& p) { return p.leader < 0; });
}

}  // namespace

const broker_metadata* cluster_metadata::broker(std::int32_t node_id) const noexcept {
  for (const auto& b : brokers)
    if (b.node_id == node_id) return &b;
  return nullptr;
}

const topic_metadata* cluster_metadata::topic(std::string_view name) const noexcept {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : &it->second;
}

std::shared_ptr<cluster> cluster::create(asio::any_io_executor executor, cluster_options options) {
  return std::shared_ptr<cluster>(new cluster(std::move(executor), std::move(options)));
}

cluster::cluster(asio::any_io_executor executor, cluster_options options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      refresh_timer_(executor_),
      random_(std::random_device{}()) {
  std::int32_t id = -1;
  for (const auto& address : options_.bootstrap) {
    nodes_[id].address = address;
    --id;
  }
}

cluster::~cluster() = default;

void cluster::start() { request_refresh(); }

void cluster::want_topic(std::string_view topic) {
  if (wanted_topics_.emplace(topic).second && !metadata_.topic(topic)) request_refresh();
}

void cluster::want_all_topics() {
  if (options_.all_topics) return;
  options_.all_topics = true;
  request_refresh();
}

void cluster::request_refresh() {
  if (closed_) return;
  refresh_wanted_ = true;
  if (metadata_in_flight_) return;  // handle_metadata asks again
  const auto earliest = last_metadata_request_ + options_.retry_backoff;
  const auto now = clock::now();
  schedule_refresh(earliest > now
                       ? std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now)
                       : std::chrono::milliseconds(0));
}

void cluster::schedule_refresh(std::chrono::milliseconds delay) {
  if (closed_) return;
  const auto at = clock::now() + delay;
  if (at >= refresh_at_) return;  // something sooner is already scheduled
  refresh_at_ = at;
  refresh_timer_.expires_at(at);
  refresh_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->refresh_at_ = clock::time_point::max();
    self->send_metadata_request();
  });
}

std::chrono::milliseconds cluster::backoff(int failures) {
  return detail::jittered_backoff(options_.reconnect_backoff, options_.reconnect_backoff_max,
                                  failures, random_);
}

void cluster::connect(std::int32_t node_id, node& n) {
  detail::log(observer(), log_level::debug, log_category::broker, "connecting to node ", node_id,
              " (", n.address.host_port(), ")", n.failures > 0 ? ", attempt after " : "",
              n.failures > 0 ? std::to_string(n.failures) + " failures" : std::string());
  auto conn = connection::create(executor_, n.address, options_.connection);
  n.conn = conn;
  conn->on_closed([weak = weak_from_this(), node_id, raw = conn.get()](std::error_code reason) {
    auto self = weak.lock();
    if (!self || self->closed_) return;
    auto it = self->nodes_.find(node_id);
    if (it == self->nodes_.end() || it->second.conn.get() != raw) return;
    if (raw->current_state() == connection::state::closed && it->second.failures == 0) {
      // Was ready: the broker went away or the connection timed out. Leaders may move.
      it->second.failures = 1;
      it->second.failing_since = clock::now();
      it->second.last_failure = reason;
      it->second.last_failure_detail = raw->close_detail();
      it->second.next_attempt = clock::now() + self->backoff(1);
      self->report_disconnect(node_id, it->second, reason, true);
      if (self->connection_listener_) self->connection_listener_(node_id, reason);
      self->request_refresh();
    }
  });
  conn->connect([weak = weak_from_this(), node_id, conn](std::error_code ec) {
    if (auto self = weak.lock()) self->on_connect_result(node_id, conn, ec);
  });
}

void cluster::on_connect_result(std::int32_t node_id, const std::shared_ptr<connection>& conn,
                                std::error_code ec) {
  if (closed_) return;
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.conn != conn) return;
  node& n = it->second;
  if (ec) {
    ++n.failures;
    n.next_attempt = clock::now() + backoff(n.failures);
    if (!n.failing_since) n.failing_since = clock::now();
    n.last_failure = ec;
    n.last_failure_detail = conn->close_detail();
    report_disconnect(node_id, n, ec, false);
  } else {
    report_connect(node_id, n);
    n.failures = 0;
    n.failing_since.reset();
  }
  if (connection_listener_) connection_listener_(node_id, ec);
  if (refresh_wanted_ && !metadata_in_flight_) {
    if (ec)
      schedule_refresh(std::chrono::milliseconds(0));  // try another node
    else
      send_metadata_request();
  }
}

void cluster::report_connect(std::int32_t node_id, node& n) {
  const bool reconnect = n.connected_before || n.failures > 0;
  n.connected_before = true;
  auto* o = observer();
  if (!o) return;
  o->counters().connects.add();
  o->log(
      log_level::info, log_category::broker,
      reconnect ? "reconnected to node " : "connected to node ", node_id, " (",
      n.address.host_port(), ")",
      n.failures > 0 ? " after " + std::to_string(n.failures) + " failed attempts" : std::string());
  if (const auto& hook = o->hooks().on_broker_connect)
    hook(broker_connect_event{node_id, n.address.host_port(), reconnect});
}

void cluster::report_disconnect(std::int32_t node_id, node& n, std::error_code reason,
                                bool was_ready) {
  auto* o = observer();
  if (!o) return;
  o->counters().disconnects.add();
  const auto retry_in =
      std::chrono::duration_cast<std::chrono::milliseconds>(n.next_attempt - clock::now());
  o->log(log_level::info, log_category::broker,
         was_ready ? "disconnected from node " : "connection attempt failed to node ", node_id,
         " (", n.address.host_port(), "): ", reason, "; reconnect in ", retry_in.count(),
         " ms at the earliest");
  if (const auto& hook = o->hooks().on_broker_disconnect)
    hook(broker_disconnect_event{node_id, n.address.host_port(), reason, was_ready});
}

std::vector<unreachable_server> cluster::unreachable_bootstrap(
    std::chrono::milliseconds for_at_least) const {
  if (metadata_.version > 0) return {};
  const auto now = clock::now();
  std::vector<unreachable_server> out;
  for (const auto& [id, n] : nodes_) {
    if (id >= 0) continue;
    if (!n.failing_since || now - *n.failing_since < for_at_least) return {};
    out.push_back({n.address.host_port(), n.last_failure, n.last_failure_detail});
  }
  return out;
}

std::string cluster::address(std::int32_t node_id) const {
  auto it = nodes_.find(node_id);
  return it == nodes_.end() ? std::string() : it->second.address.host_port();
}

std::shared_ptr<connection> cluster::ready_connection(std::int32_t node_id) {
  if (closed_) return nullptr;
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) {
    request_refresh();
    return nullptr;
  }
  node& n = it->second;
  if (n.conn && n.conn->ready()) return n.conn;
  const bool idle = !n.conn || n.conn->current_state() == connection::state::closed;
  if (idle) {
    const auto now = clock::now();
    if (now >= n.next_attempt) {
      connect(node_id, n);
    } else {
      // In backoff: try again when it ends; the listener hears the outcome.
      auto timer = std::make_shared<asio::steady_timer>(executor_, n.next_attempt);
      timer->async_wait([weak = weak_from_this(), node_id, timer](boost::system::error_code ec) {
        auto self = weak.lock();
        if (ec || !self) return;
        self->ready_connection(node_id);
      });
    }
  }
  return nullptr;
}

std::shared_ptr<connection> cluster::any_ready_connection() {
  if (closed_) return nullptr;
  std::shared_ptr<connection> best;
  bool connecting = false;
  for (const auto& broker : metadata_.brokers) {
    auto it = nodes_.find(broker.node_id);
    if (it == nodes_.end() || !it->second.conn) continue;
    const auto& conn = it->second.conn;
    if (conn->ready()) {
      if (!best || conn->in_flight() < best->in_flight()) best = conn;
    } else if (conn->current_state() != connection::state::closed) {
      connecting = true;
    }
  }
  if (best || connecting) return best;
  // Nothing ready or on its way: start the first broker not in reconnect backoff (or, all
  // in backoff, the first; ready_connection waits out its backoff).
  const auto now = clock::now();
  std::optional<std::int32_t> pick;
  for (const auto& broker : metadata_.brokers) {
    auto it = nodes_.find(broker.node_id);
    if (it != nodes_.end() && it->second.next_attempt > now) {
      if (!pick) pick = broker.node_id;
      continue;
    }
    pick = broker.node_id;
    break;
  }
  if (pick) return ready_connection(*pick);
  return nullptr;
}

std::optional<std::int32_t> cluster::pick_metadata_node() {
  // A ready connection with the fewest requests waiting; known brokers before bootstrap ones.
  std::optional<std::int32_t> best;
  std::size_t best_load = 0;
  for (auto& [id, n] : nodes_) {
    if (!n.conn || !n.conn->ready()) continue;
    const std::size_t load = n.conn->in_flight() + (id < 0 ? 1000 : 0);
    if (!best || load < best_load) {
      best = id;
      best_load = load;
    }
  }
  if (best) return best;
  // Nothing ready: start connecting to one node that is not in backoff (if none is already
  // connecting); its result brings us back here.
  const auto now = clock::now();
  auto earliest = clock::time_point::max();
  std::vector<std::int32_t> candidates;
  for (auto& [id, n] : nodes_) {
    if (n.conn && (n.conn->current_state() == connection::state::connecting ||
                   n.conn->current_state() == connection::state::negotiating))
      return std::nullopt;
    if (n.next_attempt <= now)
      candidates.push_back(id);
    else
      earliest = std::min(earliest, n.next_attempt);
  }
  // Known brokers first; bootstrap servers when none is known or all failed.
  std::vector<std::int32_t> known;
  std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(known),
               [](std::int32_t id) { return id >= 0; });
  const auto& pool = known.empty() ? candidates : known;
  if (!pool.empty()) {
    const auto id = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(random_)];
    connect(id, nodes_[id]);
  } else if (earliest != clock::time_point::max()) {
    schedule_refresh(std::chrono::duration_cast<std::chrono::milliseconds>(earliest - now) +
                     std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

void cluster::send_metadata_request() {
  if (closed_ || metadata_in_flight_) return;
  const auto node_id = pick_metadata_node();
  if (!node_id) {
    refresh_wanted_ = true;  // sent when a connection attempt succeeds
    return;
  }
  auto conn = nodes_[*node_id].conn;
  const auto version = conn->version_for(protocol::MetadataRequest::api_key);
  if (!version || (*version < 1 && !options_.all_topics)) {
    metadata_error_ = make_error_code(errc::broker_too_old);
    schedule_refresh(options_.retry_backoff);
    return;
  }
  protocol::MetadataRequest request;
  if (options_.all_topics) {
    request.topics.reset();
  } else {
    for (const auto& t : wanted_topics_) request.topics->emplace_back().name = t;
  }
  request.allow_auto_topic_creation = options_.allow_auto_topic_creation;
  metadata_in_flight_ = true;
  refresh_wanted_ = false;
  last_metadata_request_ = clock::now();
  conn->send(request, *version,
             [weak = weak_from_this()](std::error_code ec, response_frame frame) {
               if (auto self = weak.lock()) self->handle_metadata(ec, frame);
             });
}

void cluster::handle_metadata(std::error_code ec, const response_frame& frame) {
  metadata_in_flight_ = false;
  if (closed_) return;
  protocol::MetadataResponse response;
  if (!ec) ec = response.decode(frame.body, frame.api_version);
  if (ec) {
    detail::log(observer(), log_level::info, log_category::metadata,
                "metadata request failed: ", ec, "; retry in ", options_.retry_backoff.count(),
                " ms");
    metadata_error_ = ec;
    schedule_refresh(options_.retry_backoff);
    return;
  }
  metadata_error_.clear();
  detail::log(observer(), log_level::debug, log_category::metadata,
              "metadata: ", response.brokers.size(), " brokers, ", response.topics.size(),
              " topics, controller ", response.controller_id);
  metadata_.cluster_id = response.cluster_id;
  metadata_.controller_id = response.controller_id;
  metadata_.brokers.clear();
  for (const auto& b : response.brokers) {
    metadata_.brokers.push_back({b.node_id, b.host, static_cast<std::uint16_t>(b.port), b.rack});
    auto& n = nodes_[b.node_id];
    const broker_endpoint address{b.node_id, b.host, static_cast<std::uint16_t>(b.port)};
    if (n.address.host != address.host || n.address.port != address.port) {
      if (n.conn) n.conn->close(make_error_code(errc::connection_closed));
      n = node{};
      n.address = address;
    }
  }
  if (options_.all_topics) metadata_.topics.clear();
  bool refresh_soon = false;
  for (const auto& t : response.topics) {
    if (!t.name) continue;
    topic_metadata topic;
    topic.name = *t.name;
    topic.topic_id = t.topic_id;
    topic.error_code = t.error_code;
    topic.internal = t.is_internal;
    std::int32_t count = 0;
    for (const auto& p : t.partitions) count = std::max(count, p.partition_index + 1);
    topic.partitions.resize(static_cast<std::size_t>(count));
    for (std::int32_t i = 0; i < count; ++i)
      topic.partitions[static_cast<std::size_t>(i)].partition = i;
    for (const auto& p : t.partitions) {
      auto& out = topic.partitions[static_cast<std::size_t>(p.partition_index)];
      out.leader = p.leader_id;
      out.leader_epoch = p.leader_epoch;
      out.error_code = p.error_code;
      out.replicas = p.replica_nodes;
      out.in_sync_replicas = p.isr_nodes;
      out.offline_replicas = p.offline_replicas;
    }
    refresh_soon = refresh_soon || needs_refresh(topic);
    log_leader_changes(metadata_.topic(topic.name), topic);
    metadata_.topics[topic.name] = std::move(topic);
  }
  ++metadata_.version;
  // Bootstrap connections are only for finding the cluster; known brokers take over.
  if (!metadata_.brokers.empty()) {
    for (auto& [id, n] : nodes_)
      if (id < 0 && n.conn && n.conn->in_flight() == 0) {
        n.conn->close(make_error_code(errc::shut_down));
        n.conn.reset();
      }
  }
  if (refresh_wanted_)
    request_refresh();
  else
    schedule_refresh(refresh_soon ? options_.retry_backoff : options_.metadata_max_age);
  if (metadata_listener_) metadata_listener_(metadata_);
}

void cluster::log_leader_changes(const topic_metadata* before, const topic_metadata& after) const {
  const auto* o = observer();
  if (!o || !o->enabled(log_level::info, log_category::metadata)) return;
  if (!before) {
    o->log(log_level::debug, log_category::metadata, "topic ", after.name, ": ",
           after.partitions.size(), " partitions",
           after.error_code ? ", error " + protocol::broker_error_code(after.error_code).message()
                            : std::string());
    return;
  }
  for (const auto& p : after.partitions) {
    const auto index = static_cast<std::size_t>(p.partition);
    const std::int32_t old_leader =
        index < before->partitions.size() ? before->partitions[index].leader : -1;
    if (old_leader != p.leader)
      o->log(log_level::info, log_category::metadata, "leader of ", after.name, "-", p.partition,
             " moved from ", old_leader, " to ", p.leader, " (leader epoch ", p.leader_epoch, ")");
  }
}

void cluster::close() {
  if (closed_) return;
  closed_ = true;
  refresh_timer_.cancel();
  for (auto& [id, n] : nodes_)
    if (n.conn) n.conn->close(make_error_code(errc::shut_down));
}

cluster_options cluster_options_for(const common_config& config, std::string_view kind) {
  cluster_options options;
  const bool tls =
      config.security == security_protocol::ssl || config.security == security_protocol::sasl_ssl;
  const bool sasl = config.security == security_protocol::sasl_plaintext ||
                    config.security == security_protocol::sasl_ssl;
  if (tls) {
    if (auto error = detail::make_tls_settings(config, options.connection.tls))
      throw std::invalid_argument(error->message);
  }
  if (sasl) {
    if (auto error = detail::make_sasl_settings(config, options.connection.sasl))
      throw std::invalid_argument(error->message);
  }
  for (const auto& a : config.bootstrap_servers) options.bootstrap.push_back({-1, a.host, a.port});
  options.connection.client_id = config.client_id;
  options.connection.request_timeout = config.request_timeout;
  options.connection.connect_timeout = config.socket_connection_setup_timeout;
  options.connection.send_buffer_bytes = config.send_buffer_bytes;
  options.connection.receive_buffer_bytes = config.receive_buffer_bytes;
  options.connection.observer =
      std::make_shared<detail::observer>(config.observe, std::string(kind), config.client_id);
  options.reconnect_backoff = config.reconnect_backoff;
  options.reconnect_backoff_max = config.reconnect_backoff_max;
  options.retry_backoff = config.retry_backoff;
  options.metadata_max_age = config.metadata_max_age;
  return options;
}

}  // namespace kwire::client
