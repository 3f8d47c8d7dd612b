// Kafka record batches, magic v2: building them (producer side) and reading them (consumer side).
//
// Wire layout (big-endian), 61 header bytes then the records section:
//   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 = 2 |
//   crc uint32 (CRC-32C of attributes..end) | attributes int16 | lastOffsetDelta int32 |
//   baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16 |
//   baseSequence int32 | recordCount int32 | records (compressed as a whole when a codec is set)
// Record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//   key (varint length, -1 = null) | value (same) | header count varint |
//   headers (key: varint length + bytes, never null; value: varint length, -1 = null)
//
// Lifetime of views. Everything this header hands out while reading (record_batch_view,
// record_view, header_view, header_range, the spans inside them) points into memory the
// reader does not own or reuses:
//  - uncompressed batches: into the buffer given to record_batch_reader, which must outlive
//    the views;
//  - compressed batches: into the reader's scratch buffer, overwritten by the next call to
//    record_batch_reader::next() (and by anything else that modifies a caller-given scratch).
// Copy what must survive longer. record_batch_builder::bytes() is valid until the builder's
// next reset() or append(), or its destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/buffer.hpp"
#include "kwire/protocol/compression.hpp"

namespace kwire::protocol {

// Key, value or header value: nullopt is null, distinct from an empty span.
using optional_bytes = std::optional<std::span<const std::uint8_t>>;

inline constexpr std::size_t record_batch_header_size = 61;
// batchLength counts the bytes after itself: everything but baseOffset and batchLength.
inline constexpr std::size_t record_batch_length_offset = 8;
inline constexpr std::size_t record_batch_overhead = 12;
inline constexpr std::int8_t record_batch_magic = 2;
inline constexpr std::int64_t no_producer_id = -1;
inline constexpr std::int16_t no_producer_epoch = -1;
inline constexpr std::int32_t no_sequence = -1;
inline constexpr std::int32_t no_partition_leader_epoch = -1;
inline constexpr std::int64_t no_timestamp = -1;

enum class timestamp_type : std::uint8_t { create_time = 0, log_append_time = 1 };

// Attribute bits of the batch header.
namespace batch_attribute {
inline constexpr std::int16_t compression_mask = 0x07;
inline constexpr std::int16_t log_append_time = 0x08;
inline constexpr std::int16_t transactional = 0x10;
inline constexpr std::int16_t control = 0x20;
inline constexpr std::int16_t delete_horizon = 0x40;
}  // namespace batch_attribute

// One record header, as written (record_batch_builder::append) and as read.
struct header_view {
  std::string_view key;
  optional_bytes value;
};

// The fixed 61-byte part of a batch, decoded.
struct record_batch_header {
  std::int64_t base_offset = 0;
  std::int32_t batch_length = 0;
  std::int32_t partition_leader_epoch = no_partition_leader_epoch;
  std::int8_t magic = record_batch_magic;
  std::uint32_t crc = 0;
  std::int16_t attributes = 0;
  std::int32_t last_offset_delta = 0;
  std::int64_t base_timestamp = 0;  // the delete horizon when has_delete_horizon()
  std::int64_t max_timestamp = 0;
  std::int64_t producer_id = no_producer_id;
  std::int16_t producer_epoch = no_producer_epoch;
  std::int32_t base_sequence = no_sequence;
  std::int32_t record_count = 0;

  // Codec id from the attributes; may be outside the enum (5..7) in a header read from the
  // wire, which record_batch_reader rejects before handing the header out.
  compression codec() const noexcept {
    return static_cast<compression>(attributes & batch_attribute::compression_mask);
  }
  timestamp_type timestamp_kind() const noexcept {
    return (attributes & batch_attribute::log_append_time) ? timestamp_type::log_append_time
                                                           : timestamp_type::create_time;
  }
  bool is_transactional() const noexcept { return attributes & batch_attribute::transactional; }
  bool is_control() const noexcept { return attributes & batch_attribute::control; }
  bool has_delete_horizon() const noexcept { return attributes & batch_attribute::delete_horizon; }
  // Wrapping (not undefined) when corrupt data puts base_offset near the int64 limits.
  std::int64_t last_offset() const noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(base_offset) +
                                     static_cast<std::uint64_t>(std::int64_t{last_offset_delta}));
  }
  std::int64_t next_offset() const noexcept {
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(last_offset()) + 1);
  }
  std::size_t size_in_bytes() const noexcept {
    return static_cast<std::size_t>(batch_length) + record_batch_overhead;
  }
};

