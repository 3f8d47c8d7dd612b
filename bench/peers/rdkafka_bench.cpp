// rdkafka-bench: kwire-bench's command line and result line on librdkafka's C API, the
// reference kwire is measured against (bench/compare.sh, bench/README.md).
//
//   rdkafka-bench produce -b B -t T -n RECORDS -s SIZE [--rate R] [-X prop=value]...
//   rdkafka-bench consume -b B -t T -n RECORDS [-X prop=value]...
//   rdkafka-bench e2e -b B -t T -n RECORDS -s SIZE --rate R [-X prop=value]...
//   rdkafka-bench payload -n COUNT -s SIZE     (records 0..COUNT-1 of bench/peers/payload.hpp,
//                                               one a line: the Java tool's --payload-file)
//
// -X properties go to librdkafka's configuration unchanged (it knows most Java names: acks,
// linger.ms, batch.size, compression.type, enable.idempotence, group.id, ...). Progress goes to
// stderr; the last stdout line is the JSON result. Exit 0 when every record made it, 1 when
// some did not (or the run failed), 2 on a usage or configuration error.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "payload.hpp"

namespace {

using kwire::bench::Args;
using kwire::bench::has_prop;
using kwire::bench::LatencyHistogram;
using kwire::bench::Mode;
using kwire::bench::now_ns;

constexpr const char* kProg = "rdkafka-bench";
constexpr double kDefaultTimeoutS = 600;
constexpr std::int64_t kSecond = 1'000'000'000;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(int code, const std::string& msg) {
  std::fprintf(stderr, "%s: error: %s\n", kProg, msg.c_str());
  std::exit(code);
}

void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char* fmt, ...) {
  std::fprintf(stderr, "%s: ", kProg);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

struct RkDelete {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct TopicDelete {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
struct QueueDelete {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using RkPtr = std::unique_ptr<rd_kafka_t, RkDelete>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDelete>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDelete>;

// A configuration with bootstrap.servers, our defaults, then every -X in order.
rd_kafka_conf_t* make_conf(const Args& a, rd_kafka_type_t type) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  const auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      die(2, "-X " + k + "=" + v + ": " + err);
    }
  };
  set("bootstrap.servers", a.bootstrap);
  set("client.id", kProg);
  if (type == RD_KAFKA_CONSUMER) {
    set("auto.offset.reset", "earliest");  // a group with no offsets reads from the start
    set("enable.auto.commit", "false");    // a benchmark leaves no trace in the group
  }
  if (!a.debug.empty()) set("debug", a.debug);  // librdkafka's own categories
  for (const auto& [k, v] : a.props) set(k, v);
  return conf;
}

RkPtr make_client(rd_kafka_conf_t* conf, rd_kafka_type_t type) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    die(2, std::string("cannot create the librdkafka client: ") + err);
  }
  return RkPtr(rk);
}

TopicPtr make_topic(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (!t) die(1, "topic " + topic + ": " + rd_kafka_err2str(rd_kafka_last_error()));
  return TopicPtr(t);
}

