// The machinery under every admin operation (private to the client library).
//
// admin_engine owns the cluster (metadata, connections) and the operations in progress, on
// one strand. admin_call is one operation: a list of items (topics, groups, partitions,
// resources), each routed to a broker every round (the controller, a given broker, the
// group's coordinator, the partition's leader), grouped into one request per broker, and
// then done, or retried after a backoff, or failed when the operation's deadline passes.
// Each operation is a subclass that says where an item goes, builds a request for a set of
// items and reads the response into its result.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/coordinator_lookup.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/client/cluster.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

using admin_clock = std::chrono::steady_clock;

class admin_call;

class admin_engine : public std::enable_shared_from_this<admin_engine> {
 public:
  admin_engine(asio::any_io_executor executor, admin_config config);

  // Registers the cluster listeners and starts fetching metadata.
  void start();
  // Runs `call` on the strand (from any thread); a closed engine fails it at once.
  void launch(std::shared_ptr<admin_call> call);
  // Fails every call with shut_down, closes the connections, then `done` (on the strand).
  void close(unique_function<void()> done);

  const admin_config& config() const noexcept { return config_; }
  const asio::strand<asio::any_io_executor>& strand() const noexcept { return strand_; }
  cluster& brokers() noexcept { return *cluster_; }
  std::minstd_rand& random() noexcept { return random_; }
  // A call that completed leaves the set.
  void forget(const admin_call* call);

 private:
  void advance_all();

  admin_config config_;
  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<cluster> cluster_;
  std::map<const admin_call*, std::shared_ptr<admin_call>> calls_;
  std::minstd_rand random_;
  bool closed_ = false;
};

// Where an item goes this round.
struct admin_route {
  enum class kind { controller, broker, coordinator, leader };
  kind how = kind::controller;
  std::int32_t broker = -1;     // kind::broker
  std::string group;            // kind::coordinator
  std::string topic;            // kind::leader
  std::int32_t partition = -1;  // kind::leader

  static admin_route to_controller() { return {}; }
  static admin_route to_broker(std::int32_t id) { return {kind::broker, id, {}, {}, -1}; }
  static admin_route to_coordinator(std::string group) {
    return {kind::coordinator, -1, std::move(group), {}, -1};
  }
  static admin_route to_leader(std::string topic, std::int32_t partition) {
    return {kind::leader, -1, {}, std::move(topic), partition};
  }
};

// What a retry needs first.
enum class retry_hint { none, refresh_metadata, find_coordinator };

class admin_call : public std::enable_shared_from_this<admin_call> {
 public:
  admin_call(admin_engine& engine, std::chrono::milliseconds timeout, std::size_t items);
  virtual ~admin_call() = default;

  // Routes and sends what can be sent; completes the call when every item is done.
  void advance();
  // Fails every item not yet done with `ec` and completes the call.
  void fail_all(std::error_code ec);

 protected:
  // Where `item` goes. Called for each item every round until it is done.
  virtual admin_route route(std::size_t item) = 0;
  // Builds one request for `items` (all routed to `node`) and sends it with send_request().
  virtual void send(std::int32_t node, const std::shared_ptr<connection>& conn,
                    const std::vector<std::size_t>& items) = 0;
  // Every item is done: hand the result to the caller.
  virtual void deliver() = 0;
  // Called before routing until it returns true (ListGroups waits for the broker list).
  virtual bool prepare() { return true; }
  // What the keys of admin_route::to_coordinator name: groups, or transactional ids.
  virtual coordinator_type coordinator_kind() const { return coordinator_type::group; }

  // Which errors in a response are worth retrying, and what to do first.
  virtual bool retriable(std::error_code ec) const;
  virtual retry_hint hint_for(std::error_code ec) const;

