// The producer's CreateTime clock: exactly the wall clock's millisecond, with the wall clock
// read about once a millisecond instead of on every call once the tick rate is known.
#include "core/millisecond_clock.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

namespace {

using kwire::client::detail::basic_millisecond_clock;

constexpr std::int64_t kMs = 1'000'000;

// A scripted machine: real time advances by hand; the wall clock is real time plus a
// settable offset (the "date"); the counter ticks 2.9 times per ns of real time.
constexpr std::int64_t kBootNs = 1'700'000'000'000'000'000;
struct fake_machine {
  std::int64_t real_ns = kBootNs + 123'456;
  std::int64_t wall_offset_ns = 0;
  bool with_ticks = true;
  std::uint64_t tick_offset = 1'000'000;  // may be lowered to model another core's counter
};

struct fake_sources {
  std::shared_ptr<fake_machine> m = std::make_shared<fake_machine>();
  std::int64_t wall_ns() const { return m->real_ns + m->wall_offset_ns; }
  bool has_ticks() const { return m->with_ticks; }
  std::uint64_t ticks() const {
    return m->tick_offset + static_cast<std::uint64_t>(m->real_ns - kBootNs) * 29 / 10;
  }
};

std::int64_t floor_ms(std::int64_t ns) { return ns / kMs; }

TEST(MillisecondClock, ReadsTheWallClockEveryTimeUntilTheTickRateIsKnown) {
  basic_millisecond_clock<fake_sources> clock;
  auto& m = *clock.sources().m;
  for (int i = 0; i < 1000; ++i) {  // 1000 calls in 5 ms: the rate needs 10 ms
    EXPECT_EQ(clock.now_ms(), floor_ms(m.real_ns));
    m.real_ns += 5'000;
  }
  EXPECT_EQ(clock.wall_reads(), 1000u);
}

TEST(MillisecondClock, GivesTheWallClocksMillisecondReadingItAboutOnceAMillisecond) {
  basic_millisecond_clock<fake_sources> clock;
  auto& m = *clock.sources().m;
  clock.now_ms();
  m.real_ns += 20 * kMs;  // the rate is measured from here on
  clock.now_ms();
  const auto before = clock.wall_reads();
  // A million calls a second for 200 ms, at uneven steps.
  for (int i = 0; i < 200'000; ++i) {
    ASSERT_EQ(clock.now_ms(), floor_ms(m.real_ns)) << "call " << i;
    m.real_ns += 700 + (i % 7) * 100;
  }
  const auto reads = clock.wall_reads() - before;
  EXPECT_GE(reads, 200u);  // at least once per millisecond boundary crossed
  EXPECT_LE(reads, 600u);  // and far fewer than the 200,000 calls
}

TEST(MillisecondClock, FollowsTheWallClockSetBackOrForwardWithinAMillisecond) {
  for (const std::int64_t step : {-5'000 * kMs, 7'000 * kMs}) {
    basic_millisecond_clock<fake_sources> clock;
    auto& m = *clock.sources().m;
    clock.now_ms();
    m.real_ns += 20 * kMs;
    clock.now_ms();
    m.wall_offset_ns += step;
    m.real_ns += kMs;  // a millisecond of ticks later the cache has run out
    EXPECT_EQ(clock.now_ms(), floor_ms(m.real_ns + m.wall_offset_ns)) << "step " << step;
    for (int i = 0; i < 50'000; ++i) {  // and it keeps following the new time
      m.real_ns += 1'000;
      ASSERT_EQ(clock.now_ms(), floor_ms(m.real_ns + m.wall_offset_ns)) << "step " << step;
    }
  }
}

TEST(MillisecondClock, ACounterBehindTheLastReadingMeansAWallClockRead) {
  basic_millisecond_clock<fake_sources> clock;
  auto& m = *clock.sources().m;
  clock.now_ms();
  m.real_ns += 20 * kMs;
  clock.now_ms();
  const auto before = clock.wall_reads();
  m.tick_offset -= 100;  // the thread moved to a core whose counter is a little behind
  m.real_ns += 10;
  EXPECT_EQ(clock.now_ms(), floor_ms(m.real_ns));
  EXPECT_EQ(clock.wall_reads(), before + 1);
}

TEST(MillisecondClock, WithoutATickCounterEveryCallReadsTheWallClock) {
  fake_sources sources;
  sources.m->with_ticks = false;
  basic_millisecond_clock<fake_sources> clock(sources);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(clock.now_ms(), floor_ms(sources.m->real_ns));
    sources.m->real_ns += 20 * kMs;
  }
  EXPECT_EQ(clock.wall_reads(), 100u);
}

TEST(MillisecondClock, TheRealClockAgreesWithTheSystemClock) {
  kwire::client::detail::millisecond_clock clock;
  for (int i = 0; i < 100'000; ++i) {
    const auto before = kwire::client::detail::system_time_sources::wall_ns() / kMs;
    const auto ms = clock.now_ms();
    const auto after = kwire::client::detail::system_time_sources::wall_ns() / kMs;
    ASSERT_LE(before, ms);
    ASSERT_LE(ms, after);
  }
}

}  // namespace
