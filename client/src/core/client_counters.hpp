// The counters behind a client's metrics snapshot. Each is written by the client's strand
// only and read from any thread: a relaxed load, add and store is a plain add (no locked
// instruction) and a reader always sees a whole value. Updated per request or per batch,
// never per record.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "kwire/client/metrics.hpp"

namespace kwire::client::detail {

class single_writer_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void raise_to(std::uint64_t v) noexcept {
    if (v > value_.load(std::memory_order_relaxed)) value_.store(v, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct client_counters {
  single_writer_counter records_sent;
  single_writer_counter record_bytes_sent;
  single_writer_counter records_received;
  single_writer_counter record_bytes_received;
  single_writer_counter network_bytes_sent;
  single_writer_counter network_bytes_received;
  single_writer_counter requests_started;  // in flight = started - finished
  single_writer_counter requests_finished;
  single_writer_counter connects;
  single_writer_counter disconnects;
  single_writer_counter sasl_reauthentications;  // KIP-368, completed
  single_writer_counter epoch_bumps;
  single_writer_counter transactions_overdue;  // open past transaction.warn.percent
  single_writer_counter rebalances;
  single_writer_counter preferred_replica_moves;

  struct api_counters {
    single_writer_counter count;
    single_writer_counter errors;
    single_writer_counter latency_sum_us;
    single_writer_counter latency_max_us;
  };
  std::array<api_counters, 128> apis;  // by api key

  // A request of `api_key` ended after `latency_us` (failed: a transport error).
  void request_finished(std::int16_t api_key, std::uint64_t latency_us, bool failed) noexcept {
    requests_finished.add();
    if (api_key < 0 || static_cast<std::size_t>(api_key) >= apis.size()) return;
    auto& api = apis[static_cast<std::size_t>(api_key)];
    api.count.add();
    if (failed) api.errors.add();
    api.latency_sum_us.add(latency_us);
    api.latency_max_us.raise_to(latency_us);
  }

  // Consumer lag, once per partition per fetch response (a lock there, not per record).
  void set_lag(const std::string& topic, std::int32_t partition, std::int64_t high_watermark,
               std::int64_t position);
  void forget_lag(const std::string& topic, std::int32_t partition);

  // Everything but the producer's buffer figures, which the producer adds.
  client_metrics_snapshot snapshot(std::string kind, std::string client_id) const;

 private:
  mutable std::mutex lag_mutex_;
  std::map<std::pair<std::string, std::int32_t>, partition_lag> lag_;
};

}  // namespace kwire::client::detail