  // The item's final outcome.
  void complete(std::size_t item, std::error_code ec = {}, const diagnostics& detail = {});
  // A failed attempt: again after a backoff, unless the retries are used up.
  void retry(std::size_t item, std::error_code ec, const diagnostics& detail, retry_hint hint);
  // complete() or retry(), as retriable() and hint_for() say.
  void settle(std::size_t item, std::error_code ec, const diagnostics& detail);

  // Adds items (ListGroups: one per broker, once known); returns the first new index.
  std::size_t add_items(std::size_t count);
  // For a call that asks every broker (ListGroups, ListTransactions): one item per broker
  // the metadata lists, each with an outcome in `out`; false while no broker is known.
  template <class Outcome>
  bool add_broker_items(std::vector<Outcome>& out) {
    const auto& md = engine_->brokers().metadata();
    if (md.brokers.empty()) return false;
    add_items(md.brokers.size());
    for (const auto& b : md.brokers) out.emplace_back().broker_id = b.node_id;
    return true;
  }
  std::size_t item_count() const noexcept { return items_.size(); }
  const admin_item_result& outcome(std::size_t item) const { return items_[item].outcome; }
  // Copies the item's outcome into the result's item, and returns its error.
  std::error_code fill(std::size_t item, admin_item_result& out) const;
  // fill() for every item of `out` (index = item); returns the first error.
  template <class Items>
  std::error_code fill_all(Items& out) const {
    std::error_code first;
    for (std::size_t i = 0; i < out.size(); ++i) {
      const auto ec = fill(i, out[i]);
      if (!first) first = ec;
    }
    return first;
  }
  // Fails each item whose key an earlier item has (before the call runs): a request with
  // a key twice is one the broker refuses as a whole.
  void reject_duplicates(const std::vector<std::string>& keys);

  // The highest version of `api_key` both sides support within [min, max], or nullopt after
  // failing `items` with broker_too_old.
  std::optional<std::int16_t> pick_version(const connection& conn, std::int16_t api_key,
                                           const std::vector<std::size_t>& items,
                                           std::int16_t min = 0, std::int16_t max = 0x7fff);
  // Diagnostics for a request to `node`.
  diagnostics where(std::int32_t node, const connection& conn, std::int16_t api_key,
                    std::int16_t version) const;
  // Milliseconds left before the deadline, for the requests' own timeout_ms fields.
  std::int32_t remaining_ms() const;

  // Sends `request`; `on_response(response, detail)` reads a decoded response. Transport and
  // decoding errors settle every item; items the response left out fail with
  // protocol_violation.
  template <class Response, class Request, class Handler>
  void send_request(std::int32_t node, const std::shared_ptr<connection>& conn,
                    const Request& request, std::int16_t version, std::vector<std::size_t> items,
                    Handler on_response);

  std::shared_ptr<admin_engine> engine_;  // released when the call completes
  const admin_clock::time_point deadline_;

 private:
  enum class item_state : std::uint8_t { idle, in_flight, done };
  struct item {
    item_state state = item_state::idle;
    int attempts = 0;
    admin_clock::time_point retry_at{};
    admin_item_result outcome;
    std::string waiting_for;  // what the last round lacked, for the timeout message
    std::error_code last_error;
    diagnostics last_detail;
    std::string group;  // the coordinator key of its last route
  };
  void finish();
  void time_out();
  void arm_timer(admin_clock::time_point at);
  std::optional<std::int32_t> resolve(std::size_t index, const admin_route& route,
                                      std::set<std::string>& lookups);
  std::optional<std::int32_t> controller();
  void find_coordinators(const std::set<std::string>& groups);
  void on_coordinators(std::error_code ec, const response_frame& frame,
                       const std::vector<std::string>& groups, const diagnostics& detail);
  void coordinator_failed(const std::string& group, std::error_code ec, const diagnostics& detail);
  void after_response(std::error_code ec, const std::vector<std::size_t>& items,
                      const diagnostics& detail);
  // Remembers the error of a failed attempt, for the timeout message.
  void note(std::size_t index, std::error_code ec, const diagnostics& detail);

