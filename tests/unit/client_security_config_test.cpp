// security.protocol, ssl.* and sasl.* parsing, and sasl.jaas.config (kwire/client/jaas.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/jaas.hpp"

namespace kc = kwire::client;

namespace {

constexpr const char* kPassword = "s3cr3t-Passw0rd";

const std::string plain_jaas = std::string(
                                   "org.apache.kafka.common.security.plain.PlainLoginModule "
                                   "required username=\"alice\" password=\"") +
                               kPassword + "\";";
const std::string scram_jaas = std::string(
                                   "org.apache.kafka.common.security.scram.ScramLoginModule "
                                   "required username=\"alice\" password=\"") +
                               kPassword + "\";";

kc::properties with_bootstrap(kc::properties extra) {
  extra.insert(extra.begin(), {"bootstrap.servers", "localhost:9092"});
  return extra;
}

std::optional<kc::config_error> parse(const kc::properties& given, kc::producer_config& out) {
  return kc::parse_producer_config(with_bootstrap(given), out);
}

}  // namespace

TEST(SecurityConfig, DefaultsAreJavasExceptThePemStores) {
  kc::producer_config config;
  ASSERT_FALSE(parse({}, config));
  EXPECT_EQ(config.ssl_endpoint_identification_algorithm, "https");
  EXPECT_EQ(config.ssl_enabled_protocols, (std::vector<std::string>{"TLSv1.2", "TLSv1.3"}));
  EXPECT_EQ(config.ssl_protocol, kc::ssl_protocol_version::tls_1_3);
  EXPECT_EQ(config.sasl_mechanism_type, kc::sasl_mechanism::gssapi);
  EXPECT_FALSE(config.ssl_truststore_location);
  EXPECT_EQ(config.ssl_truststore_type, kc::ssl_store_type::pem);
}

TEST(SecurityConfig, SslTakesTheJavaProperties) {
  kc::producer_config config;
  const auto error = parse({{"security.protocol", "SSL"},
                            {"ssl.truststore.location", "/ca.pem"},
                            {"ssl.truststore.type", "PEM"},
                            {"ssl.keystore.location", "/client.pem"},
                            {"ssl.keystore.type", "PEM"},
                            {"ssl.key.password", kPassword},
                            {"ssl.enabled.protocols", "TLSv1.3"},
                            {"ssl.protocol", "TLSv1.3"},
                            {"ssl.cipher.suites", "TLS_AES_128_GCM_SHA256"}},
                           config);
  ASSERT_FALSE(error) << error->message;
  EXPECT_EQ(config.security, kc::security_protocol::ssl);
  EXPECT_EQ(config.ssl_truststore_location, "/ca.pem");
  EXPECT_EQ(config.ssl_keystore_location, "/client.pem");
  EXPECT_EQ(config.ssl_key_password, kPassword);
  EXPECT_EQ(config.ssl_enabled_protocols, std::vector<std::string>{"TLSv1.3"});
  EXPECT_EQ(config.ssl_cipher_suites, std::vector<std::string>{"TLS_AES_128_GCM_SHA256"});
  EXPECT_TRUE(config.warnings.empty());
}

