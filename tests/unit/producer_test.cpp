// The producer against a scripted fake broker that keeps a log per partition and checks
// producer ids and sequences as Kafka does (duplicates answered with the original offset,
// gaps refused with OUT_OF_ORDER_SEQUENCE_NUMBER). Faults are injected at every request
// (connection dropped before or after the broker appended, NOT_LEADER, out-of-order), and
// each test checks that every acknowledged record is in the log exactly once, in order.
#include "kwire/client/producer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "fake_broker.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::fake_action;
using kwire::test::fake_broker;
using kwire::test::fake_request;
using kwire::test::run_until;
using namespace std::chrono_literals;

namespace {

void close_and_wait(boost::asio::io_context& io, kc::producer& p) {
  bool closed = false;
  p.async_close(1s, [&] { closed = true; });
  run_until(io, [&] { return closed; });
  EXPECT_TRUE(closed);
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// What a fault script may do with one Produce request.
enum class produce_fault { none, drop_before_append, drop_after_append, not_leader, out_of_order };

// A one-broker Kafka: metadata for every requested topic with `partitions` partitions (except
// topics named "missing-*"), InitProducerId, and Produce with Kafka's idempotence checks.
struct fake_kafka {
  std::uint16_t port = 0;
  int partitions = 3;
  std::map<std::int32_t, std::vector<std::string>> log;  // partition -> values, in offset order
  std::int64_t producer_id = 4000;
  std::int16_t epoch = 0;
  int init_requests = 0;
  int produce_requests = 0;
  std::vector<std::pair<std::int64_t, std::int16_t>> bump_requests;  // (pid, epoch) sent
  struct partition_producer {
    std::int16_t epoch = -1;
    std::int32_t last_sequence = -1;
    std::map<std::int32_t, std::int64_t> offset_of_sequence;  // first sequence -> base offset
  };
  std::map<std::int32_t, partition_producer> producers;
  std::vector<std::pair<std::size_t, std::size_t>> batch_sizes;  // (wire, records uncompressed)
  std::function<produce_fault(int produce_index)> fault = [](int) { return produce_fault::none; };
  // message.max.bytes: a larger record set is refused with MESSAGE_TOO_LARGE.
  std::size_t max_batch_bytes = std::numeric_limits<std::size_t>::max();
  int too_large_refusals = 0;
  // When set, InitProducerId is refused with it.
  kp::broker_error init_error = kp::broker_error{};

  fake_action operator()(const fake_request& r) {
    switch (r.api_key) {
      case kp::MetadataRequest::api_key:
        return metadata(r);
      case kp::InitProducerIdRequest::api_key: {
        ++init_requests;
        const auto req = r.decode<kp::InitProducerIdRequest>();
        kp::InitProducerIdResponse resp;
        if (init_error != kp::broker_error{}) {
          resp.error_code = static_cast<std::int16_t>(init_error);
          return kwire::test::reply(resp, r.api_version);
        }
        if (req.producer_id >= 0) {
          bump_requests.emplace_back(req.producer_id, req.producer_epoch);
          ++epoch;
        }
        resp.producer_id = producer_id;
        resp.producer_epoch = epoch;
        return kwire::test::reply(resp, r.api_version);
      }
      case kp::ProduceRequest::api_key:
        return produce(r);
    }
    return kwire::test::no_reply{};
  }

  fake_action metadata(const fake_request& r) {
    const auto req = r.decode<kp::MetadataRequest>();
    kp::MetadataResponse resp;
    auto& b = resp.brokers.emplace_back();
    b.node_id = 1;
    b.host = "127.0.0.1";
    b.port = port;
    resp.controller_id = 1;
    for (const auto& t :
         req.topics.value_or(std::vector<kp::MetadataRequest::MetadataRequestTopic>{})) {
      auto& topic = resp.topics.emplace_back();
      topic.name = t.name;
      topic.topic_id.bytes[15] = 7;
      if (t.name->rfind("missing", 0) == 0) {
        topic.error_code = static_cast<std::int16_t>(kp::broker_error::unknown_topic_or_partition);
        continue;
      }
      if (t.name->rfind("denied", 0) == 0) {
        topic.error_code = static_cast<std::int16_t>(kp::broker_error::topic_authorization_failed);
        continue;
      }
      for (int p = 0; p < partitions; ++p) {
        auto& part = topic.partitions.emplace_back();
        part.partition_index = p;
        part.leader_id = 1;
        part.leader_epoch = 0;
      }
    }
    return kwire::test::reply(resp, r.api_version);
  }

  fake_action produce(const fake_request& r) {
    const int index = produce_requests++;
    const auto f = fault(index);
    if (f == produce_fault::drop_before_append) return kwire::test::drop_connection{};
    const auto req = r.decode<kp::ProduceRequest>();
    kp::ProduceResponse resp;
    for (const auto& t : req.topic_data) {
      auto& tr = resp.responses.emplace_back();
      tr.name = t.name;
      tr.topic_id = t.topic_id;
      for (const auto& pd : t.partition_data) {
        auto& pr = tr.partition_responses.emplace_back();
        pr.index = pd.index;
        if (f == produce_fault::not_leader) {
          pr.error_code = static_cast<std::int16_t>(kp::broker_error::not_leader_or_follower);
          continue;
        }
        if (f == produce_fault::out_of_order) {
          pr.error_code = static_cast<std::int16_t>(kp::broker_error::out_of_order_sequence_number);
          continue;
        }
        if (pd.records->size > max_batch_bytes) {
          ++too_large_refusals;
          pr.error_code = static_cast<std::int16_t>(kp::broker_error::message_too_large);
          pr.error_message = "batch of " + std::to_string(pd.records->size) +
                             " bytes is larger than " + std::to_string(max_batch_bytes);
          continue;
        }
        append(pd.index, *pd.records, pr);
      }
    }
    if (f == produce_fault::drop_after_append) return kwire::test::drop_connection{};
    return kwire::test::reply(resp, r.api_version);
  }

  void append(std::int32_t partition, kp::byte_view records,
              kp::ProduceResponse::PartitionProduceResponse& pr) {
    kp::record_batch_reader reader(std::span(records.data, records.size));
    kp::record_batch_view batch;
    while (reader.next(batch)) {
      const auto& h = batch.header();
      batch_sizes.emplace_back(batch.wire_bytes().size(), batch.records_section().size());
      auto& state = producers[partition];
      if (h.producer_id >= 0) {
        if (h.producer_epoch != state.epoch) {
          // A new epoch starts its sequences at 0.
          if (h.base_sequence != 0) {
            pr.error_code =
                static_cast<std::int16_t>(kp::broker_error::out_of_order_sequence_number);
            return;
          }
          state = {h.producer_epoch, -1, {}};
        }
        if (auto it = state.offset_of_sequence.find(h.base_sequence);
            it != state.offset_of_sequence.end()) {
          pr.base_offset = it->second;  // a duplicate: the original offset, nothing appended
          continue;
        }
        if (h.base_sequence != state.last_sequence + 1) {
          pr.error_code = static_cast<std::int16_t>(kp::broker_error::out_of_order_sequence_number);
          return;
        }
        state.last_sequence = h.base_sequence + h.record_count - 1;
        state.offset_of_sequence[h.base_sequence] =
            static_cast<std::int64_t>(log[partition].size());
      }
      pr.base_offset = static_cast<std::int64_t>(log[partition].size());
      kp::record_view rec;
      for (auto c = batch.records(); c.next(rec);)
        log[partition].emplace_back(reinterpret_cast<const char*>(rec.value->data()),
                                    rec.value->size());
    }
    if (reader.error())
      pr.error_code = static_cast<std::int16_t>(kp::broker_error::corrupt_message);
  }
};

kc::producer_config config_for(std::uint16_t port, kc::properties extra = {}) {
  kc::properties props{{"bootstrap.servers", "127.0.0.1:" + std::to_string(port)},
                       {"linger.ms", "2"},
                       {"retry.backoff.ms", "5"},
                       {"retry.backoff.max.ms", "20"},
                       {"reconnect.backoff.ms", "5"},
                       {"reconnect.backoff.max.ms", "20"},
                       {"request.timeout.ms", "2000"},
                       {"delivery.timeout.ms", "8000"}};
  props.insert(props.end(), extra.begin(), extra.end());
  kc::producer_config config;
  auto error = kc::parse_producer_config(props, config);
  EXPECT_FALSE(error) << error->message;
  return config;
}

struct outcome {
  std::error_code ec;
  kc::delivery_report report;
  bool done = false;
};

// Sends `count` records "v<i>" with key "k<i % 7>" and waits for every delivery report.
std::vector<outcome> send_all(boost::asio::io_context& io, kc::producer& p, int count,
                              std::string_view topic = "t") {
  std::vector<outcome> out(static_cast<std::size_t>(count));
  std::vector<std::string> values, keys;
  for (int i = 0; i < count; ++i) {
    values.push_back("v" + std::to_string(i));
    keys.push_back("k" + std::to_string(i % 7));
  }
  int done = 0;
  for (int i = 0; i < count; ++i) {
    auto ec = p.send({.topic = topic,
                      .key = bytes(keys[static_cast<std::size_t>(i)]),
                      .value = bytes(values[static_cast<std::size_t>(i)])},
                     [&out, &done, i](std::error_code ec, const kc::delivery_report& r) {
                       auto& o = out[static_cast<std::size_t>(i)];
                       EXPECT_FALSE(o.done) << "record " << i << " reported twice";
                       o = {ec, r, true};
                       ++done;
                     });
    EXPECT_FALSE(ec) << ec.message();
    if (ec) ++done;
  }
  run_until(
      io, [&] { return done == count; }, 20s);
  EXPECT_EQ(done, count);
  return out;
}

// Every record acknowledged: in the log exactly once, at its reported offset; per partition
// in send order.
void expect_exactly_once_in_order(const fake_kafka& kafka, const std::vector<outcome>& outcomes) {
  std::map<std::int32_t, std::int64_t> last_offset;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    ASSERT_TRUE(o.done);
    ASSERT_FALSE(o.ec) << "record " << i << ": " << o.ec.message();
    const auto& log = kafka.log.at(o.report.partition);
    ASSERT_LT(o.report.offset, static_cast<std::int64_t>(log.size()));
    EXPECT_EQ(log[static_cast<std::size_t>(o.report.offset)], "v" + std::to_string(i));
    auto [it, inserted] = last_offset.emplace(o.report.partition, o.report.offset);
    if (!inserted) {
      EXPECT_GT(o.report.offset, it->second) << "record " << i << " reordered";
      it->second = o.report.offset;
    }
  }
  std::size_t total = 0;
  for (const auto& [p, values] : kafka.log) total += values.size();
  EXPECT_EQ(total, outcomes.size()) << "duplicates in the log";
  std::set<std::string> distinct;
  for (const auto& [p, values] : kafka.log) distinct.insert(values.begin(), values.end());
  EXPECT_EQ(distinct.size(), total);
}

TEST(Producer, DeliversEveryRecordInOrderWithOffsets) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port()));
  auto outcomes = send_all(io, p, 2000);
  expect_exactly_once_in_order(kafka, outcomes);
  EXPECT_EQ(kafka.init_requests, 1);
  // Keyed records: the same key always in the same partition.
  std::map<int, std::int32_t> partition_of_key;
  for (int i = 0; i < 2000; ++i) {
    auto [it, inserted] =
        partition_of_key.emplace(i % 7, outcomes[static_cast<std::size_t>(i)].report.partition);
    EXPECT_EQ(it->second, outcomes[static_cast<std::size_t>(i)].report.partition);
  }
  // Batching: far fewer requests than records.
  EXPECT_LT(kafka.produce_requests, 200);
  EXPECT_EQ(p.buffered_bytes(), 0);
  close_and_wait(io, p);
}

