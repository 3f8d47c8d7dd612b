// Record batch v2: builder, reader, record cursor, control records.
#include "kwire/protocol/record_batch.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "kwire/protocol/crc32c.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::protocol {
namespace {

// Byte offsets of the header fields.
constexpr std::size_t kPartitionLeaderEpochAt = 12;
constexpr std::size_t kMagicAt = 16;
constexpr std::size_t kCrcAt = 17;
constexpr std::size_t kAttributesAt = 21;  // the CRC covers from here to the end
constexpr std::size_t kLastOffsetDeltaAt = 23;
constexpr std::size_t kBaseTimestampAt = 27;
constexpr std::size_t kMaxTimestampAt = 35;
constexpr std::size_t kProducerIdAt = 43;
constexpr std::size_t kProducerEpochAt = 51;
constexpr std::size_t kBaseSequenceAt = 53;
constexpr std::size_t kRecordCountAt = 57;

// Smallest record: length, attributes, timestamp delta, offset delta, key length, value
// length and header count, one byte each.
constexpr std::size_t kMinRecordSize = 7;
constexpr std::size_t kMinRecordBodySize = kMinRecordSize - 1;
// record_cursor prefetches the starts of the next records when they are this large (smaller
// ones share cache lines, and sequential reads are the hardware prefetcher's job).
constexpr std::ptrdiff_t kPrefetchFromRecordSize = 256;
constexpr std::ptrdiff_t kPrefetchRecords = 4;
// Smallest header: key length and value length.
constexpr std::size_t kMinHeaderSize = 2;

constexpr std::size_t kInt32Max =
    static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());

template <class T>
void store_be(std::uint8_t* p, T v) noexcept {
  T be = detail::to_big_endian(v);
  std::memcpy(p, &be, sizeof be);
}
template <class T>
T load_be(const std::uint8_t* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return detail::to_big_endian(v);
}

// Two's-complement addition without signed-overflow UB (offsets and timestamps come from
// the wire and may be anything).
std::int64_t wrapping_add(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_sub(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

// Record parsing runs once per record, so it works on raw pointers with the position in a
// register: the sticky-error `reader` keeps its state in memory and costs about twice as
// much per record here. Each step returns the next position, or nullptr with `error` set.
// Values decode exactly as reader::varint()/varlong() do.
template <class Int>
[[gnu::always_inline]] inline const std::uint8_t* read_zigzag(const std::uint8_t* p,
                                                              const std::uint8_t* end, Int& out,
                                                              errc& error) noexcept {
  static_assert(sizeof(Int) == 4 || sizeof(Int) == 8);
  constexpr unsigned kMaxBytes = sizeof(Int) == 4 ? 5 : 10;
  auto decode = [](std::uint64_t v) -> Int {
    if constexpr (sizeof(Int) == 4)
      return zigzag_decode32(static_cast<std::uint32_t>(v));
    else
      return zigzag_decode64(v);
  };
  if (p != end && *p < 0x80) [[likely]] {  // small values take one byte
    out = decode(*p);
    return p + 1;
  }
  std::uint64_t v = 0;
  for (unsigned i = 0; i < kMaxBytes; ++i) {
    if (p == end) {
      error = errc::truncated;
      return nullptr;
    }
    const std::uint8_t b = *p++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      out = decode(v);
      return p;
    }
  }
  error = errc::invalid_varint;
  return nullptr;
}

// A length-prefixed byte field; -1 is null (when allowed), other negatives are invalid.
[[gnu::always_inline]] inline const std::uint8_t* read_bytes(const std::uint8_t* p,
                                                             const std::uint8_t* end, bool nullable,
                                                             optional_bytes& out,
                                                             errc& error) noexcept {
  std::int32_t length = 0;
  p = read_zigzag(p, end, length, error);
  if (!p) return nullptr;
  if (length < 0) {
    if (length != -1 || !nullable) {
      error = errc::invalid_length;
      return nullptr;
    }
    out = std::nullopt;
    return p;
  }
  if (static_cast<std::size_t>(length) > static_cast<std::size_t>(end - p)) {
    error = errc::truncated;
    return nullptr;
  }
  out = std::span<const std::uint8_t>(p, static_cast<std::size_t>(length));
  return p + length;
}

// One record header: key (never null) and nullable value.
[[gnu::always_inline]] inline const std::uint8_t* read_header(const std::uint8_t* p,
                                                              const std::uint8_t* end,
                                                              header_view& out,
                                                              errc& error) noexcept {
  optional_bytes key;
  p = read_bytes(p, end, false, key, error);
  if (!p) return nullptr;
  out.key = std::string_view(reinterpret_cast<const char*>(key->data()), key->size());
  return read_bytes(p, end, true, out.value, error);
}

std::uint8_t* put_varint(std::uint8_t* p, std::int64_t v) noexcept {
  return put_unsigned_varint(p, zigzag_encode64(v));
}

[[gnu::always_inline]] inline std::uint8_t* put_nullable_bytes(std::uint8_t* p,
                                                               const optional_bytes& b) noexcept {
  if (!b) return put_varint(p, -1);
  p = put_varint(p, static_cast<std::int64_t>(b->size()));
  if (!b->empty()) std::memcpy(p, b->data(), b->size());
  return p + b->size();
}

}  // namespace

