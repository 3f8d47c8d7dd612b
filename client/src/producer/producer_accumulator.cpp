#include "producer/producer_accumulator.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "kwire/client/cluster.hpp"

namespace kwire::client::detail {
namespace {

// Pending record layout: key, value (int32 length, -1 = null, bytes), int32 header count,
// headers (key: int32 length + bytes; value as above).
void put_bytes(std::vector<std::uint8_t>& out, const protocol::optional_bytes& b) {
  const std::int32_t len = b ? static_cast<std::int32_t>(b->size()) : -1;
  const auto at = out.size();
  out.resize(at + 4);
  std::memcpy(out.data() + at, &len, 4);
  if (b) out.insert(out.end(), b->begin(), b->end());
}

protocol::optional_bytes get_bytes(const std::uint8_t*& pos) {
  std::int32_t len;
  std::memcpy(&len, pos, 4);
  pos += 4;
  if (len < 0) return std::nullopt;
  std::span<const std::uint8_t> out(pos, static_cast<std::size_t>(len));
  pos += len;
  return out;
}

}  // namespace

producer_accumulator::producer_accumulator(const producer_config& config,
                                           protocol::record_batch_options options,
                                           unique_function<void()> wake,
                                           unique_function<void(const std::string&)> want_topic)
    : config_(config),
      batch_options_(options),
      wake_(std::move(wake)),
      want_topic_(std::move(want_topic)),
      random_(std::random_device{}()) {}

std::error_code producer_accumulator::append(const producer_record& record,
                                             delivery_callback& callback, bool may_block) {
  // Sized once here, with deltas 0 as if first in its batch (its exact size depends on the
  // batch it lands in); the builder reuses fields_size when appending it.
  const std::size_t fields_size =
      protocol::encoded_record_fields_size(record.key, record.value, record.headers);
  const std::size_t record_size = protocol::encoded_record_size_for(0, 0, fields_size);
  if (record_size + protocol::record_batch_header_size >
      static_cast<std::size_t>(config_.max_request_size))
    return make_error_code(errc::record_too_large);
  std::unique_lock lock(mutex_);
  if (closing_) return make_error_code(errc::shut_down);
  if (append_error_) [[unlikely]]
    return append_error_;
  const std::int64_t timestamp =
      record.timestamp >= 0 ? record.timestamp : create_time_clock_.now_ms();
  producer_topic& topic = topic_locked(record.topic);
  // Unknown partitions: the topic's metadata has not come, or the record names a partition
  // beyond the count it gave (the topic may have grown since): held for the next metadata.
  const auto unplaceable = [&] {
    return topic.partition_count < 0 || record.partition >= topic.partition_count;
  };
  if (unplaceable()) {
    // Counted as it will be once in a batch of its own (more than the held record and its
    // bookkeeping take), so that placing it later never finds buffer.memory full.
    static_assert(batch_bookkeeping_bytes >= sizeof(pending_record));
    const auto charge =
        static_cast<std::int64_t>(record_size + record_bookkeeping_bytes + batch_bookkeeping_bytes);
    if (auto ec = reserve_locked(lock, charge, may_block)) return ec;
    if (closing_) {
      release_locked(charge);
      return make_error_code(errc::shut_down);
    }
    // The wait for buffer.memory lets go of the lock: the partitions may have become known
    // meanwhile and the held records been placed. Then this one goes to its batch at once,
    // behind them; held now, it would wait for the next metadata update.
    if (unplaceable()) {
      hold_pending_locked(topic, record, timestamp, charge, callback);
      // A known topic without the partition: no refresh is under way for it.
      if (topic.partition_count >= 0) want_topic_(topic.name);
      return {};
    }
    release_locked(charge);
  }
  std::int32_t partition = record.partition;
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
                    fields_size, record_size, callback, may_block, std::nullopt, generation_);
  if (!ec && sticky) {
    const topic_partitions parts{topic.partition_count, topic.with_leader};
    topic.sticky.record_appended(partition, static_cast<std::int32_t>(record_size), parts, random_);
  }
  return ec;
}

