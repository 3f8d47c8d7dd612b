// What a client tells its embedding application: a log (level, category, message), event
// hooks to count what happens (reconnects, epoch bumps, assignments, replica moves,
// coordinator changes), set on common_config::observe. Metrics are in metrics.hpp.
//
//   kwire::client::producer_config config;  // from parse_producer_config()
//   parse_log_categories("broker,eos", config.observe.debug);
//   config.observe.sink = [](const kwire::client::log_record& r) { std::clog << r.message; };
//   config.observe.hooks.on_broker_connect = [&](const auto& e) { reconnects += e.reconnect; };
//
// Silent by default: without a sink nothing is formatted. Warnings and errors reach the sink
// always; info and debug lines only for the categories in `debug`. The sink and the hooks run
// on the client's executor (its strand), one call at a time per client; they must not block.
// Log lines carry no property values but known-safe ones (never credentials).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/topic_partition.hpp"

namespace kwire::client {

struct config_error;

enum class log_level : std::uint8_t { error, warn, info, debug };

// librdkafka's debug categories, where kwire has them.
enum class log_category : std::uint8_t {
  broker,    // connections: connect, disconnect, reconnect, ApiVersions
  protocol,  // requests and responses
  metadata,  // metadata refreshes, leader changes
  producer,  // batches, sends, retries, splits
  eos,       // idempotence and transactions: producer id, epoch bumps
  consumer,  // positions, offset resets, commits
  fetch,     // fetch sessions, preferred read replicas
  cgrp,      // group membership: join, sync, assignment, revocation, coordinator
  admin,     // admin requests
  security,  // TLS and SASL
};
inline constexpr int log_category_count = 10;

std::string_view to_string(log_level level) noexcept;
std::string_view to_string(log_category category) noexcept;

// A set of categories; a bit test decides whether a debug line is built at all.
class log_categories {
 public:
  constexpr log_categories() = default;
  static constexpr log_categories all() noexcept {
    log_categories set;
    set.bits_ = (1u << log_category_count) - 1;
    return set;
  }
  constexpr log_categories& add(log_category c) noexcept {
    bits_ |= bit(c);
    return *this;
  }
  constexpr bool contains(log_category c) const noexcept { return (bits_ & bit(c)) != 0; }
  constexpr bool empty() const noexcept { return bits_ == 0; }
  bool operator==(const log_categories&) const = default;

 private:
  static constexpr std::uint32_t bit(log_category c) noexcept {
    return 1u << static_cast<unsigned>(c);
  }
  std::uint32_t bits_ = 0;
};

// "broker,eos" (names separated by commas, spaces ignored), or "all". On an unknown name the
// error's key is `key` and its message names the allowed ones; `out` is left as it was.
std::optional<config_error> parse_log_categories(std::string_view list, log_categories& out,
                                                 std::string_view key = "debug");
// "all, broker, protocol, ...", for usage texts.
std::string allowed_log_categories();

struct log_record {
  log_level level = log_level::debug;
  log_category category = log_category::broker;
  std::string_view client;   // "producer kwire" (kind and client.id)
  std::string_view message;  // one line, no trailing newline
};
using log_sink = std::function<void(const log_record&)>;

// A sink that writes each record to standard error as one line, as `kwire -d` does:
//   2026-12-02T15:20:01.123Z DEBUG broker [producer kwire] connected to node 1 (...)
log_sink stderr_log_sink();
// That line, without the newline.
std::string format_log_line(const log_record& record, std::chrono::system_clock::time_point when);

// --- events

struct broker_connect_event {
  std::int32_t node_id = -1;  // bootstrap servers are -1, -2, ...
  std::string broker;         // host:port
  bool reconnect = false;     // this broker was connected or tried before
};
struct broker_disconnect_event {
  std::int32_t node_id = -1;
  std::string broker;
  std::error_code reason;
  bool was_ready = false;  // false: the connection attempt failed
};
struct producer_id_event {
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  bool bump = false;  // a new epoch of the same producer id (KIP-360)
};
struct assignment_event {
  enum class change : std::uint8_t { assigned, revoked, lost };
  change what = change::assigned;
  std::vector<topic_partition> partitions;
};
struct preferred_replica_event {
  topic_partition partition;
  std::int32_t from_node = -1;  // the leader, or the previous replica
  std::int32_t to_node = -1;    // -1: back to the leader
};
// The consumer's group coordinator changed.
struct coordinator_event {
  std::int32_t node_id = -1;  // -1: none known (being looked up again)
  std::string broker;         // host:port; empty with -1
};

// The transactional producer handed EndTxn to its coordinator's connection (its answer is
// not in yet). On the producer's strand.
struct end_txn_event {
  std::string transactional_id;
  std::int64_t producer_id = -1;
  std::int16_t epoch = -1;
  bool commit = false;  // false: an abort
};

// Optional callbacks; an empty one costs a test.
struct event_hooks {
  std::function<void(const broker_connect_event&)> on_broker_connect;
  std::function<void(const broker_disconnect_event&)> on_broker_disconnect;
  std::function<void(const producer_id_event&)> on_producer_id;
  std::function<void(const assignment_event&)> on_assignment;
  std::function<void(const preferred_replica_event&)> on_preferred_replica;
  std::function<void(const coordinator_event&)> on_coordinator;
  std::function<void(const end_txn_event&)> on_end_txn_sent;
};

struct observability {
  log_categories debug;  // categories whose info and debug lines reach the sink
  log_sink sink;         // none: silent
  event_hooks hooks;
  // Callables cannot be compared: configs compare equal when their categories are.
  bool operator==(const observability& other) const noexcept { return debug == other.debug; }
};

}  // namespace kwire::client
