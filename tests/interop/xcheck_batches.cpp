// kwire's side of the record batch cross-check against the Java client (tests/interop/README.md).
//   kwire-xcheck-batches write DIR   builds each scenario with record_batch_builder into
//                                    DIR/batch-<name>.bin, and writes DIR/batch-<name>.dump:
//                                    what the scenario asked for, in the dump format, derived
//                                    from the inputs (not from kwire's reader)
//   kwire-xcheck-batches dump FILE   reads FILE with record_batch_reader and prints the dump;
//                                    exit 1 with a reason on stderr if kwire rejects the data
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kwire/protocol/record_batch.hpp"

namespace kp = kwire::protocol;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kBaseTimestamp = 1700000000000;

using opt_string = std::optional<std::string>;

struct header_spec {
  std::string key;
  opt_string value;
};

struct record_spec {
  std::int64_t timestamp = 0;
  opt_string key;
  opt_string value;
  std::vector<header_spec> headers;
};

struct end_marker_spec {
  kp::control_type type = kp::control_type::commit;
  std::int32_t coordinator_epoch = 0;
  std::int64_t timestamp = 0;
};

struct batch_spec {
  kp::record_batch_options options;
  std::vector<record_spec> records;
  std::optional<end_marker_spec> marker;
  // Producer fields written after finish() with restamp_producer(), as a retrying producer does.
  std::optional<kp::record_batch_options> restamp;
};

batch_spec make_batch(kp::record_batch_options options, std::vector<record_spec> records,
                      std::optional<end_marker_spec> marker = std::nullopt,
                      std::optional<kp::record_batch_options> restamp = std::nullopt) {
  batch_spec b;
  b.options = options;
  b.records = std::move(records);
  b.marker = marker;
  b.restamp = restamp;
  return b;
}

struct scenario {
  std::string name;
  std::vector<batch_spec> batches;
};

std::string pattern(std::size_t length, int seed) {
  std::string s(length, '\0');
  for (std::size_t i = 0; i < length; ++i) s[i] = static_cast<char>((seed + i * 7) % 256);
  return s;
}

std::vector<record_spec> basic_records() {
  return {
      {kBaseTimestamp, "key-0", "value-0", {{"h1", "v1"}}},
      {kBaseTimestamp + 5, std::nullopt, "value-1 without key", {}},
      {kBaseTimestamp - 3, "key-2", std::nullopt, {{"empty", ""}, {"null-value", std::nullopt}}},
      {kBaseTimestamp + 100,
       "key-3",
       "",
       {{"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", std::string("\x00\xff", 2)}, {"h", "x"}}},
      {kBaseTimestamp + 7, "", pattern(300, 5), {}},
  };
}

std::vector<record_spec> simple_records(int count, const std::string& prefix) {
  std::vector<record_spec> out;
  for (int i = 0; i < count; ++i)
    out.push_back({kBaseTimestamp + 10 * i,
                   prefix + "-k" + std::to_string(i),
                   prefix + "-v" + std::to_string(i),
                   {}});
  return out;
}