// ---- reading -----------------------------------------------------------------------------

std::error_code parse_record_batch_header(std::span<const std::uint8_t> batch,
                                          record_batch_header& out) noexcept {
  if (batch.size() < record_batch_header_size) return errc::truncated;
  const std::uint8_t* p = batch.data();
  out.base_offset = load_be<std::int64_t>(p);
  out.batch_length = load_be<std::int32_t>(p + record_batch_length_offset);
  out.partition_leader_epoch = load_be<std::int32_t>(p + kPartitionLeaderEpochAt);
  out.magic = static_cast<std::int8_t>(p[kMagicAt]);
  out.crc = load_be<std::uint32_t>(p + kCrcAt);
  out.attributes = load_be<std::int16_t>(p + kAttributesAt);
  out.last_offset_delta = load_be<std::int32_t>(p + kLastOffsetDeltaAt);
  out.base_timestamp = load_be<std::int64_t>(p + kBaseTimestampAt);
  out.max_timestamp = load_be<std::int64_t>(p + kMaxTimestampAt);
  out.producer_id = load_be<std::int64_t>(p + kProducerIdAt);
  out.producer_epoch = load_be<std::int16_t>(p + kProducerEpochAt);
  out.base_sequence = load_be<std::int32_t>(p + kBaseSequenceAt);
  out.record_count = load_be<std::int32_t>(p + kRecordCountAt);
  return {};
}

void header_range::iterator::load() noexcept {
  errc ignored{};  // the record was checked when it was read
  const std::uint8_t* next = read_header(pos_, end_, current_, ignored);
  pos_ = next ? next : end_;
}

bool record_cursor::fail(std::error_code ec) noexcept {
  error_ = ec;
  records_left_ = 0;
  pos_ = end_;
  return false;
}

const std::uint8_t* record_cursor::open_record(const std::uint8_t*& body_end) noexcept {
  if (records_left_ <= 0) {
    if (!error_ && pos_ != end_) fail(errc::trailing_bytes);  // more bytes than records
    return nullptr;
  }
  if (pos_ == end_) {
    fail(errc::invalid_record);  // fewer records than the header says
    return nullptr;
  }
  errc error{};
  std::int32_t length = 0;
  const std::uint8_t* p = read_zigzag(pos_, end_, length, error);
  if (!p) {
    fail(error);
    return nullptr;
  }
  if (length < static_cast<std::int32_t>(kMinRecordBodySize)) {
    fail(errc::invalid_length);
    return nullptr;
  }
  if (static_cast<std::size_t>(length) > static_cast<std::size_t>(end_ - p)) {
    fail(errc::truncated);
    return nullptr;
  }
  body_end = p + length;
  return p;
}

bool record_cursor::take_offset_delta(std::int32_t offset_delta) noexcept {
  if (offset_delta < min_offset_delta_ || offset_delta > last_offset_delta_)
    return fail(errc::invalid_record);
  min_offset_delta_ = std::int64_t{offset_delta} + 1;
  return true;
}

