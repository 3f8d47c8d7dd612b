#include "kwire/security/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "kwire/security/base64.hpp"
#include "kwire/security/error.hpp"

namespace ks = kwire::security;

namespace {

std::string as_string(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 7677, section 3: SCRAM-SHA-256 with user "user", password "pencil".
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

ks::scram_client rfc_client() {
  return ks::scram_client(ks::scram_algorithm::sha256, "user", "pencil",
                          {.client_nonce = std::string(kRfcClientNonce)});
}

// The RFC client up to the point where it waits for server-final.
void run_to_server_final(ks::scram_client& client) {
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(kRfcServerFirst), out));
}

// The server's side of SCRAM, written here on its own from RFC 5802's formulas, so that the
// client is checked against a second implementation rather than against itself.
class test_scram_server {
 public:
  test_scram_server(const EVP_MD* md, std::string password, std::string salt, int iterations)
      : md_(md), salt_(std::move(salt)), iterations_(iterations) {
    std::vector<std::uint8_t> salted(EVP_MD_size(md_));
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      bytes_of(salt_).data(), static_cast<int>(salt_.size()), iterations_, md_,
                      static_cast<int>(salted.size()), salted.data());
    const auto client_key = hmac(salted, "Client Key");
    stored_key_.resize(client_key.size());
    EVP_Digest(client_key.data(), client_key.size(), stored_key_.data(), nullptr, md_, nullptr);
    server_key_ = hmac(salted, "Server Key");
  }

  // client-first in, server-first out.
  std::string first(std::string_view client_first, std::string_view server_nonce_part) {
    client_first_bare_ = std::string(client_first.substr(3));  // after "n,,"
    const auto nonce_at = client_first_bare_.find(",r=") + 3;
    const auto nonce_end = client_first_bare_.find(',', nonce_at);
    nonce_ = client_first_bare_.substr(nonce_at, nonce_end - nonce_at) + std::string(server_nonce_part);
    server_first_ = "r=" + nonce_ + ",s=" + ks::base64_encode(bytes_of(salt_)) + ",i=" +
                    std::to_string(iterations_);
    return server_first_;
  }

  // client-final in, server-final out ("e=invalid-proof" when the proof is wrong).
  std::string final(std::string_view client_final) {
    const auto proof_at = client_final.rfind(",p=");
    const std::string without_proof(client_final.substr(0, proof_at));
    if (without_proof != "c=biws,r=" + nonce_) return "e=other-error";
    const std::string auth_message = client_first_bare_ + "," + server_first_ + "," + without_proof;
    std::vector<std::uint8_t> proof;
    if (!ks::base64_decode(client_final.substr(proof_at + 3), proof)) return "e=invalid-encoding";
    const auto client_signature = hmac(stored_key_, auth_message);
    if (proof.size() != client_signature.size()) return "e=invalid-proof";
    std::vector<std::uint8_t> client_key(proof.size()), recomputed_stored_key(proof.size());
    for (std::size_t i = 0; i < proof.size(); ++i) client_key[i] = proof[i] ^ client_signature[i];
    EVP_Digest(client_key.data(), client_key.size(), recomputed_stored_key.data(), nullptr, md_, nullptr);
    if (recomputed_stored_key != stored_key_) return "e=invalid-proof";
    return "v=" + ks::base64_encode(hmac(server_key_, auth_message));
  }

 private:
  std::vector<std::uint8_t> hmac(std::span<const std::uint8_t> key, std::string_view data) const {
    std::vector<std::uint8_t> out(EVP_MD_size(md_));
    HMAC(md_, key.data(), static_cast<int>(key.size()), bytes_of(data).data(), data.size(),
         out.data(), nullptr);
    return out;
  }

  const EVP_MD* md_;
  std::string salt_;
  int iterations_;
  std::vector<std::uint8_t> stored_key_, server_key_;
  std::string client_first_bare_, nonce_, server_first_;
};

}  // namespace

TEST(SaslScram, Rfc7677Sha256ExampleGivesTheRfcMessages) {
  auto client = rfc_client();
  EXPECT_EQ(client.name(), "SCRAM-SHA-256");
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  EXPECT_EQ(as_string(out), kRfcClientFirst);
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(kRfcServerFirst), out));
  EXPECT_EQ(as_string(out), kRfcClientFinal);
  EXPECT_FALSE(client.is_complete());
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(kRfcServerFinal), out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(client.is_complete());
  EXPECT_TRUE(client.server_error().empty());
}

