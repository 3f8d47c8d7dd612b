// Client configuration: the Java client's property names, given as strings, parsed and
// validated once into typed structs.
//
//   kwire::client::producer_config config;
//   if (auto error = parse_producer_config({{"bootstrap.servers", "localhost:9092"},
//                                           {"linger.ms", "20"}}, config)) {
//     std::cerr << error->message << '\n';  // e.g. linger.ms: "abc" is not an integer
//   }
//
// Rules, as the Java client has them unless said otherwise:
//  - A key given twice: the last one wins (java.util.Properties).
//  - Values are trimmed. Booleans are "true"/"false" in any case. Enums compare exactly,
//    except security.protocol, which ignores case (as Java does for each of them).
//  - Every key must be known. Unlike Java, which only logs unknown keys, an unknown key,
//    a key of another kind of client and a Java key kwire does not support yet are errors.
//  - Cross-field rules (idempotence, delivery.timeout.ms, backoffs) follow ProducerConfig
//    and KafkaProducer; values they adjust are listed in `warnings`, for the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kwire/client/observability.hpp"
#include "kwire/protocol/compression.hpp"

namespace kwire::client {

// Raw input: (key, value) pairs in the order given, e.g. from `-X key=value`.
using properties = std::vector<std::pair<std::string, std::string>>;

// What is wrong, for a user: `message` is a whole sentence that starts with the key, says
// what was given and what is allowed.
struct config_error {
  std::string key;
  std::string message;
};

// One entry of bootstrap.servers. `host` is a name or an address; an IPv6 address is
// stored without the brackets it is written with ("[::1]:9092" -> host "::1").
struct broker_address {
  std::string host;
  std::uint16_t port = 0;
  bool operator==(const broker_address&) const = default;
};
// "host:port", or "[host]:port" when the host is an IPv6 address.
std::string to_string(const broker_address& address);

// client.dns.lookup
enum class dns_lookup { use_all_dns_ips, resolve_canonical_bootstrap_servers_only };

// security.protocol
enum class security_protocol { plaintext, ssl, sasl_plaintext, sasl_ssl };
// sasl.mechanism. GSSAPI (Java's default) is Kerberos, through Cyrus SASL (libsasl2).
enum class sasl_mechanism { gssapi, plain, scram_sha_256, scram_sha_512, oauthbearer };
// ssl.truststore.type / ssl.keystore.type: kwire reads PEM files only (no JKS, no PKCS12).
enum class ssl_store_type { pem };
// ssl.protocol: the highest TLS version to offer ("TLS": whatever OpenSSL offers).
enum class ssl_protocol_version { tls_1_3, tls_1_2, tls };

// acks, with the values the Produce request carries.
enum class required_acks : std::int16_t { none = 0, leader = 1, all = -1 };

// Properties every client takes. Member defaults are the Java client's defaults (except
// client.id), and describe_*() reports them from here.
struct common_config {
  std::vector<broker_address> bootstrap_servers;                     // bootstrap.servers (required)
  std::string client_id = "kwire";                                   // client.id
  std::chrono::milliseconds request_timeout{30000};                  // request.timeout.ms
  std::chrono::milliseconds retry_backoff{100};                      // retry.backoff.ms
  std::chrono::milliseconds retry_backoff_max{1000};                 // retry.backoff.max.ms
  std::chrono::milliseconds reconnect_backoff{50};                   // reconnect.backoff.ms
  std::chrono::milliseconds reconnect_backoff_max{1000};             // reconnect.backoff.max.ms
  std::chrono::milliseconds socket_connection_setup_timeout{10000};  // ...setup.timeout.ms
  std::chrono::milliseconds socket_connection_setup_timeout_max{30000};  // ...timeout.max.ms
  std::chrono::milliseconds connections_max_idle{540000};  // connections.max.idle.ms; -1: never
  std::chrono::milliseconds metadata_max_age{300000};      // metadata.max.age.ms
  std::int32_t send_buffer_bytes = 131072;                 // send.buffer.bytes; -1: OS default
  std::int32_t receive_buffer_bytes = 32768;               // receive.buffer.bytes; -1: OS default
  dns_lookup client_dns_lookup = dns_lookup::use_all_dns_ips;  // client.dns.lookup
  security_protocol security = security_protocol::plaintext;   // security.protocol
  // TLS (security.protocol SSL or SASL_SSL). Unset locations: the system trust store, no
  // client certificate.
  std::optional<std::string> ssl_truststore_location;        // ssl.truststore.location (PEM CAs)
  ssl_store_type ssl_truststore_type = ssl_store_type::pem;  // ssl.truststore.type (Java: JKS)
  std::optional<std::string> ssl_keystore_location;        // ssl.keystore.location (PEM cert + key)
  ssl_store_type ssl_keystore_type = ssl_store_type::pem;  // ssl.keystore.type (Java: JKS)
  std::optional<std::string> ssl_key_password;  // ssl.key.password (secret: never rendered)
  std::string ssl_endpoint_identification_algorithm = "https";           // "" turns host checks off
  ssl_protocol_version ssl_protocol = ssl_protocol_version::tls_1_3;     // ssl.protocol
  std::vector<std::string> ssl_enabled_protocols{"TLSv1.2", "TLSv1.3"};  // ssl.enabled.protocols
  std::vector<std::string> ssl_cipher_suites;  // ssl.cipher.suites; empty: OpenSSL's defaults
  // SASL (security.protocol SASL_PLAINTEXT or SASL_SSL).
  sasl_mechanism sasl_mechanism_type = sasl_mechanism::gssapi;  // sasl.mechanism
  std::optional<std::string> sasl_jaas_config;  // sasl.jaas.config (secret: never rendered)
  // Kerberos (sasl.mechanism GSSAPI), as librdkafka names and defaults them: kwire runs
  // kinit.cmd to fill the ticket cache (KRB5CCNAME) and libsasl2 reads it.
  std::string sasl_kerberos_service_name = "kafka";     // sasl.kerberos.service.name
  std::string sasl_kerberos_principal = "kafkaclient";  // sasl.kerberos.principal
  std::optional<std::string> sasl_kerberos_keytab;      // sasl.kerberos.keytab
  std::string sasl_kerberos_kinit_cmd =                 // sasl.kerberos.kinit.cmd
      "kinit -R -t \"%{sasl.kerberos.keytab}\" -k %{sasl.kerberos.principal} || "
      "kinit -t \"%{sasl.kerberos.keytab}\" -k %{sasl.kerberos.principal}";
  std::chrono::milliseconds sasl_kerberos_min_time_before_relogin{60000};  // ...relogin; 0: once
  // The log sink, debug categories and event hooks: set in code, not a property.
  observability observe;

