// The producer identity state machine with scripted InitProducerId answers and Produce
// errors: when it asks for a producer id, when it backs off, when it bumps the epoch
// (KIP-360) and when it fails the producer for good.
#include "producer/producer_identity.hpp"

#include <gtest/gtest.h>

#include "kwire/client/error.hpp"

namespace kc = kwire::client;
namespace kd = kwire::client::detail;
namespace kp = kwire::protocol;
using kd::identity_state;
using step = kd::identity_step::kind;
using kp::broker_error;
using namespace std::chrono_literals;

namespace {

const auto t0 = kd::identity_clock::time_point{} + 1h;

kd::producer_identity idempotent_identity() { return {true, 100ms, 1000ms, 60s}; }

kp::InitProducerIdResponse granted(std::int64_t id, std::int16_t epoch) {
  kp::InitProducerIdResponse r;
  r.producer_id = id;
  r.producer_epoch = epoch;
  return r;
}

kp::InitProducerIdResponse refused(broker_error e) {
  kp::InitProducerIdResponse r;
  r.error_code = static_cast<std::int16_t>(e);
  return r;
}

std::error_code code(broker_error e) { return kp::make_error_code(e); }

// An identity that holds producer id 7, epoch 0.
kd::producer_identity ready_identity() {
  auto id = idempotent_identity();
  EXPECT_EQ(id.next_step(t0, false).what, step::send_init_producer_id);
  id.init_sent();
  EXPECT_FALSE(id.init_answered({}, granted(7, 0), t0));
  EXPECT_EQ(id.state(), identity_state::ready);
  return id;
}

TEST(ProducerIdentity, WithoutIdempotenceIsReadyAndNeverAsksForAnId) {
  kd::producer_identity id(false, 100ms, 1000ms, 60s);
  EXPECT_TRUE(id.ready());
  EXPECT_FALSE(id.idempotent());
  EXPECT_EQ(id.next_step(t0, false).what, step::nothing);
  id.sequence_abandoned(3);
  id.produce_error(code(broker_error::unknown_producer_id), 0, {});
  EXPECT_TRUE(id.ready());
  EXPECT_FALSE(id.sequence_error(code(broker_error::out_of_order_sequence_number)));
  EXPECT_FALSE(id.stale(-1));
}

TEST(ProducerIdentity, AsksForAnIdOnceAndIsReadyWithIt) {
  auto id = idempotent_identity();
  EXPECT_FALSE(id.ready());
  EXPECT_EQ(id.next_step(t0, false).what, step::send_init_producer_id);
  const auto request = id.init_request(4);
  EXPECT_EQ(request.producer_id, -1);  // a first id, not a bump
  EXPECT_FALSE(request.transactional_id.has_value());
  EXPECT_EQ(request.transaction_timeout_ms, 60000);
  id.init_sent();
  EXPECT_EQ(id.state(), identity_state::requesting_id);
  EXPECT_EQ(id.next_step(t0, false).what, step::nothing);  // one request at a time
  EXPECT_FALSE(id.init_answered({}, granted(7, 3), t0));
  EXPECT_TRUE(id.ready());
  EXPECT_EQ(id.producer_id(), 7);
  EXPECT_EQ(id.epoch(), 3);
  EXPECT_EQ(id.next_step(t0, false).what, step::nothing);
}

TEST(ProducerIdentity, RetriableErrorsAreRetriedWithAGrowingBoundedBackoff) {
  auto id = idempotent_identity();
  auto now = t0;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    ASSERT_EQ(id.next_step(now, false).what, step::send_init_producer_id) << attempt;
    id.init_sent();
    const auto e = attempt % 2 ? broker_error::coordinator_load_in_progress
                               : broker_error::not_enough_replicas;
    EXPECT_FALSE(id.init_answered({}, refused(e), now));
    EXPECT_EQ(id.state(), identity_state::needs_id);
    EXPECT_EQ(id.last_init_error(), code(e));
    const auto next = id.next_step(now, false);
    ASSERT_EQ(next.what, step::wait_until);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next.at - now);
    EXPECT_GE(wait, 80ms);     // retry.backoff.ms less the jitter
    EXPECT_LE(wait, 1200ms);   // retry.backoff.max.ms plus the jitter
    if (attempt >= 6) {
      EXPECT_GE(wait, 800ms);  // grown to the bound by then
    }
    EXPECT_EQ(id.next_step(next.at - 1ms, false).what, step::wait_until);
    now = next.at;
  }
  // A connection lost on the way is retried too, and the first answer ends the backoff.
  id.init_sent();
  id.init_answered(kc::make_error_code(kc::errc::connection_closed), {}, now);
  EXPECT_EQ(id.state(), identity_state::needs_id);
  now = id.next_step(now, false).at;
  id.init_sent();
  id.init_answered({}, granted(9, 0), now);
  EXPECT_TRUE(id.ready());
  EXPECT_FALSE(id.last_init_error());
}

