// The transaction state machine with a scripted coordinator (no broker): the request each
// state asks for, every error InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
// TxnOffsetCommit and EndTxn can return and what it does to the transaction, a lost EndTxn
// response, and both transaction protocols.
#include "producer/transaction_manager.hpp"

#include <gtest/gtest.h>

#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using namespace std::chrono_literals;
using kind = kd::transaction_manager::request_kind;
using state = kc::transaction_state;
using be = kp::broker_error;

namespace {

std::int16_t code(be e) { return static_cast<std::int16_t>(e); }
std::error_code err(be e) { return kp::make_error_code(e); }

kp::FindCoordinatorResponse found(const std::string& key, std::int32_t node) {
  kp::FindCoordinatorResponse response;
  auto& c = response.coordinators.emplace_back();
  c.key = key;
  c.node_id = node;
  c.host = "127.0.0.1";
  c.port = 9092;
  return response;
}

kp::InitProducerIdResponse init_answer(std::int64_t id, std::int16_t epoch, be error = be::none) {
  kp::InitProducerIdResponse r;
  r.error_code = code(error);
  r.producer_id = id;
  r.producer_epoch = epoch;
  return r;
}

kp::EndTxnResponse end_answer(be error = be::none, std::int64_t id = -1, std::int16_t epoch = -1) {
  kp::EndTxnResponse r;
  r.error_code = code(error);
  r.producer_id = id;
  r.producer_epoch = epoch;
  return r;
}

kp::AddPartitionsToTxnResponse added(const std::string& topic, std::int32_t partition,
                                     be error = be::none) {
  kp::AddPartitionsToTxnResponse r;
  auto& t = r.results_by_topic_v3_and_below.emplace_back();
  t.name = topic;
  auto& p = t.results_by_partition.emplace_back();
  p.partition_index = partition;
  p.partition_error_code = code(error);
  return r;
}

kp::DescribeTransactionsResponse described(const std::string& state, be error = be::none,
                                           const std::string& id = "tx-1") {
  kp::DescribeTransactionsResponse r;
  auto& t = r.transaction_states.emplace_back();
  t.transactional_id = id;
  t.error_code = code(error);
  t.transaction_state = state;
  return r;
}

kp::TxnOffsetCommitResponse offsets_answer(be error) {
  kp::TxnOffsetCommitResponse r;
  auto& t = r.topics.emplace_back();
  t.name = "in";
  t.partitions.emplace_back().error_code = code(error);
  return r;
}

class TransactionManager : public ::testing::Test {
 protected:
  kd::transaction_manager::clock::time_point now = kd::transaction_manager::clock::now();
  kd::transaction_manager txn{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};

  kd::transaction_manager::next_request next(bool outstanding = false) {
    return txn.next(now, outstanding);
  }
  // Moves time past any backoff.
  void later() { now += 1s; }

  void find_coordinator() {
    ASSERT_EQ(next().kind, kind::find_coordinator);
    auto request = txn.lookup_request(now);
    ASSERT_TRUE(request);
    EXPECT_EQ(request->key_type, 1);
    txn.on_lookup(now, {}, found("tx-1", 1));
  }

  void initialize(bool v2 = false) {
    txn.choose_protocol(v2);
    ASSERT_FALSE(txn.start_init());
    find_coordinator();
    ASSERT_EQ(next().kind, kind::init_producer_id);
    const auto request = txn.init_producer_id_request();
    EXPECT_EQ(request.transactional_id, "tx-1");
    EXPECT_EQ(request.transaction_timeout_ms, 60000);
    EXPECT_EQ(request.producer_id, -1);
    EXPECT_TRUE(txn.on_init_producer_id(now, {}, init_answer(1000, 3)));
    ASSERT_EQ(txn.state(), state::ready);
    ASSERT_EQ(txn.take_completion(), std::error_code{});
  }

