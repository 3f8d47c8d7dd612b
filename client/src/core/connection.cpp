#include "kwire/client/connection.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <random>

#include "core/observer.hpp"
#include "core/sasl_authenticator.hpp"
#include "core/sasl_reauthentication.hpp"
#include "core/tls_stream.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;

// The Kafka name and version rules (KIP-511): alphanumerics, '.', '-'.
constexpr std::string_view kSoftwareName = "kwire";
constexpr std::string_view kSoftwareVersion = KWIRE_VERSION;

std::string_view api_name(std::int16_t api_key) {
  const auto* api = protocol::find_api(api_key);
  return api ? api->name : std::string_view("?");
}

std::uint64_t micros_since(std::chrono::steady_clock::time_point then,
                           std::chrono::steady_clock::time_point now) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - then).count();
  return us > 0 ? static_cast<std::uint64_t>(us) : 0;
}

std::uint64_t millis_since(std::chrono::steady_clock::time_point then) {
  return micros_since(then, std::chrono::steady_clock::now()) / 1000;
}

std::int32_t load_be32(const std::uint8_t* p) noexcept {
  return static_cast<std::int32_t>((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                   (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]});
}

}  // namespace

std::string broker_endpoint::host_port() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::shared_ptr<connection> connection::create(asio::any_io_executor executor,
                                               broker_endpoint address,
                                               connection_options options) {
  return std::shared_ptr<connection>(
      new connection(std::move(executor), std::move(address), std::move(options)));
}

connection::connection(asio::any_io_executor executor, broker_endpoint address,
                       connection_options options)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      options_(std::move(options)),
      socket_(executor_),
      resolver_(executor_),
      timer_(executor_),
      connect_timer_(executor_),
      reauth_timer_(executor_) {}

connection::~connection() = default;

template <class F>
void connection::with_stream(F&& f) {
  if (tls_)
    f(tls_->stream);
  else
    f(socket_);
}

void connection::connect(connect_handler handler) {
  if (state_ != state::idle) {
    asio::post(executor_,
               [h = std::move(handler)]() mutable { h(make_error_code(errc::not_ready)); });
    return;
  }
  state_ = state::connecting;
  connect_handler_ = std::move(handler);
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && (self->state_ == state::connecting || self->state_ == state::negotiating))
      self->close(make_error_code(errc::connect_timed_out));
  });
  resolver_.async_resolve(
      address_.host, std::to_string(address_.port),
      [self = shared_from_this()](boost::system::error_code ec,
                                  asio::ip::tcp::resolver::results_type results) {
        if (self->state_ != state::connecting) return;
        if (ec) return self->close(ec);
        asio::async_connect(
            self->socket_, results,
            [self](boost::system::error_code ec, const asio::ip::tcp::endpoint&) {
              if (self->state_ != state::connecting) return;
              if (ec) return self->close(ec);
              boost::system::error_code ignored;
              self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
              if (self->options_.send_buffer_bytes > 0)
                self->socket_.set_option(
                    asio::socket_base::send_buffer_size(self->options_.send_buffer_bytes), ignored);
              if (self->options_.receive_buffer_bytes > 0)
                self->socket_.set_option(
                    asio::socket_base::receive_buffer_size(self->options_.receive_buffer_bytes),
                    ignored);
              self->on_tcp_connected();
            });
      });
}

void connection::on_tcp_connected() {
  if (options_.tls) return start_tls_handshake();
  state_ = state::negotiating;
  start_read();
  negotiate(protocol::ApiVersionsRequest::max_version);
}