// Decodes the 61 header bytes at the start of `batch` (no validation beyond the size).
std::error_code parse_record_batch_header(std::span<const std::uint8_t> batch,
                                          record_batch_header& out) noexcept;

// The headers of one record. Iterating yields header_view; the bytes were checked when the
// record was read, so iteration cannot fail.
class header_range {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = header_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const header_view*;
    using reference = const header_view&;

    iterator() = default;
    reference operator*() const noexcept { return current_; }
    pointer operator->() const noexcept { return &current_; }
    iterator& operator++() noexcept {
      if (--left_ > 0) load();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator& other) const noexcept { return left_ == other.left_; }

   private:
    friend class header_range;
    iterator(const std::uint8_t* pos, const std::uint8_t* end, std::uint32_t count) noexcept
        : pos_(pos), end_(end), left_(count) {
      if (left_ > 0) load();
    }
    void load() noexcept;

    const std::uint8_t* pos_ = nullptr;
    const std::uint8_t* end_ = nullptr;
    std::uint32_t left_ = 0;
    header_view current_;
  };

  header_range() = default;
  header_range(std::span<const std::uint8_t> encoded, std::uint32_t count) noexcept
      : encoded_(encoded), count_(count) {}
  iterator begin() const noexcept {
    return {encoded_.data(), encoded_.data() + encoded_.size(), count_};
  }
  iterator end() const noexcept { return {}; }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

 private:
  std::span<const std::uint8_t> encoded_;
  std::uint32_t count_ = 0;
};

// One record, with offsets and timestamps made absolute. With log-append time, Kafka gives
// every record the batch's max timestamp, and so does this.
struct record_view {
  std::int64_t offset = 0;
  std::int64_t timestamp = 0;
  std::int32_t offset_delta = 0;
  std::int64_t timestamp_delta = 0;
  std::int8_t attributes = 0;
  optional_bytes key;
  optional_bytes value;
  header_range headers;
};

// Walks the records of one batch, checking each against the batch's bounds as it goes:
//   record_view r;
//   for (auto cursor = batch.records(); cursor.next(r);) use(r);
//   if (cursor.error()) ...  // malformed record, or a count that does not match the header
class record_cursor {
 public:
  record_cursor() = default;
  // False at the end of the batch or on the first malformed record (then error() says which).
  bool next(record_view& out) noexcept;
  // Passes over the next record reading only its length and offset delta, for a batch that
  // a full pass has checked already (a consumer handing out part of a batch finds where
  // the part ends this way, and copies the cursor to resume there). The record's offset in
  // `offset`. False at the end of the batch or on a malformed record, as next().
  bool skip(std::int64_t& offset) noexcept;
  std::error_code error() const noexcept { return error_; }
  // Records not yet returned, per the header's count.
  std::int32_t records_left() const noexcept { return records_left_; }

 private:
  friend class record_batch_view;
  bool fail(std::error_code ec) noexcept;
  // The checks every record starts with (next() and skip() share them): the next record's
  // body, from after its length to `body_end`; null at the end of the batch or on an error.
  const std::uint8_t* open_record(const std::uint8_t*& body_end) noexcept;
  // Offset deltas rise strictly (compaction may leave gaps) up to the header's last one.
  bool take_offset_delta(std::int32_t offset_delta) noexcept;

  const std::uint8_t* pos_ = nullptr;
  const std::uint8_t* end_ = nullptr;
  std::int32_t records_left_ = 0;
  std::int64_t min_offset_delta_ = 0;
  std::int32_t last_offset_delta_ = 0;
  std::int64_t base_offset_ = 0;
  std::int64_t base_timestamp_ = 0;
  std::optional<std::int64_t> log_append_time_;
  std::error_code error_;
};

