// Uses an installed kwire: parses a producer configuration from `key=value` arguments,
// prints a few of its values, and round-trips a payload through the configured codec (so
// that the compression libraries kwire::protocol needs are linked too). The producer and
// generated message headers are included so that their own includes (Boost.Asio, the rest
// of kwire's headers) must resolve from the install; a connector call links kwire::connector.
#include <kwire/client/config.hpp>
#include <kwire/client/producer.hpp>
#include <kwire/connector/file_checkpoint_store.hpp>
#include <kwire/connector/restart_strategy.hpp>
#include <kwire/protocol/compression.hpp>
#include <kwire/protocol/messages.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

int main(int argc, char** argv) {
  kwire::client::properties given;
  for (int i = 1; i < argc; ++i) {
    std::string_view argument = argv[i];
    auto equals = argument.find('=');
    if (equals == std::string_view::npos) {
      std::cerr << "expected key=value, got: " << argument << '\n';
      return 2;
    }
    given.emplace_back(argument.substr(0, equals), argument.substr(equals + 1));
  }

  kwire::client::producer_config config;
  if (auto error = kwire::client::parse_producer_config(given, config)) {
    std::cerr << error->message << '\n';
    return 2;
  }

  const std::string text = "kwire, installed and linked from outside its tree";
  const std::vector<std::uint8_t> payload(text.begin(), text.end());
  std::vector<std::uint8_t> compressed;
  std::vector<std::uint8_t> restored;
  if (auto ec = kwire::protocol::compress(config.compression_type, payload, compressed)) {
    std::cerr << "compress: " << ec.message() << '\n';
    return 1;
  }
  if (auto ec = kwire::protocol::decompress(config.compression_type, compressed, restored,
                                            payload.size())) {
    std::cerr << "decompress: " << ec.message() << '\n';
    return 1;
  }

  std::cout << "bootstrap.servers=" << kwire::client::to_string(config.bootstrap_servers.at(0))
            << " linger.ms=" << config.linger.count()
            << " compression.type=" << kwire::protocol::compression_name(config.compression_type)
            << " round_trip=" << (restored == payload ? "ok" : "MISMATCH")
            << " api0=" << kwire::protocol::find_api(0)->name << '\n';
  // kwire::connector links from the install too (a check, no output of its own).
  kwire::connector::file_checkpoint_store store("/nonexistent/kwire-package-test");
  std::vector<kwire::connector::stored_checkpoint> stored;
  if (store.list(stored) || !stored.empty() || kwire::connector::restart_problem(3, {})) {
    std::cerr << "kwire::connector misbehaves\n";
    return 1;
  }
  return restored == payload ? 0 : 1;
}
