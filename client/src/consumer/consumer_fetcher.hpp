// The consumer's fetching. Per broker: one fetch session and at most one Fetch in flight,
// naming every fetchable partition that broker leads, or serves as the preferred read
// replica its leader named (KIP-392). A response's batches are checked (CRC, codec, records;
// compressed ones decompressed into pooled blocks) before they join the records waiting for
// poll (consumer_positions). Fetching stops while the responses waiting for poll hold
// fetch.max.bytes, for every partition at once: a limit per partition would let partitions
// become fetchable one by one as poll drains them, and the fetches would shrink to a
// partition or two each (measured with the OS's receive buffer: 4x the requests for the same
// records, each partition forgotten and re-added to the session). Likewise a broker is not
// asked again while two of its responses wait, so that the next fetch is in flight while the
// application reads the previous one, and no more. Runs on the consumer's strand, but for
// the checks of a response's batches (CRC, decompression, records: most of a compressed
// consumer's CPU), which run on any thread of the consumer's executor, so beside the
// network I/O when the application gives it several; the records still reach poll in
// arrival order.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <utility>

#include "consumer/consumer_driver.hpp"
#include "consumer/consumer_positions.hpp"
#include "consumer/fetch_session.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/client/consumer.hpp"

namespace kwire::client::detail {

// Memory for decompressed records, reused across responses (consumer_fetcher.cpp).
class decode_block_pool;

// One broker's fetch session and the state of its Fetch.
struct node_fetch {
  fetch_session session;
  bool in_flight = false;
  consumer_clock::time_point retry_at{};
};

class consumer_fetcher {
 public:
  // Everything given outlives this (the consumer owns them all).
  consumer_fetcher(const consumer_config& config, cluster& brokers, consumer_positions& positions,
                   consumer_driver& driver);

  // Sends a Fetch to each broker that may take one; `next_wakeup` gets the next retry time.
  void drive(consumer_clock::time_point now, consumer_clock::time_point& next_wakeup);
  // The broker's session is gone, and so is its part as a preferred read replica.
  void on_connection_lost(std::int32_t node);

 private:
  // Per partition sent: the fetch offset asked for and the seek generation then.
  using expected_offsets = std::map<topic_partition, std::pair<std::int64_t, std::uint64_t>>;
  // A response whose batches are being checked off the strand (consumer_fetcher.cpp).
  struct checking_response;
  struct waiting_responses {
    std::size_t bytes = 0;
    std::map<std::int32_t, std::size_t> by_node;
  };

  std::int32_t fetch_node(assigned_partition& p, consumer_clock::time_point now,
                          std::int32_t& epoch);
  bool is_online_replica(const topic_partition& tp, std::int32_t node) const;
  void forget_preferred_replica(std::int32_t node);
  void report_replica_move(const assigned_partition& p, std::int32_t from, std::int32_t to,
                           std::string_view why);
  waiting_responses count_waiting_responses();
  void send_fetch(std::int32_t node, node_fetch& nf, connection& conn,
                  const fetch_partition_map& wanted);
  void handle_fetch(std::int32_t node, const fetch_plan& plan, const expected_offsets& expected,
                    std::error_code ec, response_frame frame);
  struct fetched_end {
    std::int64_t next_offset = -1;
    std::int32_t last_epoch = -1;
  };
  static fetched_end next_offset_after(std::span<const std::uint8_t> records, std::int64_t from);
  // A partition's part of a response before its records are checked: watermarks, errors,
  // a diverging epoch, a preferred replica. True when there are records to check.
  bool accept_partition_data(assigned_partition& p,
                             const protocol::FetchResponse::PartitionData& pd, diagnostics& diag);
  // What the checks of one partition's records found (consumer_fetcher.cpp).
  struct checked_batches;
  // Checks every batch of one partition's records (any thread); drops the data batches of
  // the transactions `aborted` names (read_committed; empty under read_uncommitted).
  static checked_batches check_batches(
      std::span<const std::uint8_t> records, std::int64_t from, fetched_buffers& owner,
      bool verify_crc, std::span<const protocol::FetchResponse::AbortedTransaction> aborted);
  // The aborted transactions of a partition's response that apply: none but under
  // read_committed.
  static std::span<const protocol::FetchResponse::AbortedTransaction> aborted_in(
      const protocol::FetchResponse::PartitionData& pd, bool read_committed);
  bool read_committed() const noexcept {
    return config_.isolation == isolation_level::read_committed;
  }
  // Where the partition's log ends for this consumer: the high watermark, or the last
  // stable offset under read_committed (-1: not known yet).
  std::int64_t end_of_log(const assigned_partition& p) const;
  // The records of `p` from `first` on, checked, join those waiting for poll. `prefetched`:
  // the next fetch of `p` already went out from where the batch headers end (the checks must
  // then find the same end, or the partition fails).
  void take_checked(assigned_partition& p, std::span<const std::uint8_t> records,
                    std::int64_t first, checked_batches& checked,
                    const std::shared_ptr<fetched_buffers>& owner, diagnostics diag,
                    bool prefetched);
  // Hands the checked responses at the front of checking_ to their partitions, in order.
  void take_checked_responses();
  // A partition's error in a Fetch response: an offset reset, a retry (at the leader), or
  // a failed partition.
  void handle_partition_error(assigned_partition& p, std::error_code ec, diagnostics diag);

  const consumer_config& config_;
  cluster& cluster_;
  consumer_positions& positions_;
  consumer_driver& driver_;
  std::map<std::int32_t, node_fetch> node_fetches_;
  std::shared_ptr<decode_block_pool> decode_pool_;
  std::deque<std::shared_ptr<checking_response>> checking_;  // in arrival order
};

}  // namespace kwire::client::detail
