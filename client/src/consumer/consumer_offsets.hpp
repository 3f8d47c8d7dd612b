// The consumer's requests to its group's coordinator: OffsetCommit (commit(), auto commit,
// the commit before a revocation or close) and OffsetFetch (committed(), and the positions
// of partitions waiting for their committed offset), retried until their deadline on
// coordinator errors. A group member (group_driver) finds the coordinator itself; without
// one (assign() with a group.id) FindCoordinator here does. Runs on the consumer's strand.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <list>
#include <map>
#include <system_error>
#include <vector>

#include "consumer/consumer_driver.hpp"
#include "consumer/consumer_positions.hpp"
#include "core/coordinator_lookup.hpp"
#include "group/group_driver.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/client/consumer.hpp"

namespace kwire::client::detail {

class consumer_offsets {
 public:
  // Everything given outlives this (the consumer owns them all).
  consumer_offsets(const consumer_config& config, cluster& brokers, consumer_positions& positions,
                   consumer_driver& driver, const asio::strand<asio::any_io_executor>& strand);

  // The group member, once subscribe() made one: it fences commits and knows the
  // coordinator.
  void set_group(group_driver* group) noexcept { group_ = group; }

  // Queues a commit (sent by the next drive), failed with request_timed_out when no
  // coordinator took it by `deadline`.
  void commit(topic_partition_offsets offsets, consumer::commit_handler handler,
              consumer_clock::time_point deadline);
  // Queues a committed() query, likewise.
  void query_committed(std::vector<topic_partition> partitions, consumer::committed_handler handler,
                       consumer_clock::time_point deadline);

  // Sends what waits (commits, queries, the committed offsets of partitions in
  // awaiting_committed), expires what waited too long; `next_wakeup` gets the next deadline.
  void drive(consumer_clock::time_point now, consumer_clock::time_point& next_wakeup);
  // Commits the consumed positions every auto.commit.interval.ms until closing.
  void start_auto_commit();
  void on_connection_lost(std::int32_t node);
  // Fails everything waiting with shut_down.
  void shut_down();
  // Commits asked for and not answered yet (queued or in flight).
  bool has_pending_commits() const noexcept { return !commits_.empty(); }

 private:
  struct pending_commit {
    topic_partition_offsets offsets;
    consumer::commit_handler handler;
    consumer_clock::time_point deadline;
    bool in_flight = false;
  };
  struct pending_committed {
    std::vector<topic_partition> partitions;
    consumer::committed_handler handler;
    consumer_clock::time_point deadline;
    bool in_flight = false;
  };

  void find_coordinator(consumer_clock::time_point now, consumer_clock::time_point& next_wakeup);
  // A non-retriable group error (GROUP_AUTHORIZATION_FAILED, ...): every waiting operation
  // fails with it, and partitions waiting for committed offsets fail too.
  void fail_group_requests(std::error_code ec, std::string message);
  void coordinator_failed();
  // Sends the commit, or returns why it cannot be sent (the caller fails it).
  std::error_code send_commit(connection& conn, pending_commit& c);
  void handle_commit(pending_commit* key, std::error_code ec, const response_frame& frame);
  // OffsetFetch for a committed() query (`query` set) or for positions (`tps`).
  void send_offset_fetch(connection& conn, pending_committed* query,
                         const std::vector<topic_partition>& tps);
  void handle_offset_fetch(pending_committed* query, const std::vector<topic_partition>& tps,
                           std::error_code ec, const response_frame& frame);

  const consumer_config& config_;
  cluster& cluster_;
  consumer_positions& positions_;
  consumer_driver& driver_;
  group_driver* group_ = nullptr;
  // Without group membership (assign() and commits) the consumer looks the coordinator up
  // itself; a member's lookup is the member's.
  coordinator_lookup lookup_;
  std::int32_t coordinator_ = -1;
  bool position_fetch_in_flight_ = false;
  // UNSTABLE_OFFSET_COMMIT (a transaction holds the offsets) is asked again after a backoff.
  consumer_clock::time_point position_fetch_retry_at_{};
  std::list<pending_commit> commits_;
  std::list<pending_committed> committed_queries_;
  asio::steady_timer commit_timer_;
  std::map<topic_partition, std::int64_t> last_auto_committed_;
};

}  // namespace kwire::client::detail
