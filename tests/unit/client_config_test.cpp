#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"
#include "kwire/protocol/compression.hpp"

namespace kc = kwire::client;
using std::chrono::milliseconds;

namespace {

// The producer properties with bootstrap.servers added, so each test names only its subject.
kc::properties with_bootstrap(kc::properties extra) {
  extra.insert(extra.begin(), {"bootstrap.servers", "localhost:9092"});
  return extra;
}

kc::producer_config parse_ok(const kc::properties& given) {
  kc::producer_config config;
  const auto error = kc::parse_producer_config(given, config);
  EXPECT_FALSE(error) << error->message;
  return config;
}

// The message of the error parsing `given` as a producer config gives ("" when none), and
// checks that the error names `key`.
std::string producer_error(const kc::properties& given, const std::string& key) {
  kc::producer_config config;
  const auto error = kc::parse_producer_config(given, config);
  if (!error) {
    ADD_FAILURE() << "no error, expected one for " << key;
    return "";
  }
  EXPECT_EQ(error->key, key);
  return error->message;
}

bool has_warning_containing(const kc::common_config& config, const std::string& text) {
  return std::ranges::any_of(config.warnings, [&](const std::string& warning) {
    return warning.find(text) != std::string::npos;
  });
}

}  // namespace

TEST(ClientConfig, DefaultsAreTheJavaProducerDefaults) {
  const kc::producer_config config = parse_ok({{"bootstrap.servers", "localhost:9092"}});
  ASSERT_EQ(config.bootstrap_servers.size(), 1u);
  EXPECT_EQ(config.bootstrap_servers[0], (kc::broker_address{"localhost", 9092}));
  EXPECT_EQ(config.client_id, "kwire");
  EXPECT_EQ(config.request_timeout, milliseconds(30000));
  EXPECT_EQ(config.retry_backoff, milliseconds(100));
  EXPECT_EQ(config.retry_backoff_max, milliseconds(1000));
  EXPECT_EQ(config.reconnect_backoff, milliseconds(50));
  EXPECT_EQ(config.reconnect_backoff_max, milliseconds(1000));
  EXPECT_EQ(config.socket_connection_setup_timeout, milliseconds(10000));
  EXPECT_EQ(config.socket_connection_setup_timeout_max, milliseconds(30000));
  EXPECT_EQ(config.connections_max_idle, milliseconds(540000));
  EXPECT_EQ(config.metadata_max_age, milliseconds(300000));
  EXPECT_EQ(config.send_buffer_bytes, 131072);
  EXPECT_EQ(config.receive_buffer_bytes, 32768);
  EXPECT_EQ(config.client_dns_lookup, kc::dns_lookup::use_all_dns_ips);
  EXPECT_EQ(config.security, kc::security_protocol::plaintext);

  EXPECT_EQ(config.acks, kc::required_acks::all);
  EXPECT_EQ(config.linger, milliseconds(5));
  EXPECT_EQ(config.batch_size, 1000000);  // deliberately not Java's 16384 (README)
  EXPECT_EQ(config.buffer_memory, 33554432);
  EXPECT_EQ(config.compression_type, kwire::protocol::compression::none);
  EXPECT_EQ(config.compression_gzip_level, -1);
  EXPECT_EQ(config.compression_lz4_level, 1);  // deliberately not Java's 9 (see config.cpp)
  EXPECT_EQ(config.compression_zstd_level, 3);
  EXPECT_EQ(config.max_block, milliseconds(60000));
  EXPECT_EQ(config.delivery_timeout, milliseconds(120000));
  EXPECT_EQ(config.retries, 2147483647);
  EXPECT_EQ(config.max_in_flight_requests_per_connection, 5);
  EXPECT_TRUE(config.enable_idempotence);
  EXPECT_EQ(config.max_request_size, 1048576);
  EXPECT_FALSE(config.partitioner_ignore_keys);
  EXPECT_FALSE(config.transactional_id);
  EXPECT_EQ(config.transaction_timeout, milliseconds(60000));
  EXPECT_TRUE(config.warnings.empty());
  EXPECT_TRUE(config.idempotence_disabled_reason.empty());
  // Parsing only bootstrap.servers is the same as the struct's own defaults.
  kc::producer_config defaults;
  defaults.bootstrap_servers = config.bootstrap_servers;
  EXPECT_EQ(config, defaults);
}

