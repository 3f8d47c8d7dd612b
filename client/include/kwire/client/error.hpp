// Errors of the client layer. Everything the client reports is a std::error_code from one of
// three categories: kwire::protocol::errc (malformed data), kwire::protocol::broker_error
// (Kafka's codes, as the broker sent them) and kwire::client::errc below (found by the
// client itself). `diagnostics` carries the context a log line or an exception needs.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "kwire/protocol/errors.hpp"

namespace kwire::client {

enum class errc {
  connection_closed = 1,  // the connection closed before the response arrived
  request_timed_out,      // no response within request.timeout.ms; the connection is closed
  connect_timed_out,      // socket.connection.setup.timeout.ms passed while connecting
  broker_too_old,         // no version of a required API both sides support
  protocol_violation,     // the broker sent something the protocol does not allow
  not_ready,              // the connection is not (yet, or any more) usable
  shut_down,              // the client was closed; the operation did not run
  buffer_exhausted,       // buffer.memory is used up and max.block.ms passed
  delivery_timed_out,     // delivery.timeout.ms passed before the record was acknowledged
  record_too_large,       // larger than max.request.size or the broker's message.max.bytes
  no_such_partition,      // an explicit partition the topic does not have
  no_brokers,             // no bootstrap server could be reached
  producer_fenced,        // the producer's epoch was bumped by another instance
  metadata_timed_out,     // max.block.ms passed waiting for a topic's metadata
  no_offset,              // no committed offset for a partition and auto.offset.reset=none
  operation_timed_out,    // an admin operation's timeout passed (diagnostics: the last error)
  invalid_argument,       // the caller asked for something that cannot be sent
  tls_handshake_failed,   // TLS could not be set up (the connection's close_detail says why)
  // The call is not allowed in the transaction's current state (e.g. send() outside
  // begin_transaction(), commit before init_transactions()).
  invalid_transaction_state,
  transaction_abortable,  // an error ended this transaction's chances: abort it, then go on
  transaction_aborted,    // the record's transaction was aborted before the record was sent
  kerberos_failed,        // GSSAPI could not log in: kinit failed, no or expired ticket, unknown
                          // service principal (the connection's close_detail says why)
};

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

// Whether retrying later may succeed: the broker error table's flag for broker errors, and
// for the client's own errors the ones caused by the network or a moving cluster.
bool is_retriable(std::error_code ec) noexcept;

// Where an error happened; any part may be unknown (-1 / empty).
struct diagnostics {
  std::int32_t broker_id = -1;
  std::string broker;  // host:port
  std::int16_t api_key = -1;
  std::int16_t api_version = -1;
  std::string topic;
  std::int32_t partition = -1;
  std::string server_message;  // the broker's error_message field, when it sent one
  // For a timeout: the last error seen on the way, which is usually why it timed out (a
  // refused connection, a topic without metadata, a retriable broker error), and
  // last_error_context says where: "connecting to broker 1 (127.0.0.1:9092)",
  // "ProduceRequest v11 to broker 1 (127.0.0.1:9092) topic t partition 3", ...
  std::error_code last_error;
  std::string last_error_context;

  // "ProduceRequest v11 to broker 1 (127.0.0.1:9092) topic t partition 3: <message>", and
  // "; last error: <context>: <its message>" when there is one.
  std::string describe(std::error_code ec) const;
  // The same without the message: where it happened ("" when nothing is known).
  std::string describe_where() const;
};

}  // namespace kwire::client

template <>
struct std::is_error_code_enum<kwire::client::errc> : std::true_type {};
