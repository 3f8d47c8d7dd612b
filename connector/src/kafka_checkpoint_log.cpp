#include "kafka_checkpoint_log.hpp"

#include <algorithm>
#include <boost/asio/use_future.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "blocking_call.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::connector::detail {
namespace {

namespace asio = boost::asio;

std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// An admin item's error with the broker's message when it sent one.
std::string message_of(std::error_code ec, const std::string& message) {
  return message.empty() ? ec.message() : message;
}

// The outcome of one append: the first error of its records, and when the last one is in.
struct append_outcome {
  explicit append_outcome(std::size_t records) : left(records) {}
  void record_done(std::error_code ec) {
    std::lock_guard lock(mutex);
    if (ec && !first_error) first_error = ec;
    if (--left == 0) done.set_value();
  }
  std::mutex mutex;
  std::error_code first_error;
  std::size_t left;
  std::promise<void> done;
};

}  // namespace

client::new_topic checkpoint_topic_spec(const std::string& topic, std::size_t brokers) {
  const auto replicas = static_cast<std::int16_t>(std::clamp<std::size_t>(brokers, 1, 3));
  const auto min_insync = std::max<std::int16_t>(1, static_cast<std::int16_t>(replicas - 1));
  return {.name = topic,
          .partitions = 1,
          .replication_factor = replicas,
          .configs = {{"cleanup.policy", "compact"},
                      {"min.insync.replicas", std::to_string(min_insync)}}};
}

checkpoint_error check_checkpoint_topic(const std::string& topic, std::int32_t partitions,
                                        const client::described_config& configs) {
  const auto unsuitable = make_error_code(errc::checkpoint_topic_unsuitable);
  if (partitions != 1)
    return {unsuitable, "topic " + topic + " has " + std::to_string(partitions) +
                            " partitions: a checkpoint store needs exactly 1 (one ordered log)"};
  std::string policy = "(unknown)";
  for (const auto& e : configs.entries)
    if (e.name == "cleanup.policy") policy = e.value.value_or("(hidden)");
  if (policy != "compact")
    return {unsuitable, "topic " + topic + " has cleanup.policy=" + policy +
                            ": a checkpoint store needs cleanup.policy=compact (retention would "
                            "delete the manifest and completed checkpoints)"};
  return {};
}

kafka_checkpoint_log::kafka_checkpoint_log(asio::any_io_executor executor,
                                           client::common_config config, std::string topic,
                                           std::chrono::milliseconds timeout, bool create_topic)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      topic_(std::move(topic)),
      timeout_(timeout),
      create_topic_(create_topic) {}

kafka_checkpoint_log::~kafka_checkpoint_log() {
  // Bounded waits: the executor's thread may be gone already. Every append was waited for.
  if (consumer_) consumer_->async_close(asio::use_future).wait_for(std::chrono::seconds(30));
  if (producer_)
    producer_->async_close(std::chrono::milliseconds(0), asio::use_future)
        .wait_for(std::chrono::seconds(30));
  if (admin_) admin_->async_close(asio::use_future).wait_for(std::chrono::seconds(30));
}

checkpoint_error kafka_checkpoint_log::open() {
  if (opened_) return {};
  client::admin_config admin_config;
  static_cast<client::common_config&>(admin_config) = config_;
  admin_ = std::make_unique<client::admin>(executor_, admin_config);
  if (auto error = create_or_check_topic()) return error;

  client::consumer_config consumer_config;
  static_cast<client::common_config&>(consumer_config) = config_;
  consumer_config.auto_offset_reset = client::offset_reset::earliest;
  consumer_config.enable_auto_commit = false;
  consumer_config.allow_auto_create_topics = false;
  consumer_ = std::make_unique<client::consumer>(executor_, consumer_config);
  const client::topic_partition tp{topic_, 0};
  if (auto ec = consumer_->assign({tp})) return {ec, name() + ": assign"};
  consumer_->seek_to_beginning({tp});
  opened_ = true;
  return {};
}