void connection::start_tls_handshake() {
  std::error_code ec;
  tls_ = detail::make_tls_stream(socket_, options_.tls, address_.host, ec);
  if (!tls_) return close_with_detail(ec, "cannot set up TLS for host " + address_.host);
  // The connect timer (socket.connection.setup.timeout.ms) also bounds the handshake.
  tls_->stream.async_handshake(
      asio::ssl::stream_base::client, [self = shared_from_this()](boost::system::error_code ec) {
        if (self->state_ != state::connecting) return;
        if (ec)
          return self->close_with_detail(
              make_error_code(errc::tls_handshake_failed),
              detail::describe_tls_failure(*self->tls_, ec, self->address_.host));
        self->state_ = state::negotiating;
        self->start_read();
        self->negotiate(protocol::ApiVersionsRequest::max_version);
      });
}

std::optional<std::int16_t> connection::usable_version(std::int16_t api_key) const noexcept {
  const auto broker = broker_versions(api_key);
  const auto* ours = protocol::find_api(api_key);
  if (!ours || broker.max < 0) return std::nullopt;
  const auto lo = std::max(broker.min, ours->min_version);
  const auto hi = std::min(broker.max, ours->max_version);
  if (hi < lo) return std::nullopt;
  return hi;
}

// SaslHandshake v1 (v0 would mean raw GSSAPI tokens without SaslAuthenticate), then
// SaslAuthenticate until the mechanism is done; nothing else is sent before that.
void connection::authenticate() {
  const auto handshake_version = usable_version(protocol::SaslHandshakeRequest::api_key);
  const auto authenticate_version = usable_version(protocol::SaslAuthenticateRequest::api_key);
  if (!handshake_version || *handshake_version < 1 || !authenticate_version)
    return close_with_detail(make_error_code(errc::broker_too_old),
                             "the broker has no SaslHandshake v1 and SaslAuthenticate");
  sasl_authenticate_version_ = *authenticate_version;
  start_sasl_exchange(options_.connect_timeout);
}

// One SASL exchange: at connect, and again for each re-authentication (KIP-368), when the
// broker takes the same SaslHandshake v1 on the authenticated connection.
void connection::start_sasl_exchange(std::chrono::milliseconds timeout) {
  sasl_ = std::make_unique<detail::sasl_authenticator>(options_.sasl, address_.host);
  const auto request = sasl_->handshake_request();
  // v1: authentication bytes in SaslAuthenticate requests (v0 sent them raw).
  encode_and_queue(
      protocol::SaslHandshakeRequest::api_key, 1, true, timeout,
      [self = shared_from_this(), timeout](std::error_code ec, response_frame frame) {
        if (ec) return self->close(ec);
        protocol::SaslHandshakeResponse response;
        if (auto dec = response.decode(frame.body, frame.api_version)) return self->close(dec);
        auto step = self->sasl_->on_handshake(response);
        if (step.error) return self->close_with_detail(step.error, std::move(step.message));
        self->send_sasl_authenticate(std::move(*step.request), timeout);
      },
      [&request](std::vector<std::uint8_t>& out, std::vector<protocol::deferred_bytes>&,
                 std::int32_t correlation_id) {
        return protocol::encode_request(out, request, std::int16_t{1}, correlation_id, "kwire");
      },
      lane::authentication);
}

void connection::send_sasl_authenticate(protocol::SaslAuthenticateRequest request,
                                        std::chrono::milliseconds timeout) {
  const std::int16_t version = sasl_authenticate_version_;
  encode_and_queue(
      protocol::SaslAuthenticateRequest::api_key, version, true, timeout,
      [self = shared_from_this(), timeout](std::error_code ec, response_frame frame) {
        if (ec) return self->close(ec);
        protocol::SaslAuthenticateResponse response;
        if (auto dec = response.decode(frame.body, frame.api_version)) return self->close(dec);
        auto step = self->sasl_->on_authenticate(response);
        if (step.error) return self->close_with_detail(step.error, std::move(step.message));
        if (step.request) return self->send_sasl_authenticate(std::move(*step.request), timeout);
        self->on_authenticated();
      },
      [&request, version](std::vector<std::uint8_t>& out, std::vector<protocol::deferred_bytes>&,
                          std::int32_t correlation_id) {
        return protocol::encode_request(out, request, version, correlation_id, "kwire");
      },
      lane::authentication);
  // The encoded request holds the mechanism's message (a PLAIN password): wipe the copy.
  if (!request.auth_bytes.empty())
    std::fill(request.auth_bytes.begin(), request.auth_bytes.end(), std::uint8_t{0});
}

