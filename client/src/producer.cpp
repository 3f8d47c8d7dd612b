// The producer: the accumulator (send() from any thread, under one mutex) and the sender (on
// the strand: drains ready batches per broker into Produce requests, handles responses,
// retries in sequence order, idempotence).
//
// Lock rule: mutex_ guards every topic/partition/batch queue, the memory count and the pool.
// Batches taken out of a queue for sending ("in flight") are touched by the strand only.
// Callbacks run on the strand with mutex_ released.
#include "kwire/client/producer.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>

#include "kwire/client/cluster.hpp"
#include "kwire/client/detail/backoff.hpp"
#include "kwire/client/detail/millisecond_clock.hpp"
#include "kwire/protocol/messages.hpp"
#include "producer_identity.hpp"

namespace kwire::client {
// Everything here but producer_impl (which producer.hpp names) is private to this file.
namespace {

using clock = std::chrono::steady_clock;
using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

// Errors after which the partition's leader may have moved: refresh metadata before retrying.
bool suggests_stale_metadata(std::error_code ec) {
  return is(ec, broker_error::not_leader_or_follower) ||
         is(ec, broker_error::unknown_topic_or_partition) ||
         is(ec, broker_error::leader_not_available) || is(ec, broker_error::fenced_leader_epoch) ||
         is(ec, broker_error::kafka_storage_error) || ec.category() == client_category();
}

// The last error seen on a record's way to the broker: why it may not arrive in time.
struct error_on_the_way {
  std::error_code ec;
  std::string context;  // where: "connection to broker 1 (127.0.0.1:9092)", ...
};

// "broker 1 (host:port)", or "bootstrap server host:port" for the ids a cluster gives those.
std::string describe_node(std::int32_t node_id, const std::string& address) {
  if (node_id < 0) return "bootstrap server " + address;
  std::string out = "broker " + std::to_string(node_id);
  if (!address.empty()) out += " (" + address + ")";
  return out;
}

struct topic_state;

struct batch {
  topic_state* topic = nullptr;
  std::int32_t partition = -1;
  protocol::record_batch_builder builder;
  std::vector<delivery_callback> callbacks;
  std::vector<std::int64_t> timestamps;
  clock::time_point created{};
  std::uint64_t generation = 0;  // flush generation at creation
  std::int64_t reserved = 0;     // bytes counted against buffer.memory
  int attempts = 0;
  clock::time_point retry_at{};
  std::int32_t base_sequence = -1;  // -1: not assigned (assigned at the first drain)
  std::int16_t sent_epoch = -1;     // the producer epoch of the last attempt
  bool full = false;                // a record did not fit: send without waiting for linger
  bool sealed = false;              // drained once: never appended to again, even when retried
  error_on_the_way last_error;      // of the last attempt that will be retried
};

struct partition_state {
  std::deque<batch*> queue;               // oldest first; the back is open for appends unless full
  std::int32_t in_flight = 0;             // batches in Produce requests (strand)
  detail::partition_sequences sequences;  // (strand)
  std::int32_t leader = -1;
};

// A record that arrived before its topic's metadata: kept in its encoded form until the
// partition count is known.
struct pending_record {
  topic_state* topic = nullptr;
  std::size_t offset = 0;     // into topic_state::pending_bytes
  std::int64_t reserved = 0;  // bytes of buffer.memory; 0 once released
  std::int32_t partition = -1;
  std::int64_t timestamp = 0;
  clock::time_point created{};
  std::uint64_t generation = 0;
  delivery_callback callback;
};

struct topic_state {
  explicit topic_state(std::string n, std::int32_t batch_size)
      : name(std::move(n)),
        sticky(batch_size),
        batch_target(static_cast<std::size_t>(batch_size)) {}
  std::string name;
  protocol::uuid topic_id{};
  std::int32_t partition_count = -1;  // -1: no metadata yet
  std::error_code error;              // last topic-level error from metadata
  std::vector<partition_state> partitions;
  std::vector<std::int32_t> with_leader;
  sticky_partition_state sticky;
  // batch.size counts compressed bytes (as in Java): batches are filled up to batch.size
  // divided by the topic's observed compression ratio, in uncompressed bytes.
  std::size_t batch_target;
  double compression_ratio = 1.0;
  // Set when the broker refused a batch as too large: batches stay below it from then on.
  std::size_t split_limit = std::numeric_limits<std::size_t>::max();
  std::vector<std::uint8_t> pending_bytes;
  std::deque<pending_record> pending;
};

}  // namespace

namespace detail {

class producer_impl : public std::enable_shared_from_this<producer_impl> {
 public:
  producer_impl(asio::any_io_executor executor, producer_config config)
      : config_(std::move(config)),
        strand_(asio::make_strand(std::move(executor))),
        timer_(strand_),
        random_(std::random_device{}()),
        identity_(config_.enable_idempotence, config_.retry_backoff, config_.retry_backoff_max,
                  config_.transaction_timeout) {
    cluster_options options = cluster_options_for(config_);
    cluster_ = cluster::create(strand_, std::move(options));
    batch_options_.codec = config_.compression_type;
    if (config_.compression_type == protocol::compression::zstd)
      batch_options_.compression_level = config_.compression_zstd_level;
    else if (config_.compression_type == protocol::compression::lz4)
      batch_options_.compression_level = config_.compression_lz4_level;
    else if (config_.compression_type == protocol::compression::gzip &&
             config_.compression_gzip_level >= 0)
      batch_options_.compression_level = config_.compression_gzip_level;
  }

  void start() {
    auto self = shared_from_this();
    cluster_->on_metadata([weak = weak_from_this()](const cluster_metadata& m) {
      if (auto self = weak.lock()) self->on_metadata(m);
    });
    cluster_->on_connection([weak = weak_from_this()](std::int32_t node_id, std::error_code ec) {
      if (auto self = weak.lock()) {
        self->note_connection_result(node_id, ec);
        self->drain();
      }
    });
    asio::post(strand_, [self] { self->cluster_->start(); });
  }

  const producer_config& config() const noexcept { return config_; }
  std::int64_t buffered_bytes() const {
    std::lock_guard lock(mutex_);
    return memory_used_;
  }
  void set_partitioner(std::shared_ptr<partitioner> p) {
    std::lock_guard lock(mutex_);
    custom_partitioner_ = std::move(p);
  }

  // ---------------------------------------------------------------- accumulator