// No RFC has a SCRAM-SHA-512 example. This one follows RFC 7677's (same user, password and
// nonces; salt "kwire-sha512-salt") and was computed with Python's hashlib.pbkdf2_hmac and
// hmac, an implementation independent of OpenSSL's.
TEST(SaslScram, Sha512MatchesAVectorFromPythonHashlib) {
  ks::scram_client client(ks::scram_algorithm::sha512, "user", "pencil",
                          {.client_nonce = std::string(kRfcClientNonce)});
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  EXPECT_EQ(as_string(out), kRfcClientFirst);
  ASSERT_FALSE(client.evaluate_challenge(
      bytes_of("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
               "s=a3dpcmUtc2hhNTEyLXNhbHQ=,i=4096"),
      out));
  EXPECT_EQ(as_string(out),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            "p=WxaPGjIYlPky8pCD9a1zf//rz5DdtaBojmWl+ovtagYD6y10f6IHuQYb9dZAjG22JXQDfttzNSCK5aoEJ5xmHg==");
  ASSERT_FALSE(client.evaluate_challenge(
      bytes_of("v=rdK9ze4NA1RTQZBnvPucwIiCsf7+nnBqLyVHBRuUMkiX1YzP/84sBhlKEQbb1jN8/wGrF2W0O9IK80SN0fue0A=="),
      out));
  EXPECT_TRUE(client.is_complete());
}

TEST(SaslScram, Sha512RoundTripAgainstAnIndependentServer) {
  test_scram_server server(EVP_sha512(), "pa,ss=wörd", "some salt bytes", 4096);
  ks::scram_client client(ks::scram_algorithm::sha512, "us,er=1", "pa,ss=wörd");
  EXPECT_EQ(client.name(), "SCRAM-SHA-512");
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  const std::string client_first = as_string(out);
  ASSERT_TRUE(client_first.starts_with("n,,n=us=2Cer=3D1,r=")) << client_first;
  const std::string server_first = server.first(client_first, "server-part");
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(server_first), out));
  const std::string server_final = server.final(as_string(out));
  ASSERT_TRUE(server_final.starts_with("v=")) << server_final;
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(server_final), out));
  EXPECT_TRUE(client.is_complete());
}

TEST(SaslScram, WrongPasswordIsRefusedByTheServerSide) {
  test_scram_server server(EVP_sha512(), "right", "salt", 4096);
  ks::scram_client client(ks::scram_algorithm::sha512, "user", "wrong");
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(server.first(as_string(out), "x")), out));
  const std::string server_final = server.final(as_string(out));
  EXPECT_EQ(server_final, "e=invalid-proof");
  EXPECT_EQ(client.evaluate_challenge(bytes_of(server_final), out), ks::errc::server_rejected);
  EXPECT_EQ(client.server_error(), "invalid-proof");
  EXPECT_FALSE(client.is_complete());
}

TEST(SaslScram, RandomNoncesArePrintableAndDiffer) {
  std::vector<std::uint8_t> first, second;
  ks::scram_client a(ks::scram_algorithm::sha256, "u", "p"), b(ks::scram_algorithm::sha256, "u", "p");
  ASSERT_FALSE(a.initial_response(first));
  ASSERT_FALSE(b.initial_response(second));
  const std::string nonce = as_string(first).substr(std::string_view("n,,n=u,r=").size());
  EXPECT_EQ(nonce.size(), 32u);
  EXPECT_EQ(nonce.find(','), std::string::npos);
  EXPECT_NE(first, second);
}

TEST(SaslScram, DelegationTokenExtension) {
  ks::scram_client client(ks::scram_algorithm::sha256, "tokenid", "hmac",
                          {.client_nonce = "abc", .delegation_token = true});
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  EXPECT_EQ(as_string(out), "n,,n=tokenid,r=abc,tokenauth=true");
}

TEST(SaslScram, InvalidCredentialsAndNonce) {
  using namespace std::string_literals;
  std::vector<std::uint8_t> out;
  const auto sha256 = ks::scram_algorithm::sha256;
  EXPECT_EQ(ks::scram_client(sha256, "", "p").initial_response(out), ks::errc::invalid_username);
  EXPECT_EQ(ks::scram_client(sha256, "a\0b"s, "p").initial_response(out), ks::errc::invalid_username);
  EXPECT_EQ(ks::scram_client(sha256, "a", "").initial_response(out), ks::errc::invalid_password);
  EXPECT_EQ(ks::scram_client(sha256, "a", "p\0"s).initial_response(out), ks::errc::invalid_password);
  EXPECT_EQ(ks::scram_client(sha256, "a", "p", {.client_nonce = "a,b"}).initial_response(out),
            ks::errc::invalid_client_nonce);
  EXPECT_EQ(ks::scram_client(sha256, "a", "p", {.client_nonce = "a b"}).initial_response(out),
            ks::errc::invalid_client_nonce);
  EXPECT_TRUE(out.empty());
}

