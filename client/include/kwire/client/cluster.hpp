// The client's view of a Kafka cluster: bootstrap, the metadata cache (brokers, topics,
// partition leaders), and one connection per broker with reconnect backoff.
//
// Metadata is fetched for the topics a client asked for (want_topic), refreshed every
// metadata.max.age.ms, and sooner on request (request_refresh: after NOT_LEADER and
// similar errors; coalesced, and never more often than retry.backoff.ms).
//
// Threading: everything runs on the executor given to create(), which must be a strand or
// single-threaded; call every member function there. Listeners run there too.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/connection.hpp"
#include "kwire/protocol/buffer.hpp"

namespace kwire::client {

struct partition_metadata {
  std::int32_t partition = 0;
  std::int32_t leader = -1;  // -1: no leader right now
  std::int32_t leader_epoch = -1;
  std::int16_t error_code = 0;
  std::vector<std::int32_t> replicas;
  std::vector<std::int32_t> in_sync_replicas;
  std::vector<std::int32_t> offline_replicas;  // Metadata v5+
};

struct topic_metadata {
  std::string name;
  protocol::uuid topic_id{};
  std::int16_t error_code = 0;  // UNKNOWN_TOPIC_OR_PARTITION, TOPIC_AUTHORIZATION_FAILED, ...
  bool internal = false;
  std::vector<partition_metadata> partitions;  // indexed by partition id
};

struct broker_metadata {
  std::int32_t node_id = -1;
  std::string host;
  std::uint16_t port = 0;
  std::optional<std::string> rack;
};

struct cluster_metadata {
  std::optional<std::string> cluster_id;
  std::int32_t controller_id = -1;
  std::vector<broker_metadata> brokers;
  std::map<std::string, topic_metadata, std::less<>> topics;
  std::uint64_t version = 0;  // incremented by every update

  const broker_metadata* broker(std::int32_t node_id) const noexcept;
  const topic_metadata* topic(std::string_view name) const noexcept;
};

struct cluster_options {
  std::vector<broker_endpoint> bootstrap;
  connection_options connection;
  std::chrono::milliseconds reconnect_backoff{50};
  std::chrono::milliseconds reconnect_backoff_max{1000};
  std::chrono::milliseconds retry_backoff{100};
  std::chrono::milliseconds metadata_max_age{300000};
  bool allow_auto_topic_creation = true;
  bool all_topics = false;  // fetch every topic (kwire metadata), not only wanted ones
};

// The options every client kind takes from its common configuration; reads the TLS trust
// and key stores. Throws std::invalid_argument, with a message that starts with the
// property's name, when a file cannot be used or a security setting is invalid (a config
// built in code skips parse_*_config()).
// `kind` ("producer", "consumer", "admin") names the client in its log and metrics.
cluster_options cluster_options_for(const common_config& config, std::string_view kind = "client");

// A bootstrap server no connection could be made to, and the error of the latest attempt.
struct unreachable_server {
  std::string address;  // host:port
  std::error_code error;
  std::string detail;  // why, in words, when the connection knew more (TLS, SASL)
};

class cluster : public std::enable_shared_from_this<cluster> {
 public:
  // Called after each metadata update.
  using metadata_listener = std::function<void(const cluster_metadata&)>;
  // Called when a broker connection becomes ready (ec empty) or fails/closes (ec set).
  using connection_listener = std::function<void(std::int32_t node_id, std::error_code)>;

  static std::shared_ptr<cluster> create(asio::any_io_executor executor, cluster_options options);
  ~cluster();

  void on_metadata(metadata_listener listener) { metadata_listener_ = std::move(listener); }
  void on_connection(connection_listener listener) { connection_listener_ = std::move(listener); }

