// Record batch codecs on top of zlib, snappy, lz4 (frame API) and zstd (streaming API).
#include "kwire/protocol/compression.hpp"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>

#include "kwire/protocol/errors.hpp"

namespace kwire::protocol {
namespace {

// Kafka batches are int32-sized; larger inputs also would not fit zlib's 32-bit counters.
constexpr std::size_t kMaxInput =
    static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper (not zlib's)
constexpr int kGzipMemLevel = 8;
constexpr int kLz4DefaultLevel = 0;  // fast compressor, as Kafka uses by default
constexpr int kZstdDefaultLevel = 3;

constexpr std::array<std::uint8_t, 8> kXerialMagic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t kXerialHeaderSize = 16;  // magic, int32 version, int32 compatible version
constexpr std::int32_t kXerialVersion = 1;
constexpr std::size_t kXerialBlockSize = 32 * 1024;  // snappy-java's default block size

void put_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}
std::uint32_t get_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// Undoes a failed append: `out` goes back to the size it had on entry.
class append_guard {
 public:
  explicit append_guard(std::vector<std::uint8_t>& out) noexcept : out_(out), base_(out.size()) {}
  ~append_guard() {
    if (!committed_) out_.resize(base_);
  }
  append_guard(const append_guard&) = delete;
  append_guard& operator=(const append_guard&) = delete;
  std::size_t base() const noexcept { return base_; }
  std::error_code commit(std::size_t appended) noexcept {
    out_.resize(base_ + appended);
    committed_ = true;
    return {};
  }

 private:
  std::vector<std::uint8_t>& out_;
  std::size_t base_;
  bool committed_ = false;
};

// Output space for a streaming decoder that never holds more than `limit` decoded bytes.
// Space grows geometrically (by exact reserve, so capacity stays close to what is used);
// once the limit is reached, room() hands out a one-byte probe: a decoder that still
// writes into it has more output than allowed.
class bounded_output {
 public:
  bounded_output(std::vector<std::uint8_t>& out, std::size_t base, std::size_t limit,
                 std::size_t size_hint)
      : out_(out),
        base_(base),
        limit_(limit),
        next_grow_(std::clamp<std::size_t>(size_hint, 4096, 1 << 20)) {}

  std::span<std::uint8_t> room() {
    if (written_ == allocated_ && allocated_ < limit_) grow();
    if (written_ == allocated_) return {probe_.data(), probe_.size()};
    return {out_.data() + base_ + written_, allocated_ - written_};
  }
  void commit(std::size_t n) noexcept {
    if (written_ < allocated_) {
      written_ += n;
    } else {
      overflowed_ |= n > 0;  // the decoder wrote into the probe
    }
  }
  bool overflowed() const noexcept { return overflowed_; }
  std::size_t written() const noexcept { return written_; }

 private:
  void grow() {
    std::size_t step = std::min(next_grow_, limit_ - allocated_);
    allocated_ += step;
    next_grow_ = allocated_;  // doubles the total each time
    if (out_.capacity() < base_ + allocated_) out_.reserve(base_ + allocated_);
    out_.resize(base_ + allocated_);
  }

  std::vector<std::uint8_t>& out_;
  std::size_t base_;
  std::size_t limit_;
  std::size_t next_grow_;
  std::size_t allocated_ = 0;
  std::size_t written_ = 0;
  bool overflowed_ = false;
  std::array<std::uint8_t, 1> probe_{};
};

// ---- gzip ---------------------------------------------------------------------------------

std::error_code gzip_compress(std::span<const std::uint8_t> in, compress_output& out,
                              std::size_t& written, int level) {
  if (level == default_compression_level) level = Z_DEFAULT_COMPRESSION;
  z_stream zs{};
  const int rc =
      deflateInit2(&zs, level, Z_DEFLATED, kGzipWindowBits, kGzipMemLevel, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK) return errc::compression_failed;
  std::unique_ptr<z_stream, int (*)(z_stream*)> cleanup(&zs, deflateEnd);
  const std::size_t bound = deflateBound(&zs, static_cast<uLong>(in.size()));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.room(bound);
  zs.avail_out = static_cast<uInt>(bound);
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return errc::compression_failed;
  written = bound - zs.avail_out;
  return {};
}

std::error_code gzip_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                                std::size_t max_output) {
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) return errc::decompression_failed;
  std::unique_ptr<z_stream, int (*)(z_stream*)> cleanup(&zs, inflateEnd);
  append_guard guard(out);
  bounded_output sink(out, guard.base(), max_output, in.size() * 4);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    std::span<std::uint8_t> room = sink.room();
    zs.next_out = room.data();
    zs.avail_out = static_cast<uInt>(std::min<std::size_t>(room.size(), 1u << 30));
    const uInt offered = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    sink.commit(offered - zs.avail_out);
    if (sink.overflowed()) return errc::oversized;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (concatenated streams are valid gzip).
      if (inflateReset(&zs) != Z_OK) return errc::decompression_failed;
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) return errc::decompression_failed;  // truncated
    if (rc != Z_OK && rc != Z_BUF_ERROR) return errc::decompression_failed;
  }
  return guard.commit(sink.written());
}

