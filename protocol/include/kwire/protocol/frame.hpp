// Request and response framing: int32 size prefix, request header (v1/v2) or response
// header (v0/v1), body. Pure functions over buffers; the connection layer owns the I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/messages.hpp"

namespace kwire::protocol {

// The largest frame kwire accepts from a broker unless told otherwise (Kafka's own
// socket.request.max.bytes default is 100 MiB).
inline constexpr std::size_t default_max_frame_size = 100 * 1024 * 1024;

namespace detail {
template <class Request>
std::error_code encode_request_into(std::vector<std::uint8_t>& out, writer& w, const Request& body,
                                    std::int16_t api_version, std::int32_t correlation_id,
                                    std::string_view client_id) {
  const std::size_t start = out.size();
  out.resize(start + 4);
  RequestHeader header;
  header.request_api_key = Request::api_key;
  header.request_api_version = api_version;
  header.correlation_id = correlation_id;
  header.client_id = std::string(client_id);
  header.write(w, request_header_version(Request::api_key, api_version));
  std::error_code ec = w.error();
  if (!ec && (api_version < Request::min_version || api_version > Request::max_version))
    ec = errc::unsupported_version;
  if (!ec) {
    body.write(w, api_version);
    ec = w.error();
  }
  if (ec) {
    out.resize(start);
    return ec;
  }
  const auto size = static_cast<std::uint32_t>(out.size() - start - 4 + w.deferred_size());
  const std::uint8_t be[4] = {
      static_cast<std::uint8_t>(size >> 24), static_cast<std::uint8_t>(size >> 16),
      static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
  std::memcpy(out.data() + start, be, 4);
  return {};
}
}  // namespace detail

// Appends one complete request frame (size, header, body) to `out`. On error nothing
// usable is appended (out is restored to its previous size).
template <class Request>
std::error_code encode_request(std::vector<std::uint8_t>& out, const Request& body,
                               std::int16_t api_version, std::int32_t correlation_id,
                               std::string_view client_id) {
  writer w(out);
  return detail::encode_request_into(out, w, body, api_version, correlation_id, client_id);
}

// encode_request(), except that the bytes of records fields of `min_deferred` bytes or more
// are not copied into `out`: they are appended to `deferred` (offsets into `out`) for a
// gather write, and the frame's size counts them. On error `deferred` is restored too.
template <class Request>
std::error_code encode_request(std::vector<std::uint8_t>& out,
                               std::vector<deferred_bytes>& deferred, std::size_t min_deferred,
                               const Request& body, std::int16_t api_version,
                               std::int32_t correlation_id, std::string_view client_id) {
  const std::size_t listed = deferred.size();
  writer w(out, deferred, min_deferred);
  auto ec = detail::encode_request_into(out, w, body, api_version, correlation_id, client_id);
  if (ec) deferred.resize(listed);
  return ec;
}

// Looks at the front of a receive buffer: the size of the first complete frame including
// its 4-byte prefix, nullopt while more bytes are needed, or an error when the announced
// size is negative or above max_frame_size.
inline std::optional<std::size_t> complete_frame_size(std::span<const std::uint8_t> buffered,
                                                      std::error_code& ec,
                                                      std::size_t max_frame_size = default_max_frame_size) {
  ec.clear();
  if (buffered.size() < 4) return std::nullopt;
  reader r(buffered.first(4));
  const std::int32_t size = r.int32();
  if (size < 0 || static_cast<std::size_t>(size) > max_frame_size) {
    ec = errc::oversized;
    return std::nullopt;
  }
  if (buffered.size() - 4 < static_cast<std::size_t>(size)) return std::nullopt;
  return static_cast<std::size_t>(size) + 4;
}

// A response frame's payload (without the size prefix) split into header and body.
struct response_frame {
  std::int32_t correlation_id = 0;
  std::span<const std::uint8_t> body;
};

// Reads the response header for the API and version the request used. The header's
// tagged fields (v1) are skipped.
inline std::error_code split_response(std::span<const std::uint8_t> payload, std::int16_t api_key,
                                      std::int16_t api_version, response_frame& out) {
  reader r(payload);
  ResponseHeader header;
  header.read(r, response_header_version(api_key, api_version));
  if (!r.ok()) return r.error();
  out.correlation_id = header.correlation_id;
  out.body = payload.subspan(payload.size() - r.remaining());
  return {};
}

// Decodes a response body; the response refers into `payload` (records fields).
template <class Response>
std::error_code decode_response(std::span<const std::uint8_t> payload, std::int16_t api_version,
                                Response& response, std::int32_t* correlation_id = nullptr) {
  response_frame frame;
  if (auto ec = split_response(payload, Response::api_key, api_version, frame)) return ec;
  if (correlation_id) *correlation_id = frame.correlation_id;
  return response.decode(frame.body, api_version);
}

}  // namespace kwire::protocol

namespace kwire::protocol {

// ApiVersions needs one exception: a broker that does not support the requested version
// answers with UNSUPPORTED_VERSION, usually in a v0 body with its own version ranges
// (KIP-511), so the client can retry at a version the broker knows. Like the Java client,
// the body is read at the requested version first and, when that fails, as v0; the error
// of the first attempt is returned when neither reads.
inline std::error_code decode_api_versions_response(std::span<const std::uint8_t> payload,
                                                    std::int16_t requested_version,
                                                    ApiVersionsResponse& response,
                                                    std::int32_t* correlation_id = nullptr) {
  response_frame frame;
  if (auto ec = split_response(payload, ApiVersionsResponse::api_key, requested_version, frame))
    return ec;
  if (correlation_id) *correlation_id = frame.correlation_id;
  const auto as_requested = response.decode(frame.body, requested_version);
  if (!as_requested || requested_version == 0) return as_requested;
  // A failed decode leaves a half-filled response behind.
  response = ApiVersionsResponse{};
  if (!response.decode(frame.body, 0)) return {};
  response = ApiVersionsResponse{};
  return as_requested;
}

// After an ApiVersions answer with UNSUPPORTED_VERSION to a request at `tried_version`: the
// version to ask again with, or nullopt to give up (the broker refused v0, or the answer
// carries another error). The Java client's rule: the highest version both sides support
// when the answer names the broker's ApiVersions range, else v0. The retry is always at a
// lower version than the one tried (a broker naming a range it then refuses gets v0), so
// negotiation ends after at most tried_version + 1 requests.
inline std::optional<std::int16_t> api_versions_retry_version(
    const ApiVersionsResponse& response, std::int16_t tried_version) noexcept {
  if (response.error_code != static_cast<std::int16_t>(broker_error::unsupported_version) ||
      tried_version <= 0)
    return std::nullopt;
  for (const auto& api : response.api_keys) {
    if (api.api_key != ApiVersionsRequest::api_key) continue;
    const auto highest_common = std::min(api.max_version, ApiVersionsRequest::max_version);
    const bool usable = highest_common >= ApiVersionsRequest::min_version &&
                        highest_common >= api.min_version && highest_common < tried_version;
    return usable ? highest_common : std::int16_t{0};
  }
  return std::int16_t{0};
}

}  // namespace kwire::protocol
