// kwire-bench: throughput and latency of kwire's producer (INTERFACES.md, bench/README.md).
//   kwire-bench produce -b B -t T -n RECORDS -s SIZE [--rate R] [-X prop=value]...
// The command line, payload, pacing, histogram and JSON line are shared with rdkafka-bench
// (bench/peers), so both clients do exactly the same work. One thread sends; one thread runs
// the io_context (kwire's network I/O and delivery callbacks).
#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <csignal>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <thread>

#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/metrics.hpp"
#include "kwire/client/observability.hpp"
#include "kwire/client/producer.hpp"
#include "peers/bench_common.hpp"
#include "peers/payload.hpp"

namespace kb = kwire::bench;
namespace kc = kwire::client;

namespace {

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM: finish early and report

void note(const char* fmt, auto... args) {
  std::fprintf(stderr, "kwire-bench: ");
  std::fprintf(stderr, fmt, args...);
  std::fputc('\n', stderr);
}

// -d: the clients' log on stderr for these categories (checked by main); none: silent.
kc::observability observe_for(const kb::Args& a) {
  kc::observability observe;
  if (a.debug.empty()) return observe;
  kc::parse_log_categories(a.debug, observe.debug, "-d");
  observe.sink = kc::stderr_log_sink();
  return observe;
}

// --metrics: a client's metrics as Prometheus text on stderr (before the JSON line).
void print_metrics(const kb::Args& a, const kc::client_metrics_snapshot& snapshot) {
  if (!a.metrics) return;
  const auto text = kc::to_prometheus_text(snapshot, {{"mode", kb::mode_name(a.mode)}});
  std::fwrite(text.data(), 1, text.size(), stderr);
}

// How long a run may take: --timeout bounds the whole run from the start of main, metadata
// waits included; without it each mode keeps its own generous default.
struct run_limit {
  double timeout_s = 0;  // 0: no --timeout
  std::int64_t deadline_ns = INT64_MAX;