  std::error_code send(const producer_record& record, delivery_callback& callback) {
    // Sized once here, with deltas 0 as if first in its batch (its exact size depends on the
    // batch it lands in); the builder reuses fields_size when appending it.
    const std::size_t fields_size =
        protocol::encoded_record_fields_size(record.key, record.value, record.headers);
    const std::size_t record_size = protocol::encoded_record_size_for(0, 0, fields_size);
    if (record_size + protocol::record_batch_header_size >
        static_cast<std::size_t>(config_.max_request_size))
      return make_error_code(errc::record_too_large);
    const bool on_strand = strand_.running_in_this_thread();
    std::unique_lock lock(mutex_);
    if (closing_) return make_error_code(errc::shut_down);
    if (fatal_error_) [[unlikely]]
      return fatal_error_;
    const std::int64_t timestamp =
        record.timestamp >= 0 ? record.timestamp : create_time_clock_.now_ms();
    topic_state& topic = topic_locked(record.topic);
    if (topic.partition_count < 0) {
      return hold_pending_locked(lock, topic, record, timestamp, record_size, callback, !on_strand);
    }
    std::int32_t partition = record.partition;
    if (partition >= topic.partition_count) return make_error_code(errc::no_such_partition);
    bool sticky = false;
    if (partition < 0) {
      const topic_partitions parts{topic.partition_count, topic.with_leader};
      if (custom_partitioner_) {
        partition = custom_partitioner_->partition(topic.name, record.key, record.value, parts);
        if (partition < 0 || partition >= topic.partition_count)
          return make_error_code(errc::no_such_partition);
      } else {
        const auto choice = built_in_partition(record.key, config_.partitioner_ignore_keys,
                                               topic.sticky, parts, random_);
        partition = choice.partition;
        sticky = choice.sticky;
      }
    }
    auto ec =
        append_locked(lock, topic, partition, timestamp, record.key, record.value, record.headers,
                      fields_size, record_size, callback, !on_strand, std::nullopt, generation_);
    if (!ec && sticky) {
      const topic_partitions parts{topic.partition_count, topic.with_leader};
      topic.sticky.record_appended(partition, static_cast<std::int32_t>(record_size), parts,
                                   random_);
    }
    return ec;
  }

  // ---------------------------------------------------------------- flush and close

  void start_flush(unique_function<void()> done) {
    asio::post(strand_, [self = shared_from_this(), d = std::move(done)]() mutable {
      std::uint64_t target;
      {
        std::lock_guard lock(self->mutex_);
        target = self->generation_++;
      }
      self->flush_waiters_.push_back({target, std::move(d)});
      self->check_flush_waiters();
      self->drain();
    });
  }

  // Stops accepting records; delivers what it can within `timeout` (a flush), then fails the
  // rest and closes the connections; then `done`.
  void close_async(std::chrono::milliseconds timeout, unique_function<void()> done) {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      memory_freed_.notify_all();  // senders blocked on buffer.memory give up
    }
    asio::post(strand_, [self = shared_from_this(), timeout, d = std::move(done)]() mutable {
      struct close_state {
        unique_function<void()> done;
        std::unique_ptr<asio::steady_timer> timer;  // the timeout; cancelled when done early
        bool finished = false;
      };
      auto state = std::make_shared<close_state>(close_state{std::move(d), nullptr});
      auto finish = [self, state] {
        if (state->finished) return;
        state->finished = true;
        if (state->timer) state->timer->cancel();
        self->shut_down();
        if (state->done) state->done();
      };
      if (self->closed_) return finish();
      std::uint64_t target;
      {
        std::lock_guard lock(self->mutex_);
        target = self->generation_++;
      }
      self->flush_waiters_.push_back({target, finish});
      state->timer = std::make_unique<asio::steady_timer>(self->strand_, timeout);
      state->timer->async_wait([finish](boost::system::error_code ec) mutable {
        if (!ec) finish();
      });
      self->check_flush_waiters();
      self->drain();
    });
  }

  // Fails everything not yet delivered; closes the connections. Strand.
  void shut_down() {
    std::vector<std::pair<batch*, std::error_code>> failed;
    std::vector<pending_record> failed_pending;
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
      closed_ = true;
      for (auto& [name, topic] : topics_) {
        for (auto& p : topic->partitions) {
          for (auto* b : p.queue) failed.emplace_back(b, make_error_code(errc::shut_down));
          p.queue.clear();
        }
        for (auto& r : topic->pending) failed_pending.push_back(std::move(r));
        topic->pending.clear();
      }
    }
    for (auto& [b, ec] : failed) fail_batch(b, ec, {});
    for (auto& r : failed_pending) fail_pending(r, make_error_code(errc::shut_down));
    // In-flight batches complete with shut_down from the connections' close.
    timer_.cancel();
    cluster_->close();
    auto waiters = std::move(flush_waiters_);
    flush_waiters_.clear();
    for (auto& w : waiters) w.done();
    answer_partition_count_waiters(true);
  }

 private:
  struct flush_waiter {
    std::uint64_t generation;
    unique_function<void()> done;
  };

  topic_state& topic_locked(std::string_view name) {
    // Applications mostly send to the same topic again: skip the map's string compares then.
    // (Topics are never removed, so the pointer stays valid.) The names are compared even
    // when `name` points at the same chars as last time: the caller may have rewritten them.
    if (last_topic_ && last_topic_->name == name) [[likely]]
      return *last_topic_;
    return find_topic_locked(name);
  }

