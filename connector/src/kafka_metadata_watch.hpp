// The source's view of which partitions its subscription covers. The client has no public
// "list topics" call on the consumer or the admin client, so this uses the client's public
// cluster (cluster.hpp: the Metadata request and its cache) on a strand of the source's
// executor: the listed topics, or every topic for a pattern, and never creating a topic.
// The newest answer is copied under a lock for the subtask's thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kwire/client/cluster.hpp"
#include "kwire/connector/kafka_source_config.hpp"

namespace kwire::connector::detail {

// Topic -> its partition count, for every topic of the metadata without an error.
struct topic_partitions {
  std::map<std::string, std::int32_t> partitions;
  std::uint64_t version = 0;  // 0: no metadata yet
};

class metadata_watch {
 public:
  // Starts fetching. Throws std::invalid_argument for a security setting that cannot be used.
  // Internal topics count only with exclude.internal.topics=false.
  metadata_watch(boost::asio::any_io_executor executor, const client::consumer_config& config,
                 const topic_subscription& subscription);
  ~metadata_watch();
  metadata_watch(const metadata_watch&) = delete;
  metadata_watch& operator=(const metadata_watch&) = delete;

  // Waits up to `timeout` for metadata that names every listed topic (for a pattern: any
  // metadata), and returns the newest; version 0 when none came in time.
  topic_partitions wait_first(std::chrono::milliseconds timeout);
  // Asks for fresh metadata; the answer shows in newest() later.
  void request_refresh();
  topic_partitions newest() const;

 private:
  struct shared {
    mutable std::mutex mutex;
    std::condition_variable changed;
    topic_partitions latest;
    std::map<std::string, bool> listed_seen;  // listed topic -> present in the metadata
  };

  boost::asio::any_io_executor strand_;
  std::shared_ptr<shared> shared_ = std::make_shared<shared>();
  std::shared_ptr<client::cluster> cluster_;
};

}  // namespace kwire::connector::detail