  bool bounded() const noexcept { return timeout_s > 0; }
  // The end of the measured part: the --timeout deadline, or start + default_s.
  std::int64_t measure_deadline(std::int64_t start, double default_s) const noexcept {
    return bounded() ? deadline_ns : start + static_cast<std::int64_t>(default_s * 1e9);
  }
};

// The line a run that hit its deadline ends with (stdout keeps only the JSON result).
void note_timed_out(double secs, std::uint64_t done, std::uint64_t records, const char* what) {
  note("timed out after %g s: %llu of %llu records %s", secs, static_cast<unsigned long long>(done),
       static_cast<unsigned long long>(records), what);
}

// Waits for a result until the deadline; false when the deadline came first.
template <class T>
bool wait_until_deadline(const std::future<T>& result, std::int64_t deadline_ns) {
  if (deadline_ns == INT64_MAX) {
    result.wait();
    return true;
  }
  const auto left = std::chrono::nanoseconds(std::max<std::int64_t>(0, deadline_ns - kb::now_ns()));
  return result.wait_for(left) == std::future_status::ready;
}

struct delivery_state {
  kb::LatencyHistogram latency;  // written by the io thread only
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::int64_t> last_ns{0};
  std::error_code first_error;  // io thread
};

// The io_context that runs kwire's network I/O and callbacks, on threads of its own; it
// stops once the work guard goes (destroy the clients first). The consumer gets two: its
// checks of fetched batches (CRC, decompression) run on the second beside the network I/O,
// as in an application that runs its io_context on a pool.
struct network_thread {
  // --io-threads when given, else `fallback`.
  network_thread(const kb::Args& a, int fallback)
      : network_thread(a.io_threads > 0 ? a.io_threads : fallback) {}
  explicit network_thread(int threads) : io(threads) {
    for (int i = 0; i < threads; ++i) pool.emplace_back([this] { io.run(); });
  }
  network_thread(const network_thread&) = delete;
  network_thread& operator=(const network_thread&) = delete;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> pool;
  // Lets the io_context finish its last handlers and waits for the threads.
  void stop() {
    work.reset();
    for (auto& t : pool)
      if (t.joinable()) t.join();
  }
  ~network_thread() { stop(); }
};

// Waits for the topic's metadata (and so a connection), until the run's deadline; false
// (said on stderr) when it does not come.
bool wait_for_topic(kc::producer& producer, const kb::Args& a, const run_limit& limit) {
  // Shared with the callback, which may run after a timed-out wait here.
  auto known = std::make_shared<std::promise<std::pair<std::error_code, std::int32_t>>>();
  auto answer = known->get_future();
  producer.async_partition_count(a.topic, [known](std::error_code ec, std::int32_t n) {
    known->set_value({ec, n});
  });
  const bool answered = wait_until_deadline(answer, limit.deadline_ns);
  const auto [ec, partitions] =
      answered ? answer.get() : std::pair{make_error_code(kc::errc::metadata_timed_out), 0};
  if (!ec) {
    note("topic %s has %d partitions", a.topic.c_str(), partitions);
    return true;
  }
  if (!answered)
    note_timed_out(limit.timeout_s, 0, a.records, "sent (no metadata for the topic yet)");
  else
    note("no metadata for topic %s: %s", a.topic.c_str(), ec.message().c_str());
  return false;
}

// Runs one of the producer's asynchronous transaction calls (START gets its completion
// handler) and waits for it until DEADLINE_NS: its error, or timed_out.
template <class Start>
std::error_code call_until_deadline(Start start, std::int64_t deadline_ns) {
  // Shared with the handler, which may run after a timed-out wait here.
  auto done = std::make_shared<std::promise<std::error_code>>();
  auto result = done->get_future();
  start([done](std::error_code ec) { done->set_value(ec); });
  if (!wait_until_deadline(result, deadline_ns)) return make_error_code(std::errc::timed_out);
  return result.get();
}

// The sending side of a produce run: hands records to the producer (paced with --rate), each
// with the delivery callback that counts it and times one in 16 (every one when paced).
class record_sender {
 public:
  record_sender(kc::producer& producer, const kb::Args& a, delivery_state& state,
                std::int64_t start, std::int64_t deadline)
      : producer_(producer),
        a_(a),
        state_(state),
        pacer_(a.rate, start),
        deadline_(deadline),
        next_progress_(start + 1'000'000'000),
        value_(a.size) {}

  // Sends records [from, to); returns the index it got to: `to`, or less when the deadline
  // passed or a signal came.
  std::uint64_t send(std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t i = from; i < to; ++i) {
      if (g_stop) return i;
      send_one(i);
      if ((i & 1023) == 0 && !on_schedule()) return i + 1;
    }
    return to;
  }
  std::uint64_t sent() const noexcept { return sent_; }

 private:
  void send_one(std::uint64_t i) {
    std::int64_t intended;
    if (pacer_.paced()) {
      intended = pacer_.intended(i);
      if (intended > kb::now_ns()) kb::sleep_until_ns(pacer_.wake(i));
    } else {
      intended = kb::latency_timed(false, i) ? kb::now_ns() : kb::kNotTimed;
    }
    kb::fill_payload(value_, i);
    char key_buf[24];
    const auto key = kb::record_key(a_.keys, i, key_buf);
    const auto ec = producer_.send(
        {.topic = a_.topic,
         .key = key.empty()
                    ? kwire::protocol::optional_bytes{}
                    : std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()),
         .value = std::span(reinterpret_cast<const std::uint8_t*>(value_.data()), value_.size())},
        [s = &state_, intended, total = a_.records](std::error_code ec,
                                                    const kc::delivery_report&) {
          // Callbacks run on the network thread only, one at a time.
          const bool timed = intended != kb::kNotTimed;
          const bool last = s->delivered.load(std::memory_order_relaxed) +
                                s->failed.load(std::memory_order_relaxed) + 1 ==
                            total;
          std::int64_t now = 0;
          if (timed || last) {
            now = kb::now_ns();
            s->last_ns.store(now, std::memory_order_relaxed);
          }
          if (ec) {
            if (s->failed.fetch_add(1, std::memory_order_relaxed) == 0) s->first_error = ec;
            return;
          }
          if (timed) s->latency.record(now - intended);
          s->delivered.fetch_add(1, std::memory_order_relaxed);
        });
    if (!ec)
      ++sent_;
    else if (refused_++ == 0)
      note("send refused: %s", ec.message().c_str());
  }

