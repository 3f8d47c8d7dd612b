// The consumer (consumer.hpp). Everything below runs on the consumer's strand.
//
// Per assigned partition: a position (next offset to hand out), a fetch offset (next offset
// to fetch: the position plus what is buffered), and a state: waiting for its committed
// offset, for an offset reset (ListOffsets), fetching, or failed with an error that poll
// reports until the application seeks. Per broker: one fetch session and at most one Fetch
// in flight, naming every fetchable partition that broker leads, or serves as the preferred
// read replica its leader named (KIP-392). Fetching stops while the responses waiting for
// poll hold fetch.max.bytes, for every partition at once: a limit per partition would let
// partitions become fetchable one by one as poll drains them, and the fetches would shrink
// to a partition or two each (measured with the OS's receive buffer: 4x the requests for the
// same records, each partition forgotten and re-added to the session). Likewise a broker is
// not asked again while two of its responses wait, so that the next fetch is in flight while
// the application reads the previous one, and no more.
#include "kwire/client/consumer.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstring>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <random>
#include <regex>
#include <set>

#include "kwire/client/cluster.hpp"
#include "kwire/client/detail/backoff.hpp"
#include "kwire/client/detail/fetch_session.hpp"
#include "kwire/client/detail/group_driver.hpp"
#include "kwire/protocol/messages.hpp"

#include "consumer_offsets.hpp"
#include "consumer_positions.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define KWIRE_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KWIRE_ADDRESS_SANITIZER 1
#endif
#endif
#ifdef KWIRE_ADDRESS_SANITIZER
#include <sanitizer/asan_interface.h>
#endif

namespace kwire::client {
namespace detail {

namespace {
// A pooled block is not freed when its last record_set goes, so nothing would catch a record
// view read after that (the lifetime rule in consumer.hpp): AddressSanitizer builds poison
// idle blocks, so that such a read is reported, and other debug builds overwrite them.
void mark_idle(std::uint8_t* data, std::size_t size) {
#ifdef KWIRE_ADDRESS_SANITIZER
  ASAN_POISON_MEMORY_REGION(data, size);
#elif !defined(NDEBUG)
  std::memset(data, 0xdd, size);
#else
  (void)data;
  (void)size;
#endif
}
void mark_taken([[maybe_unused]] std::uint8_t* data, [[maybe_unused]] std::size_t size) {
#ifdef KWIRE_ADDRESS_SANITIZER
  ASAN_UNPOISON_MEMORY_REGION(data, size);
#endif
}

// Memory for decompressed records: blocks that return here when the last record_set (or
// buffered chunk) using them is gone, so that a steady consumer neither allocates nor
// page-faults (nor zero-fills) for every batch. Blocks die on any thread: hence the lock.
class decode_block_pool {
 public:
  static constexpr std::size_t block_size = std::size_t{4} << 20;

  // Keeps up to `max_idle_bytes` of returned blocks for reuse (at least two blocks), frees
  // the rest: never more than was in use at once.
  explicit decode_block_pool(std::size_t max_idle_bytes)
      : max_idle_(std::max<std::size_t>(2, max_idle_bytes / block_size)) {}
  ~decode_block_pool() {
    for (auto& data : idle_) mark_taken(data.get(), block_size);
  }
  decode_block_pool(const decode_block_pool&) = delete;
  decode_block_pool& operator=(const decode_block_pool&) = delete;

  struct block {
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t size = 0;
    std::size_t used = 0;
  };

  // A block of at least `size` bytes (uninitialized).
  block take(std::size_t size) {
    if (size <= block_size) {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        block b{std::move(idle_.back()), block_size, 0};
        idle_.pop_back();
        mark_taken(b.data.get(), block_size);
        return b;
      }
    }
    const std::size_t n = std::max(size, block_size);
    return {std::make_unique_for_overwrite<std::uint8_t[]>(n), n, 0};
  }

  void give_back(block b) {
    if (b.size != block_size) return;  // an oversized batch's own block
    std::lock_guard lock(mutex_);
    if (idle_.size() >= max_idle_) return;
    mark_idle(b.data.get(), block_size);
    idle_.push_back(std::move(b.data));
  }

 private:
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<std::uint8_t[]>> idle_;
};

}  // namespace

struct fetched_buffers {
  frame_buffer payload;    // the Fetch response frame
  std::int32_t node = -1;  // the broker that sent it
  // Records sections of compressed batches: in pool blocks when the codec tells a size
  // bound (lz4), else each in a vector of its own.
  std::shared_ptr<decode_block_pool> pool;
  std::vector<decode_block_pool::block> blocks;
  std::vector<std::vector<std::uint8_t>> decompressed;

  fetched_buffers() = default;
  fetched_buffers(const fetched_buffers&) = delete;
  fetched_buffers& operator=(const fetched_buffers&) = delete;
  ~fetched_buffers() {
    for (auto& b : blocks) pool->give_back(std::move(b));
  }

