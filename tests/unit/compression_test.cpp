#include "kwire/protocol/compression.hpp"

#include <gtest/gtest.h>
#include <lz4frame.h>

#include <algorithm>
#include <random>
#include <string_view>
#include <vector>

#include "kwire/protocol/errors.hpp"

namespace kp = kwire::protocol;
using bytes = std::vector<std::uint8_t>;

namespace {

constexpr kp::compression kCodecs[] = {kp::compression::none, kp::compression::gzip,
                                       kp::compression::snappy, kp::compression::lz4,
                                       kp::compression::zstd};
constexpr kp::compression kRealCodecs[] = {kp::compression::gzip, kp::compression::snappy,
                                           kp::compression::lz4, kp::compression::zstd};

// Text-like data: compressible, but not trivially.
bytes sample(std::size_t n, std::uint32_t seed = 1) {
  static constexpr std::string_view words[] = {"kafka ",     "record ", "batch ", "offset ",
                                               "partition ", "leader ", "epoch ", "zstd "};
  std::mt19937 rng(seed);
  bytes out;
  out.reserve(n + 16);
  while (out.size() < n) {
    if (rng() % 4 == 0) {
      out.push_back(static_cast<std::uint8_t>(rng()));
    } else {
      auto w = words[rng() % 8];
      out.insert(out.end(), w.begin(), w.end());
    }
  }
  out.resize(n);
  return out;
}

bytes compressed(kp::compression codec, const bytes& in,
                 int level = kp::default_compression_level) {
  bytes out;
  EXPECT_FALSE(kp::compress(codec, in, out, level)) << kp::compression_name(codec);
  return out;
}

bytes from_string(std::string_view s) { return bytes(s.begin(), s.end()); }

}  // namespace

TEST(Compression, NamesRoundTrip) {
  for (auto codec : kCodecs) EXPECT_EQ(kp::parse_compression(kp::compression_name(codec)), codec);
  EXPECT_EQ(kp::compression_name(kp::compression::snappy), "snappy");
  EXPECT_EQ(kp::compression_name(static_cast<kp::compression>(7)), "unknown");
  EXPECT_FALSE(kp::parse_compression("LZ4"));
  EXPECT_FALSE(kp::parse_compression("brotli"));
  EXPECT_FALSE(kp::parse_compression(""));
}

TEST(Compression, EveryCodecRoundTripsAtSeveralSizes) {
  for (auto codec : kCodecs) {
    for (std::size_t n : {0u, 1u, 100u, 32768u, 32769u, 100000u, 1u << 20}) {
      const bytes in = sample(n, static_cast<std::uint32_t>(n));
      bytes packed = compressed(codec, in);
      bytes out = {0xAA};  // decompress appends: the existing byte must stay
      ASSERT_FALSE(kp::decompress(codec, packed, out, n))
          << kp::compression_name(codec) << " " << n;
      ASSERT_EQ(out.size(), n + 1);
      EXPECT_EQ(out[0], 0xAA);
      EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin() + 1))
          << kp::compression_name(codec) << n;
      if (codec != kp::compression::none && n >= 100000) {
        EXPECT_LT(packed.size(), n / 2);
      }
    }
  }
}

TEST(Compression, CallerGivenOutputGetsTheSameBytesAsTheVector) {
  // Remembers what it was asked for and hands out space marked with 0xEE, never zeroed.
  struct marked_output final : kp::compress_output {
    std::vector<std::uint8_t> space;
    std::size_t asked = 0;
    int calls = 0;
    std::uint8_t* room(std::size_t bound) override {
      ++calls;
      asked = bound;
      space.assign(bound, 0xEE);
      return space.data();
    }
  };
  for (auto codec : kCodecs) {
    for (std::size_t n : {0u, 100u, 65536u, 65537u, 300000u}) {
      const bytes in = sample(n, static_cast<std::uint32_t>(n) + 7);
      marked_output out;
      std::size_t written = 1234;
      ASSERT_FALSE(kp::compress(codec, in, out, written)) << kp::compression_name(codec);
      EXPECT_LE(out.calls, 1);
      EXPECT_LE(written, out.asked);
      const bytes packed(out.space.begin(),
                         out.space.begin() + static_cast<std::ptrdiff_t>(written));
      EXPECT_EQ(packed, compressed(codec, in)) << kp::compression_name(codec) << " " << n;
    }
  }
  marked_output out;
  std::size_t written = 99;
  EXPECT_EQ(kp::compress(kp::compression::gzip, sample(1000), out, written, 42),
            kp::errc::compression_failed);
  EXPECT_EQ(written, 0u);
}

