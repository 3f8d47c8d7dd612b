// The producer's sender, on the strand: drains the accumulator's ready batches per broker
// into Produce requests, handles the responses, retries in sequence order and splits batches
// the broker refuses as too large; asks the producer identity for producer ids and epoch
// bumps. Callbacks run on the strand with the accumulator's lock released.
#include "kwire/client/producer.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <random>

#include "core/backoff.hpp"
#include "core/error_kinds.hpp"
#include "core/observer.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/protocol/messages.hpp"
#include "producer/memory_waiters.hpp"
#include "producer/producer_accumulator.hpp"
#include "producer/producer_identity.hpp"
#include "producer/transaction_driver.hpp"

namespace kwire::client {
// Everything here but producer_impl (which producer.hpp names) is private to this file.
namespace {

using clock = std::chrono::steady_clock;
using detail::error_on_the_way;
using detail::pending_record;
using detail::producer_batch;
using detail::producer_topic;
using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

// "broker 1 (host:port)", or "bootstrap server host:port" for the ids a cluster gives those.
std::string describe_node(std::int32_t node_id, const std::string& address) {
  if (node_id < 0) return "bootstrap server " + address;
  std::string out = "broker " + std::to_string(node_id);
  if (!address.empty()) out += " (" + address + ")";
  return out;
}

protocol::record_batch_options batch_options_for(const producer_config& config) {
  protocol::record_batch_options options;
  options.codec = config.compression_type;
  options.transactional = config.transactional_id.has_value();
  if (config.compression_type == protocol::compression::zstd)
    options.compression_level = config.compression_zstd_level;
  else if (config.compression_type == protocol::compression::lz4)
    options.compression_level = config.compression_lz4_level;
  else if (config.compression_type == protocol::compression::gzip &&
           config.compression_gzip_level >= 0)
    options.compression_level = config.compression_gzip_level;
  return options;
}

}  // namespace

namespace detail {

class producer_impl : public std::enable_shared_from_this<producer_impl> {
 public:
  producer_impl(asio::any_io_executor executor, producer_config config)
      : config_(std::move(config)),
        strand_(asio::make_strand(std::move(executor))),
        timer_(strand_),
        memory_timer_(strand_),
        random_(std::random_device{}()),
        accumulator_(
            config_, batch_options_for(config_), [this] { wake(); },
            [this](const std::string& topic) {
              asio::post(strand_, [self = shared_from_this(), topic] {
                self->cluster_->want_topic(topic);
                // The cluster may know the topic already (a response may carry topics nobody
                // asked for): no refresh follows then, so the new topic's records are placed
                // now instead of after metadata.max.age.
                if (self->cluster_->metadata().topic(topic))
                  self->on_metadata(self->cluster_->metadata(), false);
              });
            }),
        identity_(config_.enable_idempotence, config_.retry_backoff, config_.retry_backoff_max,
                  config_.transaction_timeout) {
    cluster_ = cluster::create(strand_, cluster_options_for(config_, "producer"));
  }

  void start() {
    auto self = shared_from_this();
    if (config_.transactional_id) start_transactions();
    cluster_->on_metadata([weak = weak_from_this()](const cluster_metadata& m) {
      if (auto self = weak.lock()) self->on_metadata(m);
    });
    cluster_->on_connection([weak = weak_from_this()](std::int32_t node_id, std::error_code ec) {
      if (auto self = weak.lock()) {
        self->note_connection_result(node_id, ec);
        self->drain();
      }
    });
    asio::post(strand_, [self] { self->cluster_->start(); });
  }

  const producer_config& config() const noexcept { return config_; }
  std::int64_t buffered_bytes() const { return accumulator_.buffered_bytes(); }
  client_metrics_snapshot metrics() const {
    const auto* o = cluster_->observer();
    auto out = o->counters().snapshot(o->kind(), o->client_id());
    out.buffer_bytes_queued = accumulator_.buffered_bytes();
    out.buffer_memory = config_.buffer_memory;
    return out;
  }
  void set_partitioner(std::shared_ptr<partitioner> p) {
    accumulator_.set_partitioner(std::move(p));
  }

  std::error_code send(const producer_record& record, delivery_callback& callback) {
    if (auto ec = transaction_refuses_send()) return ec;
    // Only off the strand may send() wait for buffer.memory: the strand frees it.
    return accumulator_.append(record, callback, !strand_.running_in_this_thread());
  }

  // async_send's library side (any thread): appends without blocking; when buffer.memory
  // is full the record waits on the strand (memory_waiters.hpp), where `slot` can cancel it.
  void send_async(const producer_record& record, delivery_callback callback,
                  asio::cancellation_slot slot) {
    if (auto ec = transaction_refuses_send())
      return report_unsent(record.topic, record.partition, callback, ec);
    // Behind records already waiting, so that one caller's records keep their order.
    if (records_waiting_for_memory_.load(std::memory_order_acquire) == 0) {
      const auto ec = accumulator_.append(record, callback, /*may_block=*/false);
      if (!ec) return;
      if (ec != errc::buffer_exhausted) {
        report_unsent(record.topic, record.partition, callback, ec);
        return;
      }
    }
    records_waiting_for_memory_.fetch_add(1, std::memory_order_acq_rel);
    memory_waiters::waiter w{next_waiter_id_.fetch_add(1, std::memory_order_relaxed),
                             std::make_unique<owned_record>(record), std::move(callback),
                             clock::now() + config_.max_block};
    if (slot.is_connected()) {
      // Runs where the signal is emitted: only posts. Every type applies: a record that
      // waits has had no effect; once it is in a batch, the cancellation finds nothing.
      slot.assign([weak = weak_from_this(), id = w.id](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto self = weak.lock())
          asio::post(self->strand_, [self, id] {
            if (auto cancelled = self->memory_waiters_.take(id)) {
              self->records_waiting_for_memory_.fetch_sub(1, std::memory_order_acq_rel);
              self->fail_waiter(*cancelled, std::make_error_code(std::errc::operation_canceled));
            }
          });
      });
    }
    asio::post(strand_, [self = shared_from_this(), w = std::move(w)]() mutable {
      self->memory_waiters_.push(std::move(w));
      self->admit_waiting_records();
    });
  }

