#include "admin/admin_call.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "core/backoff.hpp"
#include "core/observer.hpp"

namespace kwire::client::detail {
namespace {

bool is(std::error_code ec, protocol::broker_error e) { return ec == protocol::make_error_code(e); }

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

// ---------------------------------------------------------------- engine

admin_engine::admin_engine(asio::any_io_executor executor, admin_config config)
    : config_(std::move(config)),
      strand_(asio::make_strand(std::move(executor))),
      random_(std::random_device{}()) {
  auto options = cluster_options_for(config_, "admin");
  // An admin client asks about topics; it must never create one by asking.
  options.allow_auto_topic_creation = false;
  cluster_ = cluster::create(strand_, std::move(options));
}

void admin_engine::start() {
  cluster_->on_metadata([weak = weak_from_this()](const cluster_metadata&) {
    if (auto self = weak.lock()) self->advance_all();
  });
  cluster_->on_connection([weak = weak_from_this()](std::int32_t, std::error_code) {
    if (auto self = weak.lock()) self->advance_all();
  });
  asio::post(strand_, [self = shared_from_this()] { self->cluster_->start(); });
}

void admin_engine::launch(std::shared_ptr<admin_call> call) {
  asio::post(strand_, [self = shared_from_this(), call = std::move(call)] {
    if (self->closed_) return call->fail_all(make_error_code(errc::shut_down));
    self->calls_[call.get()] = call;
    call->advance();
  });
}

void admin_engine::close(unique_function<void()> done) {
  asio::post(strand_, [self = shared_from_this(), done = std::move(done)]() mutable {
    if (!self->closed_) {
      self->closed_ = true;
      auto calls = self->calls_;
      for (auto& [raw, call] : calls) call->fail_all(make_error_code(errc::shut_down));
      self->cluster_->close();
    }
    if (done) done();
  });
}

void admin_engine::forget(const admin_call* call) { calls_.erase(call); }

void admin_engine::advance_all() {
  std::vector<std::shared_ptr<admin_call>> calls;
  for (auto& [raw, call] : calls_) calls.push_back(call);
  for (auto& call : calls) call->advance();
}

// ---------------------------------------------------------------- call

admin_call::admin_call(admin_engine& engine, std::chrono::milliseconds timeout, std::size_t items)
    : engine_(engine.shared_from_this()),
      deadline_(admin_clock::now() +
                (timeout.count() >= 0 ? timeout : engine.config().default_api_timeout)),
      items_(items),
      timer_(engine.strand()),
      timeout_(timeout.count() >= 0 ? timeout : engine.config().default_api_timeout) {}

std::size_t admin_call::add_items(std::size_t count) {
  const auto first = items_.size();
  items_.resize(first + count);
  return first;
}

void admin_call::advance() {
  if (finished_) return;
  const auto now = admin_clock::now();
  if (now >= deadline_) return time_out();
  // Anything still waiting is looked at again at least this often, whatever wakes us or not.
  const auto poll = now + engine_->config().retry_backoff_max;
  if (!prepared_) {
    prepared_ = prepare();
    if (!prepared_) return arm_timer(std::min(deadline_, poll));
  }
  std::map<std::int32_t, std::vector<std::size_t>> batches;
  std::set<std::string> lookups;
  auto wake = deadline_;
  bool waiting = false;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    item& it = items_[i];
    if (it.state != item_state::idle) continue;
    if (it.retry_at > now) {
      wake = std::min(wake, it.retry_at);
      continue;
    }
    if (auto node = resolve(i, route(i), lookups))
      batches[*node].push_back(i);
    else
      waiting = waiting || items_[i].state == item_state::idle;
  }
  if (!lookups.empty()) find_coordinators(lookups);
  for (auto& [node, list] : batches) {
    auto conn = engine_->brokers().ready_connection(node);
    if (!conn) {
      // The cluster is connecting (or backing off); its connection event brings us back.
      for (auto i : list) items_[i].waiting_for = "a connection to broker " + std::to_string(node);
      waiting = true;
      continue;
    }
    send(node, conn, list);
  }
  for (const auto& [group, lookup] : coordinators_)
    if (lookup.deadline() > now) wake = std::min(wake, lookup.deadline());
  if (std::all_of(items_.begin(), items_.end(),
                  [](const item& it) { return it.state == item_state::done; }))
    return finish();
  arm_timer(waiting ? std::min(wake, poll) : wake);
}

std::optional<std::int32_t> admin_call::controller() {
  const auto& md = engine_->brokers().metadata();
  if (md.brokers.empty()) return std::nullopt;
  if (md.broker(md.controller_id)) return md.controller_id;
  std::uniform_int_distribution<std::size_t> pick(0, md.brokers.size() - 1);
  return md.brokers[pick(engine_->random())].node_id;
}

std::optional<std::int32_t> admin_call::resolve(std::size_t index, const admin_route& r,
                                                std::set<std::string>& lookups) {
  item& it = items_[index];
  cluster& brokers = engine_->brokers();
  const auto& md = brokers.metadata();
  switch (r.how) {
    case admin_route::kind::controller: {
      auto node = controller();
      if (!node) it.waiting_for = "the cluster's metadata";
      return node;
    }
    case admin_route::kind::broker:
      if (md.broker(r.broker)) return r.broker;
      it.waiting_for = "broker " + std::to_string(r.broker) + " in the metadata";
      if (!md.brokers.empty()) brokers.request_refresh();
      return std::nullopt;
    case admin_route::kind::coordinator: {
      it.group = r.group;
      const auto& config = engine_->config();
      auto c = coordinators_
                   .try_emplace(r.group, coordinator_kind(), r.group,
                                lookup_backoff{config.retry_backoff, config.retry_backoff_max},
                                static_cast<std::uint32_t>(engine_->random()()))
                   .first;
      if (c->second.known()) return c->second.node()->node_id;
      lookups.insert(r.group);
      it.waiting_for = (coordinator_kind() == coordinator_type::group ? "the coordinator of group "
                                                                      : "the coordinator of "
                                                                        "transactional id ") +
                       r.group;
      return std::nullopt;
    }
    case admin_route::kind::leader: {
      brokers.want_topic(r.topic);
      diagnostics detail;  // what the metadata says about the partition
      detail.api_key = protocol::MetadataRequest::api_key;
      detail.topic = r.topic;
      detail.partition = r.partition;
      it.waiting_for = "the leader of " + r.topic + " partition " + std::to_string(r.partition);
      const auto* topic = md.topic(r.topic);
      if (!topic) return std::nullopt;
      if (topic->error_code != 0) {
        const auto ec = protocol::broker_error_code(topic->error_code);
        // The cluster refreshes topics with retriable errors (an unknown topic may be new).
        if (!protocol::is_retriable(ec)) complete(index, ec, detail);
        note(index, ec, detail);
        return std::nullopt;
      }
      if (r.partition < 0 || static_cast<std::size_t>(r.partition) >= topic->partitions.size()) {
        note(index, protocol::make_error_code(protocol::broker_error::unknown_topic_or_partition),
             detail);
        brokers.request_refresh();
        return std::nullopt;
      }
      const auto leader = topic->partitions[static_cast<std::size_t>(r.partition)].leader;
      if (leader < 0) {
        note(index, protocol::make_error_code(protocol::broker_error::leader_not_available),
             detail);
        return std::nullopt;
      }
      return leader;
    }
  }
  return std::nullopt;
}

void admin_call::find_coordinators(const std::set<std::string>& groups) {
  auto conn = engine_->brokers().any_ready_connection();
  if (!conn) return;
  const auto node = conn->address().node_id;
  const auto version = conn->version_for(protocol::FindCoordinatorRequest::api_key);
  if (!version) {
    for (const auto& g : groups)
      coordinator_failed(g, make_error_code(errc::broker_too_old),
                         where(node, *conn, protocol::FindCoordinatorRequest::api_key, -1));
    return;
  }
  // The groups whose lookup is due (not in flight, not backing off) go in one request, or
  // one request per group before v4.
  const auto now = admin_clock::now();
  std::vector<std::string> due;
  for (const auto& g : groups)
    if (coordinators_.at(g).request_due(now)) due.push_back(g);
  std::vector<std::vector<std::string>> requests;
  if (*version >= 4) {
    if (!due.empty()) requests.push_back(std::move(due));
  } else {
    for (auto& g : due) requests.push_back({std::move(g)});
  }
  for (auto& keys : requests) {
    auto request = find_coordinator_request(coordinator_kind(), keys);
    fit_to_version(request, *version);
    auto detail = where(node, *conn, protocol::FindCoordinatorRequest::api_key, *version);
    conn->send(request, *version,
               [self = shared_from_this(), keys, detail](std::error_code ec, response_frame frame) {
                 if (self->finished_) return;
                 self->on_coordinators(ec, frame, keys, detail);
                 self->advance();
               });
  }
}

void admin_call::on_coordinators(std::error_code ec, const response_frame& frame,
                                 const std::vector<std::string>& groups,
                                 const diagnostics& detail) {
  protocol::FindCoordinatorResponse response;
  if (!ec) ec = response.decode(frame.body, frame.api_version);
  const auto now = admin_clock::now();
  const auto answers =
      ec ? std::vector<coordinator_answer>{} : coordinator_answers(response, groups);
  for (const auto& group : groups) {
    auto& lookup = coordinators_.at(group);
    diagnostics where = detail;
    std::error_code error = ec;
    if (ec) {
      lookup.handle_failure(now);
    } else {
      error = make_error_code(errc::protocol_violation);  // unless the group was answered
      for (const auto& a : answers)
        if (a.key == group) error = error_from(a.error_code, a.error_message, where);
      std::string message;
      if (auto fatal = lookup.handle_response(now, response, message)) {
        coordinator_failed(group, fatal, where);
        continue;
      }
      if (lookup.known()) continue;
    }
    // Retried after the lookup's backoff; the error explains a timeout.
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (items_[i].state == item_state::idle && items_[i].group == group) note(i, error, where);
  }
}

void admin_call::coordinator_failed(const std::string& group, std::error_code ec,
                                    const diagnostics& detail) {
  for (std::size_t i = 0; i < items_.size(); ++i)
    if (items_[i].state != item_state::done && items_[i].group == group) complete(i, ec, detail);
}

void admin_call::note(std::size_t index, std::error_code ec, const diagnostics& detail) {
  items_[index].last_error = ec;
  items_[index].last_detail = detail;
}

void admin_call::after_response(std::error_code ec, const std::vector<std::size_t>& items,
                                const diagnostics& detail) {
  for (auto i : items) {
    if (items_[i].state != item_state::in_flight) continue;
    if (ec)
      settle(i, ec, detail);
    else
      complete(i, make_error_code(errc::protocol_violation), detail);  // left out of the response
  }
  advance();
}

bool admin_call::retriable(std::error_code ec) const { return client::is_retriable(ec); }

bool controller_call::retriable(std::error_code ec) const {
  using protocol::broker_error;
  if (ec.category() == protocol::broker_category())
    return is(ec, broker_error::not_controller) || is(ec, broker_error::throttling_quota_exceeded);
  return client::is_retriable(ec);
}

void admin_call::reject_duplicates(const std::vector<std::string>& keys) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (seen.insert(keys[i]).second) continue;
    complete(i, make_error_code(errc::invalid_argument));
    items_[i].outcome.message = "\"" + keys[i] + "\" is given more than once";
  }
}

