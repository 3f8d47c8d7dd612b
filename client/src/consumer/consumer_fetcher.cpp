// consumer_fetcher.hpp: fetching, per broker.
#include "consumer/consumer_fetcher.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

#include "core/observer.hpp"

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

namespace kwire::client::detail {
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

}  // namespace

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

using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

// A broker gets no Fetch while this many of its responses wait for poll.
constexpr std::size_t kMaxWaitingResponses = 2;

// Under read_committed, the transactions a Fetch response says were aborted, walked as
// Java's CompletedFetch walks them: in order of first offset, a producer id joins the
// aborted ones when the batches reach its transaction's first offset; its transactional
// data batches are dropped from then on, until its ABORT marker. Allocates only for a
// response that names aborted transactions (and only when they come out of order).
class aborted_transactions {
 public:
  using entry = protocol::FetchResponse::AbortedTransaction;

  explicit aborted_transactions(std::span<const entry> given) : pending_(given) {
    const auto by_first = [](const entry& a, const entry& b) {
      return a.first_offset < b.first_offset;
    };
    if (!std::is_sorted(given.begin(), given.end(), by_first)) {
      sorted_.assign(given.begin(), given.end());
      std::stable_sort(sorted_.begin(), sorted_.end(), by_first);
      pending_ = sorted_;
    }
  }
  bool empty() const noexcept { return pending_.empty() && producers_.empty(); }
  // The transactions that start at or before `last` (a batch's last offset) are open.
  void reach(std::int64_t last) {
    while (!pending_.empty() && pending_.front().first_offset <= last) {
      if (!is_aborted(pending_.front().producer_id))
        producers_.push_back(pending_.front().producer_id);
      pending_ = pending_.subspan(1);
    }
  }
  bool is_aborted(std::int64_t producer_id) const noexcept {
    return std::find(producers_.begin(), producers_.end(), producer_id) != producers_.end();
  }
  // The producer's ABORT marker: its aborted transaction ends there.
  void end(std::int64_t producer_id) noexcept { std::erase(producers_, producer_id); }

 private:
  std::span<const entry> pending_;  // not reached yet, by first offset
  std::vector<entry> sorted_;       // the response's, when they are out of order
  std::vector<std::int64_t> producers_;
};

}  // namespace

// What the checks of one partition's records found: the batches that may reach the
// application (those at or after the offset asked for, but for aborted transactions under
// read_committed), then the first problem, if any.
struct consumer_fetcher::checked_batches {
  ready_chunk ready;  // batches, counts, next_offset and last_epoch filled in
  std::error_code error;
  std::string where;  // the error's place, for the diagnostics
};

// Checks every batch of one partition's records (CRC, codec, records) before any of it can
// reach the application; compressed records are decompressed into `owner`'s memory.
consumer_fetcher::checked_batches consumer_fetcher::check_batches(
    std::span<const std::uint8_t> records, std::int64_t from, fetched_buffers& owner,
    bool verify_crc, std::span<const protocol::FetchResponse::AbortedTransaction> aborted_given) {
  checked_batches out;
  aborted_transactions aborted(aborted_given);
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
    if (h.producer_id != protocol::no_producer_id && !aborted.empty()) {
      aborted.reach(last);
      if (aborted.is_aborted(h.producer_id)) {
        if (!h.is_control()) {
          if (h.is_transactional()) {  // data of an aborted transaction: never handed out
            ready.next_offset = last + 1;
            if (h.partition_leader_epoch >= 0) ready.last_epoch = h.partition_leader_epoch;
            continue;
          }
        } else {
          protocol::record_view r;
          protocol::control_record_key key;
          auto cursor = batch.records();
          if (!cursor.next(r) || protocol::parse_control_record_key(r, key)) {
            out.error =
                cursor.error() ? cursor.error() : make_error_code(protocol::errc::invalid_record);
            out.where =
                "malformed control record in the batch at offset " + std::to_string(h.base_offset);
            break;
          }
          if (key.type == protocol::control_type::abort) aborted.end(h.producer_id);
        }
      }
    }
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
  if (!out.error && ready.next_offset == from && reader.incomplete_tail()) {
    // Not even one whole batch: a batch larger than max.partition.fetch.bytes from a
    // broker that does not send an oversized first batch.
    out.error = make_error_code(errc::record_too_large);
    out.where =
        "the batch at offset " + std::to_string(from) + " is larger than max.partition.fetch.bytes";
  }
  return out;
}