  // ---------------------------------------------------------------- flush and close

  void start_flush(unique_function<void()> done) {
    asio::post(strand_, [self = shared_from_this(), d = std::move(done)]() mutable {
      self->flush_waiters_.push_back({self->accumulator_.begin_flush(), std::move(d)});
      self->check_flush_waiters();
      self->drain();
    });
  }

  // Stops accepting records; delivers what it can within `timeout` (a flush), then fails the
  // rest and closes the connections; then `done`.
  void close_async(std::chrono::milliseconds timeout, unique_function<void()> done) {
    accumulator_.close();  // senders blocked on buffer.memory give up
    asio::post(strand_, [self = shared_from_this(), timeout, d = std::move(done)]() mutable {
      struct close_state {
        unique_function<void()> done;
        std::unique_ptr<asio::steady_timer> timer;  // the timeout; cancelled when done early
        bool finished = false;
      };
      auto state = std::make_shared<close_state>(close_state{std::move(d), nullptr});
      auto finish = [self, state] {
        if (state->finished) return;
        state->finished = true;
        if (state->timer) state->timer->cancel();
        self->shut_down();
        if (state->done) state->done();
      };
      if (self->closed_) return finish();
      self->flush_waiters_.push_back({self->accumulator_.begin_flush(), finish});
      state->timer = std::make_unique<asio::steady_timer>(self->strand_, timeout);
      state->timer->async_wait([finish](boost::system::error_code ec) mutable {
        if (!ec) finish();
      });
      self->check_flush_waiters();
      self->drain();
    });
  }

  // Fails everything not yet delivered; closes the connections. Strand.
  void shut_down() {
    accumulator_.close();
    closed_ = true;
    auto [failed, failed_pending] = accumulator_.take_all();
    for (auto* b : failed) fail_batch(b, make_error_code(errc::shut_down), {});
    for (auto& r : failed_pending) fail_pending(r, make_error_code(errc::shut_down));
    // In-flight batches complete with shut_down from the connections' close.
    timer_.cancel();
    memory_timer_.cancel();
    if (txn_) txn_->close();
    for (auto& w : memory_waiters_.take_all()) {
      records_waiting_for_memory_.fetch_sub(1, std::memory_order_acq_rel);
      fail_waiter(w, make_error_code(errc::shut_down));
    }
    cluster_->close();
    auto waiters = std::move(flush_waiters_);
    flush_waiters_.clear();
    for (auto& w : waiters) w.done();
    answer_partition_count_waiters(true);
  }

  // ---------------------------------------------------------------- transactions

  // The application's transaction calls, from any thread: run on the strand; `done` sees
  // the state already published for send().
  void transaction_call(
      unique_function<void(transaction_driver&, transaction_driver::done_handler)> call,
      unique_function<void(std::error_code)> done) {
    if (!txn_) {
      if (done) done(make_error_code(errc::invalid_transaction_state));
      return;
    }
    asio::post(strand_, [self = shared_from_this(), call = std::move(call),
                         done = std::move(done)]() mutable {
      call(*self->txn_, [self, done = std::move(done)](std::error_code ec) mutable {
        self->publish_transaction_state();
        if (done) done(ec);
      });
      self->publish_transaction_state();
    });
  }

  // begin_transaction() is local, and records sent right after it must be accepted: the
  // published state moves at once; the strand's state machine follows, before any record
  // of the transaction is drained (both are posted to the strand, in this order).
  std::error_code begin_transaction() {
    if (!txn_) return make_error_code(errc::invalid_transaction_state);
    // Counted before the state moves: a publish on the strand in between must not put
    // "ready" back (send() right after this call would then be refused).
    begins_pending_.fetch_add(1, std::memory_order_acq_rel);
    auto expected = transaction_state::ready;
    if (!txn_public_.compare_exchange_strong(expected, transaction_state::in_transaction)) {
      begins_pending_.fetch_sub(1, std::memory_order_acq_rel);
      if (expected == transaction_state::fatal_error) return accumulator_fatal_error();
      return make_error_code(expected == transaction_state::abortable_error
                                 ? errc::transaction_abortable
                                 : errc::invalid_transaction_state);
    }
    asio::post(strand_, [self = shared_from_this()] {
      if (auto ec = self->txn_->begin())
        self->cluster_->observer()->log(log_level::error, log_category::eos,
                                        "begin_transaction refused on the strand: ", ec);
      self->begins_pending_.fetch_sub(1, std::memory_order_acq_rel);
      self->publish_transaction_state();
    });
    return {};
  }

  transaction_state current_transaction_state() const noexcept { return txn_public_.load(); }
  std::string transaction_error_context() const {
    std::lock_guard lock(txn_error_mutex_);
    return txn_error_context_;
  }

