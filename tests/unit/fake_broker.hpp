// A scripted stand-in for a Kafka broker on 127.0.0.1, for tests of the client without a
// real Kafka: it accepts connections, parses each request frame, and asks the test's script
// what to do (reply with a body, stay silent, or drop the connection). It runs on the
// test's io_context, so a single-threaded test is deterministic.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::test {

namespace asio = boost::asio;
using asio::ip::tcp;

struct fake_request {
  std::int16_t api_key = -1;
  std::int16_t api_version = -1;
  std::int32_t correlation_id = 0;
  std::vector<std::uint8_t> body;
  int connection = 0;  // 1 for the first accepted connection, 2 for the next, ...

  template <class Request>
  Request decode() const {
    Request r;
    if (auto ec = r.decode(body, api_version))
      throw std::runtime_error("fake broker: " + ec.message());
    return r;
  }
};

struct reply_body {
  std::vector<std::uint8_t> body;
  // Answered this long after the request (as a broker waiting for fetch.min.bytes); later
  // requests on the connection wait for it, which keeps the answers in order.
  std::chrono::milliseconds delay{0};
};
struct no_reply {};
struct drop_connection {};
using fake_action = std::variant<reply_body, no_reply, drop_connection>;

template <class Response>
reply_body reply(const Response& response, std::int16_t version) {
  reply_body out;
  if (auto ec = response.encode(out.body, version))
    throw std::runtime_error("fake broker: " + ec.message());
  return out;
}

// ApiVersions answer offering every API kwire implements at every version it implements.
inline reply_body api_versions_reply(const fake_request& request) {
  protocol::ApiVersionsResponse response;
  for (const auto& api : protocol::implemented_apis()) {
    auto& entry = response.api_keys.emplace_back();
    entry.api_key = api.key;
    entry.min_version = api.min_version;
    entry.max_version = api.max_version;
  }
  return reply(response, request.api_version);
}

// Runs the io_context until `done` or the bound passes (the test then fails on its own
// checks, never hangs).
template <class Pred>
void run_until(asio::io_context& io, Pred done,
               std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline)
    io.run_for(std::chrono::milliseconds(5));
}

class fake_broker {
 public:
  using script = std::function<fake_action(const fake_request&)>;

  fake_broker(asio::io_context& io, script s)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(s)) {
    accept();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections_accepted() const { return accepted_; }
  const std::vector<fake_request>& requests() const { return requests_; }

  // Closes every accepted connection (the client sees the broker go away).
  void drop_all() {
    for (auto& s : sessions_) s->close();
  }
  void stop_accepting() { acceptor_.close(); }

 private:
  struct session : std::enable_shared_from_this<session> {
    session(fake_broker& b, tcp::socket s, int id) : broker(b), socket(std::move(s)), id(id) {}
    void close() {
      boost::system::error_code ignored;
      socket.close(ignored);
    }
    void read_size() {
      asio::async_read(
          socket, asio::buffer(size_be), [self = shared_from_this()](auto ec, std::size_t) {
            if (ec) return;
            const std::uint32_t size = (std::uint32_t{self->size_be[0]} << 24) |
                                       (std::uint32_t{self->size_be[1]} << 16) |
                                       (std::uint32_t{self->size_be[2]} << 8) | self->size_be[3];
            self->frame.resize(size);
            asio::async_read(self->socket, asio::buffer(self->frame), [self](auto ec, std::size_t) {
              if (!ec) self->handle();
            });
          });
    }
    void handle() {
      protocol::reader peek(frame);
      fake_request request;
      request.api_key = peek.int16();
      request.api_version = peek.int16();
      protocol::RequestHeader header;
      protocol::reader r(frame);
      header.read(r, protocol::request_header_version(request.api_key, request.api_version));
      request.correlation_id = header.correlation_id;
      request.body.assign(frame.end() - static_cast<std::ptrdiff_t>(r.remaining()), frame.end());
      request.connection = id;
      broker.requests_.push_back(request);
      fake_action action =
          request.api_key == protocol::ApiVersionsRequest::api_key && !broker.script_api_versions_
              ? fake_action(api_versions_reply(request))
              : broker.script_(request);
      if (std::holds_alternative<drop_connection>(action)) return close();
      if (auto* body = std::get_if<reply_body>(&action)) {
        auto out = std::make_shared<std::vector<std::uint8_t>>(4);
        protocol::ResponseHeader rh;
        rh.correlation_id = request.correlation_id;
        protocol::writer w(*out);
        rh.write(w, protocol::response_header_version(request.api_key, request.api_version));
        out->insert(out->end(), body->body.begin(), body->body.end());
        const auto size = static_cast<std::uint32_t>(out->size() - 4);
        const std::uint8_t be[4] = {
            static_cast<std::uint8_t>(size >> 24), static_cast<std::uint8_t>(size >> 16),
            static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
        std::memcpy(out->data(), be, 4);
        if (body->delay.count() > 0) {
          auto timer = std::make_shared<asio::steady_timer>(socket.get_executor(), body->delay);
          timer->async_wait([self = shared_from_this(), timer, out](auto ec) {
            if (ec) return;
            self->send(std::move(*out));
            self->read_size();
          });
          return;
        }
        send(std::move(*out));
      }
      read_size();
    }
    void send(std::vector<std::uint8_t> bytes) {
      outbox.push_back(std::move(bytes));
      if (outbox.size() == 1) write_next();
    }
    // One write at a time: concurrent async_writes on a socket could interleave.
    void write_next() {
      asio::async_write(socket, asio::buffer(outbox.front()),
                        [self = shared_from_this()](auto ec, std::size_t) {
                          if (ec) return;
                          self->outbox.pop_front();
                          if (!self->outbox.empty()) self->write_next();
                        });
    }
    fake_broker& broker;
    tcp::socket socket;
    int id;
    std::uint8_t size_be[4] = {};
    std::vector<std::uint8_t> frame;
    std::deque<std::vector<std::uint8_t>> outbox;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto s = std::make_shared<session>(*this, std::move(socket), ++accepted_);
      sessions_.push_back(s);
      s->read_size();
      accept();
    });
  }

 public:
  // When true, ApiVersions requests go to the script too (default: answered automatically).
  bool script_api_versions_ = false;

 private:
  tcp::acceptor acceptor_;
  script script_;
  int accepted_ = 0;
  std::vector<fake_request> requests_;
  std::vector<std::shared_ptr<session>> sessions_;
};

}  // namespace kwire::test
