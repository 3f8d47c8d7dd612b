#include "kwire/protocol/record_batch.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/protocol/crc32c.hpp"
#include "kwire/protocol/errors.hpp"

namespace kp = kwire::protocol;
using bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::int64_t kTimestamp = 1700000000000;  // 0x0000018BCFE56800

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string as_string(const kp::optional_bytes& b) {
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size())
           : std::string("<null>");
}

bytes finished(kp::record_batch_builder& builder) {
  EXPECT_FALSE(builder.finish());
  auto b = builder.bytes();
  return bytes(b.begin(), b.end());
}

// A record as the tests compare it: everything owned.
struct owned_record {
  std::int64_t offset;
  std::int64_t timestamp;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const owned_record&) const = default;
};

struct read_result {
  std::vector<kp::record_batch_header> batches;
  std::vector<owned_record> records;
  std::error_code error;
  bool incomplete_tail = false;
};

// Reads everything, touching every view, and stops at the first error (batch or record).
read_result read_all(std::span<const std::uint8_t> data,
                     kp::record_batch_reader_options options = {}) {
  read_result result;
  kp::record_batch_reader reader(data, options);
  kp::record_batch_view batch;
  while (reader.next(batch)) {
    result.batches.push_back(batch.header());
    kp::record_view r;
    auto cursor = batch.records();
    while (cursor.next(r)) {
      owned_record o{r.offset, r.timestamp, as_string(r.key), as_string(r.value), {}};
      for (const kp::header_view& h : r.headers)
        o.headers.emplace_back(std::string(h.key), as_string(h.value));
      EXPECT_EQ(o.headers.size(), r.headers.size());
      result.records.push_back(std::move(o));
    }
    if (cursor.error()) {
      result.error = cursor.error();
      return result;
    }
  }
  result.error = reader.error();
  result.incomplete_tail = reader.incomplete_tail();
  return result;
}

