// Generated message types: round trips at every version, golden bytes written from the
// protocol description, version rules (non-default fields, nulls, tagged fields), and
// hostile input (every truncation of every message fails cleanly).
#include "kwire/protocol/messages.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kwire/protocol/test_fill.hpp"

namespace kp = kwire::protocol;
using bytes = std::vector<std::uint8_t>;

namespace {

struct round_trip_stats {
  int cases = 0;
};

template <class T>
void round_trip_every_version(round_trip_stats& stats) {
  for (int v = T::min_version; v <= T::max_version; ++v) {
    SCOPED_TRACE(std::string(T::message_name) + " v" + std::to_string(v));
    kp::fill_context ctx;
    T original;
    kp::test_fill(original, static_cast<std::int16_t>(v), ctx);
    bytes wire;
    ASSERT_FALSE(original.encode(wire, static_cast<std::int16_t>(v))) << "encode failed";
    T decoded;
    ASSERT_FALSE(decoded.decode(wire, static_cast<std::int16_t>(v))) << "decode failed";
    EXPECT_TRUE(decoded == original);
    bytes again;
    ASSERT_FALSE(decoded.encode(again, static_cast<std::int16_t>(v)));
    EXPECT_EQ(again, wire);
    // Every proper prefix is either an error or (for bodies that end in optional data) a
    // shorter valid message; it never crashes or reads past the end (ASan checks that).
    for (std::size_t cut = 0; cut < wire.size(); ++cut) {
      T partial;
      auto ec = partial.decode(std::span(wire.data(), cut), static_cast<std::int16_t>(v));
      EXPECT_TRUE(ec) << "prefix of " << cut << "/" << wire.size()
                      << " bytes decoded without error";
    }
    ++stats.cases;
  }
}

}  // namespace

TEST(Messages, EveryMessageRoundTripsAtEveryVersionWithEveryFieldSet) {
  round_trip_stats stats;
  kp::for_each_message_type([&]<class T>() { round_trip_every_version<T>(stats); });
  EXPECT_GE(stats.cases, 600);  // 154 messages, 632 (message, version) pairs at Kafka 4.4
}

TEST(Messages, ApiTableCoversEveryRequestKey) {
  auto apis = kp::implemented_apis();
  ASSERT_FALSE(apis.empty());
  const kp::api_info* produce = kp::find_api(0);
  ASSERT_NE(produce, nullptr);
  EXPECT_EQ(produce->name, "Produce");
  EXPECT_EQ(produce->min_version, 0);
  EXPECT_GE(produce->max_version, 11);
  EXPECT_EQ(kp::find_api(9999), nullptr);
}

TEST(Messages, HeaderVersionsFollowFlexibility) {
  EXPECT_EQ(kp::request_header_version(3, 8), 1);  // Metadata v8 is not flexible
  EXPECT_EQ(kp::request_header_version(3, 9), 2);  // v9 is
  EXPECT_EQ(kp::response_header_version(3, 9), 1);
  EXPECT_EQ(kp::response_header_version(18, 3), 0);  // ApiVersions always answers with v0
  EXPECT_EQ(kp::request_header_version(18, 3), 2);
}

// Bytes written out by hand from the message definitions, not from the encoder.
TEST(Messages, GoldenApiVersionsRequestV3) {
  kp::ApiVersionsRequest req;
  req.client_software_name = "kw";
  req.client_software_version = "1.0";
  bytes wire;
  ASSERT_FALSE(req.encode(wire, 3));
  const bytes expected = {
      0x03, 'k', 'w',       // compact string: length+1 = 3
      0x04, '1', '.', '0',  // compact string "1.0"
      0x00,                 // no tagged fields
  };
  EXPECT_EQ(wire, expected);
}

