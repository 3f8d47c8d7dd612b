#include "kwire/connector/kafka_checkpoint_store.hpp"

#include <utility>

#include "kafka_checkpoint_log.hpp"
#include "log_checkpoint_store.hpp"

namespace kwire::connector {

// The Kafka log and the store over it (the store keeps a reference to the log).
struct kafka_checkpoint_store::state {
  state(boost::asio::any_io_executor executor, client::common_config config,
        const std::string& topic, options settings)
      : log(std::move(executor), std::move(config), topic, settings.read_timeout,
            settings.create_topic),
        store(log, {settings.keep_completed, std::move(settings.warn)}) {}
  detail::kafka_checkpoint_log log;
  detail::log_checkpoint_store store;
};

kafka_checkpoint_store::kafka_checkpoint_store(boost::asio::any_io_executor executor,
                                               client::common_config config, std::string topic)
    : kafka_checkpoint_store(std::move(executor), std::move(config), std::move(topic), options{}) {}

kafka_checkpoint_store::kafka_checkpoint_store(boost::asio::any_io_executor executor,
                                               client::common_config config, std::string topic,
                                               options settings)
    : topic_(std::move(topic)),
      state_(std::make_unique<state>(std::move(executor), std::move(config), topic_,
                                     std::move(settings))) {}

kafka_checkpoint_store::~kafka_checkpoint_store() = default;

checkpoint_error kafka_checkpoint_store::open() { return state_->log.open(); }

checkpoint_error kafka_checkpoint_store::write_manifest(const job_manifest& manifest) {
  return state_->store.write_manifest(manifest);
}
checkpoint_error kafka_checkpoint_store::read_manifest(job_manifest& out) {
  return state_->store.read_manifest(out);
}
checkpoint_error kafka_checkpoint_store::write_part(const subtask_state& part) {
  return state_->store.write_part(part);
}
checkpoint_error kafka_checkpoint_store::complete(checkpoint_id id, std::int32_t parallelism,
                                                  std::int64_t completed_ms) {
  return state_->store.complete(id, parallelism, completed_ms);
}
checkpoint_error kafka_checkpoint_store::list(std::vector<stored_checkpoint>& out) {
  return state_->store.list(out);
}
checkpoint_error kafka_checkpoint_store::load(checkpoint_id id, completed_checkpoint& out) {
  return state_->store.load(id, out);
}
checkpoint_error kafka_checkpoint_store::prune() { return state_->store.prune(); }

}  // namespace kwire::connector
