// The consumer (consumer.hpp): the public API, and the driver that ties its parts together.
// Everything below runs on the consumer's strand, but the queries.
//
//   consumer_positions  the assigned partitions: positions, seeks and resets, pause, the
//                       records waiting for poll and their hand-out;
//   consumer_fetcher    Fetch sessions per broker, preferred read replicas, batch checks;
//   consumer_resets     ListOffsets for the partitions waiting for an offset reset;
//   consumer_offsets    the group coordinator: commits, committed offsets, auto commit;
//   here                assign/subscribe (the group member and its rebalance listener),
//                       poll, close, and drive(), which starts whatever can start after a
//                       change.
#include "kwire/client/consumer.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <mutex>
#include <random>
#include <regex>
#include <set>

#include "consumer/consumer_driver.hpp"
#include "consumer/consumer_fetcher.hpp"
#include "consumer/consumer_offsets.hpp"
#include "consumer/consumer_positions.hpp"
#include "consumer/consumer_resets.hpp"
#include "core/backoff.hpp"
#include "core/observer.hpp"
#include "group/group_driver.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client {
namespace detail {

namespace {

using clock = std::chrono::steady_clock;
using protocol::broker_error;

cluster_options consumer_cluster_options(const consumer_config& config) {
  cluster_options options = cluster_options_for(config, "consumer");
  // A fetch response may carry fetch.max.bytes plus one oversized first batch.
  options.connection.max_response_size =
      std::max<std::size_t>(protocol::default_max_frame_size,
                            static_cast<std::size_t>(config.fetch_max_bytes) + (16u << 20));
  options.allow_auto_topic_creation = config.allow_auto_create_topics;
  return options;
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
  // The member's identity for offsets committed in a transaction (KIP-447), as the last
  // drive on the strand saw it; any thread.
  consumer_group_metadata group_metadata() const {
    std::lock_guard lock(group_metadata_mutex_);
    auto out = group_metadata_;
    if (config_.group_id) out.group_id = *config_.group_id;
    return out;
  }

  client_metrics_snapshot metrics() const {
    const auto* o = cluster_->observer();
    return o->counters().snapshot(o->kind(), o->client_id());
  }

  // ------------------------------------------------------------ poll

  void poll(std::chrono::milliseconds timeout, consumer::poll_handler handler,
            asio::cancellation_slot slot) {
    const std::uint64_t id = next_poll_id_.fetch_add(1, std::memory_order_relaxed);
    if (slot.is_connected()) {
      // Runs where the signal is emitted: only posts. Any type of cancellation is fine: a
      // poll has no effect until it completes.
      slot.assign([weak = weak_from_this(), id](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto self = weak.lock())
          self->post([self, id] {
            if (self->poll_handler_ && self->poll_id_ == id)
              self->fail_poll(std::make_error_code(std::errc::operation_canceled));
          });
      });
    }
    post([self = shared_from_this(), timeout, id, h = std::move(handler)]() mutable {
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
      self->poll_id_ = id;
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
        self->begin_bounded_close(std::move(finish));
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
      if (self->config_.group_id && self->offsets_.has_pending_commits()) {
        // Commits asked for before the close (async_commit) still go out and are answered,
        // within default.api.timeout.ms (at most 30 s), as the Java client's close waits for
        // its pending async commits; drive() finishes the close once they are done.
        self->begin_bounded_close(std::move(finish));
        return self->drive();
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
  void run_off_strand(unique_function<void()> work, unique_function<void()> done) override {
    asio::post(strand_.get_inner_executor(),
               [self = shared_from_this(), w = std::move(work), d = std::move(done)]() mutable {
                 w();
                 asio::post(self->strand_, std::move(d));
               });
  }
  bool closing() const noexcept override { return closing_; }
  bool closed() const noexcept override { return closed_; }

  void publish_group_metadata() {
    const auto fence = group_->commit_fence();
    std::lock_guard lock(group_metadata_mutex_);
    if (!fence) {
      group_metadata_.generation_id = -1;  // between generations: commits would be refused
      return;
    }
    if (group_metadata_.generation_id == fence->generation_or_epoch &&
        group_metadata_.member_id == fence->member_id)
      return;
    group_metadata_.generation_id = fence->generation_or_epoch;
    group_metadata_.member_id = fence->member_id;
    group_metadata_.group_instance_id = fence->group_instance_id;
  }

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
      publish_group_metadata();
    }
    if (config_.group_id) offsets_.drive(now, next_wakeup);
    resets_.drive(now, next_wakeup);
    fetcher_.drive(now, next_wakeup);
    if (next_wakeup != clock::time_point::max()) arm_wake(next_wakeup);
    if (poll_handler_) try_complete_poll();
    if (closing_ && !group_ && close_done_ && !offsets_.has_pending_commits()) finish_close();
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
    fetcher_.on_connection_lost(node);
    offsets_.on_connection_lost(node);
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

  // A close that waits for something (the group's goodbye, pending commits): `finish` runs
  // from finish_close(), when that is done or default.api.timeout.ms (at most 30 s) passed.
  void begin_bounded_close(unique_function<void()> finish) {
    closing_ = true;
    close_done_ = std::move(finish);
    fail_poll(make_error_code(errc::shut_down));
    close_timer_.expires_after(
        std::min(config_.default_api_timeout, std::chrono::milliseconds(30000)));
    close_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!s || ec) return;
      s->finish_close();
    });
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
  consumer_resets resets_{config_, *cluster_, positions_, *this};
  consumer_fetcher fetcher_{config_, *cluster_, positions_, *this};
  consumer::poll_handler poll_handler_;
  std::uint64_t poll_id_ = 0;  // the waiting poll's, so that a late cancellation finds none
  std::atomic<std::uint64_t> next_poll_id_{1};
  asio::steady_timer poll_timer_;
  asio::steady_timer wake_timer_;
  bool wake_armed_ = false;
  clock::time_point wake_at_{};
  asio::steady_timer close_timer_;  // bounds a group member's close
  unique_function<void()> close_done_;
  std::atomic<assignment_mode> mode_{assignment_mode::none};  // set by assign/subscribe callers
  std::unique_ptr<group_driver> group_;                       // after subscribe()
  mutable std::mutex group_metadata_mutex_;
  consumer_group_metadata group_metadata_;  // group_metadata(): generation and member id
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
client_metrics_snapshot consumer::metrics() const { return impl_->metrics(); }
consumer_group_metadata consumer::group_metadata() const { return impl_->group_metadata(); }
const consumer_config& consumer::config() const noexcept { return impl_->config(); }

void consumer::start_poll(std::chrono::milliseconds timeout, poll_handler handler,
                          asio::cancellation_slot slot) {
  impl_->poll(timeout, std::move(handler), slot);
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
