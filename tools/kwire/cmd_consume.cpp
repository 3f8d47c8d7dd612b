// kwire consume: a topic's partitions to standard output, kcat -C style.
//
// The consumer runs on an io_context driven by one thread of its own; the main thread
// polls, formats and writes. Partitions are assigned manually (all of the topic's, or -p),
// or by a consumer group (-G, as kcat's balanced consumer).
#include <pthread.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
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
                               assigns; offsets are committed (enable.auto.commit) and on exit.
                               Assignment changes are reported on standard error. Not with -p
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

int consume(const consume_options& o, const client::properties& given) {
  const auto start = parse_offset(o.offset);
  const bool group = !o.group.empty();
  client::properties properties{{"auto.offset.reset", std::string(offset_reset_for(start.where))}};
  if (group) properties.emplace_back("group.id", o.group);
  properties.insert(properties.end(), given.begin(), given.end());
  client::consumer_config config;
  if (auto error = client::parse_consumer_config(properties, config))
    throw property_error(error->message);

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
  if (group) {
    client::rebalance_listener listener;
    listener.on_assigned = [](const std::vector<client::topic_partition>&,
                              const std::vector<client::topic_partition>& assignment) {
      std::cerr << "kwire consume: assigned " << describe_partitions(assignment) << std::endl;
    };
    listener.on_revoked = [](const std::vector<client::topic_partition>& revoked,
                             client::rebalance_listener::done_function done) {
      std::cerr << "kwire consume: revoked " << describe_partitions(revoked) << std::endl;
      done();
    };
    listener.on_lost = [](const std::vector<client::topic_partition>& lost,
                          client::rebalance_listener::done_function done) {
      std::cerr << "kwire consume: lost " << describe_partitions(lost) << std::endl;
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
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::int64_t printed = 0;
  int status = exit_ok;
  std::string out;
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
        if (!position || !marks || marks->high_watermark < 0) continue;
        const auto low = std::max<std::int64_t>(marks->log_start_offset, 0);
        consumer->seek(tp, std::max(low, marks->high_watermark - start.value));
        placed[tp] = true;
        placed_now = true;
      }
      // Records polled before the seeks are not wanted; the next poll runs after them.
      if (placed_now || placed.size() < partitions.size() ||
          std::any_of(placed.begin(), placed.end(), [](const auto& e) { return !e.second; }))
        continue;
    }
    out.clear();
    client::consumer_record r;
    for (auto cursor = set.records(); cursor.next(r);) {
      if (o.count >= 0 && printed >= o.count) break;
      format_record(out, o.format, r);
      ++printed;
    }
    if (!out.empty() && std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
      std::cerr << "kwire consume: writing to standard output failed\n";
      status = exit_failure;
      break;
    }
    std::fflush(stdout);
    if (o.exit_at_end && set.empty()) {
      if (group) partitions = consumer->assignment();
      bool all_at_end = !partitions.empty();
      for (const auto& tp : partitions) {
        const auto position = consumer->position(tp);
        const auto marks = consumer->watermarks(tp);
        if (!position || !marks || marks->high_watermark < 0 || *position < marks->high_watermark)
          all_at_end = false;
      }
      if (all_at_end) break;
    }
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
  client_command command{"consume", usage, describe_consume_properties, {}};
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
    return consume(o, command.properties);
  });
}

}  // namespace kwire::cli