std::int64_t producer_accumulator::buffered_bytes() const {
  std::lock_guard lock(mutex_);
  return memory_used_;
}

void producer_accumulator::set_partitioner(std::shared_ptr<partitioner> p) {
  std::lock_guard lock(mutex_);
  custom_partitioner_ = std::move(p);
}

void producer_accumulator::close() {
  std::lock_guard lock(mutex_);
  closing_ = true;
  memory_freed_.notify_all();
}

void producer_accumulator::fail_appends(std::error_code ec) {
  std::lock_guard lock(mutex_);
  append_error_ = ec;
}

std::uint64_t producer_accumulator::begin_flush() {
  std::lock_guard lock(mutex_);
  return generation_++;
}

std::uint64_t producer_accumulator::oldest_incomplete() const {
  std::lock_guard lock(mutex_);
  return incomplete_.empty() ? std::numeric_limits<std::uint64_t>::max()
                             : incomplete_.begin()->first;
}

std::pair<std::int32_t, std::error_code> producer_accumulator::partition_count(
    std::string_view name) {
  std::lock_guard lock(mutex_);
  const producer_topic& t = topic_locked(name);
  std::error_code ec;
  if (t.error && !protocol::is_retriable(t.error)) ec = t.error;
  return {t.partition_count, ec};
}

std::string_view producer_accumulator::stable_topic_name(std::string_view topic) {
  std::lock_guard lock(mutex_);
  if (auto it = topics_.find(topic); it != topics_.end()) return it->second->name;
  return *other_topic_names_.emplace(topic).first;
}

producer_topic& producer_accumulator::topic_locked(std::string_view name) {
  // Applications mostly send to the same topic again: skip the map's string compares then.
  // (Topics are never removed, so the pointer stays valid.) The names are compared even
  // when `name` points at the same chars as last time: the caller may have rewritten them.
  if (last_topic_ && last_topic_->name == name) [[likely]]
    return *last_topic_;
  return find_topic_locked(name);
}

// topic_locked() beyond its check of the last topic: out of line, so that the check is
// inlined into append().
[[gnu::noinline]] producer_topic& producer_accumulator::find_topic_locked(std::string_view name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) {
    last_topic_ = it->second.get();
    return *last_topic_;
  }
  auto& t = topics_[std::string(name)];
  t = std::make_unique<producer_topic>(std::string(name), config_.batch_size);
  last_topic_ = t.get();
  want_topic_(t->name);
  return *t;
}