 private:
  void start_transactions() {
    identity_.managed_by_transactions();
    transaction_driver_hooks hooks{
        .records_outstanding =
            [this] {
              return accumulator_.oldest_incomplete() != std::numeric_limits<std::uint64_t>::max();
            },
        .assign_identity =
            [this](std::int64_t id, std::int16_t epoch) {
              const auto before = std::pair(identity_.producer_id(), identity_.epoch());
              if (identity_.assign(id, epoch)) accumulator_.reset_sequences();
              // Protocol v2 moves the epoch at every commit and abort: routine, not news.
              if (before.first == id && txn_->protocol_v2())
                cluster_->observer()->log(log_level::debug, log_category::eos,
                                          "next transaction under producer id ", id, " epoch ",
                                          epoch);
              else
                report_identity(before.first, before.second, before.first >= 0, {});
            },
        .abort_unsent =
            [this] {
              auto [batches, pending] = accumulator_.take_all();
              bool sent_before = false;
              for (auto* b : batches) sent_before |= b->base_sequence >= 0;
              // A retried batch given up leaves a sequence gap: the abort bumps the epoch.
              if (sent_before) txn_->batch_failed(make_error_code(errc::transaction_aborted), true);
              for (auto* b : batches) fail_batch(b, make_error_code(errc::transaction_aborted), {});
              for (auto& r : pending) fail_pending(r, make_error_code(errc::transaction_aborted));
            },
        .failed =
            [this](std::error_code ec) {
              identity_.fail_for_good(ec);
              identity_failed();
            },
        .wake = [this] { wake(); },
        .end_txn_sent =
            [this](const protocol::EndTxnRequest& r) {
              if (const auto& hook = cluster_->observer()->hooks().on_end_txn_sent)
                hook(end_txn_event{r.transactional_id, r.producer_id, r.producer_epoch,
                                   r.committed});
            },
    };
    txn_ = std::make_shared<transaction_driver>(strand_, cluster_, config_, std::move(hooks));
  }

  void publish_transaction_state() {
    if (!txn_) return;
    if (begins_pending_.load(std::memory_order_acquire) > 0 &&
        txn_->state() == transaction_state::ready)
      return;  // begin_transaction() moved the published state ahead already
    const auto state = txn_->state();
    if (state == transaction_state::fatal_error || state == transaction_state::abortable_error) {
      std::lock_guard lock(txn_error_mutex_);
      if (state == transaction_state::fatal_error) txn_fatal_error_ = identity_.fatal_error();
      txn_error_context_ = txn_->error_context();
    }
    txn_public_.store(txn_->state());
  }

  // Why a transactional producer refuses a record now (any thread), or nothing.
  std::error_code transaction_refuses_send() const {
    if (!txn_) return {};
    switch (txn_public_.load()) {
      case transaction_state::in_transaction:
        return {};
      case transaction_state::abortable_error:
        return make_error_code(errc::transaction_abortable);
      case transaction_state::fatal_error:
        return accumulator_fatal_error();
      default:
        return make_error_code(errc::invalid_transaction_state);
    }
  }

  std::error_code accumulator_fatal_error() const {
    std::lock_guard lock(txn_error_mutex_);
    return txn_fatal_error_ ? txn_fatal_error_ : make_error_code(errc::invalid_transaction_state);
  }

  // A record of the transaction failed: the transaction can only abort (strand).
  void transaction_record_failed(std::error_code ec) {
    if (!txn_ || ec == errc::transaction_aborted || ec == errc::shut_down) return;
    txn_->batch_failed(ec, identity_.state() == detail::identity_state::needs_bump);
    publish_transaction_state();
  }

 public:
  // ---------------------------------------------------------------- partition counts

  void partition_count(std::string topic, unique_function<void(std::error_code, std::int32_t)> h) {
    accumulator_.partition_count(topic);  // asks the cluster for it
    asio::post(strand_,
               [self = shared_from_this(), topic = std::move(topic), h = std::move(h)]() mutable {
                 self->count_waiters_.push_back(
                     {std::move(topic), std::move(h), clock::now() + self->config_.max_block});
                 self->answer_partition_count_waiters(false);
                 if (!self->count_waiters_.empty())
                   self->arm_timer(self->count_waiters_.back().deadline);
               });
  }

 private:
  struct flush_waiter {
    std::uint64_t generation;
    unique_function<void()> done;
  };

  // Completes the waiters whose topic's metadata arrived (or failed for good), and those
  // past max.block.ms (or all, at shutdown).
  void answer_partition_count_waiters(bool shutting_down) {
    const auto now = clock::now();
    for (auto it = count_waiters_.begin(); it != count_waiters_.end();) {
      auto [count, ec] = accumulator_.partition_count(it->topic);
      if (count < 0 && !ec) {
        if (shutting_down)
          ec = make_error_code(errc::shut_down);
        else if (now >= it->deadline)
          ec = make_error_code(errc::metadata_timed_out);
      }
      if (count >= 0 || ec) {
        auto h = std::move(it->handler);
        it = count_waiters_.erase(it);
        h(ec, ec ? -1 : count);
      } else {
        ++it;
      }
    }
  }

  // ---------------------------------------------------------------- waiting for memory

  // A record async_send could not hand to the accumulator: reported through its callback
  // (the report's topic must outlive the call, so it is the accumulator's copy of the name).
  void report_unsent(std::string_view topic, std::int32_t partition, delivery_callback& callback,
                     std::error_code ec) {
    delivery_report report;
    report.topic = accumulator_.stable_topic_name(topic);
    report.partition = partition;
    auto details = std::make_shared<diagnostics>();
    details->topic = std::string(report.topic);
    details->partition = partition;
    if (ec == errc::buffer_exhausted)
      details->server_message = "buffer.memory (" + std::to_string(config_.buffer_memory) +
                                " bytes) stayed full for max.block.ms (" +
                                std::to_string(config_.max_block.count()) + " ms)";
    report.error_details = std::move(details);
    callback(ec, report);
  }

  void fail_waiter(memory_waiters::waiter& w, std::error_code ec) {
    report_unsent(w.record->topic(), w.record->partition(), w.callback, ec);
  }

  // Memory may have been freed: waiting records go into batches, oldest first (strand).
  void admit_waiting_records() {
    if (memory_waiters_.empty()) return;
    const auto before = memory_waiters_.size();
    auto refused = memory_waiters_.admit([this](const producer_record& r, delivery_callback& cb) {
      return accumulator_.append(r, cb, /*may_block=*/false);
    });
    records_waiting_for_memory_.fetch_sub(before - memory_waiters_.size(),
                                          std::memory_order_acq_rel);
    for (auto& [w, ec] : refused) fail_waiter(w, ec);
    arm_memory_timer();
  }

