#include "core/millisecond_clock.hpp"

#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace kwire::client::detail {

namespace {

// The TSC ticks at a constant rate in every power state ("invariant TSC", CPUID
// 0x80000007 EDX bit 8).
bool cpu_has_invariant_tsc() noexcept {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) || eax < 0x80000007) return false;
  if (!__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx)) return false;
  return (edx & (1u << 8)) != 0;
#else
  return false;
#endif
}

// Linux keeps time with the TSC only after checking that the cores' counters agree (and
// switches away when they drift), so then a TSC reading on any core is as good as another's.
bool kernel_keeps_time_with_tsc() {
  std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string name;
  return static_cast<bool>(in >> name) && name == "tsc";
}

}  // namespace

system_time_sources::system_time_sources()
    : tsc_usable_(cpu_has_invariant_tsc() && kernel_keeps_time_with_tsc()) {}

}  // namespace kwire::client::detail
