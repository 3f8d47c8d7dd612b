// bench/peers/payload.hpp - the record values every kwire benchmark client sends.
//
// kwire-bench, rdkafka-bench and (through a payload file) the Java ProducerPerformance all send
// exactly these bytes, so that compression has the same work to do for every client.
//
// Record number SEQ of SIZE bytes (format version 1):
//   bytes [0, 16)   the stamp: 16 lowercase hex digits of SEQ in produce runs; in e2e runs the
//                   intended send time in nanoseconds of the sender's CLOCK_MONOTONIC, which the
//                   receiver (same process) reads back. Cut short when SIZE < 16.
//   bytes [16, SIZE) a body: a 64-byte line of text, started at a position that moves with SEQ,
//                   with every 8th byte replaced by a hex digit of a hash of (SEQ, position).
// Every byte is printable ASCII (never '\n'), so a newline-separated payload file holds one
// record per line. Values are neither constant nor random: lz4 and zstd find the repeated
// text across the records of a batch but not the hash digits, so a batch of 100-byte records
// compresses roughly 2:1 with lz4 (bench/README.md has the measured ratios).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace kwire::bench {

inline constexpr std::size_t kPayloadStampSize = 16;

namespace payload_detail {

inline constexpr std::string_view kText =
    "kwire bench: the quick brown fox jumps over the lazy dog, twice ";
static_assert(kText.size() == 64);
inline constexpr char kHex[] = "0123456789abcdef";

// kText twice in a row: any 64 consecutive bytes of it are the text started somewhere.
inline constexpr std::array<char, 128> kTextTwice = [] {
  std::array<char, 128> twice{};
  for (std::size_t i = 0; i < twice.size(); ++i) twice[i] = kText[i % kText.size()];
  return twice;
}();

inline constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace payload_detail

// Writes the 16 hex digits of V (most significant first) into OUT, as many as fit.
inline void put_payload_stamp(std::span<char> out, std::uint64_t v) noexcept {
  const std::size_t n = out.size() < kPayloadStampSize ? out.size() : kPayloadStampSize;
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = payload_detail::kHex[(v >> (4 * (kPayloadStampSize - 1 - i))) & 0xf];
  }
}

// Reads the stamp back; false when IN is shorter than 16 bytes or not 16 hex digits.
inline bool read_payload_stamp(std::span<const char> in, std::uint64_t& v) noexcept {
  if (in.size() < kPayloadStampSize) return false;
  std::uint64_t r = 0;
  for (std::size_t i = 0; i < kPayloadStampSize; ++i) {
    const char c = in[i];
    std::uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      return false;
    }
    r = (r << 4) | d;
  }
  v = r;
  return true;
}

// Fills OUT (the whole value) with record number SEQ as described above. The text is copied
// in runs of up to 64 bytes and the hash digits written over it afterwards: this runs once per
// record in every client's benchmark loop, where a byte-at-a-time loop cost about as much CPU
// as a fast client's own work on a 100-byte record (fill_payload_reference has the same bytes).
inline void fill_payload(std::span<char> out, std::uint64_t seq) noexcept {
  using payload_detail::kHex;
  put_payload_stamp(out, seq);
  if (out.size() <= kPayloadStampSize) return;
  const std::span<char> body = out.subspan(kPayloadStampSize);
  const char* const text = payload_detail::kTextTwice.data() + (seq * 13) % 64;
  for (std::size_t at = 0; at < body.size(); at += 64)
    std::memcpy(body.data() + at, text, body.size() - at < 64 ? body.size() - at : 64);
  std::uint64_t hash = 0;
  for (std::size_t block = 0; block * 8 + 7 < body.size(); ++block) {
    if (block % 16 == 0) hash = payload_detail::splitmix64(seq ^ (block << 40));
    body[block * 8 + 7] = kHex[(hash >> (4 * (block % 16))) & 0xf];
  }
}

// The definition above written out byte by byte: what the tests check fill_payload against.
inline void fill_payload_reference(std::span<char> out, std::uint64_t seq) noexcept {
  using payload_detail::kHex;
  using payload_detail::kText;
  put_payload_stamp(out, seq);
  const std::size_t start = static_cast<std::size_t>((seq * 13) % kText.size());
  std::uint64_t hash = 0;
  for (std::size_t i = kPayloadStampSize; i < out.size(); ++i) {
    const std::size_t j = i - kPayloadStampSize;
    if (j % 8 == 7) {
      const std::size_t block = j / 8;
      if (block % 16 == 0) hash = payload_detail::splitmix64(seq ^ (block << 40));
      out[i] = kHex[(hash >> (4 * (block % 16))) & 0xf];
    } else {
      out[i] = kText[(start + j) % kText.size()];
    }
  }
}

}  // namespace kwire::bench
