// kwire verify: did a pipeline copy its input exactly once? Reads the input topic and the
// output topic (read_committed, as a downstream reader would) from the beginning to their
// ends, and checks every output record's lineage (its kwire-src header) against the input
// (connector::lineage_audit).
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/connector/lineage_audit.hpp"

namespace kwire::cli {
namespace {

constexpr std::string_view usage =
    R"(usage: kwire verify --source-topic IN --sink-topic OUT -b BOOTSTRAP [--json]
                    [-X NAME=VALUE]...
Reads IN and OUT from the beginning to their ends with isolation.level=read_committed and
checks that every record of IN appears in OUT exactly once, by the kwire-src header
(TOPIC:PARTITION:OFFSET) that kwire pipeline writes, in order per input partition within
each output partition. Prints in, out, lost, duplicated, reordered, foreign (records of OUT
without a lineage in IN) and a few examples of each anomaly.
      --source-topic IN        the pipeline's input topic
      --sink-topic OUT         the pipeline's output topic
      --json                   one JSON object on standard output:
                               {"in":N,"out":M,"lost":L,"duplicated":D,"reordered":R,"foreign":F}
  -b, --bootstrap-server HOST:PORT[,...]  the brokers to start from (bootstrap.servers)
  -d, --debug CATEGORY[,...]   the client's log for these categories on standard error
  -X, --property NAME=VALUE    a consumer property by its Java name (repeatable)
      --help-properties        list every property it takes
  -h, --help                   this help
Exit status: 0 when lost, duplicated, reordered and foreign are all 0; 1 otherwise or on a
runtime failure; 2 usage or configuration error.
)";

std::vector<client::property_description> describe_verify_properties() {
  return client::describe_consumer_config();
}

// Every record of `topic`, from each partition's beginning to its end as of the reading
// (the last stable offset under read_committed), to `on_record`. False after saying why.
template <class OnRecord>
bool read_to_end(const client::consumer_config& config, const std::string& topic,
                 OnRecord on_record) {
  const auto metadata = fetch_metadata(config, topic, "verify");
  if (!metadata) return false;
  const auto* described = metadata->topic(topic);
  if (!described || described->error_code != 0) {
    std::cerr << "kwire verify: topic " << topic << ": "
              << (described ? protocol::broker_error_code(described->error_code).message()
                            : std::string("not in the cluster's metadata"))
              << '\n';
    return false;
  }
  std::vector<client::topic_partition> partitions;
  for (const auto& p : described->partitions) partitions.push_back({topic, p.partition});
  io_thread io;
  client::consumer consumer(io.executor(), config);
  (void)consumer.assign(partitions);
  consumer.seek_to_beginning(partitions);
  bool ok = true;
  while (true) {
    std::promise<std::pair<std::error_code, client::record_set>> polled;
    consumer.async_poll(std::chrono::milliseconds(200),
                        [&polled](std::error_code ec, client::record_set set) {
                          polled.set_value({ec, std::move(set)});
                        });
    auto [ec, set] = polled.get_future().get();
    if (ec) {
      std::cerr << "kwire verify: reading " << topic << ": "
                << consumer.last_error_details().describe(ec) << '\n';
      ok = false;
      break;
    }
    client::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r);) on_record(r);
    if (!set.empty()) continue;
    bool at_end = true;
    for (const auto& tp : partitions) {
      const auto position = consumer.position(tp);
      const auto marks = consumer.watermarks(tp);
      if (!position || !marks || marks->last_stable_offset < 0 ||
          *position < marks->last_stable_offset)
        at_end = false;
    }
    if (at_end) break;
  }
  std::promise<void> closed;
  consumer.async_close([&closed] { closed.set_value(); });
  closed.get_future().wait();
  return ok;
}

std::optional<std::string_view> lineage_of(const client::consumer_record& r) {
  for (const auto& h : r.headers)
    if (h.key == connector::lineage_header && h.value)
      return std::string_view(reinterpret_cast<const char*>(h.value->data()), h.value->size());
  return std::nullopt;
}

}  // namespace

int run_verify(std::span<const std::string_view> args) {
  client_command command{"verify", usage, describe_verify_properties, {}, {}};
  std::string in_topic, out_topic;
  bool json = false;
  std::vector<option> own{
      {"", "--source-topic", "IN", [&](std::string_view v) { in_topic = v; }},
      {"", "--sink-topic", "OUT", [&](std::string_view v) { out_topic = v; }},
      {"", "--json", "", [&](std::string_view) { json = true; }},
  };
  return run_client_command(command, args, std::move(own), [&] {
    if (in_topic.empty()) throw usage_error("--source-topic IN is required");
    if (out_topic.empty()) throw usage_error("--sink-topic OUT is required");
    check_topic_name(in_topic);
    check_topic_name(out_topic);
    auto properties = command.properties;
    properties.emplace_back("isolation.level", "read_committed");
    properties.emplace_back("enable.auto.commit", "false");
    client::consumer_config config;
    if (auto error = client::parse_consumer_config(properties, config))
      throw property_error(error->message);
    check_security_files(config);
    config.observe = command.observe;
    connector::lineage_audit audit;
    if (!read_to_end(config, in_topic, [&audit](const client::consumer_record& r) {
          audit.add_input(r.topic, r.partition, r.offset);
        }))
      return exit_failure;
    if (!read_to_end(config, out_topic, [&audit](const client::consumer_record& r) {
          audit.add_output(r.partition, lineage_of(r));
        }))
      return exit_failure;
    const auto report = audit.report();
    if (json) {
      std::cout << "{\"in\":" << report.in << ",\"out\":" << report.out
                << ",\"lost\":" << report.lost << ",\"duplicated\":" << report.duplicated
                << ",\"reordered\":" << report.reordered << ",\"foreign\":" << report.foreign
                << "}\n";
    } else {
      std::cout << "in " << report.in << ", out " << report.out << ", lost " << report.lost
                << ", duplicated " << report.duplicated << ", reordered " << report.reordered
                << ", foreign " << report.foreign << '\n';
    }
    for (const auto& e : report.examples) std::cerr << "kwire verify: " << e << '\n';
    return report.clean() ? exit_ok : exit_failure;
  });
}

}  // namespace kwire::cli
