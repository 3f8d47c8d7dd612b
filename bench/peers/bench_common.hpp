// bench/peers/bench_common.hpp - what every `*-bench` client shares: the command line of
// kwire-bench (see /work/shared/INTERFACES.md and bench/README.md), the clock, even pacing,
// the latency histogram, resource usage and the JSON result line. Header-only, standard
// library and POSIX only, so that kwire-bench and the peers print identical results.
#pragma once

#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "payload.hpp"

namespace kwire::bench {

// ------------------------------------------------------------------ clock and pacing

// CLOCK_MONOTONIC in nanoseconds (the clock e2e payload stamps carry).
inline std::int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Sleeps until CLOCK_MONOTONIC reaches T (absolute, so errors do not add up).
inline void sleep_until_ns(std::int64_t t) noexcept {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(t / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(t % 1'000'000'000);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// Asks the kernel to wake this thread on time (the default timer slack is 50 us, as long as
// the gap between two sends at 20,000 msg/s).
inline void tighten_timer_slack() noexcept { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

// Even pacing at RATE records per second from START: record I is due at intended(I), whatever
// happened to the records before it. Latency measured from intended(I) rather than from the
// moment the record was really handed over includes the time it waited behind a slow client
// (no coordinated omission). A sender sleeps until wake(I), intended(I) rounded up to a grid of
// kQuantumNs, then sends every record already due: at most 10,000 wake-ups a second, so that
// pacing costs little CPU, and each record waits at most 0.1 ms (which its latency includes).
// Nothing is ever sent before it is due.
class Pacer {
 public:
  static constexpr std::int64_t kQuantumNs = 100'000;

  Pacer(double rate, std::int64_t start_ns) noexcept
      : interval_ns_(rate > 0 ? 1e9 / rate : 0.0), start_ns_(start_ns) {}
  bool paced() const noexcept { return interval_ns_ > 0; }
  std::int64_t intended(std::uint64_t i) const noexcept {
    return start_ns_ +
           static_cast<std::int64_t>(std::llround(static_cast<double>(i) * interval_ns_));
  }
  std::int64_t wake(std::uint64_t i) const noexcept {
    const std::int64_t since = intended(i) - start_ns_;
    return start_ns_ + (since + kQuantumNs - 1) / kQuantumNs * kQuantumNs;
  }

 private:
  double interval_ns_;
  std::int64_t start_ns_;
};

// Which records have their latency measured. Fixed-rate runs: every record. Unthrottled runs:
// one in kUnpacedLatencyEvery, the same records in every bench: reading the clock at the send
// and at the acknowledgement of every record costs about as much CPU as a fast client's own
// work on it, and that CPU would be counted as the client's. A record not timed carries
// kNotTimed instead of its send time; the run's end is still read at its last acknowledgement.
inline constexpr std::uint64_t kUnpacedLatencyEvery = 16;
inline constexpr std::int64_t kNotTimed = -1;
inline bool latency_timed(bool paced, std::uint64_t record) noexcept {
  return paced || record % kUnpacedLatencyEvery == 0;
}

// ------------------------------------------------------------------ latency histogram

// Log-linear histogram of non-negative nanosecond values (HdrHistogram's layout): exact below
// 2^kSubBits ns, then 2^kSubBits equal buckets per power of two, so a reported percentile is
// within 0.4% of the true value. Fixed size (~59 KB), no allocation when recording.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSub = 1ULL << kSubBits;
  static constexpr std::size_t kBuckets = (65 - kSubBits) * kSub;

  void record(std::int64_t ns) noexcept {
    const std::uint64_t v = ns > 0 ? static_cast<std::uint64_t>(ns) : 0;
    ++counts_[index(v)];
    ++count_;
    sum_ += static_cast<double>(v);
    if (v > max_) max_ = v;
  }

  std::uint64_t count() const noexcept { return count_; }
  double max_ms() const noexcept { return static_cast<double>(max_) / 1e6; }
  double mean_ms() const noexcept { return count_ ? sum_ / static_cast<double>(count_) / 1e6 : 0; }

  // The Q-quantile (0 < Q <= 1) in milliseconds: the middle of the bucket holding the
  // ceil(Q * count)-th smallest value, never above the largest value recorded; -1 when empty.
  double percentile_ms(double q) const noexcept {
    if (count_ == 0) return -1;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    if (rank < 1) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t mid = lowest(i) + width(i) / 2;
        return static_cast<double>(mid < max_ ? mid : max_) / 1e6;
      }
    }
    return max_ms();
  }

 private:
  static std::size_t index(std::uint64_t v) noexcept {
    if (v < kSub) return static_cast<std::size_t>(v);
    const int msb = std::bit_width(v) - 1;  // >= kSubBits
    const int shift = msb - kSubBits;
    const std::uint64_t sub = (v >> shift) - kSub;  // [0, kSub)
    return static_cast<std::size_t>(kSub + static_cast<std::uint64_t>(shift) * kSub + sub);
  }
  static std::uint64_t lowest(std::size_t i) noexcept {
    if (i < kSub) return i;
    const std::uint64_t k = i - kSub;
    return (kSub + k % kSub) << (k / kSub);
  }
  static std::uint64_t width(std::size_t i) noexcept {
    return i < kSub ? 1 : 1ULL << ((i - kSub) / kSub);
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  double sum_ = 0;
};

// ------------------------------------------------------------------ command line

enum class Mode { produce, consume, e2e };

inline const char* mode_name(Mode m) noexcept {
  switch (m) {
    case Mode::produce:
      return "produce";
    case Mode::consume:
      return "consume";
    case Mode::e2e:
      return "e2e";
  }
  return "?";
}

struct Args {
  Mode mode = Mode::produce;
  std::string bootstrap;
  std::string topic;
  std::uint64_t records = 0;
  std::size_t size = 0;
  double rate = 0;       // records/s; 0 = as fast as possible
  double timeout_s = 0;  // give up after this long (0 = the default of the client)
  std::vector<std::pair<std::string, std::string>> props;  // -X name=value, in order
  std::string debug;       // -d CATEGORY[,CATEGORY]: the client's debug log on stderr
  bool metrics = false;    // --metrics: the client's metrics on stderr at the end
  int io_threads = 0;      // --io-threads N: kwire-bench's io_context threads (0: its default)
  std::uint64_t keys = 0;  // --keys K: record i gets the key "k<i mod K>" (0: null keys)
  std::uint64_t txn_records = 0;  // --txn-records N: produce in transactions of N records
};

inline bool has_prop(const Args& a, std::string_view name) {
  for (const auto& [k, v] : a.props)
    if (k == name) return true;
  return false;
}

// The key of record `i` with --keys `keys` into `buf` (no allocation per record); empty when
// records have no key.
inline std::string_view record_key(std::uint64_t keys, std::uint64_t i, char (&buf)[24]) {
  if (keys == 0) return {};
  buf[0] = 'k';
  const auto end = std::to_chars(buf + 1, buf + sizeof buf, i % keys).ptr;
  return {buf, static_cast<std::size_t>(end - buf)};
}

inline std::string usage_text(std::string_view prog) {
  std::string p(prog);
  return "usage: " + p + " produce -b BOOTSTRAP -t TOPIC -n RECORDS -s SIZE [--rate R]" +
         " [-X prop=value]... [--timeout SECS]\n       " + p +
         " consume -b BOOTSTRAP -t TOPIC -n RECORDS [-X prop=value]... [--timeout SECS]\n       " +
         p + " e2e -b BOOTSTRAP -t TOPIC -n RECORDS -s SIZE --rate R [-X prop=value]..." +
         " [--timeout SECS]\n" +
         "every mode also takes:\n"
         "  -d CATEGORY[,CATEGORY]  the client's debug log for these categories on stderr\n"
         "                          (all, broker, protocol, metadata, producer, eos, consumer,\n"
         "                          fetch, cgrp, admin, security; rdkafka-bench: librdkafka's)\n"
         "  --metrics               the client's metrics, Prometheus text, on stderr at the end\n"
         "                          (kwire-bench only)\n"
         "  --io-threads N          threads running kwire's io_context (kwire-bench only;\n"
         "                          default 2 for consume, else 1)\n"
         "  --keys K                produce: record i gets the key \"k<i mod K>\" (spread over\n"
         "                          partitions by its hash); default: no keys (sticky "
         "partitions)\n"
         "  --txn-records N         produce: in transactions of N records (init once, then\n"
         "                          begin, send N, commit); -X transactional.id=ID, or one\n"
         "                          is made up\n";
}

namespace detail {
template <typename T>
bool parse_number(std::string_view s, T& out) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}
}  // namespace detail

// Parses argv[1..] into ARGS; on a usage error returns the message (the caller prints it with
// usage_text() and exits 2).
inline std::optional<std::string> parse_args(int argc, char** argv, Args& args) {
  if (argc < 2) return "missing mode (produce, consume or e2e)";
  const std::string_view mode = argv[1];
  if (mode == "produce") {
    args.mode = Mode::produce;
  } else if (mode == "consume") {
    args.mode = Mode::consume;
  } else if (mode == "e2e") {
    args.mode = Mode::e2e;
  } else {
    return "unknown mode '" + std::string(mode) + "' (produce, consume or e2e)";
  }
  bool have_n = false, have_s = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view opt = argv[i];
    if (opt == "--metrics") {  // the one flag
      args.metrics = true;
      continue;
    }
    if (i + 1 >= argc) return "option " + std::string(opt) + " needs a value";
    const std::string_view val = argv[++i];
    if (opt == "-b") {
      args.bootstrap = val;
    } else if (opt == "-t") {
      args.topic = val;
    } else if (opt == "-n") {
      if (!detail::parse_number(val, args.records) || args.records == 0)
        return "-n needs a positive record count, got '" + std::string(val) + "'";
      have_n = true;
    } else if (opt == "-s") {
      if (!detail::parse_number(val, args.size) || args.size == 0 || args.size > (64u << 20))
        return "-s needs a record size of 1 to 67108864 bytes, got '" + std::string(val) + "'";
      have_s = true;
    } else if (opt == "--rate") {
      if (!detail::parse_number(val, args.rate) || !(args.rate > 0) || !std::isfinite(args.rate))
        return "--rate needs a positive number of records per second, got '" + std::string(val) +
               "'";
    } else if (opt == "--io-threads") {
      if (!detail::parse_number(val, args.io_threads) || args.io_threads < 1 ||
          args.io_threads > 64)
        return "--io-threads needs a number of threads from 1 to 64, got '" + std::string(val) +
               "'";
    } else if (opt == "--keys") {
      if (!detail::parse_number(val, args.keys) || args.keys < 1)
        return "--keys needs a positive number of distinct keys, got '" + std::string(val) + "'";
    } else if (opt == "--txn-records") {
      if (!detail::parse_number(val, args.txn_records) || args.txn_records < 1)
        return "--txn-records needs a positive number of records, got '" + std::string(val) + "'";
    } else if (opt == "--timeout") {
      if (!detail::parse_number(val, args.timeout_s) || !(args.timeout_s > 0))
        return "--timeout needs a positive number of seconds, got '" + std::string(val) + "'";
    } else if (opt == "-d") {
      args.debug = val;
    } else if (opt == "-X") {
      const auto eq = val.find('=');
      if (eq == std::string_view::npos || eq == 0)
        return "-X needs prop=value, got '" + std::string(val) + "'";
      args.props.emplace_back(std::string(val.substr(0, eq)), std::string(val.substr(eq + 1)));
    } else {
      return "unknown option '" + std::string(opt) + "'";
    }
  }
  if (args.bootstrap.empty()) return "-b BOOTSTRAP is required";
  if (args.topic.empty()) return "-t TOPIC is required";
  if (!have_n) return "-n RECORDS is required";
  if (args.mode != Mode::consume && !have_s) return "-s SIZE is required";
  if (args.mode == Mode::consume && (have_s || args.rate > 0))
    return "consume takes neither -s nor --rate";
  if (args.txn_records > 0 && args.mode != Mode::produce)
    return "--txn-records is for produce only";
  if (args.mode == Mode::e2e) {
    if (!(args.rate > 0)) return "e2e needs --rate R";
    if (args.size < kPayloadStampSize)
      return "e2e needs -s of at least 16 (the send time travels in the payload)";
  }
  return std::nullopt;
}

// With --txn-records and no -X transactional.id: one of PROG's own, unique to this process,
// so that runs never fence each other.
inline void ensure_transactional_id(Args& args, std::string_view prog) {
  if (args.txn_records == 0 || has_prop(args, "transactional.id")) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  args.props.emplace_back("transactional.id", std::string(prog) + "-" + std::to_string(getpid()) +
                                                  "-" + std::to_string(ts.tv_sec));
}

// ------------------------------------------------------------------ transactions

// What a run in transactions adds to the result: how many committed, and how long each
// commit took, from the commit call to its completion (the last batches' flush and EndTxn).
struct TxnStats {
  std::uint64_t txn_records = 0;   // records per transaction (--txn-records)
  std::uint64_t transactions = 0;  // committed
  std::uint64_t committed_records = 0;
  std::int64_t last_commit_ns = 0;  // when the last commit completed
  LatencyHistogram commit_latency;
};

// The produce loop of --txn-records, whatever the client: for each transaction of
// stats.txn_records records (the last one may be shorter) begin(), send(from, to) (returns
// the record index it got to: `to` unless it stopped early) and commit() (true when the
// transaction committed; blocks until then). Stops at the first failure, after abort() of
// the open transaction when its commit failed or its records did not all go out.
template <class Begin, class Send, class Commit, class Abort>
void produce_in_transactions(std::uint64_t records, TxnStats& stats, Begin&& begin, Send&& send,
                             Commit&& commit, Abort&& abort) {
  for (std::uint64_t from = 0; from < records; from += stats.txn_records) {
    const std::uint64_t to = std::min(records, from + stats.txn_records);
    if (!begin()) return;
    if (send(from, to) < to) {
      abort();
      return;
    }
    const std::int64_t start = now_ns();
    if (!commit()) {
      abort();
      return;
    }
    stats.last_commit_ns = now_ns();
    stats.commit_latency.record(stats.last_commit_ns - start);
    ++stats.transactions;
    stats.committed_records += to - from;
  }
}

// ------------------------------------------------------------------ result line

struct Usage {
  double cpu_s = 0;  // user + system of the whole process, every thread
  long max_rss_kb = 0;
};

inline Usage process_usage() noexcept {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  Usage u;
  u.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  u.max_rss_kb = ru.ru_maxrss;
  return u;
}

struct Result {
  std::string client;
  Mode mode = Mode::produce;
  std::string topic;
  std::uint64_t msgs = 0;    // records delivered (produce) or received (consume, e2e)
  std::uint64_t failed = 0;  // records that failed or never arrived
  std::uint64_t bytes = 0;   // value bytes of the MSGS records
  std::size_t record_size = 0;
  double rate = 0;  // requested records/s, 0 = unthrottled
  double secs = 0;  // first send (or fetch) to last acknowledgement (or receipt)
  // consume: from the same start to the first record received (start-up: connections,
  // metadata, ListOffsets, the first Fetch); < 0 when not measured.
  double first_s = -1;
  const LatencyHistogram* latency = nullptr;  // null for consume
  const TxnStats* txn = nullptr;              // produce --txn-records only
  Usage usage;
};

inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + '"';
}