TEST(ClientConfig, DescribeListsEveryProducerPropertyWithItsDefault) {
  const std::vector<std::string> expected{"bootstrap.servers",
                                          "client.id",
                                          "request.timeout.ms",
                                          "retry.backoff.ms",
                                          "retry.backoff.max.ms",
                                          "reconnect.backoff.ms",
                                          "reconnect.backoff.max.ms",
                                          "socket.connection.setup.timeout.ms",
                                          "socket.connection.setup.timeout.max.ms",
                                          "connections.max.idle.ms",
                                          "metadata.max.age.ms",
                                          "send.buffer.bytes",
                                          "receive.buffer.bytes",
                                          "client.dns.lookup",
                                          "security.protocol",
                                          "ssl.truststore.location",
                                          "ssl.truststore.type",
                                          "ssl.keystore.location",
                                          "ssl.keystore.type",
                                          "ssl.key.password",
                                          "ssl.endpoint.identification.algorithm",
                                          "ssl.protocol",
                                          "ssl.enabled.protocols",
                                          "ssl.cipher.suites",
                                          "sasl.mechanism",
                                          "sasl.jaas.config",
                                          "sasl.kerberos.service.name",
                                          "sasl.kerberos.principal",
                                          "sasl.kerberos.keytab",
                                          "sasl.kerberos.kinit.cmd",
                                          "sasl.kerberos.min.time.before.relogin",
                                          "acks",
                                          "linger.ms",
                                          "batch.size",
                                          "buffer.memory",
                                          "compression.type",
                                          "compression.gzip.level",
                                          "compression.lz4.level",
                                          "compression.zstd.level",
                                          "max.block.ms",
                                          "delivery.timeout.ms",
                                          "retries",
                                          "max.in.flight.requests.per.connection",
                                          "enable.idempotence",
                                          "max.request.size",
                                          "partitioner.ignore.keys",
                                          "transactional.id",
                                          "transaction.timeout.ms",
                                          "transaction.warn.percent"};
  const auto described = kc::describe_producer_config();
  std::vector<std::string> names;
  for (const auto& p : described) {
    names.emplace_back(p.name);
    EXPECT_FALSE(p.doc.empty()) << p.name;
    EXPECT_FALSE(p.type.empty()) << p.name;
    EXPECT_FALSE(p.allowed.empty()) << p.name;
    // Every default is accepted by the parser (it is rendered from the struct's defaults).
    if (p.default_value && p.name != "bootstrap.servers") {
      kc::producer_config config;
      EXPECT_FALSE(kc::parse_producer_config(
          with_bootstrap({{std::string(p.name), *p.default_value}}), config))
          << p.name;
    }
  }
  EXPECT_EQ(names, expected);

  auto find = [&](std::string_view name) {
    return *std::ranges::find(described, name, &kc::property_description::name);
  };
  EXPECT_TRUE(find("bootstrap.servers").required);
  EXPECT_FALSE(find("bootstrap.servers").default_value);
  EXPECT_FALSE(find("transactional.id").default_value);
  EXPECT_FALSE(find("transactional.id").required);
  EXPECT_EQ(find("acks").default_value, "all");
  EXPECT_EQ(find("acks").allowed, "all, -1, 0, 1");
  EXPECT_EQ(find("linger.ms").default_value, "5");
  EXPECT_EQ(find("linger.ms").type, "ms");
  EXPECT_EQ(find("batch.size").allowed, "[0, 2147483647]");
  EXPECT_EQ(find("compression.gzip.level").allowed, "[1, 9] or -1 (zlib's default level)");
  EXPECT_EQ(find("security.protocol").default_value, "PLAINTEXT");
  EXPECT_EQ(find("security.protocol").allowed,
            "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (in any case)");
  EXPECT_EQ(find("enable.idempotence").default_value, "true");
  EXPECT_EQ(find("retries").default_value, "2147483647");

  // The common properties are the producer's first ones, in the same order.
  const auto common = kc::describe_common_config();
  ASSERT_EQ(common.size(), 31u);
  for (std::size_t i = 0; i < common.size(); ++i) EXPECT_EQ(common[i].name, expected[i]);
}

