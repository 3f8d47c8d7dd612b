// Portable CRC-32C (slicing-by-8) and the run-time choice between it and the SSE4.2 build.
#include "kwire/protocol/crc32c.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace kwire::protocol {
namespace {

constexpr std::uint32_t kCastagnoliReflected = 0x82F63B78u;

using slice_tables = std::array<std::array<std::uint32_t, 256>, 8>;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC contribution of
// byte b followed by k zero bytes, which lets one step fold eight input bytes at once.
constexpr slice_tables make_slice_tables() {
  slice_tables tables{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc & 1) ? (crc >> 1) ^ kCastagnoliReflected : crc >> 1;
    tables[0][byte] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k)
    for (std::size_t byte = 0; byte < 256; ++byte) {
      std::uint32_t previous = tables[k - 1][byte];
      tables[k][byte] = (previous >> 8) ^ tables[0][previous & 0xff];
    }
  return tables;
}

constexpr slice_tables kSliceTables = make_slice_tables();

std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

std::uint32_t portable_update(std::uint32_t state, const std::uint8_t* p, std::size_t n) noexcept {
  const auto& t = kSliceTables;
  while (n >= 8) {
    std::uint64_t word = load_le64(p) ^ state;
    state = t[7][word & 0xff] ^ t[6][(word >> 8) & 0xff] ^ t[5][(word >> 16) & 0xff] ^
            t[4][(word >> 24) & 0xff] ^ t[3][(word >> 32) & 0xff] ^ t[2][(word >> 40) & 0xff] ^
            t[1][(word >> 48) & 0xff] ^ t[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) state = (state >> 8) ^ t[0][(state ^ *p++) & 0xff];
  return state;
}

using update_fn = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t) noexcept;

update_fn choose_update() noexcept {
  return crc32c_hardware_available() ? &detail::crc32c_sse42_update : &portable_update;
}

}  // namespace

bool crc32c_hardware_available() noexcept {
#if defined(__x86_64__)
  static const bool available =
      __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul");
  return available;
#else
  return false;
#endif
}

std::uint32_t crc32c_portable(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
  return ~portable_update(~crc, data.data(), data.size());
}

std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
  return ~detail::crc32c_sse42_update(~crc, data.data(), data.size());
}

std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc) noexcept {
  static const update_fn update = choose_update();
  return ~update(~crc, data.data(), data.size());
}

}  // namespace kwire::protocol