// The topic's partition count once the broker knows it (waits for auto-creation up to 15 s):
// also makes sure the client is connected before any clock starts.
int partition_count(rd_kafka_t* rk, rd_kafka_topic_t* rkt, const std::string& topic) {
  const std::int64_t deadline = now_ns() + 15 * kSecond;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10'000);
    rd_kafka_resp_err_t topic_err = err;
    int parts = 0;
    if (!err) {
      if (md->topic_cnt == 1) {
        topic_err = md->topics[0].err;
        parts = md->topics[0].partition_cnt;
      }
      rd_kafka_metadata_destroy(md);
      if (!topic_err && parts > 0) return parts;
    }
    if (now_ns() > deadline || g_stop) {
      die(1, "no metadata for topic " + topic + ": " + rd_kafka_err2str(topic_err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Prints a progress line to stderr at most once a second.
class Progress {
 public:
  Progress(const char* what, std::int64_t start)
      : what_(what), start_(start), next_(start + kSecond) {}
  void tick(std::int64_t now, std::uint64_t done, std::uint64_t total, std::uint64_t failed) {
    if (now < next_) return;
    const double secs = static_cast<double>(now - start_) / 1e9;
    note("%.0f s: %llu/%llu %s (%.0f/s), %llu failed", secs, static_cast<unsigned long long>(done),
         static_cast<unsigned long long>(total), what_, static_cast<double>(done) / secs,
         static_cast<unsigned long long>(failed));
    next_ = now + kSecond;
  }

 private:
  const char* what_;
  std::int64_t start_;
  std::int64_t next_;
};

// ------------------------------------------------------------------ producing

struct Delivery {
  LatencyHistogram* latency = nullptr;  // send -> delivery report (produce mode only)
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::int64_t last_ns = 0;
  std::uint64_t expected = 0;  // records to be sent: the last report reads the clock
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// Delivery reports run in the thread that calls rd_kafka_poll/flush: the sending thread.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& d = *static_cast<Delivery*>(opaque);
  const auto intended = static_cast<std::int64_t>(reinterpret_cast<intptr_t>(m->_private));
  const bool timed = intended != kwire::bench::kNotTimed;
  std::int64_t now = 0;
  if (timed || d.delivered + d.failed + 1 == d.expected) {
    now = now_ns();
    d.last_ns = now;
  }
  if (m->err) {
    if (d.failed++ == 0) d.first_error = m->err;
    return;
  }
  ++d.delivered;
  if (d.latency && timed) d.latency->record(now - intended);
}

struct Producer {
  RkPtr rk;
  TopicPtr topic;
};

Producer make_producer(const Args& a, Delivery& delivery) {
  rd_kafka_conf_t* conf = make_conf(a, RD_KAFKA_PRODUCER);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &delivery);
  Producer p;
  p.rk = make_client(conf, RD_KAFKA_PRODUCER);
  p.topic = make_topic(p.rk.get(), a.topic);
  return p;
}

// Waits until T, serving delivery reports meanwhile (a report is timestamped when it is served:
// while waiting long they are served at once, otherwise at least every pacing quantum).
void wait_until(rd_kafka_t* rk, std::int64_t t) {
  for (;;) {
    const std::int64_t gap = t - now_ns();
    if (gap <= 0) return;
    if (gap > 2'000'000) {
      rd_kafka_poll(rk, static_cast<int>(gap / 1'000'000) - 1);
      continue;
    }
    rd_kafka_poll(rk, 0);
    kwire::bench::sleep_until_ns(t);
    return;
  }
}

struct SendStats {
  std::int64_t start_ns = 0;
  std::uint64_t sent = 0;         // accepted by rd_kafka_produce
  std::uint64_t send_failed = 0;  // refused by rd_kafka_produce, or never tried
};

// Hands records to the producer, paced when A.rate > 0. With STAMP_TIME the payload carries
// the intended send time (e2e) instead of the record number.
class Sender {
 public:
  Sender(const Producer& p, const Args& a, bool stamp_time, const Delivery& delivery,
         std::int64_t deadline)
      : p_(p),
        a_(a),
        stamp_time_(stamp_time),
        delivery_(delivery),
        deadline_(deadline),
        start_ns_(now_ns()),
        pacer_(a.rate, start_ns_),
        progress_("acknowledged", start_ns_),
        value_(a.size) {}

  // Sends records [from, to); returns the index it got to: `to`, or less when the deadline
  // passed or a signal came.
  std::uint64_t send(std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t i = from; i < to; ++i) {
      if (g_stop) return i;
      send_one(i);
      if ((i & 255) == 0 && !on_schedule(i)) return i + 1;
    }
    return to;
  }

  // What went, counting the records never tried as failed.
  SendStats stats() const {
    SendStats s = stats_;
    s.send_failed += a_.records - s.sent - s.send_failed;
    return s;
  }

 private:
  void send_one(std::uint64_t i) {
    rd_kafka_t* rk = p_.rk.get();
    std::int64_t intended;
    if ((i & 63) == 0) rd_kafka_poll(rk, 0);  // also when behind schedule
    if (pacer_.paced()) {
      intended = pacer_.intended(i);
      if (intended > now_ns()) wait_until(rk, pacer_.wake(i));
    } else {
      intended = kwire::bench::latency_timed(false, i) ? now_ns() : kwire::bench::kNotTimed;
    }
    kwire::bench::fill_payload(value_, i);
    if (stamp_time_) kwire::bench::put_payload_stamp(value_, static_cast<std::uint64_t>(intended));
    char key_buf[24];
    const auto key = kwire::bench::record_key(a_.keys, i, key_buf);
    for (;;) {
      if (rd_kafka_produce(p_.topic.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                           value_.data(), value_.size(), key.empty() ? nullptr : key.data(),
                           key.size(),
                           reinterpret_cast<void*>(static_cast<intptr_t>(intended))) == 0) {
        ++stats_.sent;
        return;
      }
      const rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        if (stats_.send_failed++ == 0) note("produce failed: %s", rd_kafka_err2str(err));
        return;
      }
      rd_kafka_poll(rk, 1);  // the local queue is full: wait for deliveries
      if (g_stop || now_ns() > deadline_) return;
    }
  }

  // Progress once a second; false once the deadline passed (after record I).
  bool on_schedule(std::uint64_t i) {
    const std::int64_t now = now_ns();
    if (now > deadline_) {
      note("timed out after %llu records", static_cast<unsigned long long>(i));
      return false;
    }
    progress_.tick(now, delivery_.delivered, a_.records, delivery_.failed + stats_.send_failed);
    return true;
  }

  const Producer& p_;
  const Args& a_;
  const bool stamp_time_;
  const Delivery& delivery_;
  const std::int64_t deadline_;
  const std::int64_t start_ns_;
  const kwire::bench::Pacer pacer_;
  Progress progress_;
  std::vector<char> value_;
  SendStats stats_{.start_ns = start_ns_};
};

// Hands A.records records to the producer (see Sender).
SendStats send_all(const Producer& p, const Args& a, bool stamp_time, const Delivery& delivery,
                   std::int64_t deadline) {
  Sender sender(p, a, stamp_time, delivery, deadline);
  sender.send(0, a.records);
  return sender.stats();
}

// The milliseconds left until DEADLINE (at least 1), for librdkafka's blocking calls.
int ms_left(std::int64_t deadline) {
  const std::int64_t left = (deadline - now_ns()) / 1'000'000;
  return static_cast<int>(std::clamp<std::int64_t>(left, 1, INT32_MAX));
}

// Whether a transaction call succeeded; if not, says why on stderr and frees the error.
bool txn_ok(const char* what, rd_kafka_error_t* error) {
  if (!error) return true;
  note("%s: %s", what, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  return false;
}

// --txn-records: begin, send a transaction's records, commit (timed: the commit flushes what
// is still queued and serves the delivery reports), until every record went or something
// failed. rd_kafka_init_transactions came before the clock.
void send_in_transactions(const Producer& p, Sender& sender, const Args& a, std::int64_t deadline,
                          kwire::bench::TxnStats& txn) {
  rd_kafka_t* rk = p.rk.get();
  kwire::bench::produce_in_transactions(
      a.records, txn, [&] { return txn_ok("begin_transaction", rd_kafka_begin_transaction(rk)); },
      [&](std::uint64_t from, std::uint64_t to) { return sender.send(from, to); },
      [&] {
        return txn_ok("commit_transaction", rd_kafka_commit_transaction(rk, ms_left(deadline)));
      },
      [&] { txn_ok("abort_transaction", rd_kafka_abort_transaction(rk, ms_left(deadline))); });
}

// Waits (serving delivery reports) until everything sent was acknowledged or DEADLINE passed.
void flush(rd_kafka_t* rk, std::int64_t deadline) {
  while (rd_kafka_outq_len(rk) > 0 && !g_stop) {
    const std::int64_t left_ms = (deadline - now_ns()) / 1'000'000;
    if (left_ms <= 0) break;
    rd_kafka_flush(rk, static_cast<int>(left_ms < 500 ? left_ms : 500));
  }
  if (rd_kafka_outq_len(rk) > 0) note("%d records still unacknowledged", rd_kafka_outq_len(rk));
}

void report_delivery_errors(const Delivery& d) {
  if (d.failed) {
    note("%llu records failed, the first with: %s", static_cast<unsigned long long>(d.failed),
         rd_kafka_err2str(d.first_error));
  }
}

int print_result(kwire::bench::Result r) {
  r.client = "librdkafka";
  r.usage = kwire::bench::process_usage();
  std::fflush(stderr);
  std::printf("%s\n", kwire::bench::result_json(r).c_str());
  std::fflush(stdout);
  return r.failed == 0 && !g_stop ? 0 : 1;
}

// The result of a run of A that got MSGS records (BYTES value bytes) from START to END.
kwire::bench::Result make_result(const Args& a, std::uint64_t msgs, std::uint64_t bytes,
                                 std::int64_t start, std::int64_t end,
                                 const LatencyHistogram* latency) {
  kwire::bench::Result r;
  r.mode = a.mode;
  r.topic = a.topic;
  r.msgs = msgs;
  r.failed = a.records - msgs;
  r.bytes = bytes;
  r.record_size = a.mode == Mode::consume ? (msgs ? bytes / msgs : 0) : a.size;
  r.rate = a.rate;
  r.secs = static_cast<double>(end - start) / 1e9;
  r.latency = latency;
  return r;
}

int run_produce(const Args& a, std::int64_t deadline) {
  auto latency = std::make_unique<LatencyHistogram>();
  Delivery delivery;
  delivery.latency = latency.get();
  delivery.expected = a.records;
  Producer p = make_producer(a, delivery);
  const int parts = partition_count(p.rk.get(), p.topic.get(), a.topic);
  const bool transactional = a.txn_records > 0;
  note("produce %llu x %zu B to %s (%d partitions) at %s, %s%s",
       static_cast<unsigned long long>(a.records), a.size, a.topic.c_str(), parts,
       a.bootstrap.c_str(),
       a.rate > 0 ? (std::to_string(static_cast<long long>(a.rate)) + " records/s").c_str()
                  : "unthrottled",
       transactional ? (", transactions of " + std::to_string(a.txn_records)).c_str() : "");
  // As in kwire-bench, the clock starts once the transactions are initialized.
  if (transactional &&
      !txn_ok("init_transactions", rd_kafka_init_transactions(p.rk.get(), ms_left(deadline))))
    return 1;
  auto txn = std::make_unique<kwire::bench::TxnStats>();
  txn->txn_records = a.txn_records;
  Sender sender(p, a, false, delivery, deadline);
  if (transactional)
    send_in_transactions(p, sender, a, deadline, *txn);
  else
    sender.send(0, a.records);
  flush(p.rk.get(), deadline);
  const SendStats s = sender.stats();
  const std::int64_t end =
      std::max(delivery.last_ns ? delivery.last_ns : now_ns(), txn->last_commit_ns);
  report_delivery_errors(delivery);

  // In transactions a record counts once its transaction committed.
  const std::uint64_t msgs = transactional ? txn->committed_records : delivery.delivered;
  auto r = make_result(a, msgs, msgs * a.size, s.start_ns, end, latency.get());
  if (transactional) r.txn = txn.get();
  p.topic.reset();
  p.rk.reset();  // the final usage includes closing down
  return print_result(r);
}

// ------------------------------------------------------------------ consuming

// Reads every partition of a topic, without a consumer group (the legacy queue API) or, when
// group.id is set, as a member of that group (subscribe).
class Reader {
 public:
  // START_AT_END: from each partition's high watermark at start-up (e2e), else the beginning.
  Reader(const Args& a, bool start_at_end) : group_(has_prop(a, "group.id")) {
    rk_ = make_client(make_conf(a, RD_KAFKA_CONSUMER), RD_KAFKA_CONSUMER);
    if (group_) {
      if (start_at_end) die(2, "e2e reads without a consumer group: drop -X group.id");
      rd_kafka_poll_set_consumer(rk_.get());
      rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(list, a.topic.c_str(), RD_KAFKA_PARTITION_UA);
      const rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_.get(), list);
      rd_kafka_topic_partition_list_destroy(list);
      if (err) die(1, std::string("subscribe: ") + rd_kafka_err2str(err));
      return;
    }
    topic_ = make_topic(rk_.get(), a.topic);
    partitions_ = partition_count(rk_.get(), topic_.get(), a.topic);
    queue_.reset(rd_kafka_queue_new(rk_.get()));
    for (int p = 0; p < partitions_; ++p) {
      std::int64_t offset = RD_KAFKA_OFFSET_BEGINNING;
      if (start_at_end) {
        offset = high_watermark(a.topic, p);
      }
      if (rd_kafka_consume_start_queue(topic_.get(), p, offset, queue_.get()) == -1) {
        die(1, "start reading partition " + std::to_string(p) + ": " +
                   rd_kafka_err2str(rd_kafka_last_error()));
      }
    }
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  ~Reader() {
    if (group_) {
      rd_kafka_consumer_close(rk_.get());
    } else {
      for (int p = 0; p < partitions_; ++p) rd_kafka_consume_stop(topic_.get(), p);
    }
    queue_.reset();
    topic_.reset();
    rk_.reset();
  }

  // Partition P's high watermark; retried for 15 s (a new topic may have no leader yet).
  std::int64_t high_watermark(const std::string& topic, int p) {
    const std::int64_t deadline = now_ns() + 15 * kSecond;
    for (;;) {
      std::int64_t low = 0, high = 0;
      const rd_kafka_resp_err_t err =
          rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), p, &low, &high, 5'000);
      if (!err) return high;
      if (now_ns() > deadline || g_stop) {
        die(1, "watermarks of partition " + std::to_string(p) + ": " + rd_kafka_err2str(err));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Calls ON_RECORD(message, now_ns) for each record until WANT() records arrived, DEADLINE
  // passed or STOP() is true; returns the number of records passed on. Without
  // kRecordTimes, ON_RECORD gets 0 for the time, and the clock is read once per batch of
  // records handed over (first_receipt_ns, last_receipt_ns), as kwire-bench reads it once
  // per poll: a clock read per record was 10% of the CPU of a 100-byte consume run.
  template <bool kRecordTimes = true, typename OnRecord, typename Want, typename Stop>
  std::uint64_t read(OnRecord&& on_record, Want&& want, std::int64_t deadline, Stop&& stop,
                     const char* what) {
    std::uint64_t got = 0;
    std::uint64_t errors = 0;
    Progress progress(what, now_ns());
    auto handle = [&](rd_kafka_message_t* m) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // nothing: an end of partition is not an error
      } else if (m->err) {
        if (errors++ < 10) note("consume error: %s", rd_kafka_message_errstr(m));
      } else if (got < want()) {
        ++got;
        on_record(*m, kRecordTimes ? now_ns() : 0);
      }
    };
    while (got < want() && !g_stop && !stop()) {
      const std::uint64_t got_before = got;
      const std::int64_t now = now_ns();
      if (now > deadline) {
        note("timed out after %llu records", static_cast<unsigned long long>(got));
        break;
      }
      progress.tick(now, got, want(), errors);
      if (group_) {
        if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), 100)) {
          handle(m);
          rd_kafka_message_destroy(m);
        }
      } else if (rd_kafka_consume_callback_queue(queue_.get(), 100, &call<decltype(handle)>,
                                                 &handle) < 0) {
        die(1, std::string("consume: ") + rd_kafka_err2str(rd_kafka_last_error()));
      }
      if (got > got_before) {
        last_receipt_ns_ = now_ns();
        if (first_receipt_ns_ < 0) first_receipt_ns_ = last_receipt_ns_;
      }
    }
    return got;
  }
  // When read() had handed over its first and its last batch of records; -1 before any.
  std::int64_t first_receipt_ns() const { return first_receipt_ns_; }
  std::int64_t last_receipt_ns() const { return last_receipt_ns_; }

 private:
  // rd_kafka_consume_callback_queue waits up to its timeout for the first message, then passes
  // on every message already queued (rd_kafka_consume_batch_queue would wait for a full batch).
  template <typename F>
  static void call(rd_kafka_message_t* m, void* f) {
    (*static_cast<F*>(f))(m);
  }

  bool group_;
  RkPtr rk_;
  TopicPtr topic_;
  QueuePtr queue_;
  int partitions_ = 0;
  std::int64_t first_receipt_ns_ = -1;
  std::int64_t last_receipt_ns_ = -1;
};