TEST(ClientConfig, ValuesAreTrimmedAndParsedAsJavaParsesThem) {
  const auto config = parse_ok(with_bootstrap({{"batch.size", " 1000 "},
                                               {"max.request.size", "+7"},
                                               {"buffer.memory", "9223372036854775807"},
                                               {"send.buffer.bytes", "-1"},
                                               {"linger.ms", "250"},
                                               {"max.block.ms", "0"},
                                               {"connections.max.idle.ms", "-1"},
                                               {"transaction.timeout.ms", "900000"},
                                               {"compression.gzip.level", "-1"},
                                               {"compression.lz4.level", "17"},
                                               {"compression.zstd.level", "-131072"},
                                               {"partitioner.ignore.keys", " TRUE"},
                                               {"enable.idempotence", "True"},
                                               {"client.id", "  billing "},
                                               {"transactional.id", " tx-1 "},
                                               {"acks", "-1"},
                                               {"compression.type", "zstd"},
                                               {"security.protocol", " plaintext "}}));
  EXPECT_EQ(config.batch_size, 1000);
  EXPECT_EQ(config.max_request_size, 7);
  EXPECT_EQ(config.buffer_memory, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(config.send_buffer_bytes, -1);
  EXPECT_EQ(config.linger, milliseconds(250));
  EXPECT_EQ(config.max_block, milliseconds(0));
  EXPECT_EQ(config.connections_max_idle, milliseconds(-1));
  EXPECT_EQ(config.transaction_timeout, milliseconds(900000));
  EXPECT_EQ(config.compression_gzip_level, -1);
  EXPECT_EQ(config.compression_lz4_level, 17);
  EXPECT_EQ(config.compression_zstd_level, -131072);
  EXPECT_TRUE(config.partitioner_ignore_keys);
  EXPECT_TRUE(config.enable_idempotence);
  EXPECT_EQ(config.client_id, "billing");
  EXPECT_EQ(config.transactional_id, "tx-1");
  EXPECT_EQ(config.acks, kc::required_acks::all);
  EXPECT_EQ(config.compression_type, kwire::protocol::compression::zstd);
  EXPECT_EQ(config.security, kc::security_protocol::plaintext);

  EXPECT_EQ(parse_ok(with_bootstrap({{"client.id", ""}})).client_id, "");
  EXPECT_FALSE(parse_ok(with_bootstrap({{"enable.idempotence", "FALSE"}})).enable_idempotence);
  EXPECT_EQ(parse_ok(with_bootstrap({{"acks", "1"}})).acks, kc::required_acks::leader);
  EXPECT_EQ(parse_ok(with_bootstrap({{"acks", "0"}})).acks, kc::required_acks::none);
  EXPECT_EQ(parse_ok(with_bootstrap({{"security.protocol", "PlainText"}})).security,
            kc::security_protocol::plaintext);
  EXPECT_EQ(
      parse_ok(with_bootstrap({{"client.dns.lookup", "resolve_canonical_bootstrap_servers_only"}}))
          .client_dns_lookup,
      kc::dns_lookup::resolve_canonical_bootstrap_servers_only);
  // The compression names are the protocol layer's codec names.
  for (const char* name : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    EXPECT_EQ(parse_ok(with_bootstrap({{"compression.type", name}})).compression_type,
              kwire::protocol::parse_compression(name))
        << name;
  }
}

TEST(ClientConfig, BadValuesNameTheKeyWhatWasGivenAndWhatIsAllowed) {
  struct bad_value {
    std::string key;
    std::string value;
    std::string message;
  };
  const std::vector<bad_value> cases{
      // Integers: Integer.parseInt / Long.parseLong syntax, then the range.
      {"linger.ms", "abc", R"(linger.ms: "abc" is not an integer)"},
      {"batch.size", "", R"(batch.size: "" is not an integer)"},
      {"batch.size", "1.5", R"(batch.size: "1.5" is not an integer)"},
      {"batch.size", "0x10", R"(batch.size: "0x10" is not an integer)"},
      {"batch.size", "+-1", R"(batch.size: "+-1" is not an integer)"},
      {"batch.size", "1 000", R"(batch.size: "1 000" is not an integer)"},
      {"retry.backoff.ms", "1s", R"(retry.backoff.ms: "1s" is not an integer)"},
      {"batch.size", "-1", "batch.size: -1 is out of range [0, 2147483647]"},
      {"batch.size", "2147483648", "batch.size: 2147483648 is out of range [0, 2147483647]"},
      {"max.in.flight.requests.per.connection", "0",
       "max.in.flight.requests.per.connection: 0 is out of range [1, 2147483647]"},
      {"buffer.memory", "99999999999999999999",
       "buffer.memory: 99999999999999999999 is out of range [0, 9223372036854775807]"},
      {"buffer.memory", "99999999999999999999x",
       R"(buffer.memory: "99999999999999999999x" is not an integer)"},
      {"receive.buffer.bytes", "-2", "receive.buffer.bytes: -2 is out of range [-1, 2147483647]"},
      // Durations: request.timeout.ms is a Java INT, so at most 2^31-1.
      {"request.timeout.ms", "-5", "request.timeout.ms: -5 is out of range [0, 2147483647]"},
      {"request.timeout.ms", "3000000000",
       "request.timeout.ms: 3000000000 is out of range [0, 2147483647]"},
      {"transaction.timeout.ms", "0", "transaction.timeout.ms: 0 is out of range [1, 2147483647]"},
      // Each codec's levels.
      {"compression.gzip.level", "0",
       "compression.gzip.level: 0 is out of range [1, 9] or -1 (zlib's default level)"},
      {"compression.gzip.level", "10",
       "compression.gzip.level: 10 is out of range [1, 9] or -1 (zlib's default level)"},
      {"compression.lz4.level", "18", "compression.lz4.level: 18 is out of range [1, 17]"},
      {"compression.lz4.level", "-1", "compression.lz4.level: -1 is out of range [1, 17]"},
      {"compression.zstd.level", "23", "compression.zstd.level: 23 is out of range [-131072, 22]"},
      {"compression.zstd.level", "-131073",
       "compression.zstd.level: -131073 is out of range [-131072, 22]"},
      // Booleans.
      {"enable.idempotence", "yes",
       R"(enable.idempotence: "yes" is not a boolean (true or false))"},
      {"partitioner.ignore.keys", "1",
       R"(partitioner.ignore.keys: "1" is not a boolean (true or false))"},
      // Strings.
      {"client.id", std::string(32768, 'x'),
       "client.id: 32768 bytes is longer than the 32767 allowed"},
      {"transactional.id", "  ", "transactional.id: is empty (leave the property out to unset it)"},
      // Enums: exact where Java uses ValidString, any case for security.protocol.
      {"acks", "2", R"(acks: "2" is not one of all, -1, 0, 1)"},
      {"acks", "ALL", R"(acks: "ALL" is not one of all, -1, 0, 1)"},
      {"compression.type", "GZIP",
       R"(compression.type: "GZIP" is not one of none, gzip, snappy, lz4, zstd)"},
      {"security.protocol", "TLS",
       R"(security.protocol: "TLS" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (in any case))"},
      {"client.dns.lookup", "default",
       R"(client.dns.lookup: "default" is not one of use_all_dns_ips, resolve_canonical_bootstrap_servers_only)"},
      // bootstrap.servers: a bad entry names itself.
      {"bootstrap.servers", " ", "bootstrap.servers: is empty (give host:port[,host:port...])"},
      {"bootstrap.servers", "a:1,,b:2", R"(bootstrap.servers: "a:1,,b:2" has an empty entry)"},
      {"bootstrap.servers", "a:1,", R"(bootstrap.servers: "a:1," has an empty entry)"},
      {"bootstrap.servers", "a:1,kafka",
       R"(bootstrap.servers: "kafka" has no port (write host:port))"},
      {"bootstrap.servers", "kafka:0",
       R"(bootstrap.servers: "kafka:0" has port "0", not a number in [1, 65535])"},
      {"bootstrap.servers", "kafka:65536",
       R"(bootstrap.servers: "kafka:65536" has port "65536", not a number in [1, 65535])"},
      {"bootstrap.servers", "kafka:x",
       R"(bootstrap.servers: "kafka:x" has port "x", not a number in [1, 65535])"},
      {"bootstrap.servers",
       "kafka:", R"(bootstrap.servers: "kafka:" has port "", not a number in [1, 65535])"},
      {"bootstrap.servers", ":9092",
       R"(bootstrap.servers: ":9092" does not start with a host name or address)"},
      {"bootstrap.servers", "ka fka:9092",
       R"(bootstrap.servers: "ka fka:9092" does not start with a host name or address)"},
      {"bootstrap.servers", "::1:9092",
       R"(bootstrap.servers: "::1:9092" is ambiguous (write an IPv6 address in brackets, as [::1]:9092))"},
      {"bootstrap.servers", "[::1]9092", R"(bootstrap.servers: "[::1]9092" is not [address]:port)"},
      {"bootstrap.servers", "[::1:9092", R"(bootstrap.servers: "[::1:9092" is not [address]:port)"},
      {"bootstrap.servers", "[kafka]:9092",
       R"(bootstrap.servers: "[kafka]:9092" does not hold an IPv6 address in brackets)"},
      {"bootstrap.servers", "a:1, a:1", R"(bootstrap.servers: "a:1" is listed twice)"},
  };
  for (const bad_value& bad : cases) {
    // with_bootstrap puts a good bootstrap.servers first; a bad one given later wins.
    EXPECT_EQ(producer_error(with_bootstrap({{bad.key, bad.value}}), bad.key), bad.message)
        << bad.key << "=" << bad.value;
  }
}

TEST(ClientConfig, BootstrapServersAreHostPortListsWithBracketedIpv6) {
  const auto config = parse_ok({{"bootstrap.servers",
                                 " broker-1.example.com:9092 , 10.0.0.7:19092,[::1]:9093,"
                                 "[fe80::1%eth0]:9094"}});
  const std::vector<kc::broker_address> expected{
      {"broker-1.example.com", 9092}, {"10.0.0.7", 19092}, {"::1", 9093}, {"fe80::1%eth0", 9094}};
  EXPECT_EQ(config.bootstrap_servers, expected);
  EXPECT_EQ(kc::to_string(expected[2]), "[::1]:9093");
  EXPECT_EQ(kc::to_string(expected[0]), "broker-1.example.com:9092");
}

TEST(ClientConfig, UnknownKeysAreErrorsWithASuggestion) {
  EXPECT_EQ(producer_error(with_bootstrap({{"linger_ms", "5"}}), "linger_ms"),
            R"(unknown property "linger_ms" (did you mean "linger.ms"?))");
  EXPECT_EQ(producer_error(with_bootstrap({{"Batch.Size", "5"}}), "Batch.Size"),
            R"(unknown property "Batch.Size" (did you mean "batch.size"?))");
  EXPECT_EQ(producer_error(with_bootstrap({{"lingr.ms", "5"}}), "lingr.ms"),
            R"(unknown property "lingr.ms" (did you mean "linger.ms"?))");
  EXPECT_EQ(producer_error(with_bootstrap({{"bootstrap.server", "a:1"}}), "bootstrap.server"),
            R"(unknown property "bootstrap.server" (did you mean "bootstrap.servers"?))");
  EXPECT_EQ(producer_error(with_bootstrap({{"compression", "gzip"}}), "compression"),
            R"(unknown property "compression")");
  EXPECT_EQ(producer_error(with_bootstrap({{"", "x"}}), ""), R"(unknown property "")");
}

TEST(ClientConfig, KeysOfAnotherKindOfClientSaySo) {
  EXPECT_EQ(producer_error(with_bootstrap({{"group.id", "g"}}), "group.id"),
            "group.id is a consumer property, not a producer property");
  EXPECT_EQ(
      producer_error(with_bootstrap({{"isolation.level", "read_committed"}}), "isolation.level"),
      "isolation.level is a consumer property, not a producer property");

  kc::common_config common;
  auto common_error = kc::parse_common_config(
      {{"bootstrap.servers", "localhost:9092"}, {"linger.ms", "5"}}, common);
  ASSERT_TRUE(common_error);
  EXPECT_EQ(common_error->key, "linger.ms");
  EXPECT_EQ(common_error->message,
            "linger.ms is a producer property, not a common client property");
  common_error = kc::parse_common_config(
      {{"bootstrap.servers", "localhost:9092"}, {"auto.offset.reset", "earliest"}}, common);
  ASSERT_TRUE(common_error);
  EXPECT_EQ(common_error->message,
            "auto.offset.reset is a consumer property, not a common client property");
}

TEST(ClientConfig, KnownButUnsupportedJavaKeysSaySo) {
  EXPECT_EQ(
      producer_error(with_bootstrap({{"ssl.truststore.password", "x"}}), "ssl.truststore.password"),
      "ssl.truststore.password is not supported: kwire reads PEM trust stores, which have "
      "no password");
  EXPECT_EQ(producer_error(with_bootstrap({{"sasl.kerberos.ticket.renew.jitter", "0.05"}}),
                           "sasl.kerberos.ticket.renew.jitter"),
            "sasl.kerberos.ticket.renew.jitter is not supported (kwire's Kerberos takes "
            "sasl.kerberos.service.name, sasl.kerberos.principal, sasl.kerberos.keytab, "
            "sasl.kerberos.kinit.cmd and sasl.kerberos.min.time.before.relogin)");
  EXPECT_EQ(
      producer_error(with_bootstrap({{"key.serializer", "x.StringSerializer"}}), "key.serializer"),
      "key.serializer is not supported: kwire takes keys and values as bytes, serialize "
      "them before sending");
  EXPECT_EQ(producer_error(with_bootstrap({{"partitioner.class", "x.P"}}), "partitioner.class"),
            "partitioner.class is not supported: kwire cannot load Java classes");
  EXPECT_EQ(producer_error(with_bootstrap({{"metrics.num.samples", "2"}}), "metrics.num.samples"),
            "metrics.num.samples is not supported yet (kwire has no metrics yet)");
  EXPECT_EQ(producer_error(with_bootstrap({{"metadata.max.idle.ms", "1"}}), "metadata.max.idle.ms"),
            "metadata.max.idle.ms is not supported yet");
  // ZooKeeper-era keys (Flink's 0.8 connector took them) say why they are wrong.
  EXPECT_EQ(producer_error(with_bootstrap({{"zookeeper.connect", "localhost:2181"}}),
                           "zookeeper.connect"),
            "zookeeper.connect is a ZooKeeper-era setting: clients reach the cluster through its "
            "brokers (bootstrap.servers), and Kafka 4.0 has no ZooKeeper at all");
  EXPECT_EQ(producer_error(with_bootstrap({{"auto.commit.enable", "true"}}), "auto.commit.enable"),
            "auto.commit.enable is the Kafka 0.8 consumer's name for what is enable.auto.commit "
            "now");
}

// A config built in code, without parse_*_config(), is refused where clients take it.
TEST(ClientConfig, ClusterOptionsRefuseAnUnusableSecuritySetting) {
  kc::common_config config;
  config.bootstrap_servers = {{"localhost", 9092}};
  EXPECT_NO_THROW((void)kc::cluster_options_for(config));
  config.security = kc::security_protocol::ssl;
  EXPECT_NO_THROW((void)kc::cluster_options_for(config));  // the system trust store
  config.ssl_truststore_location = "/nonexistent/ca.pem";
  EXPECT_THROW((void)kc::cluster_options_for(config), std::invalid_argument);
  // SASL with GSSAPI (the default) needs a service name, the others credentials; neither
  // ever becomes a plain connection.
  config.security = kc::security_protocol::sasl_plaintext;
  EXPECT_NO_THROW((void)kc::cluster_options_for(config));
  config.sasl_kerberos_service_name.clear();
  EXPECT_THROW((void)kc::cluster_options_for(config), std::invalid_argument);
  config.sasl_mechanism_type = kc::sasl_mechanism::plain;
  EXPECT_THROW((void)kc::cluster_options_for(config), std::invalid_argument);
}

TEST(ClientConfig, TheLastOfARepeatedKeyWins) {
  EXPECT_EQ(parse_ok(with_bootstrap({{"linger.ms", "abc"}, {"linger.ms", "7"}})).linger,
            milliseconds(7));
  EXPECT_EQ(producer_error(with_bootstrap({{"linger.ms", "7"}, {"linger.ms", "abc"}}), "linger.ms"),
            R"(linger.ms: "abc" is not an integer)");
  // A repeated key counts as given once, with its last value.
  EXPECT_EQ(
      parse_ok({{"bootstrap.servers", "a:1"}, {"bootstrap.servers", "b:2"}}).bootstrap_servers,
      (std::vector<kc::broker_address>{{"b", 2}}));
}

TEST(ClientConfig, BootstrapServersIsRequiredAndErrorsLeaveTheOutputAlone) {
  kc::producer_config config;
  config.client_id = "before";
  auto error = kc::parse_producer_config({{"linger.ms", "5"}}, config);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "bootstrap.servers");
  EXPECT_EQ(error->message, "bootstrap.servers is required");
  error =
      kc::parse_producer_config(with_bootstrap({{"client.id", "after"}, {"acks", "2"}}), config);
  ASSERT_TRUE(error);
  EXPECT_EQ(config.client_id, "before");
  kc::common_config common;
  error = kc::parse_common_config({}, common);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->key, "bootstrap.servers");
}