TEST(Messages, GoldenMetadataRequestV1AndV9) {
  kp::MetadataRequest req;
  req.topics.emplace();
  req.topics->push_back({});
  req.topics->back().name = "t";
  bytes v1;
  ASSERT_FALSE(req.encode(v1, 1));
  // int32 array count 1, int16 string length 1, 't'
  EXPECT_EQ(v1, (bytes{0, 0, 0, 1, 0, 1, 't'}));

  bytes v9;
  ASSERT_FALSE(req.encode(v9, 9));
  const bytes expected9 = {
      0x02,       // compact array: 1 element
      0x02, 't',  // compact nullable string "t"
      0x00,       // element's tagged fields
      0x01,       // AllowAutoTopicCreation = true (default)
      0x00,       // IncludeClusterAuthorizedOperations = false (v8-10)
      0x00,       // IncludeTopicAuthorizedOperations = false
      0x00,       // message tagged fields
  };
  EXPECT_EQ(v9, expected9);

  kp::MetadataRequest all_topics;  // null topic list = every topic (v1+)
  all_topics.topics.reset();
  bytes null_list;
  ASSERT_FALSE(all_topics.encode(null_list, 1));
  EXPECT_EQ(null_list, (bytes{0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(all_topics.encode(null_list, 0), kp::errc::null_not_allowed);
}

TEST(Messages, GoldenProduceResponseV9) {
  const bytes wire = {
      0x02,                                            // responses: 1
      0x02, 'x',                                       // name "x"
      0x02,                                            // partition responses: 1
      0x00, 0x00, 0x00, 0x03,                          // index 3
      0x00, 0x00,                                      // error 0
      0,    0,    0,    0,    0,    0,    0,    42,    // base offset 42
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // log append time -1
      0,    0,    0,    0,    0,    0,    0,    7,     // log start offset 7
      0x01,                                            // record errors: empty compact array
      0x00,                                            // error message: null
      0x00,                                            // partition tagged fields
      0x00,                                            // topic tagged fields
      0x00, 0x00, 0x00, 0x05,                          // throttle 5 ms
      0x00,                                            // tagged fields
  };
  kp::ProduceResponse resp;
  ASSERT_FALSE(resp.decode(wire, 9));
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].name, "x");
  ASSERT_EQ(resp.responses[0].partition_responses.size(), 1u);
  const auto& p = resp.responses[0].partition_responses[0];
  EXPECT_EQ(p.index, 3);
  EXPECT_EQ(p.base_offset, 42);
  EXPECT_EQ(p.log_append_time_ms, -1);
  EXPECT_EQ(p.log_start_offset, 7);
  EXPECT_FALSE(p.error_message.has_value());
  EXPECT_EQ(resp.throttle_time_ms, 5);
}

TEST(Messages, NonDefaultFieldThatTheVersionCannotCarryIsAnError) {
  kp::MetadataRequest req;
  req.include_topic_authorized_operations = true;  // v8+, not ignorable
  bytes wire;
  EXPECT_EQ(req.encode(wire, 7), kp::errc::field_not_in_version);
  wire.clear();
  EXPECT_FALSE(req.encode(wire, 8));
  kp::ProduceRequest produce;
  EXPECT_EQ(produce.encode(wire, 99), kp::errc::unsupported_version);
}

TEST(Messages, IgnorableFieldIsDroppedSilently) {
  kp::FetchRequest req;  // RackId is v11+ and ignorable
  req.rack_id = "rack-a";
  bytes wire;
  EXPECT_FALSE(req.encode(wire, 10));
}

TEST(Messages, UnknownTaggedFieldsAreKeptAndWrittenBack) {
  // ApiVersionsRequest v3 with an unknown tag 7 (2 bytes) after the known fields.
  const bytes wire = {0x01, 0x01, 0x01, 0x07, 0x02, 0xaa, 0xbb};
  kp::ApiVersionsRequest req;
  ASSERT_FALSE(req.decode(wire, 3));
  ASSERT_EQ(req.unknown_tags.size(), 1u);
  EXPECT_EQ(req.unknown_tags[0].tag, 7u);
  EXPECT_EQ(req.unknown_tags[0].data, (bytes{0xaa, 0xbb}));
  bytes again;
  ASSERT_FALSE(req.encode(again, 3));
  EXPECT_EQ(again, wire);
  bytes v2;  // a version without tagged fields cannot carry them
  EXPECT_EQ(req.encode(v2, 2), kp::errc::field_not_in_version);
}

TEST(Messages, KnownTaggedFieldIsWrittenOnlyWhenNotDefault) {
  kp::FetchRequest req;
  bytes plain;
  ASSERT_FALSE(req.encode(plain, 12));
  req.cluster_id = "c";  // tag 0 in v12+
  bytes tagged;
  ASSERT_FALSE(req.encode(tagged, 12));
  EXPECT_EQ(tagged.size(), plain.size() + 4);  // tag, size, compact string "c"
  kp::FetchRequest back;
  ASSERT_FALSE(back.decode(tagged, 12));
  EXPECT_EQ(back.cluster_id, std::optional<std::string>("c"));
}

TEST(Messages, NullWhereTheVersionForbidsItIsADecodeError) {
  // MetadataResponse v1 broker rack is nullable, host is not: host length -1 must fail.
  const bytes wire = {0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff};
  kp::MetadataResponse resp;
  EXPECT_TRUE(resp.decode(wire, 1));
}

TEST(Messages, HugeCountsAreRejectedBeforeAllocating) {
  const bytes wire = {0x7f, 0xff, 0xff, 0xff};  // MetadataRequest v1: 2^31-1 topics, no data
  kp::MetadataRequest req;
  EXPECT_EQ(req.decode(wire, 1), kp::errc::truncated);
}

TEST(Messages, RecordsFieldRefersIntoTheInputBuffer) {
  kp::ProduceRequest req;
  const bytes batch = {1, 2, 3, 4, 5};
  req.topic_data.resize(1);
  req.topic_data[0].name = "t";
  req.topic_data[0].partition_data.resize(1);
  req.topic_data[0].partition_data[0].records = kp::byte_view(batch);
  bytes wire;
  ASSERT_FALSE(req.encode(wire, 7));
  kp::ProduceRequest back;
  ASSERT_FALSE(back.decode(wire, 7));
  const auto& rec = back.topic_data[0].partition_data[0].records;
  ASSERT_TRUE(rec.has_value());
  EXPECT_GE(rec->data, wire.data());
  EXPECT_LT(rec->data, wire.data() + wire.size());
  EXPECT_EQ(*rec, kp::byte_view(batch));
}

#include "kwire/protocol/frame.hpp"

TEST(Framing, RequestFrameHasSizeHeaderAndBody) {
  kp::ApiVersionsRequest req;
  req.client_software_name = "kw";
  req.client_software_version = "1";
  bytes frame;
  ASSERT_FALSE(kp::encode_request(frame, req, 3, 0x01020304, "cli"));
  const bytes expected = {
      0, 0,   0,   20,           // size of what follows
      0, 18,  0,   3,            // api key 18, version 3
      1, 2,   3,   4,            // correlation id
      0, 3,   'c', 'l', 'i',     // client id: classic nullable string even in header v2
      0,                         // header tagged fields
      3, 'k', 'w', 2,   '1', 0,  // body
  };
  EXPECT_EQ(frame, expected);
  std::error_code ec;
  EXPECT_EQ(kp::complete_frame_size(frame, ec), frame.size());
  EXPECT_FALSE(kp::complete_frame_size(std::span(frame).first(10), ec).has_value());
  EXPECT_FALSE(ec);
}

// Records fields can be left out of the encoded request (for a gather write): put back at
// their offsets they must give exactly the bytes of the ordinary encoding, size included.
TEST(Framing, DeferredRecordsGiveTheSameFrameOnceInPlace) {
  const bytes big(20000, 0x5A), small(100, 0x11), other(16384, 0x77);
  for (const std::int16_t version : {std::int16_t{3}, std::int16_t{9}}) {
    kp::ProduceRequest req;
    req.acks = -1;
    req.timeout_ms = 30000;
    auto& topic = req.topic_data.emplace_back();
    topic.name = "t";
    for (const bytes* records : {&big, &small, &other}) {
      auto& p = topic.partition_data.emplace_back();
      p.index = static_cast<std::int32_t>(topic.partition_data.size()) - 1;
      p.records = kp::byte_view(*records);
    }
    bytes copied;
    ASSERT_FALSE(kp::encode_request(copied, req, version, 7, "cli"));
    bytes frame = {0xEE};  // appends after what is there
    std::vector<kp::deferred_bytes> deferred;
    ASSERT_FALSE(kp::encode_request(frame, deferred, 16384, req, version, 7, "cli"));
    ASSERT_EQ(deferred.size(), 2u);  // the two of 16 KiB or more
    EXPECT_EQ(deferred[0].bytes.data(), big.data());
    EXPECT_EQ(deferred[1].bytes.data(), other.data());
    bytes glued;
    std::size_t at = 1;
    for (const auto& d : deferred) {
      glued.insert(glued.end(), frame.begin() + static_cast<std::ptrdiff_t>(at),
                   frame.begin() + static_cast<std::ptrdiff_t>(d.offset));
      glued.insert(glued.end(), d.bytes.begin(), d.bytes.end());
      at = d.offset;
    }
    glued.insert(glued.end(), frame.begin() + static_cast<std::ptrdiff_t>(at), frame.end());
    EXPECT_EQ(glued, copied) << version;
  }
  // An error leaves both as they were.
  kp::ProduceRequest req;
  req.topic_data.emplace_back().partition_data.emplace_back().records = kp::byte_view(big);
  bytes frame;
  std::vector<kp::deferred_bytes> deferred;
  EXPECT_TRUE(kp::encode_request(frame, deferred, 1, req, 99, 7, "cli"));
  EXPECT_TRUE(frame.empty());
  EXPECT_TRUE(deferred.empty());
}

TEST(Framing, OversizedOrNegativeFrameSizeIsAnError) {
  std::error_code ec;
  const bytes negative = {0xff, 0xff, 0xff, 0xfe};
  EXPECT_FALSE(kp::complete_frame_size(negative, ec).has_value());
  EXPECT_EQ(ec, kp::errc::oversized);
  const bytes big = {0x10, 0, 0, 0};
  EXPECT_FALSE(kp::complete_frame_size(big, ec, 1024).has_value());
  EXPECT_EQ(ec, kp::errc::oversized);
}

TEST(Framing, ResponseHeaderVersionDependsOnTheApi) {
  // ApiVersions v3 response: header v0 (no tagged fields) even though the body is flexible.
  const bytes payload = {0,         0, 0, 9, /*error*/ 0, 0, /*api keys: empty*/ 1, /*throttle*/ 0,
                         0,         0, 0,
                         /*tags*/ 0};
  kp::ApiVersionsResponse resp;
  std::int32_t correlation = 0;
  ASSERT_FALSE(kp::decode_response(payload, 3, resp, &correlation));
  EXPECT_EQ(correlation, 9);
  // Metadata v9 response: header v1 carries a tagged-field section.
  kp::MetadataResponse meta;
  const bytes meta_payload = {0,
                              0,
                              0,
                              1,
                              /*header tags*/ 0,
                              /*throttle*/ 0,
                              0,
                              0,
                              0,
                              /*brokers*/ 1,
                              /*cluster id null*/ 0,
                              /*controller*/ 0,
                              0,
                              0,
                              1,
                              /*topics*/ 1,
                              /*cluster ops*/ 0,
                              0,
                              0,
                              0,
                              /*tags*/ 0};
  ASSERT_FALSE(kp::decode_response(meta_payload, 9, meta, &correlation));
  EXPECT_EQ(meta.controller_id, 1);
}

TEST(Framing, ApiVersionsFallsBackToV0WhenTheBrokerRejectsTheVersion) {
  // What a broker that only knows ApiVersions v0-3 sends for a v5 request: header v0, v0 body.
  const bytes payload = {0, 0,  0, 7,         // correlation id
                         0, 35,               // UNSUPPORTED_VERSION
                         0, 0,  0, 1,         // one api (int32 array, v0)
                         0, 18, 0, 0, 0, 3};  // ApiVersions 0-3
  kp::ApiVersionsResponse resp;
  std::int32_t correlation = 0;
  ASSERT_FALSE(kp::decode_api_versions_response(payload, 5, resp, &correlation));
  EXPECT_EQ(correlation, 7);
  EXPECT_EQ(resp.error_code, 35);
  ASSERT_EQ(resp.api_keys.size(), 1u);
  EXPECT_EQ(resp.api_keys[0].max_version, 3);
}

TEST(Framing, ApiVersionsReadsAnAnswerAtTheRequestedVersionFirst) {
  // UNSUPPORTED_VERSION in a flexible (v3) body, as some brokers send it: a v0 reading fails.
  kp::ApiVersionsResponse sent;
  sent.error_code = 35;
  auto& range = sent.api_keys.emplace_back();
  range.api_key = kp::ApiVersionsRequest::api_key;
  range.max_version = 2;
  bytes payload = {0, 0, 0, 9};  // correlation id (header v0)
  ASSERT_FALSE(sent.encode(payload, 3));
  kp::ApiVersionsResponse resp;
  ASSERT_FALSE(kp::decode_api_versions_response(payload, 3, resp));
  EXPECT_EQ(resp, sent);
  EXPECT_EQ(kp::api_versions_retry_version(resp, 3), 2);
  // Neither a v3 nor a v0 body: the v3 reading's error, and nothing half-filled.
  const bytes garbage = {0, 0, 0, 9, 0, 35, 0x7f};
  EXPECT_TRUE(kp::decode_api_versions_response(garbage, 3, resp));
  EXPECT_EQ(resp, kp::ApiVersionsResponse{});
}

TEST(Framing, ApiVersionsRetryVersionFallsStrictlyAndEndsAtV0) {
  const auto unsupported = [](std::int16_t named_min, std::int16_t named_max) {
    kp::ApiVersionsResponse r;
    r.error_code = 35;
    if (named_max >= -1) {
      auto& e = r.api_keys.emplace_back();
      e.api_key = kp::ApiVersionsRequest::api_key;
      e.min_version = named_min;
      e.max_version = named_max;
    }
    return r;
  };
  constexpr std::int16_t kNoRange = -2;
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, 2), 5), 2);
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, 30), 4), 0);  // names more than refused
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, 5), 5), 0);   // names what it refused
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, -1), 5), 0);  // nonsense range
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, kNoRange), 5), 0);
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, 2), 0), std::nullopt);
  EXPECT_EQ(kp::api_versions_retry_version(unsupported(0, kNoRange), 0), std::nullopt);
  kp::ApiVersionsResponse other_error = unsupported(0, 2);
  other_error.error_code = 1;
  EXPECT_EQ(kp::api_versions_retry_version(other_error, 5), std::nullopt);
}