TEST(SecurityConfig, InvalidSslValuesNameTheKey) {
  kc::producer_config config;
  auto error = parse({{"ssl.truststore.type", "JKS"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "ssl.truststore.type");
  EXPECT_EQ(error->message, R"(ssl.truststore.type: "JKS" is not one of PEM)");
  error = parse({{"ssl.enabled.protocols", "TLSv1.1,TLSv1.2"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "ssl.enabled.protocols");
  EXPECT_NE(error->message.find("\"TLSv1.1\" is not one of TLSv1.2, TLSv1.3"), std::string::npos);
  error = parse({{"ssl.endpoint.identification.algorithm", "ldaps"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "ssl.endpoint.identification.algorithm");
  error = parse({{"ssl.key.password", kPassword}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "ssl.key.password");
  EXPECT_EQ(error->message.find(kPassword), std::string::npos);
}

TEST(SecurityConfig, AnEmptyEndpointAlgorithmWarnsLoudly) {
  kc::producer_config config;
  ASSERT_FALSE(
      parse({{"security.protocol", "SSL"}, {"ssl.endpoint.identification.algorithm", ""}}, config));
  EXPECT_EQ(config.ssl_endpoint_identification_algorithm, "");
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_NE(config.warnings[0].find("not checked against the host"), std::string::npos);
}

TEST(SecurityConfig, SaslNeedsAMechanismKwireHasAndMatchingCredentials) {
  kc::producer_config config;
  auto error = parse({{"security.protocol", "SASL_SSL"}, {"sasl.jaas.config", plain_jaas}}, config);
  ASSERT_FALSE(error) << error->message;  // GSSAPI, the default, which ignores sasl.jaas.config
  EXPECT_EQ(config.sasl_mechanism_type, kc::sasl_mechanism::gssapi);
  ASSERT_EQ(config.warnings.size(), 1u);
  EXPECT_NE(config.warnings[0].find("sasl.jaas.config is ignored with sasl.mechanism GSSAPI (the "
                                    "default"),
            std::string::npos);
  error = parse({{"security.protocol", "SASL_SSL"}, {"sasl.kerberos.service.name", ""}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "sasl.kerberos.service.name");
  error = parse({{"security.protocol", "SASL_PLAINTEXT"}, {"sasl.mechanism", "PLAIN"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "sasl.jaas.config");
  EXPECT_NE(error->message.find("is required"), std::string::npos);
  error = parse({{"security.protocol", "SASL_PLAINTEXT"},
                 {"sasl.mechanism", "SCRAM-SHA-256"},
                 {"sasl.jaas.config", plain_jaas}},
                config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "sasl.jaas.config");
  EXPECT_NE(error->message.find("does not go with sasl.mechanism SCRAM-SHA-256"),
            std::string::npos);
  EXPECT_EQ(error->message.find(kPassword), std::string::npos);
  error = parse({{"sasl.mechanism", "scram-sha-256"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "sasl.mechanism");
  for (const auto& [mechanism, jaas] :
       {std::pair{"PLAIN", plain_jaas}, std::pair{"SCRAM-SHA-256", scram_jaas},
        std::pair{"SCRAM-SHA-512", scram_jaas}}) {
    SCOPED_TRACE(mechanism);
    const auto ok = parse({{"security.protocol", "SASL_SSL"},
                           {"sasl.mechanism", mechanism},
                           {"sasl.jaas.config", jaas}},
                          config);
    EXPECT_FALSE(ok) << ok->message;
  }
}

TEST(SecurityConfig, SecretsAreNeverRendered) {
  kc::producer_config config;
  ASSERT_FALSE(parse({{"security.protocol", "SASL_SSL"},
                      {"sasl.mechanism", "PLAIN"},
                      {"sasl.jaas.config", plain_jaas},
                      {"ssl.keystore.location", "/k.pem"},
                      {"ssl.key.password", kPassword}},
                     config));
  for (const auto& [key, value] : kc::to_properties(config)) {
    EXPECT_EQ(value.find(kPassword), std::string::npos) << key;
    if (key == "sasl.jaas.config" || key == "ssl.key.password") {
      EXPECT_EQ(value, "[hidden]");
    }
  }
}

TEST(Jaas, PlainAndScram) {
  kc::jaas_login login;
  ASSERT_FALSE(kc::parse_jaas_config(plain_jaas, login));
  EXPECT_EQ(login.module, kc::jaas_login_module::plain);
  EXPECT_EQ(login.username, "alice");
  EXPECT_EQ(login.password, kPassword);
  ASSERT_FALSE(kc::parse_jaas_config(
      "org.apache.kafka.common.security.scram.ScramLoginModule required\n"
      "  username=bob password=\"a \\\"quoted\\\" \\\\ pass;word\" tokenauth=true;",
      login));
  EXPECT_EQ(login.module, kc::jaas_login_module::scram);
  EXPECT_EQ(login.username, "bob");
  EXPECT_EQ(login.password, "a \"quoted\" \\ pass;word");
  EXPECT_TRUE(login.token_auth);
}

TEST(Jaas, OAuthBearerUnsecuredOptions) {
  kc::jaas_login login;
  ASSERT_FALSE(kc::parse_jaas_config(
      "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
      "unsecuredLoginStringClaim_sub=\"alice\" unsecuredLoginListClaim_scope=\",read,write\" "
      "unsecuredLoginLifetimeSeconds=\"60\" unsecuredLoginExtension_traceId=\"t1\";",
      login));
  EXPECT_EQ(login.module, kc::jaas_login_module::oauthbearer);
  EXPECT_EQ(login.subject, "alice");
  EXPECT_EQ(login.scope, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(login.lifetime, std::chrono::seconds(60));
  ASSERT_EQ(login.extensions.size(), 1u);
  EXPECT_EQ(login.extensions[0], (std::pair<std::string, std::string>{"traceId", "t1"}));
}

TEST(Jaas, ErrorsNameTheOptionNeverTheValue) {
  const std::string module = "org.apache.kafka.common.security.plain.PlainLoginModule";
  const struct {
    std::string text;
    std::string expected;
  } cases[] = {
      {"", "does not start with a login module class"},
      {"com.example.Login required;", "login module com.example.Login is not one kwire has"},
      {module + " username=\"a\" password=\"" + kPassword + "\";", "control flag"},
      {module + " required username=\"a\" pasword=\"" + kPassword + "\";", "option pasword"},
      {module + " required username=\"a\" password=\"" + kPassword + "\"", "does not end with ';'"},
      {module + " required username=\"a\" password=\"" + kPassword, "unterminated quote"},
      {module + " required username=\"a\";", "needs a non-empty password option"},
      {module + " required password=\"" + kPassword + "\";", "needs a non-empty username"},
      {module + " required username=\"a\" username=\"b\" password=\"" + kPassword + "\";",
       "option username is given twice"},
      {module + " required username=\"a\" password=\"" + kPassword + "\"; " + module + " required;",
       "more than one login module"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    kc::jaas_login login;
    const auto error = kc::parse_jaas_config(c.text, login);
    ASSERT_TRUE(error);
    EXPECT_NE(error->find(c.expected), std::string::npos) << *error;
    EXPECT_EQ(error->find(kPassword), std::string::npos) << *error;
  }
}

// cluster_options_for() builds the OpenSSL context once; what cannot work names its property.
TEST(SecurityConfig, TheTlsContextRefusesWhatCannotWork) {
  const auto message_of = [](const kc::properties& given) -> std::string {
    kc::producer_config config;
    const auto error = kc::parse_producer_config(with_bootstrap(given), config);
    if (error) return "parse: " + error->message;
    try {
      (void)kc::cluster_options_for(config);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message_of({{"security.protocol", "SSL"}}), "");  // the system trust store
  EXPECT_EQ(message_of({{"security.protocol", "SSL"},
                        {"ssl.cipher.suites",
                         "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,ECDHE-ECDSA-AES256-GCM-SHA384,"
                         "TLS_AES_256_GCM_SHA384"}}),
            "");  // IANA and OpenSSL names, TLS 1.2 and 1.3
  EXPECT_EQ(message_of({{"security.protocol", "SSL"}, {"ssl.cipher.suites", "TLS_NO_SUCH_SUITE"}}),
            R"(ssl.cipher.suites: "TLS_NO_SUCH_SUITE" is not a cipher suite this OpenSSL knows)");
  EXPECT_EQ(message_of({{"security.protocol", "SSL"},
                        {"ssl.enabled.protocols", "TLSv1.3"},
                        {"ssl.protocol", "TLSv1.2"}}),
            "ssl.protocol: TLSv1.2 is below every version ssl.enabled.protocols allows");
  EXPECT_EQ(message_of(
                {{"security.protocol", "SSL"}, {"ssl.truststore.location", "/nonexistent/ca.pem"}}),
            "ssl.truststore.location: cannot read /nonexistent/ca.pem: No such file or directory");
  EXPECT_EQ(message_of({{"security.protocol", "SSL"}, {"ssl.keystore.location", "/nonexistent/k"}}),
            "ssl.keystore.location: cannot read /nonexistent/k: No such file or directory");
}