  // Values parsing adjusted, or that act differently from how they read, one sentence each
  // (what Java logs as a warning when it constructs the client). Empty normally.
  std::vector<std::string> warnings;

  bool operator==(const common_config&) const = default;
};

struct producer_config : common_config {
  required_acks acks = required_acks::all;                               // acks
  std::chrono::milliseconds linger{5};                                   // linger.ms
  std::int32_t batch_size = 1000000;                                     // batch.size
  std::int64_t buffer_memory = 33554432;                                 // buffer.memory
  protocol::compression compression_type = protocol::compression::none;  // compression.type
  std::int32_t compression_gzip_level = -1;    // compression.gzip.level; -1: zlib's default (6)
  std::int32_t compression_lz4_level = 1;      // compression.lz4.level (Java: 9; see config.cpp)
  std::int32_t compression_zstd_level = 3;     // compression.zstd.level
  std::chrono::milliseconds max_block{60000};  // max.block.ms
  std::chrono::milliseconds delivery_timeout{120000};               // delivery.timeout.ms
  std::int32_t retries = std::numeric_limits<std::int32_t>::max();  // retries
  std::int32_t max_in_flight_requests_per_connection = 5;  // max.in.flight.requests.per.connection
  bool enable_idempotence = true;                          // enable.idempotence
  std::int32_t max_request_size = 1048576;                 // max.request.size
  bool partitioner_ignore_keys = false;                    // partitioner.ignore.keys
  std::optional<std::string> transactional_id;             // transactional.id (none by default)
  std::chrono::milliseconds transaction_timeout{60000};    // transaction.timeout.ms
  int transaction_warn_percent = 75;                       // transaction.warn.percent

  // Why idempotence is off although enable.idempotence was not set to false (it defaults on
  // and acks or retries conflict with it, so Java turns it off quietly); empty otherwise.
  std::string idempotence_disabled_reason;

