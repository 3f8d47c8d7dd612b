// kwire metadata: the cluster as one Metadata response shows it, kcat -L style or as JSON.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "kwire/client/cluster.hpp"

namespace kwire::cli {
namespace {

namespace asio = boost::asio;

constexpr std::string_view usage =
    R"(usage: kwire metadata -b BOOTSTRAP [--json] [-t TOPIC] [-X NAME=VALUE]...
Prints the brokers (id, host:port, rack), the controller, the cluster id and every topic
(or only TOPIC) with its partitions: leader, leader epoch, replicas, in-sync replicas and
errors. Asking never creates a topic.
  -b, --bootstrap-server HOST:PORT[,...]  the brokers to start from (bootstrap.servers)
  -t, --topic TOPIC            only this topic
      --json                   one JSON document (its shape is in tools/kwire/README.md)
  -d, --debug CATEGORY[,...]   the client's log for these categories on standard error
                               (all, broker, protocol, metadata, producer, eos, consumer,
                               fetch, cgrp, admin, security)
  -X, --property NAME=VALUE    a client property by its Java name (repeatable), e.g.
                               -X request.timeout.ms=5000 (how long to wait for metadata)
      --help-properties        list every property it takes
  -h, --help                   this help
Exit status: 0 metadata printed, 1 no broker answered within request.timeout.ms (sooner,
after 5 s, when every bootstrap server refuses connections) or TOPIC has an error
(printed), 2 usage or configuration error.
)";

// The metadata-specific options; -b and -X go to client_command::properties.
struct metadata_options {
  std::optional<std::string> topic;
  bool json = false;
};

// Kafka writes topic ids as URL-safe base64 without padding (org.apache.kafka.common.Uuid).
std::string to_string(const protocol::uuid& id) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int pending = 0;
  for (const auto byte : id.bytes) {
    bits = (bits << 8) | byte;
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      out += alphabet[(bits >> pending) & 0x3f];
    }
  }
  if (pending > 0) out += alphabet[(bits << (6 - pending)) & 0x3f];
  return out;
}

std::string describe_error(std::int16_t code) {
  return std::string(protocol::broker_error_name(code)) + " (" + std::to_string(code) + ")";
}

std::string join_ids(const std::vector<std::int32_t>& ids) {
  std::string out;
  for (const auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

std::vector<client::broker_metadata> brokers_by_id(const client::cluster_metadata& m) {
  auto brokers = m.brokers;
  std::sort(brokers.begin(), brokers.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  return brokers;
}

void print_text(const client::cluster_metadata& m, const std::optional<std::string>& topic) {
  std::cout << "Metadata for " << (topic ? "topic \"" + *topic + "\"" : "all topics")
            << " (cluster id " << m.cluster_id.value_or("(none)") << ", controller "
            << m.controller_id << "):\n";
  std::cout << ' ' << m.brokers.size() << " brokers:\n";
  for (const auto& b : brokers_by_id(m)) {
    std::cout << "  broker " << b.node_id << " at " << b.host << ':' << b.port;
    if (b.rack) std::cout << " rack " << *b.rack;
    if (b.node_id == m.controller_id) std::cout << " (controller)";
    std::cout << '\n';
  }
  std::cout << ' ' << m.topics.size() << " topics:\n";
  for (const auto& [name, t] : m.topics) {
    std::cout << "  topic \"" << name << "\" with " << t.partitions.size() << " partitions:";
    if (t.internal) std::cout << " (internal)";
    if (t.error_code != 0) std::cout << ' ' << describe_error(t.error_code);
    std::cout << '\n';
    for (const auto& p : t.partitions) {
      std::cout << "    partition " << p.partition << ", leader " << p.leader << ", leader epoch "
                << p.leader_epoch << ", replicas: " << join_ids(p.replicas)
                << ", isrs: " << join_ids(p.in_sync_replicas);
      if (p.error_code != 0) std::cout << ", " << describe_error(p.error_code);
      std::cout << '\n';
    }
  }
}

void append_json_error(std::string& out, std::int16_t code) {
  if (code == 0) {
    out += "null";
    return;
  }
  out += "{\"code\":" + std::to_string(code) + ",\"name\":";
  append_json_string(out, protocol::broker_error_name(code));
  out += '}';
}

void append_json_ids(std::string& out, const std::vector<std::int32_t>& ids) {
  out += '[' + join_ids(ids) + ']';
}

void print_json(const client::cluster_metadata& m) {
  std::string out = "{\"cluster_id\":";
  if (m.cluster_id)
    append_json_string(out, *m.cluster_id);
  else
    out += "null";
  out += ",\"controller_id\":" + std::to_string(m.controller_id) + ",\"brokers\":[";
  bool first = true;
  for (const auto& b : brokers_by_id(m)) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"id\":" + std::to_string(b.node_id) + ",\"host\":";
    append_json_string(out, b.host);
    out += ",\"port\":" + std::to_string(b.port) + ",\"rack\":";
    if (b.rack)
      append_json_string(out, *b.rack);
    else
      out += "null";
    out += '}';
  }
  out += "],\"topics\":[";
  first = true;
  for (const auto& [name, t] : m.topics) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"name\":";
    append_json_string(out, name);
    out += ",\"topic_id\":";
    append_json_string(out, to_string(t.topic_id));
    out += std::string(",\"internal\":") + (t.internal ? "true" : "false") + ",\"error\":";
    append_json_error(out, t.error_code);
    out += ",\"partitions\":[";
    bool first_partition = true;
    for (const auto& p : t.partitions) {
      out += first_partition ? "{" : ",{";
      first_partition = false;
      out += "\"partition\":" + std::to_string(p.partition) +
             ",\"leader\":" + std::to_string(p.leader) +
             ",\"leader_epoch\":" + std::to_string(p.leader_epoch) + ",\"replicas\":";
      append_json_ids(out, p.replicas);
      out += ",\"isr\":";
      append_json_ids(out, p.in_sync_replicas);
      out += ",\"error\":";
      append_json_error(out, p.error_code);
      out += '}';
    }
    out += "]}";
  }
  out += "]}\n";
  std::cout << out;
}

int metadata(const metadata_options& o, const client::properties& properties,
             const client::observability& observe) {
  client::common_config config;
  if (auto error = client::parse_common_config(properties, config))
    throw property_error(error->message);
  check_security_files(config);
  config.observe = observe;
  for (const auto& warning : config.warnings)
    std::cerr << "kwire metadata: note: " << warning << '\n';
  const auto m = fetch_metadata(config, o.topic, "metadata");
  if (!m) return exit_failure;
  if (o.json)
    print_json(*m);
  else
    print_text(*m, o.topic);
  if (o.topic) {
    const auto* t = m->topic(*o.topic);
    if (!t || t->error_code != 0) {
      std::cerr << "kwire metadata: topic \"" << *o.topic
                << "\": " << (t ? describe_error(t->error_code) : "not in the response") << '\n';
      return exit_failure;
    }
  }
  return exit_ok;
}

}  // namespace

