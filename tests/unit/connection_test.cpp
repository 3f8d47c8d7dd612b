// kwire::client::connection against a scripted fake broker: handshake, version choice,
// pipelining and ordering, write coalescing, acks=0 requests, timeouts, and failures at
// each step (refused, dropped during the handshake, dropped with requests in flight).
#include "kwire/client/connection.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "connection_test_support.hpp"
#include "fake_broker.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::run_until;
using namespace std::chrono_literals;

namespace {

kc::connection_options fast_options() {
  kc::connection_options o;
  o.client_id = "unit";
  o.request_timeout = 2s;
  o.connect_timeout = 2s;
  return o;
}

fake_action metadata_reply(const fake_request& r) {
  kp::MetadataResponse response;
  response.cluster_id = "c" + std::to_string(r.correlation_id);
  return kwire::test::reply(response, r.api_version);
}

std::shared_ptr<kc::connection> connected(boost::asio::io_context& io, fake_broker& broker,
                                          const kc::connection_options& options = fast_options()) {
  return kwire::test::connect_to(io, broker, options);
}

TEST(Connection, NegotiatesTheHighestCommonVersion) {
  boost::asio::io_context io;
  fake_broker broker(io, metadata_reply);
  auto conn = connected(io, broker);
  ASSERT_TRUE(conn->ready());
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), kp::MetadataRequest::max_version);
  ASSERT_FALSE(broker.requests().empty());
  EXPECT_EQ(broker.requests()[0].api_key, kp::ApiVersionsRequest::api_key);
  EXPECT_EQ(broker.requests()[0].api_version, kp::ApiVersionsRequest::max_version);
  const auto request = broker.requests()[0].decode<kp::ApiVersionsRequest>();
  EXPECT_EQ(request.client_software_name, "kwire");
}

TEST(Connection, RetriesApiVersionsAtTheVersionAnOldBrokerNames) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request& r) -> fake_action {
    if (r.api_key != kp::ApiVersionsRequest::api_key) return kwire::test::no_reply{};
    if (r.api_version > 2) {
      // KIP-511: an old broker answers UNSUPPORTED_VERSION in v0 with its own range.
      kp::ApiVersionsResponse response;
      response.error_code = static_cast<std::int16_t>(kp::broker_error::unsupported_version);
      auto& e = response.api_keys.emplace_back();
      e.api_key = kp::ApiVersionsRequest::api_key;
      e.min_version = 0;
      e.max_version = 2;
      return kwire::test::reply(response, 0);
    }
    kp::ApiVersionsResponse response;
    auto& e = response.api_keys.emplace_back();
    e.api_key = kp::MetadataRequest::api_key;
    e.min_version = 0;
    e.max_version = 5;
    return kwire::test::reply(response, r.api_version);
  });
  broker.script_api_versions_ = true;
  auto conn = connected(io, broker);
  ASSERT_TRUE(conn->ready());
  ASSERT_EQ(broker.requests().size(), 2u);
  EXPECT_EQ(broker.requests()[1].api_version, 2);
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), 5);
  EXPECT_FALSE(conn->version_for(kp::ProduceRequest::api_key).has_value());
}

// --- ApiVersions answers of every shape (the Java client's fallback rules) ---------------

constexpr std::int16_t kUnsupportedVersion =
    static_cast<std::int16_t>(kp::broker_error::unsupported_version);

// An answer listing Metadata 0-5 (and ApiVersions 0-`api_versions_max` when that is >= 0).
kp::ApiVersionsResponse answer_listing_metadata(std::int16_t error_code,
                                                std::int16_t api_versions_max = -1) {
  kp::ApiVersionsResponse response;
  response.error_code = error_code;
  const auto list = [&](std::int16_t api_key, std::int16_t max_version) {
    auto& entry = response.api_keys.emplace_back();
    entry.api_key = api_key;
    entry.max_version = max_version;
  };
  if (api_versions_max >= 0) list(kp::ApiVersionsRequest::api_key, api_versions_max);
  list(kp::MetadataRequest::api_key, 5);
  return response;
}

// Connects to a broker whose ApiVersions answers come from `script`; the connect result.
std::error_code connect_with_api_versions_script(boost::asio::io_context& io, fake_broker& broker,
                                                 std::shared_ptr<kc::connection>& conn) {
  broker.script_api_versions_ = true;
  conn =
      kc::connection::create(io.get_executor(), {-1, "127.0.0.1", broker.port()}, fast_options());
  std::optional<std::error_code> result;
  conn->connect([&](std::error_code ec) { result = ec; });
  run_until(io, [&] { return result.has_value(); });
  EXPECT_TRUE(result.has_value()) << "connect did not complete";
  // Long enough for a looping client to send more requests.
  run_until(
      io, [] { return false; }, 100ms);
  return result.value_or(make_error_code(kc::errc::request_timed_out));
}