TEST(SaslScram, ServerFirstProblemsAreTypedErrors) {
  const std::pair<std::string_view, ks::errc> cases[] = {
      // The nonce must extend the client's.
      {"r=XOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ks::errc::nonce_mismatch},
      {"r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ks::errc::nonce_mismatch},
      {"r=rOprNG,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ks::errc::nonce_mismatch},
      // Salt.
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", ks::errc::invalid_base64},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22Z*J0SNY7soEsUEjb6gQ==,i=4096", ks::errc::invalid_base64},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=,i=4096", ks::errc::malformed_server_message},
      // Iterations.
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095", ks::errc::iteration_count_too_low},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", ks::errc::iteration_count_too_low},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100001", ks::errc::iteration_count_too_high},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999", ks::errc::iteration_count_too_high},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x", ks::errc::malformed_server_message},
      // Missing, reordered or broken attributes.
      {"", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,i=4096", ks::errc::malformed_server_message},
      {"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ks::errc::malformed_server_message},
      {"s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxyz,i=4096", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,", ks::errc::malformed_server_message},
      {"r=rOprNGfwEbeRWgbNEkqO xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", ks::errc::malformed_server_message},
      {"e=other-error", ks::errc::malformed_server_message},
      // A mandatory extension the client cannot honour.
      {"m=ext,r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
       ks::errc::unsupported_mandatory_extension},
  };
  for (const auto& [server_first, expected] : cases) {
    auto client = rfc_client();
    std::vector<std::uint8_t> out;
    ASSERT_FALSE(client.initial_response(out));
    EXPECT_EQ(client.evaluate_challenge(bytes_of(server_first), out), expected) << server_first;
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(client.evaluate_challenge(bytes_of(kRfcServerFinal), out), ks::errc::out_of_order);
  }
}

TEST(SaslScram, OptionalServerExtensionsAreIgnored) {
  auto client = rfc_client();
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  // The extension changes AuthMessage, so the RFC proof no longer applies: only parse here.
  EXPECT_FALSE(client.evaluate_challenge(bytes_of(std::string(kRfcServerFirst) + ",x=ext"), out));
  ks::scram_server_final server_final;
  EXPECT_FALSE(ks::parse_scram_server_final(std::string(kRfcServerFinal) + ",x=ext", server_final));
}

TEST(SaslScram, ServerFinalProblemsAreTypedErrors) {
  const std::pair<std::string_view, ks::errc> cases[] = {
      {"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", ks::errc::server_signature_mismatch},
      {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95A==", ks::errc::server_signature_mismatch},
      {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", ks::errc::invalid_base64},
      {"v=", ks::errc::malformed_server_message},
      {"", ks::errc::malformed_server_message},
      {"x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", ks::errc::malformed_server_message},
      {"e=unknown-user", ks::errc::server_rejected},
      {"e=", ks::errc::malformed_server_message},
  };
  for (const auto& [server_final, expected] : cases) {
    auto client = rfc_client();
    run_to_server_final(client);
    std::vector<std::uint8_t> out;
    EXPECT_EQ(client.evaluate_challenge(bytes_of(server_final), out), expected) << server_final;
    EXPECT_FALSE(client.is_complete());
  }
  auto client = rfc_client();
  run_to_server_final(client);
  std::vector<std::uint8_t> out;
  EXPECT_EQ(client.evaluate_challenge(bytes_of("e=unknown-user"), out), ks::errc::server_rejected);
  EXPECT_EQ(client.server_error(), "unknown-user");
}

TEST(SaslScram, StepsOutOfOrder) {
  std::vector<std::uint8_t> out;
  auto early = rfc_client();
  EXPECT_EQ(early.evaluate_challenge(bytes_of(kRfcServerFirst), out), ks::errc::out_of_order);

  auto twice = rfc_client();
  ASSERT_FALSE(twice.initial_response(out));
  EXPECT_EQ(twice.initial_response(out), ks::errc::out_of_order);
  EXPECT_EQ(twice.evaluate_challenge(bytes_of(kRfcServerFirst), out), ks::errc::out_of_order);

  // server-final where server-first belongs
  auto swapped = rfc_client();
  ASSERT_FALSE(swapped.initial_response(out));
  EXPECT_EQ(swapped.evaluate_challenge(bytes_of(kRfcServerFinal), out), ks::errc::malformed_server_message);

  auto after_complete = rfc_client();
  run_to_server_final(after_complete);
  ASSERT_FALSE(after_complete.evaluate_challenge(bytes_of(kRfcServerFinal), out));
  EXPECT_EQ(after_complete.evaluate_challenge(bytes_of(kRfcServerFinal), out), ks::errc::out_of_order);
  EXPECT_FALSE(after_complete.is_complete());
}

TEST(SaslScram, ErrorMessagesNeverContainTheCredentials) {
  auto client = ks::scram_client(ks::scram_algorithm::sha256, "user", "pencil",
                                 {.client_nonce = std::string(kRfcClientNonce)});
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  ASSERT_FALSE(client.evaluate_challenge(bytes_of(kRfcServerFirst), out));
  const std::error_code ec = client.evaluate_challenge(bytes_of("v=AAAA"), out);
  ASSERT_TRUE(ec);
  EXPECT_EQ(ec.message().find("pencil"), std::string::npos);
  EXPECT_EQ(ec.message().find("user"), std::string::npos);
}