// The exchange succeeded: a new session, which may have a lifetime.
void connection::on_authenticated() {
  const auto lifetime = sasl_->session_lifetime();
  sasl_.reset();
  const auto next = schedule_reauthentication(lifetime);
  auto* o = options_.observer.get();
  const auto next_text =
      next ? "; re-authenticating in " + std::to_string(next->count()) + " ms" : std::string();
  if (!reauthenticating_) {
    if (o)
      o->log(log_level::debug, log_category::security, "SASL ",
             detail::mechanism_name(options_.sasl->mechanism), " authenticated to ",
             address_.host_port(), "; session lifetime ", lifetime.count(), " ms", next_text);
    return finish_connect({});
  }
  reauthenticating_ = false;
  ++reauthentications_;
  if (o) {
    o->counters().sasl_reauthentications.add();
    o->log(log_level::debug, log_category::security, "SASL ",
           detail::mechanism_name(options_.sasl->mechanism), " re-authenticated to ",
           address_.host_port(), " in ", millis_since(reauth_started_), " ms (", held_.size(),
           " requests held meanwhile); session lifetime ", lifetime.count(), " ms", next_text);
  }
  release_held_requests();
}

std::optional<std::chrono::milliseconds> connection::schedule_reauthentication(
    std::chrono::milliseconds session_lifetime) {
  if (!options_.sasl_reauthentication) return std::nullopt;
  std::minstd_rand random(std::random_device{}());
  const auto delay = detail::reauthentication_delay(session_lifetime, random);
  if (!delay) return std::nullopt;
  reauth_timer_.expires_after(*delay);
  // A weak pointer: an idle connection is not kept alive by its next re-authentication.
  reauth_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->start_reauthentication();
  });
  return delay;
}

// Requests already written keep going: the broker answers them before it reads the
// SaslHandshake (it takes one request at a time per connection), and their responses arrive
// first. Requests queued from now on are held (encode_and_queue) until on_authenticated.
void connection::start_reauthentication() {
  if (state_ != state::ready || reauthenticating_) return;
  reauthenticating_ = true;
  reauth_started_ = std::chrono::steady_clock::now();
  // The exchange is answered after the requests ahead of it (a JoinGroup may wait minutes for
  // a rebalance), so its deadline lies past theirs.
  std::chrono::milliseconds behind{0};
  for (const auto* ahead : {&in_flight_, &queued_})
    for (const auto& r : *ahead)
      behind = std::max(behind, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    r.deadline - reauth_started_));
  if (auto* o = options_.observer.get())
    o->log(log_level::debug, log_category::security, "SASL re-authentication to ",
           address_.host_port(), " begins behind ", in_flight_.size() + queued_.size(),
           " requests in flight");
  start_sasl_exchange(options_.request_timeout + behind);
}

void connection::release_held_requests() {
  if (held_.empty()) return;
  const std::size_t base = pending_bytes_.size();
  pending_bytes_.insert(pending_bytes_.end(), held_bytes_.begin(), held_bytes_.end());
  for (auto& borrowed : held_borrowed_) {
    borrowed.offset += base;
    pending_borrowed_.push_back(std::move(borrowed));
  }
  for (auto& request : held_) queued_.push_back(std::move(request));
  held_bytes_.clear();
  held_borrowed_.clear();
  held_.clear();
  start_write();
}

