#include "kwire/security/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <limits>
#include <utility>

#include "kwire/security/base64.hpp"
#include "kwire/security/error.hpp"
#include "secret.hpp"

namespace kwire::security {
namespace {

constexpr std::string_view kGs2Header = "n,,";        // no channel binding, no authzid
constexpr std::string_view kGs2HeaderBase64 = "biws";  // base64("n,,"), the c= attribute
constexpr std::size_t kRandomNonceBytes = 24;          // 192 bits, 32 base64 characters

// RFC 5802 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII except ','.
bool is_printable_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (const char c : nonce)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

bool usable_credential(std::string_view value) {
  return !value.empty() && value.find('\0') == std::string_view::npos;
}

// saslname: ',' and '=' would break the attribute syntax, so RFC 5802 escapes them.
std::string escape_username(std::string_view username) {
  std::string escaped;
  escaped.reserve(username.size());
  for (const char c : username) {
    if (c == ',') escaped += "=2C";
    else if (c == '=') escaped += "=3D";
    else escaped += c;
  }
  return escaped;
}

// One "a=value" attribute: a single letter, '=', then the value.
struct attribute {
  char name = 0;
  std::string_view value;
};

bool parse_attribute(std::string_view text, attribute& out) {
  if (text.size() < 2 || text[1] != '=') return false;
  const char name = text[0];
  if (!((name >= 'a' && name <= 'z') || (name >= 'A' && name <= 'Z'))) return false;
  out = {name, text.substr(2)};
  return true;
}

// Splits at ',' (attribute values never contain one).
std::vector<std::string_view> split_attributes(std::string_view message) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = message.find(',', start);
    const std::size_t length = comma == std::string_view::npos ? comma : comma - start;
    parts.push_back(message.substr(start, length));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

// Extensions after the required attributes: well-formed "x=value", otherwise ignored.
bool extensions_are_well_formed(std::span<const std::string_view> parts) {
  attribute ignored;
  for (const auto part : parts)
    if (!parse_attribute(part, ignored)) return false;
  return true;
}

// posit-number = %x31-39 *DIGIT
std::error_code parse_iteration_count(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text[0] < '1' || text[0] > '9') return errc::malformed_server_message;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return errc::malformed_server_message;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > std::numeric_limits<std::uint32_t>::max()) return errc::iteration_count_too_high;
  }
  out = static_cast<std::uint32_t>(value);
  return {};
}

const EVP_MD* digest_of(scram_algorithm algorithm) {
  return algorithm == scram_algorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

// HMAC(key, data) into `out`, sized to the digest.
bool hmac(const EVP_MD* md, std::span<const std::uint8_t> key, std::string_view data,
          std::vector<std::uint8_t>& out) {
  out.resize(static_cast<std::size_t>(EVP_MD_size(md)));
  unsigned int length = 0;
  const bool ok = HMAC(md, key.data(), static_cast<int>(key.size()),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                       &length) != nullptr;
  return ok && length == out.size();
}

// The proof and the expected server signature of one exchange (RFC 5802, section 3).
struct scram_proof {
  std::vector<std::uint8_t> client_proof;
  std::vector<std::uint8_t> server_signature;
};

std::error_code compute_proof(const EVP_MD* md, std::string_view password,
                              std::span<const std::uint8_t> salt, std::uint32_t iterations,
                              std::string_view auth_message, scram_proof& out) {
  const std::size_t digest_size = static_cast<std::size_t>(EVP_MD_size(md));
  std::vector<std::uint8_t> salted_password(digest_size), client_key, stored_key(digest_size),
      client_signature, server_key;
  struct wipe_on_exit {
    std::vector<std::vector<std::uint8_t>*> secrets;
    ~wipe_on_exit() {
      for (auto* secret : secrets) detail::wipe(*secret);
    }
  } wipe{{&salted_password, &client_key, &stored_key, &client_signature, &server_key}};

  // SaltedPassword = Hi(password, salt, i), Hi being PBKDF2 with HMAC.
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                        static_cast<int>(digest_size), salted_password.data()) != 1)
    return errc::crypto_failure;
  unsigned int stored_key_length = 0;
  if (!hmac(md, salted_password, "Client Key", client_key) ||
      EVP_Digest(client_key.data(), client_key.size(), stored_key.data(), &stored_key_length, md,
                 nullptr) != 1 ||
      stored_key_length != digest_size || !hmac(md, stored_key, auth_message, client_signature) ||
      !hmac(md, salted_password, "Server Key", server_key) ||
      !hmac(md, server_key, auth_message, out.server_signature))
    return errc::crypto_failure;
  // ClientProof = ClientKey XOR ClientSignature
  out.client_proof.resize(digest_size);
  for (std::size_t i = 0; i < digest_size; ++i)
    out.client_proof[i] = client_key[i] ^ client_signature[i];
  return {};
}

void assign(std::vector<std::uint8_t>& out, std::string_view text) {
  out.assign(text.begin(), text.end());
}

}  // namespace

std::error_code parse_scram_server_first(std::string_view message, scram_server_first& out) {
  out = {};
  const std::vector<std::string_view> parts = split_attributes(message);
  std::size_t next = 0;
  attribute attr;
  if (!parse_attribute(parts[0], attr)) return errc::malformed_server_message;
  if (attr.name == 'm') return errc::unsupported_mandatory_extension;

  const auto expect = [&](char name) {
    return next < parts.size() && parse_attribute(parts[next++], attr) && attr.name == name;
  };
  if (!expect('r') || !is_printable_nonce(attr.value)) return errc::malformed_server_message;
  out.nonce = attr.value;
  if (!expect('s') || attr.value.empty()) return errc::malformed_server_message;
  if (!base64_decode(attr.value, out.salt)) return errc::invalid_base64;
  if (!expect('i')) return errc::malformed_server_message;
  if (auto ec = parse_iteration_count(attr.value, out.iterations)) return ec;
  if (!extensions_are_well_formed(std::span(parts).subspan(next)))
    return errc::malformed_server_message;
  return {};
}