// A batch whose header, size, CRC and codec record_batch_reader has checked, and whose
// records section is available uncompressed.
class record_batch_view {
 public:
  const record_batch_header& header() const noexcept { return header_; }
  // The whole batch as it was on the wire (compressed, if it was).
  std::span<const std::uint8_t> wire_bytes() const noexcept { return wire_; }
  // The records section, decompressed.
  std::span<const std::uint8_t> records_section() const noexcept { return records_; }
  record_cursor records() const noexcept;

 private:
  friend class record_batch_reader;
  record_batch_header header_;
  std::span<const std::uint8_t> wire_;
  std::span<const std::uint8_t> records_;
};

struct record_batch_reader_options {
  // CRC-32C check of every batch (Kafka consumers' check.crcs, default on).
  bool verify_crc = true;
  // Largest batch accepted (wire size incl. the 12 bytes of baseOffset and batchLength);
  // a larger one is errc::oversized even when the buffer holds only its start.
  std::size_t max_batch_size = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
  // Most bytes one compressed batch may decompress to (errc::oversized beyond).
  std::size_t max_decompressed_size = std::size_t{64} << 20;
  // Where a compressed batch decompresses to when its codec tells a size bound (lz4; see
  // decompressed_size_bound) within max_decompressed_size: called with the bound, returns
  // at least that many bytes. Like the scratch buffer, that memory is the caller's: the
  // batch's views point into it. Unset, or for the other codecs: the scratch buffer.
  std::function<std::span<std::uint8_t>(std::size_t bound)> decompress_to = {};
};

// Reads the concatenated batches of a Fetch response partition's `records` (or of any
// buffer). A partial batch at the end is normal there (the broker cuts at the fetch size):
// next() then returns false with incomplete_tail() set and no error.
//
//   record_batch_reader reader(records, scratch);
//   record_batch_view batch;
//   while (reader.next(batch)) { ... batch.records() ... }
//   if (reader.error()) ...                 // corrupt data; nothing after it is read
//   if (reader.incomplete_tail()) ...       // fetch again from the next offset
class record_batch_reader {
 public:
  // Decompresses into a buffer of its own.
  explicit record_batch_reader(std::span<const std::uint8_t> data,
                               record_batch_reader_options options = {}) noexcept;
  // Decompresses into `scratch` (cleared and reused; keep it across fetches to keep its
  // capacity). Views into it are valid until the next call to next().
  record_batch_reader(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& scratch,
                      record_batch_reader_options options = {}) noexcept;
  record_batch_reader(const record_batch_reader&) = delete;
  record_batch_reader& operator=(const record_batch_reader&) = delete;

  // The next complete, valid batch. False at the end of the data, at an incomplete tail,
  // or on error; once false, stays false.
  bool next(record_batch_view& batch);
  std::error_code error() const noexcept { return error_; }
  bool incomplete_tail() const noexcept { return incomplete_tail_; }
  // Bytes of the complete batches returned so far.
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  bool fail(std::error_code ec) noexcept;

  std::span<const std::uint8_t> data_;
  std::size_t consumed_ = 0;
  record_batch_reader_options options_;
  std::vector<std::uint8_t> own_scratch_;
  std::vector<std::uint8_t>* scratch_;
  std::error_code error_;
  bool incomplete_tail_ = false;
};

// ---- control records (transaction markers) -------------------------------------------------

// Control record types; values beyond these (KRaft's) pass through as other numbers.
enum class control_type : std::int16_t { abort = 0, commit = 1 };

struct control_record_key {
  std::int16_t version = 0;
  control_type type = control_type::abort;
};
// Control record key: int16 version (>= 0), int16 type. Errors: invalid_record.
std::error_code parse_control_record_key(const record_view& record,
                                         control_record_key& out) noexcept;

