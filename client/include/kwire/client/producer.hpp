// The Kafka producer: per-partition batching (linger.ms, batch.size), a hard memory bound
// (buffer.memory), idempotence (producer id, per-partition sequences, epoch bump), retries
// in order, and a delivery report per record.
//
//   kwire::client::producer p(io.get_executor(), config);
//   p.send({.topic = "t", .key = k, .value = v}, [](std::error_code ec, const delivery_report& r)
//   {...});
//   auto [ec, report] = co_await p.async_send(record, asio::use_awaitable);  // or use_future,
//   // deferred, a callback: results come as values (std::error_code is not thrown)
//   p.flush();  p.close(5s);
//
// Threading: send() may be called from any thread. Everything else happens on a strand of
// the executor given to the constructor, and delivery callbacks run there, in order per
// partition. No thread is created; the application runs the io_context.
//
// Records are copied once, into their batch; the record's spans need to live only during
// send(). No allocation per record once batches have reached their working size.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/detail/completion.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "kwire/client/error.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/partitioner.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/protocol/record_batch.hpp"

namespace kwire::client {

namespace asio = boost::asio;

struct producer_record {
  // Every member has an initializer, so designated initializers may leave any out.
  std::string_view topic{};
  std::int32_t partition = -1;  // -1: the partitioner decides
  protocol::optional_bytes key{};
  protocol::optional_bytes value{};
  std::span<const protocol::header_view> headers{};
  std::int64_t timestamp = -1;  // CreateTime in ms; -1: now
};

struct delivery_report {
  std::string_view topic;  // valid as long as the producer
  std::int32_t partition = -1;
  std::int64_t offset = -1;     // -1 when unknown (acks=0, or an error)
  std::int64_t timestamp = -1;  // the record's CreateTime, or the broker's LogAppendTime
  // With an error: where it happened (broker, request, server message); shared by the
  // records of one batch. Null on success, so a report stays cheap to copy.
  std::shared_ptr<const diagnostics> error_details;
};

using delivery_callback =
    detail::unique_function<void(std::error_code, const delivery_report&), 48>;

namespace detail {
class producer_impl;
}

class producer {
 public:
  // The configuration comes from parse_producer_config(); it is not validated again.
  producer(asio::any_io_executor executor, producer_config config);
  // Starts a close without waiting: records not yet delivered fail with shut_down. The
  // shutdown runs on the io_context, which must run afterwards for it to complete and free
  // the producer's memory (prefer async_close, then destroy).
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Appends the record to its partition's batch; `callback` runs once with the outcome, on
  // the producer's strand. An error returned here means the record was not accepted and the
  // callback will not run: record_too_large, no_such_partition (a custom partitioner chose a
  // partition the topic lacks), buffer_exhausted (buffer.memory full for max.block.ms;
  // immediately when called on the producer's strand, which must not block), shut_down.
  // A record that names a partition beyond the topic's known count waits for fresh metadata
  // (the topic may have just grown); when two fresh answers still lack the partition, its
  // callback gets no_such_partition.
  std::error_code send(const producer_record& record, delivery_callback callback);

  // send() with an Asio completion token; signature void(error_code, delivery_report).
  // Never blocks the calling thread: when buffer.memory is full the record (copied then)
  // waits, in order, until memory frees or max.block.ms passes (buffer_exhausted).
  // Cancellation of any type completes a record still waiting for memory with
  // std::errc::operation_canceled (it was never sent); a record in a batch goes on.
  template <class Token>
  auto async_send(const producer_record& record, Token&& token);

  // Sends every batch now (ignores linger.ms) and completes when every record given to
  // send() before the call has completed. Signature void().
  template <class Token>
  auto async_flush(Token&& token);
  // Blocking flush: needs another thread running the io_context; never from its threads.
  void flush();

  // Stops accepting records, delivers what it can within `timeout`, fails the rest with
  // shut_down, and closes the connections. Signature void().
  template <class Token>
  auto async_close(std::chrono::milliseconds timeout, Token&& token);
  // Blocking close: needs another thread running the io_context; never from its threads.
  void close(std::chrono::milliseconds timeout);

  // The topic's partition count once its metadata is known (Java's partitionsFor): waits up
  // to max.block.ms (then metadata_timed_out); a topic error such as
  // TOPIC_AUTHORIZATION_FAILED completes it at once. Signature void(error_code, int32_t).
  template <class Token>
  auto async_partition_count(std::string_view topic, Token&& token);