  // v1: a partition written in the transaction is added first.
  void add_partition(const std::string& topic, std::int32_t partition) {
    EXPECT_FALSE(txn.partition_ready(topic, partition));
    ASSERT_EQ(next().kind, kind::add_partitions);
    const auto request = txn.add_partitions_request();
    EXPECT_EQ(request.v3_and_below_producer_id, 1000);
    ASSERT_EQ(request.v3_and_below_topics.size(), 1u);
    EXPECT_EQ(request.v3_and_below_topics[0].partitions, std::vector<std::int32_t>{partition});
    txn.on_add_partitions(now, {}, added(topic, partition));
    EXPECT_TRUE(txn.partition_ready(topic, partition));
  }

  // v2, after EndTxn: the coordinator answers that the transaction is complete.
  void previous_complete() {
    ask_previous();
    EXPECT_EQ(next().kind, kind::none);  // one coordinator request at a time
    txn.on_describe(now, {}, described("CompleteCommit"));
    EXPECT_FALSE(txn.awaiting_previous());
  }

  // v2, after EndTxn: a moment later the coordinator is asked about the previous transaction.
  void ask_previous() {
    EXPECT_EQ(next().kind, kind::wait_until);  // not at once: the markers take a moment
    now += 1ms;
    ASSERT_EQ(next().kind, kind::check_previous);
    const auto request = txn.describe_request();
    EXPECT_EQ(request.transactional_ids, std::vector<std::string>{"tx-1"});
  }

  // v2: a commit of one partition, up to EndTxn's answer with the next epoch.
  void commit_v2(std::int16_t next_epoch) {
    ASSERT_FALSE(txn.begin_transaction(now));
    ASSERT_TRUE(txn.partition_ready("out", 0));
    commit_until_end_txn();
    (void)txn.end_txn_request();
    txn.on_end_txn(now, {}, end_answer(be::none, 1000, next_epoch));
    ASSERT_EQ(txn.take_completion(), std::error_code{});
  }

  void commit_until_end_txn() {
    ASSERT_FALSE(txn.start_commit());
    EXPECT_EQ(next(true).kind, kind::wait_for_records);
    ASSERT_EQ(next(false).kind, kind::end_txn);
  }
};

TEST_F(TransactionManager, CallsOutOfOrderAreRefusedAndChangeNothing) {
  const auto refused = kc::make_error_code(kc::errc::invalid_transaction_state);
  EXPECT_EQ(txn.begin_transaction(now), refused);
  EXPECT_EQ(txn.start_commit(), refused);
  EXPECT_EQ(txn.start_abort(), refused);
  EXPECT_EQ(txn.may_send(), refused);
  EXPECT_EQ(txn.state(), state::uninitialized);
  initialize();
  EXPECT_EQ(txn.start_init(), refused);  // once only
  EXPECT_EQ(txn.start_commit(), refused);
  EXPECT_EQ(txn.may_send(), refused);
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_EQ(txn.begin_transaction(now), refused);
  EXPECT_FALSE(txn.may_send());
}

TEST_F(TransactionManager, AnEmptyTransactionCommitsAndAbortsWithoutARequest) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  ASSERT_FALSE(txn.start_commit());
  EXPECT_EQ(next().kind, kind::none);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  EXPECT_EQ(txn.state(), state::ready);
  ASSERT_FALSE(txn.begin_transaction(now));
  ASSERT_FALSE(txn.start_abort());
  EXPECT_EQ(next().kind, kind::none);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
}

TEST_F(TransactionManager, V1AddsEachPartitionOnceThenCommitsAfterTheRecords) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 2);
  EXPECT_EQ(next().kind, kind::none);  // nothing more until commit
  commit_until_end_txn();
  const auto request = txn.end_txn_request();
  EXPECT_TRUE(request.committed);
  EXPECT_EQ(request.producer_id, 1000);
  EXPECT_EQ(request.producer_epoch, 3);
  EXPECT_FALSE(txn.on_end_txn(now, {}, end_answer()));  // v1 keeps the epoch
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  EXPECT_EQ(txn.state(), state::ready);
  EXPECT_TRUE(txn.partitions().empty());
}

