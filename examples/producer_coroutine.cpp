// Sends records from a C++20 coroutine, waiting for each acknowledgement with co_await.
//   producer_coroutine BOOTSTRAP TOPIC [COUNT]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <kwire/client/config.hpp>
#include <kwire/client/producer.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace client = kwire::client;

static std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Returns how many records failed.
static asio::awaitable<int> produce(client::producer& producer, std::string topic, int count) {
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    const std::string key = "key-" + std::to_string(i);
    const std::string value = "coroutine message " + std::to_string(i);
    const client::producer_record record{
        .topic = topic, .key = bytes_of(key), .value = bytes_of(value)};
    // as_tuple: the error comes back as a value instead of an exception.
    auto [ec, report] =
        co_await producer.async_send(record, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      ++failed;
      std::cerr << key << " failed: " << ec.message() << '\n';
    } else {
      std::cout << key << " delivered to " << report.topic << '/' << report.partition
                << " at offset " << report.offset << '\n';
    }
  }
  co_await producer.async_close(std::chrono::seconds(5), asio::use_awaitable);
  co_return failed;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: producer_coroutine BOOTSTRAP TOPIC [COUNT]\n";
    return 2;
  }
  client::producer_config config;
  if (auto error = client::parse_producer_config({{"bootstrap.servers", argv[1]}}, config)) {
    std::cerr << error->message << '\n';
    return 2;
  }

  asio::io_context io;
  client::producer producer(io.get_executor(), config);
  int exit_code = 1;
  asio::co_spawn(io, produce(producer, argv[2], argc > 3 ? std::stoi(argv[3]) : 10),
                 [&exit_code](std::exception_ptr error, int failed) {
                   if (error) std::rethrow_exception(error);  // a bug: nothing here throws
                   exit_code = failed == 0 ? 0 : 1;
                 });
  io.run();
  return exit_code;
}