// ProducerConfig.postProcessAndValidateIdempotenceConfigs, case by case.
TEST(ClientConfig, IdempotenceDefaultedOnIsTurnedOffByAcksOrRetries) {
  auto config = parse_ok(with_bootstrap({{"acks", "1"}}));
  EXPECT_FALSE(config.enable_idempotence);
  EXPECT_EQ(config.idempotence_disabled_reason, "acks=1");
  EXPECT_TRUE(has_warning_containing(config, "idempotence turned off because of acks=1"));

  config = parse_ok(with_bootstrap({{"retries", "0"}, {"acks", "0"}}));
  EXPECT_FALSE(config.enable_idempotence);
  EXPECT_EQ(config.idempotence_disabled_reason, "retries=0 and acks=0");

  config = parse_ok(with_bootstrap({{"acks", "-1"}, {"retries", "3"}}));
  EXPECT_TRUE(config.enable_idempotence);
  EXPECT_TRUE(config.warnings.empty());

  // Turned off by the user: nothing to report.
  config = parse_ok(with_bootstrap({{"acks", "0"}, {"enable.idempotence", "false"}}));
  EXPECT_FALSE(config.enable_idempotence);
  EXPECT_TRUE(config.idempotence_disabled_reason.empty());
  EXPECT_TRUE(config.warnings.empty());
}

