// Byte-level reading and writing of Kafka's wire types: big-endian integers, unsigned
// varints (compact lengths), zig-zag varints/varlongs (records), UUIDs and raw bytes.
// No I/O: a reader walks a caller-owned buffer, a writer appends to a caller-owned vector.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/errors.hpp"

namespace kwire::protocol {

struct uuid {
  std::array<std::uint8_t, 16> bytes{};
  bool is_zero() const noexcept {
    for (auto b : bytes)
      if (b != 0) return false;
    return true;
  }
  bool operator==(const uuid&) const = default;
};

// A non-owning view of bytes that compares by content. `records` fields use it so that a
// decoded FetchResponse refers into the received frame and a ProduceRequest refers to
// batches the accumulator owns: the owner must outlive the message.
struct byte_view {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;

  byte_view() = default;
  byte_view(const std::uint8_t* d, std::size_t n) noexcept : data(d), size(n) {}
  byte_view(std::span<const std::uint8_t> s) noexcept : data(s.data()), size(s.size()) {}
  std::span<const std::uint8_t> span() const noexcept { return {data, size}; }
  bool empty() const noexcept { return size == 0; }
  friend bool operator==(const byte_view& a, const byte_view& b) noexcept {
    return a.size == b.size && (a.size == 0 || std::memcmp(a.data, b.data, a.size) == 0);
  }
};

// A tagged field this version of kwire does not know: kept on decode, written back on encode.
struct tagged_field {
  std::uint32_t tag = 0;
  std::vector<std::uint8_t> data;
  bool operator==(const tagged_field&) const = default;
};
using unknown_tagged_fields = std::vector<tagged_field>;

namespace detail {
template <class T>
constexpr T to_big_endian(T v) noexcept {
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    using U = std::make_unsigned_t<T>;
    U u = static_cast<U>(v);
    if constexpr (sizeof(T) == 2) u = static_cast<U>(__builtin_bswap16(u));
    if constexpr (sizeof(T) == 4) u = static_cast<U>(__builtin_bswap32(u));
    if constexpr (sizeof(T) == 8) u = static_cast<U>(__builtin_bswap64(u));
    return static_cast<T>(u);
  } else {
    return v;
  }
}
}  // namespace detail

