// The codecs of Kafka record batches (attributes bits 0-2) over whole buffers.
//
// Wire formats, as the Java client writes and reads them:
//  - gzip:   a gzip stream (RFC 1952), zlib's deflate.
//  - snappy: xerial framing: the 16-byte header 82 'S' 'N' 'A' 'P' 'P' 'Y' 00, int32 version
//            1, int32 compatible version 1, then blocks of at most 32 KiB of input, each a
//            big-endian int32 length and a raw snappy block. Reading also accepts a bare
//            raw snappy block (what some other clients write).
//  - lz4:    the LZ4 *frame* format, 64 KiB independent blocks (Kafka's Java reader
//            decompresses every block on its own, so linked blocks must not be written).
//  - zstd:   a zstd frame; reading is streaming, so frames without a content size work.
// Decompression accepts concatenated gzip members and lz4/zstd frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace kwire::protocol {

enum class compression : std::uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// "none", "gzip", "snappy", "lz4", "zstd"; an id outside 0..4 gives "unknown".
std::string_view compression_name(compression codec) noexcept;
// The codec of one of those names (exact, lower case), or nullopt.
std::optional<compression> parse_compression(std::string_view name) noexcept;

// Asks for each codec's usual level: gzip 6, lz4 the fast (non-HC) compressor, zstd 3.
inline constexpr int default_compression_level = std::numeric_limits<int>::min();

// Compresses `in` and appends the result to `out`. Levels are the codecs' own (gzip 0-9,
// lz4 < 3 fast and 3-12 HC, zstd up to 22 and negative for faster); snappy has none.
// Errors: unknown_compression, oversized (input above 2 GiB - 1, beyond any record batch),
// compression_failed (e.g. a gzip level outside -1..9). On error `out` is left as it was.
std::error_code compress(compression codec, std::span<const std::uint8_t> in,
                         std::vector<std::uint8_t>& out, int level = default_compression_level);

// Where the other compress() writes: room(bound) is asked once, before compressing, for
// space of at least `bound` bytes (the codec's worst case), which must stay valid until
// compress() returns. Lets a caller reuse a buffer without zero-filling the worst case on
// every call, as std::vector::resize would.
class compress_output {
 public:
  virtual std::uint8_t* room(std::size_t bound) = 0;

 protected:
  ~compress_output() = default;
};

// compress() into `out`; `written` gets the compressed size (0 on error). Same errors.
std::error_code compress(compression codec, std::span<const std::uint8_t> in, compress_output& out,
                         std::size_t& written, int level = default_compression_level);

// One lz4 frame written a piece at a time, with the settings compress(lz4) uses: a batch
// can be compressed block by block while it fills, while each block is still in cache.
// Feeding update() whole multiples of block_size, then the rest, gives exactly the bytes
// compress(compression::lz4, all of it) gives. The context (LZ4's stream state, 16 KiB) is
// made by begin() and freed by end().
class lz4_frame_stream {
 public:
  static constexpr std::size_t block_size = 64 * 1024;
  // Most bytes the frame header (begin) takes.
  static constexpr std::size_t header_bound = 19;

  lz4_frame_stream() noexcept = default;
  ~lz4_frame_stream();
  lz4_frame_stream(const lz4_frame_stream&) = delete;
  lz4_frame_stream& operator=(const lz4_frame_stream&) = delete;
  lz4_frame_stream(lz4_frame_stream&& other) noexcept : context_(other.context_) {
    other.context_ = nullptr;
  }
  lz4_frame_stream& operator=(lz4_frame_stream&& other) noexcept {
    std::swap(context_, other.context_);
    return *this;
  }

  // Most bytes update() may write for `input` bytes (end() included).
  static std::size_t update_bound(std::size_t input) noexcept;

  // Each writes into `out` (which must hold header_bound, update_bound(in.size()), or
  // update_bound(0) bytes) and sets `written`. Errors: compression_failed.
  std::error_code begin(int level, std::span<std::uint8_t> out, std::size_t& written);
  std::error_code update(std::span<const std::uint8_t> in, std::span<std::uint8_t> out,
                         std::size_t& written);
  std::error_code end(std::span<std::uint8_t> out, std::size_t& written);

 private:
  struct context;
  context* context_ = nullptr;  // LZ4F's compression context, made by the first begin()
};

// Decompresses `in` and appends the result to `out`, appending at most `max_output` bytes:
// data that would decompress to more fails with errc::oversized once the limit is reached,
// having allocated no more than about max_output bytes (the defence against decompression
// bombs). zstd may in addition allocate its window, which it caps at 128 MiB.
// Errors: unknown_compression, oversized, decompression_failed (corrupt, truncated or
// trailing data). On error `out` is left as it was.
std::error_code decompress(compression codec, std::span<const std::uint8_t> in,
                           std::vector<std::uint8_t>& out, std::size_t max_output);

// The most `in` can decompress to, read from the codec's framing alone (no decoding), for
// the codecs whose framing says: lz4 (each block at most its frame's block maximum).
// nullopt for the other codecs and for lz4 data whose framing does not parse.
std::optional<std::size_t> decompressed_size_bound(compression codec,
                                                   std::span<const std::uint8_t> in) noexcept;

// Decompresses `in` into `out` (no allocation of the output, no zero fill), for a codec
// with a size bound; `out` should hold the bound. `written` gets the bytes written.
// Errors: unknown_compression (a codec without a bound), oversized (`out` is too small),
// decompression_failed (corrupt, truncated or trailing data).
std::error_code decompress_into(compression codec, std::span<const std::uint8_t> in,
                                std::span<std::uint8_t> out, std::size_t& written);

}  // namespace kwire::protocol