// A peer that closes, with or without TLS's close_notify, is a closed connection (retriable);
// a TLS error while negotiating is most likely a refused client certificate (TLS 1.3 reports
// it on the first read after the handshake); later, a broken TLS stream is a closed one too.
void connection::close_on_io_error(boost::system::error_code ec) {
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
    return close(make_error_code(errc::connection_closed));
  if (tls_ && ec.category() == asio::error::get_ssl_category()) {
    if (state_ == state::negotiating)
      return close_with_detail(make_error_code(errc::tls_handshake_failed),
                               detail::describe_tls_failure(*tls_, ec, address_.host));
    return close_with_detail(make_error_code(errc::connection_closed), "TLS: " + ec.message());
  }
  close(ec);
}

void connection::close_with_detail(std::error_code reason, std::string detail) {
  if (state_ == state::closed) return;
  close_detail_ = std::move(detail);
  close(reason);
}

void connection::negotiate(std::int16_t version) {
  protocol::ApiVersionsRequest request;
  if (version >= 3) {
    request.client_software_name = std::string(kSoftwareName);
    request.client_software_version = std::string(kSoftwareVersion);
  }
  encode_and_queue(
      protocol::ApiVersionsRequest::api_key, version, true, options_.connect_timeout,
      [self = shared_from_this(), version](std::error_code ec, response_frame frame) {
        if (ec) return self->close(ec);
        protocol::ApiVersionsResponse response;
        if (auto dec = protocol::decode_api_versions_response(frame.payload, version, response))
          return self->close(dec);
        if (response.error_code ==
            static_cast<std::int16_t>(protocol::broker_error::unsupported_version)) {
          // Each retry is at a lower version, so this ends; v0 refused too means no version.
          if (const auto retry = protocol::api_versions_retry_version(response, version))
            return self->negotiate(*retry);
          return self->close(make_error_code(errc::broker_too_old));
        }
        if (response.error_code != 0)
          return self->close(protocol::broker_error_code(response.error_code));
        for (const auto& api : response.api_keys) {
          if (api.api_key >= 0 &&
              static_cast<std::size_t>(api.api_key) < self->broker_versions_.size())
            self->broker_versions_[static_cast<std::size_t>(api.api_key)] = {api.min_version,
                                                                             api.max_version};
        }
        self->finalized_features_.clear();
        if (response.finalized_features_epoch >= 0)
          for (const auto& f : response.finalized_features)
            self->finalized_features_.emplace_back(f.name, f.max_version_level);
        self->log_negotiated(version, response.api_keys.size());
        if (self->options_.sasl) return self->authenticate();
        self->finish_connect({});
      },
      [&request, version](std::vector<std::uint8_t>& out, std::vector<protocol::deferred_bytes>&,
                          std::int32_t correlation_id) {
        return protocol::encode_request(out, request, version, correlation_id, "kwire");
      });
}

void connection::log_negotiated(std::int16_t version, std::size_t broker_apis) const {
  const auto* o = options_.observer.get();
  if (!o || !o->enabled(log_level::debug, log_category::broker)) return;
  // version_for() needs the ready state, which follows right after: the same from the range.
  std::string used;
  for (const std::int16_t key : {protocol::ProduceRequest::api_key, protocol::FetchRequest::api_key,
                                 protocol::MetadataRequest::api_key}) {
    const auto broker = broker_versions(key);
    const auto* ours = protocol::find_api(key);
    if (!used.empty()) used += ", ";
    used += api_name(key);
    used += ' ';
    used += broker.max < 0 || !ours ? std::string("none")
                                    : "v" + std::to_string(std::min(broker.max, ours->max_version));
  }
  o->log(log_level::debug, log_category::broker, "ApiVersions v", version, " negotiated with ",
         address_.host_port(), ": ", broker_apis, " APIs; ", used);
}

void connection::finish_connect(std::error_code ec) {
  connect_timer_.cancel();
  if (!ec) state_ = state::ready;
  if (connect_handler_) {
    auto handler = std::move(connect_handler_);
    connect_handler_.reset();
    handler(ec);
  }
}