TEST_F(TransactionManager, V2NeedsNoAddPartitionsAndTakesTheNextEpochFromEndTxn) {
  initialize(/*v2=*/true);
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_TRUE(txn.partition_ready("out", 0));
  EXPECT_EQ(next().kind, kind::none);
  commit_until_end_txn();
  (void)txn.end_txn_request();
  EXPECT_TRUE(txn.on_end_txn(now, {}, end_answer(be::none, 1000, 4)));
  EXPECT_EQ(txn.epoch(), 4);
  previous_complete();
  // At the epoch overflow the coordinator answers with a new producer id at epoch 0.
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_TRUE(txn.partition_ready("out", 0));
  commit_until_end_txn();
  (void)txn.end_txn_request();
  EXPECT_TRUE(txn.on_end_txn(now, {}, end_answer(be::none, 2001, 0)));
  EXPECT_EQ(txn.producer_id(), 2001);
  EXPECT_EQ(txn.epoch(), 0);
}

TEST_F(TransactionManager, V2HoldsTheNextTransactionsBatchesUntilThePreviousIsComplete) {
  initialize(/*v2=*/true);
  commit_v2(4);
  // EndTxn answers before the markers are written: the next transaction's first Produce
  // would wait 20 ms at the partition leader, so its batches wait for the coordinator.
  EXPECT_TRUE(txn.awaiting_previous());
  auto step = next();
  EXPECT_EQ(step.kind, kind::wait_until);
  EXPECT_EQ(step.at, now + 500us);
  now = step.at;
  ASSERT_EQ(next().kind, kind::check_previous);  // before begin: it overlaps the sends
  (void)txn.describe_request();
  txn.on_describe(now, {}, described("PrepareCommit"));
  step = next();
  EXPECT_EQ(step.kind, kind::wait_until);
  EXPECT_EQ(step.at, now + 500us);
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_FALSE(txn.partition_ready("out", 0));
  EXPECT_FALSE(txn.partition_ready("out", 1));
  previous_complete();
  EXPECT_TRUE(txn.partition_ready("out", 0));
  EXPECT_TRUE(txn.partition_ready("out", 1));
  EXPECT_EQ(txn.partitions().size(), 2u);
  // A commit waits for its records as before, then EndTxn.
  commit_until_end_txn();
}

TEST_F(TransactionManager, V2HoldEndsOnAnErrorAnAbortOrAfterTheLongestHold) {
  initialize(true);
  // An error cannot tell: the batches go (the broker retries the add itself).
  commit_v2(4);
  ask_previous();
  txn.on_describe(now, kc::make_error_code(kc::errc::request_timed_out), {});
  EXPECT_FALSE(txn.awaiting_previous());
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_TRUE(txn.partition_ready("out", 0));
  ASSERT_FALSE(txn.start_commit());
  later();
  find_coordinator();  // the timeout forgot the coordinator
  ASSERT_EQ(next().kind, kind::end_txn);
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer(be::none, 1000, 5));
  ASSERT_EQ(txn.take_completion(), std::error_code{});
  // An answer without our transactional id neither.
  ask_previous();
  txn.on_describe(now, {}, described("PrepareCommit", be::none, "other"));
  EXPECT_FALSE(txn.awaiting_previous());
  // An abort releases the hold; nothing of it was sent, so it needs no request.
  commit_v2(6);
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_FALSE(txn.partition_ready("out", 0));
  ASSERT_FALSE(txn.start_abort());
  EXPECT_FALSE(txn.awaiting_previous());
  EXPECT_EQ(next().kind, kind::none);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  EXPECT_EQ(txn.state(), state::ready);
  // A coordinator still preparing after the longest hold: the batches go anyway.
  commit_v2(7);
  for (int i = 0; i < 3; ++i) {
    ask_previous();
    txn.on_describe(now, {}, described("PrepareCommit"));
  }
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_FALSE(txn.partition_ready("out", 0));
  now += kd::completion_wait::max_hold;
  EXPECT_EQ(next().kind, kind::none);
  EXPECT_FALSE(txn.awaiting_previous());
  EXPECT_TRUE(txn.partition_ready("out", 0));
}

