// kwire consume: a topic's partitions to standard output, kcat -C style.
//
// The consumer runs on an io_context driven by one thread of its own; the main thread
// polls, formats and writes. Partitions are assigned manually (all of the topic's, or -p),
// or by a consumer group (-G, as kcat's balanced consumer).
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "kwire/client/consumer.hpp"

namespace kwire::cli {
namespace {

namespace asio = boost::asio;

constexpr std::string_view usage = R"(usage: kwire consume -b BOOTSTRAP -t TOPIC [options]
Writes records of the topic's partitions to standard output, one a line by default (kcat -C).
  -b, --bootstrap-server HOST:PORT[,...]  the brokers to start from (bootstrap.servers)
  -t, --topic TOPIC            the topic to read
  -p, --partition N            only partition N (default: every partition)
  -o, --offset WHERE           beginning (default), end, OFFSET (a number; one past a
                               partition's end starts at its end, as kcat), -N (N before
                               the end), or s@MILLIS (the first record at or after that
                               timestamp); with -G only beginning or end, for partitions the
                               group has no committed offset for (auto.offset.reset)
  -c, --count N                exit after N records
  -e, --exit-at-end            exit once every partition is read to its end
  -f, --format FORMAT          how to print a record; kcat's tokens: %t topic, %p partition,
                               %o offset, %k key, %s value, %K key length, %S value length
                               (-1 for null), %T timestamp, %h headers (name=value,..., NULL for null),
                               %% a percent sign; escapes \n \t \r \\. Default "%s\n"
  -G, --group GROUP            join consumer group GROUP (group.id) and read the partitions it
                               assigns. Assignment changes are reported on standard error.
                               Not with -p
With a group.id (-G or -X), the offset after the last record written whole to standard
output is committed every auto.commit.interval.ms, when a partition is revoked, and on exit
(-c, -e, SIGINT/SIGTERM); records read but not written are not committed.
-X enable.auto.commit=false commits nothing.
  -d, --debug CATEGORY[,...]   the client's log for these categories on standard error
                               (all, broker, protocol, metadata, producer, eos, consumer,
                               fetch, cgrp, admin, security)
  -X, --property NAME=VALUE    a consumer property by its Java client name (repeatable)
      --help-properties        list every consumer property with its default
  -h, --help                   this help
Exit status: 0 when the input ended as asked (-c, -e) or on SIGINT/SIGTERM, 1 on a runtime
error (the partition, offset and reason are printed), 2 for a usage or configuration error.
)";

struct consume_options {
  std::string topic;
  std::int32_t partition = -1;
  std::string offset = "beginning";
  std::int64_t count = -1;
  bool exit_at_end = false;
  std::string format = "%s\n";
  std::string group;
};

std::atomic<bool> stop_requested{false};

// kcat's -f tokens, which format_record() prints.
constexpr std::string_view format_tokens = "tpoksKSTh%";

// As kcat: a % not followed by one of format_tokens is an error, not printed as it is.
void check_format(std::string_view format) {
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (i + 1 == format.size())
      throw usage_error("-f: the format ends in a lone '%' (write %% for a percent sign)");
    if (format_tokens.find(format[++i]) == std::string_view::npos)
      throw usage_error("-f: unsupported formatter '%" + std::string(1, format[i]) +
                        "' (the tokens are %t %p %o %k %s %K %S %T %h %%)");
  }
}

extern "C" void on_stop_signal(int) { stop_requested = true; }

// Where a record's line ends in the output buffer, and the offset to commit once it is out.
struct written_line {
  std::size_t end = 0;
  std::string_view topic;  // into the record set, which outlives the write
  std::int32_t partition = -1;
  std::int64_t next_offset = -1;
  std::int32_t leader_epoch = -1;
};

// Writes whole lines to standard output: retries interrupted and partial writes; once a stop
// is requested, finishes the line in progress and writes no more. Returns the bytes written
// and the error that ended the write early (none when all, or up to a line end at a stop).
std::pair<std::size_t, int> write_lines(std::string_view out,
                                        const std::vector<written_line>& lines) {
  std::size_t written = 0;
  std::size_t until = out.size();
  while (written < until) {
    if (stop_requested && until == out.size()) {
      const auto in_progress = std::find_if(
          lines.begin(), lines.end(), [&](const written_line& l) { return l.end >= written; });
      until = in_progress == lines.end() ? written : in_progress->end;
      if (written == until) break;
    }
    const ssize_t n = ::write(STDOUT_FILENO, out.data() + written, until - written);
    if (n > 0)
      written += static_cast<std::size_t>(n);
    else if (n < 0 && errno == EINTR)
      continue;  // the loop checks for a stop, then writes on
    else
      return {written, n < 0 ? errno : EIO};
  }
  return {written, 0};
}