std::vector<std::int16_t> requested_versions(const fake_broker& broker) {
  std::vector<std::int16_t> versions;
  for (const auto& r : broker.requests())
    if (r.api_key == kp::ApiVersionsRequest::api_key) versions.push_back(r.api_version);
  return versions;
}

TEST(ConnectionApiVersions, FullAnswerAtTheRequestedVersion) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request& r) -> fake_action {
    return kwire::test::reply(answer_listing_metadata(0, kp::ApiVersionsRequest::max_version),
                              r.api_version);
  });
  std::shared_ptr<kc::connection> conn;
  const auto ec = connect_with_api_versions_script(io, broker, conn);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(requested_versions(broker),
            std::vector<std::int16_t>{kp::ApiVersionsRequest::max_version});
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), 5);
}

TEST(ConnectionApiVersions, UnsupportedInAV0BodyNamingTheRangeRetriesAtItsHighest) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request& r) -> fake_action {
    if (r.api_version > 2)
      return kwire::test::reply(answer_listing_metadata(kUnsupportedVersion, 2), 0);
    return kwire::test::reply(answer_listing_metadata(0, 2), r.api_version);
  });
  std::shared_ptr<kc::connection> conn;
  const auto ec = connect_with_api_versions_script(io, broker, conn);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(requested_versions(broker),
            (std::vector<std::int16_t>{kp::ApiVersionsRequest::max_version, 2}));
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), 5);
}

// The error in a body of the requested (flexible) version, not v0: read as requested first.
TEST(ConnectionApiVersions, UnsupportedInABodyOfTheRequestedVersionRetriesAtTheNamedRange) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request& r) -> fake_action {
    if (r.api_version > 2)
      return kwire::test::reply(answer_listing_metadata(kUnsupportedVersion, 2), r.api_version);
    return kwire::test::reply(answer_listing_metadata(0, 2), r.api_version);
  });
  std::shared_ptr<kc::connection> conn;
  const auto ec = connect_with_api_versions_script(io, broker, conn);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(requested_versions(broker),
            (std::vector<std::int16_t>{kp::ApiVersionsRequest::max_version, 2}));
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), 5);
}

TEST(ConnectionApiVersions, UnsupportedWithoutARangeRetriesAtV0) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request& r) -> fake_action {
    if (r.api_version > 0)
      return kwire::test::reply(answer_listing_metadata(kUnsupportedVersion), 0);
    return kwire::test::reply(answer_listing_metadata(0), 0);
  });
  std::shared_ptr<kc::connection> conn;
  const auto ec = connect_with_api_versions_script(io, broker, conn);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(requested_versions(broker),
            (std::vector<std::int16_t>{kp::ApiVersionsRequest::max_version, 0}));
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), 5);
}

// No error, but the body is v0 whatever the request: only the v0 fallback reads it.
TEST(ConnectionApiVersions, BodyOnlyReadableAsV0IsAccepted) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request&) -> fake_action {
    return kwire::test::reply(answer_listing_metadata(0, 0), 0);
  });
  std::shared_ptr<kc::connection> conn;
  const auto ec = connect_with_api_versions_script(io, broker, conn);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(requested_versions(broker),
            std::vector<std::int16_t>{kp::ApiVersionsRequest::max_version});
  EXPECT_EQ(conn->version_for(kp::MetadataRequest::api_key), 5);
}

// A broker that refuses every version, whatever range it names, ends the negotiation with
// broker_too_old after a strictly falling series of versions ending at v0; it never loops.
TEST(ConnectionApiVersions, BrokerThatAlwaysAnswersUnsupportedFailsWithoutLooping) {
  struct shape {
    const char* name;
    std::int16_t named_max;  // -1: no ApiVersions range in the answer
    std::vector<std::int16_t> expected_versions;
  };
  const std::int16_t max = kp::ApiVersionsRequest::max_version;
  const std::vector<shape> shapes = {
      {"no range", -1, {max, 0}},
      {"range 0-2", 2, {max, 2, 0}},
      {"its range includes what it refused", max, {max, 0}},
  };
  for (const auto& s : shapes) {
    SCOPED_TRACE(s.name);
    boost::asio::io_context io;
    fake_broker broker(io, [&s](const fake_request&) -> fake_action {
      return kwire::test::reply(answer_listing_metadata(kUnsupportedVersion, s.named_max), 0);
    });
    std::shared_ptr<kc::connection> conn;
    const auto ec = connect_with_api_versions_script(io, broker, conn);
    EXPECT_EQ(ec, kc::errc::broker_too_old) << ec.message();
    EXPECT_EQ(requested_versions(broker), s.expected_versions);
    EXPECT_EQ(conn->current_state(), kc::connection::state::closed);
  }
}

