#include "producer/producer_identity.hpp"

#include <algorithm>

#include "core/backoff.hpp"
#include "core/error_kinds.hpp"
#include "kwire/client/error.hpp"

namespace kwire::client::detail {
namespace {

using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

}  // namespace

identity_error_class classify_init_error(std::error_code ec) noexcept {
  // As the Java client's InitProducerIdHandler: authorization, fencing and any error it does
  // not expect are fatal; the retriable broker errors and the transport's are retried.
  if (ec == errc::broker_too_old || ec == errc::shut_down) return identity_error_class::fatal;
  if (ec.category() != protocol::broker_category()) return identity_error_class::retriable;
  if (protocol::is_retriable(ec) || is(ec, broker_error::coordinator_load_in_progress) ||
      is_coordinator_moved(ec) || is(ec, broker_error::concurrent_transactions))
    return identity_error_class::retriable;
  return identity_error_class::fatal;
}

producer_identity::producer_identity(bool idempotent, std::chrono::milliseconds retry_backoff,
                                     std::chrono::milliseconds retry_backoff_max,
                                     std::chrono::milliseconds transaction_timeout)
    : state_(idempotent ? identity_state::needs_id : identity_state::idempotence_off),
      retry_backoff_(retry_backoff),
      retry_backoff_max_(std::max(retry_backoff_max, retry_backoff)),
      transaction_timeout_(transaction_timeout) {}

identity_step producer_identity::next_step(identity_clock::time_point now,
                                           bool produce_in_flight) const {
  using kind = identity_step::kind;
  if (transactional_)
    return state_ == identity_state::failed ? identity_step{kind::failed, {}} : identity_step{};
  switch (state_) {
    case identity_state::needs_id:
      if (failed_attempts_ > 0 && now < retry_at_) return {kind::wait_until, retry_at_};
      return {kind::send_init_producer_id, {}};
    case identity_state::needs_bump:
      // Batches in flight under the old epoch must come back first: their outcome decides
      // which sequences the new epoch renumbers.
      if (produce_in_flight) return {kind::wait_for_in_flight, {}};
      if (failed_attempts_ > 0 && now < retry_at_) return {kind::wait_until, retry_at_};
      return {kind::send_init_producer_id, {}};
    case identity_state::failed:
      return {kind::failed, {}};
    case identity_state::idempotence_off:
    case identity_state::requesting_id:
    case identity_state::ready:
    case identity_state::bumping:
      break;
  }
  return {kind::nothing, {}};
}

protocol::InitProducerIdRequest producer_identity::init_request(std::int16_t version) const {
  protocol::InitProducerIdRequest request;
  request.transactional_id.reset();
  request.transaction_timeout_ms = static_cast<std::int32_t>(transaction_timeout_.count());
  const bool bump = state_ == identity_state::needs_bump || state_ == identity_state::bumping;
  if (bump && producer_id_ >= 0 && version >= 3) {
    request.producer_id = producer_id_;
    request.producer_epoch = epoch_;
  }
  return request;
}

void producer_identity::init_sent() {
  if (state_ == identity_state::needs_id)
    state_ = identity_state::requesting_id;
  else if (state_ == identity_state::needs_bump)
    state_ = identity_state::bumping;
}

void producer_identity::init_impossible(std::error_code ec) { fail(ec); }

bool producer_identity::init_answered(std::error_code ec,
                                      const protocol::InitProducerIdResponse& response,
                                      identity_clock::time_point now) {
  if (state_ != identity_state::requesting_id && state_ != identity_state::bumping) return false;
  const bool bump = state_ == identity_state::bumping;
  if (!ec) ec = protocol::broker_error_code(response.error_code);
  if (ec) {
    last_init_error_ = ec;
    if (classify_init_error(ec) != identity_error_class::retriable) {
      // A fenced epoch means another producer took over this identity.
      if (is(ec, broker_error::invalid_producer_epoch) || is(ec, broker_error::producer_fenced))
        ec = make_error_code(errc::producer_fenced);
      fail(ec);
      return false;
    }
    ++failed_attempts_;
    retry_at_ =
        now + jittered_backoff(retry_backoff_, retry_backoff_max_, failed_attempts_, random_);
    state_ = bump ? identity_state::needs_bump : identity_state::needs_id;
    return false;
  }
  failed_attempts_ = 0;
  last_init_error_ = {};
  producer_id_ = response.producer_id;
  epoch_ = response.producer_epoch;
  state_ = identity_state::ready;
  return bump;
}

bool producer_identity::assign(std::int64_t producer_id, std::int16_t epoch) {
  if (state_ == identity_state::failed || state_ == identity_state::idempotence_off) return false;
  const bool changed = producer_id != producer_id_ || epoch != epoch_;
  const bool had_id = producer_id_ >= 0;
  producer_id_ = producer_id;
  epoch_ = epoch;
  failed_attempts_ = 0;
  last_init_error_ = {};
  state_ = identity_state::ready;
  return changed && had_id;
}

std::int32_t producer_identity::take_sequences(partition_sequences& seq,
                                               std::int32_t records) const {
  const std::int32_t base = seq.next;
  seq.next += records;
  return base;
}

void producer_identity::acknowledged(partition_sequences& seq, std::int32_t base_sequence,
                                     std::int32_t records) const {
  seq.last_acked = std::max(seq.last_acked, base_sequence + records - 1);
}

int producer_identity::in_flight_limit(const partition_sequences& seq,
                                       int max_in_flight_per_connection) const {
  return seq.last_acked < 0 ? 1 : std::min(max_in_flight_per_connection, 5);
}

bool producer_identity::sequence_error(std::error_code ec) const {
  return idempotent() && (is(ec, broker_error::out_of_order_sequence_number) ||
                          is(ec, broker_error::unknown_producer_id) ||
                          is(ec, broker_error::invalid_producer_epoch));
}

void producer_identity::produce_error(std::error_code ec, std::int32_t base_sequence,
                                      const partition_sequences& seq) {
  if (!sequence_error(ec)) return;
  // OUT_OF_ORDER for a batch behind an unresolved one (an earlier batch still in flight or
  // retrying) only means "not yet": retry with the same sequence. A new epoch would renumber
  // batches the broker may already hold, and so duplicate them. The epoch is bumped only when
  // the broker lost our producer state, or refuses the very next sequence after everything
  // acknowledged, or refuses a sequence it already passed (retrying it can never succeed).
  const bool next_expected = base_sequence == seq.last_acked + 1;
  const bool already_passed = base_sequence >= 0 && base_sequence <= seq.last_acked;
  if (!is(ec, broker_error::out_of_order_sequence_number) || next_expected || already_passed)
    need_bump();
}

void producer_identity::sequence_abandoned(std::int32_t base_sequence) {
  if (base_sequence >= 0) need_bump();
}

void producer_identity::need_bump() {
  // Only from ready: without an id yet, or with a bump already on its way, the id to come
  // starts with fresh sequences anyway; a failed producer stays failed.
  if (state_ == identity_state::ready) state_ = identity_state::needs_bump;
}

void producer_identity::fail(std::error_code ec) {
  fatal_error_ = ec;
  state_ = identity_state::failed;
}

}  // namespace kwire::client::detail