TEST(ClientConfig, IdempotenceAskedForConflictsWithAcksOrRetries) {
  EXPECT_EQ(producer_error(with_bootstrap({{"acks", "1"}, {"enable.idempotence", "true"}}), "acks"),
            "acks: 1 conflicts with enable.idempotence=true (the idempotent producer needs "
            "acks=all)");
  EXPECT_EQ(
      producer_error(with_bootstrap({{"retries", "0"}, {"enable.idempotence", "true"}}), "retries"),
      "retries: 0 conflicts with enable.idempotence=true (the idempotent producer needs "
      "retries > 0)");
  EXPECT_TRUE(parse_ok(with_bootstrap({{"acks", "all"}, {"enable.idempotence", "true"}}))
                  .enable_idempotence);
}

TEST(ClientConfig, MoreThanFiveInFlightNeedsIdempotenceTurnedOffExplicitly) {
  EXPECT_EQ(parse_ok(with_bootstrap({{"max.in.flight.requests.per.connection", "5"}}))
                .max_in_flight_requests_per_connection,
            5);
  const auto config = parse_ok(with_bootstrap(
      {{"max.in.flight.requests.per.connection", "6"}, {"enable.idempotence", "false"}}));
  EXPECT_EQ(config.max_in_flight_requests_per_connection, 6);
  EXPECT_FALSE(config.enable_idempotence);
  // Java rejects it even when idempotence is only on by default...
  EXPECT_EQ(producer_error(with_bootstrap({{"max.in.flight.requests.per.connection", "6"}}),
                           "max.in.flight.requests.per.connection"),
            "max.in.flight.requests.per.connection: 6 is above 5, the most the idempotent "
            "producer allows (idempotence is on by default); set enable.idempotence=false to "
            "allow more");
  // ... and even when acks would turn it off, since it checks before turning it off.
  producer_error(with_bootstrap({{"acks", "0"}, {"max.in.flight.requests.per.connection", "6"}}),
                 "max.in.flight.requests.per.connection");
  EXPECT_EQ(producer_error(with_bootstrap({{"max.in.flight.requests.per.connection", "6"},
                                           {"enable.idempotence", "true"}}),
                           "max.in.flight.requests.per.connection"),
            "max.in.flight.requests.per.connection: 6 is above 5, the most the idempotent "
            "producer allows; set enable.idempotence=false to allow more");
}