  void arm_memory_timer() {
    if (memory_waiters_.empty()) return;
    memory_timer_.expires_at(memory_waiters_.next_deadline());
    memory_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      for (auto& w : self->memory_waiters_.take_expired(clock::now())) {
        self->records_waiting_for_memory_.fetch_sub(1, std::memory_order_acq_rel);
        self->fail_waiter(w, make_error_code(errc::buffer_exhausted));
      }
      self->arm_memory_timer();
    });
  }

  // ---------------------------------------------------------------- sender (strand)

  void wake() {
    if (!wake_posted_.exchange(true))
      asio::post(strand_, [self = shared_from_this()] { self->drain(); });
  }

  // `fresh`: from a Metadata response (false: the cluster's copy again, for a new topic).
  void on_metadata(const cluster_metadata& m, bool fresh = true) {
    last_error_ = {};  // a broker answered: what failed on the way to the cluster is past
    for (auto& [r, ec] : accumulator_.update_metadata(m, fresh)) fail_pending(r, ec);
    // A record names a partition the metadata lacks (just created?): ask again, within
    // retry.backoff.ms; it fails after two fresh answers without it.
    if (accumulator_.waiting_for_partitions()) cluster_->request_refresh();
    answer_partition_count_waiters(false);
    drain();
  }

  // Fails a record that never reached a batch (strand, lock not held).
  void fail_pending(pending_record& r, std::error_code ec, const error_on_the_way& why = {}) {
    delivery_report report;
    report.topic = r.topic->name;
    report.partition = r.partition;
    report.timestamp = r.timestamp;
    auto details = std::make_shared<diagnostics>();
    details->topic = r.topic->name;
    details->partition = r.partition;
    details->last_error = why.ec;
    details->last_error_context = why.context;
    report.error_details = std::move(details);
    if (r.callback) r.callback(ec, report);
    accumulator_.pending_done(r);
    transaction_record_failed(ec);
    check_flush_waiters();
    admit_waiting_records();
  }

  void check_flush_waiters() {
    if (flush_waiters_.empty()) return;
    const std::uint64_t oldest_incomplete = accumulator_.oldest_incomplete();
    while (!flush_waiters_.empty() && flush_waiters_.front().generation < oldest_incomplete) {
      auto w = std::move(flush_waiters_.front());
      flush_waiters_.pop_front();
      w.done();
    }
  }

  // Completes a batch's records (strand, lock not held) and returns it to the pool.
  void complete_batch(producer_batch* b, std::error_code ec, std::int64_t base_offset,
                      std::int64_t log_append_time, const diagnostics& diag) {
    delivery_report report;
    report.topic = b->topic->name;
    report.partition = b->partition;
    if (ec) {
      auto details = std::make_shared<diagnostics>(diag);
      if (details->topic.empty()) details->topic = b->topic->name;
      if (details->partition < 0) details->partition = b->partition;
      if (details->broker.empty() && details->broker_id >= 0 && cluster_) {
        if (const auto* broker = cluster_->metadata().broker(details->broker_id))
          details->broker = broker->host + ':' + std::to_string(broker->port);
      }
      report.error_details = std::move(details);
    }
    if (!ec && txn_) txn_->record_written(b->topic->name, b->partition, base_offset);
    for (std::size_t i = 0; i < b->callbacks.size(); ++i) {
      report.offset = ec || base_offset < 0 ? -1 : base_offset + static_cast<std::int64_t>(i);
      report.timestamp = log_append_time >= 0 ? log_append_time : b->timestamps[i];
      if (b->callbacks[i]) b->callbacks[i](ec, report);
    }
    // Callbacks not under the accumulator's lock: a 1 MB batch holds ten thousand callbacks,
    // and a send() waiting that long for the lock sleeps in the kernel.
    accumulator_.recycle(b);
    if (ec) transaction_record_failed(ec);
    check_flush_waiters();
    admit_waiting_records();
  }

  // A connection attempt's outcome, remembered to explain records that time out waiting.
  void note_connection_result(std::int32_t node_id, std::error_code ec) {
    if (!ec) {
      connection_errors_.erase(node_id);
      return;
    }
    if (ec == errc::shut_down) return;  // closed by the client itself
    error_on_the_way seen{ec,
                          "connection to " + describe_node(node_id, cluster_->address(node_id))};
    connection_errors_[node_id] = seen;
    last_error_ = std::move(seen);
  }

  // Why records of a topic without partitions yet are still waiting (strand).
  error_on_the_way why_no_metadata(const producer_topic& topic) const {
    if (topic.error) return {topic.error, "metadata for topic " + topic.name};
    if (last_error_.ec) return last_error_;
    if (auto ec = cluster_->metadata_error()) return {ec, "metadata request"};
    return {};
  }

  // The diagnostics of a batch that timed out: the last error on its way (strand).
  diagnostics timed_out(const producer_batch& b) const {
    diagnostics out;
    out.topic = b.topic->name;
    out.partition = b.partition;
    error_on_the_way why = b.last_error;
    const std::int32_t leader = b.topic->partitions[static_cast<std::size_t>(b.partition)].leader;
    if (!why.ec && leader < 0) {
      // No leader in the metadata: the partition's error says why, if the broker sent one.
      why.ec = protocol::make_error_code(broker_error::leader_not_available);
      if (const auto* t = cluster_->metadata().topic(b.topic->name);
          t && static_cast<std::size_t>(b.partition) < t->partitions.size() &&
          t->partitions[static_cast<std::size_t>(b.partition)].error_code != 0)
        why.ec = protocol::broker_error_code(
            t->partitions[static_cast<std::size_t>(b.partition)].error_code);
      why.context =
          "metadata for topic " + b.topic->name + " partition " + std::to_string(b.partition);
    }
    if (!why.ec) {
      if (auto it = connection_errors_.find(leader); it != connection_errors_.end())
        why = it->second;
      else if (init_error_.ec && !identity_.ready())
        why = init_error_;  // no producer id: nothing could be sent
      else
        why = last_error_;
    }
    out.last_error = why.ec;
    out.last_error_context = std::move(why.context);
    return out;
  }

  void fail_batch(producer_batch* b, std::error_code ec, const diagnostics& diag) {
    complete_batch(b, ec, -1, -1, diag);
  }

  std::chrono::milliseconds retry_backoff(int attempts) {
    return jittered_backoff(config_.retry_backoff, config_.retry_backoff_max, attempts, random_);
  }

  void drain() {
    wake_posted_.store(false);
    if (closed_) return;
    if (!count_waiters_.empty()) answer_partition_count_waiters(false);
    const auto now = clock::now();
    // Expiry first, for every partition: an expired batch that had a sequence needs an epoch
    // bump, and nothing may be sent under the old epoch once that is decided (a batch sent
    // now would come back numbered in the old epoch after the sequences reset).
    const auto expired = accumulator_.take_expired(now);
    for (auto* b : expired) identity_.sequence_abandoned(b->base_sequence);
    if (identity_.state() == identity_state::failed) fail_everything_queued();
    std::map<std::int32_t, std::shared_ptr<connection>> connections;
    const bool idempotent = identity_.idempotent();
    auto drained = accumulator_.drain(
        {.now = now,
         .flushing = !flush_waiters_.empty() || (txn_ && txn_->completing()),
         .may_send = identity_.ready()},
        [&](std::int32_t leader, const producer_partition& p, const producer_batch& b) {
          // v1: a partition joins the transaction (AddPartitionsToTxn) before its first batch.
          if (txn_ && !txn_->partition_ready(b.topic->name, b.partition)) return false;
          if (idempotent) {
            if (p.in_flight >= identity_.in_flight_limit(
                                   p.sequences, config_.max_in_flight_requests_per_connection))
              return false;
            // A retry waits until nothing of its partition is in flight, so that the broker
            // sees the retried sequences in order (fewer OUT_OF_ORDER round trips).
            if (b.base_sequence >= 0 && p.in_flight > 0) return false;
          }
          auto conn_it = connections.find(leader);
          if (conn_it == connections.end())
            conn_it = connections.emplace(leader, cluster_->ready_connection(leader)).first;
          if (!conn_it->second) return false;  // the connection listener brings us back
          return node_in_flight_[leader] < config_.max_in_flight_requests_per_connection;
        });
    for (auto* b : expired) fail_batch(b, make_error_code(errc::delivery_timed_out), timed_out(*b));
    for (auto& r : drained.expired_pending)
      fail_pending(r, make_error_code(errc::delivery_timed_out), why_no_metadata(*r.topic));
    init_producer_id();
    for (auto& [node, batches] : drained.by_node) {
      if (!batches.empty()) send_produce(node, connections[node], std::move(batches));
    }
    arm_timer(drained.next_wakeup);
    if (txn_) {
      txn_->drive();
      publish_transaction_state();
    }
  }

  void arm_timer(clock::time_point at) {
    if (at == clock::time_point::max()) return;
    if (timer_armed_ && at >= timer_at_) return;
    timer_armed_ = true;
    timer_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->timer_armed_ = false;
      self->drain();
    });
  }

  void send_produce(std::int32_t node, const std::shared_ptr<connection>& conn,
                    std::vector<producer_batch*> batches) {
    auto version = conn->version_for(protocol::ProduceRequest::api_key);
    if (version && txn_) version = std::min(*version, txn_->produce_version_cap());
    if (!version || *version < 3) {
      for (auto* b : batches) {
        accumulator_.left_flight(b);
        fail_batch(b, make_error_code(errc::broker_too_old), {});
      }
      return;
    }
    protocol::ProduceRequest request;
    request.transactional_id = config_.transactional_id;
    request.acks = static_cast<std::int16_t>(config_.acks);
    request.timeout_ms = static_cast<std::int32_t>(config_.request_timeout.count());
    const bool idempotent = identity_.idempotent();
    for (auto* b : batches) {
      auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
      if (!b->builder.finished()) {
        if (idempotent)
          b->builder.set_producer(identity_.producer_id(), identity_.epoch(), p.sequences.next);
        if (auto ec = b->builder.finish()) {
          accumulator_.left_flight(b);
          fail_batch(b, ec, {});
          continue;
        }
        if (idempotent)
          b->base_sequence = identity_.take_sequences(p.sequences, b->builder.record_count());
        accumulator_.batch_finished(*b);
      } else if (idempotent) {
        if (b->base_sequence < 0)
          b->base_sequence = identity_.take_sequences(p.sequences, b->builder.record_count());
        b->builder.restamp_producer(identity_.producer_id(), identity_.epoch(), b->base_sequence);
      }
      protocol::ProduceRequest::TopicProduceData* topic_data = nullptr;
      for (auto& t : request.topic_data)
        if (t.name == b->topic->name) topic_data = &t;
      if (!topic_data) {
        topic_data = &request.topic_data.emplace_back();
        if (*version >= 13)
          topic_data->topic_id = b->topic->topic_id;
        else
          topic_data->name = b->topic->name;
        topic_data->name = b->topic->name;
      }
      b->sent_epoch = identity_.epoch();
      auto& pd = topic_data->partition_data.emplace_back();
      pd.index = b->partition;
      pd.records = protocol::byte_view(b->builder.bytes());
    }
    // v13 carries topic ids only; the name was kept above for matching.
    if (*version >= 13)
      for (auto& t : request.topic_data) t.name.clear();
    std::erase_if(batches, [](producer_batch* b) { return !b->builder.finished(); });
    if (batches.empty()) return;
    ++node_in_flight_[node];
    const bool expects_response = config_.acks != required_acks::none;
    // The batches are written from their builders, not copied into the request: they stay
    // untouched while in flight (handle_produce runs after the write, also on close).
    conn->send_borrowing_records(
        request, *version,
        [self = shared_from_this(), node, batches = std::move(batches), version = *version](
            std::error_code ec, response_frame frame) mutable {
          self->handle_produce(node, version, std::move(batches), ec, std::move(frame));
        },
        expects_response);
  }

  void handle_produce(std::int32_t node, std::int16_t version, std::vector<producer_batch*> batches,
                      std::error_code ec, response_frame frame) {
    --node_in_flight_[node];
    diagnostics diag;
    diag.broker_id = node;
    diag.api_key = protocol::ProduceRequest::api_key;
    diag.api_version = version;
    if (!ec && config_.acks == required_acks::none) {
      for (auto* b : batches) finish_attempt(b, {}, -1, -1, diag);
      return drain();
    }
    protocol::ProduceResponse response;
    if (!ec) ec = response.decode(frame.body, frame.api_version);
    if (ec) {
      for (auto* b : batches) finish_attempt(b, ec, -1, -1, diag);
      cluster_->request_refresh();
      return drain();
    }
    for (auto* b : batches) {
      const protocol::ProduceResponse_PartitionProduceResponse* found = nullptr;
      for (const auto& t : response.responses) {
        const bool same_topic =
            version >= 13 ? t.topic_id == b->topic->topic_id : t.name == b->topic->name;
        if (!same_topic) continue;
        for (const auto& p : t.partition_responses)
          if (p.index == b->partition) found = &p;
      }
      if (!found) {
        finish_attempt(b, make_error_code(errc::protocol_violation), -1, -1, diag);
        continue;
      }
      diag.topic = b->topic->name;
      diag.partition = b->partition;
      diag.server_message = found->error_message.value_or("");
      finish_attempt(b, protocol::broker_error_code(found->error_code), found->base_offset,
                     found->log_append_time_ms, diag);
    }
    drain();
  }

  // One produce attempt of a batch ended: deliver, retry in order, or fail.
  void finish_attempt(producer_batch* b, std::error_code ec, std::int64_t base_offset,
                      std::int64_t log_append_time, const diagnostics& diag) {
    auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
    if (is(ec, broker_error::duplicate_sequence_number)) ec.clear();  // already written
    // A batch sent under an epoch since bumped carries the old numbering: it must not move
    // the new epoch's sequences, and a retry gets a new sequence.
    const bool stale_epoch = identity_.stale(b->sent_epoch);
    if (ec && stale_epoch) b->base_sequence = -1;
    if (!ec) {
      if (identity_.idempotent() && b->base_sequence >= 0 && !stale_epoch)
        identity_.acknowledged(p.sequences, b->base_sequence, b->builder.record_count());
      accumulator_.left_flight(b);
      auto& counters = cluster_->observer()->counters();
      counters.records_sent.add(static_cast<std::uint64_t>(b->builder.record_count()));
      counters.record_bytes_sent.add(b->builder.bytes().size());
      return complete_batch(b, {}, base_offset, log_append_time, diag);
    }
    if ((is(ec, broker_error::message_too_large) || is(ec, broker_error::record_list_too_large)) &&
        b->builder.record_count() > 1 && !closed_) {
      // The broker's limit (message.max.bytes, or the topic's max.message.bytes) is below
      // this batch: send its records again in halves, as Java does, until single records
      // are left, which then fail alone.
      if (accumulator_.split_and_requeue(b, identity_)) {
        cluster_->observer()->log(log_level::info, log_category::producer, "batch of ",
                                  b->topic->name, "-", b->partition, " (",
                                  b->builder.record_count(), " records) split in halves: ", ec);
        return;
      }
    }
    identity_.produce_error(ec, b->base_sequence, p.sequences);  // may decide an epoch bump
    // In a transaction a broken sequence cannot be mended by a bump now: the transaction
    // aborts, and its abort bumps the epoch.
    const bool transaction_bump = txn_ && identity_.state() == detail::identity_state::needs_bump;
    const bool retriable = (is_retriable(ec) || identity_.sequence_error(ec)) && !transaction_bump;
    const auto now = clock::now();
    const bool may_retry = retriable && !closed_ && b->attempts < config_.retries;
    if (may_retry) {
      diagnostics where = diag;
      if (where.broker.empty()) where.broker = cluster_->address(where.broker_id);
      b->last_error = {ec, where.describe_where()};
    }
    if (may_retry && now < b->created + config_.delivery_timeout) {
      if (detail::is_stale_leadership(ec) || detail::is_transport_error(ec))
        cluster_->request_refresh();
      cluster_->observer()->log(log_level::debug, log_category::producer, "retrying batch of ",
                                b->topic->name, "-", b->partition, " (attempt ", b->attempts + 1,
                                "): ", ec);
      // Back to the front, in sequence order among the batches already retried.
      return accumulator_.requeue(b, now + retry_backoff(b->attempts + 1));
    }
    identity_.sequence_abandoned(b->base_sequence);  // a gap only a new epoch closes
    accumulator_.left_flight(b);
    // Retriable, but delivery.timeout.ms has passed: a timeout, which names this error.
    if (may_retry)
      return complete_batch(b, make_error_code(errc::delivery_timed_out), -1, -1, timed_out(*b));
    complete_batch(b, ec, -1, -1, diag);
  }

  // InitProducerId when the identity asks for it: a new producer id, or (KIP-360) an epoch
  // bump of the current one once nothing is in flight; then every unacknowledged batch gets
  // new sequences from 0.
  void init_producer_id() {
    if (closed_) return;
    bool produce_in_flight = false;
    for (const auto& [node, count] : node_in_flight_) produce_in_flight |= count > 0;
    const auto step = identity_.next_step(clock::now(), produce_in_flight);
    using step_kind = detail::identity_step::kind;
    if (step.what == step_kind::wait_until) return arm_timer(step.at);
    if (step.what != step_kind::send_init_producer_id) return;  // handle_produce drains again
    auto conn = cluster_->any_ready_connection();
    if (!conn) return;  // connection listener / metadata brings us back
    const std::int32_t node = conn->address().node_id;
    const auto version = conn->version_for(protocol::InitProducerIdRequest::api_key);
    if (!version) {
      identity_.init_impossible(make_error_code(errc::broker_too_old));
      return identity_failed();
    }
    const auto request = identity_.init_request(*version);
    identity_.init_sent();
    conn->send(request, *version,
               [self = shared_from_this(), version = *version, node](std::error_code ec,
                                                                     response_frame frame) {
                 protocol::InitProducerIdResponse response;
                 if (!ec) ec = response.decode(frame.body, version);
                 const auto before =
                     std::pair(self->identity_.producer_id(), self->identity_.epoch());
                 const bool bump = self->identity_.state() == detail::identity_state::bumping;
                 const bool renumber = self->identity_.init_answered(ec, response, clock::now());
                 self->report_identity(before.first, before.second, bump,
                                       ec ? ec : protocol::broker_error_code(response.error_code));
                 if (!ec) ec = protocol::broker_error_code(response.error_code);
                 if (ec) {
                   diagnostics where;
                   where.api_key = protocol::InitProducerIdRequest::api_key;
                   where.api_version = version;
                   where.broker_id = node;
                   where.broker = self->cluster_->address(node);
                   self->init_error_ = {ec, where.describe_where()};
                 } else {
                   self->init_error_ = {};
                 }
                 if (renumber) self->accumulator_.reset_sequences();
                 if (self->identity_.state() == detail::identity_state::failed)
                   return self->identity_failed();
                 self->drain();  // sends, or arms the timer for the next attempt
               });
  }

  // Log, hook and counter of an InitProducerId answer: a producer id, an epoch bump, or why not.
  // A bump may bring a new producer id: Kafka gives an idempotent producer without
  // transactional.id a new one rather than a new epoch.
  void report_identity(std::int64_t old_id, std::int16_t old_epoch, bool bump, std::error_code ec) {
    auto* o = cluster_->observer();
    if (ec) {
      const bool fatal = identity_.state() == detail::identity_state::failed;
      o->log(fatal ? log_level::error : log_level::info, log_category::eos, "InitProducerId failed",
             fatal ? " for good: " : " (will retry): ", ec);
      return;
    }
    const auto id = identity_.producer_id();
    const auto epoch = identity_.epoch();
    if (id == old_id && epoch == old_epoch) return;
    if (bump) o->counters().epoch_bumps.add();
    o->log(log_level::info, log_category::eos, bump ? "epoch bumped: producer id " : "producer id ",
           id, " epoch ", epoch,
           old_id >= 0 ? " (was producer id " + std::to_string(old_id) + " epoch " +
                             std::to_string(old_epoch) + ")"
                       : std::string());
    if (const auto& hook = o->hooks().on_producer_id) hook(producer_id_event{id, epoch, bump});
  }

  // The identity failed for good: sends report its error from now on, and what waits fails.
  void identity_failed() {
    accumulator_.fail_appends(identity_.fatal_error());
    wake();
  }

  // Fails every batch and pending record still queued with the identity's fatal error
  // (strand, lock not held). Batches in flight complete as their responses arrive.
  void fail_everything_queued() {
    auto [failed, failed_pending] = accumulator_.take_all();
    for (auto* b : failed) fail_batch(b, identity_.fatal_error(), timed_out(*b));
    for (auto& r : failed_pending) fail_pending(r, identity_.fatal_error(), init_error_);
  }

  producer_config config_;
  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<cluster> cluster_;
  struct count_waiter {
    std::string topic;
    unique_function<void(std::error_code, std::int32_t)> handler;
    clock::time_point deadline;
  };
  std::vector<count_waiter> count_waiters_;  // async_partition_count (strand)
  asio::steady_timer timer_;
  asio::steady_timer memory_timer_;  // max.block.ms of the first record waiting for memory
  bool timer_armed_ = false;
  clock::time_point timer_at_{};
  partition_random random_;  // retry backoff jitter (strand)
  producer_accumulator accumulator_;

  // Strand only.
  std::atomic<bool> wake_posted_{false};
  bool closed_ = false;
  std::map<std::int32_t, int> node_in_flight_;
  std::deque<flush_waiter> flush_waiters_;
  memory_waiters memory_waiters_;
  // Any thread: how many records wait in memory_waiters_ or on their way there.
  std::atomic<std::size_t> records_waiting_for_memory_{0};
  std::atomic<std::uint64_t> next_waiter_id_{1};
  producer_identity identity_;
  // With transactional.id: the transaction's driver (strand), and its state as send() and
  // begin_transaction() on other threads see it.
  std::shared_ptr<transaction_driver> txn_;
  std::atomic<transaction_state> txn_public_{transaction_state::uninitialized};
  std::atomic<int> begins_pending_{0};  // begin_transaction() calls not yet on the strand
  mutable std::mutex txn_error_mutex_;
  std::error_code txn_fatal_error_;  // the fatal error, for callers on other threads
  std::string txn_error_context_;    // where the last abortable or fatal error came from
  // The last failed connection on the way to the cluster: why records wait for metadata.
  // Cleared by each metadata update.
  error_on_the_way last_error_;
  error_on_the_way init_error_;  // of the last InitProducerId, until one succeeds
  std::map<std::int32_t, error_on_the_way> connection_errors_;  // by node, until it connects
};

}  // namespace detail