TEST(Compression, LevelsArePassedThrough) {
  const bytes in = sample(200000);
  for (auto [codec, level] : {std::pair{kp::compression::gzip, 1},
                              {kp::compression::gzip, 9},
                              {kp::compression::lz4, 1},
                              {kp::compression::lz4, 9},
                              {kp::compression::zstd, -5},
                              {kp::compression::zstd, 19}}) {
    bytes packed = compressed(codec, in, level), out;
    ASSERT_FALSE(kp::decompress(codec, packed, out, in.size()));
    EXPECT_EQ(out, in);
  }
  EXPECT_LT(compressed(kp::compression::zstd, in, 19).size(),
            compressed(kp::compression::zstd, in, -5).size());
  bytes out = {1, 2};
  EXPECT_EQ(kp::compress(kp::compression::gzip, in, out, 42), kp::errc::compression_failed);
  EXPECT_EQ(out, (bytes{1, 2}));
}

TEST(Compression, UnknownCodecIsATypedError) {
  bytes out;
  const auto bogus = static_cast<kp::compression>(5);
  EXPECT_EQ(kp::compress(bogus, sample(10), out), kp::errc::unknown_compression);
  EXPECT_EQ(kp::decompress(bogus, sample(10), out, 100), kp::errc::unknown_compression);
}

TEST(Compression, WireHeadersMatchWhatKafkaWrites) {
  const bytes in = sample(1000);
  bytes gz = compressed(kp::compression::gzip, in);
  EXPECT_EQ(gz[0], 0x1f);  // gzip, not a zlib stream
  EXPECT_EQ(gz[1], 0x8b);
  bytes lz = compressed(kp::compression::lz4, in);
  ASSERT_GE(lz.size(), 7u);
  EXPECT_EQ(bytes(lz.begin(), lz.begin() + 4), (bytes{0x04, 0x22, 0x4D, 0x18}));  // frame magic
  EXPECT_EQ(lz[4] & 0xE0, 0x60) << "version 01 and independent blocks";
  EXPECT_EQ(lz[5], 0x40) << "64 KiB maximum block size";
  bytes zs = compressed(kp::compression::zstd, in);
  EXPECT_EQ(bytes(zs.begin(), zs.begin() + 4), (bytes{0x28, 0xB5, 0x2F, 0xFD}));
}

TEST(Compression, SnappyWritesXerialFramingLikeTheJavaClient) {
  // snappy-java's SnappyOutputStream output for "foobar\n": magic, version 1, compatible
  // version 1, one block of 9 bytes (a raw snappy block: length 7, literal of 7 bytes).
  const bytes expected = {0x82, 'S',  'N', 'A', 'P', 'P', 'Y', 0x00, 0,   0,
                          0,    1,    0,   0,   0,   1,   0,   0,    0,   9,
                          0x07, 0x18, 'f', 'o', 'o', 'b', 'a', 'r',  '\n'};
  EXPECT_EQ(compressed(kp::compression::snappy, from_string("foobar\n")), expected);
  bytes out;
  ASSERT_FALSE(kp::decompress(kp::compression::snappy, expected, out, 100));
  EXPECT_EQ(out, from_string("foobar\n"));
  // A bare raw snappy block decodes too.
  const bytes raw(expected.begin() + 20, expected.end());
  out.clear();
  ASSERT_FALSE(kp::decompress(kp::compression::snappy, raw, out, 100));
  EXPECT_EQ(out, from_string("foobar\n"));
  // Large inputs are split into 32 KiB blocks.
  const bytes in = sample(100000);
  bytes packed = compressed(kp::compression::snappy, in);
  std::size_t blocks = 0;
  for (std::size_t at = 16; at < packed.size(); ++blocks) {
    at += 4 + ((std::size_t{packed[at]} << 24) | (std::size_t{packed[at + 1]} << 16) |
               (std::size_t{packed[at + 2]} << 8) | packed[at + 3]);
    ASSERT_LE(at, packed.size());
  }
  EXPECT_EQ(blocks, 4u);
  // An empty input is the header alone, which reads back as empty.
  bytes empty = compressed(kp::compression::snappy, {});
  EXPECT_EQ(empty.size(), 16u);
  out.clear();
  EXPECT_FALSE(kp::decompress(kp::compression::snappy, empty, out, 0));
  EXPECT_TRUE(out.empty());
}

TEST(Compression, ConcatenatedStreamsDecode) {
  const bytes a = sample(5000, 1), b = sample(7000, 2);
  for (auto codec : {kp::compression::gzip, kp::compression::lz4, kp::compression::zstd}) {
    bytes packed = compressed(codec, a), second = compressed(codec, b), out;
    packed.insert(packed.end(), second.begin(), second.end());
    ASSERT_FALSE(kp::decompress(codec, packed, out, a.size() + b.size()))
        << kp::compression_name(codec);
    bytes expected = a;
    expected.insert(expected.end(), b.begin(), b.end());
    EXPECT_EQ(out, expected);
  }
}

