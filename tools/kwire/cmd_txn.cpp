// kwire txn: the operator's tools for transactions: list and describe them (the admin
// client's ListTransactions, DescribeTransactions, DescribeProducers), abort a hanging one on
// a partition (KIP-664), and commit or abort a prepared transaction from its handle.
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/client/transaction.hpp"

namespace kwire::cli {
namespace {

namespace asio = boost::asio;

constexpr std::string_view usage =
    R"(usage: kwire txn list -b BOOTSTRAP [--json] [--state STATE]... [--producer-id ID]
                    [--min-duration-ms MS] [-X NAME=VALUE]...
       kwire txn describe -b BOOTSTRAP TRANSACTIONAL_ID [-X NAME=VALUE]...
       kwire txn abort -b BOOTSTRAP --topic TOPIC --partition N [--producer-id ID]
       kwire txn commit|abort -b BOOTSTRAP HANDLE [-X NAME=VALUE]...
  list      every transaction the brokers coordinate: transactional id, coordinator, state,
            producer id (ListTransactions to every broker); only those in a STATE given
            (Ongoing, PrepareCommit, ...), of producer ID, open at least MS (KIP-994:
            a broker without ListTransactions v1 refuses it)
  describe  the transaction's state, producer id and epoch, timeout, start time and
            partitions, and the producers each of its partitions' leaders knows
  abort --topic T --partition N
            aborts the hanging transaction on that partition: the producer DescribeProducers
            shows with an open transaction (current transaction start offset >= 0) gets an
            abort marker (WriteTxnMarkers, KIP-664); with several, --producer-id picks one
  commit HANDLE, abort HANDLE
            finishes a prepared transaction from its handle (kwtx1....) with a producer
            whose transactional.id is the handle's; prints the proven outcome:
            committed, already committed, aborted, already aborted or unknown
  -b, --bootstrap-server HOST:PORT[,...]  the brokers to start from (bootstrap.servers)
      --json                   list: one JSON document
      --topic TOPIC, --partition N, --producer-id ID   abort of a hanging transaction
      --state STATE, --producer-id ID, --min-duration-ms MS   list filters
  -d, --debug CATEGORY[,...]   the client's log for these categories on standard error
                               (all, broker, protocol, metadata, producer, eos, consumer,
                               fetch, cgrp, admin, security)
  -X, --property NAME=VALUE    a client property by its Java name (repeatable)
      --help-properties        list every property it takes
  -h, --help                   this help
Exit status: 0 done (commit: committed or already committed; abort HANDLE: aborted or
already aborted), 1 a runtime failure, no hanging transaction to abort, or another outcome,
2 usage or configuration error (a malformed handle, a missing argument).
)";

struct txn_options {
  std::string action;  // list, describe, abort, commit
  std::optional<std::string> positional;
  bool json = false;
  std::optional<std::string> topic;
  std::optional<std::int32_t> partition;
  std::optional<std::int64_t> producer_id;
  std::vector<std::string> states;              // list --state
  std::optional<std::int32_t> min_duration_ms;  // list --min-duration-ms
};

// No bootstrap server answers: bootstrap_probe's words, thrown by wait_for.
struct unreachable_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What bootstrap_probe found, from the io thread; read once the client's call completed
// (which the close below makes it do).
struct unreachable_note {
  std::mutex mutex;
  std::optional<std::string> why;
  std::optional<std::string> get() {
    std::lock_guard lock(mutex);
    return why;
  }
};

// Watches the bootstrap servers and, when none can be reached, notes why and runs `close`
// (which fails the client's calls in progress), so that the command ends in seconds.
std::shared_ptr<unreachable_note> watch_bootstrap(io_thread& io,
                                                  const client::common_config& config,
                                                  std::optional<bootstrap_probe>& probe,
                                                  std::function<void()> close) {
  auto note = std::make_shared<unreachable_note>();
  probe.emplace(io.context(), config, [note, close = std::move(close)](std::string why) {
    {
      std::lock_guard lock(note->mutex);
      note->why = std::move(why);
    }
    close();
  });
  return note;
}

// Starts an admin operation and waits for it; unreachable_error when no bootstrap server
// could be reached meanwhile.
template <class Result, class Start>
std::pair<std::error_code, Result> wait_for(unreachable_note& note, Start start) {
  std::promise<std::pair<std::error_code, Result>> promise;
  auto future = promise.get_future();
  start([&promise](std::error_code ec, Result r) { promise.set_value({ec, std::move(r)}); });
  auto out = future.get();
  if (auto why = note.get()) throw unreachable_error(*why);
  return out;
}

client::admin_config admin_config_of(const client::properties& properties,
                                     const client::observability& observe) {
  client::admin_config config;
  if (auto error = client::parse_admin_config(properties, config))
    throw property_error(error->message);
  check_security_files(config);
  config.observe = observe;
  for (const auto& warning : config.warnings) std::cerr << "kwire txn: note: " << warning << '\n';
  return config;
}

// `text` and spaces up to `width` (at least one space).
std::string padded(std::string_view text, std::size_t width) {
  return std::string(text) + std::string(width > text.size() ? width - text.size() : 1, ' ');
}

int list(const txn_options& o, client::admin& admin, unreachable_note& note) {
  client::list_transactions_options filters;
  filters.states = o.states;
  if (o.producer_id) filters.producer_ids.push_back(*o.producer_id);
  if (o.min_duration_ms) filters.min_duration = std::chrono::milliseconds(*o.min_duration_ms);
  auto [ec, result] = wait_for<client::list_transactions_result>(
      note, [&](auto done) { admin.async_list_transactions(filters, std::move(done)); });
  if (o.json) {
    std::string out = "{\"transactions\":[";
    bool first = true;
    for (const auto& t : result.transactions) {
      out += first ? "{" : ",{";
      first = false;
      out += "\"transactional_id\":";
      append_json_string(out, t.transactional_id);
      out += ",\"coordinator\":" + std::to_string(t.coordinator) + ",\"state\":";
      append_json_string(out, t.state);
      out += ",\"producer_id\":" + std::to_string(t.producer_id) + "}";
    }
    std::cout << out << "]}\n";
  } else {
    std::size_t width = 16;
    for (const auto& t : result.transactions) width = std::max(width, t.transactional_id.size());
    std::cout << padded("TRANSACTIONAL_ID", width + 2)
              << "COORDINATOR  STATE           PRODUCER_ID\n";
    for (const auto& t : result.transactions)
      std::cout << padded(t.transactional_id, width + 2)
                << padded(std::to_string(t.coordinator), 13) << padded(t.state, 16) << t.producer_id
                << '\n';
  }
  for (const auto& b : result.brokers)
    if (b.error) std::cerr << "kwire txn list: broker " << b.broker_id << ": " << b.message << '\n';
  return ec ? exit_failure : exit_ok;
}

void print_producers(const client::described_producers& p) {
  std::cout << "  " << p.topic << " partition " << p.partition;
  if (p.error) {
    std::cout << ": " << p.message << '\n';
    return;
  }
  std::cout << " (leader " << p.leader << "): " << count_of(p.producers.size(), "producer") << '\n';
  for (const auto& s : p.producers)
    std::cout << "    producer id " << s.producer_id << " epoch " << s.producer_epoch
              << ", last sequence " << s.last_sequence << ", last timestamp " << s.last_timestamp
              << ", coordinator epoch " << s.coordinator_epoch
              << ", current transaction start offset " << s.current_txn_start_offset << '\n';
}

int describe(const txn_options& o, client::admin& admin, unreachable_note& note) {
  auto [ec, result] = wait_for<client::describe_transactions_result>(note, [&](auto done) {
    admin.async_describe_transactions({*o.positional}, {}, std::move(done));
  });
  const auto& t = result.transactions.at(0);
  if (t.error) {
    std::cerr << "kwire txn describe: " << t.message << '\n';
    return exit_failure;
  }
  std::cout << "transactional id " << t.transactional_id << ": " << t.state << "\n  coordinator "
            << t.coordinator << ", producer id " << t.producer_id << " epoch " << t.producer_epoch
            << ", timeout " << t.timeout_ms << " ms, start time " << t.start_time_ms << " ms\n"
            << count_of(t.partitions.size(), "partition") << " in the transaction:\n";
  for (const auto& p : t.partitions)
    std::cout << "  " << p.topic << " partition " << p.partition << '\n';
  if (t.partitions.empty()) return exit_ok;
  auto [pec, producers] = wait_for<client::describe_producers_result>(
      note, [&](auto done) { admin.async_describe_producers(t.partitions, {}, std::move(done)); });
  std::cout << "producers of those partitions:\n";
  for (const auto& p : producers.partitions) print_producers(p);
  return pec ? exit_failure : exit_ok;
}

int abort_hanging(const txn_options& o, client::admin& admin, unreachable_note& note) {
  const std::string where = *o.topic + " partition " + std::to_string(*o.partition);
  auto [ec, result] = wait_for<client::describe_producers_result>(note, [&](auto done) {
    admin.async_describe_producers({{*o.topic, *o.partition}}, {}, std::move(done));
  });
  const auto& p = result.partitions.at(0);
  if (p.error) {
    std::cerr << "kwire txn abort: " << p.message << '\n';
    return exit_failure;
  }
  std::vector<client::producer_state> open;
  for (const auto& s : p.producers)
    if (s.current_txn_start_offset >= 0 && (!o.producer_id || s.producer_id == *o.producer_id))
      open.push_back(s);
  if (open.empty()) {
    std::cerr << "kwire txn abort: no hanging transaction on " << where << ": no producer"
              << (o.producer_id ? " with id " + std::to_string(*o.producer_id) : std::string())
              << " has a transaction open there (" << count_of(p.producers.size(), "producer")
              << " known)\n";
    return exit_failure;
  }
  if (open.size() > 1) {
    std::cerr << "kwire txn abort: " << open.size() << " producers have a transaction open on "
              << where << "; pick one with --producer-id:\n";
    print_producers(p);
    return exit_failure;
  }
  const auto& s = open.front();
  client::abort_transaction_spec spec{*o.topic, *o.partition, s.producer_id,
                                      static_cast<std::int16_t>(s.producer_epoch),
                                      s.coordinator_epoch};
  auto [aec, outcome] = wait_for<client::partition_outcome>(
      note, [&](auto done) { admin.async_abort_transaction(spec, {}, std::move(done)); });
  if (aec) {
    std::cerr << "kwire txn abort: " << outcome.message << '\n';
    return exit_failure;
  }
  std::cout << "aborted the transaction of producer id " << s.producer_id << " epoch "
            << s.producer_epoch << " (coordinator epoch " << s.coordinator_epoch << ") on " << where
            << ", open since offset " << s.current_txn_start_offset << '\n';
  return exit_ok;
}

int run_admin(const txn_options& o, const client::properties& properties,
              const client::observability& observe) {
  auto config = admin_config_of(properties, observe);
  io_thread io;
  auto admin = std::make_shared<client::admin>(io.executor(), config);
  std::optional<bootstrap_probe> probe;
  auto note = watch_bootstrap(io, config, probe, [admin] { admin->async_close([] {}); });
  int status = exit_failure;
  try {
    if (o.action == "list")
      status = list(o, *admin, *note);
    else if (o.action == "describe")
      status = describe(o, *admin, *note);
    else
      status = abort_hanging(o, *admin, *note);
  } catch (const unreachable_error& e) {
    std::cerr << "kwire txn " << o.action << ": " << e.what() << '\n';
  }
  probe.reset();
  admin->close();
  return status;
}

// A handle that does not decode: what is wrong with it, as far as can be told.
std::string handle_problem(std::string_view text) {
  if (!text.starts_with("kwtx")) return "it does not start with kwtx1.";
  if (!text.starts_with("kwtx1.")) return "an unknown handle format (kwire reads kwtx1.)";
  return "its base64 text, checksum or length is wrong (a truncated or altered handle?)";
}

int finish_prepared(const txn_options& o, client::properties properties,
                    const client::observability& observe) {
  client::prepared_transaction handle;
  if (client::decode_prepared_transaction(*o.positional, handle))
    throw usage_error("'" + *o.positional +
                      "' is not a transaction handle: " + handle_problem(*o.positional));
  properties.emplace_back("transactional.id", handle.transactional_id);
  client::producer_config config;
  if (auto error = client::parse_producer_config(properties, config))
    throw property_error(error->message);
  check_security_files(config);
  config.observe = observe;
  const bool commit = o.action == "commit";
  io_thread io;
  auto producer = std::make_shared<client::producer>(io.executor(), config);
  std::optional<bootstrap_probe> probe;
  auto note = watch_bootstrap(io, config, probe, [producer] {
    producer->async_close(std::chrono::milliseconds(0), [] {});
  });
  auto [ec, outcome] =
      commit ? producer->commit_prepared(handle) : producer->abort_prepared(handle);
  probe.reset();
  producer->close(std::chrono::milliseconds(0));
  if (auto why = note->get()) {
    std::cerr << "kwire txn " << o.action << ": " << *why << '\n';
    return exit_failure;
  }
  if (ec) {
    std::cerr << "kwire txn " << o.action << ": transaction " << handle.transactional_id << ": "
              << ec.message() << '\n';
    return exit_failure;
  }
  std::cout << "transaction " << handle.transactional_id << ": " << client::to_string(outcome)
            << '\n';
  using client::transaction_outcome;
  const bool wanted = commit ? (outcome == transaction_outcome::committed ||
                                outcome == transaction_outcome::already_committed)
                             : (outcome == transaction_outcome::aborted ||
                                outcome == transaction_outcome::already_aborted);
  return wanted ? exit_ok : exit_failure;
}

}  // namespace

