// Shared body of the request/response decoder fuzz targets: the first three bytes pick the
// API key and version, the rest is a message body. Whatever decodes must re-encode, and the
// re-encoded bytes must decode and re-encode to themselves.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "kwire/protocol/messages.hpp"

namespace kwire::fuzz {

template <class T>
void check_message(std::span<const std::uint8_t> body, std::int16_t version) {
  T decoded;
  if (decoded.decode(body, version)) return;
  std::vector<std::uint8_t> first;
  if (decoded.encode(first, version)) std::abort();  // decodable but not encodable
  T again;
  if (again.decode(first, version)) std::abort();
  std::vector<std::uint8_t> second;
  if (again.encode(second, version) || second != first) std::abort();
}

template <bool Requests>
int fuzz_one(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const auto apis = protocol::implemented_apis();
  const auto& api = apis[data[0] % apis.size()];
  const int span = api.max_version - api.min_version + 1;
  const auto version = static_cast<std::int16_t>(api.min_version + ((data[1] << 8 | data[2]) % span));
  const std::span<const std::uint8_t> body(data + 3, size - 3);
  auto visit = [&]<class T>() { check_message<T>(body, version); };
  if constexpr (Requests) protocol::visit_request_type(api.key, visit);
  else protocol::visit_response_type(api.key, visit);
  return 0;
}

}  // namespace kwire::fuzz