  bool operator==(const producer_config&) const = default;
};

// auto.offset.reset: where to start when a partition has no committed offset, or its
// position is out of range.
enum class offset_reset { earliest, latest, none };
// isolation.level
enum class isolation_level { read_uncommitted, read_committed };
// group.protocol: classic (JoinGroup/SyncGroup) or consumer (KIP-848, brokers 4.0+).
enum class group_protocol { classic, consumer };

struct consumer_config : common_config {
  // receive.buffer.bytes: -1, the OS's autotuned buffer (librdkafka's choice; Java's consumer
  // has 65536). A whole multi-MiB Fetch response then lands in one go and the broker writes
  // it in few large chunks: kwire-bench consume, 6 partitions, lz4, 3 runs each: 100 B
  // records 3.3-3.8M msg/s against 2.6-3.1M with 65536; 1 KiB records 0.21-0.29 broker CPU
  // s per 1M records against 0.28-0.45. (It measured slower before the consumer stopped
  // holding partitions back one by one: the faster responses then split the fetches.)
  consumer_config() { receive_buffer_bytes = -1; }
  std::optional<std::string> group_id;           // group.id (none: no group)
  std::optional<std::string> group_instance_id;  // group.instance.id (static member)
  group_protocol group_protocol_type = group_protocol::classic;  // group.protocol
  std::optional<std::string> group_remote_assignor;              // group.remote.assignor
  offset_reset auto_offset_reset = offset_reset::latest;         // auto.offset.reset
  bool enable_auto_commit = true;                        // enable.auto.commit (off without group)
  std::chrono::milliseconds auto_commit_interval{5000};  // auto.commit.interval.ms
  std::int32_t fetch_min_bytes = 1;                      // fetch.min.bytes
  std::chrono::milliseconds fetch_max_wait{500};         // fetch.max.wait.ms
  std::int32_t fetch_max_bytes = 52428800;               // fetch.max.bytes
  std::int32_t max_partition_fetch_bytes = 1048576;      // max.partition.fetch.bytes
  std::int32_t max_poll_records = 500;                   // max.poll.records
  std::chrono::milliseconds max_poll_interval{300000};   // max.poll.interval.ms
  std::chrono::milliseconds session_timeout{45000};      // session.timeout.ms
  std::chrono::milliseconds heartbeat_interval{3000};    // heartbeat.interval.ms
  // partition.assignment.strategy: assignor names, preferred first (classic groups).
  std::vector<std::string> partition_assignment_strategy{"range", "cooperative-sticky"};
  bool check_crcs = true;                                         // check.crcs
  isolation_level isolation = isolation_level::read_uncommitted;  // isolation.level
  std::optional<std::string> client_rack;                         // client.rack
  bool exclude_internal_topics = true;                            // exclude.internal.topics
  bool allow_auto_create_topics = true;                           // allow.auto.create.topics
  std::chrono::milliseconds default_api_timeout{60000};           // default.api.timeout.ms

  bool operator==(const consumer_config&) const = default;
};

// The admin client (Java AdminClientConfig). connections.max.idle.ms defaults to 300000 here,
// as in Java's admin client.
struct admin_config : common_config {
  admin_config() { connections_max_idle = std::chrono::milliseconds(300000); }
  // How long an admin operation may take, retries included, unless the call gives its own
  // timeout; at least request.timeout.ms.
  std::chrono::milliseconds default_api_timeout{60000};             // default.api.timeout.ms
  std::int32_t retries = std::numeric_limits<std::int32_t>::max();  // retries

  bool operator==(const admin_config&) const = default;
};

// Parses and validates `given` into `out`. On success `out` holds every property (defaults
// for those not given) and nullopt is returned; on error `out` is left as it was.
std::optional<config_error> parse_common_config(const properties& given, common_config& out);
std::optional<config_error> parse_producer_config(const properties& given, producer_config& out);
std::optional<config_error> parse_consumer_config(const properties& given, consumer_config& out);
std::optional<config_error> parse_admin_config(const properties& given, admin_config& out);

// One property, for help output (`kwire ... --help-properties`) and documentation.
struct property_description {
  std::string_view name;
  // Secrets (ssl.key.password, sasl.jaas.config) are described, never their values:
  // to_properties() writes them as "[hidden]", as Java's Password type prints.
  std::string_view type;                     // "boolean", "int32", "int64", "ms", "string", ...
  std::optional<std::string> default_value;  // as it would be written; nullopt: none
  std::string allowed;                       // e.g. "[0, 2147483647]", "all, -1, 0, 1"
  std::string_view doc;                      // one line
  bool required = false;
};
// Every property the client takes, common ones first, in a fixed order.
std::vector<property_description> describe_common_config();
std::vector<property_description> describe_producer_config();
std::vector<property_description> describe_consumer_config();
std::vector<property_description> describe_admin_config();

// The effective configuration as properties, in describe order, for logs. Unset optional
// properties are left out; parsing the result gives back an equal config (but `warnings`).
properties to_properties(const common_config& config);
properties to_properties(const producer_config& config);
properties to_properties(const consumer_config& config);
properties to_properties(const admin_config& config);

}  // namespace kwire::client
