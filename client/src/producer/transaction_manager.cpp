#include "producer/transaction_manager.hpp"

#include "core/backoff.hpp"
#include "core/error_kinds.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client::detail {
namespace {

using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

bool coordinator_gone(std::error_code ec) {
  return is(ec, broker_error::not_coordinator) || is(ec, broker_error::coordinator_not_available);
}

// The coordinator is busy: the same request later succeeds.
bool coordinator_busy(std::error_code ec) {
  return is(ec, broker_error::coordinator_load_in_progress) ||
         is(ec, broker_error::concurrent_transactions);
}

}  // namespace

}  // namespace kwire::client::detail

namespace kwire::client {

const char* to_string(transaction_state s) noexcept {
  switch (s) {
    case transaction_state::uninitialized:
      return "uninitialized";
    case transaction_state::initializing:
      return "initializing";
    case transaction_state::ready:
      return "ready";
    case transaction_state::in_transaction:
      return "in transaction";
    case transaction_state::preparing:
      return "preparing";
    case transaction_state::prepared:
      return "prepared";
    case transaction_state::committing:
      return "committing";
    case transaction_state::aborting:
      return "aborting";
    case transaction_state::abortable_error:
      return "abortable error";
    case transaction_state::fatal_error:
      return "fatal error";
  }
  return "unknown";
}

}  // namespace kwire::client

