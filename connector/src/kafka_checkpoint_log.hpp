// The checkpoint log in a compacted Kafka topic of one partition (one ordered log, so that a
// reader sees every key's records in the order they were written): the store's topic is
// created when missing, refused when it is not compacted or has more partitions; appends are
// acknowledged by every in-sync replica (acks=all, idempotence) before they count; reads go
// from where the last one stopped up to the end offset looked up first.
//
// Blocking calls on the caller's thread; the executor given runs on another thread (never
// call it there).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kwire/client/admin.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "log_checkpoint_store.hpp"

namespace kwire::connector::detail {

// The topic a store creates: 1 partition, compacted, replication factor min(3, brokers),
// min.insync.replicas one less than that (at least 1), so that an acknowledged checkpoint
// survives the loss of a broker and the store goes on writing while one is down.
client::new_topic checkpoint_topic_spec(const std::string& topic, std::size_t brokers);

// An existing topic fit for a store: exactly one partition, cleanup.policy exactly compact
// (with delete, retention would remove a manifest or a completed checkpoint). Otherwise
// checkpoint_topic_unsuitable naming the topic and the setting.
checkpoint_error check_checkpoint_topic(const std::string& topic, std::int32_t partitions,
                                        const client::described_config& configs);

class kafka_checkpoint_log final : public checkpoint_log {
 public:
  kafka_checkpoint_log(boost::asio::any_io_executor executor, client::common_config config,
                       std::string topic, std::chrono::milliseconds timeout,
                       bool create_topic = true);
  ~kafka_checkpoint_log() override;
  kafka_checkpoint_log(const kafka_checkpoint_log&) = delete;
  kafka_checkpoint_log& operator=(const kafka_checkpoint_log&) = delete;

  // Creates (when `create_topic`) or checks the topic and starts the clients; once (every
  // other call does it first).
  checkpoint_error open();

  checkpoint_error append(const std::vector<log_record>& records) override;
  checkpoint_error read_new(const std::function<void(log_record)>& apply) override;
  std::string name() const override { return "topic " + topic_; }

 private:
  checkpoint_error create_or_check_topic();
  checkpoint_error end_offset(std::int64_t& out);

  boost::asio::any_io_executor executor_;
  client::common_config config_;
  std::string topic_;
  std::chrono::milliseconds timeout_;
  bool create_topic_;
  std::unique_ptr<client::admin> admin_;
  std::unique_ptr<client::producer> producer_;
  std::unique_ptr<client::consumer> consumer_;
  bool opened_ = false;
  std::int64_t position_ = 0;  // the next offset read_new reads
};

}  // namespace kwire::connector::detail
