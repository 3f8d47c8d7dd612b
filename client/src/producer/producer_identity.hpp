// The idempotent producer's identity: producer id, epoch, the per-partition sequence
// numbers, and the rules that bump the epoch (KIP-360) or fail the producer for good. A
// sans-io state machine, as the group members are: the sender reports responses and events
// with `now`, and asks next_step() what to do about the producer id. Transactions extend the
// state enum (and the error classes) rather than the sender.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <system_error>

#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

using identity_clock = std::chrono::steady_clock;

enum class identity_state {
  idempotence_off,  // enable.idempotence=false: batches carry no producer id
  needs_id,         // no producer id yet (or the last InitProducerId failed; see retry_at)
  requesting_id,    // InitProducerId in flight for a first id
  ready,            // batches may be sent under (producer_id, epoch)
  needs_bump,       // a sequence gap or lost broker state: bump once nothing is in flight
  bumping,          // InitProducerId in flight for the bump
  failed,           // fatal: every send reports fatal_error()
};

// How an error from InitProducerId (and, with transactions, the transactional requests)
// affects the producer. Abortable is for transactions: the transaction aborts, the producer
// lives on.
enum class identity_error_class { retriable, abortable, fatal };
identity_error_class classify_init_error(std::error_code ec) noexcept;

// A partition's sequence numbers under the current epoch. Kept with the partition's queue
// (a lookup per batch would cost); only producer_identity's rules change them.
struct partition_sequences {
  std::int32_t next = 0;         // the base sequence of the next new batch
  std::int32_t last_acked = -1;  // the last sequence the broker acknowledged
};

// What the sender does next about the producer id.
struct identity_step {
  enum class kind {
    nothing,                // ready, or a request is in flight, or idempotence is off
    wait_for_in_flight,     // a bump waits until no Produce request is in flight
    wait_until,             // back off until `at`, then ask again
    send_init_producer_id,  // build it with init_request()
    failed,                 // fatal_error() says why
  };
  kind what = kind::nothing;
  identity_clock::time_point at{};
};

class producer_identity {
 public:
  producer_identity(bool idempotent, std::chrono::milliseconds retry_backoff,
                    std::chrono::milliseconds retry_backoff_max,
                    std::chrono::milliseconds transaction_timeout);

  identity_state state() const noexcept { return state_; }
  bool idempotent() const noexcept { return state_ != identity_state::idempotence_off; }
  // True when batches may be drained for sending.
  bool ready() const noexcept {
    return state_ == identity_state::ready || state_ == identity_state::idempotence_off;
  }
  std::int64_t producer_id() const noexcept { return producer_id_; }
  std::int16_t epoch() const noexcept { return epoch_; }
  std::error_code fatal_error() const noexcept { return fatal_error_; }
  // The last InitProducerId error while no usable id exists (diagnostics of timed-out records).
  std::error_code last_init_error() const noexcept { return last_init_error_; }

  identity_step next_step(identity_clock::time_point now, bool produce_in_flight) const;

  // With transactional.id the transaction manager obtains the producer id and bumps the
  // epoch (InitProducerId carries the transactional id and aborts a transaction): next_step()
  // then never asks for InitProducerId, and assign() installs what the coordinator gave.
  void managed_by_transactions() noexcept { transactional_ = true; }
  bool transactional() const noexcept { return transactional_; }
  // True when the id or epoch changed under existing sequences (they restart at 0).
  bool assign(std::int64_t producer_id, std::int16_t epoch);
  // The transaction manager failed for good (fenced, unauthorised): so does the identity.
  void fail_for_good(std::error_code ec) { fail(ec); }

  // The request for send_init_producer_id at `version`: a bump carries the current id and
  // epoch (v3+); older versions get a new producer id instead.
  protocol::InitProducerIdRequest init_request(std::int16_t version) const;
  void init_sent();
  // Why InitProducerId cannot be sent at all (no version both sides support): fatal.
  void init_impossible(std::error_code ec);
  // The response (or the transport error). True when the epoch changed under existing
  // sequences: the sender restarts every partition's sequences at 0.
  bool init_answered(std::error_code ec, const protocol::InitProducerIdResponse& response,
                     identity_clock::time_point now);

  // --- sequences and the bump rules

  // The sequence range of a new batch of `records` records.
  std::int32_t take_sequences(partition_sequences& seq, std::int32_t records) const;
  void acknowledged(partition_sequences& seq, std::int32_t base_sequence,
                    std::int32_t records) const;
  // Batches allowed in flight for a partition: one until the broker acknowledged a batch of
  // this epoch (until then it may hold no state for us and accept any first sequence,
  // KIP-360), then up to five.
  int in_flight_limit(const partition_sequences& seq, int max_in_flight_per_connection) const;
  // A batch sent under an epoch since bumped carries the old numbering.
  bool stale(std::int16_t sent_epoch) const noexcept {
    return idempotent() && sent_epoch != epoch_;
  }
  // OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH: retried by an
  // idempotent producer (after a bump, when produce_error() decides one).
  bool sequence_error(std::error_code ec) const;
  // A Produce error for a batch with `base_sequence` (-1: none) of a partition at `seq`.
  void produce_error(std::error_code ec, std::int32_t base_sequence,
                     const partition_sequences& seq);
  // A batch that had a sequence failed or expired without an acknowledgement: its outcome is
  // unknown, and the sequence gap can only be closed by a new epoch.
  void sequence_abandoned(std::int32_t base_sequence);
  static void reset(partition_sequences& seq) { seq = {}; }

 private:
  void fail(std::error_code ec);
  void need_bump();

  identity_state state_;
  bool transactional_ = false;
  std::chrono::milliseconds retry_backoff_;
  std::chrono::milliseconds retry_backoff_max_;
  std::chrono::milliseconds transaction_timeout_;
  std::int64_t producer_id_ = -1;
  std::int16_t epoch_ = -1;
  int failed_attempts_ = 0;  // InitProducerId failures in a row: the backoff grows with them
  identity_clock::time_point retry_at_{};
  std::error_code last_init_error_;
  std::error_code fatal_error_;
  std::minstd_rand random_{std::random_device{}()};  // backoff jitter
};

}  // namespace kwire::client::detail