TEST(ClientConfig, TransactionalIdNeedsIdempotence) {
  const auto config = parse_ok(with_bootstrap({{"transactional.id", "orders"}}));
  EXPECT_EQ(config.transactional_id, "orders");
  EXPECT_TRUE(config.enable_idempotence);
  EXPECT_EQ(producer_error(
                with_bootstrap({{"transactional.id", "orders"}, {"enable.idempotence", "false"}}),
                "transactional.id"),
            "transactional.id needs the idempotent producer, but enable.idempotence is false");
  EXPECT_EQ(producer_error(with_bootstrap({{"transactional.id", "orders"}, {"acks", "0"}}),
                           "transactional.id"),
            "transactional.id needs the idempotent producer, but idempotence is off because of "
            "acks=0");
  producer_error(with_bootstrap({{"transactional.id", "orders"}, {"retries", "0"}}),
                 "transactional.id");
}

// KafkaProducer.configureDeliveryTimeout.
TEST(ClientConfig, DeliveryTimeoutCoversLingerAndRequestTimeout) {
  // Given and too small: an error.
  EXPECT_EQ(
      producer_error(with_bootstrap({{"delivery.timeout.ms", "30004"}}), "delivery.timeout.ms"),
      "delivery.timeout.ms: 30004 is less than linger.ms + request.timeout.ms (30005)");
  EXPECT_EQ(parse_ok(with_bootstrap({{"delivery.timeout.ms", "30005"}})).delivery_timeout,
            milliseconds(30005));
  // Even when it is the default value, written out.
  producer_error(with_bootstrap({{"delivery.timeout.ms", "120000"}, {"linger.ms", "100000"}}),
                 "delivery.timeout.ms");

  // Defaulted: raised to the sum.
  auto config = parse_ok(with_bootstrap({{"linger.ms", "100000"}}));
  EXPECT_EQ(config.delivery_timeout, milliseconds(130000));
  EXPECT_TRUE(has_warning_containing(config, "delivery.timeout.ms raised from 120000 ms"));
  // The sum is capped at 2^31-1, as Java's int arithmetic is.
  config = parse_ok(with_bootstrap({{"linger.ms", "9223372036854775807"}}));
  EXPECT_EQ(config.delivery_timeout, milliseconds(2147483647));
  config = parse_ok(with_bootstrap(
      {{"linger.ms", "9223372036854775807"}, {"delivery.timeout.ms", "2147483647"}}));
  EXPECT_EQ(config.delivery_timeout, milliseconds(2147483647));
  // Large enough already: left alone.
  config = parse_ok(with_bootstrap({{"request.timeout.ms", "1000"}, {"linger.ms", "0"}}));
  EXPECT_EQ(config.delivery_timeout, milliseconds(120000));
  EXPECT_TRUE(config.warnings.empty());
}

