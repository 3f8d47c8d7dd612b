// Error model of the protocol layer: std::error_code with two categories.
//  - kwire::protocol::errc: malformed or unencodable data found by kwire itself.
//  - kwire::protocol::broker_error: Kafka's error codes as a broker sends them
//    (generated from schema/errors.tsv), with Kafka's retriable flag.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "kwire/protocol/broker_errors.hpp"  // generated: enum class broker_error

namespace kwire::protocol {

enum class errc {
  truncated = 1,         // input ended inside a field
  invalid_length,        // negative or impossible length/count
  invalid_varint,        // varint longer than its type allows
  crc_mismatch,          // record batch CRC-32C does not match its contents
  unsupported_version,   // API or message version outside what kwire implements
  field_not_in_version,  // a non-default value that the chosen version cannot carry
  null_not_allowed,      // null in a version where the field is not nullable
  unknown_compression,   // compression codec id outside 0..4
  decompression_failed,  // codec rejected the data
  compression_failed,    // codec failed to compress
  oversized,             // a length beyond the configured or protocol maximum
  invalid_magic,         // record batch magic other than 2
  invalid_record,        // record fields inconsistent with the batch header
  trailing_bytes,        // a frame or record has bytes after its last field
  unknown_api,           // ApiKey kwire does not implement
};

const std::error_category& protocol_category() noexcept;
const std::error_category& broker_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}
inline std::error_code make_error_code(broker_error e) noexcept {
  return {static_cast<int>(e), broker_category()};
}

// A broker's int16 error code as an error_code; 0 (NONE) gives an empty error_code.
inline std::error_code broker_error_code(std::int16_t code) noexcept {
  return code == 0 ? std::error_code{} : std::error_code{code, broker_category()};
}

// Kafka's UPPER_SNAKE name of a broker error code ("UNKNOWN" for codes kwire does not know).
std::string_view broker_error_name(std::int16_t code) noexcept;

// True when the Java client would retry the operation that got this error.
bool is_retriable(std::error_code ec) noexcept;

}  // namespace kwire::protocol

template <>
struct std::is_error_code_enum<kwire::protocol::errc> : std::true_type {};
template <>
struct std::is_error_code_enum<kwire::protocol::broker_error> : std::true_type {};
