// The transactional producer's public types: its state, and what send_offsets_to_transaction
// takes (KIP-447). The producer's calls are in producer.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kwire::client {

enum class transaction_state : std::uint8_t {
  uninitialized,    // init_transactions() not called yet
  initializing,     // InitProducerId on its way
  ready,            // between transactions
  in_transaction,   // begin_transaction() called: records may be sent
  committing,       // waiting for the records, then EndTxn(commit)
  aborting,         // waiting for records in flight, then EndTxn(abort) (or an epoch bump)
  abortable_error,  // an error doomed the transaction: only abort is allowed
  fatal_error,      // fenced, unauthorised, or a broken protocol: the producer is done
};
const char* to_string(transaction_state s) noexcept;

// The consumer's group identity, so that the coordinator refuses offsets from a member that
// lost its partitions (KIP-447).
struct consumer_group_metadata {
  std::string group_id;
  std::int32_t generation_id = -1;  // or the KIP-848 member epoch
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

// An offset committed with the transaction: the next offset to read (last processed + 1).
struct transaction_offset {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

}  // namespace kwire::client