// Waits (off the strand) until `bytes` fit in buffer.memory, then counts them.
std::error_code producer_accumulator::reserve_locked(std::unique_lock<std::mutex>& lock,
                                                     std::int64_t bytes, bool may_block) {
  if (memory_used_ + bytes > config_.buffer_memory) {
    if (bytes > config_.buffer_memory) return make_error_code(errc::record_too_large);
    if (!may_block) return make_error_code(errc::buffer_exhausted);
    const auto deadline = accumulator_clock::now() + config_.max_block;
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

void producer_accumulator::release_locked(std::int64_t bytes) {
  memory_used_ -= bytes;
  memory_freed_.notify_all();
}

namespace {

// Bytes a batch's buffers hold, whatever they hold now.
std::int64_t buffers_of(const producer_batch& b) {
  return static_cast<std::int64_t>(b.builder.buffer_capacity() +
                                   b.callbacks.capacity() * sizeof(delivery_callback) +
                                   b.timestamps.capacity() * sizeof(std::int64_t));
}

}  // namespace

producer_batch* producer_accumulator::new_batch_locked() {
  producer_batch* b;
  if (!pool_.empty()) {
    b = pool_.back();
    pool_.pop_back();
    pooled_bytes_ -= buffers_of(*b);
  } else {
    owned_.push_back(std::make_unique<producer_batch>());
    b = owned_.back().get();
  }
  b->builder.reset(batch_options_);
  b->callbacks.clear();
  b->timestamps.clear();
  b->attempts = 0;
  b->base_sequence = -1;
  b->full = false;
  b->sealed = false;
  b->last_error = {};
  return b;
}

std::error_code producer_accumulator::append_locked(
    std::unique_lock<std::mutex>& lock, producer_topic& topic, std::int32_t partition,
    std::int64_t timestamp, const protocol::optional_bytes& key,
    const protocol::optional_bytes& value, std::span<const protocol::header_view> headers,
    std::size_t fields_size, std::size_t record_size, delivery_callback& callback, bool may_block,
    std::optional<accumulator_clock::time_point> created, std::uint64_t generation) {
  // Room for the record and for a batch to put it in, before the batch is chosen: the wait
  // for room may let the sender take the open batch away.
  const auto record_charge = static_cast<std::int64_t>(record_size + record_bookkeeping_bytes);
  constexpr auto batch_charge = static_cast<std::int64_t>(batch_bookkeeping_bytes);
  if (auto ec = reserve_locked(lock, record_charge + batch_charge, may_block)) return ec;
  if (closing_) {
    release_locked(record_charge + batch_charge);
    return make_error_code(errc::shut_down);
  }
  auto* p = &topic.partitions[static_cast<std::size_t>(partition)];
  // A retried batch back in the queue is sealed: its bytes were sent and must not change.
  producer_batch* open = p->queue.empty() || p->queue.back()->sealed ? nullptr : p->queue.back();
  bool wake_now = false;
  const std::size_t target = std::max<std::size_t>(topic.batch_target, 1);
  if (open && open->builder.size_in_bytes() + record_size > target) {
    // An empty batch can take one record of any size allowed by max.request.size.
    if (!open->builder.empty()) {
      open->full = true;
      open = nullptr;
      wake_now = true;
    }
  }
  if (open) {
    memory_used_ -= batch_charge;  // no new batch: nobody waits for so little
  } else {
    open = new_batch_locked();
    open->topic = &topic;
    open->partition = partition;
    open->reserved = batch_charge;
    // A batch grows as it fills (a pooled one usually has the room already): a large
    // batch.size costs nothing for a partition that sees a record now and then.
    open->builder.reserve(std::min<std::size_t>(target, initial_batch_bytes));
    // Read the clock only when a batch opens: it costs tens of ns per call, per record.
    open->created = created ? *created : accumulator_clock::now();
    open->generation = generation;
    p->queue.push_back(open);
    ++incomplete_[generation];
    wake_now = true;  // the sender arms the linger timer for it
  }
  open->reserved += record_charge;
  open->builder.append(timestamp, key, value, headers, fields_size);
  open->callbacks.push_back(std::move(callback));
  open->timestamps.push_back(timestamp);
  if (open->builder.size_in_bytes() >= target) {
    open->full = true;
    wake_now = true;
  }
  if (wake_now) wake_();
  return {};
}

void producer_accumulator::hold_pending_locked(producer_topic& topic, const producer_record& record,
                                               std::int64_t timestamp, std::int64_t charge,
                                               delivery_callback& callback) {
  pending_record r;
  r.topic = &topic;
  r.reserved = charge;
  r.offset = topic.pending_bytes.size();
  r.partition = record.partition;
  r.timestamp = timestamp;
  r.created = accumulator_clock::now();
  r.generation = generation_;
  r.metadata_updates = metadata_updates_;
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
}

// Moves a topic's pending records into batches once its partitions are known; the records
// that cannot be placed go to `failed` with their errors. Strand, lock held.
void producer_accumulator::place_pending_locked(
    std::unique_lock<std::mutex>& lock, producer_topic& topic,
    std::vector<std::pair<pending_record, std::error_code>>& failed) {
  std::vector<protocol::header_view> headers;
  std::deque<pending_record> kept;
  std::vector<std::uint8_t> kept_bytes;
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
    std::int32_t partition = r.partition;
    if (partition >= topic.partition_count && metadata_updates_ < r.metadata_updates + 2) {
      // Still waits: kept, with its bytes, in its order.
      const std::uint8_t* start = topic.pending_bytes.data() + r.offset;
      r.offset = kept_bytes.size();
      kept_bytes.insert(kept_bytes.end(), start, pos);
      kept.push_back(std::move(r));
      continue;
    }
    const std::size_t fields_size = protocol::encoded_record_fields_size(key, value, headers);
    const std::size_t size = protocol::encoded_record_size_for(0, 0, fields_size);
    release_locked(r.reserved);
    r.reserved = 0;
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
        const auto choice =
            built_in_partition(key, config_.partitioner_ignore_keys, topic.sticky, parts, random_);
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
  topic.pending = std::move(kept);
  topic.pending_bytes = std::move(kept_bytes);
}

bool producer_accumulator::waiting_for_partitions() const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, topic] : topics_)
    if (topic->partition_count >= 0 && !topic->pending.empty()) return true;
  return false;
}

