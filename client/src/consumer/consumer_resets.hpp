// Offset resets: ListOffsets, per partition leader, for the partitions waiting for one
// (awaiting_reset: a seek to the beginning, the end or a timestamp, or auto.offset.reset),
// retried after a backoff on leadership and retriable errors. Runs on the consumer's strand.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "consumer/consumer_driver.hpp"
#include "consumer/consumer_positions.hpp"
#include "kwire/client/cluster.hpp"

namespace kwire::client::detail {

class consumer_resets {
 public:
  // Everything given outlives this (the consumer owns them all).
  consumer_resets(const consumer_config& config, cluster& brokers, consumer_positions& positions,
                  consumer_driver& driver);

  // Sends a ListOffsets to each leader of partitions waiting for a reset; `next_wakeup` gets
  // the next retry time.
  void drive(consumer_clock::time_point now, consumer_clock::time_point& next_wakeup);

 private:
  // A partition asked for, and its seek generation then: a later seek makes the answer stale.
  using sent_partition = std::pair<topic_partition, std::uint64_t>;

  void handle_list_offsets(std::int32_t node, std::vector<sent_partition> sent, std::error_code ec,
                           const response_frame& frame);

  const consumer_config& config_;
  cluster& cluster_;
  consumer_positions& positions_;
  consumer_driver& driver_;
};

}  // namespace kwire::client::detail
