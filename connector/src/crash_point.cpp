#include "crash_point.hpp"

#ifdef KWIRE_CRASH_POINTS
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kwire::connector {

bool crash_point_armed(std::string_view point, checkpoint_id id) {
  const char* wanted = std::getenv("KWIRE_CRASH_AT");
  if (!wanted) return false;
  return std::string_view(wanted) == std::string(point) + ":" + std::to_string(id);
}

void crash_point(std::string_view point, checkpoint_id id) {
  if (!crash_point_armed(point, id)) return;
  const auto line = "kwire: KWIRE_CRASH_AT " + std::string(point) + ":" + std::to_string(id) +
                    ": killing the process\n";
  (void)::write(2, line.data(), line.size());
  ::kill(::getpid(), SIGKILL);
}

}  // namespace kwire::connector
#endif