TEST(ProducerIdentity, AuthorizationAndVersionErrorsFailTheProducer) {
  for (const auto e : {broker_error::cluster_authorization_failed,
                       broker_error::transactional_id_authorization_failed,
                       broker_error::unsupported_version}) {
    auto id = idempotent_identity();
    id.init_sent();
    id.init_answered({}, refused(e), t0);
    EXPECT_EQ(id.state(), identity_state::failed) << kp::broker_error_name(static_cast<int>(e));
    EXPECT_EQ(id.fatal_error(), code(e));
    EXPECT_EQ(id.next_step(t0 + 1h, false).what, step::failed);
    EXPECT_FALSE(id.ready());
    id.sequence_abandoned(0);  // a failed producer stays failed
    EXPECT_EQ(id.state(), identity_state::failed);
  }
}

TEST(ProducerIdentity, AFencedEpochFailsTheProducerAsFenced) {
  for (const auto e : {broker_error::invalid_producer_epoch, broker_error::producer_fenced}) {
    auto id = ready_identity();
    id.sequence_abandoned(0);
    ASSERT_EQ(id.next_step(t0, false).what, step::send_init_producer_id);
    id.init_sent();
    id.init_answered({}, refused(e), t0);
    EXPECT_EQ(id.state(), identity_state::failed);
    EXPECT_EQ(id.fatal_error(), kc::make_error_code(kc::errc::producer_fenced));
  }
}

TEST(ProducerIdentity, NoInitProducerIdVersionFailsTheProducer) {
  auto id = idempotent_identity();
  id.init_impossible(kc::make_error_code(kc::errc::broker_too_old));
  EXPECT_EQ(id.next_step(t0, false).what, step::failed);
  EXPECT_EQ(id.fatal_error(), kc::errc::broker_too_old);
}

TEST(ProducerIdentity, SequencesCountRecordsAndTheFirstAckOpensTheWindow) {
  auto id = ready_identity();
  kd::partition_sequences seq;
  EXPECT_EQ(id.in_flight_limit(seq, 5), 1);  // the broker may hold no state for us yet
  EXPECT_EQ(id.take_sequences(seq, 10), 0);
  EXPECT_EQ(id.take_sequences(seq, 5), 10);
  EXPECT_EQ(seq.next, 15);
  id.acknowledged(seq, 0, 10);
  EXPECT_EQ(seq.last_acked, 9);
  EXPECT_EQ(id.in_flight_limit(seq, 5), 5);
  EXPECT_EQ(id.in_flight_limit(seq, 20), 5);  // never past five, as the broker keeps five
  EXPECT_EQ(id.in_flight_limit(seq, 2), 2);
  id.acknowledged(seq, 0, 10);  // a duplicate ack does not move it back
  EXPECT_EQ(seq.last_acked, 9);
}

TEST(ProducerIdentity, OutOfOrderBehindAnUnresolvedBatchIsRetriedWithoutABump) {
  auto id = ready_identity();
  kd::partition_sequences seq{.next = 30, .last_acked = 9};
  // Sequence 20 refused while 10..19 is unresolved: only "not yet".
  id.produce_error(code(broker_error::out_of_order_sequence_number), 20, seq);
  EXPECT_TRUE(id.ready());
  EXPECT_TRUE(id.sequence_error(code(broker_error::out_of_order_sequence_number)));
}

TEST(ProducerIdentity, OutOfOrderForTheNextExpectedSequenceBumpsTheEpoch) {
  auto id = ready_identity();
  kd::partition_sequences seq{.next = 30, .last_acked = 9};
  id.produce_error(code(broker_error::out_of_order_sequence_number), 10, seq);
  EXPECT_EQ(id.state(), identity_state::needs_bump);
  EXPECT_FALSE(id.ready());
}