TEST_F(TransactionManager, V2EmptyCommitDoesNotWaitAndADeniedDescribeStopsTheWaits) {
  initialize(true);
  commit_v2(4);
  ASSERT_FALSE(txn.begin_transaction(now));
  ASSERT_FALSE(txn.start_commit());
  EXPECT_EQ(next(false).kind, kind::none);  // nothing was sent: done without a request
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  EXPECT_EQ(txn.state(), state::ready);
  // Without Describe on the transactional id the producer never asks again.
  ask_previous();
  txn.on_describe(now, {}, described("", be::transactional_id_authorization_failed));
  EXPECT_FALSE(txn.awaiting_previous());
  commit_v2(5);
  EXPECT_FALSE(txn.awaiting_previous());
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_TRUE(txn.partition_ready("out", 0));
}

TEST_F(TransactionManager, V1NeverHoldsAfterEndTxn) {
  initialize(false);
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);
  commit_until_end_txn();
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer());
  EXPECT_FALSE(txn.awaiting_previous());
  EXPECT_EQ(next().kind, kind::none);
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);  // v1 asks the coordinator itself (AddPartitionsToTxn)
}

TEST_F(TransactionManager, TheProtocolChangesOnlyBetweenTransactions) {
  initialize(false);
  ASSERT_FALSE(txn.begin_transaction(now));
  txn.choose_protocol(true);
  EXPECT_EQ(txn.protocol(), kd::txn_protocol::v1);
  ASSERT_FALSE(txn.start_abort());
  EXPECT_EQ(next().kind, kind::none);
  txn.choose_protocol(true);
  EXPECT_EQ(txn.protocol(), kd::txn_protocol::v2);
}

TEST_F(TransactionManager, ALostEndTxnResponseIsRetriedWithTheSameArguments) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);
  commit_until_end_txn();
  const auto first = txn.end_txn_request();
  txn.on_end_txn(now, kc::make_error_code(kc::errc::request_timed_out), {});
  EXPECT_EQ(txn.state(), state::committing);
  EXPECT_FALSE(txn.take_completion());  // neither success nor failure: unknown
  later();
  find_coordinator();  // the coordinator may have moved
  ASSERT_EQ(next().kind, kind::end_txn);
  EXPECT_EQ(txn.end_txn_request(), first);
  txn.on_end_txn(now, {}, end_answer());
  EXPECT_EQ(txn.take_completion(), std::error_code{});
}

TEST_F(TransactionManager, EndTxnRetriesBusyAndMovedCoordinators) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);
  commit_until_end_txn();
  for (auto e : {be::concurrent_transactions, be::coordinator_load_in_progress}) {
    (void)txn.end_txn_request();
    txn.on_end_txn(now, {}, end_answer(e));
    EXPECT_EQ(next().kind, kind::wait_until);
    later();
    ASSERT_EQ(next().kind, kind::end_txn);
  }
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer(be::not_coordinator));
  later();
  find_coordinator();
  ASSERT_EQ(next().kind, kind::end_txn);
  EXPECT_EQ(txn.state(), state::committing);
}

TEST_F(TransactionManager, FencingIsFatalWhereverItComesFrom) {
  for (auto e : {be::producer_fenced, be::invalid_producer_epoch}) {
    kd::transaction_manager t{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};
    std::swap(t, txn);
    initialize();
    ASSERT_FALSE(txn.begin_transaction(now));
    add_partition("out", 0);
    commit_until_end_txn();
    (void)txn.end_txn_request();
    txn.on_end_txn(now, {}, end_answer(e));
    EXPECT_EQ(txn.state(), state::fatal_error);
    EXPECT_EQ(txn.take_completion(), kc::make_error_code(kc::errc::producer_fenced));
    EXPECT_EQ(txn.may_send(), kc::make_error_code(kc::errc::producer_fenced));
    EXPECT_EQ(txn.begin_transaction(now), kc::make_error_code(kc::errc::producer_fenced));
    EXPECT_EQ(txn.start_abort(), kc::make_error_code(kc::errc::producer_fenced));
  }
  kd::transaction_manager t{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};
  std::swap(t, txn);
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  txn.batch_failed(err(be::producer_fenced), false);
  EXPECT_EQ(txn.state(), state::fatal_error);
}

