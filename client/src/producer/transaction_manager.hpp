// The transactional producer's transaction: its state, the partitions and offsets in it, and
// the coordinator requests that move it (FindCoordinator, InitProducerId, AddPartitionsToTxn,
// AddOffsetsToTxn, TxnOffsetCommit, EndTxn). Sans-io, as the group members are: the driver
// (transaction_driver) asks next() what to send, sends it, and reports the answer with `now`.
// One coordinator request at a time, as the Java client's TransactionManager.
//
// Two protocols (TRANSACTIONS.md): v1 adds each partition with AddPartitionsToTxn before its
// first batch, and offsets with AddOffsetsToTxn; v2 (KIP-890 part 2, transaction.version >= 2
// and EndTxn v5) adds them implicitly and bumps the epoch at every EndTxn. The protocol is
// chosen at init and after each EndTxn, never in the middle of a transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/coordinator_lookup.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/messages.hpp"
#include "kwire/protocol/record_batch.hpp"
#include "producer/transaction_completion.hpp"

namespace kwire::client::detail {

using txn_state = transaction_state;

enum class txn_protocol : std::uint8_t { v1 = 1, v2 = 2 };

using txn_partition = std::pair<std::string, std::int32_t>;

class transaction_manager {
 public:
  using clock = std::chrono::steady_clock;

  transaction_manager(std::string transactional_id, std::chrono::milliseconds transaction_timeout,
                      lookup_backoff backoff, std::uint32_t seed);

  txn_state state() const noexcept { return state_; }
  txn_protocol protocol() const noexcept { return protocol_; }
  const std::string& transactional_id() const noexcept { return id_; }
  std::int64_t producer_id() const noexcept { return producer_id_; }
  std::int16_t epoch() const noexcept { return epoch_; }
  // The error behind abortable_error or fatal_error, and where it came from.
  std::error_code error() const noexcept { return error_; }
  const std::string& error_context() const noexcept { return error_context_; }
  // When the open transaction began (its first begin_transaction), for the watchdog.
  clock::time_point transaction_started() const noexcept { return started_; }

  // --- the application's calls. Each returns invalid_transaction_state (nothing changes)
  // when the state does not allow it; an operation that starts completes later through
  // take_completion().
  std::error_code start_init();
  // `wall_ms`: the wall clock, for a prepared transaction's handle.
  std::error_code begin_transaction(clock::time_point now, std::int64_t wall_ms = 0);
  std::error_code start_commit();
  std::error_code start_abort();
  std::error_code start_send_offsets(std::vector<transaction_offset> offsets,
                                     consumer_group_metadata group);
  // Flush and make sure every partition is in the transaction; then prepared_handle().
  std::error_code start_prepare();
  prepared_transaction prepared_handle() const;
  // A record of the transaction was written at `offset`: the handle keeps each partition's
  // first, where the proof of the outcome is looked for.
  void record_written(const std::string& topic, std::int32_t partition, std::int64_t offset);
  // Finishes a transaction prepared elsewhere, from its handle, without InitProducerId (so
  // without fencing it): look for its markers; none yet: EndTxn with the handle's producer id
  // and epoch; then look again: the markers prove the outcome (take_outcome()). Only before
  // init_transactions(), and for this producer's transactional.id; afterwards the producer
  // is uninitialized again, so a new transaction re-initialises (fences) first.
  std::error_code start_resume(const prepared_transaction& handle, bool commit);
  std::optional<transaction_outcome> take_outcome();
  bool resuming() const noexcept { return resume_ != resume_phase::none; }
  const std::vector<prepared_transaction::partition_start>& resumed_partitions() const noexcept {
    return resumed_.partitions;
  }
  // Whether records may be sent now (in_transaction), or the error they get.
  std::error_code may_send() const noexcept;

  // The outcome of the operation started last, once it is decided (then cleared).
  std::optional<std::error_code> take_completion();

  // The protocol for the next transaction: the driver passes what the coordinator's broker
  // supports (transaction.version >= 2 and EndTxn v5). Ignored inside a transaction.
  void choose_protocol(bool v2_supported) noexcept;

  // --- partitions. Under v1 a batch may be sent only once its partition was added (true);
  // the first time a partition is seen it is queued for AddPartitionsToTxn. Under v2 true
  // (the partition joins with its first Produce) once the coordinator has finished the
  // previous transaction (transaction_completion.hpp).
  bool partition_ready(const std::string& topic, std::int32_t partition);
  const std::set<txn_partition>& partitions() const noexcept { return added_; }
  // v2: the batches wait for the previous transaction's completion at the coordinator.
  bool awaiting_previous() const noexcept { return previous_.holding(); }

  // A batch of the transaction failed for good: the transaction becomes abortable (or the
  // producer fatal when the error says it was fenced). `needs_epoch_bump`: the idempotent
  // sequence state is broken (KIP-360), so the abort bumps the epoch.
  void batch_failed(std::error_code ec, bool needs_epoch_bump);

