// The admin client against the real cluster of the ctest fixture (1 or 3 nodes): describe
// the cluster; create a topic (validate-only first), add partitions; describe and alter
// topic configs, describe a broker's configs; produce a few records with the kwire producer
// and list offsets; delete records; commit and fetch a group's offsets; list, describe and
// delete the group; delete the topic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <random>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/client/producer.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using namespace std::chrono_literals;

namespace {

// Runs the io_context until `done` or the bound passes.
template <class Pred>
void run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds bound = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
}

class AdminLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty())
      GTEST_SKIP() << "no broker: KWIRE_BOOTSTRAP_FILE is unset or empty (ctest starts one with "
                      "scripts/kafka-local.sh, which needs Java)";
    nodes_ = static_cast<int>(kwire::test::parse_bootstrap(bootstrap_).size());
    const auto suffix = std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    topic_ = "kwire-admin-" + suffix;
    group_ = "kwire-admin-group-" + suffix;
    const auto error = kc::parse_admin_config(
        {{"bootstrap.servers", bootstrap_}, {"default.api.timeout.ms", "60000"}}, config_);
    ASSERT_FALSE(error) << error->message;
  }

  template <class Result, class Start>
  std::pair<std::error_code, Result> wait_for(Start start) {
    bool done = false;
    std::pair<std::error_code, Result> out;
    start([&](std::error_code ec, Result r) {
      out = {ec, std::move(r)};
      done = true;
    });
    run_until(
        io_, [&] { return done; }, 90s);
    EXPECT_TRUE(done);
    return out;
  }

  // The config entry `name` of the topic, or nullptr.
  static const kc::config_entry* entry(const kc::described_config& r, std::string_view name) {
    for (const auto& e : r.entries)
      if (e.name == name) return &e;
    return nullptr;
  }

  void produce(int count) {
    kc::producer_config pc;
    auto error = kc::parse_producer_config({{"bootstrap.servers", bootstrap_}}, pc);
    ASSERT_FALSE(error) << error->message;
    kc::producer p(io_.get_executor(), pc);
    int acked = 0;
    for (int i = 0; i < count; ++i) {
      const std::string value = "v" + std::to_string(i);
      kc::producer_record record{.topic = topic_, .partition = 0};
      record.value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size());
      ASSERT_FALSE(p.send(record, [&](std::error_code ec, const kc::delivery_report&) {
        EXPECT_FALSE(ec) << ec.message();
        ++acked;
      }));
    }
    run_until(
        io_, [&] { return acked == count; }, 60s);
    ASSERT_EQ(acked, count);
    bool closed = false;
    p.async_close(5s, [&] { closed = true; });
    run_until(io_, [&] { return closed; });
  }

  boost::asio::io_context io_;
  std::string bootstrap_;
  int nodes_ = 0;
  std::string topic_;
  std::string group_;
  kc::admin_config config_;
};