// A response whose batches are checked off the strand: the partitions whose next fetch went
// out from where their batch headers end, and what the checks found.
struct consumer_fetcher::checking_response {
  struct partition_part {
    topic_partition tp;
    std::uint64_t seek_generation = 0;
    std::int64_t from = 0;  // the offset this fetch asked for
    const protocol::FetchResponse::PartitionData* pd = nullptr;
    diagnostics diag;  // as accept_partition_data left it
    checked_batches checked;
  };
  protocol::FetchResponse response;  // the records point into owner's payload
  std::shared_ptr<fetched_buffers> owner;
  std::size_t bytes = 0;  // the response's size, counted as waiting while it is checked
  std::vector<partition_part> parts;
  bool done = false;
};

consumer_fetcher::consumer_fetcher(const consumer_config& config, cluster& brokers,
                                   consumer_positions& positions, consumer_driver& driver)
    : config_(config),
      cluster_(brokers),
      positions_(positions),
      driver_(driver),
      decode_pool_(
          std::make_shared<decode_block_pool>(static_cast<std::size_t>(config.fetch_max_bytes))) {}

void consumer_fetcher::on_connection_lost(std::int32_t node) {
  if (auto it = node_fetches_.find(node); it != node_fetches_.end()) {
    if (it->second.session.session_id() != 0)
      detail::log(cluster_.observer(), log_level::info, log_category::fetch,
                  "fetch session with node ", node, " reset: connection lost");
    it->second.session.reset();
  }
  forget_preferred_replica(node);
}

// The broker to fetch a partition from: the preferred read replica while its lease lasts
// and the metadata lists it as an online replica of the partition, else the leader (-1:
// none known). `epoch` gets the leader's epoch either way: a follower checks it too.
std::int32_t consumer_fetcher::fetch_node(assigned_partition& p, consumer_clock::time_point now,
                                          std::int32_t& epoch) {
  const auto leader = leader_of(cluster_.metadata(), p.tp, &epoch);
  if (p.preferred_replica < 0 || leader < 0) return leader;
  if (now >= p.preferred_until) {
    // The lease ended: back to the leader, which may name the replica again.
    report_replica_move(p, p.preferred_replica, -1, "lease ended");
    p.preferred_replica = -1;
    return leader;
  }
  if (!is_online_replica(p.tp, p.preferred_replica)) {
    // Stale metadata, or the replica went away: the leader, and fresher metadata.
    report_replica_move(p, p.preferred_replica, -1, "replica not online");
    p.preferred_replica = -1;
    cluster_.request_refresh();
    return leader;
  }
  return p.preferred_replica;
}

bool consumer_fetcher::is_online_replica(const topic_partition& tp, std::int32_t node) const {
  const auto& metadata = cluster_.metadata();
  const auto* t = metadata.topic(tp.topic);
  if (!metadata.broker(node) || !t || tp.partition < 0 ||
      tp.partition >= static_cast<std::int32_t>(t->partitions.size()))
    return false;
  const auto& pm = t->partitions[static_cast<std::size_t>(tp.partition)];
  return std::ranges::find(pm.replicas, node) != pm.replicas.end() &&
         std::ranges::find(pm.offline_replicas, node) == pm.offline_replicas.end();
}

