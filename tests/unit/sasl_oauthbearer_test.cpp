#include "kwire/security/oauthbearer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "kwire/security/base64.hpp"
#include "kwire/security/error.hpp"
#include "kwire/security/unsecured_jwt.hpp"

namespace ks = kwire::security;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

std::string as_string(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// base64url without padding back to text, through the strict standard decoder.
std::string decode_base64url(std::string part) {
  std::replace(part.begin(), part.end(), '-', '+');
  std::replace(part.begin(), part.end(), '_', '/');
  part.append((4 - part.size() % 4) % 4, '=');
  std::vector<std::uint8_t> bytes;
  EXPECT_TRUE(ks::base64_decode(part, bytes)) << part;
  return as_string(bytes);
}

}  // namespace

TEST(SaslOauthbearer, InitialResponseWithoutExtensions) {
  ks::oauthbearer_client client("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.");
  EXPECT_EQ(client.name(), "OAUTHBEARER");
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  EXPECT_EQ(as_string(out), "n,,\x01" "auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\x01\x01");
  ASSERT_FALSE(client.evaluate_challenge({}, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(client.is_complete());
}

TEST(SaslOauthbearer, InitialResponseWithExtensionsInKeyOrder) {
  ks::oauthbearer_client client("token", {{"traceId", "a b"}, {"logicalCluster", "lkc-1"}});
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  EXPECT_EQ(as_string(out),
            "n,,\x01" "auth=Bearer token\x01" "logicalCluster=lkc-1\x01" "traceId=a b\x01\x01");
}

TEST(SaslOauthbearer, InvalidTokenAndExtensions) {
  std::vector<std::uint8_t> out;
  for (std::string_view token : {""sv, "a b"sv, "a\x01"sv, "=abc"sv, "ab=c"sv, "tok\xc3\xa9"sv})
    EXPECT_EQ(ks::oauthbearer_client(token).initial_response(out), ks::errc::invalid_token) << token;
  EXPECT_FALSE(ks::oauthbearer_client("a-b.c_d~e+f/g==").initial_response(out));
  const ks::sasl_extensions bad[] = {
      {{"auth", "x"}}, {{"", "x"}}, {{"k1", "x"}}, {{"k", ""}}, {{"k", "a\x01" "b"}}, {{"k", "\x7f"}}};
  for (const auto& extensions : bad)
    EXPECT_EQ(ks::oauthbearer_client("t", extensions).initial_response(out), ks::errc::invalid_extension);
  EXPECT_TRUE(out.empty());
}

TEST(SaslOauthbearer, ServerErrorIsParsedAndAcknowledged) {
  ks::oauthbearer_client client("token");
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(client.initial_response(out));
  // What Kafka's OAuthBearerSaslServer sends for a token it does not accept.
  ASSERT_FALSE(client.evaluate_challenge(
      bytes_of(R"({"status":"invalid_token", "scope":"kafka write", "openid-configuration":"https://idp/.well-known"})"),
      out));
  EXPECT_EQ(as_string(out), "\x01");
  EXPECT_TRUE(client.rejected());
  EXPECT_FALSE(client.is_complete());
  EXPECT_EQ(client.server_error().status, "invalid_token");
  EXPECT_EQ(client.server_error().scope, "kafka write");
  EXPECT_EQ(client.server_error().openid_configuration, "https://idp/.well-known");
  // The broker fails the exchange now; a success-looking message is not believed.
  EXPECT_EQ(client.evaluate_challenge({}, out), ks::errc::server_rejected);
  EXPECT_FALSE(client.is_complete());
}

TEST(SaslOauthbearer, ErrorJsonParsing) {
  ks::oauthbearer_server_error error;
  ASSERT_FALSE(ks::parse_oauthbearer_server_error(
      R"( { "other" : [1, -2.5e+3, {"x": null}, true, false], "status" : "in\"va\\lid\u00e9\ud83d\ude00" } )",
      error));
  EXPECT_EQ(error.status, "in\"va\\lid\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_TRUE(error.scope.empty());

  for (std::string_view bad :
       {"", "{}", "[]", R"({"status":1})", R"({"status":""})", R"({"status":"x")", R"({"status":"x"} x)",
        R"({"status":"x",})", R"({"status":"x" "scope":"y"})", R"({"status":"a\qb"})",
        R"({"status":"\ud800"})", R"({"status":"\udc00"})", R"({"status":"\u12"})", "{\"status\":\"a\nb\"}",
        R"({"status":"x","n":01})", R"({"status":"x","n":1.})", R"({"status":"x","n":tru})",
        R"({"status":"x","n":[1,]})", R"({status:"x"})"}) {
    EXPECT_EQ(ks::parse_oauthbearer_server_error(bad, error), ks::errc::malformed_server_message) << bad;
    EXPECT_TRUE(error.status.empty());
  }
  std::string deep = R"({"status":"x","n":)" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(ks::parse_oauthbearer_server_error(deep, error), ks::errc::malformed_server_message);
}

TEST(SaslOauthbearer, MalformedServerBytesAndOrder) {
  std::vector<std::uint8_t> out;
  ks::oauthbearer_client early("token");
  EXPECT_EQ(early.evaluate_challenge({}, out), ks::errc::out_of_order);

  ks::oauthbearer_client garbled("token");
  ASSERT_FALSE(garbled.initial_response(out));
  EXPECT_EQ(garbled.evaluate_challenge(bytes_of("not json"), out), ks::errc::malformed_server_message);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(garbled.evaluate_challenge({}, out), ks::errc::out_of_order);

  ks::oauthbearer_client twice("token");
  ASSERT_FALSE(twice.initial_response(out));
  EXPECT_EQ(twice.initial_response(out), ks::errc::out_of_order);
}

TEST(UnsecuredJwt, MatchesTheExpectedEncoding) {
  const ks::unsecured_jwt_claims claims{
      .subject = "alice",
      .issued_at = std::chrono::sys_seconds(std::chrono::seconds(1700000000)),
      .expires_at = std::chrono::sys_seconds(std::chrono::seconds(1700003600)),
      .scope = {"read", "write"}};
  // The same JSON, base64url-encoded by Python's standard library.
  EXPECT_EQ(ks::make_unsecured_jwt(claims),
            "eyJhbGciOiJub25lIn0."
            "eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAzNjAwLCJzY29wZSI6WyJyZWFkIiwid3JpdGUiXX0.");
}

TEST(UnsecuredJwt, EscapesClaimsAndIsAUsableBearerToken) {
  const ks::unsecured_jwt_claims claims{
      .subject = "we\"ird\\\n",
      .issued_at = std::chrono::sys_seconds(std::chrono::seconds(10)),
      .expires_at = std::chrono::sys_seconds(std::chrono::seconds(20)),
      .scope = {}};
  const std::string jwt = ks::make_unsecured_jwt(claims);
  const auto first_dot = jwt.find('.');
  const auto second_dot = jwt.find('.', first_dot + 1);
  ASSERT_NE(second_dot, std::string::npos);
  EXPECT_EQ(second_dot, jwt.size() - 1);  // empty signature
  EXPECT_EQ(decode_base64url(jwt.substr(0, first_dot)), R"({"alg":"none"})");
  EXPECT_EQ(decode_base64url(jwt.substr(first_dot + 1, second_dot - first_dot - 1)),
            R"({"sub":"we\"ird\\\u000a","iat":10,"exp":20})");
  std::vector<std::uint8_t> out;
  EXPECT_FALSE(ks::oauthbearer_client(jwt).initial_response(out));
}
