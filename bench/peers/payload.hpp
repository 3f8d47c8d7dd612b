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
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

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

// Spreads the 8 nibbles of a 32-bit value over the 8 bytes of a 64-bit one: nibble k into
// byte k (counting from the least significant end).
inline constexpr std::uint64_t spread_nibbles(std::uint64_t x) noexcept {
  x = (x | (x << 16)) & 0x0000ffff0000ffffULL;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffULL;
  return (x | (x << 4)) & 0x0f0f0f0f0f0f0f0fULL;
}

// Turns every byte (0..15) of X into its lowercase hex digit, all 8 at once: '0' + d, plus
// 'a' - '0' - 10 = 39 where d >= 10 (exactly the bytes where d + 6 carries into bit 4).
// No byte can carry into the next: d + 6 <= 21 and '0' + 15 + 39 < 256.
inline constexpr std::uint64_t nibbles_to_hex(std::uint64_t x) noexcept {
  const std::uint64_t at_least_ten = ((x + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
  return x + 0x3030303030303030ULL + at_least_ten * 39;
}

// Stores the 8 bytes of W with its least significant byte at P[0], whatever the byte order.
inline void store_low_byte_first(char* p, std::uint64_t w) noexcept {
  if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
  std::memcpy(p, &w, sizeof w);
}

// The 16 hex digits of V, portably: most significant first (the stamp) when kHighFirst,
// else least significant first (digit k is nibble k: the hash digits). Computed 8 digits
// at a time: the loop of shifts and table lookups it replaces cost about 150 instructions.
template <bool kHighFirst>
inline std::array<char, 16> hex_digits_portable(std::uint64_t v) noexcept {
  std::array<char, 16> digits;
  const std::uint64_t low = nibbles_to_hex(spread_nibbles(v & 0xffffffffULL));
  const std::uint64_t high = nibbles_to_hex(spread_nibbles(v >> 32));
  if constexpr (kHighFirst) {
    // Reversing the bytes puts the most significant nibble of each half first.
    store_low_byte_first(digits.data(), __builtin_bswap64(high));
    store_low_byte_first(digits.data() + 8, __builtin_bswap64(low));
  } else {
    store_low_byte_first(digits.data(), low);
    store_low_byte_first(digits.data() + 8, high);
  }
  return digits;
}

// The same; with SSE2 (every x86-64) all 16 digits in one register, a third of the cost.
template <bool kHighFirst>
inline std::array<char, 16> hex_digits(std::uint64_t v) noexcept {
#if defined(__SSE2__) && defined(__x86_64__)
  // Byte i of `bytes` (little-endian) gives digits 2i and 2i + 1: its high nibble first for
  // the stamp, read from V with its bytes reversed so that the top byte comes first.
  const __m128i bytes =
      _mm_cvtsi64_si128(static_cast<long long>(kHighFirst ? __builtin_bswap64(v) : v));
  const __m128i low_nibbles = _mm_and_si128(bytes, _mm_set1_epi8(0x0f));
  const __m128i high_nibbles = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f));
  const __m128i nibbles = kHighFirst ? _mm_unpacklo_epi8(high_nibbles, low_nibbles)
                                     : _mm_unpacklo_epi8(low_nibbles, high_nibbles);
  // '0' + d, plus 'a' - '0' - 10 = 39 where d > 9.
  const __m128i letters =
      _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)), _mm_set1_epi8(39));
  const __m128i hex = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
  std::array<char, 16> digits;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(digits.data()), hex);
  return digits;
#else
  return hex_digits_portable<kHighFirst>(v);
#endif
}