void put_be(bytes& out, std::uint64_t v, int size) {
  for (int i = size - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// A batch around a hand-made records section, with a correct CRC.
bytes make_batch(const bytes& records, std::int32_t count, std::int32_t last_offset_delta,
                 std::int16_t attributes = 0) {
  bytes b;
  put_be(b, 0, 8);
  put_be(b, static_cast<std::uint32_t>(49 + records.size()), 4);
  put_be(b, 0xffffffff, 4);
  b.push_back(2);
  put_be(b, 0, 4);  // CRC, below
  put_be(b, static_cast<std::uint16_t>(attributes), 2);
  put_be(b, static_cast<std::uint32_t>(last_offset_delta), 4);
  put_be(b, kTimestamp, 8);
  put_be(b, kTimestamp, 8);
  put_be(b, ~0ull, 8);
  put_be(b, 0xffff, 2);
  put_be(b, 0xffffffff, 4);
  put_be(b, static_cast<std::uint32_t>(count), 4);
  b.insert(b.end(), records.begin(), records.end());
  const std::uint32_t crc = kp::crc32c(std::span(b).subspan(21));
  for (int i = 0; i < 4; ++i) b[17 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  return b;
}

// Minimal record (attributes, deltas 0, given key/value bytes already encoded).
bytes make_record(const bytes& body) {
  bytes r;
  r.push_back(static_cast<std::uint8_t>(body.size() * 2));  // zigzag length, < 64
  r.insert(r.end(), body.begin(), body.end());
  return r;
}

}  // namespace

// The expected bytes are written out from the layout in the protocol description, not from
// the encoder: one record, key "k", value "v1", header "h" = "x", timestamp 1700000000000.
TEST(RecordBatch, GoldenBatchMatchesTheSpecByteForByte) {
  // clang-format off
  const bytes expected = {
      0, 0, 0, 0, 0, 0, 0, 0,                          // baseOffset 0
      0, 0, 0, 63,                                      // batchLength = 75 - 12
      0xff, 0xff, 0xff, 0xff,                           // partitionLeaderEpoch -1
      2,                                                // magic
      0x9f, 0x24, 0xbf, 0x72,                           // CRC-32C of bytes 21..74
      0, 0,                                             // attributes: none, create time
      0, 0, 0, 0,                                       // lastOffsetDelta 0
      0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,         // baseTimestamp
      0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,         // maxTimestamp
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // producerId -1
      0xff, 0xff,                                       // producerEpoch -1
      0xff, 0xff, 0xff, 0xff,                           // baseSequence -1
      0, 0, 0, 1,                                       // recordCount 1
      0x1a,                                             // record length 13 (zigzag 26)
      0x00,                                             // record attributes
      0x00,                                             // timestampDelta 0
      0x00,                                             // offsetDelta 0
      0x02, 'k',                                        // key length 1, key
      0x04, 'v', '1',                                   // value length 2, value
      0x02,                                             // header count 1
      0x02, 'h', 0x02, 'x',                             // header key "h", value "x"
  };
  // clang-format on
  kp::record_batch_builder builder;
  const kp::header_view headers[] = {{"h", as_bytes("x")}};
  EXPECT_EQ(builder.encoded_record_size(kTimestamp, as_bytes("k"), as_bytes("v1"), headers), 14u);
  builder.append(kTimestamp, as_bytes("k"), as_bytes("v1"), headers);
  EXPECT_EQ(builder.size_in_bytes(), expected.size());
  EXPECT_EQ(finished(builder), expected);

  kp::record_batch_reader reader(expected);
  kp::record_batch_view batch;
  ASSERT_TRUE(reader.next(batch));
  const auto& h = batch.header();
  EXPECT_EQ(h.base_offset, 0);
  EXPECT_EQ(h.batch_length, 63);
  EXPECT_EQ(h.partition_leader_epoch, -1);
  EXPECT_EQ(h.magic, 2);
  EXPECT_EQ(h.crc, 0x9f24bf72u);
  EXPECT_EQ(h.codec(), kp::compression::none);
  EXPECT_EQ(h.timestamp_kind(), kp::timestamp_type::create_time);
  EXPECT_FALSE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_FALSE(h.has_delete_horizon());
  EXPECT_EQ(h.last_offset_delta, 0);
  EXPECT_EQ(h.base_timestamp, kTimestamp);
  EXPECT_EQ(h.max_timestamp, kTimestamp);
  EXPECT_EQ(h.producer_id, -1);
  EXPECT_EQ(h.producer_epoch, -1);
  EXPECT_EQ(h.base_sequence, -1);
  EXPECT_EQ(h.record_count, 1);
  EXPECT_EQ(h.size_in_bytes(), expected.size());
  EXPECT_EQ(batch.wire_bytes().data(), expected.data());  // a view, not a copy
  kp::record_view r;
  auto cursor = batch.records();
  ASSERT_TRUE(cursor.next(r));
  EXPECT_EQ(r.offset, 0);
  EXPECT_EQ(r.timestamp, kTimestamp);
  EXPECT_EQ(as_string(r.key), "k");
  EXPECT_EQ(r.key->data(), expected.data() + 66);  // points into the input buffer
  EXPECT_EQ(as_string(r.value), "v1");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers.begin()->key, "h");
  EXPECT_EQ(as_string(r.headers.begin()->value), "x");
  EXPECT_FALSE(cursor.next(r));
  EXPECT_FALSE(cursor.error());
  EXPECT_FALSE(reader.next(batch));
  EXPECT_FALSE(reader.error());
  EXPECT_FALSE(reader.incomplete_tail());
  EXPECT_EQ(reader.consumed(), expected.size());
}

TEST(RecordBatch, NullAndEmptyKeysValuesAndHeadersAreDistinct) {
  kp::record_batch_builder builder({}, 1024);
  const kp::header_view headers[] = {
      {"null-value", std::nullopt}, {"empty", as_bytes("")}, {"", as_bytes("v")}};
  builder.append(kTimestamp, std::nullopt, as_bytes("value"));
  builder.append(kTimestamp + 5, as_bytes(""), std::nullopt);
  builder.append(kTimestamp - 3, as_bytes("key"), as_bytes(""), headers);
  builder.append(kTimestamp + 1, std::nullopt, std::nullopt);
  EXPECT_EQ(builder.record_count(), 4);
  EXPECT_EQ(builder.max_timestamp(), kTimestamp + 5);
  EXPECT_EQ(builder.last_offset_delta(), 3);
  const bytes batch = finished(builder);
  auto result = read_all(batch);
  ASSERT_FALSE(result.error) << result.error.message();
  ASSERT_EQ(result.records.size(), 4u);
  EXPECT_EQ(result.records[0], (owned_record{0, kTimestamp, "<null>", "value", {}}));
  EXPECT_EQ(result.records[1], (owned_record{1, kTimestamp + 5, "", "<null>", {}}));
  EXPECT_EQ(
      result.records[2],
      (owned_record{
          2, kTimestamp - 3, "key", "", {{"null-value", "<null>"}, {"empty", ""}, {"", "v"}}}));
  EXPECT_EQ(result.records[3], (owned_record{3, kTimestamp + 1, "<null>", "<null>", {}}));
  EXPECT_EQ(result.batches[0].max_timestamp, kTimestamp + 5);
  EXPECT_EQ(result.batches[0].base_timestamp, kTimestamp);
}

TEST(RecordBatch, EncodedRecordSizeIsExact) {
  kp::record_batch_builder builder;
  std::mt19937 rng(5);
  std::string big(70000, 'x');
  for (int i = 0; i < 500; ++i) {
    std::string key(rng() % 200, 'k'),
        value(rng() % 3 == 0 ? big.substr(0, rng() % 70000) : std::string(rng() % 300, 'v'));
    const std::string header_value = value.substr(0, 10);
    const kp::header_view headers[] = {{"a", as_bytes(header_value)}, {"bb", std::nullopt}};
    const std::int64_t ts = kTimestamp + static_cast<std::int64_t>(rng() % 1000000) - 500000;
    const std::size_t before = builder.size_in_bytes();
    const std::size_t predicted = builder.encoded_record_size(ts, as_bytes(key), as_bytes(value),
                                                              std::span(headers).first(i % 3));
    builder.append(ts, as_bytes(key), as_bytes(value), std::span(headers).first(i % 3));
    ASSERT_EQ(builder.size_in_bytes() - before, predicted) << i;
  }
  const bytes batch = finished(builder);
  auto result = read_all(batch);
  EXPECT_FALSE(result.error);
  EXPECT_EQ(result.records.size(), 500u);
}

TEST(RecordBatch, VarintSizesMatchTheEncoding) {
  // Every bit width, at both ends of its range and in between.
  std::vector<std::uint64_t> values = {0, ~0ull};
  for (int bits = 1; bits <= 64; ++bits) {
    const std::uint64_t low = 1ull << (bits - 1);
    const std::uint64_t high = bits == 64 ? ~0ull : (1ull << bits) - 1;
    values.insert(values.end(), {low, high, low + (high - low) / 3});
  }
  for (std::uint64_t v : values) {
    std::uint8_t out[10];
    const auto written = static_cast<std::size_t>(kp::put_unsigned_varint(out, v) - out);
    ASSERT_EQ(kp::unsigned_varint_size(v), written) << v;
  }
  EXPECT_EQ(kp::varint_size(-1), 1u);
  EXPECT_EQ(kp::varint_size(-65), 2u);
  EXPECT_EQ(kp::varlong_size(std::numeric_limits<std::int64_t>::min()), 10u);
}

// The producer sizes each record's fields once and passes that size to append(): the batch
// must be byte for byte the one the plain append() builds, and the sizes must add up.
TEST(RecordBatch, AppendWithFieldsSizeBuildsTheSameBatch) {
  kp::record_batch_builder plain, sized;
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    const std::string key(rng() % 150, 'k'), value(rng() % 400, 'v'), header_value(i % 7, 'h');
    const kp::header_view headers[] = {{"a", as_bytes(header_value)}, {"bb", std::nullopt}};
    const auto h = std::span(headers).first(static_cast<std::size_t>(i % 3));
    const kp::optional_bytes k = i % 5 == 0 ? kp::optional_bytes{} : as_bytes(key);
    const kp::optional_bytes v = i % 11 == 0 ? kp::optional_bytes{} : as_bytes(value);
    // The first record's timestamp is the batch's base.
    const std::int64_t ts_delta = i == 0 ? 0 : static_cast<std::int64_t>(rng() % 100000) - 50000;
    const std::int64_t ts = kTimestamp + ts_delta;
    const std::size_t fields = kp::encoded_record_fields_size(k, v, h);
    const std::size_t expected_size = kp::encoded_record_size_for(ts_delta, i, fields);
    ASSERT_EQ(sized.encoded_record_size(ts, k, v, h), expected_size) << i;
    const std::size_t before = sized.size_in_bytes();
    plain.append(ts, k, v, h);
    sized.append(ts, k, v, h, fields);
    ASSERT_EQ(sized.size_in_bytes() - before, expected_size) << i;
  }
  EXPECT_EQ(finished(sized), finished(plain));
}