int run_txn(std::span<const std::string_view> args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    (args.empty() ? std::cerr : std::cout) << usage;
    return args.empty() ? exit_usage : exit_ok;
  }
  txn_options o;
  o.action = std::string(args[0]);
  const bool prepared_action = o.action == "commit" || o.action == "abort";
  if (o.action != "list" && o.action != "describe" && !prepared_action) {
    std::cerr << "kwire txn: unknown action '" << o.action
              << "' (list, describe, abort, commit)\n(see 'kwire txn --help')\n";
    return exit_usage;
  }
  client_command command{
      "txn",
      usage,
      o.action == "commit" ? client::describe_producer_config : client::describe_admin_config,
      {},
      {}};
  static constexpr std::string_view with_values[] = {"-b",
                                                     "--bootstrap-server",
                                                     "-X",
                                                     "--property",
                                                     "-d",
                                                     "--debug",
                                                     "-t",
                                                     "--topic",
                                                     "-p",
                                                     "--partition",
                                                     "--producer-id",
                                                     "--state",
                                                     "--min-duration-ms"};
  std::vector<std::string> positionals;
  const auto rest = take_positionals(args.subspan(1), with_values, positionals);
  std::vector<option> own_options = {
      {"", "--json", "", [&](std::string_view) { o.json = true; }},
      {"-t", "--topic", "TOPIC",
       [&](std::string_view v) {
         check_topic_name(v);
         o.topic = v;
       }},
      {"-p", "--partition", "N",
       [&](std::string_view v) { o.partition = parse_int32(v, "--partition"); }},
      {"", "--state", "STATE", [&](std::string_view v) { o.states.emplace_back(v); }},
      {"", "--min-duration-ms", "MS",
       [&](std::string_view v) {
         o.min_duration_ms = parse_int32(v, "--min-duration-ms");
         if (*o.min_duration_ms < 0) throw usage_error("--min-duration-ms must be >= 0");
       }},
      {"", "--producer-id", "ID",
       [&](std::string_view v) {
         std::int64_t id = 0;
         const auto [stop, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
         if (ec != std::errc{} || stop != v.data() + v.size() || v.empty() || id < 0)
           throw usage_error("--producer-id: '" + std::string(v) + "' is not a producer id");
         o.producer_id = id;
       }},
  };
  return run_client_command(command, rest, std::move(own_options), [&] {
    if (positionals.size() > 1) throw usage_error("unexpected argument '" + positionals[1] + "'");
    if (!positionals.empty()) o.positional = positionals.front();
    const bool hanging = o.action == "abort" && (o.topic || o.partition);
    if (o.json && o.action != "list") throw usage_error("--json is for txn list");
    if ((o.topic || o.partition) && !hanging)
      throw usage_error("--topic and --partition are for txn abort");
    if (o.producer_id && !hanging && o.action != "list")
      throw usage_error("--producer-id is for txn list and txn abort --topic --partition");
    if ((!o.states.empty() || o.min_duration_ms) && o.action != "list")
      throw usage_error("--state and --min-duration-ms are for txn list");
    if (o.action == "list" && o.positional)
      throw usage_error("txn list takes no argument, got '" + *o.positional + "'");
    if (o.action == "describe" && !o.positional)
      throw usage_error("txn describe needs a TRANSACTIONAL_ID");
    if (hanging) {
      if (!o.topic || !o.partition)
        throw usage_error("txn abort of a hanging transaction needs --topic and --partition");
      if (o.positional)
        throw usage_error("txn abort takes either HANDLE or --topic and --partition, not both");
    } else if (prepared_action && !o.positional) {
      throw usage_error("txn " + o.action + " needs a HANDLE (kwtx1....)" +
                        (o.action == "abort" ? " or --topic and --partition" : ""));
    }
    if (prepared_action && !hanging) return finish_prepared(o, command.properties, command.observe);
    return run_admin(o, command.properties, command.observe);
  });
}

}  // namespace kwire::cli