TEST(ClientConfig, BackoffRulesOfTheCommonConfig) {
  // reconnect.backoff.ms alone also sets the maximum (CommonClientConfigs).
  kc::common_config common;
  ASSERT_FALSE(kc::parse_common_config(
      {{"bootstrap.servers", "a:1"}, {"reconnect.backoff.ms", "200"}}, common));
  EXPECT_EQ(common.reconnect_backoff, milliseconds(200));
  EXPECT_EQ(common.reconnect_backoff_max, milliseconds(200));
  EXPECT_TRUE(has_warning_containing(common, "reconnect.backoff.max.ms set to"));
  ASSERT_FALSE(kc::parse_common_config({{"bootstrap.servers", "a:1"},
                                        {"reconnect.backoff.ms", "200"},
                                        {"reconnect.backoff.max.ms", "5000"}},
                                       common));
  EXPECT_EQ(common.reconnect_backoff_max, milliseconds(5000));
  EXPECT_TRUE(common.warnings.empty());

  // A start above the maximum is allowed, and reported.
  auto config = parse_ok(with_bootstrap({{"retry.backoff.ms", "2000"}}));
  EXPECT_EQ(config.retry_backoff, milliseconds(2000));
  EXPECT_EQ(config.retry_backoff_max, milliseconds(1000));
  EXPECT_TRUE(has_warning_containing(config, "every retry waits 1000 ms"));
  config = parse_ok(with_bootstrap({{"socket.connection.setup.timeout.ms", "60000"}}));
  EXPECT_TRUE(has_warning_containing(config, "connection attempt may take 30000 ms"));
}

TEST(ClientConfig, EffectiveConfigAsPropertiesParsesBackToTheSameConfig) {
  const auto config = parse_ok({{"bootstrap.servers", "a:1,[::1]:2"},
                                {"acks", "-1"},
                                {"compression.type", "gzip"},
                                {"linger.ms", "100000"},
                                {"reconnect.backoff.ms", "10"},
                                {"security.protocol", "plaintext"},
                                {"transactional.id", "tx"}});
  const kc::properties written = kc::to_properties(config);
  // All but the unset optionals: ssl.truststore.location, ssl.keystore.location,
  // ssl.key.password, sasl.jaas.config, sasl.kerberos.keytab.
  EXPECT_EQ(written.size(), kc::describe_producer_config().size() - 5);
  auto value_of = [&](const std::string& key) {
    return std::ranges::find(written, key, &std::pair<std::string, std::string>::first)->second;
  };
  EXPECT_EQ(value_of("bootstrap.servers"), "a:1,[::1]:2");
  EXPECT_EQ(value_of("acks"), "all");
  EXPECT_EQ(value_of("compression.type"), "gzip");
  EXPECT_EQ(value_of("delivery.timeout.ms"), "130000");
  EXPECT_EQ(value_of("security.protocol"), "PLAINTEXT");
  EXPECT_EQ(value_of("transactional.id"), "tx");

  kc::producer_config reparsed = parse_ok(written);
  EXPECT_TRUE(reparsed.warnings.empty());
  reparsed.warnings = config.warnings;
  EXPECT_EQ(reparsed, config);

  // Unset optionals are left out; idempotence turned off is written as off.
  const auto plain = parse_ok(with_bootstrap({{"acks", "1"}}));
  const kc::properties plain_written = kc::to_properties(plain);
  EXPECT_EQ(std::ranges::count(plain_written, "transactional.id",
                               &std::pair<std::string, std::string>::first),
            0);
  kc::producer_config plain_reparsed = parse_ok(plain_written);
  EXPECT_FALSE(plain_reparsed.enable_idempotence);
  plain_reparsed.warnings = plain.warnings;
  plain_reparsed.idempotence_disabled_reason = plain.idempotence_disabled_reason;
  EXPECT_EQ(plain_reparsed, plain);

  kc::common_config common;
  ASSERT_FALSE(kc::parse_common_config({{"bootstrap.servers", "a:1"}}, common));
  EXPECT_EQ(kc::to_properties(common).size(), 26u);  // all but the unset optional ones
}

namespace {

kc::consumer_config consumer_ok(const kc::properties& given) {
  kc::consumer_config config;
  const auto error = kc::parse_consumer_config(with_bootstrap(given), config);
  EXPECT_FALSE(error) << error->message;
  return config;
}

std::string consumer_error(const kc::properties& given, const std::string& key) {
  kc::consumer_config config;
  const auto error = kc::parse_consumer_config(with_bootstrap(given), config);
  if (!error) {
    ADD_FAILURE() << "no error, expected one for " << key;
    return "";
  }
  EXPECT_EQ(error->key, key);
  return error->message;
}

}  // namespace