class ProducerFault : public ::testing::TestWithParam<std::tuple<produce_fault, int>> {};

TEST_P(ProducerFault, EveryRecordExactlyOnceInOrder) {
  const auto [fault, at] = GetParam();
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kafka.fault = [fault = fault, at = at](int index) {
    return index == at || index == at + 3 ? fault : produce_fault::none;
  };
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"batch.size", "200"}}));
  auto outcomes = send_all(io, p, 300);
  expect_exactly_once_in_order(kafka, outcomes);
  if (fault == produce_fault::out_of_order) {
    EXPECT_GE(kafka.bump_requests.size(), 1u);  // KIP-360 epoch bump with the current id
    if (!kafka.bump_requests.empty()) {
      EXPECT_EQ(kafka.bump_requests[0].first, kafka.producer_id);
    }
  }
  close_and_wait(io, p);
}

INSTANTIATE_TEST_SUITE_P(AtEachRequest, ProducerFault,
                         ::testing::Combine(::testing::Values(produce_fault::drop_before_append,
                                                              produce_fault::drop_after_append,
                                                              produce_fault::not_leader,
                                                              produce_fault::out_of_order),
                                            ::testing::Values(0, 1, 4)));

TEST(Producer, ConnectionDroppedAtEachHandshakeStepStillDelivers) {
  // Drop the connection at the Nth request of any kind (ApiVersions, Metadata,
  // InitProducerId, Produce), once.
  for (int drop_at = 0; drop_at < 6; ++drop_at) {
    SCOPED_TRACE("drop at request " + std::to_string(drop_at));
    boost::asio::io_context io;
    fake_kafka kafka;
    int seen = 0;
    fake_broker broker(io, [&](const fake_request& r) -> fake_action {
      if (seen++ == drop_at) return kwire::test::drop_connection{};
      if (r.api_key == kp::ApiVersionsRequest::api_key) return kwire::test::api_versions_reply(r);
      return kafka(r);
    });
    broker.script_api_versions_ = true;
    kafka.port = broker.port();
    kc::producer p(io.get_executor(), config_for(broker.port()));
    auto outcomes = send_all(io, p, 50);
    expect_exactly_once_in_order(kafka, outcomes);
    close_and_wait(io, p);
  }
}

