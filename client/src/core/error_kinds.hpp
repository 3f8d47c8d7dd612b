// What an error means for the next step, one predicate per reaction, shared by the producer,
// the consumer, groups and admin so that each error is classified once.
#pragma once

#include <system_error>

#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {

inline bool is_broker_error(std::error_code ec, protocol::broker_error e) noexcept {
  return ec == protocol::make_error_code(e);
}

// The partition's leader may have moved (or its topic was recreated): refresh metadata,
// then retry against the new leader.
inline bool is_stale_leadership(std::error_code ec) noexcept {
  using protocol::broker_error;
  for (auto e : {broker_error::not_leader_or_follower, broker_error::unknown_topic_or_partition,
                 broker_error::leader_not_available, broker_error::fenced_leader_epoch,
                 broker_error::unknown_leader_epoch, broker_error::kafka_storage_error,
                 broker_error::offset_not_available, broker_error::unknown_topic_id,
                 broker_error::inconsistent_topic_id})
    if (is_broker_error(ec, e)) return true;
  return false;
}

// NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE: the coordinator moved or is starting; look
// it up again (Java's markCoordinatorUnknown cases).
inline bool is_coordinator_moved(std::error_code ec) noexcept {
  return is_broker_error(ec, protocol::broker_error::not_coordinator) ||
         is_broker_error(ec, protocol::broker_error::coordinator_not_available);
}
inline bool is_coordinator_moved(std::int16_t error_code) noexcept {
  return is_coordinator_moved(protocol::broker_error_code(error_code));
}

// The client's own failure on the way (connection closed or timed out, an undecodable
// answer): the broker may be gone, so whatever it led or coordinated is looked up again.
inline bool is_transport_error(std::error_code ec) noexcept {
  return ec.category() == client_category();
}

}  // namespace kwire::client::detail