bool record_cursor::next(record_view& out) noexcept {
  const std::uint8_t* body_end = nullptr;
  const std::uint8_t* p = open_record(body_end);
  if (!p) return false;
  errc error{};
  out.attributes = static_cast<std::int8_t>(*p++);
  if (!(p = read_zigzag(p, body_end, out.timestamp_delta, error))) return fail(error);
  if (!(p = read_zigzag(p, body_end, out.offset_delta, error))) return fail(error);
  if (!(p = read_bytes(p, body_end, true, out.key, error))) return fail(error);
  if (!(p = read_bytes(p, body_end, true, out.value, error))) return fail(error);
  std::int32_t header_count = 0;
  if (!(p = read_zigzag(p, body_end, header_count, error))) return fail(error);
  if (header_count < 0) return fail(errc::invalid_length);
  if (static_cast<std::size_t>(header_count) >
      static_cast<std::size_t>(body_end - p) / kMinHeaderSize)
    return fail(errc::truncated);
  const std::uint8_t* const headers_begin = p;
  header_view skipped;
  for (std::int32_t i = 0; i < header_count; ++i)
    if (!(p = read_header(p, body_end, skipped, error))) return fail(error);
  if (p != body_end) return fail(errc::trailing_bytes);

  if (!take_offset_delta(out.offset_delta)) return false;

  out.offset = wrapping_add(base_offset_, out.offset_delta);
  out.timestamp =
      log_append_time_ ? *log_append_time_ : wrapping_add(base_timestamp_, out.timestamp_delta);
  out.headers = header_range({headers_begin, static_cast<std::size_t>(body_end - headers_begin)},
                             static_cast<std::uint32_t>(header_count));
  // The next records' starts are guessed from this one's size (records of a batch tend to
  // be alike): large records in a decompressed batch are cache misses one after another,
  // which the hardware prefetcher does not see coming. A wrong guess costs nothing.
  const std::ptrdiff_t stride = body_end - pos_;
  if (stride >= kPrefetchFromRecordSize) {
    for (std::ptrdiff_t ahead = 0; ahead < kPrefetchRecords && end_ - body_end > ahead * stride;
         ++ahead)
      __builtin_prefetch(body_end + ahead * stride);
  }
  pos_ = body_end;
  --records_left_;
  return true;
}

bool record_cursor::skip(std::int64_t& offset) noexcept {
  const std::uint8_t* body_end = nullptr;
  const std::uint8_t* p = open_record(body_end);
  if (!p) return false;
  errc error{};
  ++p;  // attributes
  std::int64_t timestamp_delta = 0;
  std::int32_t offset_delta = 0;
  if (!(p = read_zigzag(p, body_end, timestamp_delta, error))) return fail(error);
  if (!(p = read_zigzag(p, body_end, offset_delta, error))) return fail(error);
  if (!take_offset_delta(offset_delta)) return false;
  offset = wrapping_add(base_offset_, offset_delta);
  pos_ = body_end;
  --records_left_;
  return true;
}

record_cursor record_batch_view::records() const noexcept {
  record_cursor cursor;
  cursor.pos_ = records_.data();
  cursor.end_ = records_.data() + records_.size();
  cursor.records_left_ = header_.record_count;
  cursor.last_offset_delta_ = header_.last_offset_delta;
  cursor.base_offset_ = header_.base_offset;
  cursor.base_timestamp_ = header_.base_timestamp;
  if (header_.timestamp_kind() == timestamp_type::log_append_time)
    cursor.log_append_time_ = header_.max_timestamp;
  return cursor;
}

record_batch_reader::record_batch_reader(std::span<const std::uint8_t> data,
                                         record_batch_reader_options options) noexcept
    : data_(data), options_(options), scratch_(&own_scratch_) {}

record_batch_reader::record_batch_reader(std::span<const std::uint8_t> data,
                                         std::vector<std::uint8_t>& scratch,
                                         record_batch_reader_options options) noexcept
    : data_(data), options_(options), scratch_(&scratch) {}

bool record_batch_reader::fail(std::error_code ec) noexcept {
  error_ = ec;
  return false;
}