TEST(Producer, UnknownTopicFailsAfterDeliveryTimeout) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"delivery.timeout.ms", "2100"},
                                                               {"request.timeout.ms", "2000"},
                                                               {"linger.ms", "5"}}));
  const auto start = std::chrono::steady_clock::now();
  auto outcomes = send_all(io, p, 3, "missing-topic");
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.done);
    // A timeout, which names the error that kept the record waiting.
    EXPECT_EQ(o.ec, kc::errc::delivery_timed_out) << o.ec.message();
    ASSERT_TRUE(o.report.error_details);
    EXPECT_EQ(o.report.error_details->last_error,
              kp::make_error_code(kp::broker_error::unknown_topic_or_partition))
        << o.report.error_details->describe(o.ec);
    EXPECT_NE(o.report.error_details->describe(o.ec).find("metadata for topic missing-topic"),
              std::string::npos)
        << o.report.error_details->describe(o.ec);
    EXPECT_EQ(o.report.topic, "missing-topic");
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 2000ms);
  EXPECT_EQ(p.buffered_bytes(), 0);
}

// Nothing listens at the bootstrap address: the record waits for metadata, times out, and
// its diagnostics name the refused connection and the address, not only the timeout.
TEST(Producer, ARecordToAClosedPortTimesOutNamingTheRefusedConnection) {
  boost::asio::io_context io;
  std::uint16_t closed_port = 0;
  {
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  kc::producer p(io.get_executor(), config_for(closed_port, {{"request.timeout.ms", "500"},
                                                             {"delivery.timeout.ms", "800"}}));
  const auto outcomes = send_all(io, p, 2);
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.ec, kc::errc::delivery_timed_out) << o.ec.message();
    ASSERT_TRUE(o.report.error_details);
    const auto& details = *o.report.error_details;
    const auto text = details.describe(o.ec);
    EXPECT_EQ(details.last_error, std::errc::connection_refused) << text;
    EXPECT_NE(text.find("Connection refused"), std::string::npos) << text;
    EXPECT_NE(text.find("127.0.0.1:" + std::to_string(closed_port)), std::string::npos) << text;
  }
  close_and_wait(io, p);
}

