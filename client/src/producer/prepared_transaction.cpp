// The prepared-transaction handle's text form. Layout (big-endian, Kafka's primitive types):
//   uint8 format (1) | string transactional_id | int64 producer_id | int16 epoch |
//   uint8 protocol | int64 started_ms | int32 timeout_ms |
//   int32 count, then per partition: string topic | int32 partition | int64 first_offset |
//   uint32 CRC-32C of everything before it
// then standard base64 behind "kwtx1.". A later format gets a new number; this code refuses
// numbers it does not know, naming them.
#include <cstring>

#include "kwire/client/error.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/buffer.hpp"
#include "kwire/protocol/crc32c.hpp"
#include "kwire/security/base64.hpp"

namespace kwire::client {
namespace {

constexpr std::string_view text_prefix = "kwtx1.";

std::string read_string(protocol::reader& r) {
  const auto n = r.string_length(false);
  if (n < 0) {
    r.fail(protocol::make_error_code(protocol::errc::truncated));
    return {};
  }
  const auto* p = r.take(static_cast<std::size_t>(n));
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

}  // namespace

std::string encode_prepared_transaction(const prepared_transaction& handle) {
  std::vector<std::uint8_t> bytes;
  protocol::writer w(bytes);
  w.int8(static_cast<std::int8_t>(handle.format));
  w.string(handle.transactional_id, false);
  w.int64(handle.producer_id);
  w.int16(handle.epoch);
  w.int8(static_cast<std::int8_t>(handle.protocol));
  w.int64(handle.started_ms);
  w.int32(handle.timeout_ms);
  w.int32(static_cast<std::int32_t>(handle.partitions.size()));
  for (const auto& p : handle.partitions) {
    w.string(p.topic, false);
    w.int32(p.partition);
    w.int64(p.first_offset);
  }
  w.uint32(protocol::crc32c(bytes));
  return std::string(text_prefix) + security::base64_encode(bytes);
}

std::error_code decode_prepared_transaction(std::string_view text, prepared_transaction& out) {
  const auto invalid = make_error_code(errc::invalid_argument);
  if (text.substr(0, text_prefix.size()) != text_prefix) return invalid;
  std::vector<std::uint8_t> bytes;
  if (!security::base64_decode(text.substr(text_prefix.size()), bytes) || bytes.size() < 5)
    return invalid;
  const std::span<const std::uint8_t> body(bytes.data(), bytes.size() - 4);
  const std::span<const std::uint8_t> crc(bytes.data() + body.size(), 4);
  protocol::reader crc_reader(crc);
  if (crc_reader.uint32() != protocol::crc32c(body)) return invalid;
  protocol::reader r(body);
  prepared_transaction h;
  h.format = static_cast<std::uint8_t>(r.int8());
  if (h.format != prepared_transaction::current_format) return invalid;
  h.transactional_id = read_string(r);
  h.producer_id = r.int64();
  h.epoch = r.int16();
  h.protocol = static_cast<std::uint8_t>(r.int8());
  h.started_ms = r.int64();
  h.timeout_ms = r.int32();
  const auto count = r.array_length(false, 14);
  for (std::int64_t i = 0; i < count && r.ok(); ++i) {
    auto& p = h.partitions.emplace_back();
    p.topic = read_string(r);
    p.partition = r.int32();
    p.first_offset = r.int64();
  }
  if (!r.ok() || r.remaining() != 0 || h.transactional_id.empty() || h.producer_id < 0 ||
      (h.protocol != 1 && h.protocol != 2))
    return invalid;
  out = std::move(h);
  return {};
}

const char* to_string(transaction_outcome o) noexcept {
  switch (o) {
    case transaction_outcome::committed:
      return "committed";
    case transaction_outcome::already_committed:
      return "already committed";
    case transaction_outcome::aborted:
      return "aborted";
    case transaction_outcome::already_aborted:
      return "already aborted";
    case transaction_outcome::unknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace kwire::client