std::optional<std::int16_t> connection::version_for(std::int16_t api_key) const noexcept {
  if (state_ != state::ready) return std::nullopt;
  return usable_version(api_key);
}

version_range connection::broker_versions(std::int16_t api_key) const noexcept {
  if (api_key < 0 || static_cast<std::size_t>(api_key) >= broker_versions_.size()) return {};
  return broker_versions_[static_cast<std::size_t>(api_key)];
}

std::int16_t connection::finalized_feature_level(std::string_view feature) const noexcept {
  for (const auto& [name, level] : finalized_features_)
    if (name == feature) return level;
  return 0;
}

void connection::fail_later(response_handler handler, std::error_code ec) {
  asio::post(executor_, [h = std::move(handler), ec]() mutable { h(ec, response_frame{}); });
}

void connection::encode_and_queue(std::int16_t api_key, std::int16_t version, bool expects_response,
                                  std::chrono::milliseconds timeout, response_handler handler,
                                  encoder encode, lane which) {
  const std::int32_t correlation_id = next_correlation_id_;
  next_correlation_id_ = next_correlation_id_ == INT32_MAX ? 1 : next_correlation_id_ + 1;
  // Responses come in write order, whatever the correlation ids, so a held request may carry
  // a lower id than the SaslAuthenticate written before it.
  const bool hold = reauthenticating_ && which == lane::requests;
  if (auto ec = encode(hold ? held_bytes_ : pending_bytes_,
                       hold ? held_borrowed_ : pending_borrowed_, correlation_id))
    return fail_later(std::move(handler), ec);
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = now + timeout;
  if (auto* o = options_.observer.get()) {
    o->counters().requests_started.add();
    o->log(log_level::debug, log_category::protocol, "sent ", api_name(api_key), " v", version,
           " (correlation id ", correlation_id, ") to ", address_.host_port());
  }
  (hold ? held_ : queued_)
      .push_back(
          {api_key, version, correlation_id, expects_response, deadline, now, std::move(handler)});
  // A shorter timeout than the armed one's (a heartbeat after a JoinGroup) moves the timer.
  if (!timer_armed_ || deadline < timer_at_) arm_timer();
  if (!hold) start_write();
}

void connection::start_write() {
  if (write_in_flight_ || pending_bytes_.empty()) return;
  if (state_ != state::negotiating && state_ != state::ready) return;
  std::swap(pending_bytes_, writing_bytes_);
  std::swap(pending_borrowed_, writing_borrowed_);
  // One gather write: our encoded bytes with the borrowed ones in their places.
  writing_buffers_.clear();
  std::size_t at = 0;
  for (const auto& borrowed : writing_borrowed_) {
    if (borrowed.offset > at)
      writing_buffers_.emplace_back(writing_bytes_.data() + at, borrowed.offset - at);
    writing_buffers_.emplace_back(borrowed.bytes.data(), borrowed.bytes.size());
    at = borrowed.offset;
  }
  if (at < writing_bytes_.size())
    writing_buffers_.emplace_back(writing_bytes_.data() + at, writing_bytes_.size() - at);
  for (auto& request : queued_) {
    if (request.expects_response) {
      in_flight_.push_back(std::move(request));
    } else {
      if (auto* o = options_.observer.get())
        o->counters().request_finished(request.api_key, 0, false);
      complete_on_write_.push_back(std::move(request.handler));
    }
  }
  queued_.clear();
  write_in_flight_ = true;
  with_stream([&](auto& stream) {
    asio::async_write(stream, writing_buffers_,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
                        if (auto* o = self->options_.observer.get())
                          o->counters().network_bytes_sent.add(bytes);
                        self->on_written(ec);
                      });
  });
}

void connection::on_written(boost::system::error_code ec) {
  write_in_flight_ = false;
  if (state_ == state::closed) return;
  if (ec) return close_on_io_error(ec);
  writing_bytes_.clear();
  writing_borrowed_.clear();
  auto done = std::move(complete_on_write_);
  complete_on_write_.clear();
  for (auto& handler : done) {
    handler({}, response_frame{});
    if (state_ == state::closed) return;
  }
  start_write();
}

