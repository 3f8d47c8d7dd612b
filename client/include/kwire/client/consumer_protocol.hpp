// The embedded consumer protocol of classic groups: what a member puts in JoinGroup's
// protocol metadata (ConsumerProtocolSubscription) and what the leader returns per member
// in SyncGroup (ConsumerProtocolAssignment). Both are non-flexible structs prefixed by an
// int16 version (protocol/schema/ConsumerProtocol*.json); the code generator only emits
// request/response messages, so they are written here with the protocol's reader/writer.
//
// Byte-compatible with Java's ConsumerProtocol.serializeSubscription/serializeAssignment
// (checked by tests/interop/xcheck_assignors.cpp): a subscription's topics and owned
// partitions are written sorted; assigned partitions are grouped by topic in order of
// first appearance, each topic's partitions in the order given; an empty user_data is written as
// null (the built-in assignors send null); fields the version cannot carry (owned partitions < v1,
// generation < v2, rack < v3) are dropped, as they are "ignorable"; a version above 3 is written
// as 3. Decoding reads a newer version as v3 and ignores the bytes after the fields it knows, as
// Java does.
#pragma once

#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "kwire/client/assignor.hpp"

namespace kwire::client {

// Highest ConsumerProtocolSubscription / ConsumerProtocolAssignment version kwire knows.
inline constexpr std::int16_t consumer_protocol_latest_version = 3;

// Appends the encoding to `out`. Errors (nothing useful appended): protocol errc
// unsupported_version for a negative version, oversized for a string over 32767 bytes.
std::error_code encode_subscription(const member_subscription& subscription, std::int16_t version,
                                    std::vector<std::uint8_t>& out);
std::error_code encode_assignment(const member_assignment& assignment, std::int16_t version,
                                  std::vector<std::uint8_t>& out);

// Decodes into `out` (member_id and group_instance_id are not in the bytes: the caller
// fills them from JoinGroup). `version`, when given, receives the version the bytes
// carry. Errors: truncated / invalid_length input, unsupported_version for a negative
// version. Partitions are returned in wire order (the assignment is not re-sorted).
std::error_code decode_subscription(std::span<const std::uint8_t> bytes, member_subscription& out,
                                    std::int16_t* version = nullptr);
std::error_code decode_assignment(std::span<const std::uint8_t> bytes, member_assignment& out,
                                  std::int16_t* version = nullptr);

}  // namespace kwire::client
