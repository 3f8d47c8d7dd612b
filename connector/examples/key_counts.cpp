// An embedding service with state of its own: it counts the records of each key of a topic
// and writes every new count to another topic through the exactly-once sink, as
// "KEY -> COUNT". The counts live in the transform, which takes part in the checkpoints: after
// a crash the service restores the counts of the latest completed checkpoint together with
// the source's positions and the sink's pending transactions, so the output shows, for each
// key, exactly the counts 1, 2, 3, ... n, never one twice or one missing.
//
//   key_counts BOOTSTRAP IN OUT CHECKPOINT_DIR TRANSACTIONAL_ID_PREFIX [IDLE_MS]
//
// It runs until every partition of IN was read to its end and nothing came for IDLE_MS
// (default: until SIGINT or SIGTERM), then exits 0 after a last checkpoint.
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "kwire/connector/file_checkpoint_store.hpp"
#include "kwire/connector/job.hpp"
#include "kwire/connector/kafka_partition_assigner.hpp"
#include "kwire/connector/kafka_sink.hpp"
#include "kwire/connector/kafka_source.hpp"
#include "kwire/connector/kafka_source_config.hpp"

namespace kc = kwire::connector;

namespace {

std::atomic<bool> stop{false};
extern "C" void on_signal(int) { stop.store(true); }

// The per-key counts, checkpointed as "KEY\tCOUNT\n" lines (keys without tabs or newlines).
class key_counter final : public kc::transform {
 public:
  std::string participant_name() const override { return "key-counts"; }

  kc::participant_bytes snapshot(kc::checkpoint_id) override {
    std::string text;
    for (const auto& [key, count] : counts_) text += key + '\t' + std::to_string(count) + '\n';
    return {text.begin(), text.end()};
  }

  std::error_code restore(std::span<const std::uint8_t> state) override {
    counts_.clear();
    const std::string text(state.begin(), state.end());
    std::size_t at = 0;
    while (at < text.size()) {
      const auto tab = text.find('\t', at);
      const auto end = text.find('\n', at);
      if (tab == std::string::npos || end == std::string::npos || tab > end)
        return std::make_error_code(std::errc::invalid_argument);
      counts_[text.substr(at, tab - at)] = std::stoll(text.substr(tab + 1, end - tab - 1));
      at = end + 1;
    }
    return {};
  }

  void notify_complete(kc::checkpoint_id) override {}
  void notify_aborted(kc::checkpoint_id) override {}

  std::error_code process(const kc::source_record& input, kc::record_emitter& out) override {
    key_.assign(input.key ? reinterpret_cast<const char*>(input.key->data()) : "",
                input.key ? input.key->size() : 0);
    value_ = key_ + " -> " + std::to_string(++counts_[key_]);
    kc::sink_record record;
    record.key = input.key;
    record.value = std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(value_.data()), value_.size());
    return out.emit(record);
  }

 private:
  std::map<std::string, std::int64_t> counts_;
  std::string key_;
  std::string value_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: key_counts BOOTSTRAP IN OUT CHECKPOINT_DIR TRANSACTIONAL_ID_PREFIX "
                 "[IDLE_MS]\n";
    return 2;
  }
  const std::string bootstrap = argv[1], in = argv[2], out = argv[3], dir = argv[4],
                    prefix = argv[5];
  const auto idle_ms = argc > 6 ? std::stoll(argv[6]) : 0;

  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });

  kc::kafka_source_config source;
  source.properties = {{"bootstrap.servers", bootstrap}, {"isolation.level", "read_committed"}};
  source.subscription = kc::topic_subscription::topic(in);
  source.start = kc::start_position::earliest();
  source.commit_mode = kc::offset_commit_mode::disabled;

  kc::kafka_sink_config sink;
  sink.properties = {{"bootstrap.servers", bootstrap}};
  sink.topic = out;
  sink.guarantee = kc::delivery_guarantee::exactly_once;
  sink.transactional_id_prefix = prefix;
  kwire::client::properties sweep;
  std::string message;
  std::vector<std::string> warnings;
  if (kc::sink_producer_properties(sink, sweep, message, warnings)) {
    std::cerr << "key_counts: " << message << '\n';
    return 2;
  }

  kc::job_settings job;
  job.parallelism = 2;
  job.timing.interval = std::chrono::milliseconds(500);
  job.transactional_id_prefix = prefix;
  job.transactional_id_pool = sink.transactional_id_pool;
  job.sweep_producer_properties = sweep;
  job.executor = io.get_executor();
  job.owner = kc::kafka_source_partition_owner;
  job.stop_after_idle = std::chrono::milliseconds(idle_ms);
  job.stop_requested = &stop;
  job.log = [](std::string_view line) { std::cerr << "key_counts: " << line << std::endl; };

  const kc::subtask_factory factory = [&](std::int32_t, std::int32_t, kc::job_subtask& subtask,
                                          std::string& why) {
    kc::kafka_source_settings settings;
    if (auto error = kc::validate_kafka_source_config(source, settings)) {
      why = error.describe();
      return error.code;
    }
    subtask.source = std::make_unique<kc::kafka_source>(io.get_executor(), std::move(settings));
    subtask.transform = std::make_unique<key_counter>();
    subtask.sink = std::make_unique<kc::kafka_sink>(io.get_executor(), sink);
    return std::error_code();
  };

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  kc::file_checkpoint_store store(dir);
  const auto result = kc::run_job(job, store, factory);
  work.reset();
  io_thread.join();
  if (result.error) {
    std::cerr << "key_counts: " << result.cause << '\n';
    return 1;
  }
  std::cerr << "key_counts: done, " << result.records_in << " records counted since checkpoint "
            << result.restored_from << '\n';
  return 0;
}
