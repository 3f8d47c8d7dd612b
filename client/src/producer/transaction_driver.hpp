// Drives the transaction manager (transaction_manager.hpp) on the producer's strand: sends
// the coordinator requests it asks for over the cluster's connections, reports the answers,
// completes the application's transaction calls, and tells the producer what changed
// (producer id and epoch, records to fail, a wake-up to send). The producer's sender calls
// drive() after each drain.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "kwire/client/cluster.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "producer/transaction_manager.hpp"

namespace kwire::client::detail {

struct transaction_driver_hooks {
  // Records of the transaction not yet completed (sent or queued).
  unique_function<bool()> records_outstanding;
  // The coordinator gave a producer id and epoch (init, v2 EndTxn, or the abort's bump).
  unique_function<void(std::int64_t producer_id, std::int16_t epoch)> assign_identity;
  // An abort began: records not yet sent fail with transaction_aborted.
  unique_function<void()> abort_unsent;
  // The transaction failed for good: every record fails with this error.
  unique_function<void(std::error_code)> failed;
  // Batches may be sendable now (partitions added), or the state changed: drain again.
  unique_function<void()> wake;
  // EndTxn was handed to the coordinator's connection (observability; may be empty).
  unique_function<void(const protocol::EndTxnRequest&)> end_txn_sent;
};

class transaction_driver : public std::enable_shared_from_this<transaction_driver> {
 public:
  using done_handler = unique_function<void(std::error_code)>;

  transaction_driver(asio::strand<asio::any_io_executor> strand, std::shared_ptr<cluster> cluster,
                     const producer_config& config, transaction_driver_hooks hooks);

  // The application's calls (strand). An operation refused at once completes `done` at once.
  void init(done_handler done);
  std::error_code begin();
  void commit(done_handler done);
  void abort(done_handler done);
  void send_offsets(std::vector<transaction_offset> offsets, consumer_group_metadata group,
                    done_handler done);
  using prepare_handler = unique_function<void(std::error_code, prepared_transaction)>;
  void prepare(prepare_handler done);
  using outcome_handler = unique_function<void(std::error_code, transaction_outcome)>;
  // Commits (or aborts) a transaction prepared elsewhere, from its handle (see
  // transaction_manager::start_resume).
  void complete_prepared(const prepared_transaction& handle, bool commit, outcome_handler done);
  void record_written(const std::string& topic, std::int32_t partition, std::int64_t offset) {
    manager_.record_written(topic, partition, offset);
  }

  transaction_state state() const noexcept { return manager_.state(); }
  std::error_code may_send() const noexcept { return manager_.may_send(); }
  // Where the abortable or fatal error came from ("InitProducerId for transactional.id t").
  const std::string& error_context() const noexcept { return manager_.error_context(); }
  // Commit or abort under way: the sender sends without waiting for linger.ms.
  bool completing() const noexcept {
    return state() == transaction_state::committing || state() == transaction_state::aborting;
  }
  // The Produce version cap of the transaction's protocol (v1: at most 11, so that the
  // broker does not treat the batch as implicitly added).
  std::int16_t produce_version_cap() const noexcept {
    return manager_.protocol() == txn_protocol::v2 ? std::int16_t{32767} : std::int16_t{11};
  }
  std::int64_t producer_id() const noexcept { return manager_.producer_id(); }
  std::int16_t epoch() const noexcept { return manager_.epoch(); }
  bool protocol_v2() const noexcept { return manager_.protocol() == txn_protocol::v2; }

  bool partition_ready(const std::string& topic, std::int32_t partition) {
    return manager_.partition_ready(topic, partition);
  }
  void batch_failed(std::error_code ec, bool needs_epoch_bump);

  // Sends what the transaction needs next and completes finished operations (strand).
  void drive();
  // Stops timers; an operation still pending completes with shut_down.
  void close();

 private:
  void start(std::error_code refused, done_handler done);
  void complete_operations();
  void choose_protocol(const connection& conn);
  std::shared_ptr<connection> coordinator_connection(const std::optional<coordinator_node>& node);
  void send_lookup(bool group);
  template <class Request, class Response, class Answer>
  void send_to(const std::shared_ptr<connection>& conn, const Request& request,
               std::int16_t version, Answer answer);
  void arm_timer(transaction_manager::clock::time_point at);
  void log_state_change(transaction_state before);
  // The marker scan of a resumed transaction: one Fetch at a time, partition by partition.
  void scan_markers();
  void scan_answered(std::error_code ec, const protocol::FetchResponse& response);

  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<cluster> cluster_;
  transaction_driver_hooks hooks_;
  transaction_manager manager_;
  asio::steady_timer timer_;
  std::optional<transaction_manager::clock::time_point> timer_at_;
  done_handler pending_;  // the operation in progress (one at a time)
  bool closed_ = false;
  bool protocol_logged_ = false;
  // The watchdog: the open transaction's warning time, and whether it has warned.
  void watch_open_transaction(transaction_manager::clock::time_point now);
  std::chrono::milliseconds transaction_timeout_;
  int warn_percent_;
  bool warned_ = false;
  struct marker_scan {
    std::size_t partition = 0;   // index into the handle's partitions
    std::int64_t position = -1;  // next offset to read there
    bool fetch_in_flight = false;
  };
  std::optional<marker_scan> scan_;
};

}  // namespace kwire::client::detail
