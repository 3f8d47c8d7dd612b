// What the admin client's operations take and give back (admin.hpp has the operations).
//
// Every operation reports one outcome per item it was given (a topic, a group, a partition,
// a config resource), in the order given: `error` empty on success, else the reason, with
// `message` (one line for a log) and `detail` (broker, API, version, topic, partition, the
// broker's own error message).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/client/error.hpp"
#include "kwire/client/topic_partition.hpp"
#include "kwire/protocol/buffer.hpp"

namespace kwire::client {

// The outcome of one item of an admin operation.
struct admin_item_result {
  std::error_code error;
  std::string message;  // empty on success
  diagnostics detail;
};

// How long an operation may take, retries included; -1: default.api.timeout.ms.
struct admin_options {
  std::chrono::milliseconds timeout{-1};
};

// ---------------------------------------------------------------- topics

struct new_topic {
  std::string name;
  std::int32_t partitions = -1;          // -1: the broker's num.partitions
  std::int16_t replication_factor = -1;  // -1: the broker's default.replication.factor
  // Partition -> replica broker ids; when given, partitions and replication_factor stay -1.
  std::map<std::int32_t, std::vector<std::int32_t>> replica_assignment{};
  std::vector<std::pair<std::string, std::string>> configs{};
};

struct create_topics_options {
  std::chrono::milliseconds timeout{-1};
  bool validate_only = false;  // the broker checks the request but creates nothing
};

// Where a config value comes from (DescribeConfigs ConfigSource).
enum class config_source : std::int8_t {
  unknown = 0,
  dynamic_topic = 1,
  dynamic_broker = 2,
  dynamic_default_broker = 3,
  static_broker = 4,
  default_config = 5,
  dynamic_broker_logger = 6,
  client_metrics = 7,
  dynamic_group = 8,
};

struct config_synonym {
  std::string name;
  std::optional<std::string> value;
  config_source source = config_source::unknown;
};

struct config_entry {
  std::string name;
  std::optional<std::string> value;  // nullopt: sensitive or unset
  bool read_only = false;
  bool is_default = false;
  bool sensitive = false;
  config_source source = config_source::unknown;
  std::vector<config_synonym> synonyms;      // with describe_configs_options::include_synonyms
  std::int8_t type = 0;                      // ConfigType: 1 boolean, 2 string, 3 int, ...
  std::optional<std::string> documentation;  // with include_documentation
};

struct created_topic : admin_item_result {
  std::string name;
  protocol::uuid topic_id{};  // zero before CreateTopics v7
  std::int32_t partitions = -1;
  std::int16_t replication_factor = -1;
  std::vector<config_entry> configs;  // the topic's effective configs (v5+)
};
struct create_topics_result {
  std::vector<created_topic> topics;
};

struct topic_outcome : admin_item_result {
  std::string name;
};
struct delete_topics_result {
  std::vector<topic_outcome> topics;
};

struct new_partitions {
  std::string topic;
  std::int32_t total_count = 0;  // the partition count afterwards
  // Replica broker ids for each new partition; empty: the broker places them.
  std::vector<std::vector<std::int32_t>> assignments{};
};
struct create_partitions_options {
  std::chrono::milliseconds timeout{-1};
  bool validate_only = false;
};
struct create_partitions_result {
  std::vector<topic_outcome> topics;
};

// ---------------------------------------------------------------- configs

enum class config_resource_type : std::int8_t {
  topic = 2,
  broker = 4,  // name: the broker id, or "" for the cluster-wide default
  broker_logger = 8,
  client_metrics = 16,
  group = 32,
};

struct config_resource {
  config_resource_type type = config_resource_type::topic;
  std::string name;
  bool operator==(const config_resource&) const = default;
};

struct describe_configs_options {
  std::chrono::milliseconds timeout{-1};
  bool include_synonyms = false;
  bool include_documentation = false;
};

struct described_config : admin_item_result {
  config_resource resource;
  std::vector<config_entry> entries;
};
struct describe_configs_result {
  std::vector<described_config> resources;
};

enum class alter_config_op : std::int8_t { set = 0, remove = 1, append = 2, subtract = 3 };

struct config_alteration {
  std::string name;
  alter_config_op op = alter_config_op::set;
  std::optional<std::string> value{};  // nullopt for remove
};

struct resource_alterations {
  config_resource resource;
  std::vector<config_alteration> changes;
};

struct alter_configs_options {
  std::chrono::milliseconds timeout{-1};
  bool validate_only = false;
};

struct resource_outcome : admin_item_result {
  config_resource resource;
};
struct alter_configs_result {
  std::vector<resource_outcome> resources;
};

// ---------------------------------------------------------------- groups

struct list_groups_options {
  std::chrono::milliseconds timeout{-1};
  std::vector<std::string> states{};  // e.g. "Stable", "Empty" (ListGroups v4+); empty: all
  std::vector<std::string> types{};   // "classic", "consumer", ... (v5+); empty: all
};

struct listed_group {
  std::string group_id;
  std::string protocol_type;  // "consumer" for consumer groups
  std::string state;          // v4+; empty before
  std::string type;           // v5+; empty before
  std::int32_t coordinator = -1;
};

// ListGroups asks every broker; one outcome per broker.
struct broker_outcome : admin_item_result {
  std::int32_t broker_id = -1;
};
struct list_groups_result {
  std::vector<listed_group> groups;  // from every broker that answered
  std::vector<broker_outcome> brokers;
};

struct describe_groups_options {
  std::chrono::milliseconds timeout{-1};
  bool include_authorized_operations = false;
};

struct group_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::vector<std::uint8_t> metadata;    // the protocol's subscription bytes, undecoded
  std::vector<std::uint8_t> assignment;  // the protocol's assignment bytes, undecoded
};