bool record_batch_reader::next(record_batch_view& batch) {
  if (error_ || incomplete_tail_) return false;
  const std::span<const std::uint8_t> rest = data_.subspan(consumed_);
  if (rest.empty()) return false;
  if (rest.size() < record_batch_overhead) {
    incomplete_tail_ = true;
    return false;
  }
  // Checked as soon as the bytes are there, so that legacy message sets (magic 0/1) are
  // reported as such rather than as a bad length or an endless incomplete tail.
  if (rest.size() > kMagicAt && static_cast<std::int8_t>(rest[kMagicAt]) != record_batch_magic)
    return fail(errc::invalid_magic);
  const std::int32_t batch_length = load_be<std::int32_t>(rest.data() + record_batch_length_offset);
  if (batch_length < static_cast<std::int32_t>(record_batch_header_size - record_batch_overhead))
    return fail(errc::invalid_length);
  const std::size_t batch_size = static_cast<std::size_t>(batch_length) + record_batch_overhead;
  if (batch_size > options_.max_batch_size) return fail(errc::oversized);
  if (batch_size > rest.size()) {
    incomplete_tail_ = true;
    return false;
  }

  const std::span<const std::uint8_t> wire = rest.first(batch_size);
  record_batch_header& header = batch.header_;
  parse_record_batch_header(wire, header);
  if (options_.verify_crc && crc32c(wire.subspan(kAttributesAt)) != header.crc)
    return fail(errc::crc_mismatch);
  if (header.record_count < 0) return fail(errc::invalid_length);
  const int codec_id = header.attributes & batch_attribute::compression_mask;
  if (codec_id > static_cast<int>(compression::zstd)) return fail(errc::unknown_compression);

  std::span<const std::uint8_t> records = wire.subspan(record_batch_header_size);
  if (header.codec() != compression::none) {
    const auto bound =
        options_.decompress_to ? decompressed_size_bound(header.codec(), records) : std::nullopt;
    if (bound && *bound <= options_.max_decompressed_size) {
      const std::span<std::uint8_t> out = options_.decompress_to(*bound);
      std::size_t written = 0;
      if (auto ec = decompress_into(header.codec(), records, out, written)) return fail(ec);
      records = out.first(written);
    } else {
      scratch_->clear();
      if (auto ec = decompress(header.codec(), records, *scratch_, options_.max_decompressed_size))
        return fail(ec);
      records = *scratch_;
    }
  }
  // A count that cannot fit in the bytes is corrupt, whatever the records say.
  if (static_cast<std::size_t>(header.record_count) > records.size() / kMinRecordSize)
    return fail(errc::invalid_record);

  batch.wire_ = wire;
  batch.records_ = records;
  consumed_ += batch_size;
  return true;
}

std::error_code parse_control_record_key(const record_view& record,
                                         control_record_key& out) noexcept {
  if (!record.key || record.key->size() < 4) return errc::invalid_record;
  out.version = load_be<std::int16_t>(record.key->data());
  if (out.version < 0) return errc::invalid_record;
  out.type = static_cast<control_type>(load_be<std::int16_t>(record.key->data() + 2));
  return {};
}

std::error_code parse_end_txn_marker(const record_view& record, end_txn_marker& out) noexcept {
  if (!record.value || record.value->size() < 6) return errc::invalid_record;
  out.version = load_be<std::int16_t>(record.value->data());
  if (out.version < 0) return errc::invalid_record;
  out.coordinator_epoch = load_be<std::int32_t>(record.value->data() + 2);
  return {};
}

// ---- building ----------------------------------------------------------------------------

record_batch_builder::record_batch_builder(record_batch_options options, std::size_t reserve_bytes)
    : options_(options) {
  reserve_more(std::max(reserve_bytes, record_batch_header_size) - record_batch_header_size);
}

void record_batch_builder::reset(record_batch_options options) {
  options_ = options;
  size_ = record_batch_header_size;
  streamed_ = 0;
  stream_begun_ = false;
  compressed_size_ = 0;
  record_count_ = 0;
  base_timestamp_ = no_timestamp;
  max_timestamp_ = no_timestamp;
  finished_ = false;
  error_.clear();
}

