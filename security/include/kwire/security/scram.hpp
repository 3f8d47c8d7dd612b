// SCRAM-SHA-256 and SCRAM-SHA-512 clients (RFC 5802, RFC 7677) as Kafka runs them: no channel
// binding (gs2 header "n,,"), optional "tokenauth=true" extension for delegation tokens.
//
//   client-first  n,,n=<user>,r=<client nonce>
//   server-first  r=<client nonce + server nonce>,s=<salt>,i=<iterations>
//   client-final  c=biws,r=<nonce>,p=<client proof>
//   server-final  v=<server signature>   or   e=<error>
//
// The server signature is verified: a server that does not know the credentials cannot
// complete the exchange. The nonce comes from OpenSSL's CSPRNG unless a test injects one.
// User names are sent with ',' and '=' escaped as "=2C" and "=3D" (RFC 5802); no other
// SASLprep mapping is done, as Kafka's own client does none: the broker computed the stored
// credentials from the same UTF-8 bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kwire/security/sasl_mechanism.hpp"

namespace kwire::security {

enum class scram_algorithm { sha256, sha512 };

struct scram_options {
  // The client nonce; empty: 24 bytes from the CSPRNG, base64 encoded. Tests inject a fixed
  // one (printable ASCII without ',', as RFC 5802 requires).
  std::string client_nonce;
  // Kafka's "tokenauth=true" extension: the user name is a delegation token id and the
  // password its HMAC.
  bool delegation_token = false;
  // Iteration counts below 4096 are refused, as Kafka refuses them. Counts above this bound
  // are refused too, so a hostile or broken server cannot make the client spend seconds of
  // CPU in PBKDF2; Kafka's tools create 4096 (the default) or a few times that.
  std::uint32_t max_iterations = 100'000;
};

inline constexpr std::uint32_t scram_min_iterations = 4096;

// The server-first-message's attributes. `nonce` views the parsed text.
struct scram_server_first {
  std::string_view nonce;
  std::vector<std::uint8_t> salt;
  std::uint32_t iterations = 0;
};

// Parses "[m=...,]r=...,s=...,i=...[,ext=...]" with RFC 5802's grammar. Checks the syntax
// only (not the nonce prefix nor the iteration bounds): malformed_server_message,
// invalid_base64, unsupported_mandatory_extension (m=), iteration_count_too_high (> 2^32-1).
std::error_code parse_scram_server_first(std::string_view message, scram_server_first& out);

// The server-final-message: either a verifier (v=) or an error (e=).
struct scram_server_final {
  std::string_view error;  // the e= value; empty when the message has a verifier
  std::vector<std::uint8_t> server_signature;
};

// Parses "v=<base64>[,ext...]" or "e=<value>[,ext...]": malformed_server_message,
// invalid_base64. An e= message parses fine: the caller decides what it means.
std::error_code parse_scram_server_final(std::string_view message, scram_server_final& out);

class scram_client final : public sasl_client_mechanism {
 public:
  scram_client(scram_algorithm algorithm, std::string_view username, std::string_view password,
               scram_options options = {});
  ~scram_client() override;

  std::string_view name() const noexcept override;
  // client-first-message. errc::invalid_username / invalid_password (empty or NUL),
  // invalid_client_nonce, random_unavailable.
  std::error_code initial_response(std::vector<std::uint8_t>& out) override;
  // server-first in, client-final out; then server-final in, nothing out. Errors: those of
  // the parsers, nonce_mismatch, iteration_count_too_low/high, server_signature_mismatch,
  // server_rejected (e=, see server_error()), crypto_failure, out_of_order.
  std::error_code evaluate_challenge(std::span<const std::uint8_t> challenge,
                                     std::vector<std::uint8_t>& out) override;
  bool is_complete() const noexcept override { return state_ == state::complete; }

  // The e= value of a rejecting server-final ("invalid-proof", "unknown-user", ...), for
  // diagnostics; empty otherwise. It is the server's word, never a credential.
  const std::string& server_error() const noexcept { return server_error_; }

 private:
  enum class state { initial, awaiting_server_first, awaiting_server_final, complete, failed };

  std::error_code answer_server_first(std::string_view message, std::vector<std::uint8_t>& out);
  std::error_code check_server_final(std::string_view message);
  void wipe_secrets() noexcept;

  scram_algorithm algorithm_;
  std::string username_;
  std::string password_;
  scram_options options_;
  std::string client_first_bare_;
  std::vector<std::uint8_t> expected_server_signature_;
  std::string server_error_;
  state state_ = state::initial;
};

}  // namespace kwire::security