namespace kwire::client::detail {

transaction_manager::transaction_manager(std::string transactional_id,
                                         std::chrono::milliseconds transaction_timeout,
                                         lookup_backoff backoff, std::uint32_t seed)
    : id_(std::move(transactional_id)),
      timeout_(transaction_timeout),
      backoff_(backoff),
      lookup_(coordinator_type::transaction, id_, backoff, seed),
      random_(seed + 1) {}

// ------------------------------------------------------------------ the application's calls

std::error_code transaction_manager::start_init() {
  if (state_ == txn_state::fatal_error) return error_;
  if (state_ != txn_state::uninitialized) return make_error_code(errc::invalid_transaction_state);
  state_ = txn_state::initializing;
  return {};
}

std::error_code transaction_manager::begin_transaction(clock::time_point now,
                                                       std::int64_t wall_ms) {
  if (state_ == txn_state::fatal_error) return error_;
  if (state_ != txn_state::ready) return make_error_code(errc::invalid_transaction_state);
  state_ = txn_state::in_transaction;
  started_ = now;
  started_wall_ms_ = wall_ms;
  first_offsets_.clear();
  return {};
}

std::error_code transaction_manager::start_prepare() {
  if (state_ == txn_state::fatal_error) return error_;
  if (state_ == txn_state::abortable_error) return make_error_code(errc::transaction_abortable);
  if (state_ != txn_state::in_transaction || offsets_stage_ != offsets_stage::none)
    return make_error_code(errc::invalid_transaction_state);
  state_ = txn_state::preparing;
  return {};
}

prepared_transaction transaction_manager::prepared_handle() const {
  prepared_transaction h;
  h.transactional_id = id_;
  h.producer_id = producer_id_;
  h.epoch = epoch_;
  h.protocol = static_cast<std::uint8_t>(protocol_);
  h.started_ms = started_wall_ms_;
  h.timeout_ms = static_cast<std::int32_t>(timeout_.count());
  for (const auto& [key, offset] : first_offsets_)
    h.partitions.push_back({key.first, key.second, offset});
  return h;
}

void transaction_manager::record_written(const std::string& topic, std::int32_t partition,
                                         std::int64_t offset) {
  if (offset < 0) return;
  auto [it, inserted] = first_offsets_.try_emplace(txn_partition(topic, partition), offset);
  if (!inserted && offset < it->second) it->second = offset;
}

std::error_code transaction_manager::start_resume(const prepared_transaction& handle, bool commit) {
  if (state_ != txn_state::uninitialized) return make_error_code(errc::invalid_transaction_state);
  if (handle.transactional_id != id_ || handle.producer_id < 0)
    return make_error_code(errc::invalid_argument);
  resumed_ = handle;
  producer_id_ = handle.producer_id;
  epoch_ = handle.epoch;
  protocol_ = handle.protocol == 2 ? txn_protocol::v2 : txn_protocol::v1;
  state_ = commit ? txn_state::committing : txn_state::aborting;
  resume_ = resume_phase::check_before;
  resume_commit_ = commit;
  marker_checks_ = 0;
  return {};
}

std::optional<transaction_outcome> transaction_manager::take_outcome() {
  auto out = outcome_;
  outcome_.reset();
  return out;
}

void transaction_manager::on_markers(clock::time_point now,
                                     std::optional<protocol::control_type> found) {
  in_flight_ = false;
  if (resume_ != resume_phase::check_before && resume_ != resume_phase::check_after) return;
  const bool before = resume_ == resume_phase::check_before;
  if (found == protocol::control_type::commit)
    return finish_resume(resume_commit_ && !before ? transaction_outcome::committed
                                                   : transaction_outcome::already_committed);
  if (found == protocol::control_type::abort)
    return finish_resume(!resume_commit_ && before ? transaction_outcome::already_aborted
                                                   : transaction_outcome::aborted);
  if (before) {
    resume_ = resume_phase::end_txn;
    return;
  }
  // The coordinator writes the markers after it answers EndTxn: look again for a while.
  constexpr int max_marker_checks = 30;
  if (++marker_checks_ >= max_marker_checks) return finish_resume(transaction_outcome::unknown);
  retry_later(now);
}

void transaction_manager::finish_resume(transaction_outcome outcome) {
  outcome_ = outcome;
  resume_ = resume_phase::none;
  producer_id_ = -1;
  epoch_ = -1;
  failures_ = 0;
  finish_transaction();
  // The handle's identity is not this producer's: a transaction of its own starts with
  // init_transactions().
  state_ = txn_state::uninitialized;
  complete({});
}

std::error_code transaction_manager::start_commit() {
  if (state_ == txn_state::fatal_error) return error_;
  if (state_ == txn_state::abortable_error) return make_error_code(errc::transaction_abortable);
  // An unfinished send_offsets would be committed half: it must complete first.
  if ((state_ != txn_state::in_transaction && state_ != txn_state::prepared) ||
      offsets_stage_ != offsets_stage::none)
    return make_error_code(errc::invalid_transaction_state);
  state_ = txn_state::committing;
  return {};
}

std::error_code transaction_manager::start_abort() {
  if (state_ == txn_state::fatal_error) return error_;
  if (state_ != txn_state::in_transaction && state_ != txn_state::abortable_error &&
      state_ != txn_state::preparing && state_ != txn_state::prepared)
    return make_error_code(errc::invalid_transaction_state);
  if (offsets_stage_ != offsets_stage::none) {
    // The send_offsets operation ends with the transaction.
    offsets_stage_ = offsets_stage::none;
    offsets_.clear();
  }
  state_ = txn_state::aborting;
  pending_.clear();  // never sent: their batches fail with transaction_aborted
  previous_.stop();  // nothing of this transaction reached a leader while it held
  return {};
}

std::error_code transaction_manager::start_send_offsets(std::vector<transaction_offset> offsets,
                                                        consumer_group_metadata group) {
  if (auto ec = may_send()) return ec;
  if (offsets_stage_ != offsets_stage::none)
    return make_error_code(errc::invalid_transaction_state);
  if (group.group_id.empty()) return make_error_code(errc::invalid_argument);
  if (!group_lookup_ || group_lookup_->key() != group.group_id)
    group_lookup_.emplace(coordinator_type::group, group.group_id, backoff_,
                          static_cast<std::uint32_t>(random_()));
  offsets_ = std::move(offsets);
  group_ = std::move(group);
  // v2: TxnOffsetCommit v5 adds the offsets partition itself.
  offsets_stage_ =
      protocol_ == txn_protocol::v2 ? offsets_stage::commit : offsets_stage::add_offsets;
  return {};
}

std::error_code transaction_manager::may_send() const noexcept {
  switch (state_) {
    case transaction_state::in_transaction:
      return {};
    case transaction_state::abortable_error:
      return make_error_code(errc::transaction_abortable);
    case transaction_state::fatal_error:
      return error_;
    default:
      return make_error_code(errc::invalid_transaction_state);
  }
}

std::optional<std::error_code> transaction_manager::take_completion() {
  auto out = completion_;
  completion_.reset();
  return out;
}

void transaction_manager::choose_protocol(bool v2_supported) noexcept {
  if (state_ == txn_state::uninitialized || state_ == txn_state::initializing ||
      state_ == txn_state::ready)
    protocol_ = v2_supported ? txn_protocol::v2 : txn_protocol::v1;
}

bool transaction_manager::partition_ready(const std::string& topic, std::int32_t partition) {
  txn_partition key(topic, partition);
  if (added_.contains(key)) return true;
  if (protocol_ == txn_protocol::v2) {
    if (previous_.holding()) return false;
    added_.insert(std::move(key));
    return true;
  }
  if (!adding_.contains(key) && state_ != txn_state::aborting) pending_.insert(std::move(key));
  return false;
}

void transaction_manager::batch_failed(std::error_code ec, bool needs_epoch_bump) {
  if (state_ == txn_state::fatal_error) return;
  if (ec == errc::producer_fenced || fatal_for_every_request(ec))
    return fail_fatal(ec, "a Produce request of the transaction");
  bump_on_abort_ = bump_on_abort_ || needs_epoch_bump;
  make_abortable(ec, "a record of the transaction failed");
}

// ------------------------------------------------------------------ what to send

transaction_manager::next_request transaction_manager::next(clock::time_point now,
                                                            bool records_outstanding) {
  using k = request_kind;
  if (in_flight_) return {};
  // A request to the transaction coordinator: found first, then after any backoff.
  auto to_coordinator = [&](request_kind kind) -> next_request {
    if (!lookup_.known()) {
      if (lookup_.in_flight()) return {};
      if (const auto at = lookup_.deadline(); at > now) return {k::wait_until, at};
      return {k::find_coordinator, {}};
    }
    if (now < retry_at_) return {k::wait_until, retry_at_};
    return {kind, {}};
  };
  if (resume_ != resume_phase::none) {
    if (resume_ == resume_phase::end_txn) return to_coordinator(k::end_txn);
    if (now < retry_at_) return {k::wait_until, retry_at_};
    in_flight_ = true;  // until on_markers()
    return {k::check_markers, {}};
  }
  // v2: the previous transaction's completion first (transaction_completion.hpp); a commit
  // that has nothing to send does not wait for it.
  const bool empty_end = state_ == txn_state::committing && added_.empty() && !offsets_sent_ &&
                         offsets_stage_ == offsets_stage::none && !records_outstanding;
  if (previous_.holding() && !empty_end &&
      (state_ == txn_state::ready || state_ == txn_state::in_transaction ||
       state_ == txn_state::preparing || state_ == txn_state::committing)) {
    const auto step = previous_.next(now);
    if (step.ask) return to_coordinator(k::check_previous);
    if (previous_.holding()) return {k::wait_until, step.at};
  }
  switch (state_) {
    case txn_state::initializing:
      return to_coordinator(k::init_producer_id);
    case txn_state::preparing:
      if (!pending_.empty()) return to_coordinator(k::add_partitions);
      if (records_outstanding) return {k::wait_for_records, {}};
      state_ = txn_state::prepared;
      complete({});
      return {};
    case transaction_state::in_transaction:
    case transaction_state::committing:
      if (!pending_.empty()) return to_coordinator(k::add_partitions);
      if (offsets_stage_ == offsets_stage::add_offsets) return to_coordinator(k::add_offsets);
      if (offsets_stage_ == offsets_stage::commit) {
        if (!group_lookup_->known()) {
          if (group_lookup_->in_flight()) return {};
          if (const auto at = group_lookup_->deadline(); at > now) return {k::wait_until, at};
          return {k::find_group_coordinator, {}};
        }
        if (now < retry_at_) return {k::wait_until, retry_at_};
        return {k::txn_offset_commit, {}};
      }
      if (state_ == txn_state::in_transaction) return {};
      if (records_outstanding) return {k::wait_for_records, {}};
      if (added_.empty() && !offsets_sent_) {
        // Nothing reached the coordinator: an empty transaction commits without a request.
        finish_transaction();
        complete({});
        return {};
      }
      return to_coordinator(k::end_txn);
    case transaction_state::aborting:
      if (records_outstanding) return {k::wait_for_records, {}};
      // KIP-360: InitProducerId with the current id and epoch aborts the transaction and
      // bumps the epoch, which the broken sequences need.
      if (bump_on_abort_) return to_coordinator(k::init_producer_id);
      if (added_.empty() && !offsets_sent_) {
        finish_transaction();
        complete({});
        return {};
      }
      return to_coordinator(k::end_txn);
    default:
      return {};
  }
}

std::optional<protocol::FindCoordinatorRequest> transaction_manager::lookup_request(
    clock::time_point now) {
  auto request = lookup_.request_due(now);
  if (request) in_flight_ = true;
  return request;
}

std::optional<protocol::FindCoordinatorRequest> transaction_manager::group_lookup_request(
    clock::time_point now) {
  if (!group_lookup_) return std::nullopt;
  auto request = group_lookup_->request_due(now);
  if (request) in_flight_ = true;
  return request;
}

const std::optional<coordinator_node>& transaction_manager::group_coordinator() const noexcept {
  static const std::optional<coordinator_node> none;
  return group_lookup_ ? group_lookup_->node() : none;
}

protocol::InitProducerIdRequest transaction_manager::init_producer_id_request() {
  protocol::InitProducerIdRequest request;
  request.transactional_id = id_;
  request.transaction_timeout_ms = static_cast<std::int32_t>(timeout_.count());
  bumping_ = state_ == txn_state::aborting && bump_on_abort_;
  if (bumping_) {
    request.producer_id = producer_id_;
    request.producer_epoch = epoch_;
  }
  in_flight_ = true;
  return request;
}

protocol::AddPartitionsToTxnRequest transaction_manager::add_partitions_request() {
  protocol::AddPartitionsToTxnRequest request;
  request.v3_and_below_transactional_id = id_;
  request.v3_and_below_producer_id = producer_id_;
  request.v3_and_below_producer_epoch = epoch_;
  for (const auto& [topic, partition] : pending_) {
    if (request.v3_and_below_topics.empty() || request.v3_and_below_topics.back().name != topic)
      request.v3_and_below_topics.emplace_back().name = topic;
    request.v3_and_below_topics.back().partitions.push_back(partition);
  }
  adding_ = std::move(pending_);
  pending_.clear();
  in_flight_ = true;
  return request;
}

protocol::AddOffsetsToTxnRequest transaction_manager::add_offsets_request() {
  protocol::AddOffsetsToTxnRequest request;
  request.transactional_id = id_;
  request.producer_id = producer_id_;
  request.producer_epoch = epoch_;
  request.group_id = group_.group_id;
  in_flight_ = true;
  return request;
}

protocol::TxnOffsetCommitRequest transaction_manager::txn_offset_commit_request() {
  protocol::TxnOffsetCommitRequest request;
  request.transactional_id = id_;
  request.group_id = group_.group_id;
  request.producer_id = producer_id_;
  request.producer_epoch = epoch_;
  request.generation_id_or_member_epoch = group_.generation_id;
  request.member_id = group_.member_id;
  request.group_instance_id = group_.group_instance_id;
  for (const auto& o : offsets_) {
    if (request.topics.empty() || request.topics.back().name != o.topic)
      request.topics.emplace_back().name = o.topic;
    auto& p = request.topics.back().partitions.emplace_back();
    p.partition_index = o.partition;
    p.committed_offset = o.offset;
    p.committed_leader_epoch = o.leader_epoch;
    p.committed_metadata = o.metadata;
  }
  in_flight_ = true;
  return request;
}

protocol::EndTxnRequest transaction_manager::end_txn_request() {
  protocol::EndTxnRequest request;
  request.transactional_id = id_;
  request.producer_id = producer_id_;
  request.producer_epoch = epoch_;
  request.committed = state_ == txn_state::committing;
  in_flight_ = true;
  return request;
}

protocol::DescribeTransactionsRequest transaction_manager::describe_request() {
  protocol::DescribeTransactionsRequest request;
  request.transactional_ids.push_back(id_);
  in_flight_ = true;
  return request;
}

// ------------------------------------------------------------------ answers

void transaction_manager::on_lookup(clock::time_point now, std::error_code ec,
                                    const protocol::FindCoordinatorResponse& response) {
  in_flight_ = false;
  if (ec) return lookup_.handle_failure(now);
  std::string message;
  if (auto fatal = lookup_.handle_response(now, response, message))
    fail_fatal(fatal, message + " for transactional.id " + id_);
}

void transaction_manager::on_group_lookup(clock::time_point now, std::error_code ec,
                                          const protocol::FindCoordinatorResponse& response) {
  in_flight_ = false;
  if (!group_lookup_) return;
  if (ec) return group_lookup_->handle_failure(now);
  std::string message;
  if (auto err = group_lookup_->handle_response(now, response, message))
    make_abortable(err, message + " for group " + group_.group_id);
}

bool transaction_manager::on_init_producer_id(clock::time_point now, std::error_code ec,
                                              const protocol::InitProducerIdResponse& response) {
  in_flight_ = false;
  const bool bump = bumping_;
  bumping_ = false;
  if (!ec) ec = protocol::broker_error_code(response.error_code);
  if (ec) {
    if (retried_at_coordinator(now, ec)) return false;
    if (is(ec, broker_error::invalid_producer_epoch) || is(ec, broker_error::producer_fenced))
      ec = make_error_code(errc::producer_fenced);
    fail_fatal(ec, "InitProducerId for transactional.id " + id_);
    return false;
  }
  failures_ = 0;
  const bool changed = response.producer_id != producer_id_ || response.producer_epoch != epoch_;
  producer_id_ = response.producer_id;
  epoch_ = response.producer_epoch;
  if (bump) {
    finish_transaction();
  } else {
    state_ = txn_state::ready;
  }
  complete({});
  return changed;
}

void transaction_manager::on_add_partitions(clock::time_point now, std::error_code ec,
                                            const protocol::AddPartitionsToTxnResponse& response) {
  in_flight_ = false;
  auto adding = std::move(adding_);
  adding_.clear();
  auto back_to_pending = [&] {
    if (state_ == txn_state::in_transaction || state_ == txn_state::committing ||
        state_ == txn_state::preparing)
      pending_.insert(adding.begin(), adding.end());
  };
  if (ec) {
    lookup_.mark_unknown();
    back_to_pending();
    return retry_later(now);
  }
  std::error_code retry, abortable, fatal;
  std::string where;
  for (const auto& t : response.results_by_topic_v3_and_below) {
    for (const auto& p : t.results_by_partition) {
      txn_partition key(t.name, p.partition_index);
      if (!adding.contains(key)) continue;
      const auto err = protocol::broker_error_code(p.partition_error_code);
      if (!err) {
        added_.insert(key);
        adding.erase(key);
        continue;
      }
      if (coordinator_gone(err)) lookup_.mark_unknown();
      if (coordinator_gone(err) || coordinator_busy(err) ||
          is(err, broker_error::unknown_topic_or_partition) ||
          is(err, broker_error::operation_not_attempted) || protocol::is_retriable(err)) {
        retry = err;
        continue;
      }
      if (fatal_for_every_request(err) || is(err, broker_error::invalid_producer_id_mapping)) {
        fatal = err;
      } else {
        if (is(err, broker_error::unknown_producer_id)) bump_on_abort_ = true;
        if (!abortable)
          where = "AddPartitionsToTxn for " + t.name + "-" + std::to_string(p.partition_index);
        abortable = err;
      }
    }
  }
  if (fatal) return fail_fatal(fatal, "AddPartitionsToTxn for transactional.id " + id_);
  if (abortable) return make_abortable(abortable, where);
  // Partitions refused for now, or not answered: asked again after the backoff.
  if (!adding.empty()) {
    back_to_pending();
    retry_later(now);
    return;
  }
  failures_ = 0;
  (void)retry;
}

void transaction_manager::on_add_offsets(clock::time_point now, std::error_code ec,
                                         const protocol::AddOffsetsToTxnResponse& response) {
  in_flight_ = false;
  if (offsets_stage_ != offsets_stage::add_offsets) return;
  if (!ec) ec = protocol::broker_error_code(response.error_code);
  if (!ec) {
    failures_ = 0;
    offsets_sent_ = true;  // the group's offsets partition is in the transaction
    offsets_stage_ = offsets_stage::commit;
    return;
  }
  if (retried_at_coordinator(now, ec)) return;
  if (fatal_for_every_request(ec))
    return fail_fatal(ec, "AddOffsetsToTxn for transactional.id " + id_);
  if (is(ec, broker_error::unknown_producer_id)) bump_on_abort_ = true;
  make_abortable(ec, "AddOffsetsToTxn for group " + group_.group_id);
}

void transaction_manager::on_txn_offset_commit(clock::time_point now, std::error_code ec,
                                               const protocol::TxnOffsetCommitResponse& response) {
  in_flight_ = false;
  if (offsets_stage_ != offsets_stage::commit) return;
  if (ec) {
    group_lookup_->mark_unknown();
    return retry_later(now);
  }
  std::error_code retry, failed;
  for (const auto& t : response.topics)
    for (const auto& p : t.partitions) {
      const auto err = protocol::broker_error_code(p.error_code);
      if (!err) continue;
      if (coordinator_gone(err)) group_lookup_->mark_unknown();
      if (coordinator_gone(err) || coordinator_busy(err) ||
          is(err, broker_error::unknown_topic_or_partition) || protocol::is_retriable(err))
        retry = err;
      else if (!failed)
        failed = err;
    }
  if (failed) {
    const std::string where = "TxnOffsetCommit for group " + group_.group_id;
    if (fatal_for_every_request(failed) || is(failed, broker_error::unsupported_for_message_format))
      return fail_fatal(failed, where);
    // A stale generation or member (classic or KIP-848) means the consumer lost these
    // partitions: the transaction must not commit their offsets.
    return make_abortable(failed, where);
  }
  if (retry) return retry_later(now);  // the whole request again: a repeat is harmless
  failures_ = 0;
  offsets_sent_ = true;
  offsets_stage_ = offsets_stage::none;
  offsets_.clear();
  complete({});
}

bool transaction_manager::on_end_txn(clock::time_point now, std::error_code ec,
                                     const protocol::EndTxnResponse& response) {
  in_flight_ = false;
  if (state_ != txn_state::committing && state_ != txn_state::aborting) return false;
  if (!ec) ec = protocol::broker_error_code(response.error_code);
  if (resume_ == resume_phase::end_txn) {
    if (ec && retried_at_coordinator(now, ec)) return false;
    // Success, or an answer that says the handle's epoch is past (fenced, invalid state,
    // unknown id): only the markers tell what happened to the transaction.
    if (!ec || is(ec, broker_error::producer_fenced) ||
        is(ec, broker_error::invalid_producer_epoch) || is(ec, broker_error::invalid_txn_state) ||
        is(ec, broker_error::invalid_producer_id_mapping) ||
        is(ec, broker_error::unknown_producer_id) || is(ec, broker_error::transaction_abortable)) {
      resume_ = resume_phase::check_after;
      return false;
    }
    // Unauthorised or a broken request: nothing was decided by this call.
    resume_ = resume_phase::none;
    producer_id_ = -1;
    epoch_ = -1;
    finish_transaction();
    state_ = txn_state::uninitialized;
    complete(ec);
    return false;
  }
  if (ec) {
    // Without an answer the outcome is unknown: the same EndTxn again (the coordinator
    // answers a repeat of a completed one with success), never a guess.
    if (retried_at_coordinator(now, ec)) return false;
    const std::string where = "EndTxn for transactional.id " + id_;
    if (is(ec, broker_error::invalid_producer_epoch) || is(ec, broker_error::producer_fenced))
      ec = make_error_code(errc::producer_fenced);
    const bool mapping_lost = is(ec, broker_error::invalid_producer_id_mapping);
    if (fatal_for_every_request(ec) || is(ec, broker_error::invalid_txn_state) ||
        (mapping_lost && protocol_ == txn_protocol::v2)) {
      fail_fatal(ec, where);
      return false;
    }
    if (state_ == txn_state::committing &&
        (is(ec, broker_error::transaction_abortable) || mapping_lost ||
         is(ec, broker_error::unknown_producer_id))) {
      bump_on_abort_ = !is(ec, broker_error::transaction_abortable);
      make_abortable(ec, where);
      return false;
    }
    if (state_ == txn_state::aborting && is(ec, broker_error::unknown_producer_id)) {
      bump_on_abort_ = true;  // the abort goes on as an epoch bump
      return false;
    }
    fail_fatal(ec, where);
    return false;
  }
  failures_ = 0;
  bool changed = false;
  if (protocol_ == txn_protocol::v2 && response.producer_id >= 0) {
    // v2 bumps the epoch at every EndTxn (a new producer id at the overflow).
    changed = response.producer_id != producer_id_ || response.producer_epoch != epoch_;
    producer_id_ = response.producer_id;
    epoch_ = response.producer_epoch;
  }
  finish_transaction();
  // v2: the coordinator writes the markers after this answer; the next transaction's first
  // Produce waits until it has (transaction_completion.hpp).
  if (protocol_ == txn_protocol::v2) previous_.start(now);
  complete({});
  return changed;
}

void transaction_manager::on_describe(clock::time_point now, std::error_code ec,
                                      const protocol::DescribeTransactionsResponse& response) {
  in_flight_ = false;
  std::string_view state;
  if (ec) {
    lookup_.mark_unknown();  // no answer: the coordinator may have moved
  } else {
    ec = make_error_code(errc::protocol_violation);  // unless our id is in the answer
    for (const auto& t : response.transaction_states)
      if (t.transactional_id == id_) {
        ec = protocol::broker_error_code(t.error_code);
        state = t.transaction_state;
      }
    if (coordinator_gone(ec)) lookup_.mark_unknown();
  }
  previous_.on_answer(now, ec, state);
}

// ------------------------------------------------------------------ private

bool transaction_manager::retried_at_coordinator(clock::time_point now, std::error_code ec) {
  const bool transport = ec.category() != protocol::broker_category();
  if (transport || coordinator_gone(ec)) lookup_.mark_unknown();
  if (!transport && !coordinator_gone(ec) && !coordinator_busy(ec) && !protocol::is_retriable(ec))
    return false;
  retry_later(now);
  return true;
}

void transaction_manager::retry_later(clock::time_point now) {
  ++failures_;
  retry_at_ = now + jittered_backoff(backoff_.retry_backoff, backoff_.retry_backoff_max, failures_,
                                     random_);
}

bool transaction_manager::fatal_for_every_request(std::error_code ec) const {
  return ec == errc::producer_fenced || is(ec, broker_error::producer_fenced) ||
         is(ec, broker_error::invalid_producer_epoch) ||
         is(ec, broker_error::transactional_id_authorization_failed) ||
         is(ec, broker_error::cluster_authorization_failed) ||
         (protocol_ == txn_protocol::v2 && is(ec, broker_error::invalid_producer_id_mapping));
}

void transaction_manager::fail_fatal(std::error_code ec, std::string context) {
  if (is(ec, broker_error::invalid_producer_epoch) || is(ec, broker_error::producer_fenced))
    ec = make_error_code(errc::producer_fenced);
  state_ = txn_state::fatal_error;
  previous_.stop();
  error_ = ec;
  error_context_ = std::move(context);
  complete(ec);
}

void transaction_manager::make_abortable(std::error_code ec, std::string context) {
  // Only an open transaction becomes abortable; an abort under way goes on.
  if (state_ != txn_state::in_transaction && state_ != txn_state::committing &&
      state_ != txn_state::preparing)
    return;
  const bool committing = state_ == txn_state::committing || state_ == txn_state::preparing;
  const bool offsets_pending = offsets_stage_ != offsets_stage::none;
  state_ = txn_state::abortable_error;
  error_ = ec;
  error_context_ = std::move(context);
  pending_.clear();
  offsets_stage_ = offsets_stage::none;
  offsets_.clear();
  // The operation waiting on this transaction (commit, send_offsets) reports the cause.
  if (committing || offsets_pending) complete(ec);
}

void transaction_manager::complete(std::error_code ec) { completion_ = ec; }

void transaction_manager::finish_transaction() {
  added_.clear();
  pending_.clear();
  adding_.clear();
  offsets_sent_ = false;
  offsets_stage_ = offsets_stage::none;
  offsets_.clear();
  bump_on_abort_ = false;
  error_ = {};
  error_context_.clear();
  state_ = txn_state::ready;
}

}  // namespace kwire::client::detail