TEST(Compression, GarbageIsRejectedWithATypedError) {
  std::mt19937 rng(7);
  for (auto codec : kRealCodecs) {
    for (int trial = 0; trial < 200; ++trial) {
      bytes junk(rng() % 300);
      for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
      bytes out = {9};
      auto ec = kp::decompress(codec, junk, out, 1 << 20);
      if (!ec) continue;  // random bytes can be a valid raw snappy block; that's fine
      EXPECT_TRUE(ec == kp::errc::decompression_failed || ec == kp::errc::oversized)
          << ec.message();
      EXPECT_EQ(out, bytes{9}) << "output must be restored on error";
    }
    bytes out;
    EXPECT_EQ(kp::decompress(codec, from_string("definitely not compressed data"), out, 1 << 20),
              kp::errc::decompression_failed)
        << kp::compression_name(codec);
    EXPECT_EQ(kp::decompress(codec, {}, out, 1 << 20), kp::errc::decompression_failed)
        << kp::compression_name(codec);
  }
}

TEST(Compression, TruncatedStreamsAreRejected) {
  const bytes in = sample(20000);
  for (auto codec : kRealCodecs) {
    const bytes packed = compressed(codec, in);
    for (std::size_t n = 0; n < packed.size(); ++n) {
      // A xerial stream cut exactly after its header is a valid, empty stream.
      if (codec == kp::compression::snappy && n == 16) continue;
      bytes out;
      auto ec = kp::decompress(codec, std::span(packed).first(n), out, in.size());
      ASSERT_TRUE(ec) << kp::compression_name(codec) << " cut at " << n;
      EXPECT_TRUE(out.empty());
    }
  }
}

TEST(Compression, TrailingGarbageIsRejected) {
  for (auto codec : {kp::compression::gzip, kp::compression::lz4, kp::compression::zstd,
                     kp::compression::snappy}) {
    bytes packed = compressed(codec, sample(1000));
    packed.push_back(0x55);
    bytes out;
    EXPECT_TRUE(kp::decompress(codec, packed, out, 1 << 20)) << kp::compression_name(codec);
  }
}

TEST(Compression, OutputLimitIsExact) {
  const bytes in = sample(100000);
  for (auto codec : kCodecs) {
    const bytes packed = compressed(codec, in);
    bytes out;
    EXPECT_FALSE(kp::decompress(codec, packed, out, in.size())) << kp::compression_name(codec);
    out.assign({1, 2, 3});
    EXPECT_EQ(kp::decompress(codec, packed, out, in.size() - 1), kp::errc::oversized)
        << kp::compression_name(codec);
    EXPECT_EQ(out, (bytes{1, 2, 3}));
    out.clear();
    EXPECT_EQ(kp::decompress(codec, packed, out, 0), kp::errc::oversized)
        << kp::compression_name(codec);
  }
}

TEST(Compression, BombsStopAtTheLimitWithoutAllocatingTheirSize) {
  // 100 MB of zeros packs into ~100 KB (gzip) or a few KB (zstd, lz4); snappy (~5 MB) and lz4
  // are checked with 16 MB to keep the test quick.
  constexpr std::size_t kLimit = 1 << 20;
  for (auto [codec, size] : {std::pair{kp::compression::gzip, std::size_t{100} << 20},
                             {kp::compression::zstd, std::size_t{100} << 20},
                             {kp::compression::lz4, std::size_t{16} << 20},
                             {kp::compression::snappy, std::size_t{16} << 20}}) {
    bytes bomb;
    {
      const bytes zeros(size, 0);
      bomb = compressed(codec, zeros,
                        codec == kp::compression::gzip ? 1 : kp::default_compression_level);
    }
    bytes out;
    EXPECT_EQ(kp::decompress(codec, bomb, out, kLimit), kp::errc::oversized)
        << kp::compression_name(codec);
    EXPECT_TRUE(out.empty());
    EXPECT_LE(out.capacity(), 2 * kLimit) << kp::compression_name(codec);
  }
}

