// Creates a topic (or finds it already there), then describes it: its partitions' end
// offsets and the configs set on it or its broker.
//   admin_topic BOOTSTRAP TOPIC [PARTITIONS]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <kwire/client/admin.hpp>
#include <kwire/client/config.hpp>
#include <kwire/protocol/errors.hpp>

#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace client = kwire::client;
using kwire::protocol::broker_error;

static asio::awaitable<bool> create_and_describe(client::admin& admin, std::string topic,
                                                 std::int32_t partitions) {
  // as_tuple: an error comes back as a value (use_awaitable alone would throw it).
  // replication_factor -1: the broker's default.replication.factor.
  std::vector<client::new_topic> new_topics{
      {.name = topic, .partitions = partitions, .replication_factor = -1}};
  auto [create_ec, created] = co_await admin.async_create_topics(
      std::move(new_topics), {}, asio::as_tuple(asio::use_awaitable));
  if (create_ec == broker_error::topic_already_exists) {
    std::cout << "topic " << topic << " exists already\n";
  } else if (create_ec) {
    std::cerr << "create " << topic << ": " << create_ec.message() << '\n';
    co_return false;
  } else {
    std::cout << "created " << topic << " with " << created.topics.at(0).partitions
              << " partitions, replication factor " << created.topics.at(0).replication_factor
              << '\n';
  }

  // Its configs: those not at the broker's built-in default.
  std::vector<client::config_resource> resources{
      {.type = client::config_resource_type::topic, .name = topic}};
  auto [describe_ec, described] = co_await admin.async_describe_configs(
      std::move(resources), {}, asio::as_tuple(asio::use_awaitable));
  if (describe_ec) {
    std::cerr << "describe " << topic << ": " << describe_ec.message() << '\n';
    co_return false;
  }
  for (const auto& entry : described.resources.at(0).entries)
    if (entry.source != client::config_source::default_config)
      std::cout << "  " << entry.name << " = " << entry.value.value_or("(hidden)") << '\n';

  // The end offset of each partition (a new topic's are 0).
  std::vector<client::offset_query> queries;
  for (std::int32_t partition = 0; partition < partitions; ++partition)
    queries.push_back({.topic = topic, .partition = partition,
                       .spec = client::offset_spec::latest()});
  auto [offsets_ec, offsets] =
      co_await admin.async_list_offsets(queries, {}, asio::as_tuple(asio::use_awaitable));
  for (const auto& listed : offsets.partitions) {
    if (listed.error)
      std::cerr << "  partition " << listed.partition << ": " << listed.message << '\n';
    else
      std::cout << "  partition " << listed.partition << " ends at " << listed.offset << '\n';
  }
  co_return !offsets_ec;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: admin_topic BOOTSTRAP TOPIC [PARTITIONS]\n";
    return 2;
  }
  client::admin_config config;
  if (auto error = client::parse_admin_config({{"bootstrap.servers", argv[1]}}, config)) {
    std::cerr << error->message << '\n';
    return 2;
  }

  asio::io_context io;
  client::admin admin(io.get_executor(), config);
  int exit_code = 1;
  asio::co_spawn(io, create_and_describe(admin, argv[2], argc > 3 ? std::stoi(argv[3]) : 3),
                 [&](std::exception_ptr error, bool ok) {
                   if (error) std::rethrow_exception(error);
                   exit_code = ok ? 0 : 1;
                   admin.async_close([] {});  // io.run() returns once it has closed
                 });
  io.run();
  return exit_code;
}