void connection::start_read() {
  if (read_buffer_.empty()) read_buffer_.resize(kReadBufferSize);
  with_stream([&](auto& stream) {
    stream.async_read_some(
        asio::buffer(read_buffer_.data() + read_used_, read_buffer_.size() - read_used_),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
          self->on_read(ec, bytes);
        });
  });
}

void connection::on_read(boost::system::error_code ec, std::size_t bytes) {
  if (state_ == state::closed) return;
  if (ec) return close_on_io_error(ec);
  read_used_ += bytes;
  if (auto* o = options_.observer.get()) o->counters().network_bytes_received.add(bytes);
  std::size_t pos = 0;
  while (true) {
    const std::span<const std::uint8_t> available(read_buffer_.data() + pos, read_used_ - pos);
    std::error_code frame_ec;
    const auto frame_size =
        protocol::complete_frame_size(available, frame_ec, options_.max_response_size);
    if (frame_ec) {
      // A TLS record (alert 0x15 or handshake 0x16, version 3.x) read as a frame size is the
      // classic sign of plaintext spoken to a TLS listener; the size was refused unread.
      if (!tls_ && available.size() >= 2 && (available[0] == 0x15 || available[0] == 0x16) &&
          available[1] == 0x03)
        return close_with_detail(make_error_code(errc::protocol_violation),
                                 "the broker answered with TLS: is it an SSL or SASL_SSL "
                                 "listener? (security.protocol)");
      return close(make_error_code(errc::protocol_violation));
    }
    if (!frame_size) {
      if (available.size() >= 4) {
        const auto total = static_cast<std::size_t>(load_be32(available.data())) + 4;
        if (total > read_buffer_.size()) {
          // Too big for the read buffer: read the rest straight into the frame's own buffer.
          large_frame_.resize(total - 4);
          std::memcpy(large_frame_.data(), available.data() + 4, available.size() - 4);
          large_frame_filled_ = available.size() - 4;
          read_used_ = 0;
          return read_large_frame_rest();
        }
      }
      break;
    }
    detail::frame_buffer payload(available.begin() + 4,
                                 available.begin() + static_cast<std::ptrdiff_t>(*frame_size));
    pos += *frame_size;
    if (!deliver(std::move(payload))) return;
  }
  if (pos > 0) {
    std::memmove(read_buffer_.data(), read_buffer_.data() + pos, read_used_ - pos);
    read_used_ -= pos;
  }
  start_read();
}

void connection::read_large_frame_rest() {
  with_stream([&](auto& stream) {
    asio::async_read(stream,
                     asio::buffer(large_frame_.data() + large_frame_filled_,
                                  large_frame_.size() - large_frame_filled_),
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t bytes) {
                       if (auto* o = self->options_.observer.get())
                         o->counters().network_bytes_received.add(bytes);
                       if (self->state_ == state::closed) return;
                       if (ec) return self->close_on_io_error(ec);
                       auto payload = std::move(self->large_frame_);
                       self->large_frame_ = {};
                       if (self->deliver(std::move(payload))) self->start_read();
                     });
  });
}

bool connection::deliver(detail::frame_buffer payload) {
  if (in_flight_.empty() || payload.size() < 4 ||
      load_be32(payload.data()) != in_flight_.front().correlation_id) {
    close(make_error_code(errc::protocol_violation));
    return false;
  }
  pending_request request = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (auto* o = options_.observer.get()) {
    const auto latency = micros_since(request.sent_at, std::chrono::steady_clock::now());
    o->counters().request_finished(request.api_key, latency, false);
    o->log(log_level::debug, log_category::protocol, "received ", api_name(request.api_key), " v",
           request.api_version, " response (correlation id ", request.correlation_id, ", ",
           payload.size(), " bytes) from ", address_.host_port(), " after ", latency, " us");
  }
  response_frame frame;
  frame.api_key = request.api_key;
  frame.api_version = request.api_version;
  frame.payload = std::move(payload);
  protocol::response_frame split;
  if (auto ec =
          protocol::split_response(frame.payload, request.api_key, request.api_version, split)) {
    request.handler(ec, response_frame{});
    close(make_error_code(errc::protocol_violation));
    return false;
  }
  frame.correlation_id = split.correlation_id;
  frame.body = split.body;
  request.handler({}, std::move(frame));
  return state_ != state::closed;
}

