// kwire: the command-line client. Subcommands grow with the library; each one validates its
// arguments up front and exits 0 on success, 1 on a runtime failure, 2 on a usage error.
#include <cstdio>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/protocol/messages.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;

void print_usage(std::ostream& out) {
  out << "usage: kwire <command> [options]\n"
         "commands:\n"
         "  protocol [--json]   every Kafka API kwire implements, with its version range\n";
}

int run_protocol(std::span<const std::string_view> args) {
  bool json = false;
  for (auto a : args) {
    if (a == "--json") {
      json = true;
    } else {
      std::cerr << "kwire protocol: unknown option '" << a << "' (allowed: --json)\n";
      return exit_usage;
    }
  }
  const auto apis = kwire::protocol::implemented_apis();
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
    std::string flexible = a.first_flexible_version < 0 ? "never" : std::to_string(a.first_flexible_version) + "+";
    std::printf("%-7d %-40.*s %4d %4d %9s\n", a.key, static_cast<int>(a.name.size()), a.name.data(),
                a.min_version, a.max_version, flexible.c_str());
  }
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    print_usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? exit_usage : exit_ok;
  }
  const std::string_view command = args[0];
  const auto rest = std::span(args).subspan(1);
  if (command == "protocol") return run_protocol(rest);
  std::cerr << "kwire: unknown command '" << command << "'\n";
  print_usage(std::cerr);
  return exit_usage;
}