TEST(RecordBatch, ManyRecordsRoundTripWithEveryCodec) {
  for (auto codec : {kp::compression::none, kp::compression::gzip, kp::compression::snappy,
                     kp::compression::lz4, kp::compression::zstd}) {
    kp::record_batch_builder builder({.codec = codec, .base_offset = 1000});
    std::vector<owned_record> expected;
    for (int i = 0; i < 5000; ++i) {
      std::string key = "key-" + std::to_string(i % 97);
      std::string value =
          "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 200), 'z');
      std::string header_value = std::to_string(i * 7);
      const kp::header_view headers[] = {{"trace", as_bytes(header_value)}};
      const std::int64_t ts = kTimestamp + (i % 13) * 1000 - 6000;
      builder.append(ts, as_bytes(key), as_bytes(value), std::span(headers).first(i % 2));
      owned_record o{1000 + i, ts, key, value, {}};
      if (i % 2) o.headers.emplace_back("trace", header_value);
      expected.push_back(o);
    }
    const bytes batch = finished(builder);
    if (codec != kp::compression::none) {
      EXPECT_LT(batch.size(), builder.size_in_bytes() / 2) << kp::compression_name(codec);
    }
    auto result = read_all(batch);
    ASSERT_FALSE(result.error) << kp::compression_name(codec) << ": " << result.error.message();
    ASSERT_EQ(result.batches.size(), 1u);
    EXPECT_EQ(result.batches[0].codec(), codec);
    EXPECT_EQ(result.batches[0].base_offset, 1000);
    EXPECT_EQ(result.batches[0].last_offset(), 5999);
    EXPECT_EQ(result.batches[0].max_timestamp, kTimestamp + 6000);
    EXPECT_EQ(result.records, expected) << kp::compression_name(codec);
  }
}

