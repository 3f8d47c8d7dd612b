#include "producer/transaction_driver.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <random>

#include "core/observer.hpp"

namespace kwire::client::detail {
namespace {

using clock = transaction_manager::clock;

// The highest version both sides support, at most `cap`; nullopt when none.
std::optional<std::int16_t> version_up_to(const connection& conn, std::int16_t api_key,
                                          std::int16_t cap) {
  auto v = conn.version_for(api_key);
  if (!v) return std::nullopt;
  if (*v > cap) {
    if (conn.broker_versions(api_key).min > cap) return std::nullopt;
    v = cap;
  }
  return v;
}

}  // namespace

transaction_driver::transaction_driver(asio::strand<asio::any_io_executor> strand,
                                       std::shared_ptr<cluster> cluster,
                                       const producer_config& config,
                                       transaction_driver_hooks hooks)
    : strand_(strand),
      cluster_(std::move(cluster)),
      hooks_(std::move(hooks)),
      manager_(config.transactional_id.value_or(""), config.transaction_timeout,
               lookup_backoff{config.retry_backoff, config.retry_backoff_max},
               std::random_device{}()),
      timer_(strand) {}

// ------------------------------------------------------------------ the application's calls

void transaction_driver::start(std::error_code refused, done_handler done) {
  if (!refused && pending_) refused = make_error_code(errc::invalid_transaction_state);
  if (closed_) refused = make_error_code(errc::shut_down);
  if (refused) {
    if (done) done(refused);
    return;
  }
  pending_ = std::move(done);
  hooks_.wake();
}

void transaction_driver::init(done_handler done) {
  if (pending_ || closed_) return start({}, std::move(done));
  const auto before = manager_.state();
  auto ec = manager_.start_init();
  log_state_change(before);
  start(ec, std::move(done));
}

std::error_code transaction_driver::begin() {
  if (closed_) return make_error_code(errc::shut_down);
  const auto before = manager_.state();
  auto ec = manager_.begin_transaction(clock::now());
  log_state_change(before);
  return ec;
}

void transaction_driver::commit(done_handler done) {
  if (pending_ || closed_) return start({}, std::move(done));
  const auto before = manager_.state();
  auto ec = manager_.start_commit();
  if (ec == errc::transaction_abortable && manager_.error()) ec = manager_.error();
  log_state_change(before);
  start(ec, std::move(done));
}

void transaction_driver::abort(done_handler done) {
  if (pending_ || closed_) return start({}, std::move(done));
  const auto before = manager_.state();
  auto ec = manager_.start_abort();
  log_state_change(before);
  if (!ec) hooks_.abort_unsent();
  start(ec, std::move(done));
}

void transaction_driver::send_offsets(std::vector<transaction_offset> offsets,
                                      consumer_group_metadata group, done_handler done) {
  if (pending_ || closed_) return start({}, std::move(done));
  start(manager_.start_send_offsets(std::move(offsets), std::move(group)), std::move(done));
}

void transaction_driver::batch_failed(std::error_code ec, bool needs_epoch_bump) {
  const auto before = manager_.state();
  manager_.batch_failed(ec, needs_epoch_bump);
  log_state_change(before);
  if (manager_.state() == transaction_state::fatal_error && before != manager_.state())
    hooks_.failed(manager_.error());
  complete_operations();
}

void transaction_driver::close() {
  closed_ = true;
  timer_.cancel();
  if (auto done = std::move(pending_)) {
    pending_ = nullptr;
    done(make_error_code(errc::shut_down));
  }
}

// ------------------------------------------------------------------ driving

void transaction_driver::complete_operations() {
  if (auto outcome = manager_.take_completion(); outcome && pending_) {
    auto done = std::move(pending_);
    pending_ = nullptr;
    done(*outcome);
  }
}

void transaction_driver::choose_protocol(const connection& conn) {
  // KIP-890 part 2 needs the cluster's transaction.version >= 2 and the versions: a 4.x
  // broker offers EndTxn v5 and Produce v12 also when the feature is off.
  const bool v2 = conn.finalized_feature_level("transaction.version") >= 2 &&
                  conn.version_for(protocol::EndTxnRequest::api_key).value_or(0) >= 5 &&
                  conn.version_for(protocol::ProduceRequest::api_key).value_or(0) >= 12 &&
                  conn.version_for(protocol::TxnOffsetCommitRequest::api_key).value_or(0) >= 5;
  const auto before = manager_.protocol();
  manager_.choose_protocol(v2);
  if (manager_.protocol() != before || !protocol_logged_) {
    protocol_logged_ = true;
    cluster_->observer()->log(log_level::debug, log_category::eos, "transaction protocol v",
                              static_cast<int>(manager_.protocol()), " for transactional.id ",
                              manager_.transactional_id());
  }
}

std::shared_ptr<connection> transaction_driver::coordinator_connection(
    const std::optional<coordinator_node>& node) {
  if (!node) return nullptr;
  auto conn = cluster_->ready_connection(node->node_id);
  if (!conn && !cluster_->metadata().broker(node->node_id)) cluster_->request_refresh();
  return conn;
}

void transaction_driver::drive() {
  if (closed_) return;
  for (;;) {
    complete_operations();
    const auto before = manager_.state();
    const auto now = clock::now();
    // The protocol of the next transaction, from the coordinator's broker, between
    // transactions only.
    if (before == transaction_state::initializing || before == transaction_state::ready)
      if (auto conn = coordinator_connection(manager_.coordinator())) choose_protocol(*conn);
    const auto step = manager_.next(now, hooks_.records_outstanding());
    log_state_change(before);
    complete_operations();  // an empty transaction completes without a request
    using k = transaction_manager::request_kind;
    switch (step.kind) {
      case k::none:
      case k::wait_for_records:
        return;
      case k::wait_until:
        return arm_timer(step.at);
      case k::find_coordinator:
      case k::find_group_coordinator:
        return send_lookup(step.kind == k::find_group_coordinator);
      default:
        break;
    }
    const bool to_group = step.kind == k::txn_offset_commit;
    auto conn =
        coordinator_connection(to_group ? manager_.group_coordinator() : manager_.coordinator());
    if (!conn) return;  // the connection listener drains (and drives) again
    const bool v2 = manager_.protocol() == txn_protocol::v2;
    switch (step.kind) {
      case k::init_producer_id: {
        choose_protocol(*conn);
        // v6 (KIP-939) is not usable yet; v5 is what the Java client sends.
        const auto v = version_up_to(*conn, protocol::InitProducerIdRequest::api_key, 5);
        if (!v || *v < 1) break;
        send_to<protocol::InitProducerIdRequest, protocol::InitProducerIdResponse>(
            conn, manager_.init_producer_id_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              const auto before = d.manager_.state();
              if (d.manager_.on_init_producer_id(clock::now(), ec, r) ||
                  before == transaction_state::initializing)
                if (d.manager_.producer_id() >= 0 &&
                    d.manager_.state() != transaction_state::fatal_error)
                  d.hooks_.assign_identity(d.manager_.producer_id(), d.manager_.epoch());
            });
        return;
      }
      case k::add_partitions: {
        // v4+ is the brokers' verification API; clients send v3 at most.
        const auto v = version_up_to(*conn, protocol::AddPartitionsToTxnRequest::api_key, 3);
        if (!v) break;
        send_to<protocol::AddPartitionsToTxnRequest, protocol::AddPartitionsToTxnResponse>(
            conn, manager_.add_partitions_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              d.manager_.on_add_partitions(clock::now(), ec, r);
            });
        return;
      }
      case k::add_offsets: {
        const auto v = conn->version_for(protocol::AddOffsetsToTxnRequest::api_key);
        if (!v) break;
        send_to<protocol::AddOffsetsToTxnRequest, protocol::AddOffsetsToTxnResponse>(
            conn, manager_.add_offsets_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              d.manager_.on_add_offsets(clock::now(), ec, r);
            });
        return;
      }
      case k::txn_offset_commit: {
        const auto v =
            version_up_to(*conn, protocol::TxnOffsetCommitRequest::api_key, v2 ? 32767 : 4);
        if (!v || (v2 && *v < 5)) break;
        send_to<protocol::TxnOffsetCommitRequest, protocol::TxnOffsetCommitResponse>(
            conn, manager_.txn_offset_commit_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              d.manager_.on_txn_offset_commit(clock::now(), ec, r);
            });
        return;
      }
      case k::end_txn: {
        const auto v = version_up_to(*conn, protocol::EndTxnRequest::api_key, v2 ? 32767 : 4);
        if (!v || (v2 && *v < 5)) break;
        send_to<protocol::EndTxnRequest, protocol::EndTxnResponse>(
            conn, manager_.end_txn_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              if (d.manager_.on_end_txn(clock::now(), ec, r))
                d.hooks_.assign_identity(d.manager_.producer_id(), d.manager_.epoch());
            });
        return;
      }
      default:
        return;
    }
    // No version of the API both sides support: nothing this producer can do about it.
    const auto prior = manager_.state();
    manager_.batch_failed(make_error_code(errc::broker_too_old), false);
    if (manager_.state() != transaction_state::fatal_error) {
      // batch_failed only makes an open transaction abortable; the rest is fatal here.
      hooks_.failed(make_error_code(errc::broker_too_old));
      return;
    }
    log_state_change(prior);
    hooks_.failed(manager_.error());
  }
}