producer::producer(asio::any_io_executor executor, producer_config config)
    : impl_(std::make_shared<detail::producer_impl>(std::move(executor), std::move(config))) {
  impl_->start();
}

producer::~producer() {
  // Does not wait: the strand finishes the shutdown (the impl lives until it has).
  if (impl_) impl_->close_async(std::chrono::milliseconds(0), nullptr);
}

std::error_code producer::send(const producer_record& record, delivery_callback callback) {
  return impl_->send(record, callback);
}

void producer::start_send(const producer_record& record, delivery_callback callback,
                          asio::cancellation_slot slot) {
  impl_->send_async(record, std::move(callback), slot);
}

void producer::start_flush(detail::unique_function<void()> done) {
  impl_->start_flush(std::move(done));
}

void producer::flush() {
  std::promise<void> done;
  auto future = done.get_future();
  start_flush([&done] { done.set_value(); });
  future.wait();
}

void producer::close(std::chrono::milliseconds timeout) {
  std::promise<void> done;
  auto future = done.get_future();
  impl_->close_async(timeout, [&done] { done.set_value(); });
  future.wait();
}

void producer::start_close(std::chrono::milliseconds timeout,
                           detail::unique_function<void()> done) {
  impl_->close_async(timeout, std::move(done));
}

const producer_config& producer::config() const noexcept { return impl_->config(); }
std::int64_t producer::buffered_bytes() const noexcept { return impl_->buffered_bytes(); }
client_metrics_snapshot producer::metrics() const { return impl_->metrics(); }
void producer::start_partition_count(
    std::string topic, detail::unique_function<void(std::error_code, std::int32_t)> h) {
  impl_->partition_count(std::move(topic), std::move(h));
}

