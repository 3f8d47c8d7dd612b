#include "core/client_counters.hpp"

#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

void client_counters::set_lag(const std::string& topic, std::int32_t partition,
                              std::int64_t high_watermark, std::int64_t position) {
  const std::lock_guard lock(lag_mutex_);
  auto& entry = lag_[{topic, partition}];
  if (entry.topic.empty()) {
    entry.topic = topic;
    entry.partition = partition;
  }
  entry.high_watermark = high_watermark;
  entry.position = position;
  entry.lag = high_watermark >= position ? high_watermark - position : 0;
}

void client_counters::forget_lag(const std::string& topic, std::int32_t partition) {
  const std::lock_guard lock(lag_mutex_);
  lag_.erase({topic, partition});
}

client_metrics_snapshot client_counters::snapshot(std::string kind, std::string client_id) const {
  client_metrics_snapshot out;
  out.kind = std::move(kind);
  out.client_id = std::move(client_id);
  out.records_sent = records_sent.get();
  out.record_bytes_sent = record_bytes_sent.get();
  out.records_received = records_received.get();
  out.record_bytes_received = record_bytes_received.get();
  out.network_bytes_sent = network_bytes_sent.get();
  out.network_bytes_received = network_bytes_received.get();
  const auto started = requests_started.get();
  const auto finished = requests_finished.get();
  out.requests_in_flight = started > finished ? started - finished : 0;
  out.connects = connects.get();
  out.disconnects = disconnects.get();
  out.sasl_reauthentications = sasl_reauthentications.get();
  out.epoch_bumps = epoch_bumps.get();
  out.transactions_overdue = transactions_overdue.get();
  out.rebalances = rebalances.get();
  out.preferred_replica_moves = preferred_replica_moves.get();
  for (std::size_t key = 0; key < apis.size(); ++key) {
    const auto& api = apis[key];
    if (api.count.get() == 0) continue;
    api_request_metrics m;
    m.api_key = static_cast<std::int16_t>(key);
    if (const auto* info = protocol::find_api(m.api_key)) m.name = info->name;
    m.count = api.count.get();
    m.errors = api.errors.get();
    m.latency_sum_us = api.latency_sum_us.get();
    m.latency_max_us = api.latency_max_us.get();
    out.requests.push_back(m);
  }
  const std::lock_guard lock(lag_mutex_);
  for (const auto& [key, entry] : lag_) out.lag.push_back(entry);
  return out;
}

}  // namespace kwire::client::detail
