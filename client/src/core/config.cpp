// Client configuration: one table of property descriptors per kind of client
// (core/config_table.hpp), the parse of given properties through a table, then the
// cross-field rules. How each value's text is read is in core/config_values.
#include "kwire/client/config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <numeric>
#include <set>
#include <span>
#include <type_traits>

#include "core/config_table.hpp"
#include "core/config_values.hpp"
#include "kwire/client/jaas.hpp"

namespace kwire::client {
namespace {

using namespace detail;  // config_values.hpp and config_table.hpp
using std::chrono::milliseconds;

constexpr std::int64_t int32_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
// client.id and transactional.id travel as Kafka strings, whose length is an int16.
constexpr std::int64_t max_wire_string_bytes = std::numeric_limits<std::int16_t>::max();

// --- The tables -----------------------------------------------------------------------------

constexpr std::array dns_lookup_names{
    name_of("use_all_dns_ips", dns_lookup::use_all_dns_ips),
    name_of("resolve_canonical_bootstrap_servers_only",
            dns_lookup::resolve_canonical_bootstrap_servers_only),
};
constexpr std::array security_protocol_names{
    name_of("PLAINTEXT", security_protocol::plaintext),
    name_of("SSL", security_protocol::ssl),
    name_of("SASL_PLAINTEXT", security_protocol::sasl_plaintext),
    name_of("SASL_SSL", security_protocol::sasl_ssl),
};
constexpr std::array sasl_mechanism_names{
    name_of("GSSAPI", sasl_mechanism::gssapi),
    name_of("PLAIN", sasl_mechanism::plain),
    name_of("SCRAM-SHA-256", sasl_mechanism::scram_sha_256),
    name_of("SCRAM-SHA-512", sasl_mechanism::scram_sha_512),
    name_of("OAUTHBEARER", sasl_mechanism::oauthbearer),
};
constexpr std::array ssl_store_type_names{name_of("PEM", ssl_store_type::pem)};
constexpr std::array ssl_protocol_names{
    name_of("TLSv1.3", ssl_protocol_version::tls_1_3),
    name_of("TLSv1.2", ssl_protocol_version::tls_1_2),
    name_of("TLS", ssl_protocol_version::tls),
};
// File names and passwords: long enough for any path, short enough to be sane.
constexpr std::int64_t max_path_bytes = 4096;
constexpr std::array acks_names{
    name_of("all", required_acks::all),
    name_of("-1", required_acks::all),
    name_of("0", required_acks::none),
    name_of("1", required_acks::leader),
};
constexpr std::array compression_names{
    name_of("none", protocol::compression::none),     name_of("gzip", protocol::compression::gzip),
    name_of("snappy", protocol::compression::snappy), name_of("lz4", protocol::compression::lz4),
    name_of("zstd", protocol::compression::zstd),
};

// Ranges are those of the Java ConfigDef (an INT property's maximum is 2^31-1, a LONG's
// 2^63-1) unless a comment says otherwise. Enums compare exactly where Java uses ValidString
// and in any case where it uses CaseInsensitiveValidString (security.protocol).
template <class Config>
constexpr auto common_properties() {
  using c = common_config;
  return std::array{
      bind<Config, &c::bootstrap_servers>(
          "bootstrap.servers", any_value,
          "Brokers to fetch the cluster's metadata from first: host:port[,host:port...].",
          presence::required),
      bind<Config, &c::client_id>("client.id", at_most_bytes(max_wire_string_bytes),
                                  "Sent with every request, so that brokers can tell this client "
                                  "apart in logs and quotas."),
      bind<Config, &c::request_timeout>(
          "request.timeout.ms", in_range(0, int32_max),
          "How long to wait for a response before retrying or failing the request."),
      bind<Config, &c::retry_backoff>(
          "retry.backoff.ms", in_range(0, int64_max),
          "First wait before retrying a failed request; doubles up to retry.backoff.max.ms."),
      bind<Config, &c::retry_backoff_max>(
          "retry.backoff.max.ms", in_range(0, int64_max),
          "Longest wait between retries of a request (with 20% jitter)."),
      bind<Config, &c::reconnect_backoff>(
          "reconnect.backoff.ms", in_range(0, int64_max),
          "First wait before reconnecting to a broker; doubles up to reconnect.backoff.max.ms."),
      bind<Config, &c::reconnect_backoff_max>(
          "reconnect.backoff.max.ms", in_range(0, int64_max),
          "Longest wait between connection attempts to a broker (with 20% jitter); when only "
          "reconnect.backoff.ms is given, it is that."),
      // Java does not validate the two setup timeouts; a negative timeout means nothing.
      bind<Config, &c::socket_connection_setup_timeout>(
          "socket.connection.setup.timeout.ms", in_range(0, int64_max),
          "How long a connection attempt may take; doubles on each failure up to the max."),
      bind<Config, &c::socket_connection_setup_timeout_max>(
          "socket.connection.setup.timeout.max.ms", in_range(0, int64_max),
          "Longest a connection attempt may take (with 20% jitter)."),
      // Java does not validate it either; its Selector takes any negative value as "never".
      bind<Config, &c::connections_max_idle>(
          "connections.max.idle.ms", in_range(-1, int64_max),
          "Close connections idle this long; -1 never closes them."),
      bind<Config, &c::metadata_max_age>(
          "metadata.max.age.ms", in_range(0, int64_max),
          "Refresh metadata at least this often, to find new brokers and partitions."),
      bind<Config, &c::send_buffer_bytes>("send.buffer.bytes", in_range(-1, int32_max),
                                          "TCP send buffer (SO_SNDBUF); -1 keeps the OS default."),
      bind<Config, &c::receive_buffer_bytes>(
          "receive.buffer.bytes", in_range(-1, int32_max),
          "TCP receive buffer (SO_RCVBUF); -1 keeps the OS default."),
      bind<Config, &c::client_dns_lookup>(
          "client.dns.lookup", one_of(dns_lookup_names, letter_case::exact),
          "use_all_dns_ips tries every address a name resolves to; "
          "resolve_canonical_bootstrap_servers_only also expands bootstrap names first."),
      bind<Config, &c::security>(
          "security.protocol", one_of(security_protocol_names, letter_case::ignored),
          "How to talk to brokers: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL "
          "authentication, over TLS for SASL_SSL)."),
      bind<Config, &c::ssl_truststore_location>(
          "ssl.truststore.location", at_most_bytes(max_path_bytes),
          "PEM file of the CA certificates that sign the brokers' certificates; unset: the "
          "system trust store."),
      bind<Config, &c::ssl_truststore_type>(
          "ssl.truststore.type", one_of(ssl_store_type_names, letter_case::exact),
          "Format of ssl.truststore.location; kwire reads PEM only (Java's default is JKS)."),
      bind<Config, &c::ssl_keystore_location>(
          "ssl.keystore.location", at_most_bytes(max_path_bytes),
          "PEM file with this client's certificate (chain) and private key, for brokers that "
          "authenticate clients by certificate (mTLS); unset: no client certificate."),
      bind<Config, &c::ssl_keystore_type>(
          "ssl.keystore.type", one_of(ssl_store_type_names, letter_case::exact),
          "Format of ssl.keystore.location; kwire reads PEM only (Java's default is JKS)."),
      bind<Config, &c::ssl_key_password>(
          "ssl.key.password", secret_of_at_most_bytes(max_path_bytes),
          "Password of an encrypted private key in ssl.keystore.location."),
      bind<Config, &c::ssl_endpoint_identification_algorithm>(
          "ssl.endpoint.identification.algorithm", at_most_bytes(16),
          "https checks that the broker's certificate names the host (or IP address) "
          "connected to; empty turns that check off (the chain is still verified)."),
      bind<Config, &c::ssl_protocol>(
          "ssl.protocol", one_of(ssl_protocol_names, letter_case::exact),
          "Highest TLS version to offer (TLS: the highest OpenSSL has)."),
      bind<Config, &c::ssl_enabled_protocols>(
          "ssl.enabled.protocols", any_value,
          "TLS versions allowed: TLSv1.2 and/or TLSv1.3 (older ones are refused)."),
      bind<Config, &c::ssl_cipher_suites>(
          "ssl.cipher.suites", any_value,
          "Cipher suites allowed, by IANA name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
          "TLS_AES_128_GCM_SHA256) or OpenSSL name; empty: OpenSSL's defaults."),
      bind<Config, &c::sasl_mechanism_type>(
          "sasl.mechanism", one_of(sasl_mechanism_names, letter_case::exact),
          "SASL mechanism for SASL_PLAINTEXT and SASL_SSL: GSSAPI (Kerberos, the default), "
          "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER."),
      bind<Config, &c::sasl_jaas_config>(
          "sasl.jaas.config", secret_of_at_most_bytes(65536),
          "Credentials, as Java writes them: PlainLoginModule or ScramLoginModule required "
          "username=\"...\" password=\"...\"; or OAuthBearerLoginModule required "
          "unsecuredLoginStringClaim_sub=\"...\";"),
      // Kerberos: librdkafka's names, defaults and meaning (Java configures a Krb5LoginModule
      // in sasl.jaas.config instead).
      bind<Config, &c::sasl_kerberos_service_name>(
          "sasl.kerberos.service.name", at_most_bytes(255),
          "GSSAPI: the first part of the brokers' Kerberos principal (service/host@REALM)."),
      bind<Config, &c::sasl_kerberos_principal>(
          "sasl.kerberos.principal", at_most_bytes(1024),
          "GSSAPI: this client's Kerberos principal, for sasl.kerberos.kinit.cmd."),
      bind<Config, &c::sasl_kerberos_keytab>(
          "sasl.kerberos.keytab", at_most_bytes(max_path_bytes),
          "GSSAPI: the keytab file of sasl.kerberos.principal, for sasl.kerberos.kinit.cmd."),
      bind<Config, &c::sasl_kerberos_kinit_cmd>(
          "sasl.kerberos.kinit.cmd", at_most_bytes(max_path_bytes),
          "GSSAPI: shell command that fills the ticket cache (KRB5CCNAME) before the first "
          "connection and on relogin; %{sasl.kerberos.keytab} and %{sasl.kerberos.principal} "
          "are replaced; empty or none: the ticket cache is yours to fill."),
      bind<Config, &c::sasl_kerberos_min_time_before_relogin>(
          "sasl.kerberos.min.time.before.relogin", in_range(0, 86400000),
          "GSSAPI: run sasl.kerberos.kinit.cmd again before a connection logs in when it last "
          "ran this long ago; 0: only before the first connection."),
  };
}

constexpr auto common_table = common_properties<common_config>();

constexpr auto producer_table = concat(common_properties<producer_config>(), [] {
  using p = producer_config;
  return std::array{
      bind<p, &p::acks>("acks", one_of(acks_names, letter_case::exact),
                        "Acknowledgements a write waits for: all (every in-sync replica, "
                        "also written -1), 1 (the leader) or 0 (none)."),
      bind<p, &p::linger>("linger.ms", in_range(0, int64_max),
                          "How long to wait for more records before sending a batch that "
                          "is not full."),
      bind<p, &p::batch_size>("batch.size", in_range(0, int32_max),
                              "Largest batch per partition, in bytes (0: a record per batch)."),
      bind<p, &p::buffer_memory>("buffer.memory", in_range(0, int64_max),
                                 "Bytes of records waiting to be sent; when full, send() "
                                 "blocks up to max.block.ms."),
      bind<p, &p::compression_type>("compression.type",
                                    one_of(compression_names, letter_case::exact),
                                    "Codec for record batches."),
      // GzipCompression.LevelValidator: 1..9, or Deflater.DEFAULT_COMPRESSION (-1).
      bind<p, &p::compression_gzip_level>("compression.gzip.level",
                                          in_range_or(1, 9, -1, "zlib's default level"),
                                          "Compression level when compression.type is gzip."),
      // Java's range; kwire's default is 1 (lz4's fast compressor, as librdkafka uses) where
      // Java's is 9: levels 3 and up select lz4's much slower high-compression mode.
      bind<p, &p::compression_lz4_level>("compression.lz4.level", in_range(1, 17),
                                         "Compression level when compression.type is lz4: 1-2 fast "
                                         "(default 1), 3-17 high compression."),
      bind<p, &p::compression_zstd_level>(
          "compression.zstd.level", in_range(-131072, 22),
          "Compression level when compression.type is zstd; negative is faster."),
      bind<p, &p::max_block>("max.block.ms", in_range(0, int64_max),
                             "How long send() and the transaction calls may block for "
                             "metadata or buffer space."),
      bind<p, &p::delivery_timeout>(
          "delivery.timeout.ms", in_range(0, int32_max),
          "Time from send() to success or failure, retries included; at least linger.ms + "
          "request.timeout.ms."),
      bind<p, &p::retries>("retries", in_range(0, int32_max),
                           "How often to retry a failed produce; prefer delivery.timeout.ms "
                           "to bound retrying."),
      bind<p, &p::max_in_flight_requests_per_connection>(
          "max.in.flight.requests.per.connection", in_range(1, int32_max),
          "Unacknowledged requests per connection; at most 5 with idempotence."),
      bind<p, &p::enable_idempotence>(
          "enable.idempotence", any_value,
          "Write each record once despite retries; needs acks=all, retries > 0 and at most 5 "
          "in flight. On by default, and then turned off quietly by acks or retries."),
      bind<p, &p::max_request_size>("max.request.size", in_range(0, int32_max),
                                    "Largest produce request in bytes; also caps an "
                                    "uncompressed batch."),
      bind<p, &p::partitioner_ignore_keys>(
          "partitioner.ignore.keys", any_value,
          "Spread keyed records like unkeyed ones instead of hashing their keys."),
      bind<p, &p::transactional_id>(
          "transactional.id", at_most_bytes(max_wire_string_bytes),
          "Enables transactions under this id (needs idempotence); unset: no transactions."),
      // Java leaves the range to the broker, which refuses 0 and negative timeouts
      // (INVALID_TRANSACTION_TIMEOUT); refusing them here says so before connecting.
      bind<p, &p::transaction_timeout>(
          "transaction.timeout.ms", in_range(1, int32_max),
          "How long a transaction may stay open before the coordinator aborts it; at most "
          "the broker's transaction.max.timeout.ms."),
      bind<p, &p::transaction_warn_percent>(
          "transaction.warn.percent", in_range(0, 100),
          "kwire: a transaction still open at this share of transaction.timeout.ms is logged "
          "(warn, category eos) and counted (transactions_overdue), before the broker aborts "
          "it; 0 turns the watchdog off."),
  };
}());

constexpr std::array offset_reset_names{
    name_of("latest", offset_reset::latest),
    name_of("earliest", offset_reset::earliest),
    name_of("none", offset_reset::none),
};
constexpr std::array isolation_level_names{
    name_of("read_uncommitted", isolation_level::read_uncommitted),
    name_of("read_committed", isolation_level::read_committed),
};
constexpr std::array group_protocol_names{
    name_of("classic", group_protocol::classic),
    name_of("consumer", group_protocol::consumer),
};

constexpr auto consumer_table = concat(common_properties<consumer_config>(), [] {
  using c = consumer_config;
  return std::array{
      bind<c, &c::group_id>("group.id", at_most_bytes(max_wire_string_bytes),
                            "The consumer group to join (subscribe) or to commit offsets to; "
                            "unset: no group, no commits."),
      bind<c, &c::group_instance_id>(
          "group.instance.id", at_most_bytes(max_wire_string_bytes),
          "A stable member name (static membership): a restart within session.timeout.ms "
          "keeps the member's partitions without a rebalance."),
      bind<c, &c::group_protocol_type>(
          "group.protocol", one_of(group_protocol_names, letter_case::ignored),
          "classic (JoinGroup/SyncGroup, client-side assignment) or consumer (KIP-848: "
          "server-side assignment, brokers 4.0 and later)."),
      bind<c, &c::group_remote_assignor>(
          "group.remote.assignor", at_most_bytes(max_wire_string_bytes),
          "With group.protocol=consumer: the broker-side assignor to ask for (uniform, range); "
          "unset: the broker's default."),
      bind<c, &c::auto_offset_reset>(
          "auto.offset.reset", one_of(offset_reset_names, letter_case::ignored),
          "Where to start without a committed offset, or when the position is out of range: "
          "latest, earliest, or none (an error)."),
      bind<c, &c::enable_auto_commit>(
          "enable.auto.commit", any_value,
          "Commit the consumed positions every auto.commit.interval.ms (needs group.id)."),
      bind<c, &c::auto_commit_interval>("auto.commit.interval.ms", in_range(0, int32_max),
                                        "How often positions are committed with "
                                        "enable.auto.commit."),
      bind<c, &c::fetch_min_bytes>("fetch.min.bytes", in_range(0, int32_max),
                                   "Bytes a fetch waits for (up to fetch.max.wait.ms) before "
                                   "the broker answers."),
      bind<c, &c::fetch_max_wait>("fetch.max.wait.ms", in_range(0, int32_max),
                                  "Longest the broker holds a fetch to gather fetch.min.bytes."),
      bind<c, &c::fetch_max_bytes>("fetch.max.bytes", in_range(0, int32_max),
                                   "Most bytes one fetch response may carry (a first batch larger "
                                   "than it still comes)."),
      bind<c, &c::max_partition_fetch_bytes>(
          "max.partition.fetch.bytes", in_range(0, int32_max),
          "Most bytes per partition in one fetch response (a first batch larger still comes)."),
      bind<c, &c::max_poll_records>("max.poll.records", in_range(1, int32_max),
                                    "Records one poll returns at most; kwire stops at the first "
                                    "batch boundary past it."),
      bind<c, &c::max_poll_interval>(
          "max.poll.interval.ms", in_range(1, int32_max),
          "Longest time between polls before the member leaves its group."),
      bind<c, &c::session_timeout>("session.timeout.ms", in_range(1, int32_max),
                                   "A member not heard from for this long is removed from its "
                                   "group (classic protocol)."),
      bind<c, &c::heartbeat_interval>("heartbeat.interval.ms", in_range(1, int32_max),
                                      "How often a member heartbeats (classic protocol); below "
                                      "session.timeout.ms."),
      bind<c, &c::partition_assignment_strategy>(
          "partition.assignment.strategy", any_value,
          "Assignors a classic group member offers, preferred first: range, roundrobin, "
          "cooperative-sticky (or their Java class names)."),
      bind<c, &c::check_crcs>("check.crcs", any_value, "Check the CRC-32C of every fetched batch."),
      bind<c, &c::isolation>(
          "isolation.level", one_of(isolation_level_names, letter_case::ignored),
          "read_uncommitted returns every record; read_committed only those of committed "
          "transactions (or of none), up to the last stable offset."),
      bind<c, &c::client_rack>("client.rack", at_most_bytes(max_wire_string_bytes),
                               "This client's rack, for fetching from the closest replica "
                               "(KIP-392); unset: always the leader."),
      bind<c, &c::exclude_internal_topics>(
          "exclude.internal.topics", any_value,
          "Leave internal topics (__consumer_offsets, ...) out of pattern subscriptions."),
      bind<c, &c::allow_auto_create_topics>(
          "allow.auto.create.topics", any_value,
          "Let the broker create a subscribed topic that does not exist (if it allows that)."),
      bind<c, &c::default_api_timeout>("default.api.timeout.ms", in_range(0, int32_max),
                                       "Timeout of the consumer's blocking calls that take none."),
  };
}());

constexpr auto admin_table = concat(common_properties<admin_config>(), [] {
  using a = admin_config;
  return std::array{
      bind<a, &a::default_api_timeout>(
          "default.api.timeout.ms", in_range(0, int32_max),
          "How long an admin operation may take, retries included, when the call gives no "
          "timeout; at least request.timeout.ms."),
      bind<a, &a::retries>("retries", in_range(0, int32_max),
                           "How often to retry a failed admin request; prefer "
                           "default.api.timeout.ms to bound retrying."),
  };
}());

// An int32 member takes whatever its rule's range allows, so the range must fit it.
template <class Table>
constexpr bool int32_ranges_fit(const Table& table) {
  constexpr std::int64_t int32_min = std::numeric_limits<std::int32_t>::min();
  return std::ranges::all_of(table, [](const auto& p) {
    const auto fits = [](std::int64_t v) { return v >= int32_min && v <= int32_max; };
    return p.kind != value_kind::int32 ||
           (fits(p.rule.min) && fits(p.rule.max) && fits(p.rule.special_value.value_or(0)));
  });
}
static_assert(int32_ranges_fit(common_table) && int32_ranges_fit(producer_table) &&
              int32_ranges_fit(consumer_table) && int32_ranges_fit(admin_table));

// Java client keys kwire knows but does not honour: an honest message instead of "unknown".
struct unsupported_key {
  std::string_view key;  // a whole key, or a prefix when it ends with '.'
  std::string_view why;  // follows the key in the message
};
constexpr std::array unsupported_keys{
    unsupported_key{"key.deserializer",
                    "is not supported: kwire hands out keys and values as bytes, deserialize "
                    "them after polling"},
    unsupported_key{"value.deserializer",
                    "is not supported: kwire hands out keys and values as bytes, deserialize "
                    "them after polling"},
    unsupported_key{"interceptor.classes", "is not supported: kwire cannot load Java classes"},
    unsupported_key{"ssl.truststore.password",
                    "is not supported: kwire reads PEM trust stores, which have no password"},
    unsupported_key{"ssl.keystore.password",
                    "is not supported: kwire reads PEM key stores; an encrypted private key's "
                    "password is ssl.key.password"},
    unsupported_key{"ssl.",
                    "is not supported yet (kwire's TLS takes ssl.truststore.location, "
                    "ssl.keystore.location, ssl.key.password, ssl.protocol, "
                    "ssl.enabled.protocols, ssl.cipher.suites and "
                    "ssl.endpoint.identification.algorithm)"},
    unsupported_key{"sasl.kerberos.",
                    "is not supported (kwire's Kerberos takes sasl.kerberos.service.name, "
                    "sasl.kerberos.principal, sasl.kerberos.keytab, sasl.kerberos.kinit.cmd and "
                    "sasl.kerberos.min.time.before.relogin)"},
    unsupported_key{"sasl.",
                    "is not supported yet (kwire's SASL takes sasl.mechanism and "
                    "sasl.jaas.config)"},
    unsupported_key{"security.providers", "is not supported: kwire cannot load Java classes"},
    // ZooKeeper-era names: the clients have talked only to brokers since Kafka 0.9.
    unsupported_key{"zookeeper.",
                    "is a ZooKeeper-era setting: clients reach the cluster through its brokers "
                    "(bootstrap.servers), and Kafka 4.0 has no ZooKeeper at all"},
    unsupported_key{"auto.commit.enable",
                    "is the Kafka 0.8 consumer's name for what is enable.auto.commit now"},
    unsupported_key{"key.serializer",
                    "is not supported: kwire takes keys and values as bytes, serialize them "
                    "before sending"},
    unsupported_key{"value.serializer",
                    "is not supported: kwire takes keys and values as bytes, serialize them "
                    "before sending"},
    unsupported_key{"partitioner.class", "is not supported: kwire cannot load Java classes"},
    unsupported_key{"metric.reporters", "is not supported: kwire cannot load Java classes"},
    unsupported_key{"config.providers", "is not supported: kwire cannot load Java classes"},
    unsupported_key{"metrics.", "is not supported yet (kwire has no metrics yet)"},
    unsupported_key{"enable.metrics.push", "is not supported yet (kwire has no metrics yet)"},
    unsupported_key{"auto.include.jmx.reporter", "is not supported: kwire has no JMX"},
    unsupported_key{"partitioner.adaptive.partitioning.enable", "is not supported yet"},
    unsupported_key{"partitioner.availability.timeout.ms", "is not supported yet"},
    unsupported_key{"metadata.max.idle.ms", "is not supported yet"},
    unsupported_key{"metadata.recovery.strategy", "is not supported yet"},
    unsupported_key{"metadata.recovery.rebootstrap.trigger.ms", "is not supported yet"},
    unsupported_key{"bootstrap.resolve.timeout.ms", "is not supported yet"},
    unsupported_key{"transaction.two.phase.commit.enable", "is not supported yet"},
};

// --- Unknown keys ---------------------------------------------------------------------------

template <class Table>
bool table_has(const Table& table, std::string_view key) {
  return std::ranges::find(table, key, &Table::value_type::name) != table.end();
}

// `role` is what the table configures ("producer"); the other roles' keys are checked so
// that a key given to the wrong kind of client says so.
template <class Config>
config_error unknown_key_error(const std::string& key, std::string_view role,
                               std::span<const property<Config>> table) {
  const auto not_here = [&](std::string_view owner) {
    const bool vowel = std::string_view("aeiou").find(role.front()) != std::string_view::npos;
    return config_error{key, key + " is a " + std::string(owner) + " property, not " +
                                 (vowel ? "an " : "a ") + std::string(role) + " property"};
  };
  if (role != "producer" && table_has(producer_table, key)) return not_here("producer");
  if (role != "consumer" && table_has(consumer_table, key)) return not_here("consumer");
  for (const unsupported_key& entry : unsupported_keys) {
    const bool matches =
        entry.key.ends_with('.') ? std::string_view(key).starts_with(entry.key) : key == entry.key;
    if (matches) return {key, key + " " + std::string(entry.why)};
  }
  std::vector<std::string_view> names;
  for (const property<Config>& p : table) names.push_back(p.name);
  std::string message = "unknown property " + quoted(key);
  if (auto suggestion = closest_name(key, names)) {
    message += " (did you mean " + quoted(*suggestion) + "?)";
  }
  return {key, std::move(message)};
}

// --- The engine -----------------------------------------------------------------------------

// The keys the user gave, for rules that depend on whether a value was set or defaulted
// (Java: AbstractConfig.originals().containsKey).
using key_set = std::set<std::string, std::less<>>;

template <class Config>
std::optional<config_error> assign_properties(std::span<const property<Config>> table,
                                              std::string_view role, const properties& given,
                                              Config& config, key_set& given_keys) {
  for (auto entry = given.begin(); entry != given.end(); ++entry) {
    const std::string& key = entry->first;
    const std::string& value = entry->second;
    // The last of a repeated key wins, as in java.util.Properties.
    const bool repeated_later =
        std::any_of(entry + 1, given.end(), [&](const auto& later) { return later.first == key; });
    if (repeated_later) continue;
    const auto found = std::ranges::find(table, key, &property<Config>::name);
    if (found == table.end()) return unknown_key_error(key, role, table);
    if (auto error = found->assign(found->rule, trim(value), config)) {
      return config_error{key, key + ": " + *error};
    }
    given_keys.insert(key);
  }
  for (const property<Config>& p : table) {
    if (p.required && !given_keys.contains(p.name)) {
      return config_error{std::string(p.name), std::string(p.name) + " is required"};
    }
  }
  return std::nullopt;
}

// --- Cross-field rules ----------------------------------------------------------------------

std::string ms_text(milliseconds value) { return std::to_string(value.count()) + " ms"; }

bool uses_tls(security_protocol p) {
  return p == security_protocol::ssl || p == security_protocol::sasl_ssl;
}
bool uses_sasl(security_protocol p) {
  return p == security_protocol::sasl_plaintext || p == security_protocol::sasl_ssl;
}

// What TLS and SASL need, checked once here so that connections never meet a half-valid
// setting. Files are read when the client is created (cluster_options_for), not here.
std::optional<config_error> apply_security_rules(common_config& config, const key_set& given) {
  for (const auto& version : config.ssl_enabled_protocols) {
    if (version != "TLSv1.2" && version != "TLSv1.3")
      return config_error{"ssl.enabled.protocols",
                          "ssl.enabled.protocols: " + quoted(version) +
                              " is not one of TLSv1.2, TLSv1.3 (older versions are insecure)"};
  }
  if (config.ssl_enabled_protocols.empty())
    return config_error{"ssl.enabled.protocols",
                        "ssl.enabled.protocols: is empty (give TLSv1.2 and/or TLSv1.3)"};
  const auto& algorithm = config.ssl_endpoint_identification_algorithm;
  if (!algorithm.empty() && !equal_ignoring_case(algorithm, "https"))
    return config_error{"ssl.endpoint.identification.algorithm",
                        "ssl.endpoint.identification.algorithm: " + quoted(algorithm) +
                            " is not one of https, \"\" (empty: no host name check)"};
  if (uses_tls(config.security) && algorithm.empty())
    config.warnings.push_back(
        "ssl.endpoint.identification.algorithm is empty: brokers' certificates are not "
        "checked against the host connected to, so any certificate the trusted CAs signed "
        "is accepted (a man in the middle with one can read everything)");
  // Settings that would do nothing (values, not keys: to_properties() writes every default).
  if (!uses_tls(config.security) &&
      (config.ssl_truststore_location || config.ssl_keystore_location ||
       !config.ssl_cipher_suites.empty()))
    config.warnings.push_back(
        "ssl.truststore.location, ssl.keystore.location and ssl.cipher.suites are ignored: "
        "security.protocol is not SSL or SASL_SSL");
  if (config.ssl_key_password && !config.ssl_keystore_location)
    return config_error{"ssl.key.password",
                        "ssl.key.password: is set but ssl.keystore.location is not"};
  if (!uses_sasl(config.security)) {
    if (config.sasl_jaas_config)
      config.warnings.push_back(
          "sasl.jaas.config is ignored: security.protocol is not SASL_PLAINTEXT or SASL_SSL");
    return std::nullopt;
  }
  const auto mechanism = config.sasl_mechanism_type;
  if (mechanism == sasl_mechanism::gssapi) {
    if (config.sasl_kerberos_service_name.empty())
      return config_error{"sasl.kerberos.service.name",
                          "sasl.kerberos.service.name: must not be empty with GSSAPI"};
    if (config.sasl_jaas_config)
      config.warnings.push_back(
          std::string("sasl.jaas.config is ignored with sasl.mechanism GSSAPI") +
          (given.contains("sasl.mechanism") ? "" : " (the default: sasl.mechanism is not set)") +
          ": kwire logs in with sasl.kerberos.kinit.cmd and the ticket cache");
    return std::nullopt;
  }
  if (!config.sasl_jaas_config)
    return config_error{
        "sasl.jaas.config",
        "sasl.jaas.config: is required with security.protocol " +
            std::string(choice_name(one_of(security_protocol_names, letter_case::ignored),
                                    static_cast<int>(config.security))) +
            " (e.g. org.apache.kafka.common.security.plain.PlainLoginModule "
            "required username=\"...\" password=\"...\";)"};
  jaas_login login;
  if (auto error = parse_jaas_config(*config.sasl_jaas_config, login))
    return config_error{"sasl.jaas.config", "sasl.jaas.config: " + *error};
  const jaas_login_module wanted = mechanism == sasl_mechanism::plain ? jaas_login_module::plain
                                   : mechanism == sasl_mechanism::oauthbearer
                                       ? jaas_login_module::oauthbearer
                                       : jaas_login_module::scram;
  if (login.module != wanted)
    return config_error{
        "sasl.jaas.config",
        "sasl.jaas.config: " + std::string(login_module_class(login.module)) +
            " does not go with sasl.mechanism " +
            std::string(choice_name(one_of(sasl_mechanism_names, letter_case::exact),
                                    static_cast<int>(mechanism))) +
            " (use " + std::string(login_module_class(wanted)) + ")"};
  return std::nullopt;
}

void apply_common_rules(common_config& config, const key_set& given) {
  // CommonClientConfigs.postProcessReconnectBackoffConfigs: reconnect.backoff.ms given
  // without reconnect.backoff.max.ms turns exponential reconnect backoff off.
  if (given.contains("reconnect.backoff.ms") && !given.contains("reconnect.backoff.max.ms")) {
    config.reconnect_backoff_max = config.reconnect_backoff;
    config.warnings.push_back(
        "reconnect.backoff.max.ms set to reconnect.backoff.ms (" +
        ms_text(config.reconnect_backoff) +
        "): only reconnect.backoff.ms was given, so reconnect backoff does not grow");
  }
  // CommonClientConfigs.warnDisablingExponentialBackoff: a start above the maximum makes the
  // maximum a constant (ExponentialBackoff never exceeds it).
  if (config.retry_backoff > config.retry_backoff_max) {
    config.warnings.push_back("retry.backoff.ms (" + ms_text(config.retry_backoff) +
                              ") is above retry.backoff.max.ms, so every retry waits " +
                              ms_text(config.retry_backoff_max));
  }
  if (config.socket_connection_setup_timeout > config.socket_connection_setup_timeout_max) {
    config.warnings.push_back("socket.connection.setup.timeout.ms (" +
                              ms_text(config.socket_connection_setup_timeout) +
                              ") is above socket.connection.setup.timeout.max.ms, so every "
                              "connection attempt may take " +
                              ms_text(config.socket_connection_setup_timeout_max));
  }
}

// The most unacknowledged batches per partition the broker remembers for deduplication
// (ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION_FOR_IDEMPOTENCE).
constexpr std::int32_t max_in_flight_for_idempotence = 5;

// ProducerConfig.postProcessAndValidateIdempotenceConfigs, step by step: with idempotence
// on, retries == 0 or acks != all is an error when enable.idempotence was given, else
// turns idempotence off; more than 5 in flight is an error either way (Java checks it
// before turning idempotence off); a transactional.id needs idempotence.
std::optional<config_error> apply_idempotence_rules(producer_config& config, const key_set& given) {
  const bool idempotence_given = given.contains("enable.idempotence");
  if (config.enable_idempotence) {
    std::vector<std::string> conflicts;
    if (config.retries == 0) {
      if (idempotence_given) {
        return config_error{"retries",
                            "retries: 0 conflicts with enable.idempotence=true (the idempotent "
                            "producer needs retries > 0)"};
      }
      conflicts.emplace_back("retries=0");
    }
    if (config.acks != required_acks::all) {
      const std::string acks(
          choice_name(one_of(acks_names, letter_case::exact), static_cast<int>(config.acks)));
      if (idempotence_given) {
        return config_error{"acks", "acks: " + acks +
                                        " conflicts with enable.idempotence=true (the idempotent "
                                        "producer needs acks=all)"};
      }
      conflicts.push_back("acks=" + acks);
    }
    if (config.max_in_flight_requests_per_connection > max_in_flight_for_idempotence) {
      return config_error{
          "max.in.flight.requests.per.connection",
          "max.in.flight.requests.per.connection: " +
              std::to_string(config.max_in_flight_requests_per_connection) +
              " is above 5, the most the idempotent producer allows" +
              (idempotence_given ? std::string() : std::string(" (idempotence is on by default)")) +
              "; set enable.idempotence=false to allow more"};
    }
    if (!conflicts.empty()) {
      config.enable_idempotence = false;
      config.idempotence_disabled_reason =
          join(conflicts, " and ", [](const std::string& s) { return s; });
      config.warnings.push_back("idempotence turned off because of " +
                                config.idempotence_disabled_reason +
                                " (it needs acks=all and retries > 0); set "
                                "enable.idempotence=false to say so");
    }
  }
  if (config.transactional_id && !config.enable_idempotence) {
    const std::string why =
        config.idempotence_disabled_reason.empty()
            ? std::string("enable.idempotence is false")
            : "idempotence is off because of " + config.idempotence_disabled_reason;
    return config_error{"transactional.id",
                        "transactional.id needs the idempotent producer, but " + why};
  }
  return std::nullopt;
}

// KafkaProducer.configureDeliveryTimeout: delivery.timeout.ms must cover linger.ms +
// request.timeout.ms (sum capped at 2^31-1, linger.ms first capped the same); an explicit
// value below is an error, the default is raised to the sum.
std::optional<config_error> apply_delivery_timeout_rule(producer_config& config,
                                                        const key_set& given) {
  const std::int64_t linger = std::min(config.linger.count(), int32_max);
  const std::int64_t least = std::min(linger + config.request_timeout.count(), int32_max);
  if (config.delivery_timeout.count() >= least) return std::nullopt;
  if (given.contains("delivery.timeout.ms")) {
    return config_error{"delivery.timeout.ms",
                        "delivery.timeout.ms: " + std::to_string(config.delivery_timeout.count()) +
                            " is less than linger.ms + request.timeout.ms (" +
                            std::to_string(least) + ")"};
  }
  config.warnings.push_back("delivery.timeout.ms raised from " + ms_text(config.delivery_timeout) +
                            " to linger.ms + request.timeout.ms (" + ms_text(milliseconds{least}) +
                            ")");
  config.delivery_timeout = milliseconds{least};
  return std::nullopt;
}

// The assignors make_assignor() builds (assignor.hpp), by short and by Java class name.
constexpr auto known_assignors = std::to_array<std::string_view>({
    "range",
    "roundrobin",
    "cooperative-sticky",
    "org.apache.kafka.clients.consumer.RangeAssignor",
    "org.apache.kafka.clients.consumer.RoundRobinAssignor",
    "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
});

// ConsumerConfig / KafkaConsumer / GroupRebalanceConfig checks, in Java's order where it
// has one: auto commit and instance id need a group; heartbeat below the session timeout;
// the classic-only and consumer-only keys of KIP-848; known assignors.
std::optional<config_error> apply_consumer_rules(consumer_config& config, const key_set& given) {
  if (!config.group_id) {
    // ConsumerConfig.maybeOverrideEnableAutoCommit: off without a group, an error if asked for.
    if (config.enable_auto_commit && given.contains("enable.auto.commit")) {
      return config_error{"enable.auto.commit",
                          "enable.auto.commit: true needs group.id (offsets are committed to "
                          "a group); set group.id or enable.auto.commit=false"};
    }
    config.enable_auto_commit = false;
    if (config.group_instance_id) {
      return config_error{"group.instance.id",
                          "group.instance.id needs group.id (it names a member of a group)"};
    }
  }
  if (config.group_protocol_type == group_protocol::consumer) {
    // ConsumerConfig.checkGroupRemoteAssignor and KIP-848's rules: the broker assigns and
    // times sessions and heartbeats, so the classic settings would silently not apply.
    for (std::string_view key :
         {"partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms"}) {
      if (given.contains(key)) {
        return config_error{std::string(key),
                            std::string(key) +
                                " does not apply with group.protocol=consumer (the broker "
                                "decides it); leave it out"};
      }
    }
  } else {
    if (config.group_remote_assignor) {
      return config_error{"group.remote.assignor",
                          "group.remote.assignor applies only with group.protocol=consumer"};
    }
    if (config.heartbeat_interval >= config.session_timeout) {
      return config_error{"heartbeat.interval.ms",
                          "heartbeat.interval.ms: " + ms_text(config.heartbeat_interval) +
                              " must be lower than session.timeout.ms (" +
                              ms_text(config.session_timeout) + ")"};
    }
    if (config.partition_assignment_strategy.empty()) {
      return config_error{"partition.assignment.strategy",
                          "partition.assignment.strategy is empty; name at least one of "
                          "range, roundrobin, cooperative-sticky"};
    }
    for (const std::string& name : config.partition_assignment_strategy) {
      if (std::ranges::find(known_assignors, name) == known_assignors.end()) {
        return config_error{"partition.assignment.strategy",
                            "partition.assignment.strategy: " + quoted(name) +
                                " is not one of range, roundrobin, cooperative-sticky (or "
                                "their Java class names)"};
      }
    }
  }
  return std::nullopt;
}

// KafkaAdminClient.configureDefaultApiTimeoutMs: an operation's timeout must cover one
// request; an explicit default.api.timeout.ms below request.timeout.ms is an error, the
// default is raised to it.
std::optional<config_error> apply_api_timeout_rule(admin_config& config, const key_set& given) {
  if (config.default_api_timeout >= config.request_timeout) return std::nullopt;
  if (given.contains("default.api.timeout.ms")) {
    return config_error{
        "default.api.timeout.ms",
        "default.api.timeout.ms: " + std::to_string(config.default_api_timeout.count()) +
            " is less than request.timeout.ms (" + std::to_string(config.request_timeout.count()) +
            ")"};
  }
  config.warnings.push_back("default.api.timeout.ms raised from " +
                            ms_text(config.default_api_timeout) + " to request.timeout.ms (" +
                            ms_text(config.request_timeout) + ")");
  config.default_api_timeout = config.request_timeout;
  return std::nullopt;
}

}  // namespace

std::string to_string(const broker_address& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

namespace {

// The parse every client kind shares: the table's properties, the common rules, then the
// kind's own cross-field rules (each returns an error or nothing); `out` changes only on
// success.
template <class Config, class Table, class... Rules>
std::optional<config_error> parse_config(const Table& table, std::string_view role,
                                         const properties& given, Config& out, Rules... rules) {
  Config config;
  key_set given_keys;
  if (auto error = assign_properties<Config>(table, role, given, config, given_keys)) return error;
  apply_common_rules(config, given_keys);
  if (auto error = apply_security_rules(config, given_keys)) return error;
  std::optional<config_error> error;
  ((error = error ? error : rules(config, given_keys)), ...);
  if (error) return error;
  out = std::move(config);
  return std::nullopt;
}

}  // namespace

std::optional<config_error> parse_common_config(const properties& given, common_config& out) {
  return parse_config(common_table, "common client", given, out);
}

std::optional<config_error> parse_producer_config(const properties& given, producer_config& out) {
  // Java's order: ProducerConfig's post-processing, then KafkaProducer's constructor.
  return parse_config(producer_table, "producer", given, out, apply_idempotence_rules,
                      apply_delivery_timeout_rule);
}

std::optional<config_error> parse_consumer_config(const properties& given, consumer_config& out) {
  return parse_config(consumer_table, "consumer", given, out, apply_consumer_rules);
}

std::optional<config_error> parse_admin_config(const properties& given, admin_config& out) {
  return parse_config(admin_table, "admin", given, out, apply_api_timeout_rule);
}

std::vector<property_description> describe_common_config() {
  return describe<common_config>(common_table);
}

std::vector<property_description> describe_producer_config() {
  return describe<producer_config>(producer_table);
}

properties to_properties(const common_config& config) {
  return render_all<common_config>(common_table, config);
}

properties to_properties(const producer_config& config) {
  return render_all<producer_config>(producer_table, config);
}

std::vector<property_description> describe_consumer_config() {
  return describe<consumer_config>(consumer_table);
}

properties to_properties(const consumer_config& config) {
  return render_all<consumer_config>(consumer_table, config);
}

std::vector<property_description> describe_admin_config() {
  return describe<admin_config>(admin_table);
}

properties to_properties(const admin_config& config) {
  return render_all<admin_config>(admin_table, config);
}

}  // namespace kwire::client
