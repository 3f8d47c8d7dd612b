// kwire pipeline: the connector's demo job. Reads a topic with the Kafka source, applies the
// lineage transform (identity or upper case, plus the kwire-src header), and writes another
// topic with the Kafka sink, checkpointed to a directory or a compacted Kafka topic, restored
// from it at every start.
// SIGKILL at any moment and a restart with the same arguments neither lose nor duplicate a
// record of the output as a read_committed reader sees it (exactly_once).
#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli.hpp"
#include "kwire/connector/file_checkpoint_store.hpp"
#include "kwire/connector/group_checkpoint.hpp"
#include "kwire/connector/job.hpp"
#include "kwire/connector/kafka_checkpoint_store.hpp"
#include "kwire/connector/kafka_partition_assigner.hpp"
#include "kwire/connector/kafka_sink.hpp"
#include "kwire/connector/kafka_sink_checks.hpp"
#include "kwire/connector/kafka_source.hpp"
#include "kwire/connector/kafka_source_config.hpp"
#include "kwire/connector/lineage_transform.hpp"

namespace kwire::cli {
namespace {

constexpr std::string_view usage =
    R"(usage: kwire pipeline --source-topic IN --sink-topic OUT -b BOOTSTRAP
                      (--checkpoint-dir DIR | --checkpoint-topic T)
                      [--checkpoint-interval-ms MS] [--semantic none|at_least_once|exactly_once]
                      [--transactional-id-prefix P] [--transform identity|upper]
                      [--stop-after-idle-ms MS] [--parallelism N] [-X NAME=VALUE]...
Reads IN, writes OUT: every output record keeps the input's key, headers and timestamp, its
value unchanged (identity) or in upper case (upper), and gets the header
kwire-src=TOPIC:PARTITION:OFFSET of its input record (what kwire verify checks). State lives in
DIR or topic T; every start restores the latest completed checkpoint found there.
      --source-topic IN        the input topic
      --sink-topic OUT         the output topic
      --checkpoint-dir DIR     the job's checkpoint store in a directory (created when missing)
      --checkpoint-topic T     the job's checkpoint store in Kafka topic T: compacted, 1
                               partition (created so when missing; another existing topic is
                               refused); one of --checkpoint-dir and --checkpoint-topic
      --checkpoint-interval-ms MS   between checkpoints (default 1000)
      --checkpoint-timeout-ms MS    a checkpoint not completed by then is aborted (default
                               60000, or 10 intervals when that is longer)
      --semantic S             none, at_least_once or exactly_once (default exactly_once)
      --transactional-id-prefix P   the sink's transactional ids are P-SUBTASK-SLOT
                               (required for exactly_once)
      --transactional-id-pool N     ids per subtask (default 5)
      --transform T            identity (default) or upper
      --stop-after-idle-ms MS  exit 0 once every partition was read to its end and nothing
                               came for MS (default: run until SIGINT or SIGTERM, which end
                               with a last checkpoint too)
      --parallelism N          subtasks (default 1), all in this process
      --restart-attempts N     restarts after a failure (default 3), --restart-delay-ms MS
  -b, --bootstrap-server HOST:PORT[,...]  the brokers to start from (bootstrap.servers)
  -d, --debug CATEGORY[,...]   the client's log for these categories on standard error
  -X, --property NAME=VALUE    a client property by its Java name: given to the source's
                               consumer when it is a consumer property, to the sink's
                               producers when it is a producer property (both for the common
                               ones: bootstrap.servers, security.protocol, ...)
      --help-properties        list every property it takes
  -h, --help                   this help
Not yet: --subtasks, --mode group (the connector's next part).
Exit status: 0 the job ended (idle, or stopped) after a last completed checkpoint; 1 it
failed and the restarts were spent (the cause is printed); 2 usage or configuration error.
)";

std::vector<client::property_description> describe_pipeline_properties() {
  auto all = client::describe_consumer_config();
  std::set<std::string, std::less<>> names;
  for (const auto& p : all) names.emplace(p.name);
  for (auto& p : client::describe_producer_config())
    if (!names.contains(p.name)) all.push_back(std::move(p));
  return all;
}

struct pipeline_options {
  std::string in_topic, out_topic, checkpoint_dir, checkpoint_topic, prefix;
  std::int64_t interval_ms = 1000;
  std::int64_t checkpoint_timeout_ms = 0;  // 0: max(60 s, 10 intervals)
  connector::delivery_guarantee semantic = connector::delivery_guarantee::exactly_once;
  connector::value_mapping mapping = connector::value_mapping::identity;
  std::int64_t idle_ms = 0;
  std::int32_t parallelism = 1;
  std::int32_t pool = 5;
  std::int32_t restart_attempts = 3;
  std::int64_t restart_delay_ms = 1000;
};

std::atomic<bool> stop_requested{false};
extern "C" void on_pipeline_stop_signal(int) { stop_requested.store(true); }

std::int64_t parse_ms(std::string_view text, std::string_view what, std::int64_t min) {
  const auto value = parse_int32(text, what);
  if (value < min)
    throw usage_error(std::string(what) + ": " + std::string(text) + ", at least " +
                      std::to_string(min));
  return value;
}

// Splits -X properties between the consumer and the producer by the names each takes.
void split_properties(const client::properties& given, client::properties& consumer,
                      client::properties& producer) {
  std::set<std::string, std::less<>> consumer_names, producer_names;
  for (const auto& p : client::describe_consumer_config()) consumer_names.emplace(p.name);
  for (const auto& p : client::describe_producer_config()) producer_names.emplace(p.name);
  for (const auto& [key, value] : given) {
    const bool c = consumer_names.contains(key), p = producer_names.contains(key);
    if (!c && !p)
      throw property_error(key + ": not a consumer or producer property (see --help-properties)");
    if (c) consumer.emplace_back(key, value);
    if (p) producer.emplace_back(key, value);
  }
}

int run(const pipeline_options& o, const client::properties& given,
        const client::observability& observe) {
  client::properties consumer_properties{{"isolation.level", "read_committed"},
                                         {"auto.offset.reset", "earliest"}};
  client::properties producer_properties;
  split_properties(given, consumer_properties, producer_properties);

  // The source: checked now, so that a bad property is exit 2 before anything runs.
  connector::kafka_source_config source_config;
  source_config.properties = consumer_properties;
  source_config.subscription = connector::topic_subscription::topic(o.in_topic);
  source_config.checkpointing = o.interval_ms > 0;
  // Without a group the input is read from the beginning and no offsets are committed; with
  // -X group.id=G the group's offsets are the start (earliest where it has none) and each
  // completed checkpoint's positions are committed to G, for lag monitoring.
  const bool has_group = std::any_of(consumer_properties.begin(), consumer_properties.end(),
                                     [](const auto& kv) { return kv.first == "group.id"; });
  if (!has_group) {
    source_config.start = connector::start_position::earliest();
    source_config.commit_mode = connector::offset_commit_mode::disabled;
  }
  connector::kafka_source_settings checked_source;
  if (auto error = connector::validate_kafka_source_config(source_config, checked_source))
    throw property_error(error.describe());
  check_security_files(checked_source.consumer);

  connector::kafka_sink_config sink_config;
  sink_config.properties = producer_properties;
  sink_config.topic = o.out_topic;
  sink_config.guarantee = o.semantic;
  sink_config.transactional_id_prefix = o.prefix;
  sink_config.transactional_id_pool = o.pool;
  sink_config.log = [](std::string_view line) {
    std::cerr << "kwire pipeline: sink: " << line << std::endl;
  };
  client::properties sink_properties;
  {
    std::string message;
    std::vector<std::string> warnings;
    if (connector::sink_producer_properties(sink_config, sink_properties, message, warnings))
      throw property_error(message);
    for (const auto& w : warnings) std::cerr << "kwire pipeline: warning: " << w << '\n';
  }

  io_thread io;
  // After io: destroyed first, while io's thread still runs the Kafka store's clients.
  std::unique_ptr<connector::checkpoint_store> store;
  if (o.checkpoint_topic.empty()) {
    store = std::make_unique<connector::file_checkpoint_store>(o.checkpoint_dir);
  } else {
    client::common_config common = checked_source.consumer;
    common.observe = observe;
    connector::kafka_checkpoint_store::options store_options;
    store_options.warn = [](std::string_view line) {
      std::cerr << "kwire pipeline: checkpoint store: " << line << std::endl;
    };
    auto kafka = std::make_unique<connector::kafka_checkpoint_store>(
        io.executor(), std::move(common), o.checkpoint_topic, std::move(store_options));
    if (auto error = kafka->open()) {
      std::cerr << "kwire pipeline: checkpoint store: " << error.describe() << '\n';
      return error.code == connector::errc::checkpoint_topic_unsuitable ? exit_usage : exit_failure;
    }
    store = std::move(kafka);
  }

  connector::job_settings job;
  job.parallelism = o.parallelism;
  job.timing.interval = std::chrono::milliseconds(o.interval_ms);
  job.timing.timeout = std::chrono::milliseconds(
      o.checkpoint_timeout_ms > 0 ? o.checkpoint_timeout_ms
                                  : std::max<std::int64_t>(60000, 10 * o.interval_ms));
  job.restart_attempts = o.restart_attempts;
  job.restart_delay = std::chrono::milliseconds(o.restart_delay_ms);
  if (o.semantic == connector::delivery_guarantee::exactly_once) {
    job.transactional_id_prefix = o.prefix;
    job.transactional_id_pool = o.pool;
    job.sweep_producer_properties = sink_properties;
  }
  job.executor = io.executor();
  job.owner = connector::kafka_source_partition_owner;
  job.stop_after_idle = std::chrono::milliseconds(o.idle_ms);
  job.stop_requested = &stop_requested;
  if (has_group)
    // The group's offsets name the checkpoint they came from: a newer one than the store's
    // newest completed checkpoint was lost, and restoring an older one would duplicate.
    job.check_restore = [&](const connector::restore_point& point) {
      connector::checkpoint_id named = 0;
      if (auto error = connector::read_group_checkpoint(io.executor(), checked_source, named))
        return error;
      const auto group = checked_source.consumer.group_id.value_or("");
      return connector::check_group_checkpoint(point, group, named);
    };
  job.log = [](std::string_view line) { std::cerr << "kwire pipeline: " << line << std::endl; };

  const auto checked = connector::check_sink_startup(io.executor(), sink_properties, o.out_topic,
                                                     o.semantic, job.timing);
  for (const auto& w : checked.warnings) std::cerr << "kwire pipeline: warning: " << w << '\n';
  if (checked.error) {
    std::cerr << "kwire pipeline: " << checked.error.describe() << '\n';
    return checked.error.code == make_error_code(connector::errc::invalid_config) ? exit_usage
                                                                                  : exit_failure;
  }
  const connector::subtask_factory factory = [&](std::int32_t, std::int32_t,
                                                 connector::job_subtask& out, std::string& why) {
    connector::kafka_source_settings settings;
    if (auto error = connector::validate_kafka_source_config(source_config, settings)) {
      why = error.describe();
      return error.code;
    }
    settings.consumer.observe = observe;
    out.source = std::make_unique<connector::kafka_source>(io.executor(), std::move(settings));
    out.transform = std::make_unique<connector::lineage_transform>(o.mapping);
    out.sink = std::make_unique<connector::kafka_sink>(io.executor(), sink_config);
    return std::error_code();
  };

  struct sigaction action {};
  action.sa_handler = on_pipeline_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  const auto result = connector::run_job(job, *store, factory);
  std::cerr << "kwire pipeline: " << (result.error ? "failed" : "done") << ": restored from "
            << (result.restored_from ? "checkpoint " + std::to_string(result.restored_from)
                                     : std::string("nothing (a fresh start)"))
            << ", last completed checkpoint " << result.last_completed << ", "
            << count_of(static_cast<std::uint64_t>(result.records_in), "record") << " read, "
            << result.records_out << " written, " << count_of(result.restarts, "restart") << '\n';
  if (result.busy.count() > 0 && result.records_in > 0) {
    const double secs = std::chrono::duration<double>(result.busy).count();
    std::cerr << "kwire pipeline: " << result.records_in << " records in " << secs
              << " s from the first to the last: "
              << static_cast<std::int64_t>(static_cast<double>(result.records_in) / secs)
              << " records/s\n";
  }
  if (const auto& latency = result.commit_latency; latency.count() > 0) {
    const auto ms = [](std::chrono::microseconds d) {
      return static_cast<double>(d.count()) / 1e3;
    };
    std::cerr << "kwire pipeline: source-to-commit latency of " << latency.count()
              << " records: p50 " << ms(latency.quantile(0.50)) << " ms, p99 "
              << ms(latency.quantile(0.99)) << " ms, max " << ms(latency.max()) << " ms\n";
  }
  if (result.error) {
    std::cerr << "kwire pipeline: " << result.cause << '\n';
    return result.configuration_error ? exit_usage : exit_failure;
  }
  return exit_ok;
}

}  // namespace

int run_pipeline(std::span<const std::string_view> args) {
  client_command command{"pipeline", usage, describe_pipeline_properties, {}, {}};
  pipeline_options o;
  std::vector<option> own{
      {"", "--source-topic", "IN", [&](std::string_view v) { o.in_topic = v; }},
      {"", "--sink-topic", "OUT", [&](std::string_view v) { o.out_topic = v; }},
      {"", "--checkpoint-dir", "DIR", [&](std::string_view v) { o.checkpoint_dir = v; }},
      {"", "--checkpoint-interval-ms", "MS",
       [&](std::string_view v) { o.interval_ms = parse_ms(v, "--checkpoint-interval-ms", 0); }},
      {"", "--checkpoint-timeout-ms", "MS",
       [&](std::string_view v) {
         o.checkpoint_timeout_ms = parse_ms(v, "--checkpoint-timeout-ms", 1);
       }},
      {"", "--semantic", "S",
       [&](std::string_view v) {
         if (v == "none")
           o.semantic = connector::delivery_guarantee::none;
         else if (v == "at_least_once")
           o.semantic = connector::delivery_guarantee::at_least_once;
         else if (v == "exactly_once")
           o.semantic = connector::delivery_guarantee::exactly_once;
         else
           throw usage_error("--semantic: '" + std::string(v) +
                             "'; allowed: none, at_least_once, exactly_once");
       }},
      {"", "--transactional-id-prefix", "P", [&](std::string_view v) { o.prefix = v; }},
      {"", "--transactional-id-pool", "N",
       [&](std::string_view v) {
         o.pool = static_cast<std::int32_t>(parse_ms(v, "--transactional-id-pool", 2));
       }},
      {"", "--transform", "T",
       [&](std::string_view v) {
         if (v == "identity")
           o.mapping = connector::value_mapping::identity;
         else if (v == "upper")
           o.mapping = connector::value_mapping::upper;
         else
           throw usage_error("--transform: '" + std::string(v) + "'; allowed: identity, upper");
       }},
      {"", "--stop-after-idle-ms", "MS",
       [&](std::string_view v) { o.idle_ms = parse_ms(v, "--stop-after-idle-ms", 1); }},
      {"", "--parallelism", "N",
       [&](std::string_view v) {
         o.parallelism = static_cast<std::int32_t>(parse_ms(v, "--parallelism", 1));
       }},
      {"", "--restart-attempts", "N",
       [&](std::string_view v) {
         o.restart_attempts = static_cast<std::int32_t>(parse_ms(v, "--restart-attempts", 0));
       }},
      {"", "--restart-delay-ms", "MS",
       [&](std::string_view v) { o.restart_delay_ms = parse_ms(v, "--restart-delay-ms", 0); }},
      {"", "--subtasks", "I,J,...",
       [](std::string_view) {
         throw usage_error("--subtasks: not available yet (the connector's next part)");
       }},
      {"", "--checkpoint-topic", "T", [&](std::string_view v) { o.checkpoint_topic = v; }},
      {"", "--mode", "checkpoint|group",
       [](std::string_view v) {
         if (v != "checkpoint")
           throw usage_error("--mode " + std::string(v) +
                             ": only checkpoint is available yet (the connector's next part)");
       }},
  };
  return run_client_command(command, args, std::move(own), [&] {
    if (o.in_topic.empty()) throw usage_error("--source-topic IN is required");
    if (o.out_topic.empty()) throw usage_error("--sink-topic OUT is required");
    if (o.checkpoint_dir.empty() == o.checkpoint_topic.empty())
      throw usage_error(o.checkpoint_dir.empty()
                            ? "a checkpoint store is required: --checkpoint-dir DIR or "
                              "--checkpoint-topic T"
                            : "--checkpoint-dir and --checkpoint-topic: a job has one checkpoint "
                              "store, give one of them");
    check_topic_name(o.in_topic);
    check_topic_name(o.out_topic);
    if (!o.checkpoint_topic.empty()) {
      check_topic_name(o.checkpoint_topic);
      if (o.checkpoint_topic == o.in_topic || o.checkpoint_topic == o.out_topic)
        throw usage_error("--checkpoint-topic: " + o.checkpoint_topic +
                          " is the job's input or output; the store needs a topic of its own");
    }
    if (o.in_topic == o.out_topic)
      throw usage_error("--sink-topic: the same topic as --source-topic would feed itself");
    if (o.semantic == connector::delivery_guarantee::exactly_once) {
      if (o.interval_ms == 0)
        throw usage_error(
            "--semantic exactly_once needs checkpoints: --checkpoint-interval-ms 0 turns them "
            "off (choose at_least_once or none, or an interval)");
      if (o.prefix.empty())
        throw usage_error("--semantic exactly_once needs --transactional-id-prefix P");
    }
    return run(o, command.properties, command.observe);
  });
}

}  // namespace kwire::cli
