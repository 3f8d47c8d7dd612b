#include "kwire/protocol/crc32c.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace kp = kwire::protocol;

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

}  // namespace

TEST(Crc32c, KnownVectors) {
  // The check value of CRC-32C and the vectors of RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(kp::crc32c(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(kp::crc32c({}), 0u);
  std::vector<std::uint8_t> zeros(32, 0x00), ones(32, 0xff), ascending(32), descending(32);
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<std::uint8_t>(i);
    descending[i] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(kp::crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(kp::crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(kp::crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(kp::crc32c(descending), 0x113FDB5Cu);
  EXPECT_EQ(kp::crc32c_portable(bytes_of("123456789")), 0xE3069283u);
  EXPECT_EQ(kp::crc32c_portable(zeros), 0x8A9136AAu);
  EXPECT_EQ(kp::crc32c(bytes_of("The quick brown fox jumps over the lazy dog")), 0x22620404u);
}

TEST(Crc32c, ContinuesAPreviousResult) {
  auto data = random_bytes(10000, 1);
  std::uint32_t whole = kp::crc32c(data);
  for (std::size_t split : {0u, 1u, 7u, 8u, 100u, 4096u, 9999u, 10000u}) {
    std::span<const std::uint8_t> all(data);
    EXPECT_EQ(kp::crc32c(all.subspan(split), kp::crc32c(all.first(split))), whole) << split;
    EXPECT_EQ(kp::crc32c_portable(all.subspan(split), kp::crc32c_portable(all.first(split))), whole)
        << split;
  }
}

TEST(Crc32c, HardwareAndPortableAgreeForEveryLengthAndAlignment) {
  if (!kp::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2/PCLMUL on this CPU";
  auto data = random_bytes(1024 + 64, 2);
  std::mt19937 rng(3);
  for (std::size_t length = 0; length <= 1024; ++length) {
    for (int trial = 0; trial < 4; ++trial) {
      std::size_t offset = rng() % 64;
      std::span<const std::uint8_t> s(data.data() + offset, length);
      std::uint32_t seed = trial == 0 ? 0 : static_cast<std::uint32_t>(rng());
      ASSERT_EQ(kp::crc32c_hardware(s, seed), kp::crc32c_portable(s, seed))
          << "length " << length << " offset " << offset;
    }
  }
}

TEST(Crc32c, HardwareAndPortableAgreeOnLargeBuffers) {
  if (!kp::crc32c_hardware_available()) GTEST_SKIP() << "no SSE4.2/PCLMUL on this CPU";
  auto data = random_bytes(3 * 1024 * 1024 + 123, 4);
  for (std::size_t length : {12287u, 12288u, 12289u, 24576u, 65536u, 1048576u, 3145845u}) {
    std::span<const std::uint8_t> s(data.data() + 3, length);
    EXPECT_EQ(kp::crc32c_hardware(s), kp::crc32c_portable(s)) << length;
  }
}
