// Finding a coordinator (FindCoordinator): the one code path that consumer groups, the
// consumer's offset requests, admin calls and transactions use. Sans-io: no sockets, no
// timers; the caller sends the request to any ready broker and passes `now`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "core/error_kinds.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

// FindCoordinator's key_type.
enum class coordinator_type : std::int8_t { group = 0, transaction = 1 };

struct coordinator_node {
  std::int32_t node_id = -1;
  std::string host;
  std::int32_t port = 0;
  bool operator==(const coordinator_node&) const = default;
};

// A FindCoordinator request for `keys`, in the v4+ shape (a list of keys).
protocol::FindCoordinatorRequest find_coordinator_request(coordinator_type type,
                                                          std::span<const std::string> keys);
// Before v4 a request carries one `key`: the first key moves there (a caller with several
// keys sends one request per key to such a broker).
void fit_to_version(protocol::FindCoordinatorRequest& request, std::int16_t version);

// One key's answer. error_code 0: `node` coordinates the key.
struct coordinator_answer {
  std::string key;
  std::int16_t error_code = 0;
  std::optional<std::string> error_message;
  coordinator_node node;
};

// The answers of a response to a request for `keys` (v0-3 answers keys.front() in its
// top-level fields; v4+ names each key). A key asked and not answered is absent.
std::vector<coordinator_answer> coordinator_answers(
    const protocol::FindCoordinatorResponse& response, std::span<const std::string> keys);

// "API: ERROR_NAME (server message)".
std::string describe_broker_error(std::string_view api, std::int16_t error_code,
                                  const std::optional<std::string>& server_message = std::nullopt);

struct lookup_backoff {
  std::chrono::milliseconds retry_backoff{100};       // retry.backoff.ms
  std::chrono::milliseconds retry_backoff_max{1000};  // retry.backoff.max.ms
};

// The coordinator of one key: one FindCoordinator at a time, retried with jittered
// exponential backoff, as Java's AbstractCoordinator.lookupCoordinator and the
// TransactionManager's FindCoordinatorHandler do.
class coordinator_lookup {
 public:
  using clock = std::chrono::steady_clock;

  coordinator_lookup(coordinator_type type, std::string key, lookup_backoff backoff,
                     std::uint32_t seed)
      : type_(type), key_(std::move(key)), backoff_(backoff), random_(seed) {}

  const std::string& key() const noexcept { return key_; }
  const std::optional<coordinator_node>& node() const noexcept { return node_; }
  bool known() const noexcept { return node_.has_value(); }
  bool in_flight() const noexcept { return in_flight_; }
  // A request to send now to any broker (fit_to_version it), or nullopt (known, in flight,
  // or backing off).
  std::optional<protocol::FindCoordinatorRequest> request_due(clock::time_point now);
  // When a due request is waiting for its backoff, that time; else time_point::max().
  clock::time_point deadline() const noexcept;
  // An empty error_code: found, or failed with a retriable error (retried after backoff).
  // Otherwise the fatal error (e.g. GROUP_AUTHORIZATION_FAILED), described in `message`.
  std::error_code handle_response(clock::time_point now,
                                  const protocol::FindCoordinatorResponse& response,
                                  std::string& message);
  // No answer (disconnect, timeout, undecodable): retried after backoff.
  void handle_failure(clock::time_point now);
  // The coordinator moved or failed (NOT_COORDINATOR, disconnect, session timeout): look
  // it up again right away, unless a lookup failed recently.
  void mark_unknown() noexcept { node_.reset(); }
  // Forgets a lookup in flight (its answer will not be delivered).
  void abandon() noexcept { in_flight_ = false; }

 private:
  void fail(clock::time_point now);

  coordinator_type type_;
  std::string key_;
  lookup_backoff backoff_;
  std::minstd_rand random_;
  std::optional<coordinator_node> node_;
  bool in_flight_ = false;
  int failures_ = 0;
  clock::time_point retry_at_{};
};

}  // namespace kwire::client::detail