  // Progress once a second; false once the deadline passed.
  bool on_schedule() {
    const std::int64_t now = kb::now_ns();
    if (now > deadline_) return false;
    if (now >= next_progress_) {
      note("%llu/%llu acknowledged", static_cast<unsigned long long>(state_.delivered.load()),
           static_cast<unsigned long long>(a_.records));
      next_progress_ = now + 1'000'000'000;
    }
    return true;
  }

  kc::producer& producer_;
  const kb::Args& a_;
  delivery_state& state_;
  const kb::Pacer pacer_;
  const std::int64_t deadline_;
  std::int64_t next_progress_;
  std::vector<char> value_;
  std::uint64_t sent_ = 0, refused_ = 0;
};

// --txn-records: begin, send a transaction's records, commit (timed), until every record
// went or something failed (said on stderr). init_transactions() came before the clock.
void send_in_transactions(kc::producer& producer, record_sender& sender, const kb::Args& a,
                          std::int64_t deadline, kb::TxnStats& txn) {
  const auto failed = [&](const char* what, std::error_code ec) {
    note("%s: %s%s%s", what, ec.message().c_str(),
         producer.transaction_error_context().empty() ? "" : ": ",
         producer.transaction_error_context().c_str());
    return false;
  };
  kb::produce_in_transactions(
      a.records, txn,
      [&] {
        const auto ec = producer.begin_transaction();
        return !ec || failed("begin_transaction", ec);
      },
      [&](std::uint64_t from, std::uint64_t to) { return sender.send(from, to); },
      [&] {
        const auto ec = call_until_deadline(
            [&](auto done) { producer.async_commit_transaction(std::move(done)); }, deadline);
        return !ec || failed("commit_transaction", ec);
      },
      [&] {
        if (const auto ec = call_until_deadline(
                [&](auto done) { producer.async_abort_transaction(std::move(done)); }, deadline))
          failed("abort_transaction", ec);
      });
}

// The producer's configuration: bootstrap.servers, every -X, the -d log; none (said on
// stderr) when a property is refused.
std::optional<kc::producer_config> producer_config_for(const kb::Args& a) {
  kc::properties props{{"bootstrap.servers", a.bootstrap}};
  props.insert(props.end(), a.props.begin(), a.props.end());
  kc::producer_config config;
  if (auto error = kc::parse_producer_config(props, config)) {
    note("%s", error->message.c_str());
    return std::nullopt;
  }
  config.observe = observe_for(a);
  return config;
}