// Log, counter and hook of a partition's fetches moving between replicas (-1: the leader).
void consumer_fetcher::report_replica_move(const assigned_partition& p, std::int32_t from,
                                           std::int32_t to, std::string_view why) {
  auto* o = cluster_.observer();
  if (!o) return;
  o->counters().preferred_replica_moves.add();
  o->log(log_level::info, log_category::fetch, "fetching ", p.tp.topic, "-", p.tp.partition,
         " from ", to < 0 ? std::string("the leader") : "replica " + std::to_string(to),
         " instead of ", from < 0 ? std::string("the leader") : "replica " + std::to_string(from),
         ": ", why);
  if (const auto& hook = o->hooks().on_preferred_replica)
    hook(preferred_replica_event{p.tp, from, to});
}

// A fetch from `node` failed as a whole: its partitions go back to their leaders.
void consumer_fetcher::forget_preferred_replica(std::int32_t node) {
  for (auto& [tp, p] : positions_.partitions())
    if (p.preferred_replica == node) p.preferred_replica = -1;
}

// The responses whose records wait for poll, each once (its chunks sit next to each other
// in positions_.ready()): their bytes, and how many each broker sent. Paused partitions' are
// left out, so that they do not stop the others. One pass: it runs on every drive.
consumer_fetcher::waiting_responses consumer_fetcher::count_waiting_responses() {
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
  for (const auto& r : checking_) {
    out.bytes += r->bytes;
    ++out.by_node[r->owner->node];
  }
  return out;
}

// Nothing is fetched while the waiting responses hold fetch.max.bytes, nor from a broker
// while two of its responses wait (limits for all partitions at once: see
// consumer_fetcher.hpp), so that memory stays near two responses a broker plus the one in
// flight.
void consumer_fetcher::drive(consumer_clock::time_point now,
                             consumer_clock::time_point& next_wakeup) {
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
    if (node < 0) {
      // No leader known: a partition newer than the metadata (CreatePartitions), or a
      // leader election. Fresher metadata, as Java's fetcher asks for (coalesced; at most
      // one request per retry.backoff.ms).
      cluster_.request_refresh();
      continue;
    }
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
    const std::size_t node_waiting = from_node == waiting.by_node.end() ? 0 : from_node->second;
    if (nf.in_flight || node_waiting >= kMaxWaitingResponses) continue;
    if (nf.retry_at > now) {
      next_wakeup = std::min(next_wakeup, nf.retry_at);
      continue;
    }
    if (wanted.empty() && nf.session.session_id() == 0) continue;
    auto conn = cluster_.ready_connection(node);
    if (!conn) continue;
    send_fetch(node, nf, *conn, wanted);
  }
}

void consumer_fetcher::send_fetch(std::int32_t node, node_fetch& nf, connection& conn,
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
    const auto* t = cluster_.metadata().topic(tp.topic);
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
      if (by_id) t.topic_id = cluster_.metadata().topic(tp.topic)->topic_id;
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
        const auto* meta = cluster_.metadata().topic(tp.topic);
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
  expected_offsets expected;
  for (const auto& [tp, params] : wanted)
    if (auto* p = positions_.find(tp)) expected[tp] = {params.fetch_offset, p->seek_generation};
  nf.in_flight = true;
  conn.send(request, *version,
            [this, alive = driver_.keep_alive(), node, plan = std::move(plan),
             expected = std::move(expected)](std::error_code ec, response_frame frame) mutable {
              handle_fetch(node, plan, expected, ec, std::move(frame));
            });
}

