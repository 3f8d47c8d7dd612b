// libFuzzer: the OAUTHBEARER client fed arbitrary server bytes after its initial response
// (an error JSON object, RFC 7628 3.2.2), and the error parser on its own.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kwire/security/oauthbearer.hpp"

namespace ks = kwire::security;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ks::oauthbearer_server_error error;
  const std::error_code parse_error = ks::parse_oauthbearer_server_error(input, error);
  if (bool(parse_error) != error.status.empty()) std::abort();  // status is required, and only then

  ks::oauthbearer_client client("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.");
  std::vector<std::uint8_t> out;
  if (client.initial_response(out)) std::abort();
  const std::error_code ec = client.evaluate_challenge({data, size}, out);
  if (size == 0 && (ec || !client.is_complete() || !out.empty())) std::abort();
  if (size != 0 && (client.is_complete() || bool(ec) != bool(parse_error))) std::abort();
  if (size != 0 && !ec && (out.size() != 1 || out[0] != 0x01 || !client.rejected())) std::abort();
  return 0;
}