TEST_F(TransactionManager, AnAbortableCommitErrorLeavesTheProducerUsableAfterAbort) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);
  commit_until_end_txn();
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer(be::transaction_abortable));
  EXPECT_EQ(txn.state(), state::abortable_error);
  EXPECT_EQ(txn.take_completion(), err(be::transaction_abortable));
  EXPECT_EQ(txn.may_send(), kc::make_error_code(kc::errc::transaction_abortable));
  EXPECT_EQ(txn.start_commit(), kc::make_error_code(kc::errc::transaction_abortable));
  ASSERT_FALSE(txn.start_abort());
  ASSERT_EQ(next().kind, kind::end_txn);
  EXPECT_FALSE(txn.end_txn_request().committed);
  txn.on_end_txn(now, {}, end_answer());
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  EXPECT_FALSE(txn.begin_transaction(now));
}

TEST_F(TransactionManager, InvalidProducerIdMappingIsFatalUnderV2AndAbortableUnderV1) {
  initialize(false);
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);
  commit_until_end_txn();
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer(be::invalid_producer_id_mapping));
  EXPECT_EQ(txn.state(), state::abortable_error);

  kd::transaction_manager t{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};
  std::swap(t, txn);
  initialize(true);
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_TRUE(txn.partition_ready("out", 0));
  commit_until_end_txn();
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer(be::invalid_producer_id_mapping));
  EXPECT_EQ(txn.state(), state::fatal_error);
}

TEST_F(TransactionManager, AddPartitionsErrorsRetryAbortOrFail) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_FALSE(txn.partition_ready("out", 0));
  for (auto e : {be::concurrent_transactions, be::coordinator_load_in_progress,
                 be::unknown_topic_or_partition, be::operation_not_attempted}) {
    ASSERT_EQ(next().kind, kind::add_partitions);
    (void)txn.add_partitions_request();
    txn.on_add_partitions(now, {}, added("out", 0, e));
    EXPECT_FALSE(txn.partition_ready("out", 0)) << e;
    EXPECT_EQ(next().kind, kind::wait_until);
    later();
  }
  ASSERT_EQ(next().kind, kind::add_partitions);
  (void)txn.add_partitions_request();
  txn.on_add_partitions(now, {}, added("out", 0, be::topic_authorization_failed));
  EXPECT_EQ(txn.state(), state::abortable_error);
  EXPECT_EQ(txn.error(), err(be::topic_authorization_failed));
  EXPECT_NE(txn.error_context().find("out-0"), std::string::npos);

  kd::transaction_manager t{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};
  std::swap(t, txn);
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_FALSE(txn.partition_ready("out", 0));
  ASSERT_EQ(next().kind, kind::add_partitions);
  (void)txn.add_partitions_request();
  txn.on_add_partitions(now, {}, added("out", 0, be::transactional_id_authorization_failed));
  EXPECT_EQ(txn.state(), state::fatal_error);
}

TEST_F(TransactionManager, UnknownProducerIdAbortsWithAnEpochBump) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  EXPECT_FALSE(txn.partition_ready("out", 0));
  ASSERT_EQ(next().kind, kind::add_partitions);
  (void)txn.add_partitions_request();
  txn.on_add_partitions(now, {}, added("out", 0, be::unknown_producer_id));
  ASSERT_EQ(txn.state(), state::abortable_error);
  ASSERT_FALSE(txn.start_abort());
  ASSERT_EQ(next().kind, kind::init_producer_id);
  const auto bump = txn.init_producer_id_request();
  EXPECT_EQ(bump.producer_id, 1000);
  EXPECT_EQ(bump.producer_epoch, 3);
  EXPECT_TRUE(txn.on_init_producer_id(now, {}, init_answer(1000, 4)));
  EXPECT_EQ(txn.state(), state::ready);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
}

