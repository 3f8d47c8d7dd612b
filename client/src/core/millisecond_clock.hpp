// The wall clock in milliseconds, as the producer reads it for every record's CreateTime.
//
// clock_gettime(CLOCK_REALTIME) costs 35-50 ns on the machines we measured (about a tenth of
// the producer's CPU per 100-byte record), yet at a million records a second it returns the
// same millisecond a thousand times in a row. Where the kernel itself keeps time with an
// invariant TSC (x86-64 Linux, clocksource "tsc"), this clock reads the TSC instead (about
// 13 ns) and asks the wall clock only when a millisecond boundary may have passed since it
// last did: it returns what the wall clock would have, never an earlier millisecond. Elsewhere,
// and until it has measured the TSC's rate (10 ms after the first reading), every call reads
// the wall clock.
//
// Not thread-safe: the producer reads it under its lock.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <utility>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace kwire::client::detail {

// The real sources of time: the wall clock, and the TSC when it can stand in for it.
struct system_time_sources {
  system_time_sources();
  static std::int64_t wall_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  bool has_ticks() const noexcept { return tsc_usable_; }
  static std::uint64_t ticks() noexcept {
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;  // never called: has_ticks() is false
#endif
  }

 private:
  bool tsc_usable_ = false;
};

template <class Sources>
class basic_millisecond_clock {
 public:
  explicit basic_millisecond_clock(Sources sources = {}) : sources_(std::move(sources)) {}

  std::int64_t now_ms() {
    if (!sources_.has_ticks()) {
      ++wall_reads_;
      return floor_ms(sources_.wall_ns());
    }
    const std::uint64_t ticks = sources_.ticks();
    // Unsigned: a counter behind the last reading (another core's) wraps to a huge value and
    // falls through to the wall clock.
    if (ticks - last_ticks_ < same_ms_ticks_) return last_ms_;
    return read_wall(ticks);
  }

  // How many times now_ms() read the wall clock (for tests).
  std::uint64_t wall_reads() const noexcept { return wall_reads_; }
  const Sources& sources() const noexcept { return sources_; }

 private:
  static constexpr std::int64_t ns_per_ms = 1'000'000;
  // The rate is measured over at least this long a span of wall time.
  static constexpr std::int64_t measure_ns = 10 * ns_per_ms;
  // The measured rate is lowered by this much: the wall clock may be slewed (NTP: at most
  // 0.05%) and the readings are a little apart. Too low a rate only shortens the cache.
  static constexpr double rate_margin = 0.01;

  static std::int64_t floor_ms(std::int64_t ns) noexcept {
    return ns >= 0 ? ns / ns_per_ms : -((-ns + ns_per_ms - 1) / ns_per_ms);
  }

  // `ticks` were read just before the wall clock: the wall time at any later tick count t is at
  // most ns + (t - ticks) / rate, so the millisecond of ns lasts at least until the ticks of
  // its remaining nanoseconds have passed.
  std::int64_t read_wall(std::uint64_t ticks) {
    const std::int64_t ns = sources_.wall_ns();
    ++wall_reads_;
    last_ms_ = floor_ms(ns);
    last_ticks_ = ticks;
    if (anchor_ns_ < 0 || ns < anchor_ns_ || ticks < anchor_ticks_) {
      start_measuring(ticks, ns);  // the first reading, or the wall clock was set back
    } else if (ns - anchor_ns_ >= measure_ns) {
      const double rate =
          static_cast<double>(ticks - anchor_ticks_) / static_cast<double>(ns - anchor_ns_);
      if (measured_rate_ > 0 && std::abs(rate / measured_rate_ - 1) > rate_margin) {
        start_measuring(ticks, ns);  // the wall clock was set, or this reading came late
      } else {
        measured_rate_ = rate;
        ticks_per_ns_ = rate * (1 - rate_margin);
      }
    }
    const std::int64_t left_ns = (last_ms_ + 1) * ns_per_ms - ns;  // in (0, 1 ms]
    same_ms_ticks_ = static_cast<std::uint64_t>(static_cast<double>(left_ns) * ticks_per_ns_);
    return last_ms_;
  }

  void start_measuring(std::uint64_t ticks, std::int64_t ns) noexcept {
    anchor_ns_ = ns;
    anchor_ticks_ = ticks;
    measured_rate_ = 0;
    ticks_per_ns_ = 0;
  }

  Sources sources_;
  std::uint64_t wall_reads_ = 0;
  std::int64_t last_ms_ = 0;
  std::uint64_t last_ticks_ = 0;
  std::uint64_t same_ms_ticks_ = 0;  // 0: read the wall clock next time
  std::int64_t anchor_ns_ = -1;
  std::uint64_t anchor_ticks_ = 0;
  double measured_rate_ = 0;  // ticks per ns since the anchor; 0 until measured
  double ticks_per_ns_ = 0;   // the rate the cache trusts: a little below the measured one
};

using millisecond_clock = basic_millisecond_clock<system_time_sources>;

}  // namespace kwire::client::detail