// A broker that answers every Produce with NOT_LEADER_OR_FOLLOWER: the records are retried
// until delivery.timeout.ms, then fail with the timeout naming that error and the broker.
TEST(Producer, ARetriableErrorUntilTheDeliveryTimeoutIsNamedByTheTimeout) {
  boost::asio::io_context io;
  fake_kafka kafka;
  kafka.fault = [](int) { return produce_fault::not_leader; };
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"request.timeout.ms", "500"},
                                                               {"delivery.timeout.ms", "800"}}));
  const auto outcomes = send_all(io, p, 3);
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.ec, kc::errc::delivery_timed_out) << o.ec.message();
    ASSERT_TRUE(o.report.error_details);
    const auto& details = *o.report.error_details;
    const auto text = details.describe(o.ec);
    EXPECT_EQ(details.last_error, kp::make_error_code(kp::broker_error::not_leader_or_follower))
        << text;
    EXPECT_NE(text.find("Produce"), std::string::npos) << text;
    EXPECT_NE(text.find("127.0.0.1:" + std::to_string(broker.port())), std::string::npos) << text;
  }
  EXPECT_GT(kafka.produce_requests, 1);  // retried meanwhile
  EXPECT_TRUE(kafka.log.empty());
  close_and_wait(io, p);
}

