// One TCP connection to one broker: connect, TLS handshake (SSL, SASL_SSL), ApiVersions
// negotiation, SASL authentication (SASL_PLAINTEXT, SASL_SSL), then pipelined requests. Requests
// are encoded straight into a pending write buffer; every request queued while a write is in flight
// goes out in the next single write (one syscall for many requests). Responses arrive in request
// order (Kafka guarantees it per connection) and complete the oldest in-flight request; a
// correlation id out of order closes the connection.
// SASL sessions with a lifetime (KIP-368) are re-authenticated on the same connection at 85-95%
// of it: requests in flight complete as usual, requests queued meanwhile wait until the new
// session is there, and none fails for it.
//
// Threading: every member function must be called on the connection's executor (a strand,
// or an io_context run by one thread); completion handlers run there too.
// Lifetime: create() returns a shared_ptr; pending operations keep the connection alive
// until they complete. close() fails every queued and in-flight request.
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/client/detail/frame_buffer.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "kwire/client/error.hpp"
#include "kwire/protocol/frame.hpp"

namespace kwire::client {

namespace asio = boost::asio;

namespace detail {
struct tls_settings;       // core/tls_stream.hpp
struct tls_stream;         // core/tls_stream.hpp
struct sasl_settings;      // core/sasl_authenticator.hpp
class sasl_authenticator;  // core/sasl_authenticator.hpp
class observer;            // core/observer.hpp: the client's log, hooks and counters
}  // namespace detail

struct broker_endpoint {
  std::int32_t node_id = -1;  // -1 for a bootstrap server not yet known by id
  std::string host;
  std::uint16_t port = 0;

  std::string host_port() const;
};

// A response frame: owns its bytes; `body` points into them (so do `records` fields of a
// response decoded from it, which stay valid as long as this object lives).
struct response_frame {
  std::int16_t api_key = -1;
  std::int16_t api_version = -1;
  std::int32_t correlation_id = 0;
  detail::frame_buffer payload;  // everything after the size prefix
  std::span<const std::uint8_t> body;
};

// The version range of one API as a broker advertises it.
struct version_range {
  std::int16_t min = -1;
  std::int16_t max = -1;  // -1: the broker does not offer the API
};

struct connection_options {
  std::string client_id = "kwire";
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect plus ApiVersions
  std::size_t max_response_size = protocol::default_max_frame_size;
  int send_buffer_bytes = 131072;    // -1: OS default
  int receive_buffer_bytes = 32768;  // -1: OS default
  // security.protocol: TLS when `tls` is set, SASL when `sasl` is set (cluster_options_for
  // builds both from the configuration); neither: PLAINTEXT.
  std::shared_ptr<const detail::tls_settings> tls;
  std::shared_ptr<const detail::sasl_settings> sasl;
  std::shared_ptr<detail::observer> observer;  // none: no log, no counters
  // SASL re-authentication (KIP-368) before the session lifetime the broker gives runs out.
  // A test hook: false shows that the broker closes a connection whose session expired.
  bool sasl_reauthentication = true;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  using response_handler = detail::unique_function<void(std::error_code, response_frame)>;
  using connect_handler = detail::unique_function<void(std::error_code)>;

  // connecting: resolve, TCP connect and the TLS handshake; negotiating: ApiVersions, then
  // SASL.
  enum class state : std::uint8_t { idle, connecting, negotiating, ready, closed };

  static std::shared_ptr<connection> create(asio::any_io_executor executor, broker_endpoint address,
                                            connection_options options);
  ~connection();

  // Resolves, connects (each resolved address in turn), and negotiates API versions.
  // Completes once; after an error the connection is closed.
  void connect(connect_handler handler);

  // Queues a request. `handler` gets the response frame; for a request without a response
  // (Produce with acks=0) pass expects_response=false and the handler completes once the
  // bytes are written. Only on a ready connection; otherwise the handler gets not_ready.
  template <class Request>
  void send(const Request& request, std::int16_t version, response_handler handler,
            bool expects_response = true);
  // The same with its own timeout instead of request.timeout.ms (JoinGroup waits for the
  // whole rebalance).
  template <class Request>
  void send(const Request& request, std::int16_t version, std::chrono::milliseconds timeout,
            response_handler handler);
  // send(), except that records fields (record batches) of borrow_records_min_size bytes or
  // more are written from where they are instead of being copied into the request: they must
  // stay unchanged until `handler` has run (it runs after the write, also when the
  // connection closes).
  template <class Request>
  void send_borrowing_records(const Request& request, std::int16_t version,
                              response_handler handler, bool expects_response = true);
  static constexpr std::size_t borrow_records_min_size = 16 * 1024;