// ---- snappy -------------------------------------------------------------------------------

std::error_code snappy_compress(std::span<const std::uint8_t> in, compress_output& out,
                                std::size_t& written) {
  const std::size_t blocks = (in.size() + kXerialBlockSize - 1) / kXerialBlockSize;
  std::uint8_t* const start =
      out.room(kXerialHeaderSize + blocks * (4 + snappy::MaxCompressedLength(kXerialBlockSize)));
  std::uint8_t* p = start;
  std::memcpy(p, kXerialMagic.data(), kXerialMagic.size());
  put_be32(p + 8, kXerialVersion);
  put_be32(p + 12, kXerialVersion);  // compatible version
  p += kXerialHeaderSize;
  for (std::size_t at = 0; at < in.size(); at += kXerialBlockSize) {
    const std::size_t chunk = std::min(kXerialBlockSize, in.size() - at);
    std::size_t compressed = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + at), chunk,
                        reinterpret_cast<char*>(p + 4), &compressed);
    put_be32(p, static_cast<std::uint32_t>(compressed));
    p += 4 + compressed;
  }
  written = static_cast<std::size_t>(p - start);
  return {};
}

// One raw snappy block appended to out; `budget` is what max_output still allows.
std::error_code snappy_raw_block(std::span<const std::uint8_t> block,
                                 std::vector<std::uint8_t>& out, std::size_t& budget) {
  const char* src = reinterpret_cast<const char*>(block.data());
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(src, block.size(), &length)) return errc::decompression_failed;
  if (length > budget) return errc::oversized;
  const std::size_t at = out.size();
  if (out.capacity() < at + length) out.reserve(at + length);  // exact: no 2x overshoot
  out.resize(at + length);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at)))
    return errc::decompression_failed;
  budget -= length;
  return {};
}

std::error_code snappy_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                                  std::size_t max_output) {
  append_guard guard(out);
  std::size_t budget = max_output;
  const bool xerial = in.size() >= kXerialMagic.size() &&
                      std::memcmp(in.data(), kXerialMagic.data(), kXerialMagic.size()) == 0;
  if (!xerial) {
    if (auto ec = snappy_raw_block(in, out, budget)) return ec;
    return guard.commit(max_output - budget);
  }
  if (in.size() < kXerialHeaderSize) return errc::decompression_failed;
  // First pass: split into blocks and add up their declared sizes, so that the output is
  // checked against the limit and allocated once.
  std::size_t total = 0;
  std::span<const std::uint8_t> rest = in.subspan(kXerialHeaderSize);
  while (!rest.empty()) {
    if (rest.size() < 4) return errc::decompression_failed;
    const std::size_t length = get_be32(rest.data());
    if (length > rest.size() - 4) return errc::decompression_failed;
    std::size_t block_output = 0;
    if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(rest.data() + 4), length,
                                       &block_output))
      return errc::decompression_failed;
    if (block_output > max_output - total) return errc::oversized;
    total += block_output;
    rest = rest.subspan(4 + length);
  }
  out.reserve(guard.base() + total);
  rest = in.subspan(kXerialHeaderSize);
  while (!rest.empty()) {
    const std::size_t length = get_be32(rest.data());
    if (auto ec = snappy_raw_block(rest.subspan(4, length), out, budget)) return ec;
    rest = rest.subspan(4 + length);
  }
  return guard.commit(max_output - budget);
}

// ---- lz4 ----------------------------------------------------------------------------------

// Kafka's lz4 frame settings, those of librdkafka and Java too: 64 KiB independent blocks, no
// checksums beyond the header's, no content size.
LZ4F_preferences_t lz4_preferences(int level) noexcept {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.compressionLevel = level == default_compression_level ? kLz4DefaultLevel : level;
  prefs.autoFlush = 1;  // as LZ4F_compressFrame does: no input held back between calls
  return prefs;
}

