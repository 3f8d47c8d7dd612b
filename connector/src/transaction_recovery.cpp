#include "kwire/connector/transaction_recovery.hpp"

#include <chrono>

#include "kwire/client/producer.hpp"
#include "kwire/connector/error.hpp"
#include "kwire/connector/transactional_id_pool.hpp"

namespace kwire::connector {
namespace {

constexpr std::chrono::milliseconds close_timeout{5000};

std::unique_ptr<client::producer> transactional_producer(boost::asio::any_io_executor executor,
                                                         client::properties properties,
                                                         const std::string& transactional_id,
                                                         std::string& error) {
  properties.emplace_back("transactional.id", transactional_id);
  client::producer_config config;
  if (auto bad = client::parse_producer_config(properties, config)) {
    error = bad->key + ": " + bad->message;
    return nullptr;
  }
  return std::make_unique<client::producer>(std::move(executor), std::move(config));
}

std::string partitions_of(const client::prepared_transaction& handle) {
  std::string out;
  for (const auto& p : handle.partitions) {
    if (!out.empty()) out += ", ";
    out += p.topic + "-" + std::to_string(p.partition);
  }
  return out.empty() ? "no partitions" : out;
}

}  // namespace

recovered_transaction commit_pending_transaction(boost::asio::any_io_executor executor,
                                                 const client::properties& producer_properties,
                                                 const pending_transaction& pending) {
  recovered_transaction out;
  out.pending = pending;
  const auto where = "transaction of checkpoint " + std::to_string(pending.prepared_at);
  client::prepared_transaction handle;
  if (auto ec = client::decode_prepared_transaction(pending.handle, handle)) {
    out.error = ec;
    out.detail = where + ": the stored handle does not decode";
    return out;
  }
  out.transactional_id = handle.transactional_id;
  std::string config_error;
  auto producer =
      transactional_producer(executor, producer_properties, handle.transactional_id, config_error);
  if (!producer) {
    out.error = make_error_code(errc::invalid_config);
    out.detail = where + ": " + config_error;
    return out;
  }
  const auto partitions = partitions_of(handle);
  auto [ec, outcome] = producer->commit_prepared(handle);
  producer->close(close_timeout);
  out.outcome = outcome;
  const auto names = where + " (transactional.id " + handle.transactional_id + ", producer id " +
                     std::to_string(handle.producer_id) + ", epoch " +
                     std::to_string(handle.epoch) + ", " + partitions + ")";
  if (ec) {
    out.error = ec;
    out.detail = names + ": " + ec.message();
  } else if (outcome == client::transaction_outcome::aborted ||
             outcome == client::transaction_outcome::already_aborted) {
    out.detail = names + ": aborted before it could be committed (transaction.timeout.ms " +
                 std::to_string(handle.timeout_ms) + " passed?); its records are lost";
  } else if (outcome == client::transaction_outcome::unknown) {
    out.detail = names + ": no transaction marker shows whether it committed";
  }
  return out;
}

lingering_sweep abort_lingering_transactions(boost::asio::any_io_executor executor,
                                             const client::properties& producer_properties,
                                             const job_manifest& manifest,
                                             const std::set<std::string>& keep) {
  lingering_sweep out;
  for (std::int32_t subtask = 0; subtask < manifest.owned_parallelism; ++subtask)
    for (std::int32_t slot = 0; slot < manifest.owned_pool; ++slot) {
      const auto id = make_transactional_id(manifest.transactional_id_prefix, subtask, slot);
      if (keep.contains(id)) continue;
      std::string config_error;
      auto producer = transactional_producer(executor, producer_properties, id, config_error);
      if (!producer) {
        out.error = make_error_code(errc::invalid_config);
        out.detail = config_error;
        return out;
      }
      const auto ec = producer->init_transactions();
      producer->close(close_timeout);
      if (ec) {
        out.error = ec;
        out.detail = "aborting what transactional.id " + id + " left open: " + ec.message();
        return out;
      }
      out.initialised.push_back(id);
    }
  return out;
}

}  // namespace kwire::connector