void consumer_fetcher::handle_fetch(std::int32_t node, const fetch_plan& plan,
                                    const expected_offsets& expected, std::error_code ec,
                                    response_frame frame) {
  if (driver_.closed()) return;
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
    detail::log(cluster_.observer(), log_level::info, log_category::fetch,
                "fetch session with node ", node, " reset: ", ec);
    nf.session.reset();
    nf.retry_at = consumer_clock::now() + driver_.backoff(1);
    if (!is(ec, broker_error::fetch_session_id_not_found) &&
        !is(ec, broker_error::invalid_fetch_session_epoch)) {
      cluster_.request_refresh();
      forget_preferred_replica(node);
    } else {
      nf.retry_at = {};
    }
    return driver_.drive();
  }
  nf.session.on_success(plan, response.session_id);
  auto checking = std::make_shared<checking_response>();
  checking->response = std::move(response);  // (the vectors' elements stay where they are)
  checking->owner = std::make_shared<fetched_buffers>();
  auto& owner = checking->owner;
  owner->pool = decode_pool_;
  owner->node = node;
  // The records fields point into the payload; moving the vector keeps its buffer.
  owner->payload = std::move(frame.payload);
  checking->bytes = owner->payload.capacity();
  struct accepted {
    assigned_partition* p;
    const protocol::FetchResponse::PartitionData* pd;
    std::int64_t from;             // the offset this fetch asked for
    bool slot = false;             // fetch_offset moved past the batch headers ahead of the checks
    std::int32_t from_epoch = -1;  // last_fetched_epoch before it moved with fetch_offset
  };
  std::vector<accepted> parts;
  for (const auto& t : checking->response.responses) {
    const std::string_view topic = topic_named(cluster_.metadata(), t.topic, t.topic_id);
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
  // (CRC, decompression, records): the broker serves it while they run.
  for (auto& a : parts) {
    if (a.pd->error_code != 0 || a.pd->diverging_epoch.epoch >= 0 || !a.pd->records) continue;
    const auto end = next_offset_after(a.pd->records->span(), a.from);
    if (end.next_offset <= a.from) continue;
    a.p->fetch_offset = end.next_offset;
    // The next fetch must name the epoch of the last batch it follows (KIP-320): with the
    // epoch of an earlier batch, the leader answers with a diverging epoch that ends before
    // the fetch offset, and the position would go back there, again and again.
    a.from_epoch = a.p->last_fetched_epoch;
    if (end.last_epoch >= 0) a.p->last_fetched_epoch = end.last_epoch;
    a.slot = true;
  }
  // The rest of each partition's answer now; the checks of the records that have a next
  // fetch (all but the odd one: an error, no whole batch) off the strand.
  for (auto& a : parts) {
    if (a.p->phase != partition_phase::fetching) continue;
    diagnostics part_diag = diag;
    if (!accept_partition_data(*a.p, *a.pd, part_diag)) {
      if (a.slot && a.p->phase == partition_phase::fetching) {
        a.p->fetch_offset = a.from;
        a.p->last_fetched_epoch = a.from_epoch;
      }
      continue;
    }
    if (a.slot) {
      checking->parts.push_back(
          {a.p->tp, a.p->seek_generation, a.from, a.pd, std::move(part_diag), {}});
      continue;
    }
    auto checked = check_batches(a.pd->records->span(), a.from, *owner, config_.check_crcs,
                                 aborted_in(*a.pd, read_committed()));
    take_checked(*a.p, a.pd->records->span(), a.from, checked, owner, std::move(part_diag),
                 /*prefetched=*/false);
  }
  if (!checking->parts.empty()) {
    checking_.push_back(checking);  // counts as waiting from now on
    auto ignored = consumer_clock::time_point::max();
    drive(consumer_clock::now(), ignored);  // the next fetches, before the checks
    driver_.run_off_strand(
        [checking, verify = config_.check_crcs, committed = read_committed()] {
          for (auto& part : checking->parts)
            part.checked = check_batches(part.pd->records->span(), part.from, *checking->owner,
                                         verify, aborted_in(*part.pd, committed));
        },
        [this, alive = driver_.keep_alive(), checking] {
          checking->done = true;
          take_checked_responses();
        });
  }
  driver_.drive();  // sends what is fetchable now, then completes a waiting poll
}

