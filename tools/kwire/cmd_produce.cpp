// kwire produce: one record per line of standard input, kcat -P style.
//
// The producer runs on an io_context driven by one thread of its own; the main thread reads
// standard input and calls send(), which may block on buffer.memory (max.block.ms) because
// it runs off the producer's strand. Delivery callbacks run on the io thread and only count.
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "kwire/client/producer.hpp"

namespace kwire::cli {
namespace {

namespace asio = boost::asio;

constexpr std::string_view usage = R"(usage: kwire produce -b BOOTSTRAP -t TOPIC [options] < input
Sends one record per line of standard input: the line without its '\n', every other byte
as it is (binary-safe, '\r' included). Empty lines are skipped, as kcat -P does.
  -b, --bootstrap-server HOST:PORT[,...]  the brokers to start from (bootstrap.servers)
  -t, --topic TOPIC            the topic to write to
  -p, --partition N            every record to partition N (default, or -1: the partitioner)
  -k, --key-delimiter DELIM    split each line at the first DELIM into key and value; a line
                               without DELIM is all value, with a null key (kcat -K). DELIM
                               takes kcat's escapes: \t \n \r \\ \xNN
  -Z, --null-empty             with -k: an empty key or value is sent as null, not as empty
                               bytes (kcat -Z)
  -H, --header NAME=VALUE      add this header to every record (repeatable); NAME alone
                               adds a header with a null value
  -z, --compression CODEC      none, gzip, snappy, lz4 or zstd (compression.type)
  -d, --debug CATEGORY[,...]   the client's log for these categories on standard error
                               (all, broker, protocol, metadata, producer, eos, consumer,
                               fetch, cgrp, admin, security)
  -X, --property NAME=VALUE    a producer property by its Java client name (repeatable),
                               e.g. -X acks=1 -X linger.ms=20; unknown names are errors
      --help-properties        list every producer property with its default
      --abort                  with -X transactional.id: abort the transaction instead of
                               committing it (nothing becomes visible)
  -h, --help                   this help
At the end of input every record is delivered or failed, then standard error gets
"N records produced, M failed" and, for failed records, why. Exit status: 0 when every
record was produced, 1 when any failed or SIGINT/SIGTERM stopped the input early, 2 for
a usage or configuration error.
)";

// How many failed records are described one by one; the rest are counted per reason.
constexpr std::size_t failures_in_full = 5;

// The produce-specific options; -b and -X go to client_command::properties.
struct produce_options {
  std::string topic;
  std::int32_t partition = -1;
  std::optional<std::string> key_delimiter;
  bool null_empty = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool abort = false;
};

std::string_view validated_codec(std::string_view codec) {
  for (std::string_view known : {"none", "gzip", "snappy", "lz4", "zstd"})
    if (codec == known) return codec;
  throw usage_error("-z: unknown codec '" + std::string(codec) +
                    "' (allowed: none, gzip, snappy, lz4, zstd)");
}

std::vector<option> produce_option_parsers(produce_options& o, client::properties& properties) {
  return {
      {"-t", "--topic", "TOPIC",
       [&](std::string_view v) {
         check_topic_name(v);
         o.topic = v;
       }},
      {"-p", "--partition", "N",
       [&](std::string_view v) {
         o.partition = parse_int32(v, "-p");
         if (o.partition < -1) throw usage_error("-p: a partition is -1 or more");
       }},
      {"-k", "--key-delimiter", "DELIM",
       [&](std::string_view v) {
         o.key_delimiter = unescape_delimiter(v);
         if (o.key_delimiter->empty()) throw usage_error("-k: the key delimiter is empty");
         if (o.key_delimiter->find('\n') != std::string::npos)
           throw usage_error("-k: the key delimiter cannot hold a newline (lines end there)");
       }},
      {"-Z", "--null-empty", "", [&](std::string_view) { o.null_empty = true; }},
      {"-H", "--header", "NAME=VALUE",
       [&](std::string_view v) {
         const auto equals = v.find('=');
         if (equals == 0 || v.empty())
           throw usage_error("-H expects NAME=VALUE or NAME, got '" + std::string(v) + "'");
         if (equals == std::string_view::npos)
           o.headers.emplace_back(std::string(v), std::nullopt);
         else
           o.headers.emplace_back(std::string(v.substr(0, equals)),
                                  std::string(v.substr(equals + 1)));
       }},
      {"-z", "--compression", "CODEC",
       [&](std::string_view v) {
         properties.emplace_back("compression.type", validated_codec(v));
       }},
      {"", "--abort", "", [&](std::string_view) { o.abort = true; }},
  };
}

// Outcomes of the records: delivery callbacks (io thread) and send() (main thread) report here.
class delivery_tally {
 public:
  void produced() {
    std::lock_guard lock(mutex_);
    ++produced_;
  }