checkpoint_error kafka_checkpoint_log::create_or_check_topic() {
  client::producer_config producer_config;
  static_cast<client::common_config&>(producer_config) = config_;
  // Durable = acknowledged by every in-sync replica, written once and in order.
  producer_config.acks = client::required_acks::all;
  producer_config.enable_idempotence = true;
  producer_config.linger = std::chrono::milliseconds(0);
  producer_ = std::make_unique<client::producer>(executor_, producer_config);

  if (create_topic_) {
    auto [cluster_ec, cluster] = blocking_call<client::cluster_description>(
        [&](auto done) { admin_->async_describe_cluster({}, std::move(done)); });
    if (cluster_ec) return {cluster_ec, name() + ": DescribeCluster: " + cluster_ec.message()};
    const auto spec = checkpoint_topic_spec(topic_, cluster.brokers.size());
    auto [create_ec, created] = blocking_call<client::create_topics_result>(
        [&](auto done) { admin_->async_create_topics({spec}, {}, std::move(done)); });
    if (!create_ec) return {};
    if (create_ec != protocol::broker_error::topic_already_exists)
      return {create_ec,
              name() + ": CreateTopics: " +
                  message_of(create_ec, created.topics.empty() ? "" : created.topics[0].message)};
  }
  // Made before (by an earlier run, another process of the job, an operator), or missing.
  // Its configs first: DescribeConfigs of a missing topic fails, where the producer's
  // metadata request could create it with the broker's defaults.
  // A topic created a moment ago (here or by whoever made it) may not have reached the broker
  // asked yet (3 nodes): UNKNOWN_TOPIC_OR_PARTITION is asked again for a while then, unless
  // the store must not create the topic (a missing one is the answer).
  const auto known_by =
      std::chrono::steady_clock::now() + std::min(timeout_, std::chrono::milliseconds(10000));
  std::error_code describe_ec;
  client::describe_configs_result described;
  while (true) {
    std::tie(describe_ec, described) =
        blocking_call<client::describe_configs_result>([&](auto done) {
          admin_->async_describe_configs({{client::config_resource_type::topic, topic_}}, {},
                                         std::move(done));
        });
    if (!describe_ec && (described.resources.empty() || described.resources[0].error))
      describe_ec = described.resources.empty() ? make_error_code(errc::invalid_argument)
                                                : described.resources[0].error;
    if (!create_topic_ || describe_ec != protocol::broker_error::unknown_topic_or_partition ||
        std::chrono::steady_clock::now() >= known_by)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (describe_ec)
    return {describe_ec,
            name() + ": DescribeConfigs: " +
                message_of(describe_ec,
                           described.resources.empty() ? "" : described.resources[0].message)};
  auto [count_ec, partitions] = blocking_call<std::int32_t>(
      [&](auto done) { producer_->async_partition_count(topic_, std::move(done)); });
  if (count_ec) return {count_ec, name() + ": partitions: " + count_ec.message()};
  return check_checkpoint_topic(topic_, partitions, described.resources[0]);
}

checkpoint_error kafka_checkpoint_log::append(const std::vector<log_record>& records) {
  if (auto error = open()) return error;
  if (records.empty()) return {};
  auto outcome = std::make_shared<append_outcome>(records.size());
  auto finished = outcome->done.get_future();
  for (const auto& r : records) {
    protocol::optional_bytes value;
    if (r.value) value = std::span<const std::uint8_t>(*r.value);
    const auto ec = producer_->send(
        {.topic = topic_, .partition = 0, .key = as_bytes(r.key), .value = value},
        [outcome](std::error_code e, const client::delivery_report&) { outcome->record_done(e); });
    if (ec) outcome->record_done(ec);  // not accepted: its callback never runs
  }
  finished.wait();  // delivery.timeout.ms bounds every record
  if (outcome->first_error)
    return {outcome->first_error,
            name() + ": " +
                (records.size() == 1 ? "writing key " + records[0].key
                                     : "writing " + std::to_string(records.size()) + " records") +
                ": " + outcome->first_error.message()};
  return {};
}

checkpoint_error kafka_checkpoint_log::end_offset(std::int64_t& out) {
  auto [ec, result] = blocking_call<client::list_offsets_result>([&](auto done) {
    admin_->async_list_offsets({{topic_, 0, client::offset_spec::latest()}}, {}, std::move(done));
  });
  for (const auto& p : result.partitions)
    if (p.error) return {p.error, name() + ": ListOffsets: " + message_of(p.error, p.message)};
  if (ec) return {ec, name() + ": ListOffsets: " + ec.message()};
  if (result.partitions.empty())
    return {make_error_code(errc::invalid_argument), name() + ": ListOffsets: no answer"};
  out = result.partitions[0].offset;
  return {};
}

checkpoint_error kafka_checkpoint_log::read_new(const std::function<void(log_record)>& apply) {
  if (auto error = open()) return error;
  // The end first: everything acknowledged before this call lies below it.
  std::int64_t end = 0;
  if (auto error = end_offset(end)) return error;
  const client::topic_partition tp{topic_, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (position_ < end) {
    if (std::chrono::steady_clock::now() > deadline)
      return {make_error_code(client::errc::request_timed_out),
              name() + ": read up to offset " + std::to_string(position_) + " of " +
                  std::to_string(end) + " in " + std::to_string(timeout_.count()) + " ms"};
    auto [ec, set] = blocking_call<client::record_set>(
        [&](auto done) { consumer_->async_poll(std::chrono::milliseconds(200), std::move(done)); });
    if (ec) {
      const auto details = consumer_->last_error_details();
      return {ec, name() + ": reading: " +
                      (details.server_message.empty() ? ec.message() : details.server_message)};
    }
    client::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r);) {
      if (!r.key) continue;  // not the store's
      log_record record{std::string(reinterpret_cast<const char*>(r.key->data()), r.key->size()),
                        std::nullopt};
      if (r.value) record.value.emplace(r.value->begin(), r.value->end());
      apply(std::move(record));
    }
    position_ = consumer_->position(tp).value_or(position_);
  }
  return {};
}

}  // namespace kwire::connector::detail