TEST(ConsumerConfig, DefaultsAreTheJavaConsumerDefaults) {
  const auto c = consumer_ok({{"group.id", "g"}});
  EXPECT_EQ(c.group_id, "g");
  EXPECT_EQ(c.auto_offset_reset, kc::offset_reset::latest);
  EXPECT_TRUE(c.enable_auto_commit);
  EXPECT_EQ(c.auto_commit_interval, milliseconds(5000));
  EXPECT_EQ(c.fetch_min_bytes, 1);
  EXPECT_EQ(c.fetch_max_wait, milliseconds(500));
  EXPECT_EQ(c.fetch_max_bytes, 52428800);
  EXPECT_EQ(c.max_partition_fetch_bytes, 1048576);
  EXPECT_EQ(c.max_poll_records, 500);
  EXPECT_EQ(c.session_timeout, milliseconds(45000));
  EXPECT_EQ(c.heartbeat_interval, milliseconds(3000));
  EXPECT_EQ(c.partition_assignment_strategy,
            (std::vector<std::string>{"range", "cooperative-sticky"}));
  EXPECT_EQ(c.group_protocol_type, kc::group_protocol::classic);
  EXPECT_TRUE(c.check_crcs);
  EXPECT_EQ(c.receive_buffer_bytes, -1);  // the OS's autotuned buffer, as librdkafka
}

TEST(ConsumerConfig, ParsesListsEnumsAndCase) {
  const auto c = consumer_ok({{"group.id", "g"},
                              {"auto.offset.reset", "EARLIEST"},
                              {"partition.assignment.strategy",
                               " roundrobin , org.apache.kafka.clients.consumer.RangeAssignor"},
                              {"group.protocol", "Classic"}});
  EXPECT_EQ(c.auto_offset_reset, kc::offset_reset::earliest);
  EXPECT_EQ(
      c.partition_assignment_strategy,
      (std::vector<std::string>{"roundrobin", "org.apache.kafka.clients.consumer.RangeAssignor"}));
}

TEST(ConsumerConfig, CrossFieldRulesNameTheKey) {
  // Without a group, auto commit is off, and an error when asked for.
  EXPECT_FALSE(consumer_ok({}).enable_auto_commit);
  EXPECT_EQ(consumer_error({{"enable.auto.commit", "true"}}, "enable.auto.commit"),
            "enable.auto.commit: true needs group.id (offsets are committed to a group); set "
            "group.id or enable.auto.commit=false");
  EXPECT_EQ(consumer_error({{"group.instance.id", "i"}}, "group.instance.id"),
            "group.instance.id needs group.id (it names a member of a group)");
  EXPECT_EQ(consumer_error({{"group.id", "g"}, {"heartbeat.interval.ms", "45000"}},
                           "heartbeat.interval.ms"),
            "heartbeat.interval.ms: 45000 ms must be lower than session.timeout.ms (45000 ms)");
  EXPECT_EQ(consumer_error({{"partition.assignment.strategy", "range,sticky"}},
                           "partition.assignment.strategy"),
            "partition.assignment.strategy: \"sticky\" is not one of range, roundrobin, "
            "cooperative-sticky (or their Java class names)");
  EXPECT_EQ(
      consumer_error(
          {{"group.id", "g"}, {"group.protocol", "consumer"}, {"session.timeout.ms", "10000"}},
          "session.timeout.ms"),
      "session.timeout.ms does not apply with group.protocol=consumer (the broker decides "
      "it); leave it out");
  EXPECT_EQ(consumer_error({{"group.remote.assignor", "uniform"}}, "group.remote.assignor"),
            "group.remote.assignor applies only with group.protocol=consumer");
  EXPECT_EQ(consumer_error({{"auto.offset.reset", "smallest"}}, "auto.offset.reset"),
            "auto.offset.reset: \"smallest\" is not one of latest, earliest, none (in any case)");
  EXPECT_EQ(consumer_error({{"max.poll.records", "0"}}, "max.poll.records"),
            "max.poll.records: 0 is out of range [1, 2147483647]");
  EXPECT_EQ(consumer_error({{"linger.ms", "5"}}, "linger.ms"),
            "linger.ms is a producer property, not a consumer property");
  EXPECT_EQ(consumer_error({{"value.deserializer", "x.S"}}, "value.deserializer"),
            "value.deserializer is not supported: kwire hands out keys and values as bytes, "
            "deserialize them after polling");
}

TEST(ConsumerConfig, EffectiveConfigAsPropertiesParsesBackToTheSameConfig) {
  const auto c = consumer_ok({{"group.id", "g"},
                              {"auto.offset.reset", "earliest"},
                              {"partition.assignment.strategy", "cooperative-sticky"},
                              {"client.rack", "r1"}});
  kc::consumer_config again;
  const auto error = kc::parse_consumer_config(kc::to_properties(c), again);
  ASSERT_FALSE(error) << error->message;
  EXPECT_EQ(again, c);
  const auto described = kc::describe_consumer_config();
  EXPECT_TRUE(std::ranges::any_of(described, [](const auto& d) {
    return d.name == "partition.assignment.strategy" &&
           d.default_value == "range,cooperative-sticky";
  }));
}