std::error_code lz4_compress(std::span<const std::uint8_t> in, compress_output& out,
                             std::size_t& written, int level) {
  const LZ4F_preferences_t prefs = lz4_preferences(level);
  const std::size_t bound = LZ4F_compressFrameBound(in.size(), &prefs);
  const std::size_t n = LZ4F_compressFrame(out.room(bound), bound, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return errc::compression_failed;
  written = n;
  return {};
}

}  // namespace

struct lz4_frame_stream::context {
  LZ4F_cctx* cctx = nullptr;
  LZ4F_preferences_t prefs{};
};

lz4_frame_stream::~lz4_frame_stream() {
  if (!context_) return;
  LZ4F_freeCompressionContext(context_->cctx);
  delete context_;
}

std::size_t lz4_frame_stream::update_bound(std::size_t input) noexcept {
  const LZ4F_preferences_t prefs = lz4_preferences(default_compression_level);
  return LZ4F_compressBound(input, &prefs);
}

std::error_code lz4_frame_stream::begin(int level, std::span<std::uint8_t> out,
                                        std::size_t& written) {
  written = 0;
  if (!context_) {
    auto made = std::make_unique<context>();
    if (LZ4F_isError(LZ4F_createCompressionContext(&made->cctx, LZ4F_VERSION)))
      return errc::compression_failed;
    context_ = made.release();
  }
  context_->prefs = lz4_preferences(level);
  const std::size_t n =
      LZ4F_compressBegin(context_->cctx, out.data(), out.size(), &context_->prefs);
  if (LZ4F_isError(n)) return errc::compression_failed;
  written = n;
  return {};
}

std::error_code lz4_frame_stream::update(std::span<const std::uint8_t> in,
                                         std::span<std::uint8_t> out, std::size_t& written) {
  written = 0;
  if (!context_) return errc::compression_failed;
  if (in.empty()) return {};
  const std::size_t n =
      LZ4F_compressUpdate(context_->cctx, out.data(), out.size(), in.data(), in.size(), nullptr);
  if (LZ4F_isError(n)) return errc::compression_failed;
  written = n;
  return {};
}

std::error_code lz4_frame_stream::end(std::span<std::uint8_t> out, std::size_t& written) {
  written = 0;
  if (!context_) return errc::compression_failed;
  const std::size_t n = LZ4F_compressEnd(context_->cctx, out.data(), out.size(), nullptr);
  if (LZ4F_isError(n)) return errc::compression_failed;
  written = n;
  // The context (with LZ4's 16 KiB stream state) lives while a frame is open only: a
  // producer pools thousands of finished batches, and each kept it before.
  LZ4F_freeCompressionContext(context_->cctx);
  delete context_;
  context_ = nullptr;
  return {};
}

namespace {

std::error_code lz4_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                               std::size_t max_output) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION)))
    return errc::decompression_failed;
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw_ctx,
                                                                   LZ4F_freeDecompressionContext);
  append_guard guard(out);
  bounded_output sink(out, guard.base(), max_output, in.size() * 4);
  const std::uint8_t* src = in.data();
  std::size_t src_left = in.size();
  if (src_left == 0) return errc::decompression_failed;
  for (;;) {
    std::span<std::uint8_t> room = sink.room();
    std::size_t produced = room.size();
    std::size_t consumed = src_left;
    const std::size_t hint =
        LZ4F_decompress(ctx.get(), room.data(), &produced, src, &consumed, nullptr);
    if (LZ4F_isError(hint)) return errc::decompression_failed;
    sink.commit(produced);
    if (sink.overflowed()) return errc::oversized;
    src += consumed;
    src_left -= consumed;
    if (hint == 0 && src_left == 0) break;  // frame complete, nothing follows
    if (consumed == 0 && produced == 0) return errc::decompression_failed;  // stuck
    // Input used up mid-frame with space left over: the frame is truncated.
    if (src_left == 0 && produced < room.size()) return errc::decompression_failed;
  }
  return guard.commit(sink.written());
}

std::uint32_t get_le32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