void record_batch_builder::reserve(std::size_t total_bytes) {
  if (options_.codec == compression::lz4)
    total_bytes =
        std::min(total_bytes, record_batch_header_size + 2 * lz4_frame_stream::block_size);
  if (total_bytes > size_) reserve_more(total_bytes - size_);
}

void record_batch_builder::release_buffers() noexcept {
  buffer_.reset();
  capacity_ = 0;
  compressed_.reset();
  compressed_capacity_ = 0;
}

void record_batch_builder::grow(std::size_t extra) {
  const std::size_t used = size_ - streamed_;
  const std::size_t needed = used + extra;
  const std::size_t new_capacity = std::max({needed, 2 * capacity_, std::size_t{4096}});
  auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(new_capacity);
  if (buffer_) std::memcpy(bigger.get(), buffer_.get(), used);
  buffer_ = std::move(bigger);
  capacity_ = new_capacity;
}

std::uint8_t* record_batch_builder::compressed_room(std::size_t extra) {
  const std::size_t needed = compressed_size_ + extra;
  if (needed > compressed_capacity_) {
    const std::size_t new_capacity = std::max(needed, 2 * compressed_capacity_);
    auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(new_capacity);
    if (compressed_) std::memcpy(bigger.get(), compressed_.get(), compressed_size_);
    compressed_ = std::move(bigger);
    compressed_capacity_ = new_capacity;
  }
  return compressed_.get() + compressed_size_;
}

std::error_code record_batch_builder::stream_lz4(bool last) {
  std::size_t written = 0;
  if (!stream_begun_) {
    compressed_size_ = record_batch_header_size;
    std::uint8_t* out = compressed_room(lz4_frame_stream::header_bound);
    if (auto ec =
            lz4_.begin(options_.compression_level, {out, lz4_frame_stream::header_bound}, written))
      return ec;
    compressed_size_ += written;
    stream_begun_ = true;
  }
  const std::size_t staged = size_ - streamed_ - record_batch_header_size;
  // Whole blocks only until the end, so that block boundaries fall where compressing the
  // batch in one go would put them.
  const std::size_t take = last ? staged : staged - staged % lz4_frame_stream::block_size;
  std::uint8_t* const records = buffer_.get() + record_batch_header_size;
  if (take > 0) {
    const std::size_t bound = lz4_frame_stream::update_bound(take);
    std::uint8_t* out = compressed_room(bound);
    if (auto ec = lz4_.update({records, take}, {out, bound}, written)) return ec;
    compressed_size_ += written;
    std::memmove(records, records + take, staged - take);
    streamed_ += take;
  }
  if (last) {
    const std::size_t bound = lz4_frame_stream::update_bound(0);
    std::uint8_t* out = compressed_room(bound);
    if (auto ec = lz4_.end({out, bound}, written)) return ec;
    compressed_size_ += written;
  }
  return {};
}

std::size_t record_batch_builder::encoded_record_size(
    std::int64_t timestamp, optional_bytes key, optional_bytes value,
    std::span<const header_view> headers) const noexcept {
  const std::int64_t timestamp_delta =
      record_count_ == 0 ? 0 : wrapping_sub(timestamp, base_timestamp_);
  return encoded_record_size_for(timestamp_delta, record_count_,
                                 encoded_record_fields_size(key, value, headers));
}

void record_batch_builder::append(std::int64_t timestamp, const optional_bytes& key,
                                  const optional_bytes& value,
                                  std::span<const header_view> headers) {
  append(timestamp, key, value, headers, encoded_record_fields_size(key, value, headers));
}

