// libFuzzer: the sasl.jaas.config parser (client/src/core/jaas.cpp) fed
//   1. the input as a whole configuration: it parses or says why, and a failure leaves the
//      caller's login as it was;
//   2. the input as a quoted password, escaped as Java's ConfigFile reads it: it comes back
//      byte for byte (an empty one is refused);
//   3. the input after a password option, as further options: a failure never shows the
//      password (messages name options, never values).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "kwire/client/jaas.hpp"

namespace kc = kwire::client;

namespace {

std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  kc::jaas_login login;
  login.username = "unchanged";
  if (kc::parse_jaas_config(input, login) && login.username != "unchanged") std::abort();

  const std::string plain =
      "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" "
      "password=" +
      quoted(input) + ";";
  kc::jaas_login parsed;
  const auto error = kc::parse_jaas_config(plain, parsed);
  if (input.empty() != error.has_value()) std::abort();
  if (!error && (parsed.password != input || parsed.username != "u")) std::abort();

  // '#' and '!' are not word characters, so no option name can carry the secret.
  constexpr std::string_view secret = "p@ss#w0rd!";
  const std::string scram =
      "org.apache.kafka.common.security.scram.ScramLoginModule required password=\"" +
      std::string(secret) + "\" " + std::string(input);
  kc::jaas_login other;
  if (auto why = kc::parse_jaas_config(scram, other); why && why->find(secret) != std::string::npos)
    std::abort();
  return 0;
}