int run_consume(const Args& a, std::int64_t deadline) {
  Reader reader(a, false);
  note("consume %llu records from %s at %s%s", static_cast<unsigned long long>(a.records),
       a.topic.c_str(), a.bootstrap.c_str(), has_prop(a, "group.id") ? " (group)" : "");
  const std::int64_t start = now_ns();
  std::uint64_t bytes = 0;
  const std::uint64_t got =
      reader.read<false>([&](const rd_kafka_message_t& m, std::int64_t) { bytes += m.len; },
                         [&] { return a.records; }, deadline, [] { return false; }, "received");

  const std::int64_t first = reader.first_receipt_ns();
  auto r =
      make_result(a, got, bytes, start, first >= 0 ? reader.last_receipt_ns() : start, nullptr);
  if (first >= 0) r.first_s = static_cast<double>(first - start) / 1e9;
  return print_result(r);
}

// ------------------------------------------------------------------ end to end

int run_e2e(const Args& a, std::int64_t deadline) {
  Reader reader(a, true);
  Delivery delivery;  // no latency here: the receiving thread measures send -> receipt
  Producer p = make_producer(a, delivery);
  const int parts = partition_count(p.rk.get(), p.topic.get(), a.topic);
  note("e2e %llu x %zu B through %s (%d partitions) at %s, %.0f records/s",
       static_cast<unsigned long long>(a.records), a.size, a.topic.c_str(), parts,
       a.bootstrap.c_str(), a.rate);

  auto latency = std::make_unique<LatencyHistogram>();
  std::atomic<std::uint64_t> expected{a.records};  // lowered when records fail to be sent
  std::atomic<bool> give_up{false};
  std::uint64_t received = 0, bytes = 0, bad_stamps = 0;
  std::int64_t last = 0;
  std::thread receiver([&] {
    received = reader.read(
        [&](const rd_kafka_message_t& m, std::int64_t now) {
          bytes += m.len;
          last = now;
          std::uint64_t sent_at = 0;
          if (kwire::bench::read_payload_stamp({static_cast<const char*>(m.payload), m.len},
                                               sent_at)) {
            latency->record(now - static_cast<std::int64_t>(sent_at));
          } else {
            ++bad_stamps;
          }
        },
        [&] { return expected.load(std::memory_order_relaxed); }, deadline,
        [&] { return give_up.load(std::memory_order_relaxed); }, "received");
  });

  const SendStats s = send_all(p, a, true, delivery, deadline);
  flush(p.rk.get(), deadline);
  report_delivery_errors(delivery);
  if (delivery.delivered < a.records) expected.store(delivery.delivered);
  if (g_stop) give_up.store(true);
  receiver.join();
  if (bad_stamps)
    note("%llu records without a send time (not ours?)",
         static_cast<unsigned long long>(bad_stamps));

  return print_result(
      make_result(a, received, bytes, s.start_ns, last ? last : now_ns(), latency.get()));
}

