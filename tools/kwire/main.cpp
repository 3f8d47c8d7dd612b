// kwire: the command-line client. `kwire COMMAND [options]`; each command validates its
// arguments up front and exits 0 on success, 1 on a runtime failure, 2 on a usage or
// configuration error.
#include <iostream>
#include <span>
#include <string_view>
#include <vector>

#include "cli.hpp"

namespace {

struct command {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<const std::string_view>);
};

constexpr command commands[] = {
    {"produce", "records from standard input, one a line, to a topic", kwire::cli::run_produce},
    {"consume", "records of a topic's partitions to standard output, kcat -C style",
     kwire::cli::run_consume},
    {"metadata", "brokers, controller, topics, partitions, leaders, replicas, ISR",
     kwire::cli::run_metadata},
    {"txn", "transactions: list, describe, abort a hanging one, commit|abort a handle",
     kwire::cli::run_txn},
    {"pipeline", "the connector's exactly-once job: a topic, a transform, another topic",
     kwire::cli::run_pipeline},
    {"verify", "checks a pipeline's output: every input record exactly once, in order",
     kwire::cli::run_verify},
    {"checkpoint", "a connector checkpoint store: inspect DIR (no broker) or --topic T",
     kwire::cli::run_checkpoint},
    {"protocol", "every Kafka API kwire implements, with its version range (no broker)",
     kwire::cli::run_protocol},
};

void print_usage(std::ostream& out) {
  out << "usage: kwire COMMAND [options]      (kwire COMMAND --help for its options)\n"
         "commands:\n";
  for (const auto& c : commands) {
    out << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << '\n';
  }
  out << "kwire --version (or -V) prints the version\n"
         "exit status: 0 success, 1 runtime failure, 2 usage or configuration error\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return kwire::cli::exit_usage;
  }
  std::string_view name = args[0];
  auto rest = std::span<const std::string_view>(args).subspan(1);
  const std::string_view help_flag = "--help";
  if (name == "help" && !rest.empty()) {
    // `kwire help COMMAND` is `kwire COMMAND --help`.
    name = rest[0];
    rest = std::span(&help_flag, 1);
  } else if (name == "-h" || name == "--help" || name == "help") {
    print_usage(std::cout);
    return kwire::cli::exit_ok;
  } else if (name == "--version" || name == "-V") {  // -V as kcat
    std::cout << "kwire " << KWIRE_VERSION << '\n';
    return kwire::cli::exit_ok;
  }
  for (const auto& c : commands)
    if (c.name == name) return c.run(rest);
  std::cerr << "kwire: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return kwire::cli::exit_usage;
}