  // The highest version both sides support of this API, or nullopt (also before ready).
  std::optional<std::int16_t> version_for(std::int16_t api_key) const noexcept;
  version_range broker_versions(std::int16_t api_key) const noexcept;
  // A cluster-wide finalized feature's level from ApiVersions (v3+), e.g.
  // "transaction.version"; 0 when the broker finalized none (or is older than v3).
  std::int16_t finalized_feature_level(std::string_view feature) const noexcept;

  // Called once, with the reason, when the connection closes for any reason (also after
  // a failed connect). One listener; a later call replaces it.
  void on_closed(connect_handler listener) { closed_listener_ = std::move(listener); }

  // Fails every queued and in-flight request with `reason` and closes the socket.
  void close(std::error_code reason = make_error_code(errc::shut_down));

  state current_state() const noexcept { return state_; }
  bool ready() const noexcept { return state_ == state::ready; }
  const broker_endpoint& address() const noexcept { return address_; }
  const asio::any_io_executor& get_executor() const noexcept { return executor_; }
  // Requests written or waiting for their response (or held while re-authenticating).
  std::size_t in_flight() const noexcept {
    return in_flight_.size() + queued_.size() + held_.size();
  }
  // Completed SASL re-authentications of this connection (KIP-368).
  std::uint64_t reauthentications() const noexcept { return reauthentications_; }
  // The error that closed the connection (empty while open).
  std::error_code close_reason() const noexcept { return close_reason_; }
  // Why, in words, when there is more to say than the error's message: the TLS handshake
  // failure, the broker's SASL error message. Never holds a credential.
  const std::string& close_detail() const noexcept { return close_detail_; }

 private:
  struct pending_request {
    std::int16_t api_key;
    std::int16_t api_version;
    std::int32_t correlation_id;
    bool expects_response;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point sent_at;  // queued, for the latency metric
    response_handler handler;
  };

  connection(asio::any_io_executor executor, broker_endpoint address, connection_options options);

  using encoder = detail::unique_function<std::error_code(
      std::vector<std::uint8_t>&, std::vector<protocol::deferred_bytes>&, std::int32_t)>;
  // The SASL exchange's own requests go out during a re-authentication; others wait.
  enum class lane : std::uint8_t { requests, authentication };
  template <class Request>
  void queue_request(const Request& request, std::int16_t version, bool expects_response,
                     std::chrono::milliseconds timeout, response_handler handler);
  void encode_and_queue(std::int16_t api_key, std::int16_t version, bool expects_response,
                        std::chrono::milliseconds timeout, response_handler handler, encoder encode,
                        lane which = lane::requests);
  void fail_later(response_handler handler, std::error_code ec);
  void start_write();
  void on_written(boost::system::error_code ec);
  void start_read();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void read_large_frame_rest();
  bool deliver(detail::frame_buffer payload);
  void arm_timer();
  void on_timer();
  void negotiate(std::int16_t version);
  void finish_connect(std::error_code ec);
  void on_tcp_connected();
  void start_tls_handshake();
  void authenticate();
  void start_sasl_exchange(std::chrono::milliseconds timeout);
  void send_sasl_authenticate(protocol::SaslAuthenticateRequest request,
                              std::chrono::milliseconds timeout);
  void on_authenticated();
  std::optional<std::chrono::milliseconds> schedule_reauthentication(
      std::chrono::milliseconds session_lifetime);
  void start_reauthentication();
  void release_held_requests();
  void close_with_detail(std::error_code reason, std::string detail);
  void close_on_io_error(boost::system::error_code ec);
  std::optional<std::int16_t> usable_version(std::int16_t api_key) const noexcept;
  // Calls f(stream) with the TLS stream when there is one, else with the socket.
  template <class F>
  void with_stream(F&& f);
  void log_negotiated(std::int16_t version, std::size_t broker_apis) const;

