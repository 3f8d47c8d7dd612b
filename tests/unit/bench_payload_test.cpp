// The benchmark payload (bench/peers/payload.hpp): the fast fill writes exactly the bytes of
// the byte-by-byte definition, so every client sends what the README and older results say.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "../../bench/peers/payload.hpp"

namespace kb = kwire::bench;

TEST(BenchPayload, FastFillMatchesTheDefinition) {
  // Every size up to 300 (shorter than the stamp, one 8-byte block, one 64-byte text run and
  // a partial one, more than 16 hash blocks, odd sizes), then a few large ones.
  std::vector<std::size_t> sizes;
  for (std::size_t size = 0; size <= 300; ++size) sizes.push_back(size);
  for (std::size_t size : {1023, 1024, 1025, 4099, 65'536}) sizes.push_back(size);
  std::vector<std::uint64_t> seqs = {0ull,
                                     1ull,
                                     4ull,
                                     5ull,
                                     9ull,
                                     10ull,
                                     15ull,
                                     16ull,
                                     63ull,
                                     64ull,
                                     999'999ull,
                                     1ull << 40,
                                     0xfedcba9876543210ull,
                                     0x0123456789abcdefull,
                                     ~0ull};
  for (std::uint64_t seq = 0xa5a5a5a5ull; seqs.size() < 40; seq = seq * 6364136223846793005ull + 1)
    seqs.push_back(seq);
  for (std::size_t size : sizes) {
    for (std::uint64_t seq : seqs) {
      std::string fast(size, '?'), reference(size, '!');
      kb::fill_payload(fast, seq);
      kb::fill_payload_reference(reference, seq);
      ASSERT_EQ(fast, reference) << "size " << size << " seq " << seq;
    }
  }
}

TEST(BenchPayload, StampIsTheHexDigitsMostSignificantFirst) {
  std::string out(20, '.');
  kb::put_payload_stamp(out, 0x0123456789abcdefull);
  EXPECT_EQ(out, "0123456789abcdef....");
  std::string short_out(5, '.');
  kb::put_payload_stamp(short_out, 0xfedcba9876543210ull);
  EXPECT_EQ(short_out, "fedcb");
  std::uint64_t back = 0;
  ASSERT_TRUE(kb::read_payload_stamp(out, back));
  EXPECT_EQ(back, 0x0123456789abcdefull);
}

// fill_payload uses SSE2 where there is SSE2: the portable conversion must agree with the
// digits written out one by one too.
TEST(BenchPayload, PortableAndFastHexDigitsAgree) {
  namespace pd = kb::payload_detail;
  std::uint64_t v = 0x0123456789abcdefull;
  for (int i = 0; i < 2000; ++i, v = v * 6364136223846793005ull + 1442695040888963407ull) {
    std::array<char, 16> high_first{}, low_first{};
    for (std::size_t k = 0; k < 16; ++k) {
      high_first[k] = pd::kHex[(v >> (4 * (15 - k))) & 0xf];
      low_first[k] = pd::kHex[(v >> (4 * k)) & 0xf];
    }
    ASSERT_EQ(pd::hex_digits_portable<true>(v), high_first) << v;
    ASSERT_EQ(pd::hex_digits_portable<false>(v), low_first) << v;
    ASSERT_EQ(pd::hex_digits<true>(v), high_first) << v;
    ASSERT_EQ(pd::hex_digits<false>(v), low_first) << v;
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