constexpr std::uint32_t zigzag_encode32(std::int32_t v) noexcept {
  return (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
}
constexpr std::uint64_t zigzag_encode64(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int32_t zigzag_decode32(std::uint32_t v) noexcept {
  return static_cast<std::int32_t>((v >> 1) ^ (~(v & 1) + 1));
}
constexpr std::int64_t zigzag_decode64(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

// Bytes an unsigned varint of this value takes (1..10): one per 7 significant bits (at least
// one), without a loop, as every record is sized with several of these. For 1..64 bits,
// (bits * 9 + 64) / 64 is exactly ceil(bits / 7).
constexpr std::size_t unsigned_varint_size(std::uint64_t v) noexcept {
  return (static_cast<std::size_t>(std::bit_width(v | 1)) * 9 + 64) / 64;
}
constexpr std::size_t varint_size(std::int32_t v) noexcept { return unsigned_varint_size(zigzag_encode32(v)); }
constexpr std::size_t varlong_size(std::int64_t v) noexcept { return unsigned_varint_size(zigzag_encode64(v)); }

// Writes an unsigned varint at p (which must have room for 10 bytes); returns the end.
inline std::uint8_t* put_unsigned_varint(std::uint8_t* p, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

// Bytes a writer left out of its buffer (see writer::records): they belong at `offset` of
// the buffer, in front of what is there; a gather write sends them from where they are.
struct deferred_bytes {
  std::size_t offset = 0;
  std::span<const std::uint8_t> bytes;
};

// Appends wire values to a vector. Encoders that find a value the chosen version cannot
// carry call fail(); the first error sticks and later writes still append (harmlessly).
class writer {
 public:
  explicit writer(std::vector<std::uint8_t>& out) noexcept : out_(&out) {}
  // Records fields (record batches) of at least `min_size` bytes are then not copied: only
  // their length prefix is written, and their bytes are listed in `deferred`.
  writer(std::vector<std::uint8_t>& out, std::vector<deferred_bytes>& deferred,
         std::size_t min_size) noexcept
      : out_(&out), deferred_(&deferred), deferred_min_size_(min_size) {}

  template <class T>
  void integer(T v) {
    T be = detail::to_big_endian(v);
    raw(&be, sizeof be);
  }
  void int8(std::int8_t v) { out_->push_back(static_cast<std::uint8_t>(v)); }
  void int16(std::int16_t v) { integer(v); }
  void uint16(std::uint16_t v) { integer(v); }
  void int32(std::int32_t v) { integer(v); }
  void uint32(std::uint32_t v) { integer(v); }
  void int64(std::int64_t v) { integer(v); }
  void float64(double v) { integer(std::bit_cast<std::uint64_t>(v)); }
  void boolean(bool v) { out_->push_back(v ? 1 : 0); }
  void id(const uuid& v) { raw(v.bytes.data(), v.bytes.size()); }

  void unsigned_varint(std::uint64_t v) {
    std::uint8_t tmp[10];
    raw(tmp, static_cast<std::size_t>(put_unsigned_varint(tmp, v) - tmp));
  }
  void varint(std::int32_t v) { unsigned_varint(zigzag_encode32(v)); }
  void varlong(std::int64_t v) { unsigned_varint(zigzag_encode64(v)); }

  void raw(const void* p, std::size_t n) {
    if (n == 0) return;
    std::size_t at = out_->size();
    out_->resize(at + n);
    std::memcpy(out_->data() + at, p, n);
  }

  // Length prefixes: classic (int16/int32, -1 for null) or compact (unsigned varint N+1, 0 null).
  void string_length(std::size_t n, bool compact) {
    if (compact) unsigned_varint(n + 1);
    else int16(static_cast<std::int16_t>(n));
  }
  void bytes_length(std::size_t n, bool compact) {
    if (compact) unsigned_varint(n + 1);
    else int32(static_cast<std::int32_t>(n));
  }
  void null_string(bool compact) {
    if (compact) unsigned_varint(0);
    else int16(-1);
  }
  void null_bytes(bool compact) {
    if (compact) unsigned_varint(0);
    else int32(-1);
  }
  void array_length(std::size_t n, bool compact) { bytes_length(n, compact); }
  void null_array(bool compact) { null_bytes(compact); }

  void string(std::string_view s, bool compact) {
    if (!compact && s.size() > 0x7fff) fail(errc::oversized);
    string_length(s.size(), compact);
    raw(s.data(), s.size());
  }
  void bytes(std::span<const std::uint8_t> b, bool compact) {
    bytes_length(b.size(), compact);
    raw(b.data(), b.size());
  }
  void records(std::span<const std::uint8_t> b, bool compact) {
    bytes_length(b.size(), compact);
    if (deferred_ && !b.empty() && b.size() >= deferred_min_size_) {
      deferred_->push_back({out_->size(), b});
      deferred_total_ += b.size();
      return;
    }
    raw(b.data(), b.size());
  }
  // Bytes listed as deferred by this writer.
  std::size_t deferred_size() const noexcept { return deferred_total_; }

  std::size_t size() const noexcept { return out_->size(); }
  std::uint8_t* data() noexcept { return out_->data(); }
  std::vector<std::uint8_t>& buffer() noexcept { return *out_; }

  void fail(std::error_code ec) noexcept {
    if (!error_) error_ = ec;
  }
  std::error_code error() const noexcept { return error_; }

 private:
  std::vector<std::uint8_t>* out_;
  std::vector<deferred_bytes>* deferred_ = nullptr;
  std::size_t deferred_min_size_ = 0;
  std::size_t deferred_total_ = 0;
  std::error_code error_;
};

// Reads wire values from a buffer it does not own. On truncation or malformed input it
// records the first error and returns zero values from then on, so decoders can read a
// whole structure and check error() once. Lengths are checked against what remains before
// anything is allocated.
class reader {
 public:
  reader() = default;
  reader(const std::uint8_t* data, std::size_t size) noexcept : pos_(data), end_(data + size) {}
  explicit reader(std::span<const std::uint8_t> s) noexcept : reader(s.data(), s.size()) {}

  template <class T>
  T integer() noexcept {
    if (static_cast<std::size_t>(end_ - pos_) < sizeof(T)) {
      fail(errc::truncated);
      return T{};
    }
    T v;
    std::memcpy(&v, pos_, sizeof v);
    pos_ += sizeof v;
    return detail::to_big_endian(v);
  }
  std::int8_t int8() noexcept { return integer<std::int8_t>(); }
  std::int16_t int16() noexcept { return integer<std::int16_t>(); }
  std::uint16_t uint16() noexcept { return integer<std::uint16_t>(); }
  std::int32_t int32() noexcept { return integer<std::int32_t>(); }
  std::uint32_t uint32() noexcept { return integer<std::uint32_t>(); }
  std::int64_t int64() noexcept { return integer<std::int64_t>(); }
  double float64() noexcept { return std::bit_cast<double>(integer<std::uint64_t>()); }
  bool boolean() noexcept { return integer<std::uint8_t>() != 0; }
  uuid id() noexcept {
    uuid u;
    if (auto p = take(16)) std::memcpy(u.bytes.data(), p, 16);
    return u;
  }

  std::uint64_t unsigned_varint64(unsigned max_bytes = 10) noexcept {
    std::uint64_t v = 0;
    for (unsigned i = 0, shift = 0; i < max_bytes; ++i, shift += 7) {
      if (pos_ == end_) {
        fail(errc::truncated);
        return 0;
      }
      std::uint8_t b = *pos_++;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail(errc::invalid_varint);
    return 0;
  }
  std::uint32_t unsigned_varint() noexcept { return static_cast<std::uint32_t>(unsigned_varint64(5)); }
  std::int32_t varint() noexcept { return zigzag_decode32(unsigned_varint()); }
  std::int64_t varlong() noexcept { return zigzag_decode64(unsigned_varint64(10)); }

  // The next n bytes, or nullptr (and an error) when fewer remain.
  const std::uint8_t* take(std::size_t n) noexcept {
    if (static_cast<std::size_t>(end_ - pos_) < n) {
      fail(errc::truncated);
      pos_ = end_;
      return nullptr;
    }
    const std::uint8_t* p = pos_;
    pos_ += n;
    return p;
  }

  // Length prefixes; -1 means null. A length that cannot fit in what remains is an error
  // (returns -1 after recording it), so callers may reserve on the result.
  std::int64_t string_length(bool compact) noexcept {
    std::int64_t n = compact ? static_cast<std::int64_t>(unsigned_varint()) - 1 : int16();
    return check_length(n, 1);
  }
  std::int64_t bytes_length(bool compact) noexcept {
    std::int64_t n = compact ? static_cast<std::int64_t>(unsigned_varint()) - 1 : int32();
    return check_length(n, 1);
  }
  // Array count; each element takes at least min_element_size bytes.
  std::int64_t array_length(bool compact, std::size_t min_element_size) noexcept {
    std::int64_t n = compact ? static_cast<std::int64_t>(unsigned_varint()) - 1 : int32();
    return check_length(n, min_element_size);
  }

  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
  const std::uint8_t* position() const noexcept { return pos_; }
  bool ok() const noexcept { return !error_; }
  std::error_code error() const noexcept { return error_; }
  void fail(std::error_code ec) noexcept {
    if (!error_) error_ = ec;
  }

 private:
  std::int64_t check_length(std::int64_t n, std::size_t min_element_size) noexcept {
    if (error_) return -1;
    if (n < -1) {
      fail(errc::invalid_length);
      return -1;
    }
    if (n > 0 && static_cast<std::uint64_t>(n) > remaining() / (min_element_size ? min_element_size : 1)) {
      fail(errc::truncated);
      pos_ = end_;
      return -1;
    }
    return n;
  }

  const std::uint8_t* pos_ = nullptr;
  const std::uint8_t* end_ = nullptr;
  std::error_code error_;
};

}  // namespace kwire::protocol