void producer_accumulator::decrement_incomplete_locked(std::uint64_t generation) {
  auto it = incomplete_.find(generation);
  if (it != incomplete_.end() && --it->second <= 0) incomplete_.erase(it);
}

std::vector<std::pair<pending_record, std::error_code>> producer_accumulator::update_metadata(
    const cluster_metadata& m, bool fresh) {
  std::vector<std::pair<pending_record, std::error_code>> failed;
  std::unique_lock lock(mutex_);
  if (fresh) ++metadata_updates_;
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
  return failed;
}

std::vector<producer_batch*> producer_accumulator::take_expired(accumulator_clock::time_point now) {
  std::vector<producer_batch*> expired;
  std::lock_guard lock(mutex_);
  for (auto& [name, topic] : topics_) {
    for (auto& p : topic->partitions) {
      while (!p.queue.empty() && p.queue.front()->created + config_.delivery_timeout <= now) {
        expired.push_back(p.queue.front());
        p.queue.pop_front();
      }
    }
  }
  return expired;
}

std::pair<std::vector<producer_batch*>, std::vector<pending_record>>
producer_accumulator::take_all() {
  std::pair<std::vector<producer_batch*>, std::vector<pending_record>> out;
  std::lock_guard lock(mutex_);
  for (auto& [name, topic] : topics_) {
    for (auto& p : topic->partitions) {
      out.first.insert(out.first.end(), p.queue.begin(), p.queue.end());
      p.queue.clear();
    }
    for (auto& r : topic->pending) out.second.push_back(std::move(r));
    topic->pending.clear();
    topic->pending_bytes.clear();
  }
  return out;
}

// Before the first queued batch that has no sequence or a later one: retried batches go
// back in sequence order, ahead of those never sent.
void producer_accumulator::insert_in_sequence_order(producer_partition& p,
                                                    std::int32_t base_sequence,
                                                    std::span<producer_batch* const> batches) {
  auto pos = p.queue.begin();
  while (pos != p.queue.end() && (*pos)->base_sequence >= 0 &&
         (*pos)->base_sequence < base_sequence)
    ++pos;
  p.queue.insert(pos, batches.begin(), batches.end());
}

void producer_accumulator::requeue(producer_batch* b, accumulator_clock::time_point retry_at) {
  auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
  std::lock_guard lock(mutex_);
  --p.in_flight;
  ++b->attempts;
  b->retry_at = retry_at;
  insert_in_sequence_order(p, b->base_sequence, std::span(&b, 1));
}

void producer_accumulator::left_flight(producer_batch* b) {
  std::lock_guard lock(mutex_);
  --b->topic->partitions[static_cast<std::size_t>(b->partition)].in_flight;
}

void producer_accumulator::recycle(producer_batch* b) {
  b->callbacks.clear();
  std::lock_guard lock(mutex_);
  release_locked(b->reserved);
  decrement_incomplete_locked(b->generation);
  pool_locked(b);
}

// Keeps a batch for reuse. Its buffers stay allocated (a busy producer reuses them without
// touching fresh pages) while the pool holds less than half of buffer.memory; beyond that they
// are freed, so that a burst does not leave its peak allocated.
void producer_accumulator::pool_locked(producer_batch* b) {
  b->reserved = 0;
  const std::int64_t kept = buffers_of(*b);
  if (pooled_bytes_ + kept > config_.buffer_memory / 2) {
    b->builder.release_buffers();
    std::vector<delivery_callback>().swap(b->callbacks);
    std::vector<std::int64_t>().swap(b->timestamps);
  }
  pooled_bytes_ += buffers_of(*b);
  pool_.push_back(b);
}