  // topic_locked() beyond its check of the last topic: out of line, so that the check is
  // inlined into send().
  [[gnu::noinline]] topic_state& find_topic_locked(std::string_view name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) {
      last_topic_ = it->second.get();
      return *last_topic_;
    }
    auto& t = topics_[std::string(name)];
    t = std::make_unique<topic_state>(std::string(name), config_.batch_size);
    last_topic_ = t.get();
    asio::post(strand_, [self = shared_from_this(), n = std::string(name)] {
      self->cluster_->want_topic(n);
    });
    return *t;
  }

  // Waits (off the strand) until `bytes` fit in buffer.memory, then counts them.
  std::error_code reserve_locked(std::unique_lock<std::mutex>& lock, std::int64_t bytes,
                                 bool may_block) {
    if (memory_used_ + bytes > config_.buffer_memory) {
      if (bytes > config_.buffer_memory) return make_error_code(errc::record_too_large);
      if (!may_block) return make_error_code(errc::buffer_exhausted);
      const auto deadline = clock::now() + config_.max_block;
      while (memory_used_ + bytes > config_.buffer_memory) {
        if (memory_freed_.wait_until(lock, deadline) == std::cv_status::timeout &&
            memory_used_ + bytes > config_.buffer_memory)
          return make_error_code(errc::buffer_exhausted);
        if (closing_) return make_error_code(errc::shut_down);
      }
    }
    memory_used_ += bytes;
    return {};
  }

  void release_locked(std::int64_t bytes) {
    memory_used_ -= bytes;
    memory_freed_.notify_all();
  }

  batch* new_batch_locked() {
    batch* b;
    if (!pool_.empty()) {
      b = pool_.back();
      pool_.pop_back();
      b->builder.reset(batch_options_);
    } else {
      owned_.push_back(std::make_unique<batch>());
      b = owned_.back().get();
      b->builder.reset(batch_options_);
    }
    b->callbacks.clear();
    b->timestamps.clear();
    b->attempts = 0;
    b->base_sequence = -1;
    b->full = false;
    b->sealed = false;
    b->last_error = {};
    return b;
  }

  std::error_code append_locked(
      std::unique_lock<std::mutex>& lock, topic_state& topic, std::int32_t partition,
      std::int64_t timestamp, const protocol::optional_bytes& key,
      const protocol::optional_bytes& value, std::span<const protocol::header_view> headers,
      std::size_t fields_size, std::size_t record_size, delivery_callback& callback, bool may_block,
      std::optional<clock::time_point> created, std::uint64_t generation) {
    auto* p = &topic.partitions[static_cast<std::size_t>(partition)];
    // A retried batch back in the queue is sealed: its bytes were sent and must not change.
    batch* open = p->queue.empty() || p->queue.back()->sealed ? nullptr : p->queue.back();
    bool wake_now = false;
    const std::size_t target = std::max<std::size_t>(topic.batch_target, 1);
    if (open && open->builder.size_in_bytes() + record_size > target) {
      if (open->builder.empty()) {
        // An empty batch can take one record of any size allowed by max.request.size.
      } else {
        open->full = true;
        open = nullptr;
        wake_now = true;
      }
    }
    if (!open) {
      const auto reserve = static_cast<std::int64_t>(
          std::max<std::size_t>(target, record_size + protocol::record_batch_header_size));
      if (auto ec = reserve_locked(lock, reserve, may_block)) return ec;
      if (closing_) {
        release_locked(reserve);
        return make_error_code(errc::shut_down);
      }
      // The wait above may have let other threads change the queue.
      p = &topic.partitions[static_cast<std::size_t>(partition)];
      open = new_batch_locked();
      open->topic = &topic;
      open->partition = partition;
      open->reserved = reserve;
      // Room for the whole batch now: growing by doubling would copy it and touch fresh
      // pages several times over (a pooled batch usually has the room already).
      open->builder.reserve(static_cast<std::size_t>(reserve));
      const std::size_t expected_records = static_cast<std::size_t>(reserve) / record_size + 1;
      open->callbacks.reserve(expected_records);
      open->timestamps.reserve(expected_records);
      // Read the clock only when a batch opens: it costs tens of ns per call, per record.
      open->created = created ? *created : clock::now();
      open->generation = generation;
      p->queue.push_back(open);
      ++incomplete_[generation];
      wake_now = true;  // the sender arms the linger timer for it
    }
    open->builder.append(timestamp, key, value, headers, fields_size);
    open->callbacks.push_back(std::move(callback));
    open->timestamps.push_back(timestamp);
    if (open->builder.size_in_bytes() >= target) {
      open->full = true;
      wake_now = true;
    }
    if (wake_now) wake();
    return {};
  }

  // Pending record layout: key, value (int32 length, -1 = null, bytes), int32 header count,
  // headers (key: int32 length + bytes; value as above).
  static void put_bytes(std::vector<std::uint8_t>& out, const protocol::optional_bytes& b) {
    const std::int32_t len = b ? static_cast<std::int32_t>(b->size()) : -1;
    const auto at = out.size();
    out.resize(at + 4);
    std::memcpy(out.data() + at, &len, 4);
    if (b) out.insert(out.end(), b->begin(), b->end());
  }
  static protocol::optional_bytes get_bytes(const std::uint8_t*& pos) {
    std::int32_t len;
    std::memcpy(&len, pos, 4);
    pos += 4;
    if (len < 0) return std::nullopt;
    std::span<const std::uint8_t> out(pos, static_cast<std::size_t>(len));
    pos += len;
    return out;
  }

  std::error_code hold_pending_locked(std::unique_lock<std::mutex>& lock, topic_state& topic,
                                      const producer_record& record, std::int64_t timestamp,
                                      std::size_t record_size, delivery_callback& callback,
                                      bool may_block) {
    if (auto ec = reserve_locked(lock, static_cast<std::int64_t>(record_size), may_block))
      return ec;
    pending_record r;
    r.topic = &topic;
    r.reserved = static_cast<std::int64_t>(record_size);
    r.offset = topic.pending_bytes.size();
    r.partition = record.partition;
    r.timestamp = timestamp;
    r.created = clock::now();
    r.generation = generation_;
    r.callback = std::move(callback);
    put_bytes(topic.pending_bytes, record.key);
    put_bytes(topic.pending_bytes, record.value);
    const auto count = static_cast<std::int32_t>(record.headers.size());
    const auto at = topic.pending_bytes.size();
    topic.pending_bytes.resize(at + 4);
    std::memcpy(topic.pending_bytes.data() + at, &count, 4);
    for (const auto& h : record.headers) {
      put_bytes(topic.pending_bytes,
                std::span(reinterpret_cast<const std::uint8_t*>(h.key.data()), h.key.size()));
      put_bytes(topic.pending_bytes, h.value);
    }
    topic.pending.push_back(std::move(r));
    ++incomplete_[generation_];
    return {};
  }

  // Moves a topic's pending records into batches once its partitions are known. Returns the
  // records that cannot be placed, with their errors. Strand, lock held.
  void place_pending_locked(std::unique_lock<std::mutex>& lock, topic_state& topic,
                            std::vector<std::pair<pending_record, std::error_code>>& failed) {
    std::vector<protocol::header_view> headers;
    while (!topic.pending.empty()) {
      pending_record r = std::move(topic.pending.front());
      topic.pending.pop_front();
      const std::uint8_t* pos = topic.pending_bytes.data() + r.offset;
      const auto key = get_bytes(pos);
      const auto value = get_bytes(pos);
      std::int32_t count;
      std::memcpy(&count, pos, 4);
      pos += 4;
      headers.clear();
      for (std::int32_t i = 0; i < count; ++i) {
        const auto hk = get_bytes(pos);
        const auto hv = get_bytes(pos);
        headers.push_back(
            {std::string_view(reinterpret_cast<const char*>(hk->data()), hk->size()), hv});
      }
      const std::size_t fields_size = protocol::encoded_record_fields_size(key, value, headers);
      const std::size_t size = protocol::encoded_record_size_for(0, 0, fields_size);
      release_locked(r.reserved);
      r.reserved = 0;
      std::int32_t partition = r.partition;
      if (partition >= topic.partition_count) {
        failed.emplace_back(std::move(r), make_error_code(errc::no_such_partition));
        continue;
      }
      bool sticky = false;
      const topic_partitions parts{topic.partition_count, topic.with_leader};
      if (partition < 0) {
        if (custom_partitioner_) {
          partition = custom_partitioner_->partition(topic.name, key, value, parts);
        } else {
          const auto choice = built_in_partition(key, config_.partitioner_ignore_keys, topic.sticky,
                                                 parts, random_);
          partition = choice.partition;
          sticky = choice.sticky;
        }
        if (partition < 0 || partition >= topic.partition_count) {
          failed.emplace_back(std::move(r), make_error_code(errc::no_such_partition));
          continue;
        }
      }
      if (auto ec = append_locked(lock, topic, partition, r.timestamp, key, value, headers,
                                  fields_size, size, r.callback, false, r.created, r.generation)) {
        failed.emplace_back(std::move(r), ec);
        continue;
      }
      decrement_incomplete_locked(r.generation);  // now counted with its batch
      if (sticky)
        topic.sticky.record_appended(partition, static_cast<std::int32_t>(size), parts, random_);
    }
    topic.pending_bytes.clear();
  }

  // ---------------------------------------------------------------- sender (strand)

  void wake() {
    if (!wake_posted_.exchange(true))
      asio::post(strand_, [self = shared_from_this()] { self->drain(); });
  }

  void on_metadata(const cluster_metadata& m) {
    last_error_ = {};  // a broker answered: what failed on the way to the cluster is past
    std::vector<std::pair<pending_record, std::error_code>> failed;
    {
      std::unique_lock lock(mutex_);
      for (auto& [name, topic] : topics_) {
        const auto* t = m.topic(name);
        if (!t) continue;
        topic->error = protocol::broker_error_code(t->error_code);
        if (t->error_code != 0) {
          if (!protocol::is_retriable(topic->error)) {
            for (auto& r : topic->pending) failed.emplace_back(std::move(r), topic->error);
            topic->pending.clear();
            topic->pending_bytes.clear();
          }
          continue;
        }
        topic->topic_id = t->topic_id;
        const auto count = static_cast<std::int32_t>(t->partitions.size());
        if (count > static_cast<std::int32_t>(topic->partitions.size()))
          topic->partitions.resize(static_cast<std::size_t>(count));
        topic->partition_count = std::max(topic->partition_count, count);
        topic->with_leader.clear();
        for (const auto& p : t->partitions) {
          topic->partitions[static_cast<std::size_t>(p.partition)].leader = p.leader;
          if (p.leader >= 0) topic->with_leader.push_back(p.partition);
        }
        if (!topic->pending.empty()) place_pending_locked(lock, *topic, failed);
      }
    }
    for (auto& [r, ec] : failed) fail_pending(r, ec);
    answer_partition_count_waiters(false);
    drain();
  }

  // ---------------------------------------------------------------- partition counts

 public:
  void partition_count(std::string topic, unique_function<void(std::error_code, std::int32_t)> h) {
    {
      std::lock_guard lock(mutex_);
      topic_locked(topic);  // asks the cluster for it
    }
    asio::post(strand_,
               [self = shared_from_this(), topic = std::move(topic), h = std::move(h)]() mutable {
                 self->count_waiters_.push_back(
                     {std::move(topic), std::move(h), clock::now() + self->config_.max_block});
                 self->answer_partition_count_waiters(false);
                 if (!self->count_waiters_.empty())
                   self->arm_timer(self->count_waiters_.back().deadline);
               });
  }

 private:
  // Completes the waiters whose topic's metadata arrived (or failed for good), and those
  // past max.block.ms (or all, at shutdown).
  void answer_partition_count_waiters(bool shutting_down) {
    const auto now = clock::now();
    for (auto it = count_waiters_.begin(); it != count_waiters_.end();) {
      std::int32_t count = -1;
      std::error_code ec;
      {
        std::lock_guard lock(mutex_);
        const topic_state& t = topic_locked(it->topic);
        count = t.partition_count;
        if (t.error && !protocol::is_retriable(t.error)) ec = t.error;
      }
      if (count < 0 && !ec) {
        if (shutting_down)
          ec = make_error_code(errc::shut_down);
        else if (now >= it->deadline)
          ec = make_error_code(errc::metadata_timed_out);
      }
      if (count >= 0 || ec) {
        auto h = std::move(it->handler);
        it = count_waiters_.erase(it);
        h(ec, ec ? -1 : count);
      } else {
        ++it;
      }
    }
  }

  // Fails a record that never reached a batch (strand, lock not held).
  void fail_pending(pending_record& r, std::error_code ec, const error_on_the_way& why = {}) {
    delivery_report report;
    report.topic = r.topic->name;
    report.partition = r.partition;
    report.timestamp = r.timestamp;
    auto details = std::make_shared<diagnostics>();
    details->topic = r.topic->name;
    details->partition = r.partition;
    details->last_error = why.ec;
    details->last_error_context = why.context;
    report.error_details = std::move(details);
    if (r.callback) r.callback(ec, report);
    {
      std::lock_guard lock(mutex_);
      if (r.reserved > 0) release_locked(r.reserved);
      r.reserved = 0;
      decrement_incomplete_locked(r.generation);
    }
    check_flush_waiters();
  }

  void decrement_incomplete_locked(std::uint64_t generation) {
    auto it = incomplete_.find(generation);
    if (it != incomplete_.end() && --it->second <= 0) incomplete_.erase(it);
  }

  void check_flush_waiters() {
    if (flush_waiters_.empty()) return;
    std::uint64_t oldest_incomplete;
    {
      std::lock_guard lock(mutex_);
      oldest_incomplete = incomplete_.empty() ? std::numeric_limits<std::uint64_t>::max()
                                              : incomplete_.begin()->first;
    }
    while (!flush_waiters_.empty() && flush_waiters_.front().generation < oldest_incomplete) {
      auto w = std::move(flush_waiters_.front());
      flush_waiters_.pop_front();
      w.done();
    }
  }

  // Completes a batch's records (strand, lock not held) and returns it to the pool.
  void complete_batch(batch* b, std::error_code ec, std::int64_t base_offset,
                      std::int64_t log_append_time, const diagnostics& diag) {
    delivery_report report;
    report.topic = b->topic->name;
    report.partition = b->partition;
    if (ec) {
      auto details = std::make_shared<diagnostics>(diag);
      if (details->topic.empty()) details->topic = b->topic->name;
      if (details->partition < 0) details->partition = b->partition;
      if (details->broker.empty() && details->broker_id >= 0 && cluster_) {
        if (const auto* broker = cluster_->metadata().broker(details->broker_id))
          details->broker = broker->host + ':' + std::to_string(broker->port);
      }
      report.error_details = std::move(details);
    }
    for (std::size_t i = 0; i < b->callbacks.size(); ++i) {
      report.offset = ec || base_offset < 0 ? -1 : base_offset + static_cast<std::int64_t>(i);
      report.timestamp = log_append_time >= 0 ? log_append_time : b->timestamps[i];
      if (b->callbacks[i]) b->callbacks[i](ec, report);
    }
    // Not under the lock: a 1 MB batch holds ten thousand callbacks, and a send() waiting
    // that long for the lock sleeps in the kernel.
    b->callbacks.clear();
    {
      std::lock_guard lock(mutex_);
      release_locked(b->reserved);
      decrement_incomplete_locked(b->generation);
      pool_.push_back(b);
    }
    check_flush_waiters();
  }

  // A connection attempt's outcome, remembered to explain records that time out waiting.
  void note_connection_result(std::int32_t node_id, std::error_code ec) {
    if (!ec) {
      connection_errors_.erase(node_id);
      return;
    }
    if (ec == errc::shut_down) return;  // closed by the client itself
    error_on_the_way seen{ec,
                          "connection to " + describe_node(node_id, cluster_->address(node_id))};
    connection_errors_[node_id] = seen;
    last_error_ = std::move(seen);
  }

  // Why records of a topic without partitions yet are still waiting (strand).
  error_on_the_way why_no_metadata(const topic_state& topic) const {
    if (topic.error) return {topic.error, "metadata for topic " + topic.name};
    if (last_error_.ec) return last_error_;
    if (auto ec = cluster_->metadata_error()) return {ec, "metadata request"};
    return {};
  }

  // The diagnostics of a batch that timed out: the last error on its way (strand).
  diagnostics timed_out(const batch& b) const {
    diagnostics out;
    out.topic = b.topic->name;
    out.partition = b.partition;
    error_on_the_way why = b.last_error;
    const std::int32_t leader = b.topic->partitions[static_cast<std::size_t>(b.partition)].leader;
    if (!why.ec && leader < 0) {
      // No leader in the metadata: the partition's error says why, if the broker sent one.
      why.ec = protocol::make_error_code(broker_error::leader_not_available);
      if (const auto* t = cluster_->metadata().topic(b.topic->name);
          t && static_cast<std::size_t>(b.partition) < t->partitions.size() &&
          t->partitions[static_cast<std::size_t>(b.partition)].error_code != 0)
        why.ec = protocol::broker_error_code(
            t->partitions[static_cast<std::size_t>(b.partition)].error_code);
      why.context = "metadata for topic " + b.topic->name + " partition " +
                    std::to_string(b.partition);
    }
    if (!why.ec) {
      if (auto it = connection_errors_.find(leader); it != connection_errors_.end())
        why = it->second;
      else if (init_error_.ec && !identity_.ready())
        why = init_error_;  // no producer id: nothing could be sent
      else
        why = last_error_;
    }
    out.last_error = why.ec;
    out.last_error_context = std::move(why.context);
    return out;
  }

  void fail_batch(batch* b, std::error_code ec, const diagnostics& diag) {
    complete_batch(b, ec, -1, -1, diag);
  }

  std::chrono::milliseconds retry_backoff(int attempts) {
    return jittered_backoff(config_.retry_backoff, config_.retry_backoff_max, attempts, random_);
  }

  void drain() {
    wake_posted_.store(false);
    if (closed_) return;
    if (!count_waiters_.empty()) answer_partition_count_waiters(false);
    const auto now = clock::now();
    auto next_wakeup = clock::time_point::max();
    std::vector<batch*> expired;
    std::vector<pending_record> expired_pending;
    std::map<std::int32_t, std::vector<batch*>> by_node;
    std::map<std::int32_t, std::shared_ptr<connection>> connections;
    const bool flushing = !flush_waiters_.empty();
    {
      // Expiry first, for every partition: an expired batch that had a sequence needs an
      // epoch bump, and nothing may be sent under the old epoch once that is decided (a
      // batch sent now would come back numbered in the old epoch after the sequences reset).
      std::unique_lock lock(mutex_);
      for (auto& [name, topic] : topics_) {
        for (auto& p : topic->partitions) {
          while (!p.queue.empty() && p.queue.front()->created + config_.delivery_timeout <= now) {
            batch* b = p.queue.front();
            p.queue.pop_front();
            identity_.sequence_abandoned(b->base_sequence);  // a gap only a new epoch closes
            expired.push_back(b);
          }
        }
      }
    }
    if (identity_.state() == detail::identity_state::failed) fail_everything_queued();
    const bool producer_id_ready = identity_.ready();
    {
      std::unique_lock lock(mutex_);
      for (auto& [name, topic] : topics_) {
        // Records still waiting for metadata expire too.
        while (!topic->pending.empty() &&
               topic->pending.front().created + config_.delivery_timeout <= now) {
          expired_pending.push_back(std::move(topic->pending.front()));
          topic->pending.pop_front();
        }
        if (!topic->pending.empty())
          next_wakeup =
              std::min(next_wakeup, topic->pending.front().created + config_.delivery_timeout);
        for (std::int32_t pi = 0; pi < static_cast<std::int32_t>(topic->partitions.size()); ++pi) {
          auto& p = topic->partitions[static_cast<std::size_t>(pi)];
          if (p.queue.empty()) continue;
          batch* b = p.queue.front();
          next_wakeup = std::min(next_wakeup, b->created + config_.delivery_timeout);
          if (!producer_id_ready) continue;
          if (b->attempts > 0 && b->retry_at > now) {
            next_wakeup = std::min(next_wakeup, b->retry_at);
            continue;
          }
          const bool ready = b->full || p.queue.size() > 1 || b->attempts > 0 || flushing ||
                             closing_ || now >= b->created + config_.linger;
          if (!ready) {
            next_wakeup = std::min(next_wakeup, b->created + config_.linger);
            continue;
          }
          if (p.leader < 0) continue;  // metadata refresh brings us back
          // Until the broker acknowledged a batch of this epoch it may hold no state for us,
          // and then accepts any first sequence (KIP-360): a later batch could land before an
          // earlier one that bounced (NOT_LEADER on a partition still being created). So one
          // batch in flight until the first acknowledgement, then up to five.
          const int in_flight_limit = identity_.in_flight_limit(
              p.sequences, config_.max_in_flight_requests_per_connection);
          if (identity_.idempotent() && p.in_flight >= in_flight_limit) continue;
          // A retry waits until nothing of its partition is in flight, so that the broker
          // sees the retried sequences in order (fewer OUT_OF_ORDER round trips).
          if (identity_.idempotent() && b->base_sequence >= 0 && p.in_flight > 0) continue;
          auto conn_it = connections.find(p.leader);
          if (conn_it == connections.end())
            conn_it = connections.emplace(p.leader, cluster_->ready_connection(p.leader)).first;
          if (!conn_it->second) continue;  // the connection listener brings us back
          if (node_in_flight_[p.leader] >= config_.max_in_flight_requests_per_connection) continue;
          auto& list = by_node[p.leader];
          std::size_t request_bytes = 0;
          for (auto* x : list) request_bytes += x->builder.size_in_bytes();
          if (!list.empty() && request_bytes + b->builder.size_in_bytes() >
                                   static_cast<std::size_t>(config_.max_request_size)) {
            next_wakeup = now;  // more next round
            continue;
          }
          p.queue.pop_front();
          b->sealed = true;
          ++p.in_flight;
          list.push_back(b);
        }
      }
    }
    for (auto* b : expired)
      fail_batch(b, make_error_code(errc::delivery_timed_out), timed_out(*b));
    for (auto& r : expired_pending)
      fail_pending(r, make_error_code(errc::delivery_timed_out), why_no_metadata(*r.topic));
    init_producer_id();
    for (auto& [node, batches] : by_node) {
      if (!batches.empty()) send_produce(node, connections[node], std::move(batches));
    }
    arm_timer(next_wakeup);
  }

  void arm_timer(clock::time_point at) {
    if (at == clock::time_point::max()) return;
    if (timer_armed_ && at >= timer_at_) return;
    timer_armed_ = true;
    timer_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->timer_armed_ = false;
      self->drain();
    });
  }

  void send_produce(std::int32_t node, const std::shared_ptr<connection>& conn,
                    std::vector<batch*> batches) {
    const auto version = conn->version_for(protocol::ProduceRequest::api_key);
    if (!version || *version < 3) {
      for (auto* b : batches) {
        {
          std::lock_guard lock(mutex_);
          --b->topic->partitions[static_cast<std::size_t>(b->partition)].in_flight;
        }
        fail_batch(b, make_error_code(errc::broker_too_old), {});
      }
      return;
    }
    protocol::ProduceRequest request;
    request.transactional_id.reset();
    request.acks = static_cast<std::int16_t>(config_.acks);
    request.timeout_ms = static_cast<std::int32_t>(config_.request_timeout.count());
    const bool idempotent = identity_.idempotent();
    for (auto* b : batches) {
      auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
      if (!b->builder.finished()) {
        if (idempotent)
          b->builder.set_producer(identity_.producer_id(), identity_.epoch(), p.sequences.next);
        if (auto ec = b->builder.finish()) {
          {
            std::lock_guard lock(mutex_);
            --p.in_flight;
          }
          fail_batch(b, ec, {});
          continue;
        }
        if (idempotent)
          b->base_sequence = identity_.take_sequences(p.sequences, b->builder.record_count());
        if (batch_options_.codec != protocol::compression::none) learn_compression_ratio(*b);
      } else if (idempotent) {
        if (b->base_sequence < 0)
          b->base_sequence = identity_.take_sequences(p.sequences, b->builder.record_count());
        b->builder.restamp_producer(identity_.producer_id(), identity_.epoch(), b->base_sequence);
      }
      protocol::ProduceRequest::TopicProduceData* topic_data = nullptr;
      for (auto& t : request.topic_data)
        if (t.name == b->topic->name) topic_data = &t;
      if (!topic_data) {
        topic_data = &request.topic_data.emplace_back();
        if (*version >= 13)
          topic_data->topic_id = b->topic->topic_id;
        else
          topic_data->name = b->topic->name;
        topic_data->name = b->topic->name;
      }
      b->sent_epoch = identity_.epoch();
      auto& pd = topic_data->partition_data.emplace_back();
      pd.index = b->partition;
      pd.records = protocol::byte_view(b->builder.bytes());
    }
    // v13 carries topic ids only; the name was kept above for matching.
    if (*version >= 13)
      for (auto& t : request.topic_data) t.name.clear();
    std::erase_if(batches, [](batch* b) { return !b->builder.finished(); });
    if (batches.empty()) return;
    ++node_in_flight_[node];
    const bool expects_response = config_.acks != required_acks::none;
    // The batches are written from their builders, not copied into the request: they stay
    // untouched while in flight (handle_produce runs after the write, also on close).
    conn->send_borrowing_records(
        request, *version,
        [self = shared_from_this(), node, batches = std::move(batches), version = *version](
            std::error_code ec, response_frame frame) mutable {
          self->handle_produce(node, version, std::move(batches), ec, std::move(frame));
        },
        expects_response);
  }

  void handle_produce(std::int32_t node, std::int16_t version, std::vector<batch*> batches,
                      std::error_code ec, response_frame frame) {
    --node_in_flight_[node];
    diagnostics diag;
    diag.broker_id = node;
    diag.api_key = protocol::ProduceRequest::api_key;
    diag.api_version = version;
    if (!ec && config_.acks == required_acks::none) {
      for (auto* b : batches) finish_attempt(b, {}, -1, -1, diag);
      return drain();
    }
    protocol::ProduceResponse response;
    if (!ec) ec = response.decode(frame.body, frame.api_version);
    if (ec) {
      for (auto* b : batches) finish_attempt(b, ec, -1, -1, diag);
      cluster_->request_refresh();
      return drain();
    }
    for (auto* b : batches) {
      const protocol::ProduceResponse_PartitionProduceResponse* found = nullptr;
      for (const auto& t : response.responses) {
        const bool same_topic =
            version >= 13 ? t.topic_id == b->topic->topic_id : t.name == b->topic->name;
        if (!same_topic) continue;
        for (const auto& p : t.partition_responses)
          if (p.index == b->partition) found = &p;
      }
      if (!found) {
        finish_attempt(b, make_error_code(errc::protocol_violation), -1, -1, diag);
        continue;
      }
      diag.topic = b->topic->name;
      diag.partition = b->partition;
      diag.server_message = found->error_message.value_or("");
      finish_attempt(b, protocol::broker_error_code(found->error_code), found->base_offset,
                     found->log_append_time_ms, diag);
    }
    drain();
  }

  // One produce attempt of a batch ended: deliver, retry in order, or fail.
  void finish_attempt(batch* b, std::error_code ec, std::int64_t base_offset,
                      std::int64_t log_append_time, const diagnostics& diag) {
    auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
    if (is(ec, broker_error::duplicate_sequence_number)) ec.clear();  // already written
    // A batch sent under an epoch since bumped carries the old numbering: it must not move
    // the new epoch's sequences, and a retry gets a new sequence.
    const bool stale_epoch = identity_.stale(b->sent_epoch);
    if (ec && stale_epoch) b->base_sequence = -1;
    if (!ec) {
      if (identity_.idempotent() && b->base_sequence >= 0 && !stale_epoch)
        identity_.acknowledged(p.sequences, b->base_sequence, b->builder.record_count());
      {
        std::lock_guard lock(mutex_);
        --p.in_flight;
      }
      return complete_batch(b, {}, base_offset, log_append_time, diag);
    }
    if ((is(ec, broker_error::message_too_large) || is(ec, broker_error::record_list_too_large)) &&
        b->builder.record_count() > 1 && !closed_) {
      // The broker's limit (message.max.bytes, or the topic's max.message.bytes) is below
      // this batch: send its records again in halves, as Java does, until single records
      // are left, which then fail alone.
      if (split_and_requeue(b)) return;
    }
    identity_.produce_error(ec, b->base_sequence, p.sequences);  // may decide an epoch bump
    const bool retriable = is_retriable(ec) || identity_.sequence_error(ec);
    const auto now = clock::now();
    const bool may_retry = retriable && !closed_ && b->attempts < config_.retries;
    if (may_retry) {
      diagnostics where = diag;
      if (where.broker.empty()) where.broker = cluster_->address(where.broker_id);
      b->last_error = {ec, where.describe_where()};
    }
    if (may_retry && now < b->created + config_.delivery_timeout) {
      if (suggests_stale_metadata(ec)) cluster_->request_refresh();
      std::lock_guard lock(mutex_);
      --p.in_flight;
      ++b->attempts;
      b->retry_at = now + retry_backoff(b->attempts);
      // Back to the front, in sequence order among the batches already retried.
      auto pos = p.queue.begin();
      while (pos != p.queue.end() && (*pos)->base_sequence >= 0 &&
             (*pos)->base_sequence < b->base_sequence)
        ++pos;
      p.queue.insert(pos, b);
      return;
    }
    identity_.sequence_abandoned(b->base_sequence);  // a gap only a new epoch closes
    {
      std::lock_guard lock(mutex_);
      --p.in_flight;
    }
    // Retriable, but delivery.timeout.ms has passed: a timeout, which names this error.
    if (may_retry)
      return complete_batch(b, make_error_code(errc::delivery_timed_out), -1, -1, timed_out(*b));
    complete_batch(b, ec, -1, -1, diag);
  }

  // Re-encodes a batch the broker refused as too large into batches of half its size, put
  // back at the front of the partition's queue. An idempotent batch's sequence range is
  // handed on, contiguous, so the halves fill exactly the range the broker did not accept.
  // False when the batch cannot be read back (then it fails as it is).
  bool split_and_requeue(batch* b) {
    std::vector<std::uint8_t> scratch;
    protocol::record_batch_reader reader(b->builder.bytes(), scratch);
    protocol::record_batch_view view;
    if (!reader.next(view)) return false;
    {
      // Check the whole batch first: nothing moves unless every record reads back.
      std::size_t count = 0;
      protocol::record_view r;
      auto cursor = view.records();
      while (cursor.next(r)) ++count;
      if (cursor.error() || count != b->callbacks.size()) return false;
    }
    const std::size_t target = std::max<std::size_t>(b->builder.size_in_bytes() / 2, 1);
    std::vector<batch*> parts;
    std::vector<protocol::header_view> headers;
    {
      std::lock_guard lock(mutex_);
      std::size_t index = 0;
      protocol::record_view r;
      for (auto cursor = view.records(); cursor.next(r); ++index) {
        headers.assign(r.headers.begin(), r.headers.end());
        if (parts.empty() ||
            (!parts.back()->builder.empty() &&
             parts.back()->builder.size_in_bytes() + parts.back()->builder.encoded_record_size(
                                                         r.timestamp, r.key, r.value, headers) >
                 target)) {
          batch* part = new_batch_locked();
          part->topic = b->topic;
          part->partition = b->partition;
          part->created = b->created;  // delivery.timeout.ms still counts from the first send
          part->generation = b->generation;
          part->reserved = 0;
          part->retry_at = {};
          part->attempts = b->attempts + 1;
          part->full = true;
          part->sealed = true;
          if (!parts.empty()) ++incomplete_[b->generation];  // the first part takes b's place
          parts.push_back(part);
        }
        batch* part = parts.back();
        part->builder.append(r.timestamp, r.key, r.value, headers);
        part->callbacks.push_back(std::move(b->callbacks[index]));
        part->timestamps.push_back(b->timestamps[index]);
      }
      parts.front()->reserved = b->reserved;  // memory moves with the records
      // Later batches of the topic stay below the size the broker refused.
      topic_state& topic = *b->topic;
      topic.split_limit = std::min(topic.split_limit, target);
      topic.batch_target = std::min(topic.batch_target, topic.split_limit);
      std::int32_t sequence = b->base_sequence;
      for (auto* part : parts) {
        if (identity_.idempotent() && sequence >= 0) {
          part->base_sequence = sequence;
          part->builder.set_producer(identity_.producer_id(), identity_.epoch(), sequence);
          sequence += part->builder.record_count();
        }
        part->builder.finish();
      }
      auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
      --p.in_flight;
      auto pos = p.queue.begin();
      while (pos != p.queue.end() && (*pos)->base_sequence >= 0 &&
             (*pos)->base_sequence < b->base_sequence)
        ++pos;
      p.queue.insert(pos, parts.begin(), parts.end());
      b->callbacks.clear();
      pool_.push_back(b);
    }
    return true;
  }

  // InitProducerId when the identity asks for it: a new producer id, or (KIP-360) an epoch
  // bump of the current one once nothing is in flight; then every unacknowledged batch gets
  // new sequences from 0.
  void init_producer_id() {
    if (closed_) return;
    bool produce_in_flight = false;
    for (const auto& [node, count] : node_in_flight_) produce_in_flight |= count > 0;
    const auto step = identity_.next_step(clock::now(), produce_in_flight);
    using step_kind = detail::identity_step::kind;
    if (step.what == step_kind::wait_until) return arm_timer(step.at);
    if (step.what != step_kind::send_init_producer_id) return;  // handle_produce drains again
    std::shared_ptr<connection> conn;
    std::int32_t node = -1;
    for (const auto& b : cluster_->metadata().brokers) {
      conn = cluster_->ready_connection(b.node_id);
      node = b.node_id;
      if (conn) break;
    }
    if (!conn) return;  // connection listener / metadata brings us back
    const auto version = conn->version_for(protocol::InitProducerIdRequest::api_key);
    if (!version) {
      identity_.init_impossible(make_error_code(errc::broker_too_old));
      return identity_failed();
    }
    const auto request = identity_.init_request(*version);
    identity_.init_sent();
    conn->send(
        request, *version,
        [self = shared_from_this(), version = *version, node](std::error_code ec,
                                                               response_frame frame) {
          protocol::InitProducerIdResponse response;
          if (!ec) ec = response.decode(frame.body, version);
          const bool renumber = self->identity_.init_answered(ec, response, clock::now());
          if (!ec) ec = protocol::broker_error_code(response.error_code);
          if (ec) {
            diagnostics where;
            where.api_key = protocol::InitProducerIdRequest::api_key;
            where.api_version = version;
            where.broker_id = node;
            where.broker = self->cluster_->address(node);
            self->init_error_ = {ec, where.describe_where()};
          } else {
            self->init_error_ = {};
          }
          if (renumber) self->reset_sequences();
          if (self->identity_.state() == detail::identity_state::failed)
            return self->identity_failed();
          self->drain();  // sends, or arms the timer for the next attempt
        });
  }

  // The identity failed for good: sends report its error from now on, and what waits fails.
  void identity_failed() {
    {
      std::lock_guard lock(mutex_);
      fatal_error_ = identity_.fatal_error();
    }
    wake();
  }

  // Fails every batch and pending record still queued with the identity's fatal error
  // (strand, lock not held). Batches in flight complete as their responses arrive.
  void fail_everything_queued() {
    std::vector<batch*> failed;
    std::vector<pending_record> failed_pending;
    {
      std::lock_guard lock(mutex_);
      for (auto& [name, topic] : topics_) {
        for (auto& p : topic->partitions) {
          failed.insert(failed.end(), p.queue.begin(), p.queue.end());
          p.queue.clear();
        }
        for (auto& r : topic->pending) failed_pending.push_back(std::move(r));
        topic->pending.clear();
        topic->pending_bytes.clear();
      }
    }
    for (auto* b : failed) fail_batch(b, identity_.fatal_error(), timed_out(*b));
    for (auto& r : failed_pending) fail_pending(r, identity_.fatal_error(), init_error_);
  }

  // Follows the topic's compression ratio: up at once when batches compress worse (never an
  // oversized batch for long), down slowly when they compress better.
  void learn_compression_ratio(const batch& b) {
    const auto uncompressed = b.builder.size_in_bytes();
    // Small batches (sent by linger.ms with a few records) compress worse than full ones and
    // would hold the estimate up for nothing.
    if (uncompressed < b.topic->batch_target / 2) return;
    const double observed = std::clamp(
        static_cast<double>(b.builder.bytes().size()) / static_cast<double>(uncompressed), 0.05,
        1.0);
    std::lock_guard lock(mutex_);
    topic_state& t = *b.topic;
    t.compression_ratio =
        observed > t.compression_ratio ? observed : 0.75 * t.compression_ratio + 0.25 * observed;
    const double batch_size = std::max(config_.batch_size, 1);
    const double most = std::min(8.0 * batch_size, static_cast<double>(config_.max_request_size));
    t.batch_target =
        std::min(t.split_limit,
                 static_cast<std::size_t>(std::clamp(batch_size / t.compression_ratio, batch_size,
                                                     std::max(most, batch_size))));
  }

  void reset_sequences() {
    std::lock_guard lock(mutex_);
    for (auto& [name, topic] : topics_)
      for (auto& p : topic->partitions) {
        detail::producer_identity::reset(p.sequences);
        for (auto* b : p.queue) b->base_sequence = -1;
      }
  }

  producer_config config_;
  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<cluster> cluster_;
  struct count_waiter {
    std::string topic;
    unique_function<void(std::error_code, std::int32_t)> handler;
    clock::time_point deadline;
  };
  std::vector<count_waiter> count_waiters_;  // async_partition_count (strand)
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  clock::time_point timer_at_{};
  protocol::record_batch_options batch_options_;

  // Guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable memory_freed_;
  std::map<std::string, std::unique_ptr<topic_state>, std::less<>> topics_;
  topic_state* last_topic_ = nullptr;    // the topic topic_locked() found last
  millisecond_clock create_time_clock_;  // records sent without a timestamp get its reading
  std::vector<std::unique_ptr<batch>> owned_;
  std::vector<batch*> pool_;
  std::int64_t memory_used_ = 0;
  std::uint64_t generation_ = 0;
  std::map<std::uint64_t, std::int64_t> incomplete_;  // by flush generation
  std::shared_ptr<partitioner> custom_partitioner_;
  partition_random random_;
  bool closing_ = false;
  std::error_code fatal_error_;  // the identity's, once it failed: every send() reports it

  // Strand only.
  std::atomic<bool> wake_posted_{false};
  bool closed_ = false;
  std::map<std::int32_t, int> node_in_flight_;
  std::deque<flush_waiter> flush_waiters_;
  detail::producer_identity identity_;
  // The last failed connection on the way to the cluster: why records wait for metadata.
  // Cleared by each metadata update.
  error_on_the_way last_error_;
  error_on_the_way init_error_;  // of the last InitProducerId, until one succeeds
  std::map<std::int32_t, error_on_the_way> connection_errors_;  // by node, until it connects
};

}  // namespace detail