// The result as one JSON object (no newline). mb_per_s counts MiB (2^20 bytes) of values per
// second, like the Java tools' "MB/sec".
inline std::string result_json(const Result& r) {
  const double secs = r.secs > 0 ? r.secs : 1e-9;
  const auto lat = [&](double q) { return r.latency ? r.latency->percentile_ms(q) : -1.0; };
  char buf[768];
  std::snprintf(buf, sizeof buf,
                ",\"mode\":\"%s\",\"msgs\":%llu,\"failed\":%llu,\"bytes\":%llu,"
                "\"record_size\":%zu,\"rate\":%.0f,\"secs\":%.3f,\"msgs_per_s\":%.1f,"
                "\"mb_per_s\":%.3f,\"cpu_s\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
                "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f,\"max_rss_kb\":%ld",
                mode_name(r.mode), static_cast<unsigned long long>(r.msgs),
                static_cast<unsigned long long>(r.failed), static_cast<unsigned long long>(r.bytes),
                r.record_size, r.rate, r.secs, static_cast<double>(r.msgs) / secs,
                static_cast<double>(r.bytes) / secs / (1024.0 * 1024.0), r.usage.cpu_s, lat(0.50),
                lat(0.99), lat(0.999), r.latency && r.latency->count() ? r.latency->max_ms() : -1.0,
                r.latency && r.latency->count() ? r.latency->mean_ms() : -1.0, r.usage.max_rss_kb);
  std::string first;
  if (r.first_s >= 0) {
    char f[32];
    std::snprintf(f, sizeof f, ",\"first_s\":%.3f", r.first_s);
    first = f;
  }
  std::string txn;
  if (r.txn) {
    const auto& c = r.txn->commit_latency;
    char t[160];
    std::snprintf(t, sizeof t,
                  ",\"txn_records\":%llu,\"transactions\":%llu,\"commit_p50_ms\":%.3f,"
                  "\"commit_p99_ms\":%.3f,\"commit_max_ms\":%.3f",
                  static_cast<unsigned long long>(r.txn->txn_records),
                  static_cast<unsigned long long>(r.txn->transactions), c.percentile_ms(0.50),
                  c.percentile_ms(0.99), c.count() ? c.max_ms() : -1.0);
    txn = t;
  }
  return "{\"client\":" + json_string(r.client) + ",\"topic\":" + json_string(r.topic) + buf +
         first + txn + "}";
}

}  // namespace kwire::bench
