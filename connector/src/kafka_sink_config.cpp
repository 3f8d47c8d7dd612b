// Which producer settings each guarantee needs, and the contradictions refused at start-up.
#include <algorithm>

#include "kwire/connector/kafka_sink.hpp"

namespace kwire::connector {
namespace {

const std::string* find_property(const client::properties& properties, std::string_view key) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : properties)
    if (k == key) found = &v;  // the last one given wins, as on a command line
  return found;
}

void set_property(client::properties& properties, const std::string& key, std::string value) {
  std::erase_if(properties, [&key](const auto& kv) { return kv.first == key; });
  properties.emplace_back(key, std::move(value));
}

// The sink's default transaction.timeout.ms: 15 minutes, the broker's default
// transaction.max.timeout.ms. Java's 60 s would turn any outage longer than a minute between
// a checkpoint and its commit into lost records.
constexpr const char* sink_transaction_timeout_ms = "900000";

}  // namespace

std::error_code sink_producer_properties(const kafka_sink_config& config, client::properties& out,
                                         std::string& error_message,
                                         std::vector<std::string>& warnings) {
  auto refuse = [&error_message](std::string message) {
    error_message = std::move(message);
    return make_error_code(errc::invalid_config);
  };
  client::properties properties = config.properties;
  const bool guaranteed = config.guarantee != delivery_guarantee::none;
  if (find_property(properties, "transactional.id"))
    return refuse(
        "transactional.id: the sink names its transactional ids itself (prefix-SUBTASK-SLOT); "
        "set the transactional-id prefix instead");
  if (guaranteed) {
    if (const auto* acks = find_property(properties, "acks");
        acks && *acks != "all" && *acks != "-1")
      return refuse("acks=" + *acks + ": the " + to_string(config.guarantee) +
                    " guarantee needs acks=all (allowed: all, -1)");
    if (const auto* idem = find_property(properties, "enable.idempotence"); idem && *idem != "true")
      return refuse("enable.idempotence=" + *idem + ": the " + to_string(config.guarantee) +
                    " guarantee needs enable.idempotence=true");
    set_property(properties, "acks", "all");
    set_property(properties, "enable.idempotence", "true");
  }
  if (config.guarantee == delivery_guarantee::exactly_once) {
    if (config.transactional_id_prefix.empty())
      return refuse("transactional-id prefix: required for exactly_once");
    if (config.transactional_id_pool < 2)
      return refuse("transactional-id pool: " + std::to_string(config.transactional_id_pool) +
                    ", at least 2 (the open transaction and one prepared)");
    if (!find_property(properties, "transaction.timeout.ms"))
      properties.emplace_back("transaction.timeout.ms", sink_transaction_timeout_ms);
  } else if (find_property(properties, "transaction.timeout.ms")) {
    return refuse("transaction.timeout.ms: only used by the exactly_once guarantee");
  }
  if (config.log_failures_only) {
    if (config.guarantee != delivery_guarantee::at_least_once)
      return refuse("log-failures-only: only with the at_least_once guarantee");
    warnings.push_back(
        "log-failures-only is set: records the broker does not acknowledge are counted and "
        "logged, not retried; at_least_once no longer holds");
  }
  if (config.partitioning == sink_partitioning::custom && !config.partitioner)
    return refuse("partitioner: custom partitioning needs a partitioner");
  // Validate every property once, here, with a transactional.id standing in for the sink's.
  auto check = properties;
  if (config.guarantee == delivery_guarantee::exactly_once)
    check.emplace_back("transactional.id", config.transactional_id_prefix + "-0-0");
  client::producer_config parsed;
  if (auto bad = client::parse_producer_config(check, parsed))
    return refuse(bad->key + ": " + bad->message);
  out = std::move(properties);
  return {};
}

}  // namespace kwire::connector