  // `why`: the error's message, or its description with where it happened.
  void failed(std::uint64_t line, std::int32_t partition, const std::string& why) {
    std::lock_guard lock(mutex_);
    ++failed_;
    if (described_.size() < failures_in_full) {
      std::string where = "line " + std::to_string(line);
      if (partition >= 0) where += " (partition " + std::to_string(partition) + ")";
      described_.push_back(where + ": " + why);
    } else {
      ++counted_by_reason_[why];
    }
  }

  std::uint64_t produced_count() const {
    std::lock_guard lock(mutex_);
    return produced_;
  }

  // The per-failure lines, then the one-line summary.
  void report(std::ostream& out) const {
    std::lock_guard lock(mutex_);
    for (const auto& d : described_) out << "kwire produce: record failed: " << d << '\n';
    for (const auto& [reason, count] : counted_by_reason_)
      out << "kwire produce: " << count_of(count, "more record") << " failed: " << reason << '\n';
    out << count_of(produced_, "record") << " produced, " << failed_ << " failed\n";
  }

  std::uint64_t failures() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  mutable std::mutex mutex_;
  std::uint64_t produced_ = 0;
  std::uint64_t failed_ = 0;
  std::vector<std::string> described_;
  std::map<std::string, std::uint64_t> counted_by_reason_;
};

// Standard input, one line at a time, in large reads. Only '\n' is special; the last line
// may lack it.
class line_reader {
 public:
  // The next line without its '\n', valid until the next call; nullopt at the end of input
  // or when a signal handler set `stop` during a read. Throws std::system_error on a read
  // error.
  std::optional<std::string_view> next(const volatile std::sig_atomic_t& stop) {
    while (true) {
      const char* begin = buffer_.data() + start_;
      if (const void* newline = std::memchr(begin, '\n', filled_ - start_)) {
        const auto length = static_cast<std::size_t>(static_cast<const char*>(newline) - begin);
        start_ += length + 1;
        return std::string_view(begin, length);
      }
      if (at_end_) {
        if (start_ == filled_) return std::nullopt;
        const std::string_view last(begin, filled_ - start_);
        start_ = filled_;
        return last;
      }
      make_room();
      const ssize_t got = ::read(STDIN_FILENO, buffer_.data() + filled_, buffer_.size() - filled_);
      if (got > 0) {
        filled_ += static_cast<std::size_t>(got);
      } else if (got == 0) {
        at_end_ = true;
      } else if (errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "reading standard input");
      }
      if (stop) return std::nullopt;
    }
  }

 private:
  // Moves the unread rest to the front; doubles the buffer when a line fills all of it.
  void make_room() {
    if (start_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + start_, filled_ - start_);
      filled_ -= start_;
      start_ = 0;
    }
    if (filled_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  }

  std::vector<char> buffer_ = std::vector<char>(1 << 16);
  std::size_t start_ = 0;
  std::size_t filled_ = 0;
  bool at_end_ = false;
};

// How the wait at the end of input ends: every record delivered or failed, or the bootstrap
// probe found no broker to send them to (set from the io thread).
class end_of_input_wait {
 public:
  void flushed() {
    std::lock_guard lock(mutex_);
    flushed_ = true;
    changed_.notify_all();
  }
  void unreachable(std::string why) {
    std::lock_guard lock(mutex_);
    unreachable_ = std::move(why);
    changed_.notify_all();
  }
  // Why no broker could be reached, if the probe said so before the flush completed.
  std::optional<std::string> wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return flushed_ || unreachable_; });
    gave_up_ = !flushed_;
    return gave_up_ ? unreachable_ : std::nullopt;
  }
  // Why no broker can be reached, once the probe said so.
  std::optional<std::string> unreachable_now() const {
    std::lock_guard lock(mutex_);
    return unreachable_;
  }
  // What records failed by the close after wait() gave up report instead of shut_down.
  std::optional<std::string> gave_up_because() const {
    std::lock_guard lock(mutex_);
    return gave_up_ ? unreachable_ : std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool flushed_ = false;
  bool gave_up_ = false;
  std::optional<std::string> unreachable_;
};

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void request_stop(int) { stop_requested = 1; }