void transaction_driver::send_lookup(bool group) {
  auto conn = cluster_->any_ready_connection();
  if (!conn) return;
  const auto version = conn->version_for(protocol::FindCoordinatorRequest::api_key);
  if (!version) return;
  const auto now = clock::now();
  auto request = group ? manager_.group_lookup_request(now) : manager_.lookup_request(now);
  if (!request) return;
  fit_to_version(*request, *version);
  send_to<protocol::FindCoordinatorRequest, protocol::FindCoordinatorResponse>(
      conn, *request, *version, [group](transaction_driver& d, std::error_code ec, const auto& r) {
        if (group)
          d.manager_.on_group_lookup(clock::now(), ec, r);
        else
          d.manager_.on_lookup(clock::now(), ec, r);
      });
}

template <class Request, class Response, class Answer>
void transaction_driver::send_to(const std::shared_ptr<connection>& conn, const Request& request,
                                 std::int16_t version, Answer answer) {
  std::weak_ptr<transaction_driver> weak = weak_from_this();
  conn->send(request, version,
             [weak, version, answer = std::move(answer)](std::error_code ec,
                                                         response_frame frame) mutable {
               auto self = weak.lock();
               if (!self || self->closed_) return;
               Response response;
               if (!ec) ec = response.decode(frame.body, version);
               const auto before = self->manager_.state();
               answer(*self, ec, response);
               self->log_state_change(before);
               if (self->manager_.state() == transaction_state::fatal_error &&
                   before != transaction_state::fatal_error)
                 self->hooks_.failed(self->manager_.error());
               self->complete_operations();
               self->hooks_.wake();
             });
}

void transaction_driver::arm_timer(clock::time_point at) {
  if (timer_at_ && *timer_at_ <= at) return;
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (!self || ec) return;
    self->timer_at_.reset();
    self->hooks_.wake();
  });
}

void transaction_driver::log_state_change(transaction_state before) {
  const auto now_state = manager_.state();
  if (now_state == before) return;
  auto* o = cluster_->observer();
  const bool bad = now_state == transaction_state::abortable_error ||
                   now_state == transaction_state::fatal_error;
  if (!o->enabled(bad ? log_level::warn : log_level::debug, log_category::eos)) return;
  std::string why;
  if (bad && manager_.error())
    why = ": " + manager_.error_context() + ": " + manager_.error().message();
  o->log(bad ? log_level::warn : log_level::debug, log_category::eos, "transaction of ",
         manager_.transactional_id(), ": ", to_string(before), " -> ", to_string(now_state), why);
}

}  // namespace kwire::client::detail
