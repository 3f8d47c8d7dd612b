// The transactional producer's public types: its state, and what send_offsets_to_transaction
// takes (KIP-447). The producer's calls are in producer.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire::client {

enum class transaction_state : std::uint8_t {
  uninitialized,    // init_transactions() not called yet
  initializing,     // InitProducerId on its way
  ready,            // between transactions
  in_transaction,   // begin_transaction() called: records may be sent
  preparing,        // prepare: waiting for the records and the partitions to be added
  prepared,         // prepared: only commit or abort (here, or from its handle elsewhere)
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

// A transaction prepared in one process (producer::async_prepare_transaction: every record
// written, every partition in the transaction) and finished in another
// (producer::async_commit_prepared / async_abort_prepared) without fencing it: what a
// two-phase commit stores in its checkpoint. It names the producer id and epoch the
// transaction runs under and its protocol, and, per partition, the first offset the
// transaction wrote there, where the proof of its outcome (the transaction marker) is looked
// for.
struct prepared_transaction {
  struct partition_start {
    std::string topic;
    std::int32_t partition = -1;
    std::int64_t first_offset = -1;
    bool operator==(const partition_start&) const = default;
  };
  static constexpr std::uint8_t current_format = 1;
  std::uint8_t format = current_format;
  std::string transactional_id;
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  std::uint8_t protocol = 1;    // 1 or 2 (KIP-890 part 2)
  std::int64_t started_ms = 0;  // wall clock (ms since the epoch) at begin_transaction
  std::int32_t timeout_ms = 0;  // transaction.timeout.ms: the broker aborts it after that
  std::vector<partition_start> partitions;
  bool operator==(const prepared_transaction&) const = default;
};

// The handle as text: "kwtx1." and base64url of the fields with a CRC-32C; safe in a file,
// a log line or a command line.
std::string encode_prepared_transaction(const prepared_transaction& handle);
// errc::invalid_argument for text that is not a handle (wrong prefix, bad base64, a checksum
// that does not match, truncated); a format version it does not know is refused too.
std::error_code decode_prepared_transaction(std::string_view text, prepared_transaction& out);

// How a prepared transaction ended, proven by its transaction markers.
enum class transaction_outcome : std::uint8_t {
  committed,          // this call committed it
  already_committed,  // it was committed before (a repeated commit is a success)
  aborted,            // it was aborted (e.g. the broker timed it out): its records never show
  already_aborted,    // an abort found it aborted already
  unknown,            // no marker could be found: neither success nor failure is known
};
const char* to_string(transaction_outcome o) noexcept;

}  // namespace kwire::client