// The group's offsets of what has been written: the CLI commits these itself, so that a
// record read but not written (a slow or closed reader, -c, a signal) is never committed.
class written_offsets {
 public:
  written_offsets(client::consumer& consumer, bool commit, std::string group)
      : consumer_(consumer), commit_(commit), group_(std::move(group)) {}

  // Names the group: a denied group (GROUP_AUTHORIZATION_FAILED) is then clear at once.
  void report_failure(std::error_code ec) const {
    std::cerr << "kwire consume: committing offsets of group " << group_
              << " failed: " << ec.message() << '\n';
  }

  // Notes the lines written whole (those ending at or before `written`).
  void note(const std::vector<written_line>& lines, std::size_t written) {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < lines.size() && lines[i].end <= written; ++i) {
      const bool last_of_run = i + 1 == lines.size() || lines[i + 1].end > written ||
                               lines[i + 1].partition != lines[i].partition ||
                               lines[i + 1].topic != lines[i].topic;
      if (last_of_run)  // one map update per partition and write, not per record
        offsets_[{std::string(lines[i].topic), lines[i].partition}] = {
            lines[i].next_offset, lines[i].leader_epoch, {}};
    }
  }

  // Commits what was written of these partitions (all assigned when empty) and forgets
  // them; `done` gets the outcome (no commit: success at once).
  void commit(const std::vector<client::topic_partition>& partitions,
              std::function<void(std::error_code)> done) {
    client::topic_partition_offsets offsets;
    {
      std::lock_guard lock(mutex_);
      for (const auto& tp : partitions) {
        auto it = offsets_.find(tp);
        if (it == offsets_.end()) continue;
        if (commit_) offsets.insert(*it);
        offsets_.erase(it);
      }
    }
    if (offsets.empty()) return done({});
    consumer_.async_commit(std::move(offsets), std::move(done));
  }

  void forget(const std::vector<client::topic_partition>& partitions) {
    std::lock_guard lock(mutex_);
    for (const auto& tp : partitions) offsets_.erase(tp);
  }

  // The periodic commit: at most one at a time; a failure is reported, the next one retries.
  void commit_now_and_then(std::chrono::milliseconds interval) {
    if (!commit_ || in_flight_ || std::chrono::steady_clock::now() < next_commit_) return;
    next_commit_ = std::chrono::steady_clock::now() + interval;
    auto offsets = assigned_offsets();
    if (offsets.empty()) return;
    in_flight_ = true;
    consumer_.async_commit(std::move(offsets), [this](std::error_code ec) {
      if (ec) report_failure(ec);
      in_flight_ = false;
    });
  }

  // The last commit, before closing: waits for it and for a periodic one in flight.
  std::error_code commit_all() {
    while (in_flight_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto offsets = commit_ ? assigned_offsets() : client::topic_partition_offsets{};
    if (offsets.empty()) return {};
    std::promise<std::error_code> committed;
    consumer_.async_commit(std::move(offsets),
                           [&committed](std::error_code ec) { committed.set_value(ec); });
    return committed.get_future().get();
  }

 private:
  // Lines of a revoked partition written after the revocation are not committed: the
  // partition's next owner may be past them already.
  client::topic_partition_offsets assigned_offsets() {
    const auto assigned = consumer_.assignment();
    std::lock_guard lock(mutex_);
    client::topic_partition_offsets out;
    for (const auto& tp : assigned)
      if (auto it = offsets_.find(tp); it != offsets_.end()) out.insert(*it);
    return out;
  }

  client::consumer& consumer_;
  const bool commit_;  // enable.auto.commit as the user set it
  const std::string group_;
  std::mutex mutex_;  // offsets_: the main thread writes, the listener (I/O thread) reads
  client::topic_partition_offsets offsets_;
  std::atomic<bool> in_flight_{false};
  std::chrono::steady_clock::time_point next_commit_ = std::chrono::steady_clock::now();
};

