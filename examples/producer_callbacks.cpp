// Sends a few records and reports each one's delivery in a callback.
//   producer_callbacks BOOTSTRAP TOPIC [COUNT]
#include <boost/asio/io_context.hpp>
#include <kwire/client/config.hpp>
#include <kwire/client/producer.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <span>
#include <string>
#include <string_view>

namespace client = kwire::client;

static std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: producer_callbacks BOOTSTRAP TOPIC [COUNT]\n";
    return 2;
  }
  const std::string topic = argv[2];
  const int count = argc > 3 ? std::stoi(argv[3]) : 10;

  client::producer_config config;
  if (auto error = client::parse_producer_config(
          {{"bootstrap.servers", argv[1]}, {"linger.ms", "10"}}, config)) {
    std::cerr << error->message << '\n';
    return 2;
  }

  boost::asio::io_context io;
  client::producer producer(io.get_executor(), config);
  int failed = 0;

  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const std::string value = "callback message " + std::to_string(i);
    // send() copies key and value into the batch, so these strings may go away after it.
    auto not_accepted = producer.send(
        {.topic = topic, .key = bytes_of(key), .value = bytes_of(value)},
        [&failed, key](std::error_code ec, const client::delivery_report& report) {
          if (ec) {
            ++failed;
            std::cerr << key << " failed: " << ec.message() << '\n';
            return;
          }
          std::cout << key << " delivered to " << report.topic << '/' << report.partition
                    << " at offset " << report.offset << '\n';
        });
    if (not_accepted) {
      ++failed;
      std::cerr << key << " not accepted: " << not_accepted.message() << '\n';
    }
  }

  // Once every record has its outcome, close; io.run() returns when nothing is left to do.
  producer.async_flush([&producer] { producer.async_close(std::chrono::seconds(5), [] {}); });
  io.run();
  return failed == 0 ? 0 : 1;
}