void connection::arm_timer() {
  if (state_ == state::closed) return;
  auto earliest = std::chrono::steady_clock::time_point::max();
  for (const auto& r : in_flight_) earliest = std::min(earliest, r.deadline);
  for (const auto& r : queued_) earliest = std::min(earliest, r.deadline);
  for (const auto& r : held_) earliest = std::min(earliest, r.deadline);
  if (earliest == std::chrono::steady_clock::time_point::max()) return;
  if (timer_armed_ && timer_at_ <= earliest) return;
  timer_armed_ = true;
  timer_at_ = earliest;
  // Replaces a later wait, whose handler then sees operation_aborted.
  timer_.expires_at(earliest);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted) self->on_timer();
  });
}

void connection::on_timer() {
  timer_armed_ = false;
  if (state_ == state::closed) return;
  const auto now = std::chrono::steady_clock::now();
  const auto expired = [&](const pending_request& r) { return r.deadline <= now; };
  if (std::any_of(in_flight_.begin(), in_flight_.end(), expired) ||
      std::any_of(queued_.begin(), queued_.end(), expired) ||
      std::any_of(held_.begin(), held_.end(), expired)) {
    // Responses come in order, so a late one blocks every later one: give up the connection.
    return close(make_error_code(errc::request_timed_out));
  }
  arm_timer();
}

void connection::close(std::error_code reason) {
  if (state_ == state::closed) return;
  state_ = state::closed;
  close_reason_ = reason;
  boost::system::error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
  timer_.cancel();
  connect_timer_.cancel();
  reauth_timer_.cancel();
  sasl_.reset();
  if (auto* o = options_.observer.get()) {
    const auto now = std::chrono::steady_clock::now();
    for (const auto& r : in_flight_)
      o->counters().request_finished(r.api_key, micros_since(r.sent_at, now), true);
    for (const auto& r : queued_)
      o->counters().request_finished(r.api_key, micros_since(r.sent_at, now), true);
    for (const auto& r : held_)
      o->counters().request_finished(r.api_key, micros_since(r.sent_at, now), true);
    o->log(log_level::debug, log_category::broker, "connection to ", address_.host_port(),
           " closed: ", reason, " (", in_flight(), " requests failed)");
  }
  std::vector<response_handler> failed;
  for (auto& r : in_flight_) failed.push_back(std::move(r.handler));
  for (auto& r : queued_) failed.push_back(std::move(r.handler));
  for (auto& r : held_) failed.push_back(std::move(r.handler));
  for (auto& h : complete_on_write_) failed.push_back(std::move(h));
  in_flight_.clear();
  queued_.clear();
  held_.clear();
  complete_on_write_.clear();
  pending_bytes_.clear();
  pending_borrowed_.clear();
  held_bytes_.clear();
  held_borrowed_.clear();
  for (auto& h : failed) fail_later(std::move(h), reason);
  if (connect_handler_) {
    auto handler = std::move(connect_handler_);
    connect_handler_.reset();
    asio::post(executor_, [h = std::move(handler), reason]() mutable { h(reason); });
  }
  if (closed_listener_) {
    auto listener = std::move(closed_listener_);
    closed_listener_.reset();
    asio::post(executor_, [l = std::move(listener), reason]() mutable { l(reason); });
  }
}

}  // namespace kwire::client