TEST_F(TransactionManager, InitProducerIdErrorsRetryOrFail) {
  ASSERT_FALSE(txn.start_init());
  find_coordinator();
  for (auto e : {be::coordinator_load_in_progress, be::concurrent_transactions}) {
    ASSERT_EQ(next().kind, kind::init_producer_id);
    (void)txn.init_producer_id_request();
    txn.on_init_producer_id(now, {}, init_answer(-1, -1, e));
    EXPECT_EQ(next().kind, kind::wait_until);
    later();
  }
  ASSERT_EQ(next().kind, kind::init_producer_id);
  (void)txn.init_producer_id_request();
  txn.on_init_producer_id(now, {}, init_answer(-1, -1, be::not_coordinator));
  later();
  EXPECT_EQ(next().kind, kind::find_coordinator);
  for (auto e : {be::transactional_id_authorization_failed, be::invalid_transaction_timeout}) {
    kd::transaction_manager t{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};
    std::swap(t, txn);
    ASSERT_FALSE(txn.start_init());
    find_coordinator();
    (void)txn.init_producer_id_request();
    txn.on_init_producer_id(now, {}, init_answer(-1, -1, e));
    EXPECT_EQ(txn.state(), state::fatal_error);
    EXPECT_EQ(txn.take_completion(), err(e));
  }
}

TEST_F(TransactionManager, FindCoordinatorDeniedIsFatal) {
  ASSERT_FALSE(txn.start_init());
  ASSERT_EQ(next().kind, kind::find_coordinator);
  ASSERT_TRUE(txn.lookup_request(now));
  kp::FindCoordinatorResponse denied;
  auto& c = denied.coordinators.emplace_back();
  c.key = "tx-1";
  c.error_code = code(be::transactional_id_authorization_failed);
  txn.on_lookup(now, {}, denied);
  EXPECT_EQ(txn.state(), state::fatal_error);
  EXPECT_EQ(txn.take_completion(), err(be::transactional_id_authorization_failed));
  EXPECT_NE(txn.error_context().find("tx-1"), std::string::npos);
}

TEST_F(TransactionManager, V1OffsetsGoThroughAddOffsetsThenTheGroupCoordinator) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  kc::consumer_group_metadata group{"g", 5, "member-1", std::nullopt};
  ASSERT_FALSE(txn.start_send_offsets({{"in", 0, 42, -1, std::nullopt}}, group));
  EXPECT_EQ(txn.start_commit(), kc::make_error_code(kc::errc::invalid_transaction_state));
  ASSERT_EQ(next().kind, kind::add_offsets);
  EXPECT_EQ(txn.add_offsets_request().group_id, "g");
  txn.on_add_offsets(now, {}, {});
  ASSERT_EQ(next().kind, kind::find_group_coordinator);
  auto lookup = txn.group_lookup_request(now);
  ASSERT_TRUE(lookup);
  EXPECT_EQ(lookup->key_type, 0);
  txn.on_group_lookup(now, {}, found("g", 2));
  ASSERT_EQ(next().kind, kind::txn_offset_commit);
  const auto request = txn.txn_offset_commit_request();
  EXPECT_EQ(request.generation_id_or_member_epoch, 5);
  EXPECT_EQ(request.member_id, "member-1");
  ASSERT_EQ(request.topics.size(), 1u);
  EXPECT_EQ(request.topics[0].partitions[0].committed_offset, 42);
  txn.on_txn_offset_commit(now, {}, offsets_answer(be::none));
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  // The offsets alone make the transaction non-empty: the commit sends EndTxn.
  commit_until_end_txn();
}

TEST_F(TransactionManager, V2OffsetsSkipAddOffsetsAndAStaleMemberMakesTheTransactionAbortable) {
  for (auto e : {be::stale_member_epoch, be::group_id_not_found, be::illegal_generation,
                 be::unknown_member_id, be::fenced_instance_id}) {
    kd::transaction_manager t{"tx-1", 60s, kd::lookup_backoff{10ms, 100ms}, 7};
    std::swap(t, txn);
    initialize(true);
    ASSERT_FALSE(txn.begin_transaction(now));
    ASSERT_FALSE(
        txn.start_send_offsets({{"in", 0, 42, -1, std::nullopt}}, {"g", 5, "m", std::nullopt}));
    ASSERT_EQ(next().kind, kind::find_group_coordinator);
    ASSERT_TRUE(txn.group_lookup_request(now));
    txn.on_group_lookup(now, {}, found("g", 2));
    ASSERT_EQ(next().kind, kind::txn_offset_commit);
    (void)txn.txn_offset_commit_request();
    txn.on_txn_offset_commit(now, {}, offsets_answer(e));
    EXPECT_EQ(txn.state(), state::abortable_error) << e;
    EXPECT_EQ(txn.take_completion(), err(e));
  }
}