  asio::any_io_executor executor_;
  broker_endpoint address_;
  connection_options options_;
  asio::ip::tcp::socket socket_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;  // request deadlines
  bool timer_armed_ = false;
  std::chrono::steady_clock::time_point timer_at_{};  // when armed
  asio::steady_timer connect_timer_;                  // socket.connection.setup.timeout.ms
  state state_ = state::idle;
  std::error_code close_reason_;
  std::string close_detail_;
  std::unique_ptr<detail::tls_stream> tls_;
  std::unique_ptr<detail::sasl_authenticator> sasl_;
  std::int16_t sasl_authenticate_version_ = 0;
  // KIP-368: the timer that starts a re-authentication, whether one runs, since when.
  asio::steady_timer reauth_timer_;
  bool reauthenticating_ = false;
  std::chrono::steady_clock::time_point reauth_started_{};
  std::uint64_t reauthentications_ = 0;
  connect_handler connect_handler_;
  connect_handler closed_listener_;
  std::int32_t next_correlation_id_ = 1;

  // Requests encoded into `pending_bytes_`, not yet handed to the socket, and the borrowed
  // bytes that go between them (send_borrowing_records).
  std::vector<std::uint8_t> pending_bytes_;
  std::vector<protocol::deferred_bytes> pending_borrowed_;
  std::deque<pending_request> queued_;
  // Bytes being written and the number of requests they hold.
  std::vector<std::uint8_t> writing_bytes_;
  std::vector<protocol::deferred_bytes> writing_borrowed_;
  std::vector<asio::const_buffer> writing_buffers_;  // both, in wire order
  // Written requests that get no response (acks=0): complete when the write does.
  std::vector<response_handler> complete_on_write_;
  bool write_in_flight_ = false;
  // Written requests waiting for their response, oldest first.
  std::deque<pending_request> in_flight_;
  // Requests queued during a re-authentication, encoded, sent once it completes (the broker
  // takes nothing but SaslAuthenticate between the SaslHandshake and the exchange's end).
  std::vector<std::uint8_t> held_bytes_;
  std::vector<protocol::deferred_bytes> held_borrowed_;
  std::deque<pending_request> held_;

  std::vector<std::uint8_t> read_buffer_;
  std::size_t read_used_ = 0;
  // A frame larger than the read buffer is read straight into its own buffer.
  detail::frame_buffer large_frame_;
  std::size_t large_frame_filled_ = 0;

  std::array<version_range, 128> broker_versions_{};
  // Finalized features (name, max level) of the last ApiVersions; a handful at most.
  std::vector<std::pair<std::string, std::int16_t>> finalized_features_;
};

template <class Request>
void connection::send(const Request& request, std::int16_t version, response_handler handler,
                      bool expects_response) {
  queue_request(request, version, expects_response, options_.request_timeout, std::move(handler));
}

template <class Request>
void connection::send(const Request& request, std::int16_t version,
                      std::chrono::milliseconds timeout, response_handler handler) {
  queue_request(request, version, true, timeout, std::move(handler));
}

template <class Request>
void connection::queue_request(const Request& request, std::int16_t version, bool expects_response,
                               std::chrono::milliseconds timeout, response_handler handler) {
  if (state_ != state::ready)
    return fail_later(std::move(handler), make_error_code(errc::not_ready));
  encode_and_queue(Request::api_key, version, expects_response, timeout, std::move(handler),
                   [&](std::vector<std::uint8_t>& out, std::vector<protocol::deferred_bytes>&,
                       std::int32_t correlation_id) {
                     return protocol::encode_request(out, request, version, correlation_id,
                                                     options_.client_id);
                   });
}

template <class Request>
void connection::send_borrowing_records(const Request& request, std::int16_t version,
                                        response_handler handler, bool expects_response) {
  if (state_ != state::ready)
    return fail_later(std::move(handler), make_error_code(errc::not_ready));
  encode_and_queue(
      Request::api_key, version, expects_response, options_.request_timeout, std::move(handler),
      [&](std::vector<std::uint8_t>& out, std::vector<protocol::deferred_bytes>& borrowed,
          std::int32_t correlation_id) {
        return protocol::encode_request(out, borrowed, borrow_records_min_size, request, version,
                                        correlation_id, options_.client_id);
      });
}

}  // namespace kwire::client
