// kwire protocol [--json]: every Kafka API kwire implements, with its version range. No broker.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::cli {

int run_protocol(std::span<const std::string_view> args) {
  return run_command("protocol", [&] {
    bool json = false;
    bool help = false;
    parse_options(args, offline_options(json, help));
    if (help) {
      std::cout << "usage: kwire protocol [--json] [-d CATEGORY[,CATEGORY]]\n"
                   "Lists every Kafka API kwire implements with its version range; --json prints\n"
                   "[{\"api_key\":0,\"name\":\"Produce\",\"min\":0,\"max\":11},...].\n";
      return exit_ok;
    }
    const auto apis = protocol::implemented_apis();
    if (json) {
      std::cout << '[';
      bool first = true;
      for (const auto& a : apis) {
        std::cout << (first ? "" : ",") << "{\"api_key\":" << a.key << ",\"name\":\"" << a.name
                  << "\",\"min\":" << a.min_version << ",\"max\":" << a.max_version << '}';
        first = false;
      }
      std::cout << "]\n";
      return exit_ok;
    }
    std::printf("%-7s %-40s %4s %4s %9s\n", "api_key", "name", "min", "max", "flexible");
    for (const auto& a : apis) {
      const std::string flexible =
          a.first_flexible_version < 0 ? "never" : std::to_string(a.first_flexible_version) + "+";
      std::printf("%-7d %-40.*s %4d %4d %9s\n", a.key, static_cast<int>(a.name.size()),
                  a.name.data(), a.min_version, a.max_version, flexible.c_str());
    }
    return exit_ok;
  });
}

}  // namespace kwire::cli
