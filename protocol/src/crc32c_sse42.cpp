// CRC-32C with the SSE4.2 crc32 instruction. This file alone is compiled with -msse4.2
// -mpclmul; crc32c.cpp calls into it only after checking the CPU at run time.
//
// One crc32 instruction has a latency of about three cycles but the CPU can start one per
// cycle, so a single dependency chain wastes two thirds of the unit. The input is split
// into three equal consecutive streams whose CRCs are computed side by side and then
// joined: CRC(A|B|C) = A*x^(16L) + B*x^(8L) + C (mod P) for streams of L bytes, with the
// multiplications by x^n done by one carry-less multiply and one crc32 reduction.
#include "kwire/protocol/crc32c.hpp"

#if defined(__x86_64__)

#include <nmmintrin.h>
#include <wmmintrin.h>

#include <array>
#include <cstring>

namespace kwire::protocol::detail {
namespace {

constexpr std::uint32_t kCastagnoliReflected = 0x82F63B78u;

// Polynomials mod P in the bit-reflected form CRC registers use: bit 31 is x^0.
constexpr std::uint32_t multiply_mod_p(std::uint32_t a, std::uint32_t b) {
  std::uint32_t product = 0;
  for (int degree = 0; degree < 32; ++degree) {
    if (a & (0x80000000u >> degree)) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kCastagnoliReflected : b >> 1;  // b *= x
  }
  return product;
}

constexpr std::uint32_t x_to_the_mod_p(std::uint64_t exponent) {
  std::uint32_t result = 0x80000000u;  // 1
  std::uint32_t square = 0x40000000u;  // x
  for (; exponent != 0; exponent >>= 1) {
    if (exponent & 1) result = multiply_mod_p(result, square);
    square = multiply_mod_p(square, square);
  }
  return result;
}

// Longest stream of one three-way round: long enough that the join (a few cycles) is noise.
constexpr std::size_t kMaxStreamBytes = 4096;
// Below this the join costs more than the parallelism saves.
constexpr std::size_t kMinStreamBytes = 32;

// Carry-less multiplying a register value by K and reducing the 64-bit product with crc32
// yields value * K * x^33 (mod P), so shifting by n bytes takes K = x^(8n - 33).
struct join_constants {
  std::uint32_t shift_one_stream;
  std::uint32_t shift_two_streams;
};
using join_table = std::array<join_constants, kMaxStreamBytes / 8 + 1>;

// Built incrementally (one multiplication per entry) to stay well inside the compilers'
// constexpr evaluation limits.
constexpr join_table make_join_table() {
  join_table table{};
  constexpr std::size_t first = kMinStreamBytes / 8;
  const std::uint32_t x_to_the_64 = x_to_the_mod_p(64);
  const std::uint32_t x_to_the_128 = x_to_the_mod_p(128);
  std::uint32_t one = x_to_the_mod_p(64 * first - 33);
  std::uint32_t two = x_to_the_mod_p(128 * first - 33);
  for (std::size_t words = first; words < table.size(); ++words) {
    table[words] = {one, two};
    one = multiply_mod_p(one, x_to_the_64);
    two = multiply_mod_p(two, x_to_the_128);
  }
  return table;
}

constexpr join_table kJoinTable = make_join_table();

inline std::uint64_t load64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint64_t shift_product(std::uint32_t value, std::uint32_t constant) noexcept {
  __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128(static_cast<int>(value)),
                                         _mm_cvtsi32_si128(static_cast<int>(constant)), 0x00);
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(product));
}

}  // namespace

std::uint32_t crc32c_sse42_update(std::uint32_t state, const std::uint8_t* p,
                                  std::size_t n) noexcept {
  // Byte steps up to an 8-byte boundary so that the word loads below never split a cache line.
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0) {
    state = _mm_crc32_u8(state, *p++);
    --n;
  }
  std::uint64_t crc_a = state;
  while (n >= 3 * kMinStreamBytes) {
    std::size_t words = n / 24;
    if (words > kMaxStreamBytes / 8) words = kMaxStreamBytes / 8;
    const std::size_t stream_bytes = words * 8;
    const std::uint8_t* a = p;
    const std::uint8_t* b = p + stream_bytes;
    const std::uint8_t* c = p + 2 * stream_bytes;
    std::uint64_t crc_b = 0;
    std::uint64_t crc_c = 0;
    for (std::size_t i = 0; i < stream_bytes; i += 8) {
      crc_a = _mm_crc32_u64(crc_a, load64(a + i));
      crc_b = _mm_crc32_u64(crc_b, load64(b + i));
      crc_c = _mm_crc32_u64(crc_c, load64(c + i));
    }
    const join_constants& k = kJoinTable[words];
    std::uint64_t shifted = shift_product(static_cast<std::uint32_t>(crc_a), k.shift_two_streams) ^
                            shift_product(static_cast<std::uint32_t>(crc_b), k.shift_one_stream);
    crc_a = _mm_crc32_u64(0, shifted) ^ crc_c;
    p += 3 * stream_bytes;
    n -= 3 * stream_bytes;
  }
  while (n >= 8) {
    crc_a = _mm_crc32_u64(crc_a, load64(p));
    p += 8;
    n -= 8;
  }
  state = static_cast<std::uint32_t>(crc_a);
  while (n-- > 0) state = _mm_crc32_u8(state, *p++);
  return state;
}

}  // namespace kwire::protocol::detail

#else  // not x86-64: crc32c_hardware_available() is false, so this is never called.

namespace kwire::protocol::detail {
std::uint32_t crc32c_sse42_update(std::uint32_t state, const std::uint8_t*, std::size_t) noexcept {
  return state;
}
}  // namespace kwire::protocol::detail

#endif