  std::vector<item> items_;
  std::map<std::string, coordinator_lookup, std::less<>> coordinators_;  // by group id
  asio::steady_timer timer_;
  std::chrono::milliseconds timeout_;
  bool prepared_ = false;
  bool finished_ = false;
};

// Topic and config operations: the controller's answers are final except NOT_CONTROLLER
// (metadata is stale) and THROTTLING_QUOTA_EXCEEDED (Java retries it too); UNKNOWN_TOPIC
// for a topic to delete is an answer, not a reason to wait.
class controller_call : public admin_call {
 public:
  using admin_call::admin_call;

 protected:
  bool retriable(std::error_code ec) const override;
};

// NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS.
inline bool coordinator_moved_or_busy(std::error_code ec) {
  return is_coordinator_moved(ec) ||
         ec == protocol::make_error_code(protocol::broker_error::coordinator_load_in_progress);
}

// Group and transaction coordinators' answers are final except those that say to ask
// (again, or elsewhere) later.
class coordinator_call : public admin_call {
 public:
  using admin_call::admin_call;

 protected:
  bool retriable(std::error_code ec) const override {
    if (ec.category() == protocol::broker_category()) return coordinator_moved_or_busy(ec);
    return client::is_retriable(ec);
  }
};

template <class Response, class Request, class Handler>
void admin_call::send_request(std::int32_t node, const std::shared_ptr<connection>& conn,
                              const Request& request, std::int16_t version,
                              std::vector<std::size_t> items, Handler on_response) {
  for (auto i : items) items_[i].state = item_state::in_flight;
  auto detail = where(node, *conn, Request::api_key, version);
  conn->send(
      request, version,
      [self = shared_from_this(), items = std::move(items), detail,
       on_response = std::move(on_response)](std::error_code ec, response_frame frame) mutable {
        if (self->finished_) return;
        Response response;
        if (!ec) ec = response.decode(frame.body, frame.api_version);
        if (!ec) on_response(response, detail);
        self->after_response(ec, items, detail);
      });
}

// The key of every item, in order (topic names, group ids, ...).
template <class Items, class Key>
std::vector<std::string> keys_of(const Items& items, Key key) {
  std::vector<std::string> keys;
  for (const auto& item : items) keys.push_back(key(item));
  return keys;
}

// "topic:partition", the key of a partition item.
inline std::string partition_key(const std::string& topic, std::int32_t partition) {
  return topic + ":" + std::to_string(partition);
}

// Groups `items` by topic, in the order first seen: topic -> item indexes.
template <class Items>
std::vector<std::pair<std::string, std::vector<std::size_t>>> by_topic(
    const Items& all, const std::vector<std::size_t>& items) {
  std::vector<std::pair<std::string, std::vector<std::size_t>>> out;
  std::map<std::string, std::size_t, std::less<>> slot;
  for (auto i : items) {
    auto [it, added] = slot.emplace(all[i].topic, out.size());
    if (added) out.emplace_back(all[i].topic, std::vector<std::size_t>{});
    out[it->second].second.push_back(i);
  }
  return out;
}

// Item index by name among the items of one request.
inline std::map<std::string, std::size_t, std::less<>> index_by(
    const std::vector<std::size_t>& items, const std::vector<std::string>& names) {
  std::map<std::string, std::size_t, std::less<>> out;
  for (auto i : items) out.emplace(names[i], i);
  return out;
}

// The request's diagnostics narrowed to one topic (and partition).
inline diagnostics about(const diagnostics& request, std::string_view topic,
                         std::int32_t partition = -1) {
  diagnostics d = request;
  d.topic = topic;
  d.partition = partition;
  return d;
}

// The broker's error code as an error_code, and its message in `detail`.
inline std::error_code error_from(std::int16_t code, const std::optional<std::string>& message,
                                  diagnostics& detail) {
  if (message) detail.server_message = *message;
  return protocol::broker_error_code(code);
}

}  // namespace kwire::client::detail
