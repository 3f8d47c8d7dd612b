#include "kwire/client/consumer_protocol.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include "kwire/protocol/buffer.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::client {
namespace {

using protocol::errc;
using protocol::reader;
using protocol::writer;

constexpr bool classic = false;  // these structs are never flexible: no compact lengths

// [{topic, [partition]}] grouped by topic in order of first appearance, as Java's
// ImplicitLinkedHashMultiCollection does when the serializer calls find(topic).
void write_topic_partitions(writer& w, const std::vector<topic_partition>& partitions) {
  std::vector<std::string_view> topics;
  for (const auto& tp : partitions) {
    if (std::find(topics.begin(), topics.end(), tp.topic) == topics.end())
      topics.push_back(tp.topic);
  }
  w.array_length(topics.size(), classic);
  for (std::string_view topic : topics) {
    w.string(topic, classic);
    const auto count = std::count_if(partitions.begin(), partitions.end(),
                                     [&](const topic_partition& tp) { return tp.topic == topic; });
    w.array_length(static_cast<std::size_t>(count), classic);
    for (const auto& tp : partitions) {
      if (tp.topic == topic) w.int32(tp.partition);
    }
  }
}

void write_user_data(writer& w, const std::vector<std::uint8_t>& user_data) {
  if (user_data.empty()) {
    w.null_bytes(classic);
  } else {
    w.bytes(user_data, classic);
  }
}

std::string read_string(reader& r) {
  const std::int64_t length = r.string_length(classic);
  if (length < 0) {
    r.fail(errc::invalid_length);  // the schema's strings here are not nullable
    return {};
  }
  const auto* p = r.take(static_cast<std::size_t>(length));
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(length))
           : std::string{};
}

std::int64_t read_array_length(reader& r, std::size_t min_element_size) {
  const std::int64_t count = r.array_length(classic, min_element_size);
  if (count < 0) r.fail(errc::invalid_length);  // arrays here are not nullable either
  return count;
}

void read_topic_partitions(reader& r, std::vector<topic_partition>& out) {
  const std::int64_t topics = read_array_length(r, 2 + 4);
  for (std::int64_t t = 0; t < topics && r.ok(); ++t) {
    std::string topic = read_string(r);
    const std::int64_t partitions = read_array_length(r, 4);
    for (std::int64_t p = 0; p < partitions && r.ok(); ++p) {
      out.push_back({topic, r.int32()});
    }
  }
}

void read_user_data(reader& r, std::vector<std::uint8_t>& out) {
  const std::int64_t length = r.bytes_length(classic);
  if (length <= 0) return;  // null or empty
  if (const auto* p = r.take(static_cast<std::size_t>(length))) out.assign(p, p + length);
}

// The version prefix; a version above the latest is read as the latest (its extra fields
// come after the ones kwire knows and are ignored).
std::int16_t read_version(reader& r, std::int16_t* reported) {
  const std::int16_t version = r.int16();
  if (reported) *reported = version;
  if (r.ok() && version < 0) r.fail(errc::unsupported_version);
  return std::min(version, consumer_protocol_latest_version);
}

}  // namespace

std::error_code encode_subscription(const member_subscription& subscription, std::int16_t version,
                                    std::vector<std::uint8_t>& out) {
  if (version < 0) return errc::unsupported_version;
  version = std::min(version, consumer_protocol_latest_version);
  // Java's serializeSubscription sorts both lists; the bytes then do not depend on the
  // order a member happens to hold its topics and partitions in.
  std::vector<std::string_view> topics(subscription.topics.begin(), subscription.topics.end());
  std::sort(topics.begin(), topics.end());
  writer w(out);
  w.int16(version);
  w.array_length(topics.size(), classic);
  for (std::string_view topic : topics) w.string(topic, classic);
  write_user_data(w, subscription.user_data);
  if (version >= 1) {
    std::vector<topic_partition> owned = subscription.owned_partitions;
    std::sort(owned.begin(), owned.end());
    write_topic_partitions(w, owned);
  }
  if (version >= 2) w.int32(subscription.generation_id);
  if (version >= 3) {
    if (subscription.rack_id) {
      w.string(*subscription.rack_id, classic);
    } else {
      w.null_string(classic);
    }
  }
  return w.error();
}

std::error_code encode_assignment(const member_assignment& assignment, std::int16_t version,
                                  std::vector<std::uint8_t>& out) {
  if (version < 0) return errc::unsupported_version;
  // v1..v3 exist only to follow the subscription's versions: the layout is v0's.
  writer w(out);
  w.int16(std::min(version, consumer_protocol_latest_version));
  write_topic_partitions(w, assignment.partitions);
  write_user_data(w, assignment.user_data);
  return w.error();
}

std::error_code decode_subscription(std::span<const std::uint8_t> bytes, member_subscription& out,
                                    std::int16_t* reported_version) {
  reader r(bytes);
  const std::int16_t version = read_version(r, reported_version);
  out.topics.clear();
  out.user_data.clear();
  out.owned_partitions.clear();
  out.generation_id = -1;
  out.rack_id.reset();
  const std::int64_t topics = read_array_length(r, 2);
  for (std::int64_t i = 0; i < topics && r.ok(); ++i) out.topics.push_back(read_string(r));
  read_user_data(r, out.user_data);
  if (version >= 1) read_topic_partitions(r, out.owned_partitions);
  if (version >= 2) out.generation_id = r.int32();
  if (version >= 3) {
    const std::int64_t length = r.string_length(classic);
    if (length >= 0) {
      if (const auto* p = r.take(static_cast<std::size_t>(length))) {
        out.rack_id.emplace(reinterpret_cast<const char*>(p), static_cast<std::size_t>(length));
      }
    }
  }
  return r.error();
}

std::error_code decode_assignment(std::span<const std::uint8_t> bytes, member_assignment& out,
                                  std::int16_t* reported_version) {
  reader r(bytes);
  read_version(r, reported_version);
  out.partitions.clear();
  out.user_data.clear();
  read_topic_partitions(r, out.partitions);
  read_user_data(r, out.user_data);
  return r.error();
}

}  // namespace kwire::client
