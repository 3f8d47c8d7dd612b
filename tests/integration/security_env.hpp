// The lines `kafka-local.sh up --security` prints (ssl=, sasl_plaintext=, user=, ...), from the
// file a cli_*.sh test saved them in and names in KWIRE_SECURITY_ENV.
#pragma once

#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"

namespace kwire::test {

inline std::map<std::string, std::string> read_security_env(const char* path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// The connection options of a PLAIN login over SASL_PLAINTEXT at `address` (sasl_plaintext=);
// nullopt when the configuration is refused.
inline std::optional<client::connection_options> sasl_plain_options(const std::string& address,
                                                                    const std::string& user,
                                                                    const std::string& password) {
  client::common_config config;
  const auto jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" +
                    user + "\" password=\"" + password + "\";";
  if (client::parse_common_config({{"bootstrap.servers", address},
                                   {"security.protocol", "SASL_PLAINTEXT"},
                                   {"sasl.mechanism", "PLAIN"},
                                   {"sasl.jaas.config", jaas}},
                                  config))
    return std::nullopt;
  return client::cluster_options_for(config).connection;
}

}  // namespace kwire::test
