// kwire checkpoint inspect DIR | --topic T: what a connector job's checkpoint store holds (a
// directory, read without a broker, or a Kafka topic): the manifest, and each checkpoint's
// status, time, source positions, pending transaction handles (for `kwire txn commit|abort
// HANDLE`) and participant state sizes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/connector/file_checkpoint_store.hpp"
#include "kwire/connector/kafka_checkpoint_store.hpp"

namespace kwire::cli {
namespace {

namespace kc = kwire::connector;

constexpr std::string_view usage =
    R"(usage: kwire checkpoint inspect DIR [--json]
       kwire checkpoint inspect --topic T -b BOOTSTRAP [-X NAME=VALUE]... [--json]
  inspect DIR   the connector checkpoint store in DIR (the pipeline's --checkpoint-dir): the
                job manifest (parallelism, transactional-id pool), then every checkpoint by
                id: completed (time, each subtask's source positions, pending transaction
                handles and participant state sizes), incomplete (never completed: skipped
                by a restore) or unreadable (why)
  inspect --topic T   the same of the store in Kafka topic T (the pipeline's
                --checkpoint-topic), read from the brokers; the topic is never created
      --json    one JSON document
  -b, --bootstrap-server HOST:PORT[,...]   with --topic: the brokers to start from
  -X, --property NAME=VALUE   with --topic: a client property (security.protocol, ...)
  -d, --debug CATEGORY[,...]   the client's log on standard error (with --topic)
  -h, --help    this help
A pending handle can be finished offline: kwire txn commit|abort -b BOOTSTRAP HANDLE.
Exit status: 0 every completed checkpoint and the manifest read back, 1 one did not (corrupt,
another format version, a part missing) or the store cannot be read, 2 usage error.
)";

// "2026-12-02T15:20:01.123Z" for milliseconds since the epoch.
std::string utc_time(std::int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> when{milliseconds(ms)};
  const auto day = floor<days>(when);
  const year_month_day date{day};
  const hh_mm_ss time{when - day};
  char text[64];
  std::snprintf(
      text, sizeof text, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<long>(time.hours().count()), static_cast<long>(time.minutes().count()),
      static_cast<long>(time.seconds().count()), static_cast<long>(time.subseconds().count()));
  return text;
}

// "transactional id T, producer id P epoch E, 2 partitions", or why the handle is unreadable.
std::string describe_handle(const std::string& text) {
  client::prepared_transaction handle;
  if (client::decode_prepared_transaction(text, handle)) return "not a readable handle";
  return "transactional id " + handle.transactional_id + ", producer id " +
         std::to_string(handle.producer_id) + " epoch " + std::to_string(handle.epoch) + ", " +
         count_of(handle.partitions.size(), "partition");
}

// What the store holds, read once; `failed` when anything that should read back did not.
struct store_contents {
  std::optional<kc::job_manifest> manifest;
  kc::checkpoint_error manifest_problem;  // other than no_manifest
  std::vector<kc::stored_checkpoint> listed;
  std::vector<std::optional<kc::completed_checkpoint>> loaded;  // by listed's index
  std::vector<kc::checkpoint_error> problems;                   // by listed's index
  bool failed = false;
};

// Reads the manifest and loads every checkpoint that is not incomplete; an error only when
// the directory cannot be listed.
kc::checkpoint_error read_store(kc::checkpoint_store& store, store_contents& c) {
  kc::job_manifest manifest;
  if (auto error = store.read_manifest(manifest); !error)
    c.manifest = manifest;
  else if (error.code != kc::errc::no_manifest)
    c.manifest_problem = std::move(error);
  c.failed = static_cast<bool>(c.manifest_problem);
  if (auto error = store.list(c.listed)) return error;
  c.loaded.resize(c.listed.size());
  c.problems.resize(c.listed.size());
  for (std::size_t i = 0; i < c.listed.size(); ++i) {
    const auto& s = c.listed[i];
    if (s.status == kc::checkpoint_status::incomplete) continue;
    kc::completed_checkpoint loaded;
    auto error =
        s.status == kc::checkpoint_status::unreadable ? s.problem : store.load(s.id, loaded);
    if (error) {
      c.problems[i] = std::move(error);
      c.failed = true;
    } else {
      c.loaded[i] = std::move(loaded);
    }
  }
  return {};
}

// `where`: the directory, or "topic T".
void print_text(const std::string& where, const store_contents& c) {
  std::cout << "checkpoint store " << where << '\n';
  if (c.manifest) {
    const auto& m = *c.manifest;
    std::cout << "manifest: parallelism " << m.parallelism;
    if (m.transactional_id_prefix.empty())
      std::cout << ", no transactional ids";
    else
      std::cout << ", transactional ids " << m.transactional_id_prefix << "-SUBTASK-SLOT (pool "
                << m.transactional_id_pool << " per subtask; owned: " << m.owned_parallelism
                << " subtasks x " << m.owned_pool << ")";
    std::cout << ", written " << utc_time(m.written_ms) << '\n';
  } else if (c.manifest_problem) {
    std::cout << "manifest: unreadable: " << c.manifest_problem.describe() << '\n';
  } else {
    std::cout << "manifest: none\n";
  }
  if (c.listed.empty()) std::cout << "no checkpoint\n";
  for (std::size_t i = 0; i < c.listed.size(); ++i) {
    const auto& s = c.listed[i];
    std::cout << "checkpoint " << s.id << ": ";
    if (!c.loaded[i]) {
      if (s.status == kc::checkpoint_status::incomplete) {
        std::cout << "incomplete (never completed; parts of subtasks";
        for (const auto subtask : s.parts_present) std::cout << ' ' << subtask;
        std::cout << (s.parts_present.empty() ? " none" : "") << ")\n";
      } else {
        std::cout << "unreadable: " << c.problems[i].describe() << '\n';
      }
      continue;
    }
    const auto& checkpoint = *c.loaded[i];
    std::cout << "completed " << utc_time(checkpoint.completed_ms) << " ("
              << checkpoint.completed_ms << "), parallelism " << checkpoint.parallelism << '\n';
    for (const auto& part : checkpoint.parts) {
      std::cout << "  subtask " << part.subtask << ":\n";
      for (const auto& p : part.positions)
        std::cout << "    position " << p.topic << " partition " << p.partition << " next offset "
                  << p.next_offset << '\n';
      for (const auto& t : part.pending_transactions)
        std::cout << "    pending transaction (prepared at checkpoint " << t.prepared_at << "; "
                  << describe_handle(t.handle) << "): " << t.handle << '\n';
      for (const auto& [name, state] : part.participant_states)
        std::cout << "    state " << name << ": " << count_of(state.size(), "byte") << '\n';
    }
  }
}

// `key`: "directory" or "topic", and its value.
void print_json(std::string_view key, const std::string& where, const store_contents& c) {
  std::string out = "{";
  append_json_string(out, key);
  out += ":";
  append_json_string(out, where);
  out += ",\"manifest\":";
  if (c.manifest) {
    const auto& m = *c.manifest;
    out += "{\"parallelism\":" + std::to_string(m.parallelism) + ",\"transactional_id_prefix\":";
    append_json_string(out, m.transactional_id_prefix);
    out += ",\"transactional_id_pool\":" + std::to_string(m.transactional_id_pool) +
           ",\"owned_parallelism\":" + std::to_string(m.owned_parallelism) +
           ",\"owned_pool\":" + std::to_string(m.owned_pool) +
           ",\"written_ms\":" + std::to_string(m.written_ms) + "}";
  } else if (c.manifest_problem) {
    out += "{\"error\":";
    append_json_string(out, c.manifest_problem.describe());
    out += "}";
  } else {
    out += "null";
  }
  out += ",\"checkpoints\":[";
  for (std::size_t i = 0; i < c.listed.size(); ++i) {
    const auto& s = c.listed[i];
    out += i ? ",{" : "{";
    out += "\"id\":" + std::to_string(s.id) + ",\"status\":";
    if (!c.loaded[i]) {
      const bool incomplete = s.status == kc::checkpoint_status::incomplete;
      append_json_string(out, incomplete ? "incomplete" : "unreadable");
      out += ",\"parts_present\":[";
      for (std::size_t k = 0; k < s.parts_present.size(); ++k)
        out += (k ? "," : "") + std::to_string(s.parts_present[k]);
      out += "]";
      if (!incomplete) {
        out += ",\"error\":";
        append_json_string(out, c.problems[i].describe());
      }
      out += "}";
      continue;
    }
    const auto& checkpoint = *c.loaded[i];
    out += "\"completed\",\"completed_ms\":" + std::to_string(checkpoint.completed_ms) +
           ",\"parallelism\":" + std::to_string(checkpoint.parallelism) + ",\"subtasks\":[";
    for (std::size_t k = 0; k < checkpoint.parts.size(); ++k) {
      const auto& part = checkpoint.parts[k];
      out += (k ? ",{" : "{") + std::string("\"subtask\":") + std::to_string(part.subtask) +
             ",\"positions\":[";
      for (std::size_t j = 0; j < part.positions.size(); ++j) {
        out += j ? ",{\"topic\":" : "{\"topic\":";
        append_json_string(out, part.positions[j].topic);
        out += ",\"partition\":" + std::to_string(part.positions[j].partition) +
               ",\"next_offset\":" + std::to_string(part.positions[j].next_offset) + "}";
      }
      out += "],\"pending_transactions\":[";
      for (std::size_t j = 0; j < part.pending_transactions.size(); ++j) {
        out += (j ? ",{" : "{") + std::string("\"prepared_at\":") +
               std::to_string(part.pending_transactions[j].prepared_at) + ",\"handle\":";
        append_json_string(out, part.pending_transactions[j].handle);
        out += "}";
      }
      out += "],\"states\":{";
      bool first = true;
      for (const auto& [name, state] : part.participant_states) {
        out += first ? "" : ",";
        first = false;
        append_json_string(out, name);
        out += ":{\"bytes\":" + std::to_string(state.size()) + "}";
      }
      out += "}}";
    }
    out += "]}";
  }
  std::cout << out << "]}\n";
}

// Prints what `store` holds; `key` and `where` name it ("directory", DIR).
int inspect(kc::checkpoint_store& store, std::string_view key, const std::string& where,
            bool json) {
  store_contents contents;
  if (auto error = read_store(store, contents)) {
    std::cerr << "kwire checkpoint inspect: " << error.describe() << '\n';
    return exit_failure;
  }
  if (json)
    print_json(key, where, contents);
  else
    print_text(key == "topic" ? "topic " + where : where, contents);
  if (contents.manifest_problem)
    std::cerr << "kwire checkpoint inspect: " << contents.manifest_problem.describe() << '\n';
  for (const auto& problem : contents.problems)
    if (problem) std::cerr << "kwire checkpoint inspect: " << problem.describe() << '\n';
  return contents.failed ? exit_failure : exit_ok;
}

int inspect_directory(const std::string& dir, bool json) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::cerr << "kwire checkpoint inspect: " << dir << ": not a directory\n";
    return exit_failure;
  }
  kc::file_checkpoint_store store(dir);
  return inspect(store, "directory", dir, json);
}