// lz4 batches are compressed in blocks while they fill: the result must be the frame that
// compressing the whole records section at once gives, whatever the record sizes, also when
// one builder is reused for batches of different sizes.
TEST(RecordBatch, Lz4BatchesCompressedWhileFillingEqualTheWholeFrame) {
  kp::record_batch_builder streamed({.codec = kp::compression::lz4});
  std::mt19937 rng(5);
  for (const std::size_t records : {0u, 1u, 600u, 5000u, 40u, 3000u}) {
    streamed.reset({.codec = kp::compression::lz4, .base_offset = 7});
    streamed.reserve(1 << 20);
    kp::record_batch_builder plain({.codec = kp::compression::none, .base_offset = 7});
    for (std::size_t i = 0; i < records; ++i) {
      // Mostly small values, now and then one larger than a whole 64 KiB block.
      const std::size_t size = i % 997 == 3 ? 70000 + rng() % 70000 : rng() % 300;
      std::string value(size, 'a');
      for (std::size_t j = 0; j < size; j += 8) value[j] = static_cast<char>('a' + rng() % 26);
      const std::int64_t ts = kTimestamp + static_cast<std::int64_t>(i);
      streamed.append(ts, std::nullopt, as_bytes(value));
      plain.append(ts, std::nullopt, as_bytes(value));
      ASSERT_EQ(streamed.size_in_bytes(), plain.size_in_bytes());
    }
    const bytes batch = finished(streamed);
    const bytes uncompressed = finished(plain);
    bytes frame;
    ASSERT_FALSE(kp::compress(kp::compression::lz4,
                              std::span(uncompressed).subspan(kp::record_batch_header_size),
                              frame));
    ASSERT_EQ(batch.size(), kp::record_batch_header_size + frame.size()) << records;
    EXPECT_TRUE(
        std::equal(frame.begin(), frame.end(),
                   batch.begin() + static_cast<std::ptrdiff_t>(kp::record_batch_header_size)))
        << records;
    auto result = read_all(batch);
    ASSERT_FALSE(result.error) << result.error.message();
    EXPECT_EQ(result.records.size(), records);
  }
}

TEST(RecordBatch, CompressedRecordsAreViewsIntoTheCallersScratch) {
  kp::record_batch_builder builder({.codec = kp::compression::zstd});
  builder.append(kTimestamp, as_bytes("key"), as_bytes("value"));
  const bytes batch = finished(builder);
  std::vector<std::uint8_t> scratch;
  kp::record_batch_reader reader(batch, scratch);
  kp::record_batch_view view;
  ASSERT_TRUE(reader.next(view));
  kp::record_view r;
  auto cursor = view.records();
  ASSERT_TRUE(cursor.next(r));
  ASSERT_TRUE(r.value);
  EXPECT_GE(r.value->data(), scratch.data());
  EXPECT_LT(r.value->data(), scratch.data() + scratch.size());
  EXPECT_EQ(view.records_section().size(), scratch.size());
}

TEST(RecordBatch, Lz4BatchesDecompressIntoTheCallersMemoryWhenGiven) {
  kp::record_batch_builder lz4({.codec = kp::compression::lz4});
  kp::record_batch_builder zstd({.codec = kp::compression::zstd});
  for (int i = 0; i < 300; ++i) {
    const std::string value = "value " + std::to_string(i) + std::string(200, 'v');
    lz4.append(kTimestamp + i, as_bytes("key"), as_bytes(value));
    zstd.append(kTimestamp + i, as_bytes("key"), as_bytes(value));
  }
  const bytes lz4_batch = finished(lz4), zstd_batch = finished(zstd);
  std::vector<std::size_t> asked;
  bytes arena(1 << 20);
  auto options = kp::record_batch_reader_options{};
  options.decompress_to = [&](std::size_t bound) {
    asked.push_back(bound);
    return std::span(arena);
  };
  // lz4 (which tells a size bound) goes into the given memory, other codecs into scratch;
  // the records read the same either way.
  EXPECT_EQ(read_all(lz4_batch, options).records, read_all(lz4_batch).records);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_GE(asked[0], lz4.size_in_bytes() - kp::record_batch_header_size);
  EXPECT_EQ(read_all(zstd_batch, options).records, read_all(zstd_batch).records);
  EXPECT_EQ(asked.size(), 1u);

  bytes scratch;
  kp::record_batch_reader reader(lz4_batch, scratch, options);
  kp::record_batch_view view;
  ASSERT_TRUE(reader.next(view));
  EXPECT_EQ(view.records_section().data(), arena.data());
  EXPECT_TRUE(scratch.empty());

  // A bound above max_decompressed_size takes the scratch path, which enforces the limit.
  asked.clear();
  options.max_decompressed_size = 1000;
  EXPECT_EQ(read_all(lz4_batch, options).error, kp::errc::oversized);
  EXPECT_TRUE(asked.empty());
}

TEST(RecordBatch, TransactionalAndIdempotentFieldsRoundTrip) {
  kp::record_batch_builder builder({.codec = kp::compression::lz4,
                                    .transactional = true,
                                    .base_offset = 50,
                                    .partition_leader_epoch = 7,
                                    .producer_id = 123456789012,
                                    .producer_epoch = 3,
                                    .base_sequence = 41});
  builder.append(kTimestamp, as_bytes("a"), as_bytes("b"));
  builder.append(kTimestamp + 10, as_bytes("c"), as_bytes("d"));
  const bytes batch = finished(builder);
  auto result = read_all(batch);
  ASSERT_FALSE(result.error);
  const auto& h = result.batches.at(0);
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.codec(), kp::compression::lz4);
  EXPECT_EQ(h.base_offset, 50);
  EXPECT_EQ(h.partition_leader_epoch, 7);
  EXPECT_EQ(h.producer_id, 123456789012);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 41);
  EXPECT_EQ(h.attributes, 0x13);
  EXPECT_EQ(result.records.at(1).offset, 51);
}