void record_batch_builder::append(std::int64_t timestamp, const optional_bytes& key,
                                  const optional_bytes& value, std::span<const header_view> headers,
                                  std::size_t fields_size) {
  assert(fields_size == encoded_record_fields_size(key, value, headers));
  if (finished_) {
    error_ = errc::invalid_record;
    return;
  }
  const std::int64_t timestamp_delta =
      record_count_ == 0 ? 0 : wrapping_sub(timestamp, base_timestamp_);
  const std::size_t body = encoded_record_body_size(timestamp_delta, record_count_, fields_size);
  // Lengths travel as int32 varints and cannot be encoded beyond that (finish() reports it).
  // A key, value or header list that large makes the body larger still: one check covers all.
  if (body > kInt32Max || record_count_ == std::numeric_limits<std::int32_t>::max()) {
    error_ = errc::oversized;
    return;
  }
  if (record_count_ == 0) base_timestamp_ = max_timestamp_ = timestamp;
  const std::size_t record_size = varlong_size(static_cast<std::int64_t>(body)) + body;
  reserve_more(record_size);

  std::uint8_t* p = buffer_.get() + (size_ - streamed_);
  [[maybe_unused]] std::uint8_t* const start = p;
  p = put_varint(p, static_cast<std::int64_t>(body));
  *p++ = 0;  // record attributes: unused
  p = put_varint(p, timestamp_delta);
  p = put_varint(p, record_count_);
  p = put_nullable_bytes(p, key);
  p = put_nullable_bytes(p, value);
  p = put_varint(p, static_cast<std::int64_t>(headers.size()));
  for (const header_view& h : headers) {
    p = put_varint(p, static_cast<std::int64_t>(h.key.size()));
    if (!h.key.empty()) std::memcpy(p, h.key.data(), h.key.size());
    p += h.key.size();
    p = put_nullable_bytes(p, h.value);
  }
  assert(static_cast<std::size_t>(p - start) == record_size);
  size_ += record_size;
  if (timestamp > max_timestamp_) max_timestamp_ = timestamp;
  ++record_count_;
  if (options_.codec == compression::lz4 &&
      size_ - streamed_ - record_batch_header_size >= lz4_frame_stream::block_size) {
    if (auto ec = stream_lz4(false)) error_ = ec;
  }
}

void record_batch_builder::append_end_txn_marker(control_type type, std::int32_t coordinator_epoch,
                                                 std::int64_t timestamp) {
  std::uint8_t key[4];
  store_be<std::int16_t>(key, 0);  // control record key version
  store_be<std::int16_t>(key + 2, static_cast<std::int16_t>(type));
  std::uint8_t value[6];
  store_be<std::int16_t>(value, 0);  // EndTxnMarker version
  store_be<std::int32_t>(value + 2, coordinator_epoch);
  append(timestamp, std::span<const std::uint8_t>(key), std::span<const std::uint8_t>(value));
}

void record_batch_builder::set_producer(std::int64_t producer_id, std::int16_t producer_epoch,
                                        std::int32_t base_sequence) noexcept {
  options_.producer_id = producer_id;
  options_.producer_epoch = producer_epoch;
  options_.base_sequence = base_sequence;
}

void record_batch_builder::write_header(std::uint8_t* batch,
                                        std::size_t batch_size) const noexcept {
  std::int16_t attributes = static_cast<std::int16_t>(options_.codec);
  if (options_.timestamp_kind == timestamp_type::log_append_time)
    attributes |= batch_attribute::log_append_time;
  if (options_.transactional) attributes |= batch_attribute::transactional;
  if (options_.control) attributes |= batch_attribute::control;
  store_be<std::int64_t>(batch, options_.base_offset);
  store_be<std::int32_t>(batch + record_batch_length_offset,
                         static_cast<std::int32_t>(batch_size - record_batch_overhead));
  store_be<std::int32_t>(batch + kPartitionLeaderEpochAt, options_.partition_leader_epoch);
  batch[kMagicAt] = static_cast<std::uint8_t>(record_batch_magic);
  store_be<std::int16_t>(batch + kAttributesAt, attributes);
  store_be<std::int32_t>(batch + kLastOffsetDeltaAt, last_offset_delta());
  store_be<std::int64_t>(batch + kBaseTimestampAt, base_timestamp_);
  store_be<std::int64_t>(batch + kMaxTimestampAt, max_timestamp_);
  store_be<std::int64_t>(batch + kProducerIdAt, options_.producer_id);
  store_be<std::int16_t>(batch + kProducerEpochAt, options_.producer_epoch);
  store_be<std::int32_t>(batch + kBaseSequenceAt, options_.base_sequence);
  store_be<std::int32_t>(batch + kRecordCountAt, record_count_);
  const std::uint32_t crc = crc32c({batch + kAttributesAt, batch_size - kAttributesAt});
  store_be<std::uint32_t>(batch + kCrcAt, crc);
}