// Runs `body` on a new thread that never takes SIGINT/SIGTERM, so that they interrupt the
// main thread's read(); then makes them stop the input (a second one kills as usual).
// Signals the shell ignores (a background job's SIGINT) stay ignored.
std::thread start_thread_and_catch_stop_signals(std::function<void()> body) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &stop_signals, &previous);
  std::thread thread(std::move(body));
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  for (int signal_number : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    sigaction(signal_number, nullptr, &current);
    if (current.sa_handler == SIG_IGN) continue;
    struct sigaction handler {};
    handler.sa_handler = request_stop;
    handler.sa_flags = SA_RESETHAND;  // no SA_RESTART: read() returns EINTR
    sigemptyset(&handler.sa_mask);
    sigaction(signal_number, &handler, nullptr);
  }
  return thread;
}

protocol::optional_bytes as_bytes(std::string_view text) {
  return std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// kcat -K: the first delimiter splits key from value; a line without one has a null key.
// With -Z an empty key or value becomes null.
void split_key_and_value(std::string_view line, const produce_options& o,
                         client::producer_record& record) {
  record.key = std::nullopt;
  record.value = as_bytes(line);
  if (!o.key_delimiter) return;
  const auto at = line.find(*o.key_delimiter);
  if (at == std::string_view::npos) return;
  const auto key = line.substr(0, at);
  const auto value = line.substr(at + o.key_delimiter->size());
  record.key = o.null_empty && key.empty() ? std::nullopt : as_bytes(key);
  record.value = o.null_empty && value.empty() ? std::nullopt : as_bytes(value);
}

// Runs one transaction call and waits for it up to max.block.ms, as Java's blocking calls
// do, or until the bootstrap probe finds no broker reachable. The failure, described, or
// nothing.
template <class Start>
std::optional<std::string> transaction_step(client::producer& producer, std::string_view what,
                                            std::chrono::milliseconds max_block,
                                            const end_of_input_wait& probe, Start start) {
  auto outcome = std::make_shared<std::promise<std::error_code>>();
  auto future = outcome->get_future();
  start([outcome](std::error_code ec) { outcome->set_value(ec); });
  const auto deadline = std::chrono::steady_clock::now() + max_block;
  while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (auto why = probe.unreachable_now()) return std::string(what) + ": " + *why;
    if (std::chrono::steady_clock::now() >= deadline)
      return std::string(what) + " did not complete within max.block.ms (" +
             std::to_string(max_block.count()) + " ms)";
  }
  if (const auto ec = future.get()) {
    const auto where = producer.transaction_error_context();
    return std::string(what) + " failed: " + (where.empty() ? "" : where + ": ") + ec.message() +
           " (transaction state: " + client::to_string(producer.transaction_state()) + ")";
  }
  return std::nullopt;
}