// Walks the frames and block headers of lz4 frame data (no decoding) and adds up the most
// each block can hold: a compressed block at most its frame's block maximum, a stored block
// exactly its size. nullopt when the framing does not parse.
std::optional<std::size_t> lz4_size_bound(std::span<const std::uint8_t> in) noexcept {
  constexpr std::uint32_t kFrameMagic = 0x184D2204;
  constexpr std::uint32_t kSkippableMagic = 0x184D2A50;  // low 4 bits free
  constexpr std::uint32_t kStoredBlock = 0x80000000u;
  std::size_t bound = 0;
  std::size_t pos = 0;
  auto left = [&] { return in.size() - pos; };
  if (in.empty()) return std::nullopt;
  while (pos < in.size()) {
    if (left() < 8) return std::nullopt;
    const std::uint32_t magic = get_le32(in.data() + pos);
    if ((magic & 0xFFFFFFF0u) == kSkippableMagic) {
      const std::size_t skip = get_le32(in.data() + pos + 4);
      if (skip > left() - 8) return std::nullopt;
      pos += 8 + skip;
      continue;
    }
    if (magic != kFrameMagic) return std::nullopt;
    const std::uint8_t flags = in[pos + 4];
    const std::uint8_t block_descriptor = in[pos + 5];
    const unsigned size_id = (block_descriptor >> 4) & 7;
    if ((flags >> 6) != 1 || size_id < 4) return std::nullopt;
    const std::size_t block_max = std::size_t{1} << (8 + 2 * size_id);  // 64 KiB .. 4 MiB
    const bool block_checksums = flags & 0x10;
    const bool content_checksum = flags & 0x04;
    // magic, FLG, BD, content size (8), dictionary id (4), header checksum
    pos += 4 + 2 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0) + 1;
    for (;;) {
      if (left() < 4) return std::nullopt;
      const std::uint32_t word = get_le32(in.data() + pos);
      pos += 4;
      if (word == 0) break;  // the end mark
      const std::size_t size = word & ~kStoredBlock;
      if (size > block_max || size + (block_checksums ? 4 : 0) > left()) return std::nullopt;
      bound += (word & kStoredBlock) ? size : block_max;
      pos += size + (block_checksums ? 4 : 0);
    }
    if (content_checksum) {
      if (left() < 4) return std::nullopt;
      pos += 4;
    }
  }
  return bound;
}

// Into memory of a known size: every block is decoded in place (no staging copy), since
// `out` holds at least the block maximum before each block when it holds the bound.
std::error_code lz4_decompress_into(std::span<const std::uint8_t> in, std::span<std::uint8_t> out,
                                    std::size_t& written) {
  LZ4F_dctx* raw_ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_ctx, LZ4F_VERSION)))
    return errc::decompression_failed;
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> ctx(raw_ctx,
                                                                   LZ4F_freeDecompressionContext);
  LZ4F_decompressOptions_t options{};
  options.stableDst = 1;  // earlier output stays where it is: no copies for linked blocks
  const std::uint8_t* src = in.data();
  std::size_t src_left = in.size();
  written = 0;
  for (;;) {
    std::size_t produced = out.size() - written;
    std::size_t consumed = src_left;
    const std::size_t hint =
        LZ4F_decompress(ctx.get(), out.data() + written, &produced, src, &consumed, &options);
    if (LZ4F_isError(hint)) return errc::decompression_failed;
    written += produced;
    src += consumed;
    src_left -= consumed;
    if (hint == 0 && src_left == 0) return {};  // frame complete, nothing follows
    // Input used up mid-frame, or no progress: `out` is full, or the data are truncated.
    if (src_left == 0 || (consumed == 0 && produced == 0))
      return written == out.size() ? errc::oversized : errc::decompression_failed;
  }
}

// ---- zstd ---------------------------------------------------------------------------------

std::error_code zstd_compress(std::span<const std::uint8_t> in, compress_output& out,
                              std::size_t& written, int level) {
  std::unique_ptr<ZSTD_CCtx, std::size_t (*)(ZSTD_CCtx*)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!ctx) return errc::compression_failed;
  const std::size_t bound = ZSTD_compressBound(in.size());
  const std::size_t n =
      ZSTD_compressCCtx(ctx.get(), out.room(bound), bound, in.data(), in.size(),
                        level == default_compression_level ? kZstdDefaultLevel : level);
  if (ZSTD_isError(n)) return errc::compression_failed;
  written = n;
  return {};
}