  // --- requests
  enum class request_kind {
    none,                    // nothing to send (or one in flight)
    wait_until,              // back off until `at`
    wait_for_records,        // commit/abort waits for records to complete
    find_coordinator,        // of the transactional id (lookup_request())
    find_group_coordinator,  // of the offsets' group (group_lookup_request())
    init_producer_id,        // init_producer_id_request()
    add_partitions,          // add_partitions_request()
    add_offsets,             // add_offsets_request()
    txn_offset_commit,       // txn_offset_commit_request(), to the group coordinator
    end_txn,                 // end_txn_request()
    check_markers,           // look for the resumed transaction's markers: on_markers()
    check_previous,          // is the previous transaction complete? (v2) describe_request()
  };
  struct next_request {
    request_kind kind = request_kind::none;
    clock::time_point at{};
  };
  // `records_outstanding`: records sent in this transaction not yet completed.
  next_request next(clock::time_point now, bool records_outstanding);

  std::optional<protocol::FindCoordinatorRequest> lookup_request(clock::time_point now);
  std::optional<protocol::FindCoordinatorRequest> group_lookup_request(clock::time_point now);
  const std::optional<coordinator_node>& coordinator() const noexcept { return lookup_.node(); }
  const std::optional<coordinator_node>& group_coordinator() const noexcept;

  protocol::InitProducerIdRequest init_producer_id_request();
  protocol::AddPartitionsToTxnRequest add_partitions_request();
  protocol::AddOffsetsToTxnRequest add_offsets_request();
  protocol::TxnOffsetCommitRequest txn_offset_commit_request();
  protocol::EndTxnRequest end_txn_request();
  protocol::DescribeTransactionsRequest describe_request();

  // --- answers; `ec` is a transport error (the response is then ignored)
  void on_lookup(clock::time_point now, std::error_code ec,
                 const protocol::FindCoordinatorResponse& response);
  void on_group_lookup(clock::time_point now, std::error_code ec,
                       const protocol::FindCoordinatorResponse& response);
  // True when the producer id or epoch changed: the sequences restart at 0.
  bool on_init_producer_id(clock::time_point now, std::error_code ec,
                           const protocol::InitProducerIdResponse& response);
  void on_add_partitions(clock::time_point now, std::error_code ec,
                         const protocol::AddPartitionsToTxnResponse& response);
  void on_add_offsets(clock::time_point now, std::error_code ec,
                      const protocol::AddOffsetsToTxnResponse& response);
  void on_txn_offset_commit(clock::time_point now, std::error_code ec,
                            const protocol::TxnOffsetCommitResponse& response);
  // The marker found after the resumed transaction's first offsets (the first of its
  // producer id in any partition), or nullopt when none is there (yet).
  void on_markers(clock::time_point now, std::optional<protocol::control_type> found);
  // True when the producer id or epoch changed (v2 bumps it at every EndTxn).
  bool on_end_txn(clock::time_point now, std::error_code ec,
                  const protocol::EndTxnResponse& response);
  void on_describe(clock::time_point now, std::error_code ec,
                   const protocol::DescribeTransactionsResponse& response);
  // The coordinator's broker has no DescribeTransactions: the batches never wait for it.
  void previous_unknowable() noexcept { previous_.give_up_for_good(); }

 private:
  enum class offsets_stage : std::uint8_t { none, add_offsets, commit };
  enum class resume_phase : std::uint8_t { none, check_before, end_txn, check_after };
  void finish_resume(transaction_outcome outcome);

  void retry_later(clock::time_point now);
  // A transaction coordinator's error that the same request later mends (no answer, moved,
  // loading, busy): scheduled for a retry (true); else false.
  bool retried_at_coordinator(clock::time_point now, std::error_code ec);
  void fail_fatal(std::error_code ec, std::string context);
  void make_abortable(std::error_code ec, std::string context);
  void complete(std::error_code ec);
  void finish_transaction();
  // Fatal errors of every transactional request (fencing, authorization).
  bool fatal_for_every_request(std::error_code ec) const;

  std::string id_;
  std::chrono::milliseconds timeout_;
  lookup_backoff backoff_;
  coordinator_lookup lookup_;
  std::optional<coordinator_lookup> group_lookup_;
  std::minstd_rand random_;

  txn_state state_ = txn_state::uninitialized;
  txn_protocol protocol_ = txn_protocol::v1;
  std::int64_t producer_id_ = -1;
  std::int16_t epoch_ = -1;
  bool bump_on_abort_ = false;  // the abort sends InitProducerId with (id, epoch)
  bool bumping_ = false;        // that InitProducerId is in flight

  std::set<txn_partition> added_;    // in the transaction
  std::set<txn_partition> pending_;  // to add (v1)
  std::set<txn_partition> adding_;   // in the AddPartitionsToTxn in flight
  bool offsets_sent_ = false;        // TxnOffsetCommit done in this transaction
  completion_wait previous_;         // v2: the previous transaction's markers

  offsets_stage offsets_stage_ = offsets_stage::none;
  std::vector<transaction_offset> offsets_;
  consumer_group_metadata group_;

  bool in_flight_ = false;  // one coordinator request at a time
  int failures_ = 0;        // retriable answers in a row
  clock::time_point retry_at_{};
  clock::time_point started_{};
  std::int64_t started_wall_ms_ = 0;
  std::map<txn_partition, std::int64_t> first_offsets_;

  resume_phase resume_ = resume_phase::none;
  bool resume_commit_ = false;
  prepared_transaction resumed_;
  int marker_checks_ = 0;  // after EndTxn: markers are written after it answers
  std::optional<transaction_outcome> outcome_;

  std::optional<std::error_code> completion_;
  std::error_code error_;
  std::string error_context_;
};

}  // namespace kwire::client::detail