// Writes the first COUNT (1..16) of DIGITS 8 bytes apart from AT. Unrolled (a jump into the
// run of stores): the loop's counting cost about twice what the stores do.
inline void put_hash_digits(char* at, const std::array<char, 16>& digits,
                            std::size_t count) noexcept {
  switch (count) {
    case 16:
      at[15 * 8] = digits[15];
      [[fallthrough]];
    case 15:
      at[14 * 8] = digits[14];
      [[fallthrough]];
    case 14:
      at[13 * 8] = digits[13];
      [[fallthrough]];
    case 13:
      at[12 * 8] = digits[12];
      [[fallthrough]];
    case 12:
      at[11 * 8] = digits[11];
      [[fallthrough]];
    case 11:
      at[10 * 8] = digits[10];
      [[fallthrough]];
    case 10:
      at[9 * 8] = digits[9];
      [[fallthrough]];
    case 9:
      at[8 * 8] = digits[8];
      [[fallthrough]];
    case 8:
      at[7 * 8] = digits[7];
      [[fallthrough]];
    case 7:
      at[6 * 8] = digits[6];
      [[fallthrough]];
    case 6:
      at[5 * 8] = digits[5];
      [[fallthrough]];
    case 5:
      at[4 * 8] = digits[4];
      [[fallthrough]];
    case 4:
      at[3 * 8] = digits[3];
      [[fallthrough]];
    case 3:
      at[2 * 8] = digits[2];
      [[fallthrough]];
    case 2:
      at[1 * 8] = digits[1];
      [[fallthrough]];
    case 1:
      at[0] = digits[0];
      [[fallthrough]];
    default:
      break;
  }
}

}  // namespace payload_detail

// Writes the 16 hex digits of V (most significant first) into OUT, as many as fit.
inline void put_payload_stamp(std::span<char> out, std::uint64_t v) noexcept {
  const std::array<char, 16> digits = payload_detail::hex_digits<true>(v);
  // A fixed-size copy in the usual case: a few moves instead of a call.
  if (out.size() >= kPayloadStampSize)
    std::memcpy(out.data(), digits.data(), kPayloadStampSize);
  else
    std::memcpy(out.data(), digits.data(), out.size());
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

// Fills OUT (the whole value) with record number SEQ as described above. This runs once per
// record in every client's benchmark loop, where a byte-at-a-time loop cost about as much CPU
// as a fast client's own work on a 100-byte record, so: the stamp and the hash digits are
// converted 16 digits at a time, the text is copied in fixed 64-byte runs and the hash digits
// are written over it afterwards (fill_payload_reference has the same bytes).
inline void fill_payload(std::span<char> out, std::uint64_t seq) noexcept {
  constexpr std::size_t kRun = payload_detail::kText.size();
  put_payload_stamp(out, seq);
  if (out.size() <= kPayloadStampSize) return;
  const std::span<char> body = out.subspan(kPayloadStampSize);
  const char* const text = payload_detail::kTextTwice.data();
  const std::size_t start = static_cast<std::size_t>((seq * 13) % kRun);
  // Byte j of the body is kText[(start + j) % 64]: every run at a multiple of 64 starts at
  // text + start, and a last partial run is replaced by the 64 bytes ending at the end of the
  // body (rewriting some bytes with what they already hold), so that every copy has a fixed size.
  if (body.size() >= kRun) {
    std::size_t at = 0;
    for (; at + kRun <= body.size(); at += kRun) std::memcpy(body.data() + at, text + start, kRun);
    if (at < body.size()) {
      const std::size_t last = body.size() - kRun;
      std::memcpy(body.data() + last, text + (start + last) % kRun, kRun);
    }
  } else {
    std::memcpy(body.data(), text + start, body.size());
  }
  // Block b (bytes [8b, 8b + 8) of the body), when whole, ends in nibble b % 16 of the hash
  // of its group of 16 blocks.
  const std::size_t blocks = body.size() / 8;
  for (std::size_t first = 0; first < blocks; first += 16) {
    const std::array<char, 16> digits =
        payload_detail::hex_digits<false>(payload_detail::splitmix64(seq ^ (first << 40)));
    const std::size_t count = blocks - first < 16 ? blocks - first : 16;
    payload_detail::put_hash_digits(body.data() + first * 8 + 7, digits, count);
  }
}

// The definition above written out byte by byte: what the tests check fill_payload against.
inline void fill_payload_reference(std::span<char> out, std::uint64_t seq) noexcept {
  using payload_detail::kHex;
  using payload_detail::kText;
  for (std::size_t i = 0; i < out.size() && i < kPayloadStampSize; ++i)
    out[i] = kHex[(seq >> (4 * (kPayloadStampSize - 1 - i))) & 0xf];
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