  // ---- transactions (transactional.id set; otherwise each call fails with
  // invalid_transaction_state). A call the transaction's state does not allow fails with
  // invalid_transaction_state and changes nothing; one operation at a time.
  //
  // Finds the transaction coordinator and gets the producer id and epoch, which fences any
  // older producer with this transactional.id and aborts its open transaction. Once, before
  // the first transaction. Signature void(error_code).
  template <class Token>
  auto async_init_transactions(Token&& token);
  // Starts a transaction (local: no request). send() is refused outside one.
  std::error_code begin_transaction();
  // Commits the consumer's offsets with the transaction (KIP-447): `offsets` are the next
  // offsets to read; `group` comes from the consumer. Signature void(error_code).
  template <class Token>
  auto async_send_offsets_to_transaction(std::vector<transaction_offset> offsets,
                                         consumer_group_metadata group, Token&& token);
  // Sends every record, waits for them, then commits. An error means the transaction did
  // not commit: transaction_state() tells whether it can be aborted (abortable_error) or the
  // producer is done (fatal_error, e.g. producer_fenced). Signature void(error_code).
  template <class Token>
  auto async_commit_transaction(Token&& token);
  // Drops the records not yet sent (they fail with transaction_aborted), waits for those in
  // flight, and aborts. Signature void(error_code).
  template <class Token>
  auto async_abort_transaction(Token&& token);
  // Two-phase commit. Prepare: sends every record and waits for them, makes sure every
  // partition is in the transaction, and hands out the transaction's handle; afterwards
  // only commit or abort, here or (from the handle) in another process. Signature
  // void(error_code, prepared_transaction).
  template <class Token>
  auto async_prepare_transaction(Token&& token);
  // Commits (or aborts) a transaction prepared elsewhere from its handle, without fencing
  // it: on a producer with the handle's transactional.id before init_transactions() (it
  // stays uninitialized afterwards). The outcome is proven from the transaction's markers
  // (see transaction_outcome); the error_code is set only when nothing could be decided
  // (e.g. TRANSACTIONAL_ID_AUTHORIZATION_FAILED, a handle of another transactional.id).
  // Signature void(error_code, transaction_outcome).
  template <class Token>
  auto async_commit_prepared(prepared_transaction handle, Token&& token);
  template <class Token>
  auto async_abort_prepared(prepared_transaction handle, Token&& token);

  // Blocking forms: need another thread running the io_context; never from its threads.
  std::error_code init_transactions();
  std::pair<std::error_code, prepared_transaction> prepare_transaction();
  std::pair<std::error_code, transaction_outcome> commit_prepared(prepared_transaction handle);
  std::pair<std::error_code, transaction_outcome> abort_prepared(prepared_transaction handle);
  std::error_code send_offsets_to_transaction(std::vector<transaction_offset> offsets,
                                              consumer_group_metadata group);
  std::error_code commit_transaction();
  std::error_code abort_transaction();
  // The transaction's state as the application's threads see it.
  kwire::client::transaction_state transaction_state() const noexcept;
  // In abortable_error or fatal_error: where the error came from, naming the request and
  // the resource ("InitProducerId for transactional.id t", "AddPartitionsToTxn for t-3").
  std::string transaction_error_context() const;

  const producer_config& config() const noexcept;
  // Bytes of buffer.memory in use (batches and records waiting for metadata).
  std::int64_t buffered_bytes() const noexcept;
  // Counters since construction (metrics.hpp); from any thread, cheap (a copy of counters).
  client_metrics_snapshot metrics() const;
  // Use a custom partitioner for records that name no partition (before the first send).
  void set_partitioner(std::shared_ptr<partitioner> custom);

 private:
  // async_send's library side: every outcome goes to `callback`.
  void start_send(const producer_record& record, delivery_callback callback,
                  asio::cancellation_slot slot);
  void start_flush(detail::unique_function<void()> done);
  void start_close(std::chrono::milliseconds timeout, detail::unique_function<void()> done);
  void start_partition_count(std::string topic,
                             detail::unique_function<void(std::error_code, std::int32_t)> done);
  enum class transaction_call : std::uint8_t { init, send_offsets, commit, abort };
  void start_prepare(detail::unique_function<void(std::error_code, prepared_transaction)> done);
  void start_complete_prepared(
      prepared_transaction handle, bool commit,
      detail::unique_function<void(std::error_code, transaction_outcome)> done);
  void start_transaction_call(transaction_call call, std::vector<transaction_offset> offsets,
                              consumer_group_metadata group,
                              detail::unique_function<void(std::error_code)> done);