// ------------------------------------------------------------------ payload file

int run_payload(int argc, char** argv) {
  std::uint64_t count = 0;
  std::size_t size = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view opt = argv[i];
    if (opt == "-n") {
      count = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (opt == "-s") {
      size = std::strtoull(argv[i + 1], nullptr, 10);
    } else {
      die(2, "payload takes -n COUNT -s SIZE");
    }
  }
  if (argc % 2 != 0 || count == 0 || size == 0) die(2, "payload takes -n COUNT -s SIZE");
  std::vector<char> line(size + 1, '\n');
  for (std::uint64_t i = 0; i < count; ++i) {
    kwire::bench::fill_payload({line.data(), size}, i);
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && (std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help")) {
    std::fputs(kwire::bench::usage_text(kProg).c_str(), stdout);
    std::printf("       %s payload -n COUNT -s SIZE\n", kProg);
    return 0;
  }
  if (argc >= 2 && std::string_view(argv[1]) == "payload") return run_payload(argc, argv);
  Args args;
  if (const auto err = kwire::bench::parse_args(argc, argv, args)) {
    std::fprintf(stderr, "%s: %s\n%s", kProg, err->c_str(),
                 kwire::bench::usage_text(kProg).c_str());
    return 2;
  }
  kwire::bench::ensure_transactional_id(args, kProg);
  if (args.metrics) {
    std::fprintf(stderr, "%s: --metrics is kwire-bench's (librdkafka has statistics.interval.ms)\n",
                 kProg);
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  kwire::bench::tighten_timer_slack();
  note("librdkafka %s", rd_kafka_version_str());
  const double timeout_s = args.timeout_s > 0 ? args.timeout_s : kDefaultTimeoutS;
  const std::int64_t deadline = now_ns() + static_cast<std::int64_t>(timeout_s * 1e9);
  switch (args.mode) {
    case Mode::produce:
      return run_produce(args, deadline);
    case Mode::consume:
      return run_consume(args, deadline);
    case Mode::e2e:
      return run_e2e(args, deadline);
  }
  return 2;
}