std::vector<option> consume_option_parsers(consume_options& o) {
  return {
      {"-t", "--topic", "TOPIC",
       [&](std::string_view v) {
         if (v.empty()) throw usage_error("-t: the topic name is empty");
         o.topic = v;
       }},
      {"-p", "--partition", "N",
       [&](std::string_view v) {
         o.partition = parse_int32(v, "-p");
         if (o.partition < 0) throw usage_error("-p: a partition is 0 or more");
       }},
      {"-o", "--offset", "WHERE", [&](std::string_view v) { o.offset = v; }},
      {"-c", "--count", "N",
       [&](std::string_view v) {
         o.count = parse_int32(v, "-c");
         if (o.count < 0) throw usage_error("-c: a count is 0 or more");
       }},
      {"-e", "--exit-at-end", "", [&](std::string_view) { o.exit_at_end = true; }},
      {"-f", "--format", "FORMAT",
       [&](std::string_view v) {
         o.format = unescape_delimiter(v);
         check_format(o.format);
       }},
      {"-G", "--group", "GROUP",
       [&](std::string_view v) {
         if (v.empty()) throw usage_error("-G: the group name is empty");
         o.group = v;
       }},
  };
}

// Where each partition starts, from -o.
struct start_position {
  enum kind { beginning, end, offset, from_end, timestamp } where = beginning;
  std::int64_t value = 0;
};

start_position parse_offset(std::string_view text) {
  auto number = [&](std::string_view digits, std::string_view what) {
    std::int64_t v = 0;
    if (digits.empty()) throw usage_error("-o: " + std::string(what) + " is missing");
    for (char c : digits) {
      if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10)
        throw usage_error("-o: '" + std::string(text) +
                          "' is not beginning, end, OFFSET, -N or s@MILLIS");
      v = v * 10 + (c - '0');
    }
    return v;
  };
  if (text == "beginning") return {start_position::beginning, 0};
  if (text == "end") return {start_position::end, 0};
  if (text.starts_with("s@")) return {start_position::timestamp, number(text.substr(2), "MILLIS")};
  if (text.starts_with("-")) return {start_position::from_end, number(text.substr(1), "N")};
  return {start_position::offset, number(text, "OFFSET")};
}

void append_bytes(std::string& out, protocol::optional_bytes b) {
  if (b) out.append(reinterpret_cast<const char*>(b->data()), b->size());
}

// kcat's -f tokens.
void format_record(std::string& out, std::string_view format, const client::consumer_record& r) {
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c != '%' || i + 1 == format.size()) {
      out += c;
      continue;
    }
    switch (format[++i]) {
      case 't':
        out += r.topic;
        break;
      case 'p':
        out += std::to_string(r.partition);
        break;
      case 'o':
        out += std::to_string(r.offset);
        break;
      case 'k':
        append_bytes(out, r.key);
        break;
      case 's':
        append_bytes(out, r.value);
        break;
      case 'K':
        out += r.key ? std::to_string(r.key->size()) : "-1";
        break;
      case 'S':
        out += r.value ? std::to_string(r.value->size()) : "-1";
        break;
      case 'T':
        out += std::to_string(r.timestamp);
        break;
      case 'h': {
        bool first = true;
        for (const auto& h : r.headers) {
          if (!first) out += ',';
          first = false;
          out += h.key;
          out += '=';
          if (h.value)
            append_bytes(out, h.value);
          else
            out += "NULL";  // as kcat prints a null header value
        }
        break;
      }
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        out += format[i];
    }
  }
}

// auto.offset.reset as -o implies it: where a partition starts whose offset is out of range
// or, with -G, that has no committed offset. As kcat (librdkafka resets to the end), an
// absolute offset past a partition's end starts at its end, so nothing of it is printed.
std::string_view offset_reset_for(start_position::kind where) {
  return where == start_position::end || where == start_position::offset ? "latest" : "earliest";
}

// --help-properties with the defaults kwire consume uses, where it sets them itself.
std::vector<client::property_description> describe_consume_properties() {
  auto described = client::describe_consumer_config();
  for (auto& property : described) {
    if (property.name != "auto.offset.reset") continue;
    property.default_value = offset_reset_for(start_position::beginning);
    property.doc =
        "Where a partition starts when its offset is out of range or, with -G, not committed. "
        "kwire consume sets it from -o: earliest (the default, -o beginning, s@MILLIS, -N), "
        "latest (-o end, -o OFFSET: an offset past the end starts at the end, as kcat).";
  }
  return described;
}

std::string describe_partitions(const std::vector<client::topic_partition>& partitions) {
  std::string out;
  for (const auto& tp : partitions) {
    if (!out.empty()) out += ' ';
    out += tp.topic + "[" + std::to_string(tp.partition) + "]";
  }
  return out.empty() ? "(none)" : out;
}