int run_produce(const kb::Args& a, const run_limit& limit) {
  const auto config = producer_config_for(a);
  if (!config) return 2;
  network_thread network(a, 1);
  auto state = std::make_unique<delivery_state>();
  auto producer = std::make_unique<kc::producer>(network.io.get_executor(), *config);
  const bool transactional = a.txn_records > 0;

  note("produce %llu x %zu B to %s at %s, %s%s", static_cast<unsigned long long>(a.records), a.size,
       a.topic.c_str(), a.bootstrap.c_str(),
       a.rate > 0 ? (std::to_string(static_cast<long long>(a.rate)) + " records/s").c_str()
                  : "unthrottled",
       transactional ? (", transactions of " + std::to_string(a.txn_records)).c_str() : "");
  // Like rdkafka-bench: the clock starts once the topic's metadata is known (and so a
  // connection is up), and the producer's transactions are initialized, not during bootstrap.
  const auto init_transactions = [&] {
    const auto ec = call_until_deadline(
        [&](auto done) { producer->async_init_transactions(std::move(done)); }, limit.deadline_ns);
    if (ec) note("init_transactions: %s", ec.message().c_str());
    return !ec;
  };
  if (!wait_for_topic(*producer, a, limit) || (transactional && !init_transactions())) {
    producer->close(std::chrono::milliseconds(1000));
    producer.reset();
    network.stop();
    return 1;
  }
  const std::int64_t start = kb::now_ns();
  const double default_s = 60 + 1e-4 * static_cast<double>(a.records);
  const std::int64_t deadline = limit.measure_deadline(start, default_s);
  record_sender sender(*producer, a, *state, start, deadline);
  auto txn = std::make_unique<kb::TxnStats>();
  txn->txn_records = a.txn_records;
  if (transactional)
    send_in_transactions(*producer, sender, a, deadline, *txn);
  else
    sender.send(0, a.records);
  // Wait for every delivery report (bounded by the deadline).
  while (state->delivered.load() + state->failed.load() < sender.sent() && !g_stop &&
         kb::now_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::int64_t end =
      std::max(state->last_ns.load() ? state->last_ns.load() : kb::now_ns(), txn->last_commit_ns);
  const bool timed_out = state->delivered.load() + state->failed.load() < a.records && !g_stop &&
                         kb::now_ns() >= deadline;
  producer->close(std::chrono::milliseconds(1000));
  print_metrics(a, producer->metrics());
  producer.reset();
  network.stop();
  // After the close: the count the result line reports.
  if (timed_out)
    note_timed_out(limit.bounded() ? limit.timeout_s : default_s, state->delivered.load(),
                   a.records, "acknowledged");
  if (state->failed.load())
    note("%llu records failed, the first with: %s",
         static_cast<unsigned long long>(state->failed.load()),
         state->first_error.message().c_str());

  kb::Result r;
  r.client = "kwire";
  r.mode = a.mode;
  r.topic = a.topic;
  // In transactions a record counts once its transaction committed.
  r.msgs = transactional ? txn->committed_records : state->delivered.load();
  r.failed = a.records - r.msgs;
  r.bytes = r.msgs * a.size;
  r.record_size = a.size;
  r.rate = a.rate;
  r.secs = static_cast<double>(end - start) / 1e9;
  r.latency = &state->latency;
  if (transactional) r.txn = txn.get();
  r.usage = kb::process_usage();
  std::fflush(stderr);
  std::printf("%s\n", kb::result_json(r).c_str());
  std::fflush(stdout);
  return r.failed == 0 && !g_stop ? 0 : 1;
}

// The topic's partition count from the cluster's metadata, or -1 after request.timeout.ms or
// at the run's deadline, whichever comes first.
std::int32_t topic_partitions(boost::asio::io_context& io, const kc::common_config& config,
                              const std::string& topic, std::int64_t deadline_ns) {
  struct lookup {
    std::promise<std::int32_t> count;
    bool answered = false;
  };
  auto state = std::make_shared<lookup>();
  auto strand = boost::asio::make_strand(io);
  auto options = kc::cluster_options_for(config);
  options.allow_auto_topic_creation = false;
  auto cluster = kc::cluster::create(strand, std::move(options));
  const auto left = std::chrono::nanoseconds(std::max<std::int64_t>(0, deadline_ns - kb::now_ns()));
  auto timer = std::make_shared<boost::asio::steady_timer>(
      strand, deadline_ns == INT64_MAX
                  ? std::chrono::nanoseconds(config.request_timeout)
                  : std::min(std::chrono::nanoseconds(config.request_timeout), left));
  auto answer = [state, timer, weak = std::weak_ptr(cluster)](std::int32_t n) {
    if (state->answered) return;
    state->answered = true;
    timer->cancel();
    if (auto c = weak.lock()) c->close();
    state->count.set_value(n);
  };
  boost::asio::post(strand, [cluster, timer, answer, topic] {
    cluster->on_metadata([answer, topic](const kc::cluster_metadata& m) {
      const auto* t = m.topic(topic);
      if (t && t->error_code == 0 && !t->partitions.empty())
        answer(static_cast<std::int32_t>(t->partitions.size()));
    });
    timer->async_wait([answer](boost::system::error_code ec) {
      if (!ec) answer(-1);
    });
    cluster->want_topic(topic);
    cluster->start();
  });
  const auto n = state->count.get_future().get();
  // The cluster's listeners hold the answer; drop them on the strand.
  boost::asio::post(strand, [cluster] { cluster->on_metadata(nullptr); });
  return n;
}

// Every partition of the topic, or none (said on stderr) when its metadata does not come.
std::vector<kc::topic_partition> every_partition(boost::asio::io_context& io,
                                                 const kc::common_config& config, const kb::Args& a,
                                                 const run_limit& limit, const char* what) {
  const std::int32_t partitions = topic_partitions(io, config, a.topic, limit.deadline_ns);
  if (partitions <= 0 && kb::now_ns() >= limit.deadline_ns)
    note_timed_out(limit.timeout_s, 0, a.records,
                   (std::string(what) + " (no metadata for the topic yet)").c_str());
  else if (partitions <= 0)
    note("no metadata for topic %s", a.topic.c_str());
  std::vector<kc::topic_partition> all;
  for (std::int32_t p = 0; p < partitions; ++p) all.push_back({a.topic, p});
  return all;
}

std::pair<std::error_code, kc::record_set> poll_once(kc::consumer& consumer,
                                                     std::chrono::milliseconds timeout) {
  std::promise<std::pair<std::error_code, kc::record_set>> polled;
  consumer.async_poll(timeout, [&polled](std::error_code ec, kc::record_set set) {
    polled.set_value({ec, std::move(set)});
  });
  return polled.get_future().get();
}

void close_consumer(std::unique_ptr<kc::consumer>& consumer) {
  std::promise<void> closed;
  consumer->async_close([&closed] { closed.set_value(); });
  closed.get_future().wait();
  consumer.reset();
}

int run_consume(const kb::Args& a, const run_limit& limit) {
  kc::properties props{{"bootstrap.servers", a.bootstrap}, {"auto.offset.reset", "earliest"}};
  props.insert(props.end(), a.props.begin(), a.props.end());
  kc::consumer_config config;
  if (auto error = kc::parse_consumer_config(props, config)) {
    note("%s", error->message.c_str());
    return 2;
  }
  config.observe = observe_for(a);
  network_thread network(a, 2);
  const auto all = every_partition(network.io, config, a, limit, "received");
  if (all.empty()) return 1;
  note("consume %llu records from %s (%zu partitions) at %s",
       static_cast<unsigned long long>(a.records), a.topic.c_str(), all.size(),
       a.bootstrap.c_str());
  auto consumer = std::make_unique<kc::consumer>(network.io.get_executor(), config);
  if (config.group_id) {
    // A group member: the group's committed offsets, else auto.offset.reset (earliest).
    if (auto ec = consumer->subscribe({a.topic})) {
      note("subscribe: %s", ec.message().c_str());
      return 2;
    }
  } else {
    consumer->assign(all);
    consumer->seek_to_beginning(all);
  }

  const std::int64_t start = kb::now_ns();
  const double default_s = 60 + 1e-5 * static_cast<double>(a.records);
  const std::int64_t deadline = limit.measure_deadline(start, default_s);
  std::int64_t last = start, first = -1;
  std::int64_t next_progress = start + 1'000'000'000;
  std::uint64_t got = 0, bytes = 0;
  std::error_code failure;
  while (got < a.records && !g_stop && kb::now_ns() < deadline) {
    auto [ec, set] = poll_once(*consumer, std::chrono::milliseconds(100));
    if (ec) {
      failure = ec;
      note("poll failed: %s", consumer->last_error_details().describe(ec).c_str());
      break;
    }
    kc::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r) && got < a.records;) {
      bytes += r.value ? r.value->size() : 0;
      ++got;
    }
    if (!set.empty()) {
      last = kb::now_ns();
      if (first < 0) first = last;
    }
    if (last >= next_progress) {
      note("%llu/%llu received", static_cast<unsigned long long>(got),
           static_cast<unsigned long long>(a.records));
      next_progress = last + 1'000'000'000;
    }
  }
  if (got < a.records && !g_stop && !failure && kb::now_ns() >= deadline)
    note_timed_out(limit.bounded() ? limit.timeout_s : default_s, got, a.records, "received");
  print_metrics(a, consumer->metrics());
  close_consumer(consumer);

  kb::Result r;
  r.client = "kwire";
  r.mode = a.mode;
  r.topic = a.topic;
  r.msgs = got;
  r.failed = a.records - got;
  r.bytes = bytes;
  r.record_size = got ? bytes / got : 0;
  r.secs = static_cast<double>(last - start) / 1e9;
  if (first >= 0) r.first_s = static_cast<double>(first - start) / 1e9;
  r.latency = nullptr;
  r.usage = kb::process_usage();
  std::fflush(stderr);
  std::printf("%s\n", kb::result_json(r).c_str());
  std::fflush(stdout);
  return got == a.records && !failure ? 0 : 1;
}

