// Record batch encode (builder) and decode (reader + cursor) throughput.
//
// Two shapes: 1 KiB records (16-byte key + 1008-byte value) in batches of 1000 (~1 MiB), and
// 100-byte records (16 + 84) in batches of 150 (~16 KiB); no headers. Values are text-like
// (words plus random bytes) so that the codecs do real work. bytes_per_second counts record
// payload (key + value bytes), items_per_second counts records. Decode checks CRCs and
// touches every key and value; the builder and the scratch buffer are reused across
// iterations as a producer's and consumer's would be.
#include <benchmark/benchmark.h>

#include <random>
#include <string_view>
#include <vector>

#include "kwire/protocol/record_batch.hpp"

namespace kp = kwire::protocol;

namespace {

constexpr std::size_t kKeySize = 16;

struct workload {
  std::vector<std::uint8_t> payload;  // keys and values back to back
  std::size_t record_size = 0;
  std::size_t records = 0;
};

workload make_workload(std::size_t record_size) {
  static constexpr std::string_view words[] = {"kafka ",     "record ",   "batch ",
                                               "offset ",    "order-id=", "customer ",
                                               "status:ok ", "timestamp "};
  workload w;
  w.record_size = record_size;
  w.records = record_size >= 1024 ? 1000 : 150;
  std::mt19937 rng(1234);
  w.payload.reserve(w.records * record_size + 16);
  while (w.payload.size() < w.records * record_size) {
    if (rng() % 3 == 0) {
      w.payload.push_back(static_cast<std::uint8_t>(rng()));
    } else {
      auto word = words[rng() % 8];
      w.payload.insert(w.payload.end(), word.begin(), word.end());
    }
  }
  w.payload.resize(w.records * record_size);
  return w;
}

void build(kp::record_batch_builder& builder, const workload& w, kp::compression codec) {
  builder.reset({.codec = codec});
  const std::uint8_t* p = w.payload.data();
  for (std::size_t i = 0; i < w.records; ++i, p += w.record_size) {
    builder.append(1700000000000 + static_cast<std::int64_t>(i),
                   std::span<const std::uint8_t>(p, kKeySize),
                   std::span<const std::uint8_t>(p + kKeySize, w.record_size - kKeySize));
  }
  if (builder.finish()) std::abort();
}

void set_counters(benchmark::State& state, const workload& w) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * w.records));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * w.payload.size()));
}

void BM_RecordBatchEncode(benchmark::State& state) {
  const auto codec = static_cast<kp::compression>(state.range(0));
  const workload w = make_workload(static_cast<std::size_t>(state.range(1)));
  kp::record_batch_builder builder({}, w.payload.size() + w.records * 16 + 256);
  for (auto _ : state) {
    build(builder, w, codec);
    benchmark::DoNotOptimize(builder.bytes().data());
    benchmark::ClobberMemory();
  }
  set_counters(state, w);
  state.counters["batch_bytes"] = static_cast<double>(builder.bytes().size());
  state.SetLabel(std::string(kp::compression_name(codec)));
}

void BM_RecordBatchDecode(benchmark::State& state) {
  const auto codec = static_cast<kp::compression>(state.range(0));
  const workload w = make_workload(static_cast<std::size_t>(state.range(1)));
  kp::record_batch_builder builder;
  build(builder, w, codec);
  const std::vector<std::uint8_t> batch(builder.bytes().begin(), builder.bytes().end());
  std::vector<std::uint8_t> scratch;
  for (auto _ : state) {
    kp::record_batch_reader reader(batch, scratch);
    kp::record_batch_view view;
    std::size_t records = 0;
    while (reader.next(view)) {
      kp::record_view r;
      for (auto cursor = view.records(); cursor.next(r); ++records) {
        benchmark::DoNotOptimize(r.key->data());
        benchmark::DoNotOptimize(r.key->size());
        benchmark::DoNotOptimize(r.value->data());
        benchmark::DoNotOptimize(r.value->size());
      }
    }
    if (reader.error() || records != w.records) std::abort();
  }
  set_counters(state, w);
  state.counters["batch_bytes"] = static_cast<double>(batch.size());
  state.SetLabel(std::string(kp::compression_name(codec)));
}

void codec_and_record_size(benchmark::internal::Benchmark* b) {
  for (int record_size : {1024, 100})
    for (int codec = 0; codec <= 4; ++codec) b->Args({codec, record_size});
  b->ArgNames({"codec", "record_bytes"});
}

}  // namespace

BENCHMARK(BM_RecordBatchEncode)->Apply(codec_and_record_size);
BENCHMARK(BM_RecordBatchDecode)->Apply(codec_and_record_size);
