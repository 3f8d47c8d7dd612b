#include "kwire/connector/kafka_sink_checks.hpp"

#include <charconv>

#include "blocking_call.hpp"
#include "kwire/client/admin.hpp"

namespace kwire::connector {
namespace {

std::optional<std::string> entry(const client::described_config& config, std::string_view name) {
  for (const auto& e : config.entries)
    if (e.name == name) return e.value;
  return std::nullopt;
}

std::int64_t to_int(const std::optional<std::string>& text, std::int64_t otherwise) {
  if (!text) return otherwise;
  std::int64_t value = otherwise;
  std::from_chars(text->data(), text->data() + text->size(), value);
  return value;
}

std::string ms(std::int64_t value) { return std::to_string(value) + " ms"; }

}  // namespace

sink_startup_report check_sink_timeouts(std::chrono::milliseconds transaction_timeout,
                                        std::int64_t broker_max_ms,
                                        const checkpoint_timing& timing) {
  sink_startup_report out;
  const auto timeout = transaction_timeout.count();
  if (broker_max_ms >= 0 && timeout > broker_max_ms) {
    out.error = {make_error_code(errc::invalid_config),
                 "transaction.timeout.ms " + ms(timeout) +
                     " is above the brokers' transaction.max.timeout.ms " + ms(broker_max_ms) +
                     ": lower it, or raise the broker's maximum"};
    return out;
  }
  const auto one_checkpoint = timing.interval.count() + timing.timeout.count();
  if (one_checkpoint > timeout) {
    out.error = {make_error_code(errc::invalid_config),
                 "transaction.timeout.ms " + ms(timeout) +
                     " is below one checkpoint interval plus the checkpoint timeout (" +
                     ms(timing.interval.count()) + " + " + ms(timing.timeout.count()) +
                     "): a transaction could be aborted by the broker before its checkpoint "
                     "completes"};
    return out;
  }
  if (2 * one_checkpoint > timeout)
    out.warnings.push_back(
        "transaction.timeout.ms " + ms(timeout) +
        " is below twice the checkpoint interval plus timeout (" + ms(2 * one_checkpoint) +
        "): a failed checkpoint carries its transaction into the next one, which may then be "
        "aborted by the broker before it completes");
  return out;
}

sink_startup_report check_sink_startup(boost::asio::any_io_executor executor,
                                       const client::properties& producer_properties,
                                       const std::string& topic, delivery_guarantee guarantee,
                                       const checkpoint_timing& timing) {
  sink_startup_report out;
  if (guarantee == delivery_guarantee::none) return out;
  client::producer_config producer;
  if (auto bad = client::parse_producer_config(producer_properties, producer)) {
    out.error = {make_error_code(errc::invalid_config), bad->key + ": " + bad->message};
    return out;
  }
  client::admin_config admin_config;
  static_cast<client::common_config&>(admin_config) = producer;
  client::admin admin(executor, admin_config);
  auto finish = [&admin] {
    std::promise<void> closed;
    admin.async_close([&closed] { closed.set_value(); });
    closed.get_future().wait();
  };
  auto [cluster_ec, cluster] = detail::blocking_call<client::cluster_description>(
      [&](auto done) { admin.async_describe_cluster({}, std::move(done)); });
  if (cluster_ec || cluster.brokers.empty()) {
    out.error = {cluster_ec ? cluster_ec : make_error_code(errc::invalid_argument),
                 "the sink's start-up check: DescribeCluster: " +
                     (cluster_ec ? cluster_ec.message() : std::string("no brokers"))};
    finish();
    return out;
  }
  auto describe = [&admin](client::config_resource resource) {
    return detail::blocking_call<client::describe_configs_result>([&](auto done) {
      admin.async_describe_configs({std::move(resource)}, {}, std::move(done));
    });
  };
  auto [broker_ec, broker] = describe(
      {client::config_resource_type::broker, std::to_string(cluster.brokers.front().node_id)});
  auto [topic_ec, described] = describe({client::config_resource_type::topic, topic});
  finish();
  std::int64_t broker_max = -1;
  if (broker_ec || broker.resources.empty() || broker.resources.front().error)
    out.warnings.push_back("could not read the brokers' transaction.max.timeout.ms: " +
                           (broker_ec                  ? broker_ec.message()
                            : broker.resources.empty() ? std::string("no answer")
                                                       : broker.resources.front().error.message()));
  else
    broker_max = to_int(entry(broker.resources.front(), "transaction.max.timeout.ms"), -1);
  if (topic_ec || described.resources.empty() || described.resources.front().error) {
    // Not created yet (auto-creation takes the broker's defaults), or no right to describe.
    out.warnings.push_back("could not check the settings of topic " + topic + ": " +
                           (topic_ec ? topic_ec.message()
                            : described.resources.empty()
                                ? std::string("no answer")
                                : described.resources.front().error.message()));
  } else {
    const auto& r = described.resources.front();
    const auto min_isr = to_int(entry(r, "min.insync.replicas"), 1);
    if (min_isr < 2)
      out.warnings.push_back("topic " + topic +
                             " has min.insync.replicas=" + std::to_string(min_isr) +
                             ": with acks=all a record one broker acknowledged alone can be "
                             "lost with that broker (2 or more keeps it)");
    if (entry(r, "unclean.leader.election.enable").value_or("false") == "true")
      out.warnings.push_back("topic " + topic +
                             " has unclean.leader.election.enable=true: an out-of-sync replica "
                             "may become leader and drop acknowledged records");
  }
  if (guarantee == delivery_guarantee::exactly_once) {
    auto timeouts = check_sink_timeouts(producer.transaction_timeout, broker_max, timing);
    out.error = timeouts.error;
    out.warnings.insert(out.warnings.end(), timeouts.warnings.begin(), timeouts.warnings.end());
  }
  return out;
}

}  // namespace kwire::connector