TEST(RecordBatch, RestampRewritesProducerFieldsAndCrc) {
  kp::record_batch_builder builder({.codec = kp::compression::snappy});
  builder.set_producer(77, 1, 0);
  builder.append(kTimestamp, as_bytes("k"), as_bytes("v"));
  EXPECT_EQ(builder.restamp_producer(1, 2, 3), kp::errc::invalid_record);  // not finished yet
  const bytes original = finished(builder);
  EXPECT_EQ(read_all(original).batches.at(0).producer_id, 77);

  ASSERT_FALSE(builder.restamp_producer(78, 2, 100));
  bytes restamped(builder.bytes().begin(), builder.bytes().end());
  auto result = read_all(restamped);
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.batches[0].producer_id, 78);
  EXPECT_EQ(result.batches[0].producer_epoch, 2);
  EXPECT_EQ(result.batches[0].base_sequence, 100);
  // Only producer fields and CRC changed.
  ASSERT_EQ(restamped.size(), original.size());
  for (std::size_t i = 0; i < original.size(); ++i) {
    const bool may_change = (i >= 17 && i < 21) || (i >= 43 && i < 57);
    if (!may_change) {
      ASSERT_EQ(restamped[i], original[i]) << i;
    }
  }

  // The free function on someone else's bytes.
  ASSERT_FALSE(kp::restamp_producer(restamped, 5, 6, 7));
  EXPECT_EQ(read_all(restamped).batches.at(0).base_sequence, 7);
  bytes broken = restamped;
  broken[16] = 1;
  EXPECT_EQ(kp::restamp_producer(broken, 5, 6, 7), kp::errc::invalid_magic);
  EXPECT_EQ(kp::restamp_producer(std::span(restamped).first(60), 5, 6, 7), kp::errc::truncated);
  EXPECT_EQ(kp::restamp_producer(std::span(restamped).first(70), 5, 6, 7),
            kp::errc::invalid_length);
}

TEST(RecordBatch, ControlBatchesCarryTransactionMarkers) {
  for (auto type : {kp::control_type::commit, kp::control_type::abort}) {
    kp::record_batch_builder builder({.transactional = true,
                                      .control = true,
                                      .base_offset = 53,
                                      .producer_id = 9,
                                      .producer_epoch = 4});
    builder.append_end_txn_marker(type, 11, kTimestamp);
    const bytes batch = finished(builder);
    kp::record_batch_reader reader(batch);
    kp::record_batch_view view;
    ASSERT_TRUE(reader.next(view));
    EXPECT_TRUE(view.header().is_control());
    EXPECT_TRUE(view.header().is_transactional());
    EXPECT_EQ(view.header().attributes, 0x30);
    kp::record_view r;
    auto cursor = view.records();
    ASSERT_TRUE(cursor.next(r));
    // Key: version 0, type; value: version 0, coordinator epoch 11.
    const std::uint8_t type_byte = type == kp::control_type::commit ? 1 : 0;
    EXPECT_EQ(bytes(r.key->begin(), r.key->end()), (bytes{0, 0, 0, type_byte}));
    EXPECT_EQ(bytes(r.value->begin(), r.value->end()), (bytes{0, 0, 0, 0, 0, 11}));
    kp::control_record_key key;
    ASSERT_FALSE(kp::parse_control_record_key(r, key));
    EXPECT_EQ(key.version, 0);
    EXPECT_EQ(key.type, type);
    kp::end_txn_marker marker;
    ASSERT_FALSE(kp::parse_end_txn_marker(r, marker));
    EXPECT_EQ(marker.coordinator_epoch, 11);
    EXPECT_EQ(r.offset, 53);
  }
  kp::record_view plain;
  kp::control_record_key key;
  kp::end_txn_marker marker;
  EXPECT_EQ(kp::parse_control_record_key(plain, key), kp::errc::invalid_record);  // null key
  const bytes short_key = {0, 0, 1};
  plain.key = short_key;
  plain.value = short_key;
  EXPECT_EQ(kp::parse_control_record_key(plain, key), kp::errc::invalid_record);
  EXPECT_EQ(kp::parse_end_txn_marker(plain, marker), kp::errc::invalid_record);
  const bytes negative_version = {0xff, 0xff, 0, 1};
  plain.key = negative_version;
  EXPECT_EQ(kp::parse_control_record_key(plain, key), kp::errc::invalid_record);
}

TEST(RecordBatch, LogAppendTimeGivesEveryRecordTheMaxTimestamp) {
  // Written as a broker would: log-append-time attribute, maxTimestamp = append time.
  const bytes records =
      make_record({0, 0x04, 0, 1, 1, 0});  // ts delta 2, null key/value, no headers
  bytes batch = make_batch(records, 1, 0, kp::batch_attribute::log_append_time);
  auto result = read_all(batch);
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.batches.at(0).timestamp_kind(), kp::timestamp_type::log_append_time);
  EXPECT_EQ(result.records.at(0).timestamp, kTimestamp);  // max, not base + 2
  batch = make_batch(records, 1, 0);
  EXPECT_EQ(read_all(batch).records.at(0).timestamp, kTimestamp + 2);
}