  std::shared_ptr<detail::producer_impl> impl_;
};

template <class Token>
auto producer::async_send(const producer_record& record, Token&& token) {
  // The record goes through async_initiate by value: a deferred operation keeps its spans
  // (not a reference to the caller's record); their bytes must live until it starts.
  return asio::async_initiate<Token, void(std::error_code, delivery_report)>(
      [this](auto handler, const producer_record& stored) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        // One callable per record: the handler and its work guard, no shared state.
        start_send(stored,
                   detail::completion_of<void(std::error_code, const delivery_report&)>::wrap(
                       std::move(handler)),
                   slot);
      },
      token, record);
}

template <class Token>
auto producer::async_flush(Token&& token) {
  return detail::initiate<void()>(
      std::forward<Token>(token),
      [this](detail::completion<void()> done) { start_flush(std::move(done)); });
}

template <class Token>
auto producer::async_partition_count(std::string_view topic, Token&& token) {
  return detail::initiate<void(std::error_code, std::int32_t)>(
      std::forward<Token>(token),
      [this](detail::completion<void(std::error_code, std::int32_t)> done, std::string name) {
        start_partition_count(std::move(name), std::move(done));
      },
      std::string(topic));
}

template <class Token>
auto producer::async_init_transactions(Token&& token) {
  return detail::initiate<void(std::error_code)>(
      std::forward<Token>(token), [this](detail::completion<void(std::error_code)> done) {
        start_transaction_call(transaction_call::init, {}, {}, std::move(done));
      });
}

template <class Token>
auto producer::async_send_offsets_to_transaction(std::vector<transaction_offset> offsets,
                                                 consumer_group_metadata group, Token&& token) {
  return detail::initiate<void(std::error_code)>(
      std::forward<Token>(token),
      [this](detail::completion<void(std::error_code)> done, std::vector<transaction_offset> o,
             consumer_group_metadata g) {
        start_transaction_call(transaction_call::send_offsets, std::move(o), std::move(g),
                               std::move(done));
      },
      std::move(offsets), std::move(group));
}

template <class Token>
auto producer::async_commit_transaction(Token&& token) {
  return detail::initiate<void(std::error_code)>(
      std::forward<Token>(token), [this](detail::completion<void(std::error_code)> done) {
        start_transaction_call(transaction_call::commit, {}, {}, std::move(done));
      });
}

template <class Token>
auto producer::async_abort_transaction(Token&& token) {
  return detail::initiate<void(std::error_code)>(
      std::forward<Token>(token), [this](detail::completion<void(std::error_code)> done) {
        start_transaction_call(transaction_call::abort, {}, {}, std::move(done));
      });
}

template <class Token>
auto producer::async_prepare_transaction(Token&& token) {
  return detail::initiate<void(std::error_code, prepared_transaction)>(
      std::forward<Token>(token),
      [this](detail::completion<void(std::error_code, prepared_transaction)> done) {
        start_prepare(std::move(done));
      });
}

template <class Token>
auto producer::async_commit_prepared(prepared_transaction handle, Token&& token) {
  return detail::initiate<void(std::error_code, transaction_outcome)>(
      std::forward<Token>(token),
      [this](detail::completion<void(std::error_code, transaction_outcome)> done,
             prepared_transaction h) {
        start_complete_prepared(std::move(h), true, std::move(done));
      },
      std::move(handle));
}

template <class Token>
auto producer::async_abort_prepared(prepared_transaction handle, Token&& token) {
  return detail::initiate<void(std::error_code, transaction_outcome)>(
      std::forward<Token>(token),
      [this](detail::completion<void(std::error_code, transaction_outcome)> done,
             prepared_transaction h) {
        start_complete_prepared(std::move(h), false, std::move(done));
      },
      std::move(handle));
}

template <class Token>
auto producer::async_close(std::chrono::milliseconds timeout, Token&& token) {
  return detail::initiate<void()>(
      std::forward<Token>(token),
      [this](detail::completion<void()> done, std::chrono::milliseconds limit) {
        start_close(limit, std::move(done));
      },
      timeout);
}

}  // namespace kwire::client
