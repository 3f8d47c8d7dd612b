#include "kwire/connector/sink.hpp"

namespace kwire::connector {

const char* to_string(delivery_guarantee g) noexcept {
  switch (g) {
    case delivery_guarantee::none:
      return "none";
    case delivery_guarantee::at_least_once:
      return "at_least_once";
    case delivery_guarantee::exactly_once:
      return "exactly_once";
  }
  return "unknown";
}

}  // namespace kwire::connector