std::error_code parse_scram_server_final(std::string_view message, scram_server_final& out) {
  out = {};
  const std::vector<std::string_view> parts = split_attributes(message);
  attribute attr;
  if (!parse_attribute(parts[0], attr) || !extensions_are_well_formed(std::span(parts).subspan(1)))
    return errc::malformed_server_message;
  if (attr.name == 'e') {
    if (attr.value.empty()) return errc::malformed_server_message;
    out.error = attr.value;
    return {};
  }
  if (attr.name != 'v' || attr.value.empty()) return errc::malformed_server_message;
  if (!base64_decode(attr.value, out.server_signature)) return errc::invalid_base64;
  return {};
}

scram_client::scram_client(scram_algorithm algorithm, std::string_view username,
                           std::string_view password, scram_options options)
    : algorithm_(algorithm),
      username_(username),
      password_(password),
      options_(std::move(options)) {}

scram_client::~scram_client() {
  wipe_secrets();
  detail::wipe(username_);
}

void scram_client::wipe_secrets() noexcept {
  detail::wipe(password_);
  detail::wipe(expected_server_signature_);
}

std::string_view scram_client::name() const noexcept {
  return algorithm_ == scram_algorithm::sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::error_code scram_client::initial_response(std::vector<std::uint8_t>& out) {
  out.clear();
  if (state_ != state::initial) {
    state_ = state::failed;
    wipe_secrets();
    return errc::out_of_order;
  }
  state_ = state::failed;  // until this step succeeds
  if (!usable_credential(username_)) return errc::invalid_username;
  if (!usable_credential(password_)) return errc::invalid_password;
  if (options_.client_nonce.empty()) {
    std::uint8_t random[kRandomNonceBytes];
    if (RAND_bytes(random, sizeof random) != 1) return errc::random_unavailable;
    options_.client_nonce = base64_encode(random);
  } else if (!is_printable_nonce(options_.client_nonce)) {
    return errc::invalid_client_nonce;
  }
  client_first_bare_ = "n=" + escape_username(username_) + ",r=" + options_.client_nonce;
  if (options_.delegation_token) client_first_bare_ += ",tokenauth=true";
  out.reserve(kGs2Header.size() + client_first_bare_.size());
  out.assign(kGs2Header.begin(), kGs2Header.end());
  out.insert(out.end(), client_first_bare_.begin(), client_first_bare_.end());
  state_ = state::awaiting_server_first;
  return {};
}

std::error_code scram_client::evaluate_challenge(std::span<const std::uint8_t> challenge,
                                                 std::vector<std::uint8_t>& out) {
  out.clear();
  const std::string_view message(reinterpret_cast<const char*>(challenge.data()), challenge.size());
  std::error_code ec;
  switch (state_) {
    case state::awaiting_server_first:
      ec = answer_server_first(message, out);
      if (!ec) state_ = state::awaiting_server_final;
      break;
    case state::awaiting_server_final:
      ec = check_server_final(message);
      if (!ec) state_ = state::complete;
      wipe_secrets();
      break;
    default:
      ec = errc::out_of_order;
      break;
  }
  if (ec) {
    state_ = state::failed;
    wipe_secrets();
    out.clear();
  }
  return ec;
}

std::error_code scram_client::answer_server_first(std::string_view message,
                                                  std::vector<std::uint8_t>& out) {
  scram_server_first server_first;
  if (auto ec = parse_scram_server_first(message, server_first)) return ec;
  // The server appends its own part to the client's nonce; anything else is a replay or a
  // server that is not answering this exchange.
  if (server_first.nonce.size() <= options_.client_nonce.size() ||
      !server_first.nonce.starts_with(options_.client_nonce))
    return errc::nonce_mismatch;
  if (server_first.iterations < scram_min_iterations) return errc::iteration_count_too_low;
  if (server_first.iterations > options_.max_iterations) return errc::iteration_count_too_high;

  const std::string client_final_without_proof =
      std::string("c=").append(kGs2HeaderBase64).append(",r=").append(server_first.nonce);
  const std::string auth_message =
      client_first_bare_ + "," + std::string(message) + "," + client_final_without_proof;
  scram_proof proof;
  if (auto ec = compute_proof(digest_of(algorithm_), password_, server_first.salt,
                              server_first.iterations, auth_message, proof)) {
    detail::wipe(proof.client_proof);
    detail::wipe(proof.server_signature);
    return ec;
  }
  detail::wipe(password_);  // the proof is all that is needed from it
  expected_server_signature_ = std::move(proof.server_signature);
  const std::string client_final =
      client_final_without_proof + ",p=" + base64_encode(proof.client_proof);
  detail::wipe(proof.client_proof);
  assign(out, client_final);
  return {};
}

std::error_code scram_client::check_server_final(std::string_view message) {
  scram_server_final server_final;
  if (auto ec = parse_scram_server_final(message, server_final)) return ec;
  if (!server_final.error.empty()) {
    server_error_ = std::string(server_final.error);
    return errc::server_rejected;
  }
  if (server_final.server_signature.size() != expected_server_signature_.size() ||
      CRYPTO_memcmp(server_final.server_signature.data(), expected_server_signature_.data(),
                    expected_server_signature_.size()) != 0)
    return errc::server_signature_mismatch;
  return {};
}

}  // namespace kwire::security
