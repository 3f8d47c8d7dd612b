#include "kafka_metadata_watch.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>

namespace kwire::connector::detail {

namespace asio = boost::asio;

metadata_watch::metadata_watch(asio::any_io_executor executor,
                               const client::consumer_config& config,
                               const topic_subscription& subscription)
    : strand_(asio::make_strand(executor)) {
  auto options = client::cluster_options_for(config, "consumer");
  options.all_topics = subscription.pattern.has_value();
  options.allow_auto_topic_creation = false;  // looking must not create a topic
  for (const auto& t : subscription.topics) shared_->listed_seen[t] = false;
  cluster_ = client::cluster::create(strand_, std::move(options));
  // Members of the cluster are called on its strand only.
  asio::post(strand_, [cluster = cluster_, state = shared_, topics = subscription.topics,
                       internal = !config.exclude_internal_topics] {
    cluster->on_metadata([state, internal](const client::cluster_metadata& m) {
      topic_partitions next;
      next.version = m.version;
      for (const auto& [name, topic] : m.topics)
        if (topic.error_code == 0 && (internal || !topic.internal))
          next.partitions[name] = static_cast<std::int32_t>(topic.partitions.size());
      std::lock_guard lock(state->mutex);
      for (auto& [name, seen] : state->listed_seen) seen = seen || m.topics.contains(name);
      state->latest = std::move(next);
      state->changed.notify_all();
    });
    for (const auto& t : topics) cluster->want_topic(t);
    cluster->start();
  });
}

metadata_watch::~metadata_watch() {
  // Bounded: the executor's thread may already have stopped.
  auto closed = asio::post(strand_, asio::use_future([cluster = cluster_] {
                             cluster->on_metadata({});
                             cluster->close();
                           }));
  closed.wait_for(std::chrono::seconds(10));
}

topic_partitions metadata_watch::wait_first(std::chrono::milliseconds timeout) {
  std::unique_lock lock(shared_->mutex);
  shared_->changed.wait_for(lock, timeout, [&] {
    if (shared_->latest.version == 0) return false;
    for (const auto& [name, seen] : shared_->listed_seen)
      if (!seen) return false;
    return true;
  });
  return shared_->latest;
}

void metadata_watch::request_refresh() {
  asio::post(strand_, [cluster = cluster_] { cluster->request_refresh(); });
}

topic_partitions metadata_watch::newest() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->latest;
}

}  // namespace kwire::connector::detail