int consume(const consume_options& o, const client::properties& given,
            const client::observability& observe) {
  const auto start = parse_offset(o.offset);
  const bool group = !o.group.empty();
  client::properties properties{{"auto.offset.reset", std::string(offset_reset_for(start.where))}};
  if (group) properties.emplace_back("group.id", o.group);
  properties.insert(properties.end(), given.begin(), given.end());
  client::consumer_config config;
  if (auto error = client::parse_consumer_config(properties, config))
    throw property_error(error->message);
  check_security_files(config);
  config.observe = observe;
  // The library would commit what poll handed out; the CLI commits what it has written.
  const bool commits = config.group_id.has_value() && config.enable_auto_commit;
  const auto commit_interval = config.auto_commit_interval;
  config.enable_auto_commit = false;

  // As kcat: a group member's topic that starts with ^ is a regular expression, and the
  // member subscribes to every topic in whose name it is found (librdkafka searches; the
  // library matches whole names, as Java), now and later.
  const bool pattern = group && o.topic.starts_with('^');
  const std::string searched = ".*(?:" + o.topic + ").*";
  if (pattern) {
    try {
      std::regex check(o.topic);
    } catch (const std::regex_error& e) {
      throw usage_error("-t: '" + o.topic + "' is not a regular expression: " + e.what());
    }
  }
  std::vector<client::topic_partition> partitions;
  // No topic to look up, but a cluster to reach: say so early when none can be.
  if (pattern && !fetch_metadata(config, std::nullopt, "consume")) return exit_failure;
  if (!pattern) {
    const auto metadata = fetch_metadata(config, o.topic, "consume");
    if (!metadata) return exit_failure;
    const auto* topic = metadata->topic(o.topic);
    if (!topic || topic->error_code != 0) {
      std::cerr << "kwire consume: topic " << o.topic << ": "
                << (topic ? protocol::broker_error_code(topic->error_code).message()
                          : std::string("not in the cluster's metadata"))
                << '\n';
      return exit_failure;
    }
    for (const auto& p : topic->partitions)
      if (!group && (o.partition < 0 || p.partition == o.partition))
        partitions.push_back({o.topic, p.partition});
    if (partitions.empty() && !group) {
      std::cerr << "kwire consume: topic " << o.topic << " has no partition " << o.partition
                << '\n';
      return exit_failure;
    }
  }

  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  auto consumer = std::make_unique<client::consumer>(io.get_executor(), config);
  written_offsets written(*consumer, commits, config.group_id.value_or(""));
  if (group) {
    client::rebalance_listener listener;
    listener.on_assigned = [](const std::vector<client::topic_partition>&,
                              const std::vector<client::topic_partition>& assignment) {
      std::cerr << "kwire consume: assigned " << describe_partitions(assignment) << std::endl;
    };
    listener.on_revoked = [&written](const std::vector<client::topic_partition>& revoked,
                                     client::rebalance_listener::done_function done) {
      std::cerr << "kwire consume: revoked " << describe_partitions(revoked) << std::endl;
      // The next owner starts after what was written here.
      auto finish = std::make_shared<client::rebalance_listener::done_function>(std::move(done));
      written.commit(revoked, [finish, &written](std::error_code ec) {
        if (ec) written.report_failure(ec);
        (*finish)();
      });
    };
    listener.on_lost = [&written](const std::vector<client::topic_partition>& lost,
                                  client::rebalance_listener::done_function done) {
      std::cerr << "kwire consume: lost " << describe_partitions(lost) << std::endl;
      written.forget(lost);  // not ours to commit any more
      done();
    };
    // Checked above: group.id, the topic or the pattern.
    if (pattern)
      (void)consumer->subscribe_pattern(searched, std::move(listener));
    else
      (void)consumer->subscribe({o.topic}, std::move(listener));
  } else {
    (void)consumer->assign(partitions);
  }
  switch (group ? start_position::offset : start.where) {
    case start_position::beginning:
      consumer->seek_to_beginning(partitions);
      break;
    case start_position::end:
    case start_position::from_end:
      consumer->seek_to_end(partitions);
      break;
    case start_position::offset:
      for (const auto& tp : partitions) consumer->seek(tp, start.value);  // none with -G
      break;
    case start_position::timestamp:
      consumer->seek_to_timestamp(partitions, start.value);
      break;
  }
  // -N: N before each partition's end, once the end is known.
  std::map<client::topic_partition, bool> placed;

  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);  // no SA_RESTART: a blocked write returns, to stop
  sigaction(SIGTERM, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, nullptr);  // a closed reader is EPIPE: commit what it read

  std::int64_t printed = 0;
  int status = exit_ok;
  std::string out;
  std::vector<written_line> lines;
  // Where a partition's log ends for -e and -o -N: under read_committed the last stable
  // offset (what kcat and the Java client take), past which nothing can be read yet.
  const bool read_committed = config.isolation == client::isolation_level::read_committed;
  const auto end_of_log = [read_committed](const client::partition_watermarks& marks) {
    return read_committed ? marks.last_stable_offset : marks.high_watermark;
  };
  while (!stop_requested && (o.count < 0 || printed < o.count)) {
    std::promise<std::pair<std::error_code, client::record_set>> polled;
    consumer->async_poll(std::chrono::milliseconds(200),
                         [&polled](std::error_code ec, client::record_set set) {
                           polled.set_value({ec, std::move(set)});
                         });
    auto [ec, set] = polled.get_future().get();
    if (ec) {
      std::cerr << "kwire consume: " << consumer->last_error_details().describe(ec) << '\n';
      status = exit_failure;
      break;
    }
    if (start.where == start_position::from_end) {
      bool placed_now = false;
      for (const auto& tp : partitions) {
        if (placed[tp]) continue;
        const auto position = consumer->position(tp);
        const auto marks = consumer->watermarks(tp);
        if (!position || !marks || end_of_log(*marks) < 0) continue;
        const auto low = std::max<std::int64_t>(marks->log_start_offset, 0);
        consumer->seek(tp, std::max(low, end_of_log(*marks) - start.value));
        placed[tp] = true;
        placed_now = true;
      }
      // Records polled before the seeks are not wanted; the next poll runs after them.
      if (placed_now || placed.size() < partitions.size() ||
          std::any_of(placed.begin(), placed.end(), [](const auto& e) { return !e.second; }))
        continue;
    }
    out.clear();
    lines.clear();
    client::consumer_record r;
    for (auto cursor = set.records();
         (o.count < 0 || printed + static_cast<std::int64_t>(lines.size()) < o.count) &&
         cursor.next(r);) {
      format_record(out, o.format, r);
      lines.push_back({out.size(), r.topic, r.partition, r.offset + 1, r.leader_epoch});
    }
    const auto write_result = write_lines(out, lines);
    const std::size_t bytes_written = write_result.first;
    const int write_error = write_result.second;
    written.note(lines, bytes_written);
    printed += std::count_if(lines.begin(), lines.end(),
                             [&](const written_line& l) { return l.end <= bytes_written; });
    if (write_error != 0) {
      std::cerr << "kwire consume: writing to standard output failed: "
                << std::strerror(write_error) << '\n';
      status = exit_failure;
      break;
    }
    written.commit_now_and_then(commit_interval);
    if (o.exit_at_end && set.empty()) {
      if (group) partitions = consumer->assignment();
      bool all_at_end = !partitions.empty();
      for (const auto& tp : partitions) {
        const auto position = consumer->position(tp);
        const auto marks = consumer->watermarks(tp);
        if (!position || !marks || end_of_log(*marks) < 0 || *position < end_of_log(*marks))
          all_at_end = false;
      }
      if (all_at_end) break;
    }
  }
  if (auto ec = written.commit_all()) {
    written.report_failure(ec);
    status = exit_failure;
  }
  std::promise<void> closed;
  consumer->async_close([&closed] { closed.set_value(); });
  closed.get_future().wait();
  consumer.reset();
  work.reset();
  io_thread.join();
  std::cerr << "kwire consume: " << count_of(static_cast<std::uint64_t>(printed), "record") << '\n';
  return status;
}

}  // namespace

int run_consume(std::span<const std::string_view> args) {
  client_command command{"consume", usage, describe_consume_properties, {}, {}};
  consume_options o;
  return run_client_command(command, args, consume_option_parsers(o), [&] {
    if (o.topic.empty()) throw usage_error("-t TOPIC is required");
    const bool pattern = !o.group.empty() && o.topic.starts_with('^');  // see consume()
    if (!pattern) check_topic_name(o.topic);
    const auto start = parse_offset(o.offset);  // a bad -o is a usage error before connecting
    if (!o.group.empty()) {
      if (o.partition >= 0)
        throw usage_error("-p and -G: the group assigns the partitions; choose one of them");
      if (start.where != start_position::beginning && start.where != start_position::end)
        throw usage_error(
            "-o with -G: only beginning or end (where a partition without a "
            "committed offset starts)");
    }
    return consume(o, command.properties, command.observe);
  });
}

}  // namespace kwire::cli