std::vector<scenario> scenarios() {
  constexpr std::int64_t pid = 123456789012;
  using kp::compression;
  std::vector<scenario> out;
  for (auto codec : {compression::none, compression::gzip, compression::snappy, compression::lz4,
                     compression::zstd}) {
    out.push_back({"basic-" + std::string(kp::compression_name(codec)),
                   {make_batch({.codec = codec, .base_offset = 1000, .partition_leader_epoch = 7},
                               basic_records())}});
  }
  out.push_back({"txn",
                 {make_batch({.transactional = true,
                              .base_offset = 50,
                              .partition_leader_epoch = 7,
                              .producer_id = pid,
                              .producer_epoch = 3,
                              .base_sequence = 41},
                             simple_records(3, "txn"))}});
  out.push_back({"txn-zstd",
                 {make_batch({.codec = compression::zstd,
                              .transactional = true,
                              .base_offset = 60,
                              .partition_leader_epoch = 7,
                              .producer_id = pid,
                              .producer_epoch = 3,
                              .base_sequence = 44},
                             simple_records(4, "txz"))}});
  out.push_back({"idempotent-gzip",
                 {make_batch({.codec = compression::gzip,
                              .base_offset = 70,
                              .partition_leader_epoch = 2,
                              .producer_id = pid + 1,
                              .producer_epoch = 0,
                              .base_sequence = 0},
                             simple_records(2, "idem"))}});
  // Built without producer fields, then restamped (the idempotent producer's retry path).
  out.push_back(
      {"restamped-lz4",
       {make_batch({.codec = compression::lz4, .base_offset = 80}, simple_records(3, "rst"),
                   std::nullopt,
                   kp::record_batch_options{
                       .producer_id = pid + 2, .producer_epoch = 5, .base_sequence = 1000})}});
  out.push_back(
      {"control-commit",
       {make_batch({.transactional = true,
                    .control = true,
                    .base_offset = 53,
                    .partition_leader_epoch = 7,
                    .producer_id = pid,
                    .producer_epoch = 3},
                   {}, end_marker_spec{kp::control_type::commit, 11, kBaseTimestamp + 1000})}});
  out.push_back(
      {"control-abort",
       {make_batch({.transactional = true,
                    .control = true,
                    .base_offset = 64,
                    .partition_leader_epoch = 7,
                    .producer_id = pid,
                    .producer_epoch = 3},
                   {}, end_marker_spec{kp::control_type::abort, 12, kBaseTimestamp + 2000})}});
  out.push_back(
      {"two-batches",
       {make_batch({.base_offset = 0, .partition_leader_epoch = 0}, simple_records(2, "a")),
        make_batch({.codec = compression::snappy, .base_offset = 2, .partition_leader_epoch = 8},
                   simple_records(3, "b"))}});
  out.push_back({"append-time",
                 {make_batch({.timestamp_kind = kp::timestamp_type::log_append_time,
                              .base_offset = 500,
                              .partition_leader_epoch = 1},
                             simple_records(2, "lat"))}});
  std::vector<record_spec> large;
  for (int i = 0; i < 1000; ++i)
    large.push_back({kBaseTimestamp + i, std::nullopt, pattern(100, i), {}});
  out.push_back({"large-lz4", {make_batch({.codec = compression::lz4}, large)}});
  out.push_back({"empty-values-zstd",
                 {make_batch({.codec = compression::zstd, .base_offset = 9},
                             {{kBaseTimestamp, std::nullopt, std::nullopt, {}},
                              {kBaseTimestamp, "", "", {{"", ""}}}})}});
  return out;
}

kp::optional_bytes bytes_of(const opt_string& s) {
  if (!s) return std::nullopt;
  return std::span(reinterpret_cast<const std::uint8_t*>(s->data()), s->size());
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string hex_or_null(const kp::optional_bytes& b) { return b ? hex(*b) : "null"; }
std::string hex_or_null(const opt_string& s) { return hex_or_null(bytes_of(s)); }

std::string batch_line(std::int64_t base_offset, std::int32_t leader_epoch, int magic,
                       kp::compression codec, kp::timestamp_type ts_type, bool transactional,
                       bool control, std::int32_t last_offset_delta, std::int64_t base_timestamp,
                       std::int64_t max_timestamp, std::int64_t producer_id,
                       std::int16_t producer_epoch, std::int32_t base_sequence,
                       std::int32_t count) {
  std::ostringstream s;
  s << "batch base_offset=" << base_offset << " partition_leader_epoch=" << leader_epoch
    << " magic=" << magic << " compression=" << kp::compression_name(codec)
    << " timestamp_type=" << (ts_type == kp::timestamp_type::log_append_time ? "append" : "create")
    << " transactional=" << (transactional ? "true" : "false")
    << " control=" << (control ? "true" : "false") << " last_offset_delta=" << last_offset_delta
    << " base_timestamp=" << base_timestamp << " max_timestamp=" << max_timestamp
    << " producer_id=" << producer_id << " producer_epoch=" << producer_epoch
    << " base_sequence=" << base_sequence << " count=" << count;
  return s.str();
}

// The dump a correct reader must print for `spec`, computed from the inputs alone.
void expected_dump(const batch_spec& spec, std::ostream& out) {
  const auto& o = spec.options;
  const auto& producer = spec.restamp ? *spec.restamp : o;
  std::vector<record_spec> records = spec.records;
  if (spec.marker) {
    // Marker key: version 0, type; value: version 0, coordinator epoch (all big-endian).
    const auto type = static_cast<std::uint16_t>(spec.marker->type);
    const auto epoch = static_cast<std::uint32_t>(spec.marker->coordinator_epoch);
    std::string key{'\0', '\0', static_cast<char>(type >> 8), static_cast<char>(type & 0xff)};
    std::string value{'\0', '\0'};
    for (int shift = 24; shift >= 0; shift -= 8)
      value += static_cast<char>((epoch >> shift) & 0xff);
    records.push_back({spec.marker->timestamp, key, value, {}});
  }
  std::int64_t base_ts = kp::no_timestamp, max_ts = kp::no_timestamp;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i == 0) base_ts = max_ts = records[i].timestamp;
    max_ts = std::max(max_ts, records[i].timestamp);
  }
  const auto count = static_cast<std::int32_t>(records.size());
  out << batch_line(o.base_offset, o.partition_leader_epoch, 2, o.codec, o.timestamp_kind,
                    o.transactional, o.control, count - 1, base_ts, max_ts, producer.producer_id,
                    producer.producer_epoch, producer.base_sequence, count)
      << "\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const bool append_time = o.timestamp_kind == kp::timestamp_type::log_append_time;
    out << "record offset=" << o.base_offset + static_cast<std::int64_t>(i)
        << " timestamp=" << (append_time ? max_ts : r.timestamp) << " key=" << hex_or_null(r.key)
        << " value=" << hex_or_null(r.value) << " headers=" << r.headers.size();
    for (const auto& h : r.headers)
      out << ' ' << hex_or_null(opt_string(h.key)) << ':' << hex_or_null(h.value);
    out << "\n";
  }
}