namespace {

// An lz4 frame with the given layout, written by liblz4 itself (not by kwire's compressor).
bytes lz4_frame(const bytes& in, LZ4F_blockSizeID_t block_size, bool block_checksums,
                bool content_size_and_checksum) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = block_size;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.blockChecksumFlag =
      block_checksums ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum;
  prefs.frameInfo.contentChecksumFlag =
      content_size_and_checksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
  prefs.frameInfo.contentSize = content_size_and_checksum ? in.size() : 0;
  bytes out(LZ4F_compressFrameBound(in.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

}  // namespace

TEST(Compression, Lz4SizeBoundCoversEveryFrameLayoutAndDecodesInPlace) {
  // Random bytes do not compress: liblz4 stores such blocks as they are.
  std::mt19937 rng(3);
  bytes random(200000);
  for (auto& b : random) b = static_cast<std::uint8_t>(rng());
  for (const bytes& in :
       {sample(1), sample(1000), sample(65536), sample(65537), sample(700000), random}) {
    for (auto [block, block_bytes] : {std::pair{LZ4F_max64KB, std::size_t{64} << 10},
                                      {LZ4F_max256KB, std::size_t{256} << 10},
                                      {LZ4F_max4MB, std::size_t{4} << 20}}) {
      for (bool block_checksums : {false, true}) {
        for (bool content : {false, true}) {
          const bytes packed = lz4_frame(in, block, block_checksums, content);
          const auto bound = kp::decompressed_size_bound(kp::compression::lz4, packed);
          ASSERT_TRUE(bound) << in.size() << " bytes, block id " << block;
          EXPECT_GE(*bound, in.size());
          // At most one block's worth of slack (the last block's unused room).
          EXPECT_LT(*bound, in.size() + block_bytes);
          bytes out(*bound + 3, 0xEE);
          std::size_t written = 0;
          ASSERT_FALSE(kp::decompress_into(kp::compression::lz4, packed,
                                           std::span(out).first(*bound), written));
          EXPECT_EQ(written, in.size());
          EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin()));
          EXPECT_EQ(out[*bound], 0xEE) << "wrote past the bound";
          if (in.size() < 2) continue;
          EXPECT_EQ(kp::decompress_into(kp::compression::lz4, packed,
                                        std::span(out).first(in.size() - 1), written),
                    kp::errc::oversized);
        }
      }
    }
  }
}

TEST(Compression, Lz4SizeBoundOfConcatenatedFramesAndBadFraming) {
  const bytes a = sample(5000, 1), b = sample(70000, 2);
  bytes packed = compressed(kp::compression::lz4, a), second = compressed(kp::compression::lz4, b);
  packed.insert(packed.end(), second.begin(), second.end());
  const auto bound = kp::decompressed_size_bound(kp::compression::lz4, packed);
  ASSERT_TRUE(bound);
  EXPECT_GE(*bound, a.size() + b.size());
  bytes out(*bound);
  std::size_t written = 0;
  ASSERT_FALSE(kp::decompress_into(kp::compression::lz4, packed, out, written));
  out.resize(written);
  bytes expected = a;
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(out, expected);

  // Framing that does not parse has no bound (decompress() then reports the error).
  EXPECT_FALSE(kp::decompressed_size_bound(kp::compression::lz4, {}));
  EXPECT_FALSE(kp::decompressed_size_bound(kp::compression::lz4, from_string("not an lz4 frame")));
  for (std::size_t n = 0; n < second.size(); ++n)
    EXPECT_FALSE(kp::decompressed_size_bound(kp::compression::lz4, std::span(second).first(n)))
        << "cut at " << n;
  // Other codecs say nothing, and decompress_into refuses them.
  for (auto codec : {kp::compression::gzip, kp::compression::snappy, kp::compression::zstd}) {
    const bytes c = compressed(codec, a);
    EXPECT_FALSE(kp::decompressed_size_bound(codec, c)) << kp::compression_name(codec);
    EXPECT_EQ(kp::decompress_into(codec, c, out, written), kp::errc::unknown_compression);
  }
}

TEST(Compression, Lz4DecompressIntoRejectsCorruptAndTruncatedData) {
  const bytes in = sample(100000);
  const bytes packed = compressed(kp::compression::lz4, in);
  bytes out(in.size() + (64 << 10));
  std::size_t written = 0;
  for (std::size_t n = 0; n < packed.size(); n += 97)
    EXPECT_TRUE(kp::decompress_into(kp::compression::lz4, std::span(packed).first(n), out, written))
        << "cut at " << n;
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    bytes bad = packed;
    bad[7 + rng() % (bad.size() - 7)] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    // A flipped byte may still decode (a literal); it must never write past `out`.
    if (auto ec = kp::decompress_into(kp::compression::lz4, bad, out, written)) {
      EXPECT_TRUE(ec == kp::errc::decompression_failed || ec == kp::errc::oversized)
          << ec.message();
    } else {
      EXPECT_LE(written, out.size());
    }
  }
}