TEST(Producer, RejectsBadRecordsAtOnce) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"max.request.size", "1000"}}));
  const std::string big(2000, 'x');
  EXPECT_EQ(p.send({.topic = "t", .value = bytes(big)}, nullptr), kc::errc::record_too_large);
  close_and_wait(io, p);
  EXPECT_EQ(p.send({.topic = "t", .value = bytes("x")}, nullptr), kc::errc::shut_down);
}

// A record naming a partition the producer's metadata lacks waits for fresh metadata: the
// topic may have just grown (CreatePartitions), as the Java client waits up to max.block.ms.
// A partition still missing after two fresh answers fails the record.
TEST(Producer, APartitionBeyondTheKnownCountWaitsForFreshMetadata) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port()));
  send_all(io, p, 1);    // metadata now known: 3 partitions
  kafka.partitions = 5;  // CreatePartitions, unknown to the producer's metadata
  std::optional<std::error_code> grown, missing;
  kc::delivery_report grown_report;
  ASSERT_FALSE(p.send({.topic = "t", .partition = 4, .value = bytes("new")},
                      [&](std::error_code ec, const kc::delivery_report& r) {
                        grown = ec;
                        grown_report = r;
                      }));
  ASSERT_FALSE(p.send({.topic = "t", .partition = 9, .value = bytes("nowhere")},
                      [&](std::error_code ec, const kc::delivery_report&) { missing = ec; }));
  run_until(io, [&] { return grown && missing; });
  ASSERT_TRUE(grown && missing);
  EXPECT_FALSE(*grown) << grown->message();
  EXPECT_EQ(grown_report.partition, 4);
  EXPECT_EQ(kafka.log[4], (std::vector<std::string>{"new"}));
  EXPECT_EQ(*missing, kc::errc::no_such_partition);
  close_and_wait(io, p);
}

TEST(Producer, BufferMemoryIsAHardBound) {
  boost::asio::io_context io;
  // A broker that never answers Produce: batches stay in memory.
  fake_kafka kafka;
  fake_broker broker(io, [&](const fake_request& r) -> fake_action {
    if (r.api_key == kp::ProduceRequest::api_key) return kwire::test::no_reply{};
    return kafka(r);
  });
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"buffer.memory", "65536"},
                                                               {"batch.size", "16384"},
                                                               {"max.block.ms", "50"}}));
  // Metadata first: records sent before it are held, and those that then find no room in a
  // batch fail in their reports (buffer_exhausted), which would let send() accept more.
  bool known = false;
  p.async_partition_count("t", [&](std::error_code ec, std::int32_t count) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(count, 3);
    known = true;
  });
  run_until(io, [&] { return known; });
  ASSERT_TRUE(known);
  const std::string value(1000, 'v');
  int accepted = 0;
  std::error_code refused;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = p.send({.topic = "t", .partition = i % 3, .value = bytes(value)}, nullptr);
    if (!refused) ++accepted;
    io.poll();
  }
  EXPECT_EQ(refused, kc::errc::buffer_exhausted);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);  // waited max.block.ms
  EXPECT_LE(p.buffered_bytes(), 65536);
  EXPECT_GT(accepted, 10);
  EXPECT_LT(accepted, 66);
  close_and_wait(io, p);
}

TEST(Producer, AcksZeroReportsWithoutOffsets) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"acks", "0"}}));
  auto outcomes = send_all(io, p, 100);
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.ec);
    EXPECT_EQ(o.report.offset, -1);
  }
  run_until(io, [&] {
    std::size_t total = 0;
    for (auto& [pt, v] : kafka.log) total += v.size();
    return total == 100;
  });
  EXPECT_EQ(kafka.init_requests, 0);  // acks=0 turns idempotence off
  close_and_wait(io, p);
}

TEST(Producer, FlushSendsWithoutWaitingForLinger) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"linger.ms", "60000"},
                                                               {"delivery.timeout.ms", "120000"}}));
  int delivered = 0;
  for (int i = 0; i < 10; ++i)
    ASSERT_FALSE(p.send({.topic = "t", .value = bytes("x")},
                        [&](std::error_code ec, const kc::delivery_report&) {
                          EXPECT_FALSE(ec);
                          ++delivered;
                        }));
  bool flushed = false;
  p.async_flush([&] { flushed = true; });
  const auto start = std::chrono::steady_clock::now();
  run_until(io, [&] { return flushed; });
  EXPECT_TRUE(flushed);
  EXPECT_EQ(delivered, 10);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  close_and_wait(io, p);
}

}  // namespace