std::error_code zstd_decompress(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                                std::size_t max_output) {
  std::unique_ptr<ZSTD_DCtx, std::size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return errc::decompression_failed;
  append_guard guard(out);
  // A declared content size, when present and plausible, sizes the output in one step.
  std::size_t hint = in.size() * 4;
  const unsigned long long declared = ZSTD_getFrameContentSize(in.data(), in.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
      declared <= max_output)
    hint = static_cast<std::size_t>(declared);
  bounded_output sink(out, guard.base(), max_output, hint);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  if (in.empty()) return errc::decompression_failed;
  for (;;) {
    std::span<std::uint8_t> room = sink.room();
    ZSTD_outBuffer output{room.data(), room.size(), 0};
    const std::size_t consumed_before = input.pos;
    const std::size_t remaining_hint = ZSTD_decompressStream(ctx.get(), &output, &input);
    if (ZSTD_isError(remaining_hint)) return errc::decompression_failed;
    sink.commit(output.pos);
    if (sink.overflowed()) return errc::oversized;
    const bool input_done = input.pos == input.size;
    if (remaining_hint == 0 && input_done) break;  // last frame complete and flushed
    if (output.pos == 0 && input.pos == consumed_before)
      return errc::decompression_failed;                                            // stuck
    if (input_done && output.pos < output.size) return errc::decompression_failed;  // truncated
  }
  return guard.commit(sink.written());
}

std::error_code copy_bounded(std::span<const std::uint8_t> in, std::vector<std::uint8_t>& out,
                             std::size_t max_output) {
  if (in.size() > max_output) return errc::oversized;
  out.insert(out.end(), in.begin(), in.end());
  return {};
}

}  // namespace

std::string_view compression_name(compression codec) noexcept {
  switch (codec) {
    case compression::none:
      return "none";
    case compression::gzip:
      return "gzip";
    case compression::snappy:
      return "snappy";
    case compression::lz4:
      return "lz4";
    case compression::zstd:
      return "zstd";
  }
  return "unknown";
}

std::optional<compression> parse_compression(std::string_view name) noexcept {
  for (auto codec : {compression::none, compression::gzip, compression::snappy, compression::lz4,
                     compression::zstd})
    if (name == compression_name(codec)) return codec;
  return std::nullopt;
}

std::error_code compress(compression codec, std::span<const std::uint8_t> in, compress_output& out,
                         std::size_t& written, int level) {
  written = 0;
  if (in.size() > kMaxInput) return errc::oversized;
  switch (codec) {
    case compression::none:
      if (!in.empty()) std::memcpy(out.room(in.size()), in.data(), in.size());
      written = in.size();
      return {};
    case compression::gzip:
      return gzip_compress(in, out, written, level);
    case compression::snappy:
      return snappy_compress(in, out, written);
    case compression::lz4:
      return lz4_compress(in, out, written, level);
    case compression::zstd:
      return zstd_compress(in, out, written, level);
  }
  return errc::unknown_compression;
}

std::optional<std::size_t> decompressed_size_bound(compression codec,
                                                   std::span<const std::uint8_t> in) noexcept {
  if (codec == compression::lz4) return lz4_size_bound(in);
  return std::nullopt;
}

std::error_code decompress_into(compression codec, std::span<const std::uint8_t> in,
                                std::span<std::uint8_t> out, std::size_t& written) {
  written = 0;
  if (in.size() > kMaxInput) return errc::oversized;
  if (codec == compression::lz4) return lz4_decompress_into(in, out, written);
  return errc::unknown_compression;
}

std::error_code compress(compression codec, std::span<const std::uint8_t> in,
                         std::vector<std::uint8_t>& out, int level) {
  // Space from the vector's end (zero-filled by resize; callers that compress often and
  // want to skip that use their own compress_output).
  class vector_output final : public compress_output {
   public:
    vector_output(std::vector<std::uint8_t>& v, std::size_t base) : v_(v), base_(base) {}
    std::uint8_t* room(std::size_t bound) override {
      v_.resize(base_ + bound);
      return v_.data() + base_;
    }

   private:
    std::vector<std::uint8_t>& v_;
    std::size_t base_;
  };
  append_guard guard(out);
  vector_output room(out, guard.base());
  std::size_t written = 0;
  if (auto ec = compress(codec, in, room, written, level)) return ec;
  return guard.commit(written);
}

std::error_code decompress(compression codec, std::span<const std::uint8_t> in,
                           std::vector<std::uint8_t>& out, std::size_t max_output) {
  if (in.size() > kMaxInput) return errc::oversized;
  switch (codec) {
    case compression::none:
      return copy_bounded(in, out, max_output);
    case compression::gzip:
      return gzip_decompress(in, out, max_output);
    case compression::snappy:
      return snappy_decompress(in, out, max_output);
    case compression::lz4:
      return lz4_decompress(in, out, max_output);
    case compression::zstd:
      return zstd_decompress(in, out, max_output);
  }
  return errc::unknown_compression;
}

}  // namespace kwire::protocol
