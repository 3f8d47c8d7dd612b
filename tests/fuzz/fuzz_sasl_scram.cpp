// libFuzzer: the SCRAM server-first and server-final parsers over arbitrary bytes, the strict
// base64 decoder, and a whole client exchange fed with the input (server-first, a NUL byte,
// server-final). The client must never crash, never answer after an error, and never
// complete without the server's proof.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "kwire/security/base64.hpp"
#include "kwire/security/scram.hpp"

namespace ks = kwire::security;

namespace {

// The RFC 7677 example's user, password and client nonce: the committed corpus holds its
// server messages, so the fuzzer starts next to a complete, valid exchange.
constexpr std::string_view kServerFinalOfTheRfcExample =
    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void check_parsers(std::string_view text) {
  ks::scram_server_first first;
  if (!ks::parse_scram_server_first(text, first)) {
    if (first.nonce.empty() || first.nonce.find(',') != std::string_view::npos) std::abort();
    if (first.iterations == 0) std::abort();
  }
  ks::scram_server_final final_message;
  if (!ks::parse_scram_server_final(text, final_message)) {
    if (final_message.error.empty() == final_message.server_signature.empty()) std::abort();
  }
  // Strict base64: whatever decodes encodes back to the same text.
  std::vector<std::uint8_t> decoded;
  if (ks::base64_decode(text, decoded) && ks::base64_encode(decoded) != text) std::abort();
}

void run_exchange(std::string_view server_first, std::string_view server_final) {
  // max_iterations at the minimum keeps every run to one 4096-round PBKDF2.
  ks::scram_client client(ks::scram_algorithm::sha256, "user", "pencil",
                          {.client_nonce = "rOprNGfwEbeRWgbNEkqO", .max_iterations = 4096});
  std::vector<std::uint8_t> out;
  if (client.initial_response(out)) std::abort();
  if (client.evaluate_challenge(bytes_of(server_first), out)) {
    if (!out.empty() || client.is_complete()) std::abort();
    return;
  }
  if (out.empty()) std::abort();
  const std::error_code ec = client.evaluate_challenge(bytes_of(server_final), out);
  if (!out.empty() || client.is_complete() == bool(ec)) std::abort();
  // Only the real server signature completes; the fuzzer cannot compute another one, so a
  // completed exchange must carry the RFC's verifier.
  if (client.is_complete() && !server_final.starts_with(kServerFinalOfTheRfcExample)) std::abort();
}

}  // namespace

// PBKDF2 allocates on every one of its 4096 rounds; with ASan's default 256 MB quarantine of
// freed memory the process settles just under fuzz.sh's -rss_limit_mb=512. A smaller
// quarantine keeps it near 160 MB and still catches use-after-free of recent allocations.
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=64"; }

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_parsers(input);
  const std::size_t nul = input.find('\0');
  if (nul != std::string_view::npos) run_exchange(input.substr(0, nul), input.substr(nul + 1));
  return 0;
}