namespace {

// A batch waiting for its retry is sealed: a record sent meanwhile goes into a new batch
// behind it (not into the bytes already sent once).
TEST(Producer, RecordsSentDuringARetryBackoffGoIntoANewBatch) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kafka.fault = [](int index) {
    return index == 0 ? produce_fault::not_leader : produce_fault::none;
  };
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"retry.backoff.ms", "300"},
                                                               {"retry.backoff.max.ms", "300"}}));
  std::vector<outcome> out(2);
  const auto send = [&](int i, std::string value) {
    auto keep = std::make_shared<std::string>(std::move(value));
    ASSERT_FALSE(p.send({.topic = "t", .partition = 0, .value = bytes(*keep)},
                        [&out, i, keep](std::error_code ec, const kc::delivery_report& r) {
                          out[static_cast<std::size_t>(i)] = {ec, r, true};
                        }));
  };
  send(0, "v0");
  run_until(io, [&] { return kafka.produce_requests == 1; });
  ASSERT_EQ(kafka.produce_requests, 1);  // answered NOT_LEADER: v0 waits for its retry
  send(1, "v1");
  run_until(io, [&] { return out[0].done && out[1].done; });
  expect_exactly_once_in_order(kafka, out);
  close_and_wait(io, p);
}

}  // namespace

namespace {

// batch.size counts compressed bytes, as in Java: once the producer has seen how well the
// topic compresses, a batch holds more than batch.size of records and still sends about
// batch.size on the wire.
TEST(Producer, CompressedBatchesFillBatchSizeAfterCompression) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"compression.type", "lz4"},
                                                               {"batch.size", "4096"},
                                                               {"linger.ms", "50"}}));
  // The first round teaches the producer the ratio; the second round's batches use it.
  for (int round = 0; round < 2; ++round) {
    kafka.batch_sizes.clear();
    for (const auto& o : send_all(io, p, 3000)) ASSERT_FALSE(o.ec) << o.ec.message();
  }
  ASSERT_GT(kafka.batch_sizes.size(), 3u);
  const auto& [wire, records] = kafka.batch_sizes.front();
  EXPECT_GT(records, 4096u * 3 / 2) << "wire " << wire;
  EXPECT_LE(wire, 4096u * 5 / 4);
  close_and_wait(io, p);
}

}  // namespace

TEST(Producer, SplitsBatchesTheBrokerRefusesAsTooLargeAndKeepsOrder) {
  boost::asio::io_context io;
  fake_kafka kafka;
  kafka.max_batch_bytes = 400;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"linger.ms", "20"}}));
  auto outcomes = send_all(io, p, 600);
  expect_exactly_once_in_order(kafka, outcomes);
  EXPECT_GT(kafka.too_large_refusals, 0);
  for (const auto& [wire, uncompressed] : kafka.batch_sizes) EXPECT_LE(wire, 400u);
  close_and_wait(io, p);
}

TEST(Producer, ARecordTooLargeForTheBrokerFailsAloneWithDiagnostics) {
  boost::asio::io_context io;
  fake_kafka kafka;
  kafka.max_batch_bytes = 400;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"linger.ms", "50"}}));
  const std::string big(500, 'b');
  std::vector<outcome> out(3);
  int done = 0;
  auto record = [&](std::size_t i, std::string_view value) {
    auto ec = p.send({.topic = "t", .partition = 1, .value = bytes(std::string(value))},
                     [&, i](std::error_code ec, const kc::delivery_report& r) {
                       out[i] = {ec, r, true};
                       ++done;
                     });
    ASSERT_FALSE(ec) << ec.message();
  };
  // One batch: small, too large, small. The small ones are delivered.
  record(0, "v0");
  record(1, big);
  record(2, "v2");
  run_until(
      io, [&] { return done == 3; }, 10s);
  ASSERT_EQ(done, 3);
  EXPECT_FALSE(out[0].ec) << out[0].ec.message();
  EXPECT_FALSE(out[2].ec) << out[2].ec.message();
  EXPECT_LT(out[0].report.offset, out[2].report.offset);
  EXPECT_EQ(out[1].ec, kp::make_error_code(kp::broker_error::message_too_large));
  EXPECT_EQ(out[1].report.offset, -1);
  ASSERT_TRUE(out[1].report.error_details);
  const auto& d = *out[1].report.error_details;
  EXPECT_EQ(d.broker_id, 1);
  EXPECT_EQ(d.broker, "127.0.0.1:" + std::to_string(broker.port()));
  EXPECT_EQ(d.api_key, kp::ProduceRequest::api_key);
  EXPECT_EQ(d.topic, "t");
  EXPECT_EQ(d.partition, 1);
  EXPECT_NE(d.server_message.find("larger than 400"), std::string::npos) << d.server_message;
  EXPECT_FALSE(out[0].report.error_details);
  EXPECT_EQ(kafka.log[1], (std::vector<std::string>{"v0", "v2"}));
  close_and_wait(io, p);
}