// e2e: one producer sends stamped records at --rate while a consumer of the same process,
// positioned at the end of every partition before the first send, receives them; latency is
// receipt time minus intended send time (both CLOCK_MONOTONIC). -X goes to the producer.
int run_e2e(const kb::Args& a, const run_limit& limit) {
  const auto producer_config = producer_config_for(a);
  if (!producer_config) return 2;
  kc::consumer_config consumer_config;
  if (auto error =
          kc::parse_consumer_config({{"bootstrap.servers", a.bootstrap}}, consumer_config)) {
    note("%s", error->message.c_str());
    return 2;
  }
  consumer_config.observe = observe_for(a);
  network_thread network(a, 1);
  const auto all = every_partition(network.io, consumer_config, a, limit, "received");
  if (all.empty()) return 1;
  auto consumer = std::make_unique<kc::consumer>(network.io.get_executor(), consumer_config);
  consumer->assign(all);
  consumer->seek_to_end(all);
  // Every position known before the first send, so that no record is missed.
  const std::int64_t ready_by = std::min(kb::now_ns() + 30'000'000'000, limit.deadline_ns);
  while (kb::now_ns() < ready_by && !std::ranges::all_of(all, [&](const auto& tp) {
           return consumer->position(tp).has_value();
         }))
    poll_once(*consumer, std::chrono::milliseconds(10));
  auto producer = std::make_unique<kc::producer>(network.io.get_executor(), *producer_config);
  note("e2e %llu x %zu B through %s (%zu partitions) at %s, %.0f records/s",
       static_cast<unsigned long long>(a.records), a.size, a.topic.c_str(), all.size(),
       a.bootstrap.c_str(), a.rate);

  auto latency = std::make_unique<kb::LatencyHistogram>();
  std::atomic<std::uint64_t> expected{a.records};  // lowered when records fail to be sent
  std::uint64_t received = 0, bytes = 0, bad_stamps = 0;
  std::int64_t last = 0;
  const double default_s = 60 + static_cast<double>(a.records) / std::max(a.rate, 1.0);
  const std::int64_t deadline = limit.measure_deadline(kb::now_ns(), default_s);
  std::thread receiver([&] {
    std::int64_t next_progress = kb::now_ns() + 1'000'000'000;
    while (received < expected.load() && !g_stop && kb::now_ns() < deadline) {
      // Like consume: what arrived so far, once a second.
      if (const std::int64_t now = kb::now_ns(); now >= next_progress) {
        note("%llu/%llu received", static_cast<unsigned long long>(received),
             static_cast<unsigned long long>(a.records));
        next_progress = now + 1'000'000'000;
      }
      auto [ec, set] = poll_once(*consumer, std::chrono::milliseconds(100));
      if (ec) {
        note("poll failed: %s", consumer->last_error_details().describe(ec).c_str());
        break;
      }
      const std::int64_t now = kb::now_ns();
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r);) {
        const auto value = r.value.value_or(std::span<const std::uint8_t>{});
        std::uint64_t sent_at = 0;
        if (kb::read_payload_stamp({reinterpret_cast<const char*>(value.data()), value.size()},
                                   sent_at))
          latency->record(now - static_cast<std::int64_t>(sent_at));
        else
          ++bad_stamps;
        bytes += value.size();
        ++received;
        last = now;
      }
    }
  });

  std::vector<char> value(a.size);
  const std::int64_t start = kb::now_ns();
  const kb::Pacer pacer(a.rate, start);
  std::atomic<std::uint64_t> failed{0};
  std::uint64_t sent = 0;
  for (std::uint64_t i = 0; i < a.records && !g_stop && kb::now_ns() < deadline; ++i) {
    const std::int64_t intended = pacer.paced() ? pacer.intended(i) : kb::now_ns();
    if (pacer.paced() && intended > kb::now_ns()) kb::sleep_until_ns(pacer.wake(i));
    kb::fill_payload(value, i);
    kb::put_payload_stamp(value, static_cast<std::uint64_t>(intended));
    const auto ec = producer->send(
        {.topic = a.topic,
         .value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size())},
        [&failed](std::error_code ec, const kc::delivery_report&) {
          if (ec) failed.fetch_add(1, std::memory_order_relaxed);
        });
    if (ec)
      failed.fetch_add(1, std::memory_order_relaxed);
    else
      ++sent;
  }
  {
    // Bounded by the deadline too: a flush waits up to delivery.timeout.ms.
    auto flushed = std::make_shared<std::promise<void>>();
    auto done = flushed->get_future();
    producer->async_flush([flushed] { flushed->set_value(); });
    wait_until_deadline(done, deadline);
  }
  expected.store(a.records - failed.load());
  receiver.join();
  if (received < expected.load() && !g_stop && kb::now_ns() >= deadline)
    note_timed_out(limit.bounded() ? limit.timeout_s : default_s, received, a.records, "received");
  producer->close(std::chrono::milliseconds(1000));
  print_metrics(a, producer->metrics());
  producer.reset();
  print_metrics(a, consumer->metrics());
  close_consumer(consumer);
  if (failed.load())
    note("%llu records were not sent", static_cast<unsigned long long>(failed.load()));
  if (bad_stamps)
    note("%llu records without a send time", static_cast<unsigned long long>(bad_stamps));

  kb::Result r;
  r.client = "kwire";
  r.mode = a.mode;
  r.topic = a.topic;
  r.msgs = received;
  r.failed = a.records - std::min(received, a.records);
  r.bytes = bytes;
  r.record_size = a.size;
  r.rate = a.rate;
  r.secs = static_cast<double>((last ? last : kb::now_ns()) - start) / 1e9;
  r.latency = latency.get();
  r.usage = kb::process_usage();
  std::fflush(stderr);
  std::printf("%s\n", kb::result_json(r).c_str());
  std::fflush(stdout);
  return r.failed == 0 && !g_stop ? 0 : 1;
}