TEST(ConnectionApiVersions, GarbageFailsAtOnce) {
  const std::vector<std::vector<std::uint8_t>> bodies = {
      {0xde, 0xad, 0xbe},
      // UNSUPPORTED_VERSION, then bytes that are no array of any version.
      {0x00, 0x23, 0x7f, 0xff, 0xff, 0xff, 0x01},
      {},
  };
  for (const auto& body : bodies) {
    SCOPED_TRACE(testing::PrintToString(body));
    boost::asio::io_context io;
    fake_broker broker(
        io, [&body](const fake_request&) -> fake_action { return kwire::test::reply_body{body}; });
    std::shared_ptr<kc::connection> conn;
    const auto ec = connect_with_api_versions_script(io, broker, conn);
    EXPECT_TRUE(ec);
    EXPECT_NE(ec, kc::errc::connect_timed_out) << ec.message();
    EXPECT_EQ(requested_versions(broker).size(), 1u);
    EXPECT_EQ(conn->current_state(), kc::connection::state::closed);
  }
}

TEST(Connection, PipelinedRequestsCompleteInOrderAndShareWrites) {
  boost::asio::io_context io;
  fake_broker broker(io, metadata_reply);
  auto conn = connected(io, broker);
  std::vector<std::string> clusters;
  constexpr int kRequests = 50;
  for (int i = 0; i < kRequests; ++i) {
    conn->send(kp::MetadataRequest{}, 12, [&](std::error_code ec, kc::response_frame frame) {
      ASSERT_FALSE(ec) << ec.message();
      kp::MetadataResponse response;
      ASSERT_FALSE(response.decode(frame.body, frame.api_version));
      clusters.push_back(response.cluster_id.value_or(""));
    });
  }
  // All 50 were queued before the first write completed: at most two writes carry them.
  EXPECT_LE(conn->in_flight(), static_cast<std::size_t>(kRequests));
  run_until(io, [&] { return clusters.size() == kRequests; });
  ASSERT_EQ(clusters.size(), static_cast<std::size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i)
    EXPECT_EQ(clusters[i], "c" + std::to_string(i + 2));  // 1 = ApiVersions
}

TEST(Connection, RequestWithoutResponseCompletesWhenWritten) {
  boost::asio::io_context io;
  fake_broker broker(io,
                     [](const fake_request&) -> fake_action { return kwire::test::no_reply{}; });
  auto conn = connected(io, broker);
  kp::ProduceRequest produce;
  produce.acks = 0;
  std::optional<std::error_code> result;
  conn->send(
      produce, 9, [&](std::error_code ec, kc::response_frame) { result = ec; }, false);
  run_until(io, [&] { return result.has_value() && broker.requests().size() == 2; });
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(*result);
  EXPECT_EQ(conn->in_flight(), 0u);
}