TEST(RecordBatch, EmptyBatchIsAllowed) {
  kp::record_batch_builder builder({.base_offset = 10});
  const bytes batch = finished(builder);
  EXPECT_EQ(batch.size(), kp::record_batch_header_size);
  auto result = read_all(batch);
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.batches.size(), 1u);
  EXPECT_EQ(result.batches[0].record_count, 0);
  EXPECT_EQ(result.batches[0].next_offset(), 10);
  EXPECT_TRUE(result.records.empty());
}

TEST(RecordBatch, BuilderResetReusesTheBuffer) {
  kp::record_batch_builder builder({.codec = kp::compression::gzip});
  builder.append(kTimestamp, as_bytes("a"), as_bytes("1"));
  const bytes first = finished(builder);
  builder.append(kTimestamp, as_bytes("late"), as_bytes("x"));
  EXPECT_EQ(builder.finish(), kp::errc::invalid_record);  // append after finish
  builder.reset({.base_offset = 1});
  EXPECT_TRUE(builder.bytes().empty());
  builder.append(kTimestamp, as_bytes("b"), as_bytes("2"));
  const bytes second = finished(builder);
  bytes both = first;
  both.insert(both.end(), second.begin(), second.end());
  auto result = read_all(both);
  ASSERT_FALSE(result.error);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[0].key, "a");
  EXPECT_EQ(result.records[1].key, "b");
  EXPECT_EQ(result.records[1].offset, 1);
}

TEST(RecordBatch, ConcatenatedBatchesWithAnIncompleteTail) {
  bytes data;
  for (int b = 0; b < 3; ++b) {
    kp::record_batch_builder builder(
        {.codec = b == 1 ? kp::compression::snappy : kp::compression::none, .base_offset = b * 10});
    for (int i = 0; i < 3; ++i)
      builder.append(kTimestamp + i, as_bytes("k"),
                     as_bytes("value " + std::to_string(b * 10 + i)));
    const bytes one = finished(builder);
    data.insert(data.end(), one.begin(), one.end());
  }
  const std::size_t whole = data.size();
  auto result = read_all(data);
  ASSERT_FALSE(result.error);
  EXPECT_EQ(result.batches.size(), 3u);
  EXPECT_EQ(result.records.size(), 9u);
  EXPECT_EQ(result.records[4].value, "value 11");
  // Every truncation: complete batches before the cut are read, the rest is a tail.
  std::size_t batches_seen = 0;
  for (std::size_t n = 0; n <= whole; ++n) {
    auto cut = read_all(std::span(data).first(n));
    ASSERT_FALSE(cut.error) << n << ": " << cut.error.message();
    EXPECT_GE(cut.batches.size(), batches_seen);
    batches_seen = cut.batches.size();
    const std::size_t complete_bytes = [&] {
      std::size_t sum = 0;
      for (const auto& h : cut.batches) sum += h.size_in_bytes();
      return sum;
    }();
    EXPECT_EQ(cut.incomplete_tail, complete_bytes != n) << n;
  }
  EXPECT_EQ(batches_seen, 3u);
}

TEST(RecordBatch, FlippingAnyByteIsDetectedOrHarmless) {
  kp::record_batch_builder builder({.producer_id = 5, .producer_epoch = 1, .base_sequence = 0});
  const kp::header_view headers[] = {{"h", as_bytes("x")}, {"n", std::nullopt}};
  builder.append(kTimestamp, as_bytes("key"), as_bytes("value"), headers);
  builder.append(kTimestamp + 1, std::nullopt, as_bytes(""));
  const bytes original = finished(builder);
  for (std::size_t i = 0; i < original.size(); ++i) {
    for (std::uint8_t mask : {0x01, 0x40, 0x80, 0xff}) {
      bytes corrupt = original;
      corrupt[i] ^= mask;
      auto checked = read_all(corrupt);
      if (i >= 17) {
        // Covered by the CRC (or the CRC itself).
        EXPECT_EQ(checked.error, kp::errc::crc_mismatch) << "byte " << i;
      } else if (i == 16) {
        EXPECT_EQ(checked.error, kp::errc::invalid_magic);
      } else if (i >= 8 && i < 12) {
        EXPECT_TRUE(checked.error || checked.incomplete_tail) << "byte " << i;
      } else {  // base offset, partition leader epoch: not covered, still a valid batch
        EXPECT_FALSE(checked.error) << "byte " << i;
        EXPECT_EQ(checked.records.size(), 2u);
      }
      // Without the CRC the records themselves must be checked: no crash, typed errors.
      auto unchecked = read_all(corrupt, {.verify_crc = false});
      if (unchecked.error) {
        EXPECT_EQ(&unchecked.error.category(),
                  &kp::make_error_code(kp::errc::truncated).category());
      }
    }
  }
}