struct described_group : admin_item_result {
  std::string group_id;
  std::string state;          // "Stable", "Empty", "Dead", ...
  std::string protocol_type;  // "consumer", ...
  std::string protocol;       // the chosen assignor ("range", ...)
  std::vector<group_member> members;
  std::int32_t coordinator = -1;
  std::int32_t authorized_operations = -2147483647 - 1;  // bit field; INT32_MIN: not asked
};
struct describe_groups_result {
  std::vector<described_group> groups;
};

struct group_outcome : admin_item_result {
  std::string group_id;
};
struct delete_groups_result {
  std::vector<group_outcome> groups;
};

struct list_group_offsets_options {
  std::chrono::milliseconds timeout{-1};
  bool require_stable = false;  // wait for pending transactional commits (v7+)
};

struct committed_offset : admin_item_result {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;  // -1: nothing committed
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};
struct group_offsets : admin_item_result {  // the group-level outcome
  std::string group_id;
  std::vector<committed_offset> partitions;
};

struct offset_to_commit {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = 0;
  std::int32_t leader_epoch = -1;
  std::optional<std::string> metadata = std::string();
};

struct partition_outcome : admin_item_result {
  std::string topic;
  std::int32_t partition = -1;
};
struct alter_group_offsets_result : admin_item_result {  // the group-level outcome
  std::string group_id;
  std::vector<partition_outcome> partitions;
};

// ---------------------------------------------------------------- partitions

// Which offset ListOffsets looks up.
struct offset_spec {
  std::int64_t timestamp = -1;  // >= 0: the first offset at or after this time (ms)
  static constexpr offset_spec earliest() { return {-2}; }
  static constexpr offset_spec latest() { return {-1}; }
  static constexpr offset_spec max_timestamp() { return {-3}; }  // ListOffsets v7+
  static constexpr offset_spec at(std::int64_t millis) { return {millis}; }
};

struct offset_query {
  std::string topic;
  std::int32_t partition = -1;
  offset_spec spec{};
};

struct list_offsets_options {
  std::chrono::milliseconds timeout{-1};
  bool read_committed = false;  // isolation level: the last stable offset instead of the end
};

struct listed_offset : admin_item_result {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int64_t timestamp = -1;
  std::int32_t leader_epoch = -1;
};
struct list_offsets_result {
  std::vector<listed_offset> partitions;
};

struct records_to_delete {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t before_offset = -1;  // -1: up to the high watermark
};

struct deleted_records : admin_item_result {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t low_watermark = -1;
};
struct delete_records_result {
  std::vector<deleted_records> partitions;
};

// ---------------------------------------------------------------- transactions

struct list_transactions_options {
  std::chrono::milliseconds timeout{-1};
  std::vector<std::string> states{};         // "Ongoing", "PrepareCommit", ...; empty: all
  std::vector<std::int64_t> producer_ids{};  // empty: all
  // Only transactions open at least this long (ListTransactions v1+, KIP-994); -1: all.
  std::chrono::milliseconds min_duration{-1};
  // Only transactional ids matching this regular expression (v2+); nullopt: all.
  std::optional<std::string> transactional_id_pattern{};
};

struct listed_transaction {
  std::string transactional_id;
  std::int64_t producer_id = -1;
  std::string state;  // "Ongoing", "PrepareCommit", "CompleteAbort", "Empty", ...
  std::int32_t coordinator = -1;
};

// ListTransactions asks every broker; one outcome per broker.
struct list_transactions_result {
  std::vector<listed_transaction> transactions;  // from every broker that answered
  std::vector<broker_outcome> brokers;
};

struct described_transaction : admin_item_result {
  std::string transactional_id;
  std::string state;
  std::int32_t timeout_ms = -1;
  std::int64_t start_time_ms = -1;  // -1: no transaction open
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::vector<topic_partition> partitions;  // in the open transaction
  std::int32_t coordinator = -1;
};
struct describe_transactions_result {
  std::vector<described_transaction> transactions;
};

// One producer a partition's leader knows (DescribeProducers).
struct producer_state {
  std::int64_t producer_id = -1;
  std::int32_t producer_epoch = -1;
  std::int32_t last_sequence = -1;
  std::int64_t last_timestamp = -1;
  std::int32_t coordinator_epoch = -1;
  std::int64_t current_txn_start_offset = -1;  // >= 0: a transaction open from there
};
struct described_producers : admin_item_result {
  std::string topic;
  std::int32_t partition = -1;
  std::int32_t leader = -1;
  std::vector<producer_state> producers;
};
struct describe_producers_result {
  std::vector<described_producers> partitions;
};

// The abort marker for a hanging transaction on one partition (KIP-664), with the values
// DescribeProducers gives for the producer.
struct abort_transaction_spec {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t coordinator_epoch = -1;
};

// ---------------------------------------------------------------- cluster

struct describe_cluster_options {
  std::chrono::milliseconds timeout{-1};
  bool include_authorized_operations = false;
  bool include_fenced_brokers = false;  // DescribeCluster v2+
};

struct described_broker {
  std::int32_t node_id = -1;
  std::string host;
  std::int32_t port = 0;
  std::optional<std::string> rack;
  bool fenced = false;
};

struct cluster_description : admin_item_result {
  std::string cluster_id;
  std::int32_t controller_id = -1;
  std::vector<described_broker> brokers;
  std::int32_t authorized_operations = -2147483647 - 1;
};

}  // namespace kwire::client
