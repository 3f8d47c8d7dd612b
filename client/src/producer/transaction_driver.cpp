#include "producer/transaction_driver.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <random>

#include "core/observer.hpp"
#include "producer/transaction_markers.hpp"

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
      timer_(strand),
      transaction_timeout_(config.transaction_timeout),
      warn_percent_(config.transaction_warn_percent) {}

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
  const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  auto ec = manager_.begin_transaction(clock::now(), wall_ms);
  if (!ec) warned_ = false;
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

void transaction_driver::prepare(prepare_handler done) {
  if (pending_ || closed_)
    return start({}, [d = std::move(done)](std::error_code ec) mutable { d(ec, {}); });
  const auto before = manager_.state();
  auto ec = manager_.start_prepare();
  log_state_change(before);
  start(ec, [this, d = std::move(done)](std::error_code ec) mutable {
    d(ec, ec ? prepared_transaction{} : manager_.prepared_handle());
  });
}

void transaction_driver::complete_prepared(const prepared_transaction& handle, bool commit,
                                           outcome_handler done) {
  auto report = [this, d = std::move(done)](std::error_code ec) mutable {
    d(ec, manager_.take_outcome().value_or(transaction_outcome::unknown));
  };
  if (pending_ || closed_) return start({}, std::move(report));
  const auto before = manager_.state();
  auto ec = manager_.start_resume(handle, commit);
  log_state_change(before);
  if (!ec) {
    for (const auto& p : handle.partitions) cluster_->want_topic(p.topic);
    cluster_->observer()->log(
        log_level::info, log_category::eos, commit ? "committing" : "aborting",
        " the prepared transaction of ", handle.transactional_id, " (producer id ",
        handle.producer_id, " epoch ", handle.epoch, ", protocol v",
        static_cast<int>(handle.protocol), ", ", handle.partitions.size(), " partitions)");
  }
  start(ec, std::move(report));
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
  if (scan_) return scan_markers();  // a metadata update or a connection may let it go on
  watch_open_transaction(clock::now());
  for (;;) {
    complete_operations();
    const auto before = manager_.state();
    const auto now = clock::now();
    // The protocol of the next transaction, from the coordinator's broker, between
    // transactions only.
    if (before == transaction_state::initializing || before == transaction_state::ready)
      if (auto conn = coordinator_connection(manager_.coordinator())) choose_protocol(*conn);
    const bool held = manager_.awaiting_previous();
    const auto step = manager_.next(now, hooks_.records_outstanding());
    log_state_change(before);
    if (held && !manager_.awaiting_previous()) hooks_.wake();  // the hold timed out
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
      case k::check_markers:
        scan_ = marker_scan{};
        return scan_markers();
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
        // v1 stops at 4 (v5 is KIP-890's implicit add); v6 names topics by id only, which
        // v5 does not need: the names are at hand.
        const auto v = version_up_to(*conn, protocol::TxnOffsetCommitRequest::api_key, v2 ? 5 : 4);
        if (!v || (v2 && *v < 5)) break;
        send_to<protocol::TxnOffsetCommitRequest, protocol::TxnOffsetCommitResponse>(
            conn, manager_.txn_offset_commit_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              d.manager_.on_txn_offset_commit(clock::now(), ec, r);
            });
        return;
      }
      case k::check_previous: {
        const auto v = conn->version_for(protocol::DescribeTransactionsRequest::api_key);
        if (!v) {
          manager_.previous_unknowable();  // the batches go without waiting
          hooks_.wake();
          continue;
        }
        send_to<protocol::DescribeTransactionsRequest, protocol::DescribeTransactionsResponse>(
            conn, manager_.describe_request(), *v,
            [](transaction_driver& d, std::error_code ec, const auto& r) {
              d.manager_.on_describe(clock::now(), ec, r);
            });
        return;
      }
      case k::end_txn: {
        const auto v = version_up_to(*conn, protocol::EndTxnRequest::api_key, v2 ? 32767 : 4);
        if (!v || (v2 && *v < 5)) break;
        const auto request = manager_.end_txn_request();
        send_to<protocol::EndTxnRequest, protocol::EndTxnResponse>(
            conn, request, *v, [](transaction_driver& d, std::error_code ec, const auto& r) {
              if (d.manager_.on_end_txn(clock::now(), ec, r))
                d.hooks_.assign_identity(d.manager_.producer_id(), d.manager_.epoch());
            });
        if (hooks_.end_txn_sent) hooks_.end_txn_sent(request);
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

void transaction_driver::scan_markers() {
  if (!scan_ || scan_->fetch_in_flight) return;
  const auto& partitions = manager_.resumed_partitions();
  if (scan_->partition >= partitions.size()) {
    // Every partition read to its end without a marker of this producer id.
    scan_.reset();
    manager_.on_markers(clock::now(), std::nullopt);
    return hooks_.wake();
  }
  const auto& where = partitions[scan_->partition];
  if (scan_->position < 0) scan_->position = where.first_offset;
  const auto* topic = cluster_->metadata().topic(where.topic);
  std::int32_t leader = -1;
  if (topic && where.partition >= 0 &&
      static_cast<std::size_t>(where.partition) < topic->partitions.size())
    leader = topic->partitions[static_cast<std::size_t>(where.partition)].leader;
  if (leader < 0) {
    cluster_->want_topic(where.topic);
    cluster_->request_refresh();
    return;  // the metadata update drives again
  }
  auto conn = cluster_->ready_connection(leader);
  if (!conn) return;
  // v12 is the last Fetch that names topics; every broker with transactions serves it.
  const auto version = version_up_to(*conn, protocol::FetchRequest::api_key, 12);
  if (!version || *version < 4) {
    scan_.reset();
    manager_.on_markers(clock::now(), std::nullopt);
    return hooks_.wake();
  }
  protocol::FetchRequest request;
  request.max_wait_ms = 0;
  request.min_bytes = 0;
  request.max_bytes = 1 << 20;
  request.isolation_level = 0;  // the markers and the aborted records too
  auto& t = request.topics.emplace_back();
  t.topic = where.topic;
  auto& p = t.partitions.emplace_back();
  p.partition = where.partition;
  p.fetch_offset = scan_->position;
  p.partition_max_bytes = 1 << 20;
  scan_->fetch_in_flight = true;
  std::weak_ptr<transaction_driver> weak = weak_from_this();
  conn->send(request, *version,
             [weak, version = *version](std::error_code ec, response_frame frame) {
               auto self = weak.lock();
               if (!self || self->closed_ || !self->scan_) return;
               protocol::FetchResponse response;
               if (!ec) ec = response.decode(frame.body, version);
               self->scan_answered(ec, response);
             });
}

void transaction_driver::scan_answered(std::error_code ec,
                                       const protocol::FetchResponse& response) {
  scan_->fetch_in_flight = false;
  const auto& where = manager_.resumed_partitions()[scan_->partition];
  const protocol::FetchResponse_PartitionData* data = nullptr;
  for (const auto& t : response.responses)
    if (t.topic == where.topic)
      for (const auto& p : t.partitions)
        if (p.partition_index == where.partition) data = &p;
  if (!ec && !data) ec = make_error_code(errc::protocol_violation);
  if (!ec) ec = protocol::broker_error_code(data->error_code);
  bool partition_done = false;
  if (ec) {
    // This round cannot read the partition: it counts as "no marker seen" (a later round
    // looks again), so a partition that stays unreadable ends in "unknown", not a guess.
    if (is_retriable(ec)) cluster_->request_refresh();
    partition_done = true;
  } else {
    const auto records = data->records ? std::span(data->records->data, data->records->size)
                                       : std::span<const std::uint8_t>();
    const auto search = find_transaction_marker(records, manager_.producer_id(), scan_->position);
    if (search.found) {
      scan_.reset();
      manager_.on_markers(clock::now(), search.found);
      complete_operations();
      return hooks_.wake();
    }
    partition_done = search.error || search.next_offset <= scan_->position ||
                     search.next_offset >= data->high_watermark;
    scan_->position = search.next_offset;
  }
  if (partition_done) {
    ++scan_->partition;
    scan_->position = -1;
  }
  scan_markers();
  complete_operations();
}

void transaction_driver::watch_open_transaction(clock::time_point now) {
  const auto s = manager_.state();
  const bool open = s == transaction_state::in_transaction || s == transaction_state::preparing ||
                    s == transaction_state::prepared || s == transaction_state::committing;
  // (A resumed transaction began in another process: its handle says when.)
  if (!open || warned_ || warn_percent_ <= 0 || manager_.resuming()) return;
  const auto at = manager_.transaction_started() + transaction_timeout_ * warn_percent_ / 100;
  if (now < at) return arm_timer(at);
  warned_ = true;
  auto* o = cluster_->observer();
  o->counters().transactions_overdue.add();
  o->log(log_level::warn, log_category::eos, "transaction of ", manager_.transactional_id(),
         " open for ",
         std::chrono::duration_cast<std::chrono::milliseconds>(now - manager_.transaction_started())
             .count(),
         " ms (", to_string(s), "): the broker aborts it after transaction.timeout.ms (",
         transaction_timeout_.count(), " ms)");
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