void producer_accumulator::pending_done(pending_record& r) {
  std::lock_guard lock(mutex_);
  if (r.reserved > 0) release_locked(r.reserved);
  r.reserved = 0;
  decrement_incomplete_locked(r.generation);
}

bool producer_accumulator::split_and_requeue(producer_batch* b, const producer_identity& identity) {
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
  std::vector<producer_batch*> parts;
  std::vector<protocol::header_view> headers;
  std::lock_guard lock(mutex_);
  std::size_t index = 0;
  protocol::record_view r;
  for (auto cursor = view.records(); cursor.next(r); ++index) {
    headers.assign(r.headers.begin(), r.headers.end());
    if (parts.empty() ||
        (!parts.back()->builder.empty() &&
         parts.back()->builder.size_in_bytes() +
                 parts.back()->builder.encoded_record_size(r.timestamp, r.key, r.value, headers) >
             target)) {
      producer_batch* part = new_batch_locked();
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
    producer_batch* part = parts.back();
    part->builder.append(r.timestamp, r.key, r.value, headers);
    part->callbacks.push_back(std::move(b->callbacks[index]));
    part->timestamps.push_back(b->timestamps[index]);
  }
  parts.front()->reserved = b->reserved;  // memory moves with the records
  // Later batches of the topic stay below the size the broker refused.
  producer_topic& topic = *b->topic;
  topic.split_limit = std::min(topic.split_limit, target);
  topic.batch_target = std::min(topic.batch_target, topic.split_limit);
  std::int32_t sequence = b->base_sequence;
  for (auto* part : parts) {
    if (identity.idempotent() && sequence >= 0) {
      part->base_sequence = sequence;
      part->builder.set_producer(identity.producer_id(), identity.epoch(), sequence);
      sequence += part->builder.record_count();
    }
    part->builder.finish();
  }
  auto& p = b->topic->partitions[static_cast<std::size_t>(b->partition)];
  --p.in_flight;
  insert_in_sequence_order(p, b->base_sequence, parts);
  b->callbacks.clear();
  pool_locked(b);
  return true;
}

// The compression ratio goes up at once when batches compress worse (never an oversized batch
// for long), down slowly when they compress better.
void producer_accumulator::batch_finished(producer_batch& b) {
  const auto codec = b.builder.options().codec;
  if (codec == protocol::compression::none) return;
  const auto compressed = b.builder.bytes().size();
  const auto uncompressed = b.builder.size_in_bytes();
  std::lock_guard lock(mutex_);
  if (codec != protocol::compression::lz4) {
    // Counted without waiting (this is the sender): the bound is exceeded by at most the
    // batches in flight until they complete. (lz4 compresses as the batch fills and keeps
    // two blocks of records only: less than what its records were counted for.)
    memory_used_ += static_cast<std::int64_t>(compressed);
    b.reserved += static_cast<std::int64_t>(compressed);
  }
  producer_topic& t = *b.topic;
  // Small batches (sent by linger.ms with a few records) compress worse than full ones and
  // would hold the estimate up for nothing.
  if (uncompressed < t.batch_target / 2) return;
  const double observed =
      std::clamp(static_cast<double>(compressed) / static_cast<double>(uncompressed), 0.05, 1.0);
  t.compression_ratio =
      observed > t.compression_ratio ? observed : 0.75 * t.compression_ratio + 0.25 * observed;
  const double batch_size = std::max(config_.batch_size, 1);
  const double most = std::min(8.0 * batch_size, static_cast<double>(config_.max_request_size));
  t.batch_target = std::min(
      t.split_limit, static_cast<std::size_t>(std::clamp(batch_size / t.compression_ratio,
                                                         batch_size, std::max(most, batch_size))));
}

void producer_accumulator::reset_sequences() {
  std::lock_guard lock(mutex_);
  for (auto& [name, topic] : topics_)
    for (auto& p : topic->partitions) {
      producer_identity::reset(p.sequences);
      for (auto* b : p.queue) b->base_sequence = -1;
    }
}

}  // namespace kwire::client::detail