int produce(const produce_options& o, const client::properties& properties,
            const client::observability& observe) {
  client::producer_config config;
  if (auto error = client::parse_producer_config(properties, config))
    throw property_error(error->message);
  const bool transactional = config.transactional_id.has_value();
  if (o.abort && !transactional)
    throw usage_error("--abort needs -X transactional.id=ID (it aborts the input's transaction)");
  check_security_files(config);
  config.observe = observe;
  for (const auto& warning : config.warnings)
    std::cerr << "kwire produce: note: " << warning << '\n';

  std::vector<protocol::header_view> headers;
  for (const auto& [name, value] : o.headers)
    headers.push_back({name, value ? as_bytes(*value) : protocol::optional_bytes{}});

  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  std::thread io_thread = start_thread_and_catch_stop_signals([&io] { io.run(); });
  delivery_tally tally;
  std::optional<client::producer> producer(std::in_place, io.get_executor(), config);
  // Without it, records to unreachable brokers would wait for delivery.timeout.ms (120 s).
  auto end_wait = std::make_shared<end_of_input_wait>();
  std::optional<bootstrap_probe> probe(std::in_place, io, config, [end_wait](std::string why) {
    end_wait->unreachable(std::move(why));
  });

  if (transactional) {
    if (auto failure =
            transaction_step(*producer, "init_transactions", config.max_block, *end_wait,
                             [&](auto done) { producer->async_init_transactions(done); })) {
      std::cerr << "kwire produce: " << *failure << '\n';
      producer->close(std::chrono::milliseconds(0));
      probe.reset();
      producer.reset();
      work.reset();
      io_thread.join();
      return exit_failure;
    }
    if (auto ec = producer->begin_transaction()) throw std::system_error(ec, "begin_transaction");
  }

  line_reader input;
  std::uint64_t line_number = 0;
  bool input_failed = false;
  try {
    while (const auto line = input.next(stop_requested)) {
      ++line_number;
      if (line->empty()) continue;
      client::producer_record record{
          .topic = o.topic, .partition = o.partition, .headers = headers};
      split_key_and_value(*line, o, record);
      auto on_delivery = [&tally, line_number, end_wait](std::error_code ec,
                                                         const client::delivery_report& report) {
        if (!ec) return tally.produced();
        auto gave_up = ec == client::errc::shut_down ? end_wait->gave_up_because() : std::nullopt;
        tally.failed(line_number, report.partition,
                     gave_up                ? *gave_up
                     : report.error_details ? report.error_details->describe(ec)
                                            : ec.message());
      };
      if (auto ec = producer->send(record, std::move(on_delivery)))
        tally.failed(line_number, o.partition, ec.message());
      if (stop_requested) break;
    }
  } catch (const std::system_error& e) {
    std::cerr << "kwire produce: " << e.what() << '\n';
    input_failed = true;
  }
  if (stop_requested)
    std::cerr << "kwire produce: interrupted: no input read after line " << line_number << '\n';

  producer->async_flush([end_wait] { end_wait->flushed(); });
  if (const auto unreachable = end_wait->wait())
    std::cerr << "kwire produce: " << *unreachable << '\n';
  bool transaction_failed = false;
  if (transactional) {
    // Every record is in: commit only when all of them were written and the input was read
    // to its end; otherwise (or with --abort) none of them becomes visible.
    const bool commit = !o.abort && tally.failures() == 0 && !input_failed && !stop_requested;
    auto failure =
        commit ? transaction_step(*producer, "commit_transaction", config.max_block, *end_wait,
                                  [&](auto done) { producer->async_commit_transaction(done); })
               : transaction_step(*producer, "abort_transaction", config.max_block, *end_wait,
                                  [&](auto done) { producer->async_abort_transaction(done); });
    if (failure) {
      std::cerr << "kwire produce: " << *failure << '\n';
      transaction_failed = true;
    } else {
      std::cerr << "kwire produce: transaction " << (commit ? "committed" : "aborted") << " ("
                << tally.produced_count() << " records)\n";
      transaction_failed = !commit && !o.abort;
    }
  }
  // Everything sent has completed, or no broker can be reached: closing fails what is left.
  producer->close(std::chrono::milliseconds(0));
  probe.reset();
  producer.reset();  // posts the producer's last clean-up, which run() finishes
  work.reset();
  io_thread.join();

  tally.report(std::cerr);
  return tally.failures() > 0 || input_failed || stop_requested || transaction_failed ? exit_failure
                                                                                      : exit_ok;
}

}  // namespace

int run_produce(std::span<const std::string_view> args) {
  client_command command{"produce", usage, client::describe_producer_config, {}, {}};
  produce_options o;
  return run_client_command(command, args, produce_option_parsers(o, command.properties), [&] {
    if (o.topic.empty()) throw usage_error("-t TOPIC is required");
    if (o.null_empty && !o.key_delimiter)
      throw usage_error("-Z needs -k (without a key delimiter no key or value is empty)");
    return produce(o, command.properties, command.observe);
  });
}

}  // namespace kwire::cli