void producer::start_transaction_call(transaction_call call,
                                      std::vector<transaction_offset> offsets,
                                      consumer_group_metadata group,
                                      detail::unique_function<void(std::error_code)> done) {
  using driver = detail::transaction_driver;
  detail::unique_function<void(driver&, driver::done_handler)> run;
  switch (call) {
    case transaction_call::init:
      run = [](driver& d, driver::done_handler h) { d.init(std::move(h)); };
      break;
    case transaction_call::send_offsets:
      run = [o = std::move(offsets), g = std::move(group)](driver& d,
                                                           driver::done_handler h) mutable {
        d.send_offsets(std::move(o), std::move(g), std::move(h));
      };
      break;
    case transaction_call::commit:
      run = [](driver& d, driver::done_handler h) { d.commit(std::move(h)); };
      break;
    case transaction_call::abort:
      run = [](driver& d, driver::done_handler h) { d.abort(std::move(h)); };
      break;
  }
  impl_->transaction_call(std::move(run), std::move(done));
}

void producer::start_prepare(
    detail::unique_function<void(std::error_code, prepared_transaction)> done) {
  auto result = std::make_shared<prepared_transaction>();
  impl_->transaction_call(
      [result](detail::transaction_driver& d, detail::transaction_driver::done_handler h) {
        d.prepare([result, h = std::move(h)](std::error_code ec, prepared_transaction t) mutable {
          *result = std::move(t);
          h(ec);
        });
      },
      [result, done = std::move(done)](std::error_code ec) mutable {
        done(ec, std::move(*result));
      });
}

