// What every kwire subcommand shares: exit codes, option parsing, -X properties, kcat's
// delimiter escapes and JSON strings. Each command lives in its own cmd_*.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"

namespace kwire::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

// A mistake in the command line or the configuration; the message names what was wrong.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A property that parse_*_config() rejected; the hint points to --help-properties.
struct property_error : usage_error {
  using usage_error::usage_error;
};
// Reads the TLS trust and key stores the configuration names (and checks the SASL settings)
// before any client exists, so that a missing file is a configuration error (exit 2) rather
// than an exception out of a client's constructor. Throws property_error.
void check_security_files(const client::common_config& config);
// A failed TLS handshake or a refused SASL login: retrying will not change it, so the
// bootstrap probe gives up as soon as every bootstrap server has failed once.
bool is_security_refusal(std::error_code ec);

// One option of a command. Values are given as "-b VALUE", "-bVALUE", "--long VALUE" or
// "--long=VALUE"; a flag (empty value_name) takes none.
struct option {
  std::string_view short_name;                        // "-b", or empty
  std::string_view long_name;                         // "--bootstrap-server", or empty
  std::string_view value_name;                        // "HOST:PORT", or empty for a flag
  std::function<void(std::string_view value)> apply;  // may throw usage_error
};

// Applies `options` to `args` in order. Throws usage_error for an unknown option, a missing
// value, a value given to a flag, or a positional argument.
void parse_options(std::span<const std::string_view> args, std::span<const option> options);

// The options of a command that runs no client: --json, -h/--help, and -d, taken as by every
// command (and checked) though nothing logs.
std::vector<option> offline_options(bool& json, bool& help);

// Takes the positional arguments out of `args` (parse_options refuses them): an argument
// that is neither an option nor the value of one of `options_with_values` before it. The
// rest, options and their values, is returned for parse_options.
std::vector<std::string_view> take_positionals(
    std::span<const std::string_view> args, std::span<const std::string_view> options_with_values,
    std::vector<std::string>& positionals);

// "name=value" of -X; throws usage_error when there is no '=' or no name.
std::pair<std::string, std::string> split_property(std::string_view assignment);

// kcat's delimiter escapes: \n \t \r \\ and \xNN (one or two hex digits); anything else is
// taken as it is.
std::string unescape_delimiter(std::string_view text);

// Throws usage_error naming -t when `topic` is not a name Kafka accepts (so that it is
// refused here instead of by a broker).
void check_topic_name(std::string_view topic);

// "1 record", "0 records", "2 records": `count` and the noun (`singular` + "s" unless 1).
std::string count_of(std::uint64_t count, std::string_view singular);

// A decimal int32, or usage_error naming `what`.
std::int32_t parse_int32(std::string_view text, std::string_view what);

// Appends `text` as a quoted JSON string.
void append_json_string(std::string& out, std::string_view text);

// The --help-properties listing: one property a paragraph, with type, default and range.
void print_properties(std::ostream& out,
                      const std::vector<client::property_description>& properties);

// Runs a command's body: a usage_error is printed as "kwire COMMAND: message" with a hint
// to --help, and becomes exit status 2.
int run_command(std::string_view command, const std::function<int()>& body);

// A command that talks to brokers. Besides its own options it takes -b, -X, -h/--help and
// --help-properties; -b and -X (and options such as -z that set a property) append to
// `properties` in command-line order, so the last one of a key wins.
struct client_command {
  std::string_view name;   // "produce"
  std::string_view usage;  // the --help text
  std::vector<client::property_description> (*describe_properties)();
  client::properties properties;
  // -d CATEGORY[,CATEGORY]: the client's log on standard error; silent without -d.
  client::observability observe;
};

// Parses `args` with `own_options` and the shared ones; prints the help or the properties
// when asked; otherwise requires a bootstrap and returns body(). Usage errors exit 2.
int run_client_command(client_command& command, std::span<const std::string_view> args,
                       std::vector<option> own_options, const std::function<int()>& body);

// How long every bootstrap server must have failed its connection attempts (refused, most
// often) before a command gives up, long before request.timeout.ms: a broker still starting
// may refuse connections for a moment, and reconnect backoff tries several times meanwhile.
inline constexpr std::chrono::milliseconds bootstrap_give_up_after{5000};

// "no bootstrap server reachable: 127.0.0.1:1: Connection refused; HOST:PORT: ..."
std::string describe_unreachable(const std::vector<client::unreachable_server>& servers);

// Watches in the background whether any bootstrap server can be reached: a cluster of its
// own on `io` (which another thread runs) asks for the metadata of no topic until a broker
// answers, or gives up when every bootstrap server has failed for bootstrap_give_up_after;
// then `on_unreachable` runs on the io thread with describe_unreachable()'s text.
class bootstrap_probe {
 public:
  bootstrap_probe(boost::asio::io_context& io, const client::common_config& config,
                  std::function<void(std::string)> on_unreachable);
  // Stops watching; the io_context must run afterwards to finish that.
  ~bootstrap_probe();
  bootstrap_probe(const bootstrap_probe&) = delete;
  bootstrap_probe& operator=(const bootstrap_probe&) = delete;

 private:
  boost::asio::io_context& io_;
  std::shared_ptr<client::cluster> cluster_;
};

// The first metadata the cluster gets (every topic, or only `topic`), or nullopt after
// request.timeout.ms, or sooner when no bootstrap server can be reached (see
// bootstrap_give_up_after), with why on standard error ("kwire COMMAND: ...").
std::optional<client::cluster_metadata> fetch_metadata(const client::common_config& config,
                                                       const std::optional<std::string>& topic,
                                                       std::string_view command);

// An io_context run by a thread of its own while the main thread waits for results.
class io_thread {
 public:
  io_thread() : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~io_thread() {
    work_.reset();
    thread_.join();
  }
  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  boost::asio::io_context& context() { return io_; }

 private:
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

// The subcommands, each given the arguments after its name.
int run_protocol(std::span<const std::string_view> args);
int run_produce(std::span<const std::string_view> args);
int run_metadata(std::span<const std::string_view> args);
int run_consume(std::span<const std::string_view> args);
int run_txn(std::span<const std::string_view> args);
int run_checkpoint(std::span<const std::string_view> args);
int run_verify(std::span<const std::string_view> args);
int run_pipeline(std::span<const std::string_view> args);

}  // namespace kwire::cli