struct end_txn_marker {
  std::int16_t version = 0;
  std::int32_t coordinator_epoch = 0;
};
// Value of an abort/commit control record: int16 version (>= 0), int32 coordinator epoch.
std::error_code parse_end_txn_marker(const record_view& record, end_txn_marker& out) noexcept;

// ---- building ----------------------------------------------------------------------------

struct record_batch_options {
  compression codec = compression::none;
  int compression_level = default_compression_level;
  timestamp_type timestamp_kind = timestamp_type::create_time;
  bool transactional = false;
  bool control = false;  // a control batch (set transactional too for transaction markers)
  std::int64_t base_offset = 0;
  std::int32_t partition_leader_epoch = no_partition_leader_epoch;
  std::int64_t producer_id = no_producer_id;
  std::int16_t producer_epoch = no_producer_epoch;
  std::int32_t base_sequence = no_sequence;
};

// Bytes a record's key, value and headers take encoded (their lengths, the header count and
// the bytes): the part of its size that does not depend on its place in a batch. A producer
// computes it once per record, to size the record and then to append it (see append()).
inline std::size_t encoded_record_fields_size(const optional_bytes& key,
                                              const optional_bytes& value,
                                              std::span<const header_view> headers) noexcept {
  const auto nullable_size = [](const optional_bytes& b) noexcept {
    return b ? varint_size(static_cast<std::int32_t>(b->size())) + b->size() : 1;
  };
  std::size_t size = nullable_size(key) + nullable_size(value) +
                     varint_size(static_cast<std::int32_t>(headers.size()));
  for (const header_view& h : headers)
    size += varint_size(static_cast<std::int32_t>(h.key.size())) + h.key.size() +
            nullable_size(h.value);
  return size;
}

// Bytes after a record's length prefix: attributes, the two deltas, then the fields.
inline std::size_t encoded_record_body_size(std::int64_t timestamp_delta, std::int32_t offset_delta,
                                            std::size_t fields_size) noexcept {
  return 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) + fields_size;
}

// Bytes of a whole record, length prefix included.
inline std::size_t encoded_record_size_for(std::int64_t timestamp_delta, std::int32_t offset_delta,
                                           std::size_t fields_size) noexcept {
  const std::size_t body = encoded_record_body_size(timestamp_delta, offset_delta, fields_size);
  return varlong_size(static_cast<std::int64_t>(body)) + body;
}

// Builds one batch by appending records into a single growing buffer (the records are
// encoded in place behind room for the header; no allocation per record once the buffer
// has grown). The first record's timestamp becomes the base timestamp and records get
// offset deltas 0, 1, 2, ...
//
//   record_batch_builder builder({.codec = compression::lz4}, 16 * 1024);
//   if (builder.size_in_bytes() + builder.encoded_record_size(ts, k, v, h) > batch_size) ...
//   builder.append(ts, k, v, h);
//   if (auto ec = builder.finish()) ...
//   send(builder.bytes());
class record_batch_builder {
 public:
  explicit record_batch_builder(record_batch_options options = {}, std::size_t reserve_bytes = 0);

  // Starts a new batch, keeping the buffers' capacity.
  void reset(record_batch_options options);
  // Makes room for a batch of `total_bytes` (header and uncompressed records) at once, so
  // that appending up to that size neither reallocates nor copies. (lz4 batches are
  // compressed in 64 KiB blocks as they fill, and need room for two blocks only.)
  void reserve(std::size_t total_bytes);
  // Bytes the builder's buffers hold (their capacity, kept across reset()).
  std::size_t buffer_capacity() const noexcept { return capacity_ + compressed_capacity_; }
  // Frees the buffers, for a builder kept idle; reset() must come before the next append().
  void release_buffers() noexcept;