retry_hint admin_call::hint_for(std::error_code ec) const {
  using protocol::broker_error;
  if (is_coordinator_moved(ec)) return retry_hint::find_coordinator;
  if (is(ec, broker_error::coordinator_load_in_progress) ||
      is(ec, broker_error::throttling_quota_exceeded))
    return retry_hint::none;
  return retry_hint::refresh_metadata;
}

void admin_call::settle(std::size_t item, std::error_code ec, const diagnostics& detail) {
  if (ec && retriable(ec))
    retry(item, ec, detail, hint_for(ec));
  else
    complete(item, ec, detail);
}

void admin_call::complete(std::size_t index, std::error_code ec, const diagnostics& detail) {
  item& it = items_[index];
  if (it.state == item_state::done) return;
  it.state = item_state::done;
  it.outcome.error = ec;
  it.outcome.detail = detail;
  it.outcome.message = ec ? detail.describe(ec) : std::string();
}

void admin_call::retry(std::size_t index, std::error_code ec, const diagnostics& detail,
                       retry_hint hint) {
  item& it = items_[index];
  if (it.state == item_state::done) return;
  if (++it.attempts > engine_->config().retries) return complete(index, ec, detail);
  detail::log(engine_->brokers().observer(), log_level::debug, log_category::admin,
              "retrying (attempt ", it.attempts + 1, "): ", detail.describe(ec));
  note(index, ec, detail);
  it.state = item_state::idle;
  it.retry_at = admin_clock::now() + jittered_backoff(engine_->config().retry_backoff,
                                                      engine_->config().retry_backoff_max,
                                                      it.attempts, engine_->random());
  // A lost connection may mean the coordinator moved as well as the leaders.
  if ((hint == retry_hint::find_coordinator || is_transport_error(ec)) && !it.group.empty()) {
    auto c = coordinators_.find(it.group);
    if (c != coordinators_.end()) c->second.mark_unknown();
  }
  if (hint == retry_hint::refresh_metadata || is_transport_error(ec))
    engine_->brokers().request_refresh();
}

