// CRC-32C (Castagnoli), the checksum of Kafka's record batch v2.
//
// crc32c() uses the SSE4.2 crc32 instruction on three interleaved streams (joined with
// carry-less multiplication) when the CPU has SSE4.2 and PCLMUL, and a portable
// slicing-by-8 table otherwise; the choice is made once, on first use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kwire::protocol {

// CRC-32C of `data` with the standard initial value and final xor, so that
// crc32c("123456789") == 0xE3069283. Passing a previous result as `crc` continues it:
// crc32c(b, crc32c(a)) == crc32c(a followed by b).
std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

// The two implementations behind crc32c(), exposed so tests and benchmarks can compare them.
// crc32c_hardware() may only be called when crc32c_hardware_available() is true.
std::uint32_t crc32c_portable(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;
std::uint32_t crc32c_hardware(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;
bool crc32c_hardware_available() noexcept;

namespace detail {
// Raw CRC-32C register update (no initial/final inversion) of the SSE4.2 + PCLMUL build,
// defined in crc32c_sse42.cpp, the only file compiled with those instruction sets.
std::uint32_t crc32c_sse42_update(std::uint32_t state, const std::uint8_t* data,
                                  std::size_t size) noexcept;
}  // namespace detail

}  // namespace kwire::protocol