  // Starts connecting to the bootstrap servers and fetching metadata.
  void start();
  // Adds a topic to the metadata requests; a topic not yet known triggers a refresh.
  void want_topic(std::string_view topic);
  // From now on every topic of the cluster is fetched (a pattern subscription needs them
  // all); a refresh follows soon.
  void want_all_topics();
  // Asks for a metadata refresh soon (coalesced; at most one per retry.backoff.ms).
  void request_refresh();

  const cluster_metadata& metadata() const noexcept { return metadata_; }
  // The client's log, hooks and counters (from cluster_options::connection); may be null.
  detail::observer* observer() const noexcept { return options_.connection.observer.get(); }
  // The last error of a metadata round that reached no broker (empty once one succeeds).
  std::error_code metadata_error() const noexcept { return metadata_error_; }

  // Every bootstrap server with the error of its latest connection attempt, when no metadata
  // has arrived yet and each of them has failed every attempt for at least `for_at_least`
  // (since its first failure); otherwise empty. A broker still starting may refuse
  // connections for a moment, so callers that give up on this pick a bound of seconds.
  std::vector<unreachable_server> unreachable_bootstrap(
      std::chrono::milliseconds for_at_least) const;

  // "host:port" of a known broker or bootstrap server (ids -1, -2, ...); empty if unknown.
  std::string address(std::int32_t node_id) const;

  // The broker's connection when it is ready; otherwise nullptr, and a connection attempt
  // is started (subject to reconnect backoff) whose outcome the connection listener hears.
  std::shared_ptr<connection> ready_connection(std::int32_t node_id);

  // For requests any broker answers (FindCoordinator, InitProducerId without a
  // transactional.id): the ready connection to a known broker with the fewest requests in
  // flight (Java's least loaded node). When none is ready, nullptr, and one broker's
  // connection is started unless one is already being set up.
  std::shared_ptr<connection> any_ready_connection();

  // Closes every connection and stops timers; pending requests fail with shut_down.
  void close();

 private:
  struct node {
    broker_endpoint address;
    std::shared_ptr<connection> conn;
    int failures = 0;
    std::chrono::steady_clock::time_point next_attempt{};
    // Since when every connection attempt failed (empty once one succeeds), and why.
    std::optional<std::chrono::steady_clock::time_point> failing_since;
    std::error_code last_failure;
    std::string last_failure_detail;  // connection::close_detail() of that failure
    bool connected_before = false;    // a later connect is a reconnect
  };

  cluster(asio::any_io_executor executor, cluster_options options);
  void connect(std::int32_t node_id, node& n);
  void on_connect_result(std::int32_t node_id, const std::shared_ptr<connection>& conn,
                         std::error_code ec);
  void send_metadata_request();
  void handle_metadata(std::error_code ec, const response_frame& frame);
  void schedule_refresh(std::chrono::milliseconds delay);
  std::chrono::milliseconds backoff(int failures);
  // Log, counters and hooks of a connection made ready, or failed or lost.
  void report_connect(std::int32_t node_id, node& n);
  void report_disconnect(std::int32_t node_id, node& n, std::error_code reason, bool was_ready);
  void log_leader_changes(const topic_metadata* before, const topic_metadata& after) const;
  // A node with a ready connection for a metadata request, or nullopt (and a connection
  // attempt started, or a retry scheduled).
  std::optional<std::int32_t> pick_metadata_node();

  asio::any_io_executor executor_;
  cluster_options options_;
  cluster_metadata metadata_;
  std::error_code metadata_error_;
  std::map<std::int32_t, node> nodes_;  // bootstrap servers have ids -1, -2, ...
  std::set<std::string, std::less<>> wanted_topics_;
  metadata_listener metadata_listener_;
  connection_listener connection_listener_;
  asio::steady_timer refresh_timer_;
  std::chrono::steady_clock::time_point refresh_at_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point last_metadata_request_{};
  bool metadata_in_flight_ = false;
  bool refresh_wanted_ = false;
  bool closed_ = false;
  std::minstd_rand random_;
};

}  // namespace kwire::client
