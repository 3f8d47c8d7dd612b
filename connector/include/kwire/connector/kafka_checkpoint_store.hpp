// A checkpoint store in a compacted Kafka topic, for a job whose subtasks run on several
// machines: Kafka is the shared, replicated storage, no shared disk is needed. One topic per
// job, of one partition (one ordered log), cleanup.policy=compact; created when missing
// (replication factor min(3, brokers), min.insync.replicas one less, at least 1), refused
// with checkpoint_topic_unsuitable when it exists with other settings.
//
//   key manifest                  the job manifest
//   key chk/<id>/part/<subtask>   a subtask's part of checkpoint <id>
//   key chk/<id>/completed        the completion record: the checkpoint is completed
//
// The values are the directory store's files byte for byte (checkpoint format version 1,
// connector/README.md). A write is durable once every in-sync replica acknowledged it
// (acks=all, idempotence). Reads take the end offset first, then read the topic up to it
// and keep each key's latest value; old checkpoints are removed by tombstones after each
// completion (keep_completed).
//
// Threading: blocking calls on the caller's thread; the executor given to the constructor
// must run on another thread (the calls wait for the clients there).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "kwire/client/config.hpp"
#include "kwire/connector/checkpoint_store.hpp"

namespace kwire::connector {

class kafka_checkpoint_store final : public checkpoint_store {
 public:
  struct options {
    // Completed checkpoints kept; the rest is tombstoned after each completion. At least 1.
    std::size_t keep_completed = 3;
    warning_sink warn;
    // The longest a read of the topic up to its end may take.
    std::chrono::milliseconds read_timeout{60000};
    // false: a missing topic is an error (a reader such as `kwire checkpoint inspect` must
    // not create one).
    bool create_topic = true;
  };

  // `config`: the clients' common settings (bootstrap.servers, security, client.id, ...);
  // the store's producer forces acks=all and idempotence.
  kafka_checkpoint_store(boost::asio::any_io_executor executor, client::common_config config,
                         std::string topic);
  kafka_checkpoint_store(boost::asio::any_io_executor executor, client::common_config config,
                         std::string topic, options settings);
  ~kafka_checkpoint_store() override;
  kafka_checkpoint_store(const kafka_checkpoint_store&) = delete;
  kafka_checkpoint_store& operator=(const kafka_checkpoint_store&) = delete;

  // Creates the topic when missing (create_topic), or checks it (checkpoint_topic_unsuitable),
  // and starts
  // the clients. Every other call does it first; call it to fail early.
  checkpoint_error open();

  checkpoint_error write_manifest(const job_manifest& manifest) override;
  checkpoint_error read_manifest(job_manifest& out) override;
  checkpoint_error write_part(const subtask_state& part) override;
  checkpoint_error complete(checkpoint_id id, std::int32_t parallelism,
                            std::int64_t completed_ms) override;
  checkpoint_error list(std::vector<stored_checkpoint>& out) override;
  checkpoint_error load(checkpoint_id id, completed_checkpoint& out) override;

  // Tombstones what keep_completed does not keep; complete() calls it.
  checkpoint_error prune();

  const std::string& topic() const noexcept { return topic_; }

 private:
  struct state;
  std::string topic_;
  std::unique_ptr<state> state_;
};

}  // namespace kwire::connector
