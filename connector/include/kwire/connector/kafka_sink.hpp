// The Kafka sink (FlinkKafkaProducer / KafkaSink): writes a subtask's records with one of
// three guarantees.
//
//   none           fire and forget: nothing waits at a checkpoint.
//   at_least_once  pre_commit flushes; a delivery error fails the checkpoint (or, with
//                  log_failures_only, is counted and logged: the guarantee is gone).
//   exactly_once   one transaction per subtask per checkpoint: pre_commit prepares it
//                  (client::producer::prepare_transaction), its handle is stored in the
//                  checkpoint, and notify_complete commits it. Restore commits the handles of
//                  the restored checkpoint first (see transaction_recovery.hpp).
//
// Transactional ids come from a bounded pool per subtask, "prefix-SUBTASK-SLOT": the open
// transaction takes a free slot; a slot is busy until its prepared transaction is committed.
// Every transaction starts on a new producer whose init_transactions() bumps the slot's epoch,
// so an old handle can never commit a newer transaction of the same id.
//
// Threading: every call comes from the subtask's thread and may block; the producers run on
// `executor`, whose io_context another thread runs.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/pending_transactions.hpp"
#include "kwire/connector/sink.hpp"
#include "kwire/connector/transactional_id_pool.hpp"

namespace kwire::connector {

// Picks the partition of a record that names none (Flink's FlinkKafkaPartitioner). Its own
// state is not checkpointed.
class sink_partitioner {
 public:
  virtual ~sink_partitioner() = default;
  virtual void open(std::int32_t subtask, std::int32_t parallelism) = 0;
  // `partitions`: the target topic's partitions, ascending.
  virtual std::int32_t partition(const sink_record& record, std::string_view topic,
                                 std::span<const std::int32_t> partitions) = 0;
};

enum class sink_partitioning : std::uint8_t {
  fixed,     // Flink's default: subtask i writes to partition i modulo the partition count
  key_hash,  // the producer's partitioner (murmur2 of the key, sticky without a key)
  custom,    // kafka_sink_config::partitioner
};

struct kafka_sink_config {
  // Producer properties (Java names). The sink sets acks=all and enable.idempotence=true
  // under at_least_once and exactly_once, and refuses settings that contradict them.
  client::properties properties;
  std::string topic;  // for records that name no topic
  delivery_guarantee guarantee = delivery_guarantee::at_least_once;
  bool log_failures_only = false;       // at_least_once: count and log delivery errors, do not fail
  std::string transactional_id_prefix;  // exactly_once: required
  std::int32_t transactional_id_pool = 5;
  sink_partitioning partitioning = sink_partitioning::fixed;
  std::shared_ptr<sink_partitioner> partitioner;  // partitioning::custom
  bool write_timestamp = true;  // false: the records' timestamps are left to the producer (now)
  std::function<void(std::string_view)> log;  // warnings and counted failures; may be empty
};

// The producer properties the sink runs with, validated: the guarantee's settings added, and
// an error naming the key for a contradiction (acks=0|1 or enable.idempotence=false under a
// guarantee, a transactional.id of the user's, a prefix missing under exactly_once, a pool
// below 2). `warnings` gets what the user should know (log_failures_only, ...).
std::error_code sink_producer_properties(const kafka_sink_config& config, client::properties& out,
                                         std::string& error_message,
                                         std::vector<std::string>& warnings);

// Counters for the caller's metrics and the closing report; read from any thread.
struct kafka_sink_counters {
  std::atomic<std::int64_t> records_written{0};
  std::atomic<std::int64_t> delivery_failures{0};  // log_failures_only: failures tolerated
  std::atomic<std::int64_t> transactions_prepared{0};
  std::atomic<std::int64_t> transactions_committed{0};
  std::atomic<std::int64_t> commits_retried{0};    // a commit that failed and stays pending
  std::atomic<std::int64_t> transactions_lost{0};  // prepared, then aborted before the commit
  // Restore: the outcome of each pending handle of the restored checkpoint.
  std::atomic<std::int64_t> restored_committed{0};
  std::atomic<std::int64_t> restored_already_committed{0};
  std::atomic<std::int64_t> restored_unknown{0};
};

class kafka_sink final : public sink {
 public:
  kafka_sink(boost::asio::any_io_executor executor, kafka_sink_config config);
  ~kafka_sink() override;

  std::string participant_name() const override { return "kafka-sink"; }
  std::error_code open(std::int32_t subtask, std::int32_t parallelism) override;
  std::error_code restore_pending(std::span<const pending_transaction> pending) override;
  std::error_code write(const sink_record& record) override;
  std::error_code pre_commit(checkpoint_id id) override;
  std::vector<pending_transaction> pending(checkpoint_id id) override;
  delivery_guarantee guarantee() const noexcept override { return config_.guarantee; }

  participant_bytes snapshot(checkpoint_id id) override;
  std::error_code restore(std::span<const std::uint8_t> state) override;
  void notify_complete(checkpoint_id id) override;
  void notify_aborted(checkpoint_id id) override;

  void close() override;

  // What went wrong last (the message of the error write/pre_commit returned).
  const std::string& last_error() const noexcept { return last_error_; }
  const kafka_sink_counters& counters() const noexcept { return counters_; }
  // Prepared transactions found aborted (prepared_transaction_lost) or unprovable
  // (prepared_transaction_unknown), each naming the checkpoint, the id and the partitions.
  const std::vector<checkpoint_error>& losses() const noexcept { return losses_; }

 private:
  std::error_code fail(std::error_code ec, std::string message);
  std::error_code start_transaction();
  std::unique_ptr<client::producer> make_producer(const std::string* transactional_id,
                                                  std::error_code& ec);
  std::int32_t target_partition(const sink_record& record, std::string_view topic,
                                std::error_code& ec);
  void commit_prepared(const pending_transaction& pending, checkpoint_id completed);
  void release_slot_of(const pending_transaction& pending);
  void take_delivery_error();

  boost::asio::any_io_executor executor_;
  kafka_sink_config config_;
  client::properties producer_properties_;
  std::int32_t subtask_ = 0;
  std::int32_t parallelism_ = 1;
  std::unique_ptr<transactional_id_pool> pool_;

  // none / at_least_once: one producer for the sink's life. exactly_once: the open
  // transaction's producer (null between transactions) and its slot.
  std::unique_ptr<client::producer> producer_;
  std::int32_t open_slot_ = -1;
  bool open_has_records_ = false;
  std::set<std::int32_t> used_slots_;  // slots a transaction of this sink ran on
  checkpoint_id last_prepared_ = 0;
  std::atomic<checkpoint_id> committing_{0};  // read by the test build's end-txn-sent point
  // Prepared in this process and not committed yet, by handle text: committed in place.
  std::map<std::string, std::unique_ptr<client::producer>> prepared_producers_;
  pending_transactions pending_;

  // The first delivery error since the last pre_commit (set on a producer's strand).
  std::mutex delivery_mutex_;
  std::error_code delivery_error_;
  std::string delivery_error_message_;

  std::map<std::string, std::vector<std::int32_t>, std::less<>> partitions_by_topic_;
  std::error_code failed_;
  std::string last_error_;
  kafka_sink_counters counters_;
  std::vector<checkpoint_error> losses_;
};

}  // namespace kwire::connector