std::error_code admin_call::fill(std::size_t item, admin_item_result& out) const {
  out = items_[item].outcome;
  return out.error;
}

std::optional<std::int16_t> admin_call::pick_version(const connection& conn, std::int16_t api_key,
                                                     const std::vector<std::size_t>& items,
                                                     std::int16_t min, std::int16_t max) {
  const auto broker = conn.broker_versions(api_key);
  const auto* ours = protocol::find_api(api_key);
  if (ours && broker.max >= 0) {
    const auto high = std::min({broker.max, ours->max_version, max});
    const auto low = std::max({broker.min, ours->min_version, min});
    if (high >= low) return high;
  }
  auto detail = where(conn.address().node_id, conn, api_key, -1);
  for (auto i : items) complete(i, make_error_code(errc::broker_too_old), detail);
  return std::nullopt;
}

diagnostics admin_call::where(std::int32_t node, const connection& conn, std::int16_t api_key,
                              std::int16_t version) const {
  diagnostics d;
  d.broker_id = node;
  d.broker = conn.address().host_port();
  d.api_key = api_key;
  d.api_version = version;
  return d;
}

std::int32_t admin_call::remaining_ms() const {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - admin_clock::now()).count();
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(left, 0, 0x7fffffff));
}

void admin_call::time_out() {
  for (std::size_t i = 0; i < items_.size(); ++i) {
    item& it = items_[i];
    if (it.state == item_state::done) continue;
    const bool had_error = static_cast<bool>(it.last_error);
    complete(i, make_error_code(errc::operation_timed_out), it.last_detail);
    it.outcome.message =
        "timed out after " + ms_text(timeout_) +
        (had_error ? "; last error: " + it.last_detail.describe(it.last_error)
                   : (it.waiting_for.empty() ? std::string() : " waiting for " + it.waiting_for));
  }
  finish();
}

void admin_call::fail_all(std::error_code ec) {
  if (finished_) return;
  for (std::size_t i = 0; i < items_.size(); ++i) complete(i, ec, {});
  finish();
}

void admin_call::finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  auto self = shared_from_this();  // forget() drops the engine's reference
  deliver();
  engine_->forget(this);
  engine_.reset();
}

void admin_call::arm_timer(admin_clock::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!ec && self) self->advance();
  });
}

}  // namespace kwire::client::detail