  // Free space of at least `bound` bytes for the next batch; keep() claims what it used.
  std::span<std::uint8_t> room(std::size_t bound) {
    if (blocks.empty() || blocks.back().size - blocks.back().used < bound)
      blocks.push_back(pool->take(bound));
    auto& b = blocks.back();
    return {b.data.get() + b.used, b.size - b.used};
  }
  // Bytes held: the frame and the decompressed records.
  std::size_t memory() const noexcept {
    std::size_t n = payload.capacity();
    for (const auto& b : blocks) n += b.size;
    for (const auto& d : decompressed) n += d.capacity();
    return n;
  }
  // Claims `records` when they were decompressed into the last room(); false otherwise.
  bool keep(std::span<const std::uint8_t> records) {
    if (blocks.empty()) return false;
    auto& b = blocks.back();
    if (records.data() != b.data.get() + b.used) return false;
    b.used += records.size();
    return true;
  }
};

namespace {

using clock = std::chrono::steady_clock;
using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

// A broker gets no Fetch while this many of its responses wait for poll.
constexpr std::size_t kMaxWaitingResponses = 2;

// Partition errors after which the leader may have moved: refresh metadata, fetch again.
bool is_leadership_error(std::error_code ec) {
  return is(ec, broker_error::not_leader_or_follower) ||
         is(ec, broker_error::unknown_topic_or_partition) ||
         is(ec, broker_error::leader_not_available) || is(ec, broker_error::fenced_leader_epoch) ||
         is(ec, broker_error::unknown_leader_epoch) || is(ec, broker_error::kafka_storage_error) ||
         is(ec, broker_error::offset_not_available) || is(ec, broker_error::unknown_topic_id) ||
         is(ec, broker_error::inconsistent_topic_id);
}

cluster_options consumer_cluster_options(const consumer_config& config) {
  cluster_options options = cluster_options_for(config);
  // A fetch response may carry fetch.max.bytes plus one oversized first batch.
  options.connection.max_response_size =
      std::max<std::size_t>(protocol::default_max_frame_size,
                            static_cast<std::size_t>(config.fetch_max_bytes) + (16u << 20));
  options.allow_auto_topic_creation = config.allow_auto_create_topics;
  return options;
}

struct node_fetch {
  fetch_session session;
  bool in_flight = false;
  bool checking = false;  // a response is being checked: it counts as waiting
  clock::time_point retry_at{};
};

// What the checks of one partition's records found: the batches that may reach the
// application (those at or after the offset asked for), then the first problem, if any.
struct checked_batches {
  ready_chunk ready;  // batches, counts, next_offset and last_epoch filled in
  std::error_code error;
  std::string where;  // the error's place, for the diagnostics
};

// Checks every batch of one partition's records (CRC, codec, records) before any of it can
// reach the application; compressed records are decompressed into `owner`'s memory.
checked_batches check_batches(std::span<const std::uint8_t> records, std::int64_t from,
                              fetched_buffers& owner, bool verify_crc) {
  checked_batches out;
  auto& ready = out.ready;
  ready.chunk.first_offset = from;
  ready.next_offset = from;
  protocol::record_batch_reader_options options;
  options.verify_crc = verify_crc;
  options.decompress_to = [&owner](std::size_t bound) { return owner.room(bound); };
  std::vector<std::uint8_t> scratch;
  protocol::record_batch_reader reader(records, scratch, options);
  protocol::record_batch_view batch;
  while (reader.next(batch)) {
    const auto& h = batch.header();
    const std::int64_t last = h.base_offset + h.last_offset_delta;
    if (last < from) continue;  // all before our offset (the log's start of a batch)
    if (h.codec() != protocol::compression::none && !owner.keep(batch.records_section())) {
      // Keep the decompressed records: views into them live as long as the chunk.
      owner.decompressed.push_back(std::move(scratch));
      scratch = {};
    }
    std::size_t count = 0;
    if (!h.is_control()) {
      protocol::record_view r;
      auto cursor = batch.records();
      while (cursor.next(r))
        if (r.offset >= from) ++count;
      if (cursor.error()) {
        out.error = cursor.error();
        out.where = "malformed record in the batch at offset " + std::to_string(h.base_offset);
        break;
      }
    }
    ready.chunk.batches.push_back(batch);
    ready.counts.push_back(count);
    ready.next_offset = last + 1;
    if (h.partition_leader_epoch >= 0) ready.last_epoch = h.partition_leader_epoch;
  }
  if (!out.error && reader.error()) {
    out.error = reader.error();
    out.where = "corrupt record batch after offset " + std::to_string(ready.next_offset - 1);
  }
  if (!out.error && ready.chunk.batches.empty() && reader.incomplete_tail()) {
    // Not even one whole batch: a batch larger than max.partition.fetch.bytes from a
    // broker that does not send an oversized first batch.
    out.error = make_error_code(errc::record_too_large);
    out.where = "the batch at offset " + std::to_string(from) +
                " is larger than max.partition.fetch.bytes";
  }
  return out;
}

}  // namespace

class consumer_impl final : public std::enable_shared_from_this<consumer_impl>,
                            private consumer_driver {
 public:
  consumer_impl(asio::any_io_executor executor, consumer_config config)
      : config_(std::move(config)),
        strand_(asio::make_strand(std::move(executor))),
        cluster_(cluster::create(strand_, consumer_cluster_options(config_))),
        poll_timer_(strand_),
        wake_timer_(strand_),
        close_timer_(strand_),
        random_(std::random_device{}()) {}

  void start() {
    asio::post(strand_, [self = shared_from_this()] {
      std::weak_ptr<consumer_impl> weak = self;
      self->cluster_->on_metadata([weak](const cluster_metadata&) {
        if (auto s = weak.lock()) s->drive();
      });
      self->cluster_->on_connection([weak](std::int32_t node, std::error_code ec) {
        if (auto s = weak.lock()) {
          if (ec) s->on_connection_lost(node);
          s->drive();
        }
      });
      self->cluster_->start();
      if (self->config_.enable_auto_commit) self->offsets_.start_auto_commit();
    });
  }

  const consumer_config& config() const noexcept { return config_; }

  // ------------------------------------------------------------ assignment and positions

  std::error_code assign(std::vector<topic_partition> partitions) {
    auto expected = assignment_mode::none;
    if (!mode_.compare_exchange_strong(expected, assignment_mode::manual) &&
        expected != assignment_mode::manual)
      return make_error_code(errc::invalid_argument);
    post([self = shared_from_this(), partitions = std::move(partitions)]() mutable {
      self->set_assignment(std::set<topic_partition>(partitions.begin(), partitions.end()));
      self->drive();
    });
    return {};
  }

  std::error_code subscribe(std::vector<std::string> topics, rebalance_listener listener) {
    if (topics.empty() ||
        std::ranges::any_of(topics, [](const std::string& t) { return t.empty(); }))
      return make_error_code(errc::invalid_argument);
    return start_subscription(std::move(listener),
                              [topics = std::move(topics)](consumer_impl& self) mutable {
                                self.pattern_.reset();
                                self.group_->subscribe(clock::now(), std::move(topics));
                              });
  }

  std::error_code subscribe_pattern(std::string_view regex, rebalance_listener listener) {
    if (regex.empty()) return make_error_code(errc::invalid_argument);
    std::regex pattern;
    try {
      pattern.assign(regex.begin(), regex.end(), std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      return make_error_code(errc::invalid_argument);
    }
    return start_subscription(std::move(listener),
                              [pattern = std::move(pattern)](consumer_impl& self) mutable {
                                self.pattern_ = std::move(pattern);
                                self.pattern_metadata_version_ = 0;
                                self.pattern_topics_.reset();
                                self.cluster_->want_all_topics();
                              });
  }

  // Subscriptions need group.id and exclude assign(). `apply` sets the subscription on the
  // strand, once the member exists.
  template <class Apply>
  std::error_code start_subscription(rebalance_listener listener, Apply apply) {
    if (!config_.group_id) return make_error_code(errc::invalid_argument);
    auto expected = assignment_mode::none;
    if (!mode_.compare_exchange_strong(expected, assignment_mode::group) &&
        expected != assignment_mode::group)
      return make_error_code(errc::invalid_argument);
    post([self = shared_from_this(), listener = std::move(listener),
          apply = std::move(apply)]() mutable {
      if (self->closing_) return;
      self->listener_ = std::move(listener);
      if (!self->group_) self->start_group();
      apply(*self);
      self->drive();
    });
    return {};
  }

  // A pattern subscription follows the metadata: the matching topics of each new version
  // become the subscription when they differ from the last (the member rejoins or sends
  // them with its next heartbeat). Nothing is subscribed before the first metadata.
  void refresh_pattern_subscription(clock::time_point now) {
    const auto& metadata = cluster_->metadata();
    if (metadata.version == 0 || metadata.version == pattern_metadata_version_) return;
    pattern_metadata_version_ = metadata.version;
    std::vector<std::string> matching;
    for (const auto& [name, topic] : metadata.topics) {
      if (topic.error_code != 0 || (topic.internal && config_.exclude_internal_topics)) continue;
      if (std::regex_match(name, *pattern_)) matching.push_back(name);
    }
    if (pattern_topics_ == matching) return;
    pattern_topics_ = matching;
    group_->subscribe(now, std::move(matching));
  }

  std::vector<topic_partition> assignment() const { return positions_.assignment(); }

  void seek(const topic_partition& tp, std::int64_t offset) {
    post([self = shared_from_this(), tp, offset] {
      if (auto* p = self->positions_.find(tp)) {
        self->positions_.set_position(*p, offset, -1);
        self->drive();
      }
    });
  }

  void seek_to(const std::vector<topic_partition>& tps, std::int64_t timestamp) {
    post([self = shared_from_this(), tps, timestamp] {
      for (const auto& tp : tps)
        if (auto* p = self->positions_.find(tp)) self->positions_.request_reset(*p, timestamp);
      self->drive();
    });
  }
  void seek_to_beginning(const std::vector<topic_partition>& tps) {
    seek_to(tps, earliest_timestamp);
  }
  void seek_to_end(const std::vector<topic_partition>& tps) { seek_to(tps, latest_timestamp); }
  void seek_to_timestamp(const std::vector<topic_partition>& tps, std::int64_t ts) {
    seek_to(tps, std::max<std::int64_t>(ts, 0));
  }

  void set_paused(const std::vector<topic_partition>& tps, bool paused) {
    post([self = shared_from_this(), tps, paused] {
      for (const auto& tp : tps)
        if (auto* p = self->positions_.find(tp)) p->paused = paused;
      self->drive();
    });
  }

  std::optional<std::int64_t> position(const topic_partition& tp) const {
    return positions_.position(tp);
  }
  std::optional<partition_watermarks> watermarks(const topic_partition& tp) const {
    return positions_.watermarks(tp);
  }
  std::optional<std::int32_t> fetched_from(const topic_partition& tp) const {
    return positions_.fetched_from(tp);
  }
  diagnostics last_error_details() const { return positions_.last_error_details(); }

  // ------------------------------------------------------------ poll

  void poll(std::chrono::milliseconds timeout, consumer::poll_handler handler) {
    post([self = shared_from_this(), timeout, h = std::move(handler)]() mutable {
      if (self->closing_) return h(make_error_code(errc::shut_down), record_set{});
      if (self->poll_handler_) {
        // One poll at a time: the earlier one completes now, empty.
        auto earlier = std::move(self->poll_handler_);
        earlier({}, record_set{});
      }
      if (self->group_) {
        if (self->group_error_) return h(self->group_error_, record_set{});
        self->group_->poll(clock::now());
      }
      self->positions_.count_poll();  // the application is done with the previous poll's records
      self->poll_handler_ = std::move(h);
      if (self->try_complete_poll()) return;
      self->poll_timer_.expires_after(timeout);
      self->poll_timer_.async_wait([weak = std::weak_ptr(self)](boost::system::error_code ec) {
        auto s = weak.lock();
        if (!s || ec || !s->poll_handler_) return;
        auto handler = std::move(s->poll_handler_);
        s->poll_handler_ = nullptr;
        handler({}, record_set{});
      });
      self->drive();
    });
  }

  // ------------------------------------------------------------ commits

  void commit(std::optional<topic_partition_offsets> offsets, consumer::commit_handler handler) {
    post([self = shared_from_this(), offsets = std::move(offsets),
          h = std::move(handler)]() mutable {
      if (!self->config_.group_id) return h(make_error_code(broker_error::invalid_group_id));
      if (!offsets) offsets = self->positions_.current_positions();
      if (offsets->empty()) return h({});
      self->offsets_.commit(std::move(*offsets), std::move(h),
                            clock::now() + self->config_.default_api_timeout);
      self->drive();
    });
  }

  void committed(std::vector<topic_partition> tps, consumer::committed_handler handler) {
    post([self = shared_from_this(), tps = std::move(tps), h = std::move(handler)]() mutable {
      if (!self->config_.group_id)
        return h(make_error_code(broker_error::invalid_group_id), topic_partition_offsets{});
      self->offsets_.query_committed(std::move(tps), std::move(h),
                                     clock::now() + self->config_.default_api_timeout);
      self->drive();
    });
  }

  // ------------------------------------------------------------ close

  void close(unique_function<void()> done) {
    post([self = shared_from_this(), d = std::move(done)]() mutable {
      if (self->closing_) {
        if (d) d();
        return;
      }
      auto finish = [self, d = std::move(d)]() mutable {
        self->shut_down();
        if (d) d();
      };
      if (self->group_) {
        // Revoke (auto commit, listener), leave the group, then shut down; bounded.
        self->closing_ = true;
        self->close_done_ = std::move(finish);
        self->fail_poll(make_error_code(errc::shut_down));
        self->close_timer_.expires_after(
            std::min(self->config_.default_api_timeout, std::chrono::milliseconds(30000)));
        self->close_timer_.async_wait([weak = std::weak_ptr(self)](boost::system::error_code ec) {
          auto s = weak.lock();
          if (!s || ec) return;
          s->finish_close();
        });
        self->group_->close(clock::now());
        return self->drive();
      }
      if (self->config_.enable_auto_commit && self->config_.group_id) {
        auto offsets = self->positions_.current_positions();
        if (!offsets.empty()) {
          self->offsets_.commit(
              std::move(offsets),
              [finish = std::move(finish)](std::error_code) mutable { finish(); },
              clock::now() +
                  std::min(self->config_.default_api_timeout, std::chrono::milliseconds(5000)));
          self->closing_ = true;
          self->fail_poll(make_error_code(errc::shut_down));
          return self->drive();
        }
      }
      self->closing_ = true;
      finish();
    });
  }

  void shut_down() {
    closing_ = true;
    closed_ = true;
    poll_timer_.cancel();
    wake_timer_.cancel();
    close_timer_.cancel();
    fail_poll(make_error_code(errc::shut_down));
    offsets_.shut_down();
    positions_.clear_ready();
    cluster_->close();
  }

 private:
  template <class F>
  void post(F&& f) {
    asio::post(strand_, std::forward<F>(f));
  }

  // ------------------------------------------------------------ the driver

  std::shared_ptr<void> keep_alive() override { return shared_from_this(); }
  bool closing() const noexcept override { return closing_; }
  bool closed() const noexcept override { return closed_; }

  // Starts whatever can start now: coordinator lookup, offset lookups, fetches, commits.
  void drive() override {
    if (closed_) return;
    auto next_wakeup = clock::time_point::max();
    const auto now = clock::now();
    if (group_) {
      if (pattern_) refresh_pattern_subscription(now);
      group_->metadata_updated();
      next_wakeup = std::min(next_wakeup, group_->run(now));
      if (closed_) return;
    }
    if (config_.group_id) offsets_.drive(now, next_wakeup);
    drive_resets(now, next_wakeup);
    drive_fetches(now, next_wakeup);
    if (next_wakeup != clock::time_point::max()) arm_wake(next_wakeup);
    if (poll_handler_) try_complete_poll();
  }

  void arm_wake(clock::time_point at) {
    if (wake_armed_ && at >= wake_at_) return;
    wake_armed_ = true;
    wake_at_ = at;
    wake_timer_.expires_at(at);
    wake_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!s || ec) return;
      s->wake_armed_ = false;
      s->drive();
    });
  }

  std::chrono::milliseconds backoff(int attempt) override {
    return jittered_backoff(config_.retry_backoff, config_.retry_backoff_max, attempt, random_);
  }

  void on_connection_lost(std::int32_t node) {
    if (auto it = node_fetches_.find(node); it != node_fetches_.end()) it->second.session.reset();
    offsets_.on_connection_lost(node);
    forget_preferred_replica(node);
  }

  // ------------------------------------------------------------ preferred read replicas

  // The broker to fetch a partition from: the preferred read replica while its lease lasts
  // and the metadata lists it as an online replica of the partition, else the leader (-1:
  // none known). `epoch` gets the leader's epoch either way: a follower checks it too.
  std::int32_t fetch_node(assigned_partition& p, clock::time_point now, std::int32_t& epoch) {
    const auto leader = leader_of(cluster_->metadata(), p.tp, &epoch);
    if (p.preferred_replica < 0 || leader < 0) return leader;
    if (now >= p.preferred_until) {
      // The lease ended: back to the leader, which may name the replica again.
      p.preferred_replica = -1;
      return leader;
    }
    if (!is_online_replica(p.tp, p.preferred_replica)) {
      // Stale metadata, or the replica went away: the leader, and fresher metadata.
      p.preferred_replica = -1;
      cluster_->request_refresh();
      return leader;
    }
    return p.preferred_replica;
  }

  bool is_online_replica(const topic_partition& tp, std::int32_t node) const {
    const auto& metadata = cluster_->metadata();
    const auto* t = metadata.topic(tp.topic);
    if (!metadata.broker(node) || !t || tp.partition < 0 ||
        tp.partition >= static_cast<std::int32_t>(t->partitions.size()))
      return false;
    const auto& pm = t->partitions[static_cast<std::size_t>(tp.partition)];
    return std::ranges::find(pm.replicas, node) != pm.replicas.end() &&
           std::ranges::find(pm.offline_replicas, node) == pm.offline_replicas.end();
  }

  // A fetch from `node` failed as a whole: its partitions go back to their leaders.
  void forget_preferred_replica(std::int32_t node) {
    for (auto& [tp, p] : positions_.partitions())
      if (p.preferred_replica == node) p.preferred_replica = -1;
  }

  // ------------------------------------------------------------ offset resets (ListOffsets)

  void drive_resets(clock::time_point now, clock::time_point& next_wakeup) {
    std::map<std::int32_t, std::vector<assigned_partition*>> by_leader;
    for (auto& [tp, p] : positions_.partitions()) {
      if (p.phase != partition_phase::awaiting_reset || p.list_offsets_in_flight) continue;
      if (p.retry_at > now) {
        next_wakeup = std::min(next_wakeup, p.retry_at);
        continue;
      }
      const auto leader = leader_of(cluster_->metadata(), tp);
      if (leader < 0) continue;  // metadata brings us back
      by_leader[leader].push_back(&p);
    }
    for (auto& [node, parts] : by_leader) {
      auto conn = cluster_->ready_connection(node);
      if (!conn) continue;
      const auto version = conn->version_for(protocol::ListOffsetsRequest::api_key);
      if (!version) {
        for (auto* p : parts)
          positions_.fail_partition(*p, make_error_code(errc::broker_too_old), {});
        continue;
      }
      protocol::ListOffsetsRequest request;
      request.replica_id = -1;
      request.isolation_level = config_.isolation == isolation_level::read_committed ? 1 : 0;
      request.timeout_ms = static_cast<std::int32_t>(config_.request_timeout.count());
      std::vector<std::pair<topic_partition, std::uint64_t>> sent;
      for (auto* p : parts) {
        auto* topic = &request.topics.emplace_back();
        if (request.topics.size() > 1 &&
            request.topics[request.topics.size() - 2].name == p->tp.topic) {
          request.topics.pop_back();
          topic = &request.topics.back();
        }
        topic->name = p->tp.topic;
        auto& part = topic->partitions.emplace_back();
        part.partition_index = p->tp.partition;
        std::int32_t epoch = -1;
        leader_of(cluster_->metadata(), p->tp, &epoch);
        part.current_leader_epoch = epoch;
        part.timestamp = p->reset_timestamp;
        p->list_offsets_in_flight = true;
        sent.emplace_back(p->tp, p->seek_generation);
      }
      conn->send(request, *version,
                 [self = shared_from_this(), node = node, sent = std::move(sent)](
                     std::error_code ec, response_frame frame) mutable {
                   self->handle_list_offsets(node, std::move(sent), ec, frame);
                 });
    }
  }

  void handle_list_offsets(std::int32_t node,
                           std::vector<std::pair<topic_partition, std::uint64_t>> sent,
                           std::error_code ec, const response_frame& frame) {
    if (closed_) return;
    protocol::ListOffsetsResponse response;
    if (!ec) ec = response.decode(frame.body, frame.api_version);
    for (const auto& [tp, generation] : sent) {
      auto* p = positions_.find(tp);
      if (!p) continue;
      p->list_offsets_in_flight = false;
      if (p->seek_generation != generation || p->phase != partition_phase::awaiting_reset) continue;
      std::error_code part_ec = ec;
      std::int64_t offset = -1;
      std::int32_t epoch = -1;
      if (!part_ec) {
        part_ec = make_error_code(errc::protocol_violation);
        for (const auto& t : response.topics) {
          if (t.name != tp.topic) continue;
          for (const auto& pr : t.partitions) {
            if (pr.partition_index != tp.partition) continue;
            part_ec = protocol::broker_error_code(pr.error_code);
            offset = pr.offset;
            epoch = pr.leader_epoch;
          }
        }
      }
      if (!part_ec) {
        // A timestamp past every record answers -1: the end of the log.
        if (offset < 0) {
          p->reset_timestamp = latest_timestamp;
          p->retry_at = {};
          continue;
        }
        positions_.set_position(*p, offset, epoch);
        continue;
      }
      if (protocol::is_retriable(part_ec) || is_leadership_error(part_ec) ||
          part_ec.category() == client_category()) {
        cluster_->request_refresh();
        p->retry_at = clock::now() + backoff(1);
        continue;
      }
      diagnostics diag;
      diag.broker_id = node;
      diag.api_key = protocol::ListOffsetsRequest::api_key;
      positions_.fail_partition(*p, part_ec, diag);
    }
    drive();
  }

  // ------------------------------------------------------------ fetching

  // The responses whose records wait for poll, each once (its chunks sit next to each other
  // in positions_.ready()): their bytes, and how many each broker sent. Paused partitions' are
  // left out, so that they do not stop the others. One pass: it runs on every drive.
  struct waiting_responses {
    std::size_t bytes = 0;
    std::map<std::int32_t, std::size_t> by_node;
  };
  waiting_responses count_waiting_responses() {
    waiting_responses out;
    const fetched_buffers* counted = nullptr;
    for (const auto& c : positions_.ready()) {
      if (c.chunk.owner.get() == counted) continue;
      const auto* p = positions_.find(c.chunk);
      if (!p || p->paused || p->seek_generation != c.seek_generation) continue;
      counted = c.chunk.owner.get();
      out.bytes += counted->memory();
      ++out.by_node[counted->node];
    }
    return out;
  }

  // Nothing is fetched while the waiting responses hold fetch.max.bytes, nor from a broker
  // while two of its responses wait (limits for all partitions at once: see the top of this
  // file), so that memory stays near two responses a broker plus the one in flight.
  void drive_fetches(clock::time_point now, clock::time_point& next_wakeup) {
    const auto waiting = count_waiting_responses();
    if (waiting.bytes >= static_cast<std::size_t>(config_.fetch_max_bytes)) return;
    std::map<std::int32_t, fetch_partition_map> by_node;
    for (auto& [tp, p] : positions_.partitions()) {
      if (p.phase != partition_phase::fetching || p.paused || p.revoking) continue;
      if (p.retry_at > now) {
        next_wakeup = std::min(next_wakeup, p.retry_at);
        continue;
      }
      std::int32_t epoch = -1;
      const auto node = fetch_node(p, now, epoch);
      if (node < 0) continue;
      fetch_partition_params params;
      params.fetch_offset = p.fetch_offset;
      params.current_leader_epoch = epoch;
      params.last_fetched_epoch = p.last_fetched_epoch;
      params.max_bytes = config_.max_partition_fetch_bytes;
      by_node[node].emplace(tp, params);
    }
    // Brokers whose session holds partitions we no longer want from them (unassigned, or
    // moved between leader and preferred replica) get a request too, so that they forget
    // them (and stop answering for them).
    for (auto& [node, nf] : node_fetches_)
      if (!by_node.contains(node) && nf.session.session_id() != 0) by_node[node];
    for (auto& [node, wanted] : by_node) {
      auto& nf = node_fetches_[node];
      const auto from_node = waiting.by_node.find(node);
      const std::size_t node_waiting =
          (from_node == waiting.by_node.end() ? 0 : from_node->second) + (nf.checking ? 1 : 0);
      if (nf.in_flight || node_waiting >= kMaxWaitingResponses) continue;
      if (nf.retry_at > now) {
        next_wakeup = std::min(next_wakeup, nf.retry_at);
        continue;
      }
      if (wanted.empty() && nf.session.session_id() == 0) continue;
      auto conn = cluster_->ready_connection(node);
      if (!conn) continue;
      send_fetch(node, nf, *conn, wanted);
    }
  }

  void send_fetch(std::int32_t node, node_fetch& nf, connection& conn,
                  const fetch_partition_map& wanted) {
    auto version = conn.version_for(protocol::FetchRequest::api_key);
    if (!version) {
      for (const auto& [tp, params] : wanted)
        if (auto* p = positions_.find(tp))
          positions_.fail_partition(*p, make_error_code(errc::broker_too_old), {});
      return;
    }
    // Fetch v13+ names topics by id: stay below it while some topic's id is unknown.
    for (const auto& [tp, params] : wanted) {
      const auto* t = cluster_->metadata().topic(tp.topic);
      if (*version >= 13 && (!t || t->topic_id.is_zero())) version = std::int16_t{12};
    }
    nf.session.set_use_sessions(*version >= 7);
    auto plan = nf.session.plan(wanted);
    // An incremental request naming nothing still fetches the session's partitions; with
    // nothing wanted and nothing to forget there is nothing to ask for.
    if (wanted.empty() && plan.to_forget.empty()) return;
    if (plan.full && plan.to_send.empty()) {
      nf.session.reset();
      return;
    }
    protocol::FetchRequest request;
    request.replica_id = -1;
    request.max_wait_ms = static_cast<std::int32_t>(config_.fetch_max_wait.count());
    request.min_bytes = config_.fetch_min_bytes;
    request.max_bytes = config_.fetch_max_bytes;
    request.isolation_level = config_.isolation == isolation_level::read_committed ? 1 : 0;
    request.session_id = plan.session_id;
    request.session_epoch = plan.session_epoch;
    request.rack_id = config_.client_rack.value_or("");
    const bool by_id = *version >= 13;
    for (const auto& [tp, params] : plan.to_send) {
      if (request.topics.empty() || request.topics.back().topic != tp.topic) {
        auto& t = request.topics.emplace_back();
        t.topic = tp.topic;  // kept for grouping; cleared below for v13+
        if (by_id) t.topic_id = cluster_->metadata().topic(tp.topic)->topic_id;
      }
      auto& part = request.topics.back().partitions.emplace_back();
      part.partition = tp.partition;
      part.current_leader_epoch = params.current_leader_epoch;
      part.fetch_offset = params.fetch_offset;
      part.last_fetched_epoch = params.last_fetched_epoch;
      part.log_start_offset = params.log_start_offset;
      part.partition_max_bytes = params.max_bytes;
    }
    for (const auto& tp : plan.to_forget) {
      if (request.forgotten_topics_data.empty() ||
          request.forgotten_topics_data.back().topic != tp.topic) {
        auto& t = request.forgotten_topics_data.emplace_back();
        t.topic = tp.topic;
        if (by_id) {
          const auto* meta = cluster_->metadata().topic(tp.topic);
          if (meta) t.topic_id = meta->topic_id;
        }
      }
      request.forgotten_topics_data.back().partitions.push_back(tp.partition);
    }
    if (by_id) {
      for (auto& t : request.topics) t.topic.clear();
      for (auto& t : request.forgotten_topics_data) t.topic.clear();
    }
    // What the broker will fetch from: the plan's partitions, and the session's others.
    std::map<topic_partition, std::pair<std::int64_t, std::uint64_t>> expected;
    for (const auto& [tp, params] : wanted)
      if (auto* p = positions_.find(tp)) expected[tp] = {params.fetch_offset, p->seek_generation};
    nf.in_flight = true;
    conn.send(request, *version,
              [self = shared_from_this(), node, plan = std::move(plan),
               expected = std::move(expected)](std::error_code ec, response_frame frame) mutable {
                self->handle_fetch(node, plan, expected, ec, std::move(frame));
              });
  }

  void handle_fetch(
      std::int32_t node, const fetch_plan& plan,
      const std::map<topic_partition, std::pair<std::int64_t, std::uint64_t>>& expected,
      std::error_code ec, response_frame frame) {
    if (closed_) return;
    auto& nf = node_fetches_[node];
    nf.in_flight = false;
    diagnostics diag;
    diag.broker_id = node;
    diag.api_key = protocol::FetchRequest::api_key;
    diag.api_version = frame.api_version;
    protocol::FetchResponse response;
    if (!ec) ec = response.decode(frame.body, frame.api_version);
    if (!ec) ec = protocol::broker_error_code(response.error_code);
    if (ec) {
      nf.session.reset();
      nf.retry_at = clock::now() + backoff(1);
      if (!is(ec, broker_error::fetch_session_id_not_found) &&
          !is(ec, broker_error::invalid_fetch_session_epoch)) {
        cluster_->request_refresh();
        forget_preferred_replica(node);
      } else {
        nf.retry_at = {};
      }
      return drive();
    }
    nf.session.on_success(plan, response.session_id);
    auto owner = std::make_shared<fetched_buffers>();
    owner->pool = decode_pool_;
    owner->node = node;
    // The records fields point into the payload; moving the vector keeps its buffer.
    owner->payload = std::move(frame.payload);
    struct accepted {
      assigned_partition* p;
      const protocol::FetchResponse::PartitionData* pd;
      std::int64_t from;  // the offset this fetch asked for
      bool slot = false;  // fetch_offset moved past the batch headers ahead of the checks
    };
    std::vector<accepted> parts;
    for (const auto& t : response.responses) {
      const std::string_view topic = topic_named(cluster_->metadata(), t.topic, t.topic_id);
      for (const auto& pd : t.partitions) {
        topic_partition tp{std::string(topic), pd.partition_index};
        auto* p = positions_.find(tp);
        auto exp = expected.find(tp);
        if (!p || exp == expected.end() || p->phase != partition_phase::fetching ||
            p->seek_generation != exp->second.second || p->fetch_offset != exp->second.first)
          continue;  // stale: the partition was reassigned, sought or reset meanwhile
        parts.push_back({p, &pd, p->fetch_offset});
      }
    }
    // First the batch headers only, to send the next fetch before the expensive checks
    // (CRC, decompression, records): the broker serves it while this thread checks.
    for (auto& a : parts) {
      if (a.pd->error_code != 0 || a.pd->diverging_epoch.epoch >= 0 || !a.pd->records) continue;
      const auto next = next_offset_after(a.pd->records->span(), a.from);
      if (next <= a.from) continue;
      a.p->fetch_offset = next;
      a.slot = true;
    }
    if (std::ranges::any_of(parts, [](const accepted& a) { return a.slot; })) {
      auto ignored = clock::time_point::max();
      nf.checking = true;
      drive_fetches(clock::now(), ignored);
      nf.checking = false;
    }
    for (auto& a : parts) {
      if (a.slot) a.p->fetch_offset = a.from;
      if (a.p->phase != partition_phase::fetching) continue;
      handle_partition_data(*a.p, *a.pd, owner, diag, a.slot);
    }
    drive();  // sends what is fetchable now, then completes a waiting poll
  }

  // The offset after the last whole batch at or past `from`, read from the batch headers
  // alone (no CRC check, no decompression); `from` when there is none.
  static std::int64_t next_offset_after(std::span<const std::uint8_t> records, std::int64_t from) {
    std::int64_t next = from;
    protocol::record_batch_header h;
    for (std::size_t pos = 0; pos + protocol::record_batch_header_size <= records.size();) {
      if (protocol::parse_record_batch_header(records.subspan(pos), h) || h.batch_length <= 0)
        break;
      const std::size_t size = h.size_in_bytes();
      if (size > records.size() - pos) break;  // the cut-off tail of the response
      if (h.last_offset() >= next) next = h.next_offset();
      pos += size;
    }
    return next;
  }

  // One partition of a Fetch response: its errors, a diverging epoch, a preferred replica,
  // then its records, every batch checked (check_batches) before any can reach poll.
  // `prefetched`: the next fetch of this partition already went out from where the batch
  // headers end (the checks here must then find the same end, or the partition fails).
  void handle_partition_data(assigned_partition& p,
                             const protocol::FetchResponse::PartitionData& pd,
                             const std::shared_ptr<fetched_buffers>& owner, diagnostics diag,
                             bool prefetched = false) {
    diag.topic = p.tp.topic;
    diag.partition = p.tp.partition;
    const auto ec = protocol::broker_error_code(pd.error_code);
    if (pd.high_watermark >= 0) p.marks.high_watermark = pd.high_watermark;
    if (pd.last_stable_offset >= 0) p.marks.last_stable_offset = pd.last_stable_offset;
    if (pd.log_start_offset >= 0) p.marks.log_start_offset = pd.log_start_offset;
    positions_.publish(p);
    if (ec) {
      if (is(ec, broker_error::offset_out_of_range)) {
        if (p.preferred_replica >= 0) {
          // As Java: a follower's log may lag the leader's (or start later); only the
          // leader's answer can tell that the position is out of range. Ask it next.
          p.preferred_replica = -1;
          return;
        }
        diag.server_message = "offset " + std::to_string(p.fetch_offset) + " is out of range";
        positions_.reset_by_policy(p, ec, diag);
      } else if (is_leadership_error(ec) || protocol::is_retriable(ec)) {
        p.preferred_replica = -1;  // NOT_LEADER_OR_FOLLOWER and the like: back to the leader
        cluster_->request_refresh();
        p.retry_at = clock::now() + backoff(1);
      } else {
        diag.server_message = "fetching offset " + std::to_string(p.fetch_offset);
        positions_.fail_partition(p, ec, diag);
      }
      return;
    }
    // KIP-320: the leader's log diverged from what we fetched (truncation after an unclean
    // leader change): continue from the end of the last common epoch.
    if (pd.diverging_epoch.epoch >= 0 && pd.diverging_epoch.end_offset >= 0 &&
        pd.diverging_epoch.end_offset < p.fetch_offset) {
      if (config_.auto_offset_reset == offset_reset::none) {
        diag.server_message = "log truncated below offset " + std::to_string(p.fetch_offset) +
                              " (epoch " + std::to_string(pd.diverging_epoch.epoch) + " ends at " +
                              std::to_string(pd.diverging_epoch.end_offset) + ")";
        positions_.fail_partition(p, make_error_code(broker_error::offset_out_of_range), diag);
      } else {
        positions_.set_position(p, std::min(p.position, pd.diverging_epoch.end_offset),
                     pd.diverging_epoch.epoch);
      }
      return;
    }
    if (pd.preferred_read_replica >= 0 && pd.preferred_read_replica != p.preferred_replica) {
      // The leader names a replica (closer to client.rack) and sends no records: fetch from
      // there until the lease ends. Naming the same one again does not renew it (as Java).
      const auto now = clock::now();
      const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
          clock::time_point::max() - now);  // metadata.max.age.ms may be near int64 max
      p.preferred_replica = pd.preferred_read_replica;
      p.preferred_until = config_.metadata_max_age < room ? now + config_.metadata_max_age
                                                          : clock::time_point::max();
    }
    if (!pd.records || pd.records->empty()) return;
    const std::int64_t first = p.fetch_offset;
    auto checked = check_batches(pd.records->span(), first, *owner, config_.check_crcs);
    auto& ready = checked.ready;
    if (!ready.chunk.batches.empty()) {
      if (p.fetched_from != diag.broker_id) {
        p.fetched_from = diag.broker_id;
        positions_.publish(p);
      }
      ready.chunk.topic = p.topic;
      ready.chunk.partition = p.tp.partition;
      ready.chunk.owner = owner;
      ready.seek_generation = p.seek_generation;
      p.fetch_offset = ready.next_offset;
      if (ready.last_epoch >= 0) p.last_fetched_epoch = ready.last_epoch;
      positions_.add_ready(p, std::move(ready));
    }
    if (checked.error) {
      // Records before the bad batch still reach the application; then poll reports the
      // error with the offset, and the position stays there until a seek.
      diag.server_message = std::move(checked.where) + " (" + checked.error.message() + ")";
      positions_.fail_partition(p, checked.error, diag, /*drop_buffered=*/false);
    } else if (prefetched && p.fetch_offset != next_offset_after(pd.records->span(), first)) {
      // Cannot happen with a well-formed response: the headers said more than the checks
      // accepted, so the fetch already sent starts past what was delivered.
      diag.server_message =
          "record batches after offset " + std::to_string(first) + " end before their headers say";
      positions_.fail_partition(p, make_error_code(protocol::errc::invalid_record), diag,
                     /*drop_buffered=*/false);
    }
  }

  // ------------------------------------------------------------ handing records out

  bool try_complete_poll() {
    if (!poll_handler_) return false;
    auto handed = positions_.hand_out(static_cast<std::size_t>(config_.max_poll_records));
    record_set set;
    set.chunks_ = std::move(handed.chunks);
    set.record_count_ = handed.records;
    set.record_bytes_ = handed.bytes;
    if (set.empty()) {
      // Nothing to hand out: an error reported now, with the position at the failure.
      if (auto error = positions_.take_failure()) {
        auto handler = std::move(poll_handler_);
        poll_handler_ = nullptr;
        poll_timer_.cancel();
        handler(error, record_set{});
        return true;
      }
      return false;
    }
    auto handler = std::move(poll_handler_);
    poll_handler_ = nullptr;
    poll_timer_.cancel();
    handler({}, std::move(set));
    drive();  // fetching resumes once the waiting responses hold less than fetch.max.bytes
    return true;
  }

  void fail_poll(std::error_code ec) {
    if (!poll_handler_) return;
    auto handler = std::move(poll_handler_);
    poll_handler_ = nullptr;
    poll_timer_.cancel();
    handler(ec, record_set{});
  }

  // ------------------------------------------------------------ group membership

  // Exactly these partitions from now on: new ones look up their position, others go.
  void set_assignment(const std::set<topic_partition>& wanted) {
    for (const auto& tp : positions_.set_assignment(wanted)) cluster_->want_topic(tp.topic);
  }

  void start_group() {
    std::weak_ptr<consumer_impl> weak = shared_from_this();
    group_driver_hooks hooks;
    hooks.release = [weak](std::vector<topic_partition> partitions, bool lost) {
      if (auto s = weak.lock()) s->release_partitions(std::move(partitions), lost);
    };
    hooks.assigned = [weak](std::vector<topic_partition> added,
                            std::vector<topic_partition> assignment) {
      auto s = weak.lock();
      if (!s) return;
      s->set_assignment(std::set<topic_partition>(assignment.begin(), assignment.end()));
      if (s->listener_.on_assigned) s->listener_.on_assigned(added, assignment);
    };
    hooks.failed = [weak](std::error_code ec, std::string message) {
      auto s = weak.lock();
      if (!s) return;
      s->group_error_ = ec;
      diagnostics details;
      details.server_message = "group " + *s->config_.group_id + ": " + message;
      s->positions_.set_last_error_details(std::move(details));
      s->fail_poll(ec);
    };
    hooks.closed = [weak] {
      if (auto s = weak.lock()) s->finish_close();
    };
    hooks.wake = [weak] {
      if (auto s = weak.lock()) s->drive();
    };
    // JoinGroup waits for the rebalance (max.poll.interval.ms), plus a margin as Java's.
    group_ = std::make_unique<group_driver>(cluster_, make_group_member(config_), std::move(hooks),
                                            config_.request_timeout,
                                            config_.max_poll_interval + std::chrono::seconds(5));
    offsets_.set_group(group_.get());
  }

  // The member gives up `partitions`: they stop fetching at once; revoked ones get their
  // positions committed (enable.auto.commit) before the listener hears; then they leave.
  void release_partitions(std::vector<topic_partition> partitions, bool lost) {
    for (const auto& tp : partitions) {
      if (auto* p = positions_.find(tp)) {
        positions_.invalidate_fetched(*p);
        p->revoking = true;
      }
    }
    auto after_commit = [weak = weak_from_this(), partitions, lost]() mutable {
      auto s = weak.lock();
      if (!s || s->closed_) return;
      auto& callback = lost ? s->listener_.on_lost : s->listener_.on_revoked;
      rebalance_listener::done_function done = [weak, partitions]() {
        // Runs on the strand later, so the listener may call done from anywhere.
        auto s = weak.lock();
        if (!s) return;
        asio::post(s->strand_, [s, partitions] { s->finish_release(partitions); });
      };
      if (callback)
        callback(partitions, std::move(done));
      else
        done();
    };
    topic_partition_offsets offsets;
    if (!lost && config_.enable_auto_commit) {
      for (const auto& tp : partitions)
        if (auto* p = positions_.find(tp))
          if (auto consumed = positions_.consumed_position(*p, closing_))
            offsets[tp] = std::move(*consumed);
    }
    if (offsets.empty()) return after_commit();
    offsets_.commit(
        std::move(offsets),
        [after_commit = std::move(after_commit)](std::error_code) mutable {
          after_commit();  // a failed commit does not stop the rebalance
        },
        clock::now() + std::min(config_.default_api_timeout, config_.max_poll_interval));
  }

  void finish_release(const std::vector<topic_partition>& partitions) {
    if (closed_ || !group_) return;
    for (const auto& tp : partitions) {
      if (auto* p = positions_.find(tp); p && p->revoking) {
        positions_.invalidate_fetched(*p);
        positions_.erase(tp);
      }
    }
    group_->release_done(clock::now());
    drive();
  }

  void finish_close() {
    if (!close_done_) return;
    auto done = std::move(close_done_);
    close_done_ = nullptr;
    done();
  }

  enum class assignment_mode : std::uint8_t { none, manual, group };

  consumer_config config_;
  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<cluster> cluster_;
  consumer_positions positions_{config_};
  consumer_offsets offsets_{config_, *cluster_, positions_, *this, strand_};
  std::map<std::int32_t, node_fetch> node_fetches_;
  std::shared_ptr<decode_block_pool> decode_pool_ =
      std::make_shared<decode_block_pool>(static_cast<std::size_t>(config_.fetch_max_bytes));
  consumer::poll_handler poll_handler_;
  asio::steady_timer poll_timer_;
  asio::steady_timer wake_timer_;
  bool wake_armed_ = false;
  clock::time_point wake_at_{};
  asio::steady_timer close_timer_;  // bounds a group member's close
  unique_function<void()> close_done_;
  std::atomic<assignment_mode> mode_{assignment_mode::none};  // set by assign/subscribe callers
  std::unique_ptr<group_driver> group_;                       // after subscribe()
  rebalance_listener listener_;
  std::optional<std::regex> pattern_;  // subscribe_pattern()
  std::uint64_t pattern_metadata_version_ = 0;
  std::optional<std::vector<std::string>> pattern_topics_;  // the subscription it gave
  std::error_code group_error_;  // the membership failed: every poll reports it
  bool closing_ = false;
  bool closed_ = false;
  std::minstd_rand random_;
};

}  // namespace detail