int write_scenarios(const fs::path& dir) {
  fs::create_directories(dir);
  int written = 0;
  kp::record_batch_builder builder;
  for (const auto& sc : scenarios()) {
    std::string file_bytes;
    std::ostringstream dump;
    for (const auto& spec : sc.batches) {
      builder.reset(spec.options);
      for (const auto& r : spec.records) {
        std::vector<kp::header_view> headers;
        for (const auto& h : r.headers) headers.push_back({h.key, bytes_of(h.value)});
        builder.append(r.timestamp, bytes_of(r.key), bytes_of(r.value), headers);
      }
      if (spec.marker)
        builder.append_end_txn_marker(spec.marker->type, spec.marker->coordinator_epoch,
                                      spec.marker->timestamp);
      if (auto ec = builder.finish()) {
        std::cerr << "FAIL " << sc.name << ": finish: " << ec.message() << "\n";
        return 1;
      }
      if (spec.restamp) {
        if (auto ec =
                builder.restamp_producer(spec.restamp->producer_id, spec.restamp->producer_epoch,
                                         spec.restamp->base_sequence)) {
          std::cerr << "FAIL " << sc.name << ": restamp: " << ec.message() << "\n";
          return 1;
        }
      }
      auto bytes = builder.bytes();
      file_bytes.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      expected_dump(spec, dump);
    }
    std::ofstream(dir / ("batch-" + sc.name + ".bin"), std::ios::binary) << file_bytes;
    std::ofstream(dir / ("batch-" + sc.name + ".dump")) << dump.str();
    ++written;
  }
  std::cout << "batch scenarios written: " << written << "\n";
  return 0;
}

int dump_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "cannot read " << path << "\n";
    return 1;
  }
  std::vector<std::uint8_t> data{std::istreambuf_iterator<char>(in),
                                 std::istreambuf_iterator<char>()};
  kp::record_batch_reader reader(data);
  kp::record_batch_view batch;
  int index = 0;
  while (reader.next(batch)) {
    const auto& h = batch.header();
    std::cout << batch_line(h.base_offset, h.partition_leader_epoch, h.magic, h.codec(),
                            h.timestamp_kind(), h.is_transactional(), h.is_control(),
                            h.last_offset_delta, h.base_timestamp, h.max_timestamp, h.producer_id,
                            h.producer_epoch, h.base_sequence, h.record_count)
              << "\n";
    kp::record_view r;
    auto cursor = batch.records();
    while (cursor.next(r)) {
      std::cout << "record offset=" << r.offset << " timestamp=" << r.timestamp
                << " key=" << hex_or_null(r.key) << " value=" << hex_or_null(r.value)
                << " headers=" << r.headers.size();
      for (const auto& hv : r.headers) {
        std::cout << ' '
                  << hex(std::span(reinterpret_cast<const std::uint8_t*>(hv.key.data()),
                                   hv.key.size()))
                  << ':' << hex_or_null(hv.value);
      }
      std::cout << "\n";
    }
    if (cursor.error()) {
      std::cerr << "batch " << index << ": records unreadable: " << cursor.error().message()
                << "\n";
      return 1;
    }
    ++index;
  }
  if (reader.error()) {
    std::cerr << "batch " << index << " at byte " << reader.consumed()
              << " invalid: " << reader.error().message() << "\n";
    return 1;
  }
  if (reader.consumed() != data.size()) {
    std::cerr << data.size() - reader.consumed() << " trailing bytes after " << index
              << " complete batch(es)\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc == 3 ? argv[1] : "";
  if (mode == "write") return write_scenarios(argv[2]);
  if (mode == "dump") return dump_file(argv[2]);
  std::cerr << "usage: kwire-xcheck-batches write DIR | dump FILE\n";
  return 2;
}