TEST(Producer, TopicAuthorizationFailureFailsAtOnceNotAfterTheDeliveryTimeout) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"delivery.timeout.ms", "8000"}}));
  const auto start = std::chrono::steady_clock::now();
  auto outcomes = send_all(io, p, 3, "denied-topic");
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.ec, kp::make_error_code(kp::broker_error::topic_authorization_failed))
        << o.ec.message();
    ASSERT_TRUE(o.report.error_details);
    EXPECT_EQ(o.report.error_details->topic, "denied-topic");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(p.buffered_bytes(), 0);
  // The partition count query says the same.
  std::error_code count_ec;
  bool answered = false;
  p.async_partition_count("denied-topic", [&](std::error_code ec, std::int32_t) {
    count_ec = ec;
    answered = true;
  });
  run_until(
      io, [&] { return answered; }, 5s);
  EXPECT_EQ(count_ec, kp::make_error_code(kp::broker_error::topic_authorization_failed));
  close_and_wait(io, p);
}

// send() remembers the topic it looked up last: records to two topics in turn (each name a
// fresh string each time) still go each to its own topic, before and after its metadata. (The
// fake broker keeps one log per partition number, so each topic writes to its own partition.)
TEST(Producer, RecordsToTwoTopicsInTurnEachGoToTheirOwn) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"linger.ms", "1"}}));
  const auto send_in_turn = [&](int rounds) {
    std::vector<outcome> out(static_cast<std::size_t>(2 * rounds));
    int done = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::string topic = i % 2 == 0 ? "t" : "t2";
      const std::string value = "v" + std::to_string(i);
      const std::int32_t partition = i % 2 == 0 ? 0 : 1;
      auto ec = p.send({.topic = topic, .partition = partition, .value = bytes(value)},
                       [&out, &done, i](std::error_code ec, const kc::delivery_report& r) {
                         out[i] = {ec, r, true};
                         ++done;
                       });
      EXPECT_FALSE(ec) << ec.message();
    }
    run_until(
        io, [&] { return done == static_cast<int>(out.size()); }, 10s);
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_TRUE(out[i].done) << i;
      EXPECT_FALSE(out[i].ec) << i << ": " << out[i].ec.message();
      EXPECT_EQ(out[i].report.topic, i % 2 == 0 ? "t" : "t2") << i;
      EXPECT_EQ(out[i].report.partition, i % 2 == 0 ? 0 : 1) << i;
    }
  };
  send_in_turn(3);   // both topics still unknown: held until their metadata
  send_in_turn(20);  // both known
  // Round one sent v0..v5, round two v0..v39: "t" got the even ones, "t2" the odd ones.
  std::vector<std::string> to_t, to_t2;
  for (int rounds : {3, 20})
    for (int i = 0; i < 2 * rounds; ++i)
      (i % 2 == 0 ? to_t : to_t2).push_back("v" + std::to_string(i));
  EXPECT_EQ(kafka.log[0], to_t);
  EXPECT_EQ(kafka.log[1], to_t2);
  close_and_wait(io, p);
}