// ---------------------------------------------------------------- record_set

bool record_set::cursor::open_batch() {
  while (chunk_ < set_->chunks_.size()) {
    const auto& chunk = set_->chunks_[chunk_];
    if (batch_ < chunk.batches.size()) {
      const auto& batch = chunk.batches[batch_];
      if (batch.header().is_control()) {
        ++batch_;
        continue;
      }
      records_ = batch_ == 0 && chunk.resume ? *chunk.resume : batch.records();
      ++batch_;
      leader_epoch_ = batch.header().partition_leader_epoch;
      timestamp_type_ = batch.header().timestamp_kind();
      in_batch_ = true;
      return true;
    }
    ++chunk_;
    batch_ = 0;
  }
  return false;
}

bool record_set::cursor::next(consumer_record& out) {
  protocol::record_view r;
  for (;;) {
    if (!in_batch_ && !open_batch()) return false;
    if (!records_.next(r)) {
      in_batch_ = false;
      continue;
    }
    const auto& chunk = set_->chunks_[chunk_];
    if (r.offset < chunk.first_offset) continue;
    if (r.offset >= chunk.end_offset) {  // the rest is the next poll's
      in_batch_ = false;
      ++chunk_;
      batch_ = 0;
      continue;
    }
    out.topic = *chunk.topic;
    out.partition = chunk.partition;
    out.offset = r.offset;
    out.timestamp = r.timestamp;
    out.timestamp_type = timestamp_type_;
    out.leader_epoch = leader_epoch_;
    out.key = r.key;
    out.value = r.value;
    out.headers = r.headers;
    return true;
  }
}