// -h or --help as the first argument or in an option's place after the mode (option values
// are not options: `-t --help` names a topic).
bool asks_for_help(int argc, char** argv) {
  const auto is_help = [](std::string_view arg) { return arg == "-h" || arg == "--help"; };
  if (argc < 2) return false;
  if (is_help(argv[1])) return true;
  for (int i = 2; i < argc; i += std::string_view(argv[i]) == "--metrics" ? 1 : 2)
    if (is_help(argv[i])) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (asks_for_help(argc, argv)) {
    std::fputs(kb::usage_text("kwire-bench").c_str(), stdout);
    return 0;
  }
  kb::Args args;
  if (auto error = kb::parse_args(argc, argv, args)) {
    std::fprintf(stderr, "kwire-bench: %s\n%s", error->c_str(),
                 kb::usage_text("kwire-bench").c_str());
    return 2;
  }
  kb::ensure_transactional_id(args, "kwire-bench");
  if (kc::log_categories categories;
      auto error =
          kc::parse_log_categories(args.debug.empty() ? "all" : args.debug, categories, "-d")) {
    std::fprintf(stderr, "kwire-bench: %s\n%s", error->message.c_str(),
                 kb::usage_text("kwire-bench").c_str());
    return 2;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  kb::tighten_timer_slack();
  run_limit limit;
  if (args.timeout_s > 0) {
    limit.timeout_s = args.timeout_s;
    limit.deadline_ns = kb::now_ns() + static_cast<std::int64_t>(args.timeout_s * 1e9);
  }
  switch (args.mode) {
    case kb::Mode::produce:
      return run_produce(args, limit);
    case kb::Mode::consume:
      return run_consume(args, limit);
    case kb::Mode::e2e:
      return run_e2e(args, limit);
    default:
      std::fprintf(stderr, "kwire-bench: %s is not implemented yet (it comes with the consumer)\n",
                   kb::mode_name(args.mode));
      return 2;
  }
}
