// CRC-32C throughput: the dispatched crc32c() (SSE4.2 on x86-64) and the portable fallback.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kwire/protocol/crc32c.hpp"

namespace kp = kwire::protocol;

namespace {

std::vector<std::uint8_t> random_buffer(std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

template <std::uint32_t (*Crc)(std::span<const std::uint8_t>, std::uint32_t) noexcept>
void run_crc(benchmark::State& state) {
  const auto data = random_buffer(static_cast<std::size_t>(state.range(0)));
  std::uint32_t crc = 0;
  for (auto _ : state) {
    crc = Crc(data, crc);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}

void BM_Crc32c(benchmark::State& state) { run_crc<&kp::crc32c>(state); }
void BM_Crc32cPortable(benchmark::State& state) { run_crc<&kp::crc32c_portable>(state); }

}  // namespace

BENCHMARK(BM_Crc32c)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_Crc32cPortable)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);
