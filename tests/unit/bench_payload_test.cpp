// The benchmark payload (bench/peers/payload.hpp): the fast fill writes exactly the bytes of
// the byte-by-byte definition, so every client sends what the README and older results say.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../../bench/peers/payload.hpp"

namespace kb = kwire::bench;

TEST(BenchPayload, FastFillMatchesTheDefinition) {
  for (std::size_t size : {0, 1, 15, 16, 17, 23, 24, 100, 143, 144, 151, 152, 1024, 4099}) {
    for (std::uint64_t seq :
         {0ull, 1ull, 4ull, 5ull, 63ull, 64ull, 999'999ull, 1ull << 40, ~0ull}) {
      std::string fast(size, '?'), reference(size, '!');
      kb::fill_payload(fast, seq);
      kb::fill_payload_reference(reference, seq);
      ASSERT_EQ(fast, reference) << "size " << size << " seq " << seq;
    }
  }
}

TEST(BenchPayload, RecordsDifferAndReadBackTheirNumber) {
  std::string a(100, 0), b(100, 0);
  kb::fill_payload(a, 41);
  kb::fill_payload(b, 42);
  EXPECT_NE(a, b);
  std::uint64_t seq = 0;
  ASSERT_TRUE(kb::read_payload_stamp(b, seq));
  EXPECT_EQ(seq, 42u);
  for (char c : a) EXPECT_TRUE(c >= ' ' && c <= '~') << int(c);
}