// ---------------------------------------------------------------- consumer

consumer::consumer(asio::any_io_executor executor, consumer_config config)
    : impl_(std::make_shared<detail::consumer_impl>(std::move(executor), std::move(config))) {
  impl_->start();
}

consumer::~consumer() {
  if (impl_) impl_->close(nullptr);
}

std::error_code consumer::assign(std::vector<topic_partition> partitions) {
  return impl_->assign(std::move(partitions));
}
std::error_code consumer::subscribe(std::vector<std::string> topics, rebalance_listener listener) {
  return impl_->subscribe(std::move(topics), std::move(listener));
}

std::error_code consumer::subscribe_pattern(std::string_view regex, rebalance_listener listener) {
  return impl_->subscribe_pattern(regex, std::move(listener));
}
std::vector<topic_partition> consumer::assignment() const { return impl_->assignment(); }
void consumer::seek(const topic_partition& partition, std::int64_t offset) {
  impl_->seek(partition, offset);
}
void consumer::seek_to_beginning(const std::vector<topic_partition>& partitions) {
  impl_->seek_to_beginning(partitions);
}
void consumer::seek_to_end(const std::vector<topic_partition>& partitions) {
  impl_->seek_to_end(partitions);
}
void consumer::seek_to_timestamp(const std::vector<topic_partition>& partitions,
                                 std::int64_t timestamp_ms) {
  impl_->seek_to_timestamp(partitions, timestamp_ms);
}
void consumer::pause(const std::vector<topic_partition>& partitions) {
  impl_->set_paused(partitions, true);
}
void consumer::resume(const std::vector<topic_partition>& partitions) {
  impl_->set_paused(partitions, false);
}
std::optional<std::int64_t> consumer::position(const topic_partition& partition) const {
  return impl_->position(partition);
}
std::optional<partition_watermarks> consumer::watermarks(const topic_partition& partition) const {
  return impl_->watermarks(partition);
}
std::optional<std::int32_t> consumer::fetched_from(const topic_partition& partition) const {
  return impl_->fetched_from(partition);
}
diagnostics consumer::last_error_details() const { return impl_->last_error_details(); }
const consumer_config& consumer::config() const noexcept { return impl_->config(); }

void consumer::start_poll(std::chrono::milliseconds timeout, poll_handler handler) {
  impl_->poll(timeout, std::move(handler));
}
void consumer::start_commit(std::optional<topic_partition_offsets> offsets,
                            commit_handler handler) {
  impl_->commit(std::move(offsets), std::move(handler));
}
void consumer::start_committed(std::vector<topic_partition> partitions, committed_handler handler) {
  impl_->committed(std::move(partitions), std::move(handler));
}
void consumer::start_close(detail::unique_function<void()> done) { impl_->close(std::move(done)); }

}  // namespace kwire::client