// inspect --topic T: a client command (-b, -X, -d).
int inspect_topic(std::span<const std::string_view> args) {
  client_command command{"checkpoint inspect", usage, client::describe_common_config, {}, {}};
  std::string topic;
  bool json = false;
  std::vector<option> own{
      {"", "--topic", "T", [&](std::string_view v) { topic = v; }},
      {"", "--json", "", [&](std::string_view) { json = true; }},
  };
  return run_client_command(command, args, std::move(own), [&] {
    check_topic_name(topic);
    client::common_config config;
    if (auto bad = client::parse_common_config(command.properties, config))
      throw property_error(bad->key + ": " + bad->message);
    config.observe = command.observe;
    check_security_files(config);
    io_thread io;
    kc::kafka_checkpoint_store::options options;
    options.create_topic = false;
    kc::kafka_checkpoint_store store(io.executor(), config, topic, std::move(options));
    if (auto error = store.open()) {
      std::cerr << "kwire checkpoint inspect: " << error.describe() << '\n';
      return exit_failure;
    }
    return inspect(store, "topic", topic, json);
  });
}

bool names_a_topic(std::span<const std::string_view> args) {
  return std::any_of(args.begin(), args.end(), [](std::string_view a) {
    return a == "--topic" || a.starts_with("--topic=");
  });
}

}  // namespace

int run_checkpoint(std::span<const std::string_view> args) {
  return run_command("checkpoint", [&] {
    if (args.empty()) throw usage_error("which action? (inspect)");
    if (args[0] == "-h" || args[0] == "--help") {
      std::cout << usage;
      return exit_ok;
    }
    if (args[0] != "inspect")
      throw usage_error("unknown action '" + std::string(args[0]) + "' (inspect)");
    if (names_a_topic(args.subspan(1))) return inspect_topic(args.subspan(1));
    static constexpr std::string_view with_values[] = {"-d", "--debug"};
    std::vector<std::string> positionals;
    const auto rest = take_positionals(args.subspan(1), with_values, positionals);
    bool json = false;
    bool help = false;
    parse_options(rest, offline_options(json, help));
    if (help) {
      std::cout << usage;
      return exit_ok;
    }
    if (positionals.empty()) throw usage_error("checkpoint inspect needs a DIR");
    if (positionals.size() > 1) throw usage_error("unexpected argument '" + positionals[1] + "'");
    return inspect_directory(positionals.front(), json);
  });
}

}  // namespace kwire::cli