TEST(Connection, SilentBrokerTimesOutAndFailsEveryRequest) {
  boost::asio::io_context io;
  fake_broker broker(io,
                     [](const fake_request&) -> fake_action { return kwire::test::no_reply{}; });
  auto options = fast_options();
  options.request_timeout = 200ms;
  auto conn = connected(io, broker, options);
  std::vector<std::error_code> results;
  for (int i = 0; i < 3; ++i)
    conn->send(kp::MetadataRequest{}, 12,
               [&](std::error_code ec, kc::response_frame) { results.push_back(ec); });
  const auto start = std::chrono::steady_clock::now();
  run_until(io, [&] { return results.size() == 3; });
  ASSERT_EQ(results.size(), 3u);
  for (auto ec : results) EXPECT_EQ(ec, kc::errc::request_timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(conn->current_state(), kc::connection::state::closed);
}

// The deadline timer follows the earliest request: a short timeout sent after a long one
// (a heartbeat after a JoinGroup that waits for the rebalance) fails on time.
TEST(Connection, ShortTimeoutAfterALongOneFailsOnTime) {
  boost::asio::io_context io;
  fake_broker broker(io,
                     [](const fake_request&) -> fake_action { return kwire::test::no_reply{}; });
  auto conn = connected(io, broker);
  std::vector<std::error_code> results;
  auto record = [&](std::error_code ec, kc::response_frame) { results.push_back(ec); };
  conn->send(kp::MetadataRequest{}, 12, 60s, record);
  run_until(
      io, [] { return false; }, 20ms);  // the long one is written and its timer armed
  conn->send(kp::MetadataRequest{}, 12, 200ms, record);
  const auto start = std::chrono::steady_clock::now();
  run_until(
      io, [&] { return results.size() == 2; }, 5s);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  for (auto ec : results) EXPECT_EQ(ec, kc::errc::request_timed_out);
}

TEST(Connection, DroppedConnectionFailsRequestsInFlight) {
  boost::asio::io_context io;
  fake_broker broker(
      io, [](const fake_request&) -> fake_action { return kwire::test::drop_connection{}; });
  auto conn = connected(io, broker);
  std::optional<std::error_code> result;
  conn->send(kp::MetadataRequest{}, 12,
             [&](std::error_code ec, kc::response_frame) { result = ec; });
  run_until(io, [&] { return result.has_value(); });
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(kc::is_retriable(*result)) << result->message();
  // Later requests fail at once instead of waiting.
  std::optional<std::error_code> later;
  conn->send(kp::MetadataRequest{}, 12,
             [&](std::error_code ec, kc::response_frame) { later = ec; });
  run_until(io, [&] { return later.has_value(); });
  EXPECT_EQ(later, kc::errc::not_ready);
}

TEST(Connection, HandshakeFailures) {
  boost::asio::io_context io;
  // Refused: nothing listens on the port any more.
  std::uint16_t closed_port;
  {
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  auto refused =
      kc::connection::create(io.get_executor(), {-1, "127.0.0.1", closed_port}, fast_options());
  std::optional<std::error_code> refused_result;
  refused->connect([&](std::error_code ec) { refused_result = ec; });

  // Dropped during ApiVersions.
  fake_broker dropper(
      io, [](const fake_request&) -> fake_action { return kwire::test::drop_connection{}; });
  dropper.script_api_versions_ = true;
  auto dropped =
      kc::connection::create(io.get_executor(), {-1, "127.0.0.1", dropper.port()}, fast_options());
  std::optional<std::error_code> dropped_result;
  dropped->connect([&](std::error_code ec) { dropped_result = ec; });

  // Silent during ApiVersions: connection setup timeout.
  fake_broker silent(io,
                     [](const fake_request&) -> fake_action { return kwire::test::no_reply{}; });
  silent.script_api_versions_ = true;
  auto options = fast_options();
  options.connect_timeout = 200ms;
  auto stalled =
      kc::connection::create(io.get_executor(), {-1, "127.0.0.1", silent.port()}, options);
  std::optional<std::error_code> stalled_result;
  stalled->connect([&](std::error_code ec) { stalled_result = ec; });

  run_until(io, [&] { return refused_result && dropped_result && stalled_result; });
  ASSERT_TRUE(refused_result && dropped_result && stalled_result);
  EXPECT_TRUE(*refused_result == std::errc::connection_refused) << refused_result->message();
  EXPECT_EQ(*dropped_result, kc::errc::connection_closed) << dropped_result->message();
  EXPECT_EQ(*stalled_result, kc::errc::connect_timed_out) << stalled_result->message();
  EXPECT_FALSE(stalled->ready());
}

TEST(Connection, CloseFailsQueuedRequestsWithTheReason) {
  boost::asio::io_context io;
  fake_broker broker(io,
                     [](const fake_request&) -> fake_action { return kwire::test::no_reply{}; });
  auto conn = connected(io, broker);
  std::vector<std::error_code> results;
  for (int i = 0; i < 4; ++i)
    conn->send(kp::MetadataRequest{}, 12,
               [&](std::error_code ec, kc::response_frame) { results.push_back(ec); });
  conn->close();
  run_until(io, [&] { return results.size() == 4; });
  ASSERT_EQ(results.size(), 4u);
  for (auto ec : results) EXPECT_EQ(ec, kc::errc::shut_down);
}

TEST(Connection, LargeResponseIsReadIntoItsOwnBuffer) {
  boost::asio::io_context io;
  fake_broker broker(io, [](const fake_request& r) -> fake_action {
    kp::MetadataResponse response;
    // About 300 KiB: larger than the 64 KiB read buffer.
    response.topics.resize(3000);
    for (std::size_t i = 0; i < response.topics.size(); ++i)
      response.topics[i].name = std::to_string(i) + std::string(95, 'x');
    return kwire::test::reply(response, r.api_version);
  });
  auto conn = connected(io, broker);
  std::size_t sizes[2] = {};
  int done = 0;
  for (int i = 0; i < 2; ++i)
    conn->send(kp::MetadataRequest{}, 12, [&, i](std::error_code ec, kc::response_frame frame) {
      ASSERT_FALSE(ec) << ec.message();
      kp::MetadataResponse response;
      const auto dec = response.decode(frame.body, frame.api_version);
      ASSERT_FALSE(dec) << dec.message() << " payload " << frame.payload.size();
      sizes[i] = response.topics.size();
      ++done;
    });
  run_until(io, [&] { return done == 2; });
  EXPECT_EQ(sizes[0], 3000u);
  EXPECT_EQ(sizes[1], 3000u);
}

}  // namespace
