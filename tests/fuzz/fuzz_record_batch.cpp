// libFuzzer: record_batch_reader over arbitrary bytes, with the CRC check on and off, every
// record and header touched. Differential check: with the CRCs repaired, checked reading
// must see exactly what unchecked reading of the original sees.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kwire/protocol/crc32c.hpp"
#include "kwire/protocol/record_batch.hpp"

namespace kp = kwire::protocol;

namespace {

struct summary {
  std::size_t batches = 0;
  std::size_t records = 0;
  std::uint64_t checksum = 0;  // of every field and byte seen, so nothing is optimised away
  std::error_code error;
  bool incomplete_tail = false;
  bool operator==(const summary&) const = default;
};

void mix(summary& s, std::uint64_t v) { s.checksum = (s.checksum ^ v) * 0x100000001b3ull; }
void mix_bytes(summary& s, const kp::optional_bytes& b) {
  if (!b) return mix(s, 0xdead);
  mix(s, b->size());
  for (std::uint8_t c : *b) mix(s, c);
}

summary read_all(std::span<const std::uint8_t> data, bool verify_crc,
                 std::vector<std::uint8_t>& scratch) {
  summary s;
  kp::record_batch_reader reader(data, scratch,
                                 {.verify_crc = verify_crc, .max_decompressed_size = 1 << 20});
  kp::record_batch_view batch;
  while (reader.next(batch)) {
    ++s.batches;
    const kp::record_batch_header& h = batch.header();
    for (std::int64_t field : {h.base_offset, h.last_offset(), h.next_offset(), h.base_timestamp,
                               h.max_timestamp, h.producer_id, std::int64_t{h.producer_epoch},
                               std::int64_t{h.base_sequence}, std::int64_t{h.attributes}})
      mix(s, static_cast<std::uint64_t>(field));
    if (h.size_in_bytes() != batch.wire_bytes().size()) std::abort();
    kp::record_view r;
    auto cursor = batch.records();
    while (cursor.next(r)) {
      ++s.records;
      mix(s, static_cast<std::uint64_t>(r.offset));
      mix(s, static_cast<std::uint64_t>(r.timestamp));
      mix_bytes(s, r.key);
      mix_bytes(s, r.value);
      std::size_t headers = 0;
      for (const kp::header_view& hv : r.headers) {
        ++headers;
        mix(s, hv.key.size());
        mix_bytes(s, hv.value);
      }
      if (headers != r.headers.size()) std::abort();
      if (h.is_control()) {
        kp::control_record_key key;
        kp::end_txn_marker marker;
        if (!kp::parse_control_record_key(r, key)) mix(s, static_cast<std::uint64_t>(key.type));
        if (!kp::parse_end_txn_marker(r, marker))
          mix(s, static_cast<std::uint64_t>(marker.coordinator_epoch));
      }
    }
    if (cursor.error()) {
      s.error = cursor.error();
      return s;
    }
  }
  s.error = reader.error();
  s.incomplete_tail = reader.incomplete_tail();
  return s;
}

// Rewrites the CRC of every complete batch the length fields lead to.
void repair_crcs(std::vector<std::uint8_t>& data) {
  std::size_t at = 0;
  while (data.size() - at >= kp::record_batch_header_size) {
    std::int32_t length = 0;
    for (int i = 0; i < 4; ++i) length = (length << 8) | data[at + 8 + i];
    if (length < 49 || static_cast<std::size_t>(length) + 12 > data.size() - at) return;
    const std::size_t size = static_cast<std::size_t>(length) + 12;
    const std::uint32_t crc = kp::crc32c({data.data() + at + 21, size - 21});
    for (int i = 0; i < 4; ++i) data[at + 17 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    at += size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> scratch;
  const std::span<const std::uint8_t> input(data, size);
  read_all(input, true, scratch);
  const summary unchecked = read_all(input, false, scratch);
  std::vector<std::uint8_t> repaired(data, data + size);
  repair_crcs(repaired);
  const summary checked = read_all(repaired, true, scratch);
  if (!(checked == unchecked)) std::abort();
  return 0;
}
