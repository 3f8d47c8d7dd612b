// A client's metrics, as a snapshot: counters the I/O thread keeps (per request or batch,
// never per record) copied out on demand, from any thread. And their Prometheus text
// exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
//   auto snapshot = producer.metrics();
//   std::cout << kwire::client::to_prometheus_text(snapshot, {{"job", "ingest"}});
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kwire::client {

// One API's requests (answered or failed) since the client started.
struct api_request_metrics {
  std::int16_t api_key = -1;
  std::string_view name;             // "Produce", "Fetch", ...
  std::uint64_t count = 0;           // responses and failures
  std::uint64_t errors = 0;          // transport failures (timeouts, closed connections)
  std::uint64_t latency_sum_us = 0;  // send to response
  std::uint64_t latency_max_us = 0;
};

// A consumer's partition: high watermark - fetch position (Java's records-lag), as of the
// partition's last fetch response. Under read_committed `high_watermark` holds the last
// stable offset instead, as Java's lag does.
struct partition_lag {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t high_watermark = -1;
  std::int64_t position = -1;
  std::int64_t lag = -1;
};

struct client_metrics_snapshot {
  std::string kind;  // "producer", "consumer", "admin"
  std::string client_id;

  std::uint64_t records_sent = 0;           // acknowledged records (producer)
  std::uint64_t record_bytes_sent = 0;      // their batches' bytes, as sent (compressed)
  std::uint64_t records_received = 0;       // records handed to poll (consumer)
  std::uint64_t record_bytes_received = 0;  // batch bytes as fetched
  std::uint64_t network_bytes_sent = 0;     // everything written to sockets
  std::uint64_t network_bytes_received = 0;
  std::uint64_t requests_in_flight = 0;

  std::uint64_t connects = 0;  // connections made ready, reconnects included
  std::uint64_t disconnects = 0;
  std::uint64_t sasl_reauthentications = 0;  // SASL sessions renewed on a live connection
  std::uint64_t epoch_bumps = 0;
  // Transactions still open at transaction.warn.percent of transaction.timeout.ms.
  std::uint64_t transactions_overdue = 0;
  std::uint64_t rebalances = 0;  // assignments received
  std::uint64_t preferred_replica_moves = 0;

  std::int64_t buffer_bytes_queued = -1;  // producer: bytes held for sending; -1: not a producer
  std::int64_t buffer_memory = -1;        // producer: buffer.memory

  std::vector<api_request_metrics> requests;  // APIs used, by api key
  std::vector<partition_lag> lag;             // consumer: assigned partitions fetched so far
};

// Prometheus text format: `# HELP` and `# TYPE` lines, then samples named
// kwire_<kind>_<name>{client_id="...",<labels>}. Label values are escaped (\\, \", \n).
using metric_labels = std::vector<std::pair<std::string, std::string>>;
std::string to_prometheus_text(const client_metrics_snapshot& snapshot,
                               const metric_labels& labels = {});

}  // namespace kwire::client