void producer::start_complete_prepared(
    prepared_transaction handle, bool commit,
    detail::unique_function<void(std::error_code, transaction_outcome)> done) {
  auto outcome = std::make_shared<transaction_outcome>(transaction_outcome::unknown);
  impl_->transaction_call(
      [outcome, handle = std::move(handle), commit](detail::transaction_driver& d,
                                                    detail::transaction_driver::done_handler h) {
        d.complete_prepared(
            handle, commit,
            [outcome, h = std::move(h)](std::error_code ec, transaction_outcome o) mutable {
              *outcome = o;
              h(ec);
            });
      },
      [outcome, done = std::move(done)](std::error_code ec) mutable { done(ec, *outcome); });
}

namespace {
// Runs a transaction call and waits for its outcome (another thread runs the io_context).
template <class Start>
std::error_code wait_for(Start start) {
  std::promise<std::error_code> done;
  auto future = done.get_future();
  start([&done](std::error_code ec) { done.set_value(ec); });
  return future.get();
}
}  // namespace

std::error_code producer::init_transactions() {
  return wait_for([this](auto h) { start_transaction_call(transaction_call::init, {}, {}, h); });
}
std::error_code producer::send_offsets_to_transaction(std::vector<transaction_offset> offsets,
                                                      consumer_group_metadata group) {
  return wait_for([&](auto h) {
    start_transaction_call(transaction_call::send_offsets, std::move(offsets), std::move(group), h);
  });
}
std::error_code producer::commit_transaction() {
  return wait_for([this](auto h) { start_transaction_call(transaction_call::commit, {}, {}, h); });
}
std::error_code producer::abort_transaction() {
  return wait_for([this](auto h) { start_transaction_call(transaction_call::abort, {}, {}, h); });
}
std::error_code producer::begin_transaction() { return impl_->begin_transaction(); }