TEST_F(TransactionManager, AFailedRecordMakesTheCommitFail) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now));
  add_partition("out", 0);
  ASSERT_FALSE(txn.start_commit());
  EXPECT_EQ(next(true).kind, kind::wait_for_records);
  txn.batch_failed(kc::make_error_code(kc::errc::delivery_timed_out), false);
  EXPECT_EQ(txn.state(), state::abortable_error);
  EXPECT_EQ(txn.take_completion(), kc::make_error_code(kc::errc::delivery_timed_out));
  ASSERT_FALSE(txn.start_abort());
  EXPECT_EQ(next(true).kind, kind::wait_for_records);  // in-flight records come back first
  EXPECT_EQ(next(false).kind, kind::end_txn);
}

}  // namespace

namespace {

kc::prepared_transaction sample_handle() {
  kc::prepared_transaction h;
  h.transactional_id = "tx-1";
  h.producer_id = 77;
  h.epoch = 32766;
  h.protocol = 2;
  h.started_ms = 1764000000000;
  h.timeout_ms = 60000;
  h.partitions = {{"out", 0, 10}, {"out", 2, 0}, {"other topic", 5, 123456789012}};
  return h;
}

TEST(PreparedTransactionHandle, RoundTripsThroughItsTextAndRefusesAnythingElse) {
  const auto h = sample_handle();
  const auto text = kc::encode_prepared_transaction(h);
  EXPECT_EQ(text.rfind("kwtx1.", 0), 0u);
  EXPECT_EQ(text.find_first_of(" \n\t"), std::string::npos);
  kc::prepared_transaction back;
  ASSERT_FALSE(kc::decode_prepared_transaction(text, back));
  EXPECT_EQ(back, h);

  const auto invalid = kc::make_error_code(kc::errc::invalid_argument);
  EXPECT_EQ(kc::decode_prepared_transaction("", back), invalid);
  EXPECT_EQ(kc::decode_prepared_transaction("kwtx2." + text.substr(6), back), invalid);
  EXPECT_EQ(kc::decode_prepared_transaction(text.substr(0, text.size() - 8), back), invalid);
  // Any changed character breaks the checksum (or the base64).
  for (std::size_t i = 6; i < text.size(); i += 7) {
    auto changed = text;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(kc::decode_prepared_transaction(changed, back), invalid) << "at " << i;
  }
  EXPECT_EQ(back, h);  // unchanged by the failures
}

class PreparedTransactions : public TransactionManager {};

TEST_F(PreparedTransactions, PrepareWaitsForRecordsAndPartitionsThenHandsOutTheFirstOffsets) {
  initialize();
  ASSERT_FALSE(txn.begin_transaction(now, 1764000000000));
  EXPECT_FALSE(txn.partition_ready("out", 1));
  ASSERT_FALSE(txn.start_prepare());
  EXPECT_EQ(txn.may_send(), kc::make_error_code(kc::errc::invalid_transaction_state));
  ASSERT_EQ(next(true).kind, kind::add_partitions);  // every partition in first
  (void)txn.add_partitions_request();
  txn.on_add_partitions(now, {}, added("out", 1));
  EXPECT_EQ(next(true).kind, kind::wait_for_records);
  txn.record_written("out", 1, 40);
  txn.record_written("out", 1, 12);
  EXPECT_EQ(next(false).kind, kind::none);
  EXPECT_EQ(txn.state(), state::prepared);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  const auto h = txn.prepared_handle();
  EXPECT_EQ(h.producer_id, 1000);
  EXPECT_EQ(h.epoch, 3);
  EXPECT_EQ(h.protocol, 1);
  EXPECT_EQ(h.started_ms, 1764000000000);
  EXPECT_EQ(h.partitions, (std::vector<kc::prepared_transaction::partition_start>{{"out", 1, 12}}));
  // A prepared transaction commits here too.
  ASSERT_FALSE(txn.start_commit());
  EXPECT_EQ(next().kind, kind::end_txn);
}

TEST_F(PreparedTransactions, AResumedCommitFindsNoMarkerSendsEndTxnAndProvesTheCommit) {
  auto h = sample_handle();
  ASSERT_FALSE(txn.start_resume(h, true));
  ASSERT_EQ(next().kind, kind::check_markers);
  EXPECT_EQ(txn.resumed_partitions(), h.partitions);
  EXPECT_EQ(txn.producer_id(), 77);
  txn.on_markers(now, std::nullopt);
  find_coordinator();
  ASSERT_EQ(next().kind, kind::end_txn);
  const auto end = txn.end_txn_request();
  EXPECT_TRUE(end.committed);
  EXPECT_EQ(end.producer_id, 77);
  EXPECT_EQ(end.producer_epoch, 32766);
  EXPECT_FALSE(txn.on_end_txn(now, {}, end_answer(be::none, 78, 0)));  // no identity leak
  ASSERT_EQ(next().kind, kind::check_markers);
  txn.on_markers(now, std::nullopt);  // markers come after the answer
  later();
  ASSERT_EQ(next().kind, kind::check_markers);
  txn.on_markers(now, kp::control_type::commit);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
  EXPECT_EQ(txn.take_outcome(), kc::transaction_outcome::committed);
  EXPECT_EQ(txn.state(), state::uninitialized);  // a transaction of its own: init first
  EXPECT_EQ(txn.producer_id(), -1);
}

TEST_F(PreparedTransactions, AMarkerFoundFirstAnswersWithoutEndTxn) {
  ASSERT_FALSE(txn.start_resume(sample_handle(), true));
  ASSERT_EQ(next().kind, kind::check_markers);
  txn.on_markers(now, kp::control_type::commit);
  EXPECT_EQ(txn.take_outcome(), kc::transaction_outcome::already_committed);

  ASSERT_FALSE(txn.start_resume(sample_handle(), true));
  ASSERT_EQ(next().kind, kind::check_markers);
  txn.on_markers(now, kp::control_type::abort);  // the broker timed it out
  EXPECT_EQ(txn.take_outcome(), kc::transaction_outcome::aborted);

  ASSERT_FALSE(txn.start_resume(sample_handle(), false));
  ASSERT_EQ(next().kind, kind::check_markers);
  txn.on_markers(now, kp::control_type::abort);
  EXPECT_EQ(txn.take_outcome(), kc::transaction_outcome::already_aborted);
}

TEST_F(PreparedTransactions, AFencedEndTxnIsDecidedByTheMarkersOrStaysUnknown) {
  ASSERT_FALSE(txn.start_resume(sample_handle(), true));
  ASSERT_EQ(next().kind, kind::check_markers);
  txn.on_markers(now, std::nullopt);
  find_coordinator();
  ASSERT_EQ(next().kind, kind::end_txn);
  (void)txn.end_txn_request();
  txn.on_end_txn(now, {}, end_answer(be::producer_fenced));
  EXPECT_NE(txn.state(), state::fatal_error);  // fenced is the handle's epoch, not ours
  for (int i = 0; i < 100 && txn.state() != state::uninitialized; ++i) {
    later();
    ASSERT_EQ(next().kind, kind::check_markers);
    txn.on_markers(now, std::nullopt);
  }
  EXPECT_EQ(txn.take_outcome(), kc::transaction_outcome::unknown);
  EXPECT_EQ(txn.take_completion(), std::error_code{});
}

TEST_F(PreparedTransactions, AResumeIsOnlyForAnUninitializedProducerOfTheSameId) {
  auto other = sample_handle();
  other.transactional_id = "tx-2";
  EXPECT_EQ(txn.start_resume(other, true), kc::make_error_code(kc::errc::invalid_argument));
  initialize();
  EXPECT_EQ(txn.start_resume(sample_handle(), true),
            kc::make_error_code(kc::errc::invalid_transaction_state));
}

}  // namespace
