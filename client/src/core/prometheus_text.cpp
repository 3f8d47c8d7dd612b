// The Prometheus text exposition format, version 0.0.4: per metric family one HELP line,
// one TYPE line, then its samples; label values escape backslash, double quote and newline.
#include <cstdio>

#include "kwire/client/metrics.hpp"

namespace kwire::client {
namespace {

void append_escaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

std::string format_seconds(std::uint64_t micros) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6f", static_cast<double>(micros) / 1e6);
  return buffer;
}

class text_writer {
 public:
  text_writer(const client_metrics_snapshot& s, const metric_labels& labels)
      : prefix_("kwire_" + (s.kind.empty() ? std::string("client") : s.kind) + "_") {
    common_labels_ = "client_id=\"";
    append_escaped(common_labels_, s.client_id);
    common_labels_ += '"';
    for (const auto& [name, value] : labels) {
      common_labels_ += ',' + name + "=\"";
      append_escaped(common_labels_, value);
      common_labels_ += '"';
    }
  }

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP " + prefix_;
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE " + prefix_;
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  // `extra`: more labels, already written as name="value" pairs.
  void sample(std::string_view name, const std::string& value, const std::string& extra = {}) {
    out_ += prefix_;
    out_ += name;
    out_ += '{' + common_labels_;
    if (!extra.empty()) out_ += ',' + extra;
    out_ += "} " + value + '\n';
  }

  void counter(std::string_view name, std::string_view help, std::uint64_t value) {
    family(name, "counter", help);
    sample(name, std::to_string(value));
  }
  void gauge(std::string_view name, std::string_view help, std::int64_t value) {
    family(name, "gauge", help);
    sample(name, std::to_string(value));
  }

  std::string take() { return std::move(out_); }

 private:
  std::string prefix_;
  std::string common_labels_;
  std::string out_;
};

std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  append_escaped(out, value);
  out += '"';
  return out;
}

}  // namespace

std::string to_prometheus_text(const client_metrics_snapshot& s, const metric_labels& labels) {
  text_writer w(s, labels);
  const bool producer = s.kind == "producer";
  const bool consumer = s.kind == "consumer";
  if (producer) {
    w.counter("records_sent_total", "Records the brokers acknowledged.", s.records_sent);
    w.counter("record_bytes_sent_total", "Bytes of the acknowledged record batches, as sent.",
              s.record_bytes_sent);
    w.gauge("buffer_bytes_queued", "Bytes of records held for sending.", s.buffer_bytes_queued);
    w.gauge("buffer_memory_bytes", "buffer.memory: the bound of buffer_bytes_queued.",
            s.buffer_memory);
    w.counter("epoch_bumps_total", "Producer epoch bumps (KIP-360).", s.epoch_bumps);
    w.counter("transactions_overdue_total",
              "Transactions still open at transaction.warn.percent of transaction.timeout.ms.",
              s.transactions_overdue);
  }
  if (consumer) {
    w.counter("records_received_total", "Records fetched.", s.records_received);
    w.counter("record_bytes_received_total", "Bytes of the record batches fetched.",
              s.record_bytes_received);
    w.counter("rebalances_total", "Partition assignments received from the group.", s.rebalances);
    w.counter("preferred_replica_moves_total", "Fetches moved to another replica.",
              s.preferred_replica_moves);
  }
  w.counter("network_bytes_sent_total", "Bytes written to broker connections.",
            s.network_bytes_sent);
  w.counter("network_bytes_received_total", "Bytes read from broker connections.",
            s.network_bytes_received);
  w.gauge("requests_in_flight", "Requests sent or queued, waiting for their response.",
          static_cast<std::int64_t>(s.requests_in_flight));
  w.counter("connects_total", "Broker connections made ready, reconnects included.", s.connects);
  w.counter("disconnects_total", "Broker connections lost or failed.", s.disconnects);
  w.counter("sasl_reauthentications_total", "SASL sessions renewed on a live connection (KIP-368).",
            s.sasl_reauthentications);
  if (!s.requests.empty()) {
    w.family("requests_total", "counter", "Requests answered or failed, by API.");
    for (const auto& r : s.requests)
      w.sample("requests_total", std::to_string(r.count), label("api", r.name));
    w.family("request_errors_total", "counter",
             "Requests failed without a response (timeouts, closed connections), by API.");
    for (const auto& r : s.requests)
      w.sample("request_errors_total", std::to_string(r.errors), label("api", r.name));
    w.family("request_latency_seconds", "summary", "Time from send to response, by API.");
    for (const auto& r : s.requests) {
      w.sample("request_latency_seconds_sum", format_seconds(r.latency_sum_us),
               label("api", r.name));
      w.sample("request_latency_seconds_count", std::to_string(r.count), label("api", r.name));
    }
    w.family("request_latency_max_seconds", "gauge", "The longest request, by API.");
    for (const auto& r : s.requests)
      w.sample("request_latency_max_seconds", format_seconds(r.latency_max_us),
               label("api", r.name));
  }
  if (consumer && !s.lag.empty()) {
    w.family("partition_lag", "gauge",
             "High watermark minus fetch position, as of the partition's last fetch.");
    for (const auto& l : s.lag)
      w.sample("partition_lag", std::to_string(l.lag),
               label("topic", l.topic) + ',' + label("partition", std::to_string(l.partition)));
  }
  return w.take();
}

}  // namespace kwire::client
