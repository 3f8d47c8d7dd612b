#include "kwire/connector/kafka_sink.hpp"

#include <chrono>
#include <future>

#include "crash_point.hpp"
#include "kwire/connector/transaction_recovery.hpp"

namespace kwire::connector {
namespace {

constexpr std::chrono::milliseconds close_timeout{5000};

// The fixed partitioner: subtask i writes to partition i modulo the partition count (Flink's
// FlinkFixedPartitioner), so the output keeps the order of what one subtask wrote.
std::int32_t fixed_partition(std::int32_t subtask, std::span<const std::int32_t> partitions) {
  return partitions[static_cast<std::size_t>(subtask) % partitions.size()];
}

}  // namespace

kafka_sink::kafka_sink(boost::asio::any_io_executor executor, kafka_sink_config config)
    : executor_(std::move(executor)), config_(std::move(config)) {}

kafka_sink::~kafka_sink() {
  // Producers call back into this object: close them before the members go.
  if (producer_) producer_->close(std::chrono::milliseconds(0));
  for (auto& [handle, producer] : prepared_producers_)
    producer->close(std::chrono::milliseconds(0));
}

std::error_code kafka_sink::fail(std::error_code ec, std::string message) {
  failed_ = ec;
  last_error_ = std::move(message);
  if (config_.log) config_.log(last_error_);
  return ec;
}

std::error_code kafka_sink::open(std::int32_t subtask, std::int32_t parallelism) {
  subtask_ = subtask;
  parallelism_ = parallelism;
  std::vector<std::string> warnings;
  std::string message;
  if (auto ec = sink_producer_properties(config_, producer_properties_, message, warnings))
    return fail(ec, message);
  if (config_.log)
    for (const auto& w : warnings) config_.log(w);
  if (config_.partitioner) config_.partitioner->open(subtask, parallelism);
  if (config_.guarantee == delivery_guarantee::exactly_once) {
    pool_ = std::make_unique<transactional_id_pool>(config_.transactional_id_prefix, subtask,
                                                    config_.transactional_id_pool);
    return {};
  }
  std::error_code ec;
  producer_ = make_producer(nullptr, ec);
  return ec;
}

std::unique_ptr<client::producer> kafka_sink::make_producer(const std::string* transactional_id,
                                                            std::error_code& ec) {
  auto properties = producer_properties_;
  if (transactional_id) properties.emplace_back("transactional.id", *transactional_id);
  client::producer_config config;
  if (auto bad = client::parse_producer_config(properties, config)) {
    ec = fail(make_error_code(errc::invalid_config), bad->key + ": " + bad->message);
    return nullptr;
  }
#ifdef KWIRE_CRASH_POINTS
  config.observe.hooks.on_end_txn_sent = [this](const client::end_txn_event& e) {
    if (e.commit) crash_point("end-txn-sent", committing_.load());
  };
#endif
  return std::make_unique<client::producer>(executor_, std::move(config));
}

std::error_code kafka_sink::restore_pending(std::span<const pending_transaction> pending) {
  if (config_.guarantee != delivery_guarantee::exactly_once || pending.empty()) return {};
  for (const auto& p : pending) {
    const auto result = commit_pending_transaction(executor_, producer_properties_, p);
    if (result.error)
      return fail(result.error,
                  "subtask " + std::to_string(subtask_) + " restore: " + result.detail);
    switch (result.outcome) {
      case client::transaction_outcome::committed:
        ++counters_.transactions_committed;
        ++counters_.restored_committed;
        break;
      case client::transaction_outcome::already_committed:
        ++counters_.restored_already_committed;
        break;
      case client::transaction_outcome::aborted:
      case client::transaction_outcome::already_aborted:
        ++counters_.transactions_lost;
        losses_.push_back({make_error_code(errc::prepared_transaction_lost), result.detail});
        if (config_.log) config_.log(losses_.back().describe());
        break;
      case client::transaction_outcome::unknown:
        ++counters_.restored_unknown;
        losses_.push_back({make_error_code(errc::prepared_transaction_unknown), result.detail});
        if (config_.log) config_.log(losses_.back().describe());
        break;
    }
  }
  pending_.restore({});
  if (config_.log)
    config_.log("restore: subtask " + std::to_string(subtask_) + ", " +
                std::to_string(pending.size()) +
                " pending transaction(s): " + std::to_string(counters_.restored_committed.load()) +
                " committed, " + std::to_string(counters_.restored_already_committed.load()) +
                " already committed, " + std::to_string(counters_.transactions_lost.load()) +
                " aborted before commit, " + std::to_string(counters_.restored_unknown.load()) +
                " unknown");
  return {};
}

std::error_code kafka_sink::start_transaction() {
  const auto slot = pool_->acquire();
  if (!slot)
    return fail(make_error_code(errc::transactional_id_pool_exhausted),
                "subtask " + std::to_string(subtask_) + ": all " + std::to_string(pool_->size()) +
                    " transactional ids of prefix " + config_.transactional_id_prefix +
                    " hold an uncommitted transaction; raise the pool above the checkpoints "
                    "that may be pending at once");
  const auto id = pool_->id(*slot);
  std::error_code ec;
  auto producer = make_producer(&id, ec);
  if (!producer) return ec;
  // A new producer for every transaction: InitProducerId bumps the id's epoch, so no handle
  // of an earlier transaction of this id can commit this one.
  if (auto init = producer->init_transactions()) {
    pool_->release(*slot);
    const auto context = producer->transaction_error_context();
    producer->close(std::chrono::milliseconds(0));
    return fail(init, "init_transactions of " + id + ": " + init.message() +
                          (context.empty() ? "" : " (" + context + ")"));
  }
  if (auto begin = producer->begin_transaction()) {
    pool_->release(*slot);
    producer->close(std::chrono::milliseconds(0));
    return fail(begin, "begin_transaction of " + id + ": " + begin.message());
  }
  producer_ = std::move(producer);
  open_slot_ = *slot;
  open_has_records_ = false;
  if (!used_slots_.insert(*slot).second) crash_point("reused-slot-begun", last_prepared_);
  return {};
}

std::int32_t kafka_sink::target_partition(const sink_record& record, std::string_view topic,
                                          std::error_code& ec) {
  if (record.partition >= 0 || config_.partitioning == sink_partitioning::key_hash)
    return record.partition;
  auto known = partitions_by_topic_.find(topic);
  if (known == partitions_by_topic_.end()) {
    std::promise<std::pair<std::error_code, std::int32_t>> answer;
    producer_->async_partition_count(topic, [&answer](std::error_code e, std::int32_t count) {
      answer.set_value({e, count});
    });
    const auto [error, count] = answer.get_future().get();
    if (error || count <= 0) {
      ec = fail(
          error ? error : make_error_code(errc::invalid_argument),
          "partitions of topic " + std::string(topic) + ": " + (error ? error.message() : "none"));
      return -1;
    }
    std::vector<std::int32_t> partitions;
    for (std::int32_t p = 0; p < count; ++p) partitions.push_back(p);
    known = partitions_by_topic_.emplace(std::string(topic), std::move(partitions)).first;
  }
  if (config_.partitioning == sink_partitioning::fixed)
    return fixed_partition(subtask_, known->second);
  return config_.partitioner->partition(record, topic, known->second);
}

void kafka_sink::take_delivery_error() {
  std::error_code ec;
  std::string message;
  {
    std::lock_guard lock(delivery_mutex_);
    ec = std::exchange(delivery_error_, {});
    message = std::exchange(delivery_error_message_, {});
  }
  if (!ec) return;
  if (config_.guarantee == delivery_guarantee::at_least_once && !config_.log_failures_only) {
    fail(make_error_code(errc::delivery_failed), message);
    return;
  }
  if (config_.guarantee == delivery_guarantee::exactly_once) {
    fail(make_error_code(errc::delivery_failed), message);
    return;
  }
  if (config_.log) config_.log(message);
}

std::error_code kafka_sink::write(const sink_record& record) {
  if (failed_) return failed_;
  take_delivery_error();
  if (failed_) return failed_;
  if (config_.guarantee == delivery_guarantee::exactly_once && !producer_)
    if (auto ec = start_transaction()) return ec;
  sink_record out = record;
  if (out.topic.empty()) out.topic = config_.topic;
  std::error_code ec;
  out.partition = target_partition(out, out.topic, ec);
  if (ec) return ec;
  if (!config_.write_timestamp) out.timestamp = -1;
  const auto accepted =
      producer_->send(out, [this](std::error_code e, const client::delivery_report& report) {
        if (!e) return;
        ++counters_.delivery_failures;
        std::lock_guard lock(delivery_mutex_);
        if (delivery_error_) return;
        delivery_error_ = e;
        delivery_error_message_ = "record to " + std::string(report.topic) + "-" +
                                  std::to_string(report.partition) +
                                  " not delivered: " + e.message();
      });
  if (accepted)
    return fail(accepted, "send to " + std::string(out.topic) + ": " + accepted.message());
  open_has_records_ = true;
  ++counters_.records_written;
  return {};
}

std::error_code kafka_sink::pre_commit(checkpoint_id id) {
  if (failed_) return failed_;
  switch (config_.guarantee) {
    case delivery_guarantee::none:
      take_delivery_error();
      return {};
    case delivery_guarantee::at_least_once:
      producer_->flush();
      take_delivery_error();
      return failed_;
    case delivery_guarantee::exactly_once:
      break;
  }
  if (!producer_ || !open_has_records_) return {};  // empty transactions are never checkpointed
  auto [ec, handle] = producer_->prepare_transaction();
  take_delivery_error();
  if (!ec && failed_) ec = failed_;
  if (ec) {
    const auto context = producer_->transaction_error_context();
    return fail(ec, "prepare of transaction " + pool_->id(open_slot_) + " at checkpoint " +
                        std::to_string(id) + ": " + ec.message() +
                        (context.empty() ? "" : " (" + context + ")"));
  }
  auto text = client::encode_prepared_transaction(handle);
  pending_.add(id, text);
  prepared_producers_.emplace(std::move(text), std::move(producer_));
  open_slot_ = -1;
  open_has_records_ = false;
  last_prepared_ = id;
  ++counters_.transactions_prepared;
  crash_point("pre-commit", id);
  return {};
}

std::vector<pending_transaction> kafka_sink::pending(checkpoint_id) { return pending_.pending(); }

participant_bytes kafka_sink::snapshot(checkpoint_id) { return {}; }

std::error_code kafka_sink::restore(std::span<const std::uint8_t>) { return {}; }

void kafka_sink::release_slot_of(const pending_transaction& pending) {
  client::prepared_transaction handle;
  if (client::decode_prepared_transaction(pending.handle, handle)) return;
  const auto parts =
      parse_transactional_id(config_.transactional_id_prefix, handle.transactional_id);
  if (parts && parts->subtask == subtask_) pool_->release(parts->slot);
}

void kafka_sink::commit_prepared(const pending_transaction& pending, checkpoint_id completed) {
  // Prepared here: commit on the producer that prepared it.
  if (auto found = prepared_producers_.find(pending.handle); found != prepared_producers_.end()) {
    auto producer = std::move(found->second);
    prepared_producers_.erase(found);
    committing_ = completed;
    const auto ec = producer->commit_transaction();
    const auto context = ec ? producer->transaction_error_context() : std::string();
    producer->close(close_timeout);
    if (!ec) {
      ++counters_.transactions_committed;
      release_slot_of(pending);
      crash_point("committed", completed);
      return;
    }
    // Kept pending: the next completed checkpoint (or a restore) settles it from its handle,
    // which proves the outcome from the markers.
    ++counters_.commits_retried;
    pending_.add(pending.prepared_at, pending.handle);
    if (config_.log)
      config_.log("commit of the transaction of checkpoint " + std::to_string(pending.prepared_at) +
                  " failed (" + ec.message() + (context.empty() ? "" : ", " + context) +
                  "); retried with the next checkpoint");
    return;
  }
  const auto result = commit_pending_transaction(executor_, producer_properties_, pending);
  if (result.error) {
    ++counters_.commits_retried;
    pending_.add(pending.prepared_at, pending.handle);
    if (config_.log) config_.log(result.detail + "; retried with the next checkpoint");
    return;
  }
  if (result.outcome == client::transaction_outcome::committed) ++counters_.transactions_committed;
  if (result.outcome == client::transaction_outcome::aborted ||
      result.outcome == client::transaction_outcome::already_aborted) {
    ++counters_.transactions_lost;
    losses_.push_back({make_error_code(errc::prepared_transaction_lost), result.detail});
    if (config_.log) config_.log(losses_.back().describe());
  }
  release_slot_of(pending);
}

void kafka_sink::notify_complete(checkpoint_id id) {
  if (config_.guarantee != delivery_guarantee::exactly_once) return;
  for (const auto& pending : pending_.take_committable(id)) commit_prepared(pending, id);
}

void kafka_sink::notify_aborted(checkpoint_id) {
  // The prepared transaction stays pending: a later completed checkpoint commits it.
}

void kafka_sink::close() {
  if (producer_) {
    if (config_.guarantee == delivery_guarantee::exactly_once)
      (void)producer_->abort_transaction();
    else
      producer_->flush();
    producer_->close(close_timeout);
    producer_.reset();
  }
  if (pool_ && open_slot_ >= 0) pool_->release(open_slot_);
  open_slot_ = -1;
  // Prepared transactions are left as they are: the restore commits them from their handles.
  for (auto& [handle, producer] : prepared_producers_)
    producer->close(std::chrono::milliseconds(0));
  prepared_producers_.clear();
}

}  // namespace kwire::connector