TEST(RecordBatch, FlippingBytesOfCompressedBatchesNeverCrashes) {
  for (auto codec : {kp::compression::gzip, kp::compression::snappy, kp::compression::lz4,
                     kp::compression::zstd}) {
    kp::record_batch_builder builder({.codec = codec});
    for (int i = 0; i < 20; ++i)
      builder.append(kTimestamp + i, as_bytes("key"), as_bytes("value value value"));
    const bytes original = finished(builder);
    for (std::size_t i = 21; i < original.size(); ++i) {
      bytes corrupt = original;
      corrupt[i] ^= 0x5a;
      auto checked = read_all(corrupt);
      EXPECT_EQ(checked.error, kp::errc::crc_mismatch);
      auto unchecked = read_all(corrupt, {.verify_crc = false, .max_decompressed_size = 1 << 16});
      (void)unchecked;  // any outcome but a crash (run under ASan/UBSan)
    }
  }
}

TEST(RecordBatch, HeaderLevelErrors) {
  kp::record_batch_builder builder;
  builder.append(kTimestamp, as_bytes("k"), as_bytes("v"));
  const bytes good = finished(builder);

  bytes legacy = good;
  legacy[16] = 1;
  EXPECT_EQ(read_all(legacy).error, kp::errc::invalid_magic);

  bytes short_length = good;
  short_length[11] = 48;  // below the 49 bytes of header after batchLength
  EXPECT_EQ(read_all(short_length).error, kp::errc::invalid_length);
  bytes negative_length = good;
  negative_length[8] = 0x80;
  EXPECT_EQ(read_all(negative_length).error, kp::errc::invalid_length);

  EXPECT_EQ(read_all(good, {.max_batch_size = good.size() - 1}).error, kp::errc::oversized);
  EXPECT_FALSE(read_all(good, {.max_batch_size = good.size()}).error);

  // A huge declared length is a tail when allowed, oversized when beyond the limit.
  bytes huge = good;
  huge[8] = 0x10;
  EXPECT_TRUE(read_all(huge, {.verify_crc = false}).incomplete_tail);
  EXPECT_EQ(read_all(huge, {.max_batch_size = 1 << 20}).error, kp::errc::oversized);

  bytes unknown_codec = make_batch({}, 0, -1, 5);
  EXPECT_EQ(read_all(unknown_codec).error, kp::errc::unknown_compression);
  bytes negative_count = make_batch({}, -1, -1);
  EXPECT_EQ(read_all(negative_count).error, kp::errc::invalid_length);
  // 1,000,000 records cannot fit in 14 bytes: rejected before any record is read.
  bytes impossible_count = make_batch(make_record({0, 0, 0, 1, 1, 0}), 1000000, 999999);
  EXPECT_EQ(read_all(impossible_count).error, kp::errc::invalid_record);
}

TEST(RecordBatch, DecompressionIsBounded) {
  kp::record_batch_builder builder({.codec = kp::compression::zstd});
  const std::string value(100000, 'a');
  for (int i = 0; i < 20; ++i) builder.append(kTimestamp, std::nullopt, as_bytes(value));
  const bytes batch = finished(builder);
  EXPECT_LT(batch.size(), 10000u);
  EXPECT_EQ(read_all(batch, {.max_decompressed_size = 1 << 20}).error, kp::errc::oversized);
  EXPECT_FALSE(read_all(batch, {.max_decompressed_size = 4 << 20}).error);

  bytes garbage =
      make_batch({1, 2, 3, 4, 5, 6, 7, 8}, 1, 0, static_cast<std::int16_t>(kp::compression::lz4));
  EXPECT_EQ(read_all(garbage).error, kp::errc::decompression_failed);
}

TEST(RecordBatch, RecordLevelErrors) {
  struct test_case {
    const char* name;
    bytes records;
    std::int32_t count;
    std::int32_t last_offset_delta;
    kp::errc expected;
  };
  const bytes ok = make_record({0, 0, 0, 1, 1, 0});  // null key, null value, no headers
  auto twice = [&](const bytes& second) {
    bytes both = ok;
    both.insert(both.end(), second.begin(), second.end());
    return both;
  };
  const test_case cases[] = {
      {"count above records found", ok, 2, 1, kp::errc::invalid_record},
      {"records beyond count", twice(ok), 1, 1, kp::errc::trailing_bytes},
      {"zero count with bytes", ok, 0, 0, kp::errc::trailing_bytes},
      {"key length -2", make_record({0, 0, 0, 3, 1, 0}), 1, 0, kp::errc::invalid_length},
      {"key longer than record", make_record({0, 0, 0, 20, 1, 0}), 1, 0, kp::errc::truncated},
      {"value longer than record", make_record({0, 0, 0, 1, 8, 'a', 0}), 1, 0, kp::errc::truncated},
      {"negative header count", make_record({0, 0, 0, 1, 1, 1}), 1, 0, kp::errc::invalid_length},
      {"header count beyond bytes", make_record({0, 0, 0, 1, 1, 4, 0, 1}), 1, 0,
       kp::errc::truncated},
      {"null header key", make_record({0, 0, 0, 1, 1, 2, 1, 1}), 1, 0, kp::errc::invalid_length},
      {"header value beyond record", make_record({0, 0, 0, 1, 1, 2, 0, 8}), 1, 0,
       kp::errc::truncated},
      {"bytes after the last field", make_record({0, 0, 0, 1, 1, 0, 0}), 1, 0,
       kp::errc::trailing_bytes},
      {"record length below minimum", bytes{0x0a, 0, 0, 0, 1, 1, 0}, 1, 0,
       kp::errc::invalid_length},
      {"negative record length", bytes{0x01, 0, 0, 0, 1, 1, 0, 0}, 1, 0, kp::errc::invalid_length},
      {"record length beyond batch", bytes{0x20, 0, 0, 0, 1, 1, 0, 0}, 1, 0, kp::errc::truncated},
      {"varint too long", bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0}, 1, 0,
       kp::errc::invalid_varint},
      {"offset delta beyond last", make_record({0, 0, 2, 1, 1, 0}), 1, 0, kp::errc::invalid_record},
      {"offset delta negative", make_record({0, 0, 1, 1, 1, 0}), 1, 0, kp::errc::invalid_record},
      {"offset deltas not rising", twice(ok), 2, 1, kp::errc::invalid_record},
  };
  for (const auto& c : cases) {
    auto result = read_all(make_batch(c.records, c.count, c.last_offset_delta));
    EXPECT_EQ(result.error, c.expected) << c.name << ": " << result.error.message();
  }
  // Gaps in offset deltas (compaction) are fine.
  bytes gap = twice(make_record({0, 0, 6, 1, 1, 0}));
  auto result = read_all(make_batch(gap, 2, 5));
  ASSERT_FALSE(result.error) << result.error.message();
  EXPECT_EQ(result.records.at(1).offset, 3);
}