// The first metadata the cluster gets, or nullopt after request.timeout.ms; then why, on
// standard error, naming each bootstrap server and what happened to it.
std::optional<client::cluster_metadata> fetch_metadata(const client::common_config& config,
                                                       const std::optional<std::string>& topic,
                                                       std::string_view command) {
  auto options = client::cluster_options_for(config);
  options.all_topics = !topic;
  options.allow_auto_topic_creation = false;  // looking must not create the topic
  const auto bootstrap = options.bootstrap;

  asio::io_context io(1);
  auto cluster = client::cluster::create(io.get_executor(), std::move(options));
  std::optional<client::cluster_metadata> result;
  std::map<std::int32_t, std::error_code> last_error_by_node;
  std::optional<std::string> unreachable;
  asio::steady_timer deadline(io, config.request_timeout);
  auto finish = [&] {
    deadline.cancel();
    cluster->close();
    io.stop();  // reconnect backoff timers may still be armed; nothing more is wanted
  };
  cluster->on_metadata([&](const client::cluster_metadata& m) {
    if (result) return;
    result = m;
    finish();
  });
  cluster->on_connection([&](std::int32_t node_id, std::error_code ec) {
    if (!ec) return;
    last_error_by_node[node_id] = ec;
    // Every bootstrap server refusing for a while: say so now, not after request.timeout.ms;
    // a refused login or certificate at once (retrying will not change it).
    if (const auto servers = cluster->unreachable_bootstrap(
            is_security_refusal(ec) ? std::chrono::milliseconds(0) : bootstrap_give_up_after);
        !servers.empty()) {
      unreachable = describe_unreachable(servers);
      finish();
    }
  });
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec) finish();
  });
  if (topic) cluster->want_topic(*topic);
  cluster->start();
  io.run();
  if (result) return result;
  if (unreachable) {
    std::cerr << "kwire " << command << ": " << *unreachable << '\n';
    return std::nullopt;
  }

  std::cerr << "kwire " << command << ": no metadata within " << config.request_timeout.count()
            << " ms (request.timeout.ms) from the bootstrap servers:\n";
  for (std::size_t i = 0; i < bootstrap.size(); ++i) {
    // The cluster numbers bootstrap servers -1, -2, ... in the order given.
    const auto it = last_error_by_node.find(-1 - static_cast<std::int32_t>(i));
    std::cerr << "  " << bootstrap[i].host_port() << ": "
              << (it != last_error_by_node.end() ? it->second.message() : "no error seen") << '\n';
  }
  if (cluster->metadata_error())
    std::cerr << "  last metadata error: " << cluster->metadata_error().message() << '\n';
  return std::nullopt;
}

int run_metadata(std::span<const std::string_view> args) {
  client_command command{"metadata", usage, client::describe_common_config, {}, {}};
  metadata_options o;
  std::vector<option> own_options = {
      {"-t", "--topic", "TOPIC",
       [&](std::string_view v) {
         check_topic_name(v);
         o.topic = v;
       }},
      {"", "--json", "", [&](std::string_view) { o.json = true; }},
  };
  return run_client_command(command, args, std::move(own_options),
                            [&] { return metadata(o, command.properties, command.observe); });
}

}  // namespace kwire::cli