producer::producer(asio::any_io_executor executor, producer_config config)
    : impl_(std::make_shared<detail::producer_impl>(std::move(executor), std::move(config))) {
  impl_->start();
}

producer::~producer() {
  // Does not wait: the strand finishes the shutdown (the impl lives until it has).
  if (impl_) impl_->close_async(std::chrono::milliseconds(0), nullptr);
}

std::error_code producer::send(const producer_record& record, delivery_callback callback) {
  return impl_->send(record, callback);
}

void producer::start_flush(detail::unique_function<void()> done) {
  impl_->start_flush(std::move(done));
}

void producer::flush() {
  std::promise<void> done;
  auto future = done.get_future();
  start_flush([&done] { done.set_value(); });
  future.wait();
}

void producer::close(std::chrono::milliseconds timeout) {
  std::promise<void> done;
  auto future = done.get_future();
  impl_->close_async(timeout, [&done] { done.set_value(); });
  future.wait();
}

void producer::start_close(std::chrono::milliseconds timeout,
                           detail::unique_function<void()> done) {
  impl_->close_async(timeout, std::move(done));
}

const producer_config& producer::config() const noexcept { return impl_->config(); }
std::int64_t producer::buffered_bytes() const noexcept { return impl_->buffered_bytes(); }
void producer::start_partition_count(
    std::string topic, detail::unique_function<void(std::error_code, std::int32_t)> h) {
  impl_->partition_count(std::move(topic), std::move(h));
}

void producer::set_partitioner(std::shared_ptr<partitioner> custom) {
  impl_->set_partitioner(std::move(custom));
}

}  // namespace kwire::client
