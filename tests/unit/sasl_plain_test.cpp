#include "kwire/security/plain.hpp"

#include <gtest/gtest.h>

#include <string>

#include "kwire/security/base64.hpp"
#include "kwire/security/error.hpp"

namespace ks = kwire::security;
using namespace std::string_literals;

namespace {

std::string as_string(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }
std::vector<std::uint8_t> as_bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST(SaslPlain, InitialResponseIsEmptyAuthzidUserAndPassword) {
  ks::plain_client plain("alice", "s3cret");
  EXPECT_EQ(plain.name(), "PLAIN");
  std::vector<std::uint8_t> out;
  ASSERT_FALSE(plain.initial_response(out));
  EXPECT_EQ(as_string(out), "\0alice\0s3cret"s);
  EXPECT_FALSE(plain.is_complete());
  ASSERT_FALSE(plain.evaluate_challenge({}, out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(plain.is_complete());
}

TEST(SaslPlain, RejectsNulAndEmptyCredentials) {
  std::vector<std::uint8_t> out;
  EXPECT_EQ(ks::plain_client("a\0b"s, "p").initial_response(out), ks::errc::invalid_username);
  EXPECT_EQ(ks::plain_client("", "p").initial_response(out), ks::errc::invalid_username);
  EXPECT_EQ(ks::plain_client("a", "p\0q"s).initial_response(out), ks::errc::invalid_password);
  EXPECT_EQ(ks::plain_client("a", "").initial_response(out), ks::errc::invalid_password);
  EXPECT_TRUE(out.empty());
}

TEST(SaslPlain, StepsOutOfOrderAndUnexpectedServerBytesFail) {
  std::vector<std::uint8_t> out;
  ks::plain_client early("a", "p");
  EXPECT_EQ(early.evaluate_challenge({}, out), ks::errc::out_of_order);

  ks::plain_client twice("a", "p");
  ASSERT_FALSE(twice.initial_response(out));
  EXPECT_EQ(twice.initial_response(out), ks::errc::out_of_order);
  EXPECT_TRUE(out.empty());

  ks::plain_client chatty("a", "p");
  ASSERT_FALSE(chatty.initial_response(out));
  EXPECT_EQ(chatty.evaluate_challenge(as_bytes("?"), out), ks::errc::malformed_server_message);
  EXPECT_EQ(chatty.evaluate_challenge({}, out), ks::errc::out_of_order);  // finished after an error
  EXPECT_FALSE(chatty.is_complete());
}

TEST(SecurityErrors, CategoryAndMessagesCarryNoCredential) {
  const std::error_code ec = ks::errc::invalid_password;
  EXPECT_STREQ(ec.category().name(), "kwire.security");
  EXPECT_EQ(ec.message(), "SASL password is empty or contains a NUL byte");
  for (int value = 1; value <= static_cast<int>(ks::errc::crypto_failure); ++value)
    EXPECT_EQ(ks::security_category().message(value).find("unknown"), std::string::npos) << value;
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(ks::base64_encode(as_bytes(plain)), encoded);
    std::vector<std::uint8_t> decoded;
    ASSERT_TRUE(ks::base64_decode(encoded, decoded)) << encoded;
    EXPECT_EQ(as_string(decoded), plain);
  }
  EXPECT_EQ(ks::base64url_encode_unpadded(std::vector<std::uint8_t>{0xfb, 0xff}), "-_8");
}

TEST(Base64, StrictDecodingRejectsEverythingNonCanonical) {
  std::vector<std::uint8_t> out;
  for (std::string_view bad : {"Zg", "Zg=", "Zg=a", "Z===", "====", "Zm9v\n", "Zm 9", "Zh==", "Zm9=",
                               "Zg==Zg==", "Zm-v", "Zm_v"}) {
    EXPECT_FALSE(ks::base64_decode(bad, out)) << bad;
    EXPECT_TRUE(out.empty());
  }
}