TEST(RecordBatch, OffsetsAndTimestampsWrapInsteadOfOverflowing) {
  kp::record_batch_builder builder({.base_offset = std::numeric_limits<std::int64_t>::max()});
  builder.append(std::numeric_limits<std::int64_t>::max(), std::nullopt, std::nullopt);
  builder.append(std::numeric_limits<std::int64_t>::min(), std::nullopt, std::nullopt);
  const bytes batch = finished(builder);
  auto result = read_all(batch);
  ASSERT_FALSE(result.error);
  EXPECT_EQ(result.records.at(1).offset, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(result.records.at(1).timestamp, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(result.batches.at(0).last_offset(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(result.batches.at(0).next_offset(), std::numeric_limits<std::int64_t>::min() + 1);
}

// skip() passes over records reading only their length and offset delta; a cursor copied
// after some skips resumes there with next() (how a consumer hands out part of a batch).
TEST(RecordBatch, SkipPassesOverRecordsAndACopiedCursorResumesThere) {
  for (auto codec : {kp::compression::none, kp::compression::zstd}) {
    kp::record_batch_builder builder({.codec = codec, .base_offset = 500});
    for (int i = 0; i < 10; ++i) {
      const std::string value = "value-" + std::to_string(i);
      builder.append(kTimestamp + i, as_bytes("k"), as_bytes(value), {});
    }
    const bytes batch = finished(builder);
    std::vector<std::uint8_t> scratch;
    kp::record_batch_reader reader(batch, scratch);
    kp::record_batch_view view;
    ASSERT_TRUE(reader.next(view)) << reader.error().message();
    auto cursor = view.records();
    std::int64_t offset = -1;
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(cursor.skip(offset));
      EXPECT_EQ(offset, 500 + i);
    }
    EXPECT_EQ(cursor.records_left(), 6);
    auto resumed = cursor;
    kp::record_view r;
    ASSERT_TRUE(resumed.next(r));
    EXPECT_EQ(r.offset, 504);
    EXPECT_EQ(as_string(r.value), "value-4");
    while (cursor.skip(offset)) {
    }
    EXPECT_FALSE(cursor.error()) << cursor.error().message();
    EXPECT_EQ(offset, 509);
  }
}

TEST(RecordBatch, SkipReportsMalformedRecordsAsNextDoes) {
  const bytes ok = make_record({0, 0, 0, 1, 1, 0});
  const struct {
    const char* name;
    bytes records;
    std::int32_t count;
    std::int32_t last_offset_delta;
    kp::errc expected;
  } cases[] = {
      {"records beyond count", [&] {
         bytes both = ok;
         both.insert(both.end(), ok.begin(), ok.end());
         return both;
       }(), 1, 1, kp::errc::trailing_bytes},
      {"offset delta beyond last", make_record({0, 0, 2, 1, 1, 0}), 1, 0, kp::errc::invalid_record},
      {"record length beyond batch", bytes{0x20, 0, 0, 0, 1, 1, 0, 0}, 1, 0, kp::errc::truncated},
      {"record length below minimum", bytes{0x0a, 0, 0, 0, 1, 1, 0}, 1, 0,
       kp::errc::invalid_length},
  };
  for (const auto& c : cases) {
    const bytes batch = make_batch(c.records, c.count, c.last_offset_delta);
    kp::record_batch_reader reader(batch);
    kp::record_batch_view view;
    ASSERT_TRUE(reader.next(view)) << c.name;
    auto cursor = view.records();
    std::int64_t offset = -1;
    while (cursor.skip(offset)) {
    }
    EXPECT_EQ(cursor.error(), c.expected) << c.name;
  }
}