TEST(ProducerIdentity, OutOfOrderForASequenceAlreadyPassedBumpsTheEpoch) {
  auto id = ready_identity();
  kd::partition_sequences seq{.next = 30, .last_acked = 19};
  id.produce_error(code(broker_error::out_of_order_sequence_number), 5, seq);
  EXPECT_EQ(id.state(), identity_state::needs_bump);
}

TEST(ProducerIdentity, UnknownProducerIdBumpsTheEpoch) {
  auto id = ready_identity();
  id.produce_error(code(broker_error::unknown_producer_id), 20, {.next = 30, .last_acked = 9});
  EXPECT_EQ(id.state(), identity_state::needs_bump);
}

TEST(ProducerIdentity, OtherProduceErrorsLeaveTheEpochAlone) {
  auto id = ready_identity();
  id.produce_error(code(broker_error::not_leader_or_follower), 10, {.next = 30, .last_acked = 9});
  id.produce_error(code(broker_error::message_too_large), 10, {.next = 30, .last_acked = 9});
  EXPECT_TRUE(id.ready());
}

TEST(ProducerIdentity, ABatchAbandonedWithASequenceBumpsTheEpochOnceNothingIsInFlight) {
  auto id = ready_identity();
  id.sequence_abandoned(-1);  // never numbered: no gap
  EXPECT_TRUE(id.ready());
  id.sequence_abandoned(12);  // timed out with an unknown outcome
  EXPECT_EQ(id.state(), identity_state::needs_bump);
  EXPECT_EQ(id.next_step(t0, true).what, step::wait_for_in_flight);
  ASSERT_EQ(id.next_step(t0, false).what, step::send_init_producer_id);
  const auto request = id.init_request(3);
  EXPECT_EQ(request.producer_id, 7);  // KIP-360: bump this id's epoch
  EXPECT_EQ(request.producer_epoch, 0);
  EXPECT_EQ(id.init_request(2).producer_id, -1);  // before v3: a new id
  id.init_sent();
  EXPECT_EQ(id.state(), identity_state::bumping);
  id.sequence_abandoned(40);  // the bump under way covers it
  EXPECT_EQ(id.state(), identity_state::bumping);
  EXPECT_TRUE(id.init_answered({}, granted(7, 1), t0));  // renumber from 0
  EXPECT_TRUE(id.ready());
  EXPECT_EQ(id.epoch(), 1);
  EXPECT_TRUE(id.stale(0));
  EXPECT_FALSE(id.stale(1));
}

TEST(ProducerIdentity, AFailedBumpIsRetriedAsABump) {
  auto id = ready_identity();
  id.sequence_abandoned(0);
  id.init_sent();
  EXPECT_FALSE(id.init_answered({}, refused(broker_error::coordinator_not_available), t0));
  EXPECT_EQ(id.state(), identity_state::needs_bump);
  const auto next = id.next_step(t0, false);
  ASSERT_EQ(next.what, step::wait_until);
  ASSERT_EQ(id.next_step(next.at, false).what, step::send_init_producer_id);
  EXPECT_EQ(id.init_request(4).producer_id, 7);
  id.init_sent();
  EXPECT_TRUE(id.init_answered({}, granted(7, 1), next.at));
}

TEST(ProducerIdentity, ErrorClasses) {
  using cls = kd::identity_error_class;
  EXPECT_EQ(kd::classify_init_error(code(broker_error::coordinator_load_in_progress)),
            cls::retriable);
  EXPECT_EQ(kd::classify_init_error(code(broker_error::concurrent_transactions)), cls::retriable);
  EXPECT_EQ(kd::classify_init_error(kc::make_error_code(kc::errc::request_timed_out)),
            cls::retriable);
  EXPECT_EQ(kd::classify_init_error(code(broker_error::cluster_authorization_failed)),
            cls::fatal);
  EXPECT_EQ(kd::classify_init_error(code(broker_error::invalid_producer_epoch)), cls::fatal);
  EXPECT_EQ(kd::classify_init_error(kc::make_error_code(kc::errc::broker_too_old)), cls::fatal);
}

}  // namespace