  // (Key and value by reference: passing the 24-byte optionals by value copied them through
  // the stack on every record.)
  void append(std::int64_t timestamp, const optional_bytes& key, const optional_bytes& value,
              std::span<const header_view> headers = {});
  // The same, for a caller that has `fields_size` = encoded_record_fields_size(key, value,
  // headers) at hand already (the producer, which sizes every record before choosing its
  // batch): the fields are not walked again. A wrong fields_size writes out of bounds.
  void append(std::int64_t timestamp, const optional_bytes& key, const optional_bytes& value,
              std::span<const header_view> headers, std::size_t fields_size);
  // Appends an abort/commit marker record (version 0 key and value). For control batches:
  // options.control and options.transactional set.
  void append_end_txn_marker(control_type type, std::int32_t coordinator_epoch,
                             std::int64_t timestamp);

  // Exact bytes append() with these arguments would add to size_in_bytes().
  std::size_t encoded_record_size(std::int64_t timestamp, optional_bytes key, optional_bytes value,
                                  std::span<const header_view> headers = {}) const noexcept;

  std::int32_t record_count() const noexcept { return record_count_; }
  bool empty() const noexcept { return record_count_ == 0; }
  // Header plus records so far, uncompressed: what to compare with the producer's batch.size.
  std::size_t size_in_bytes() const noexcept { return size_; }
  std::int64_t max_timestamp() const noexcept { return max_timestamp_; }
  std::int32_t last_offset_delta() const noexcept { return record_count_ - 1; }
  const record_batch_options& options() const noexcept { return options_; }

  // Producer fields for finish(); for a batch already finished, use restamp_producer().
  void set_producer(std::int64_t producer_id, std::int16_t producer_epoch,
                    std::int32_t base_sequence) noexcept;

  // Writes the header (and compresses the records when a codec is set). Errors: oversized
  // (batch, record or field beyond int32 limits), compression_failed, invalid_record
  // (append after finish). An empty batch is allowed: last offset delta -1, timestamps -1.
  std::error_code finish();
  bool finished() const noexcept { return finished_; }
  // The finished batch (empty before finish()).
  std::span<const std::uint8_t> bytes() const noexcept;
  // Rewrites producer id/epoch/base sequence of the finished batch and its CRC (retries
  // of an idempotent producer resend the same bytes with new fields).
  std::error_code restamp_producer(std::int64_t producer_id, std::int16_t producer_epoch,
                                   std::int32_t base_sequence) noexcept;

 private:
  // Room for `extra` more bytes behind size_: the check inline (once per record), the growth
  // out of line.
  void reserve_more(std::size_t extra) {
    if (size_ - streamed_ + extra > capacity_) grow(extra);
  }
  void grow(std::size_t extra);
  void write_header(std::uint8_t* batch, std::size_t batch_size) const noexcept;
  // lz4: compresses the whole blocks of records in buffer_ into compressed_ and keeps the
  // rest; with `last`, everything, and ends the frame.
  std::error_code stream_lz4(bool last);
  std::uint8_t* compressed_room(std::size_t extra);

  record_batch_options options_;
  // Header room + uncompressed records (for lz4 only those not yet compressed: the first
  // `streamed_` bytes of records have gone into compressed_ block by block).
  std::unique_ptr<std::uint8_t[]> buffer_;
  std::size_t size_ = record_batch_header_size;  // header + every record, uncompressed
  std::size_t streamed_ = 0;
  bool stream_begun_ = false;
  lz4_frame_stream lz4_;
  std::size_t capacity_ = 0;
  // Header + compressed records, when a codec is set (capacity kept across batches).
  std::unique_ptr<std::uint8_t[]> compressed_;
  std::size_t compressed_size_ = 0;
  std::size_t compressed_capacity_ = 0;
  std::int32_t record_count_ = 0;
  std::int64_t base_timestamp_ = no_timestamp;
  std::int64_t max_timestamp_ = no_timestamp;
  bool finished_ = false;
  std::error_code error_;
};

// Rewrites producer id, epoch and base sequence of one finished batch (exactly the bytes of
// one batch) and recomputes its CRC. Errors: truncated, invalid_length, invalid_magic.
std::error_code restamp_producer(std::span<std::uint8_t> batch, std::int64_t producer_id,
                                 std::int16_t producer_epoch, std::int32_t base_sequence) noexcept;

}  // namespace kwire::protocol