void consumer_fetcher::take_checked_responses() {
  while (!checking_.empty() && checking_.front()->done) {
    const auto checking = std::move(checking_.front());
    checking_.pop_front();
    if (driver_.closed()) continue;
    for (auto& part : checking->parts) {
      // Stale when the partition was reassigned, sought, reset or failed meanwhile (a
      // later response of the same partition waits behind this one: never taken first).
      auto* p = positions_.find(part.tp);
      if (!p || p->phase != partition_phase::fetching || p->seek_generation != part.seek_generation)
        continue;
      take_checked(*p, part.pd->records->span(), part.from, part.checked, checking->owner,
                   std::move(part.diag), /*prefetched=*/true);
    }
  }
  if (!driver_.closed()) driver_.drive();
}

std::span<const protocol::FetchResponse::AbortedTransaction> consumer_fetcher::aborted_in(
    const protocol::FetchResponse::PartitionData& pd, bool read_committed) {
  if (!read_committed || !pd.aborted_transactions) return {};
  return *pd.aborted_transactions;
}

std::int64_t consumer_fetcher::end_of_log(const assigned_partition& p) const {
  return read_committed() ? p.marks.last_stable_offset : p.marks.high_watermark;
}

// The offset after the last whole batch at or past `from`, and that batch's leader epoch,
// read from the batch headers alone (no CRC check, no decompression); `from` and -1 when there
// is none.
consumer_fetcher::fetched_end consumer_fetcher::next_offset_after(
    std::span<const std::uint8_t> records, std::int64_t from) {
  fetched_end end{from, -1};
  protocol::record_batch_header h;
  for (std::size_t pos = 0; pos + protocol::record_batch_header_size <= records.size();) {
    if (protocol::parse_record_batch_header(records.subspan(pos), h) || h.batch_length <= 0) break;
    const std::size_t size = h.size_in_bytes();
    if (size > records.size() - pos) break;  // the cut-off tail of the response
    if (h.last_offset() >= end.next_offset) {
      end.next_offset = h.next_offset();
      if (h.partition_leader_epoch >= 0) end.last_epoch = h.partition_leader_epoch;
    }
    pos += size;
  }
  return end;
}

// One partition of a Fetch response, before its records: its errors, a diverging epoch, a
// preferred replica. Its records then go through check_batches (every batch checked before
// any can reach poll) and take_checked.
bool consumer_fetcher::accept_partition_data(assigned_partition& p,
                                             const protocol::FetchResponse::PartitionData& pd,
                                             diagnostics& diag) {
  diag.topic = p.tp.topic;
  diag.partition = p.tp.partition;
  const auto ec = protocol::broker_error_code(pd.error_code);
  if (pd.high_watermark >= 0) p.marks.high_watermark = pd.high_watermark;
  if (pd.last_stable_offset >= 0) p.marks.last_stable_offset = pd.last_stable_offset;
  if (pd.log_start_offset >= 0) p.marks.log_start_offset = pd.log_start_offset;
  positions_.publish(p);
  if (ec) {
    handle_partition_error(p, ec, std::move(diag));
    return false;
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
    return false;
  }
  if (pd.preferred_read_replica >= 0 && pd.preferred_read_replica != p.preferred_replica) {
    // The leader names a replica (closer to client.rack) and sends no records: fetch from
    // there until the lease ends. Naming the same one again does not renew it (as Java).
    const auto now = consumer_clock::now();
    const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
        consumer_clock::time_point::max() - now);  // metadata.max.age.ms may be near int64 max
    report_replica_move(p, p.preferred_replica, pd.preferred_read_replica, "named by the leader");
    p.preferred_replica = pd.preferred_read_replica;
    p.preferred_until = config_.metadata_max_age < room ? now + config_.metadata_max_age
                                                        : consumer_clock::time_point::max();
  }
  if (!pd.records || pd.records->empty()) {
    if (auto* o = cluster_.observer(); o && end_of_log(p) >= 0)
      o->counters().set_lag(p.tp.topic, p.tp.partition, end_of_log(p), p.fetch_offset);
    return false;
  }
  return true;
}

