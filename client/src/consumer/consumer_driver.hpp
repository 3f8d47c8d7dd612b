// What the consumer's parts (consumer_positions, consumer_offsets, consumer_fetcher) need
// from the consumer that ties them together (consumer.cpp), and the metadata lookups they
// share. Everything runs on the consumer's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>

#include "core/error_kinds.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "kwire/client/topic_partition.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

using consumer_clock = std::chrono::steady_clock;

class consumer_driver {
 public:
  // Starts whatever can start now: a part calls it after a response changed its state.
  virtual void drive() = 0;
  // Keeps the consumer, and so its parts, alive while a request or timer waits.
  virtual std::shared_ptr<void> keep_alive() = 0;
  // close() began: nothing new is handed out, auto commit stops.
  virtual bool closing() const noexcept = 0;
  // shut down: responses that arrive now are dropped.
  virtual bool closed() const noexcept = 0;
  // The delay before retry number `attempt` (retry.backoff.ms, jittered).
  virtual std::chrono::milliseconds backoff(int attempt) = 0;
  // Runs `work` off the strand, on any thread of the consumer's executor (so beside the
  // strand when the application runs it on several), then `done` on the strand.
  virtual void run_off_strand(unique_function<void()> work, unique_function<void()> done) = 0;

 protected:
  ~consumer_driver() = default;
};

// The leader of a partition (-1: unknown), and its epoch into `epoch` when given.
inline std::int32_t leader_of(const cluster_metadata& metadata, const topic_partition& tp,
                              std::int32_t* epoch = nullptr) {
  const auto* t = metadata.topic(tp.topic);
  if (!t || tp.partition < 0 || tp.partition >= static_cast<std::int32_t>(t->partitions.size()))
    return -1;
  const auto& pm = t->partitions[static_cast<std::size_t>(tp.partition)];
  if (epoch) *epoch = pm.leader_epoch;
  return pm.leader;
}

// A topic's name in a response that may name it by id only (v13+ Fetch, v10+ OffsetFetch);
// empty when the metadata does not know the id.
inline std::string_view topic_named(const cluster_metadata& metadata, std::string_view name,
                                    const protocol::uuid& id) {
  if (!name.empty()) return name;
  for (const auto& [known, meta] : metadata.topics)
    if (meta.topic_id == id) return known;
  return {};
}

}  // namespace kwire::client::detail