TEST_F(AdminLive, TopicsConfigsOffsetsRecordsAndGroups) {
  kc::admin admin(io_.get_executor(), config_);

  // The cluster.
  auto [cluster_ec, cluster] =
      wait_for<kc::cluster_description>([&](auto h) { admin.async_describe_cluster({}, h); });
  ASSERT_FALSE(cluster_ec) << cluster.message;
  EXPECT_FALSE(cluster.cluster_id.empty());
  EXPECT_EQ(static_cast<int>(cluster.brokers.size()), nodes_);
  ASSERT_FALSE(cluster.brokers.empty());

  // Create: validate-only creates nothing; then for real; then once more is an error.
  const auto replication = static_cast<std::int16_t>(std::min(nodes_, 3));
  const kc::new_topic spec{.name = topic_,
                           .partitions = 2,
                           .replication_factor = replication,
                           .configs = {{"cleanup.policy", "delete"}}};
  auto [validate_ec, validated] = wait_for<kc::create_topics_result>(
      [&](auto h) { admin.async_create_topics({spec}, {.validate_only = true}, h); });
  ASSERT_FALSE(validate_ec) << validated.topics.at(0).message;
  auto [create_ec, created] =
      wait_for<kc::create_topics_result>([&](auto h) { admin.async_create_topics({spec}, {}, h); });
  ASSERT_FALSE(create_ec) << created.topics.at(0).message;
  EXPECT_EQ(created.topics[0].partitions, 2);
  EXPECT_EQ(created.topics[0].replication_factor, replication);
  auto [again_ec, again] =
      wait_for<kc::create_topics_result>([&](auto h) { admin.async_create_topics({spec}, {}, h); });
  EXPECT_EQ(again_ec, kp::make_error_code(kp::broker_error::topic_already_exists));
  EXPECT_FALSE(again.topics.at(0).message.empty());

  // Partitions: 2 -> 3; the new one has a leader soon (list_offsets waits for it).
  auto [partitions_ec, partitions] = wait_for<kc::create_partitions_result>(
      [&](auto h) { admin.async_create_partitions({{.topic = topic_, .total_count = 3}}, {}, h); });
  ASSERT_FALSE(partitions_ec) << partitions.topics.at(0).message;

  // Configs: the topic's, altered, and a broker's own.
  const kc::config_resource topic_resource{kc::config_resource_type::topic, topic_};
  auto [alter_ec, altered] = wait_for<kc::alter_configs_result>([&](auto h) {
    admin.async_alter_configs(
        {{topic_resource, {{"retention.ms", kc::alter_config_op::set, "123456"}}}}, {}, h);
  });
  ASSERT_FALSE(alter_ec) << altered.resources.at(0).message;
  const kc::config_resource broker_resource{kc::config_resource_type::broker,
                                            std::to_string(cluster.brokers.back().node_id)};
  // Brokers learn config changes from the metadata log, so the broker that answers may not
  // have seen the change yet on 3 nodes: ask again until it has (as Java's tests do).
  std::pair<std::error_code, kc::describe_configs_result> answer;
  const auto until = std::chrono::steady_clock::now() + 30s;
  do {
    answer = wait_for<kc::describe_configs_result>([&](auto h) {
      admin.async_describe_configs({topic_resource, broker_resource}, {.include_synonyms = true},
                                   h);
    });
    const auto* seen = answer.second.resources.empty()
                           ? nullptr
                           : entry(answer.second.resources[0], "retention.ms");
    if (answer.first || (seen && seen->value == "123456")) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < until);
  auto& [describe_ec, described] = answer;
  ASSERT_FALSE(describe_ec) << described.resources.at(0).message
                            << described.resources.at(1).message;
  const auto* retention = entry(described.resources[0], "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "123456");
  EXPECT_EQ(retention->source, kc::config_source::dynamic_topic);
  const auto* cleanup = entry(described.resources[0], "cleanup.policy");
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(cleanup->value, "delete");
  EXPECT_NE(entry(described.resources[1], "num.io.threads"), nullptr);

  // Offsets after producing 5 records to partition 0.
  produce(5);
  auto list = [&](std::vector<kc::offset_query> queries) {
    return wait_for<kc::list_offsets_result>(
        [&](auto h) { admin.async_list_offsets(std::move(queries), {}, h); });
  };
  // (A partition once per call, as in Java's map of partition to spec.)
  auto [offsets_ec, offsets] = list({{topic_, 0, kc::offset_spec::latest()},
                                     {topic_, 1, kc::offset_spec::earliest()},
                                     {topic_, 2, kc::offset_spec::latest()}});
  for (const auto& p : offsets.partitions) EXPECT_FALSE(p.error) << p.message;
  ASSERT_FALSE(offsets_ec);
  EXPECT_EQ(offsets.partitions[0].offset, 5);
  EXPECT_EQ(offsets.partitions[1].offset, 0);
  EXPECT_EQ(offsets.partitions[2].offset, 0);
  auto [first_ec, first] = list({{topic_, 0, kc::offset_spec::earliest()}});
  ASSERT_FALSE(first_ec) << first.partitions.at(0).message;
  EXPECT_EQ(first.partitions[0].offset, 0);

  // Delete records before offset 2.
  auto [delete_ec, deleted] = wait_for<kc::delete_records_result>([&](auto h) {
    admin.async_delete_records({{topic_, 0, 2}}, {}, h);
  });
  ASSERT_FALSE(delete_ec) << deleted.partitions.at(0).message;
  EXPECT_EQ(deleted.partitions[0].low_watermark, 2);
  auto [earliest_ec, earliest] = list({{topic_, 0, kc::offset_spec::earliest()}});
  ASSERT_FALSE(earliest_ec) << earliest.partitions.at(0).message;
  EXPECT_EQ(earliest.partitions[0].offset, 2);

  // Group offsets: commit for an empty group, then read back.
  auto [commit_ec, committed] = wait_for<kc::alter_group_offsets_result>([&](auto h) {
    admin.async_alter_group_offsets(group_, {{.topic = topic_, .partition = 0, .offset = 3}}, {},
                                    h);
  });
  ASSERT_FALSE(commit_ec) << committed.message
                          << (committed.partitions.empty() ? "" : committed.partitions[0].message);
  auto [fetch_ec, fetched] = wait_for<kc::group_offsets>(
      [&](auto h) { admin.async_list_group_offsets(group_, std::nullopt, {}, h); });
  ASSERT_FALSE(fetch_ec) << fetched.message;
  ASSERT_EQ(fetched.partitions.size(), 1u);
  EXPECT_EQ(fetched.partitions[0].topic, topic_);
  EXPECT_EQ(fetched.partitions[0].offset, 3);
  auto [some_ec, some] = wait_for<kc::group_offsets>([&](auto h) {
    admin.async_list_group_offsets(group_, std::vector<kc::topic_partition>{{topic_, 1}}, {}, h);
  });
  ASSERT_FALSE(some_ec) << some.message;
  ASSERT_EQ(some.partitions.size(), 1u);
  EXPECT_EQ(some.partitions[0].offset, -1);  // nothing committed there

  // Groups: listed, described (no members), deleted.
  auto [groups_ec, groups] =
      wait_for<kc::list_groups_result>([&](auto h) { admin.async_list_groups({}, h); });
  ASSERT_FALSE(groups_ec) << groups.brokers.at(0).message;
  EXPECT_EQ(static_cast<int>(groups.brokers.size()), nodes_);
  EXPECT_TRUE(std::any_of(groups.groups.begin(), groups.groups.end(),
                          [&](const kc::listed_group& g) { return g.group_id == group_; }));
  auto [dg_ec, dg] = wait_for<kc::describe_groups_result>(
      [&](auto h) { admin.async_describe_groups({group_}, {}, h); });
  ASSERT_FALSE(dg_ec) << dg.groups.at(0).message;
  EXPECT_EQ(dg.groups[0].state, "Empty");
  EXPECT_TRUE(dg.groups[0].members.empty());
  EXPECT_GE(dg.groups[0].coordinator, 0);
  auto [del_ec, del] = wait_for<kc::delete_groups_result>(
      [&](auto h) { admin.async_delete_groups({group_}, {}, h); });
  ASSERT_FALSE(del_ec) << del.groups.at(0).message;
  auto [gone_ec, gone] = wait_for<kc::delete_groups_result>(
      [&](auto h) { admin.async_delete_groups({group_}, {}, h); });
  EXPECT_EQ(gone_ec, kp::make_error_code(kp::broker_error::group_id_not_found))
      << gone.groups.at(0).message;

  // Delete the topic; a second time it is unknown.
  auto [dt_ec, dt] = wait_for<kc::delete_topics_result>(
      [&](auto h) { admin.async_delete_topics({topic_}, {}, h); });
  ASSERT_FALSE(dt_ec) << dt.topics.at(0).message;
  auto [dt2_ec, dt2] = wait_for<kc::delete_topics_result>(
      [&](auto h) { admin.async_delete_topics({topic_}, {}, h); });
  EXPECT_EQ(dt2_ec, kp::make_error_code(kp::broker_error::unknown_topic_or_partition))
      << dt2.topics.at(0).message;

  bool closed = false;
  admin.async_close([&] { closed = true; });
  run_until(io_, [&] { return closed; });
}

}  // namespace