// A fatal InitProducerId error fails the producer: records waiting for the producer id fail
// with it at once (not after delivery.timeout.ms), later sends report it, and the producer
// does not ask again.
TEST(Producer, AClusterAuthorizationFailureFromInitProducerIdFailsEverySendPromptly) {
  boost::asio::io_context io;
  fake_kafka kafka;
  kafka.init_error = kp::broker_error::cluster_authorization_failed;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  kc::producer p(io.get_executor(), config_for(broker.port(), {{"delivery.timeout.ms", "8000"}}));
  const auto start = std::chrono::steady_clock::now();
  auto outcomes = send_all(io, p, 3);
  const auto denied = kp::make_error_code(kp::broker_error::cluster_authorization_failed);
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.done);
    EXPECT_EQ(o.ec, denied) << o.ec.message();
    ASSERT_TRUE(o.report.error_details);
    EXPECT_EQ(o.report.error_details->last_error, denied);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(p.buffered_bytes(), 0);
  EXPECT_EQ(p.send({.topic = "t", .value = bytes("late")},
                   [](std::error_code, const kc::delivery_report&) {}),
            denied);
  const int asked = kafka.init_requests;
  run_until(
      io, [] { return false; }, 200ms);
  EXPECT_EQ(kafka.init_requests, asked);
  EXPECT_EQ(kafka.produce_requests, 0);
  close_and_wait(io, p);
}

TEST(Producer, HooksLogAndMetricsSeeAReconnectAndAnEpochBump) {
  boost::asio::io_context io;
  fake_kafka kafka;
  fake_broker broker(io, std::ref(kafka));
  kafka.port = broker.port();
  // The connection drops at the second Produce; the fifth is refused out of order, which
  // bumps the epoch (KIP-360).
  kafka.fault = [](int index) {
    return index == 1   ? produce_fault::drop_before_append
           : index == 4 ? produce_fault::out_of_order
                        : produce_fault::none;
  };
  auto config = config_for(broker.port(), {{"batch.size", "200"}});
  int reconnects = 0, disconnects = 0, bumps = 0, ids = 0;
  std::vector<std::string> lines;
  config.observe.hooks.on_broker_connect = [&](const kc::broker_connect_event& e) {
    reconnects += e.reconnect;
  };
  config.observe.hooks.on_broker_disconnect = [&](const kc::broker_disconnect_event& e) {
    disconnects += e.was_ready;
  };
  config.observe.hooks.on_producer_id = [&](const kc::producer_id_event& e) {
    ++ids;
    bumps += e.bump;
    EXPECT_EQ(e.producer_id, kafka.producer_id);
  };
  config.observe.sink = [&](const kc::log_record& r) { lines.emplace_back(r.message); };
  ASSERT_FALSE(kc::parse_log_categories("broker,eos", config.observe.debug));
  kc::producer p(io.get_executor(), config);
  auto outcomes = send_all(io, p, 300);
  expect_exactly_once_in_order(kafka, outcomes);
  EXPECT_GE(reconnects, 1);
  EXPECT_GE(disconnects, 1);
  EXPECT_GE(bumps, 1);
  EXPECT_EQ(ids, 1 + bumps);
  const auto has_line = [&](std::string_view text) {
    return std::ranges::any_of(
        lines, [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has_line("connected to node")) << lines.size();
  EXPECT_TRUE(has_line("reconnected to node"));
  EXPECT_TRUE(has_line("disconnected from node"));
  EXPECT_TRUE(has_line("producer id 4000 epoch 0"));
  EXPECT_TRUE(has_line("epoch bumped: producer id 4000 epoch 1"));
  EXPECT_TRUE(has_line("ApiVersions v"));
  EXPECT_FALSE(has_line("sent Produce"));  // protocol is not enabled

  const auto m = p.metrics();
  EXPECT_EQ(m.kind, "producer");
  EXPECT_EQ(m.records_sent, 300u);
  EXPECT_GT(m.record_bytes_sent, 0u);
  EXPECT_GE(m.epoch_bumps, 1u);
  EXPECT_GE(m.connects, 2u);
  EXPECT_GE(m.disconnects, 1u);
  EXPECT_EQ(m.buffer_bytes_queued, 0);
  EXPECT_EQ(m.buffer_memory, 33554432);
  EXPECT_GT(m.network_bytes_sent, 0u);
  EXPECT_GT(m.network_bytes_received, 0u);
  const auto produce = std::ranges::find_if(
      m.requests, [](const kc::api_request_metrics& r) { return r.name == "Produce"; });
  ASSERT_NE(produce, m.requests.end());
  EXPECT_GE(produce->count, static_cast<std::uint64_t>(kafka.produce_requests));
  EXPECT_GE(produce->errors, 1u);  // the dropped one
  EXPECT_GE(produce->latency_max_us, produce->latency_sum_us / produce->count);
  EXPECT_EQ(m.requests_in_flight, 0u);
  close_and_wait(io, p);
}
