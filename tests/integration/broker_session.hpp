// A deliberately small blocking session to one broker, for tests of the protocol layer
// against a real Kafka before (and independently of) the async client. Every call is
// bounded by a deadline.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kwire/protocol/frame.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::test {

namespace asio = boost::asio;
using asio::ip::tcp;

struct host_port {
  std::string host;
  std::string port;
};

inline std::vector<host_port> parse_bootstrap(const std::string& list) {
  std::vector<host_port> out;
  std::size_t start = 0;
  while (start < list.size()) {
    auto comma = list.find(',', start);
    std::string item =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto colon = item.rfind(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("bootstrap entry without port: " + item);
    out.push_back({item.substr(0, colon), item.substr(colon + 1)});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Reads the bootstrap list that scripts/kafka-local.sh wrote; empty when there is none.
inline std::string bootstrap_from_env() {
  const char* file = std::getenv("KWIRE_BOOTSTRAP_FILE");
  if (!file) return {};
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

class broker_session {
 public:
  explicit broker_session(const host_port& where,
                          std::chrono::seconds timeout = std::chrono::seconds(30))
      : socket_(io_), timeout_(timeout) {
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(where.host, where.port);
    bool done = false;
    boost::system::error_code result;
    asio::async_connect(socket_, endpoints, [&](auto ec, auto) {
      result = ec;
      done = true;
    });
    run_until(done);
    if (result)
      throw std::runtime_error("connect " + where.host + ":" + where.port + ": " +
                               result.message());
    socket_.set_option(tcp::no_delay(true));
  }

  // Sends one request and waits for its response; `storage` keeps the response bytes that
  // records fields of the decoded response point into.
  template <class Request, class Response>
  std::error_code call(const Request& request, std::int16_t version, Response& response,
                       std::vector<std::uint8_t>& storage) {
    std::vector<std::uint8_t> frame;
    const std::int32_t correlation = next_correlation_++;
    if (auto ec = protocol::encode_request(frame, request, version, correlation, "kwire-tests"))
      return ec;
    write_all(frame);
    std::uint8_t size_be[4];
    read_exact(size_be, 4);
    const std::uint32_t size = std::uint32_t(size_be[0]) << 24 | std::uint32_t(size_be[1]) << 16 |
                               std::uint32_t(size_be[2]) << 8 | size_be[3];
    if (size > protocol::default_max_frame_size)
      throw std::runtime_error("oversized response frame");
    storage.resize(size);
    read_exact(storage.data(), size);
    std::int32_t got = -1;
    std::error_code ec;
    if constexpr (std::is_same_v<Response, protocol::ApiVersionsResponse>)
      ec = protocol::decode_api_versions_response(storage, version, response, &got);
    else
      ec = protocol::decode_response(storage, version, response, &got);
    if (!ec && got != correlation) throw std::runtime_error("correlation id mismatch");
    return ec;
  }

  // ApiVersions at kwire's highest version; if the broker is older it answers in v0 with
  // UNSUPPORTED_VERSION and its own range, and we ask again at the broker's highest.
  protocol::ApiVersionsResponse negotiate() {
    protocol::ApiVersionsRequest req;
    req.client_software_name = "kwire-tests";
    req.client_software_version = "0";
    protocol::ApiVersionsResponse resp;
    std::vector<std::uint8_t> storage;
    std::int16_t version = protocol::ApiVersionsRequest::max_version;
    auto ec = call(req, version, resp, storage);
    if (!ec && resp.error_code == 35) {
      for (const auto& k : resp.api_keys)
        if (k.api_key == protocol::ApiVersionsRequest::api_key) version = k.max_version;
      ec = call(req, version, resp, storage);
    }
    if (ec) throw std::runtime_error("ApiVersions: " + ec.message());
    if (resp.error_code != 0)
      throw std::runtime_error("ApiVersions error " + std::to_string(resp.error_code));
    for (const auto& k : resp.api_keys)
      broker_versions_[k.api_key] = {k.min_version, k.max_version};
    api_versions_version_ = version;
    return resp;
  }

  // The highest version both sides support, or -1.
  std::int16_t version_for(std::int16_t api_key) const {
    auto it = broker_versions_.find(api_key);
    const auto* ours = protocol::find_api(api_key);
    if (it == broker_versions_.end() || !ours) return -1;
    const auto hi = std::min(it->second.second, ours->max_version);
    const auto lo = std::max(it->second.first, ours->min_version);
    return hi >= lo ? hi : -1;
  }
  std::int16_t api_versions_version() const { return api_versions_version_; }
  const std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>>& broker_versions() const {
    return broker_versions_;
  }

 private:
  void run_until(bool& done) {
    io_.restart();
    io_.run_for(timeout_);
    if (!done) {
      socket_.close();
      io_.restart();
      io_.run();
      throw std::runtime_error("broker did not answer within the deadline");
    }
  }
  void write_all(const std::vector<std::uint8_t>& bytes) {
    bool done = false;
    boost::system::error_code result;
    asio::async_write(socket_, asio::buffer(bytes), [&](auto ec, std::size_t) {
      result = ec;
      done = true;
    });
    run_until(done);
    if (result) throw std::runtime_error("write: " + result.message());
  }
  void read_exact(std::uint8_t* p, std::size_t n) {
    bool done = false;
    boost::system::error_code result;
    asio::async_read(socket_, asio::buffer(p, n), [&](auto ec, std::size_t) {
      result = ec;
      done = true;
    });
    run_until(done);
    if (result) throw std::runtime_error("read: " + result.message());
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::chrono::seconds timeout_;
  std::int32_t next_correlation_ = 1;
  std::map<std::int16_t, std::pair<std::int16_t, std::int16_t>> broker_versions_;
  std::int16_t api_versions_version_ = 0;
};

// Creates a topic through `s` (negotiated); returns "" or what went wrong.
inline std::string create_topic(broker_session& s, const std::string& name, std::int32_t partitions,
                                std::int16_t replication_factor,
                                const std::map<std::string, std::string>& configs = {}) {
  protocol::CreateTopicsRequest create;
  auto& t = create.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = replication_factor;
  for (const auto& [key, value] : configs) t.configs.push_back({key, value, {}});
  create.timeout_ms = 30000;
  protocol::CreateTopicsResponse created;
  std::vector<std::uint8_t> storage;
  if (auto ec =
          s.call(create, s.version_for(protocol::CreateTopicsRequest::api_key), created, storage))
    return "CreateTopics: " + ec.message();
  if (created.topics.size() != 1) return "CreateTopics: no result for the topic";
  if (created.topics[0].error_code != 0)
    return "CreateTopics: error " + std::to_string(created.topics[0].error_code) + " " +
           created.topics[0].error_message.value_or("");
  return {};
}

// The coordinator of `key` (key_type 0: group, 1: transactional id) as one broker answers it,
// or node_id -1 when it has none yet (COORDINATOR_NOT_AVAILABLE while a coordinator moves).
struct coordinator_location {
  std::int32_t node_id = -1;
  host_port where;
};
inline coordinator_location find_coordinator(broker_session& s, const std::string& key,
                                             std::int8_t key_type) {
  const auto version = s.version_for(protocol::FindCoordinatorRequest::api_key);
  protocol::FindCoordinatorRequest request;
  request.key_type = key_type;
  if (version >= 4)
    request.coordinator_keys = {key};
  else
    request.key = key;
  protocol::FindCoordinatorResponse response;
  std::vector<std::uint8_t> storage;
  if (auto ec = s.call(request, version, response, storage))
    throw std::runtime_error("FindCoordinator: " + ec.message());
  if (version >= 4) {
    if (response.coordinators.size() != 1 || response.coordinators[0].error_code != 0) return {};
    const auto& c = response.coordinators[0];
    return {c.node_id, {c.host, std::to_string(c.port)}};
  }
  if (response.error_code != 0) return {};
  return {response.node_id, {response.host, std::to_string(response.port)}};
}

}  // namespace kwire::test