std::error_code record_batch_builder::finish() {
  if (error_) return error_;
  if (finished_) return errc::invalid_record;
  reserve_more(0);  // a builder constructed without reserve still needs the header room
  if (options_.codec == compression::none) {
    if (size_ - record_batch_overhead > kInt32Max) return error_ = errc::oversized;
    write_header(buffer_.get(), size_);
  } else if (options_.codec == compression::lz4) {
    if (auto ec = stream_lz4(true)) return error_ = ec;
    if (compressed_size_ - record_batch_overhead > kInt32Max) return error_ = errc::oversized;
    write_header(compressed_.get(), compressed_size_);
  } else {
    // The compressed batch goes behind room for its header, in a buffer kept across batches
    // and never zero-filled: the codec's worst case is far above what it writes.
    class header_then_records final : public compress_output {
     public:
      explicit header_then_records(record_batch_builder& b) : b_(b) {}
      std::uint8_t* room(std::size_t bound) override {
        const std::size_t needed = record_batch_header_size + bound;
        if (needed > b_.compressed_capacity_) {
          b_.compressed_ = std::make_unique_for_overwrite<std::uint8_t[]>(needed);
          b_.compressed_capacity_ = needed;
        }
        return b_.compressed_.get() + record_batch_header_size;
      }

     private:
      record_batch_builder& b_;
    };
    const std::span<const std::uint8_t> records(buffer_.get() + record_batch_header_size,
                                                size_ - record_batch_header_size);
    header_then_records out(*this);
    std::size_t written = 0;
    if (auto ec = compress(options_.codec, records, out, written, options_.compression_level))
      return error_ = ec;
    compressed_size_ = record_batch_header_size + written;
    if (compressed_size_ - record_batch_overhead > kInt32Max) return error_ = errc::oversized;
    write_header(compressed_.get(), compressed_size_);
  }
  finished_ = true;
  return {};
}

std::span<const std::uint8_t> record_batch_builder::bytes() const noexcept {
  if (!finished_) return {};
  if (options_.codec == compression::none) return {buffer_.get(), size_};
  return {compressed_.get(), compressed_size_};
}

std::error_code record_batch_builder::restamp_producer(std::int64_t producer_id,
                                                       std::int16_t producer_epoch,
                                                       std::int32_t base_sequence) noexcept {
  if (!finished_) return errc::invalid_record;
  set_producer(producer_id, producer_epoch, base_sequence);
  std::span<std::uint8_t> batch =
      options_.codec == compression::none
          ? std::span<std::uint8_t>(buffer_.get(), size_)
          : std::span<std::uint8_t>(compressed_.get(), compressed_size_);
  return protocol::restamp_producer(batch, producer_id, producer_epoch, base_sequence);
}

std::error_code restamp_producer(std::span<std::uint8_t> batch, std::int64_t producer_id,
                                 std::int16_t producer_epoch, std::int32_t base_sequence) noexcept {
  if (batch.size() < record_batch_header_size) return errc::truncated;
  if (static_cast<std::int8_t>(batch[kMagicAt]) != record_batch_magic) return errc::invalid_magic;
  const std::int32_t batch_length =
      load_be<std::int32_t>(batch.data() + record_batch_length_offset);
  if (batch_length < 0 ||
      static_cast<std::size_t>(batch_length) + record_batch_overhead != batch.size())
    return errc::invalid_length;
  std::uint8_t* p = batch.data();
  store_be<std::int64_t>(p + kProducerIdAt, producer_id);
  store_be<std::int16_t>(p + kProducerEpochAt, producer_epoch);
  store_be<std::int32_t>(p + kBaseSequenceAt, base_sequence);
  store_be<std::uint32_t>(p + kCrcAt, crc32c(batch.subspan(kAttributesAt)));
  return {};
}

}  // namespace kwire::protocol