void consumer_fetcher::take_checked(assigned_partition& p, std::span<const std::uint8_t> records,
                                    std::int64_t first, checked_batches& checked,
                                    const std::shared_ptr<fetched_buffers>& owner, diagnostics diag,
                                    bool prefetched) {
  auto& ready = checked.ready;
  const std::int64_t checked_end = ready.next_offset;  // (ready moves on below)
  if (auto* o = cluster_.observer()) {
    // Per partition and response, not per record: offsets advanced (control records and
    // compacted gaps and aborted transactions included), batch bytes, and the lag the high
    // watermark shows (the last stable offset under read_committed).
    auto& counters = o->counters();
    if (ready.next_offset > first)
      counters.records_received.add(static_cast<std::uint64_t>(ready.next_offset - first));
    counters.record_bytes_received.add(records.size());
    if (end_of_log(p) >= 0)
      counters.set_lag(p.tp.topic, p.tp.partition, end_of_log(p), ready.next_offset);
  }
  // A chunk may hold no batch at all (an aborted transaction's data only): it still moves
  // the position when poll reaches it.
  if (ready.next_offset > first) {
    if (p.fetched_from != diag.broker_id) {
      p.fetched_from = diag.broker_id;
      positions_.publish(p);
    }
    ready.chunk.topic = p.topic;
    ready.chunk.partition = p.tp.partition;
    ready.chunk.owner = owner;
    ready.seek_generation = p.seek_generation;
    // A prefetched chunk moved both when its headers were read (a later fetch may have moved
    // them further since).
    if (!prefetched) {
      p.fetch_offset = ready.next_offset;
      if (ready.last_epoch >= 0) p.last_fetched_epoch = ready.last_epoch;
    }
    positions_.add_ready(p, std::move(ready));
  }
  if (checked.error) {
    // Records before the bad batch still reach the application; then poll reports the
    // error with the offset, and the position stays there until a seek.
    diag.server_message = std::move(checked.where) + " (" + checked.error.message() + ")";
    positions_.fail_partition(p, checked.error, diag, /*drop_buffered=*/false);
  } else if (prefetched && checked_end != next_offset_after(records, first).next_offset) {
    // Cannot happen with a well-formed response: the headers said more than the checks
    // accepted, so the fetch already sent starts past what was delivered.
    diag.server_message =
        "record batches after offset " + std::to_string(first) + " end before their headers say";
    positions_.fail_partition(p, make_error_code(protocol::errc::invalid_record), diag,
                              /*drop_buffered=*/false);
  }
}

void consumer_fetcher::handle_partition_error(assigned_partition& p, std::error_code ec,
                                              diagnostics diag) {
  if (is(ec, broker_error::offset_out_of_range)) {
    if (p.preferred_replica >= 0) {
      // As Java: a follower's log may lag the leader's (or start later); only the
      // leader's answer can tell that the position is out of range. Ask it next.
      p.preferred_replica = -1;
      return;
    }
    diag.server_message = "offset " + std::to_string(p.fetch_offset) + " is out of range";
    positions_.reset_by_policy(p, ec, diag);
  } else if (is_stale_leadership(ec) || protocol::is_retriable(ec)) {
    if (p.preferred_replica >= 0) report_replica_move(p, p.preferred_replica, -1, ec.message());
    p.preferred_replica = -1;  // NOT_LEADER_OR_FOLLOWER and the like: back to the leader
    cluster_.request_refresh();
    p.retry_at = consumer_clock::now() + driver_.backoff(1);
  } else {
    diag.server_message = "fetching offset " + std::to_string(p.fetch_offset);
    positions_.fail_partition(p, ec, diag);
  }
}

}  // namespace kwire::client::detail