std::pair<std::error_code, prepared_transaction> producer::prepare_transaction() {
  std::promise<std::pair<std::error_code, prepared_transaction>> done;
  auto future = done.get_future();
  start_prepare([&done](std::error_code ec, prepared_transaction t) {
    done.set_value({ec, std::move(t)});
  });
  return future.get();
}

std::pair<std::error_code, transaction_outcome> producer::commit_prepared(
    prepared_transaction handle) {
  std::promise<std::pair<std::error_code, transaction_outcome>> done;
  auto future = done.get_future();
  start_complete_prepared(std::move(handle), true,
                          [&done](std::error_code ec, transaction_outcome o) {
                            done.set_value({ec, o});
                          });
  return future.get();
}

std::pair<std::error_code, transaction_outcome> producer::abort_prepared(
    prepared_transaction handle) {
  std::promise<std::pair<std::error_code, transaction_outcome>> done;
  auto future = done.get_future();
  start_complete_prepared(std::move(handle), false,
                          [&done](std::error_code ec, transaction_outcome o) {
                            done.set_value({ec, o});
                          });
  return future.get();
}
kwire::client::transaction_state producer::transaction_state() const noexcept {
  return impl_->current_transaction_state();
}
std::string producer::transaction_error_context() const {
  return impl_->transaction_error_context();
}

void producer::set_partitioner(std::shared_ptr<partitioner> custom) {
  impl_->set_partitioner(std::move(custom));
}

}  // namespace kwire::client
