// The Kafka source (kwire::connector::kafka_source) against a real broker, one behaviour per
// test: every start position, the restore rules, the group commit after a completed
// checkpoint (read back from the broker, with its checkpoint id), bounded mode, partition
// discovery, and enable.auto.commit refused with checkpointing. Each test has its own topics
// and group.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/use_future.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/client/producer.hpp"
#include "kwire/connector/group_checkpoint.hpp"
#include "kwire/connector/kafka_partition_assigner.hpp"
#include "kwire/connector/kafka_source.hpp"
#include "live_clients.hpp"

namespace kc = kwire::connector;
namespace client = kwire::client;
namespace asio = boost::asio;
using kwire::test::bytes;
using kwire::test::io_thread;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kBaseTime = 1'700'000'000'000;

struct seen {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string value;
};

// Offsets read of each partition, in the order read.
using offsets_by_partition = std::map<client::topic_partition, std::vector<std::int64_t>>;

offsets_by_partition by_partition(const std::vector<seen>& records) {
  offsets_by_partition out;
  for (const auto& r : records) out[{r.topic, r.partition}].push_back(r.offset);
  return out;
}

std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (auto i = from; i < to; ++i) out.push_back(i);
  return out;
}

// The result of an admin call waited for with use_future (which hands the std::error_code
// over as a value); a failure fails the test.
template <class Result>
Result ok(std::tuple<std::error_code, Result> outcome) {
  EXPECT_FALSE(std::get<0>(outcome)) << std::get<0>(outcome).message();
  return std::move(std::get<1>(outcome));
}

class KafkaSourceLive : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker: KWIRE_BOOTSTRAP_FILE is unset";
    client::admin_config config;
    auto error = client::parse_admin_config({{"bootstrap.servers", bootstrap_}}, config);
    ASSERT_FALSE(error) << error->message;
    admin_ = std::make_unique<client::admin>(io_.io.get_executor(), config);
    group_ = name("group");
  }

  void TearDown() override {
    if (admin_) admin_->close();
  }

  // A name no other test (or run) uses.
  std::string name(const std::string& what) const {
    return "kwire-source-" +
           std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
           std::to_string(::getpid()) + "-" + what;
  }

  void create(const std::string& topic, std::int32_t partitions) {
    ok(admin_
           ->async_create_topics(
               {{.name = topic, .partitions = partitions, .replication_factor = 1}}, {},
               asio::use_future)
           .get());
  }

  // `count` records to `partition`, values "TOPIC/P/i", timestamps time(i); one batch when
  // they fit (linger), so a stop inside them cuts a batch.
  void produce(const std::string& topic, std::int32_t partition, int from, int to,
               const std::function<std::int64_t(int)>& time = {}) {
    std::string first_error;
    const auto failed = try_produce(topic, partition, from, to, time, first_error);
    ASSERT_EQ(failed, 0) << first_error;
  }

  // produce() to a partition just added: its metadata may reach the broker the producer asks
  // a moment after CreatePartitions returned (3 nodes), and a record for a partition the
  // metadata does not have fails unsent; tried again until it is known (at most 10 s).
  void produce_to_new_partition(const std::string& topic, std::int32_t partition, int from,
                                int to) {
    std::string first_error;
    for (int attempt = 0; attempt < 40; ++attempt) {
      if (try_produce(topic, partition, from, to, {}, first_error) == 0) return;
      std::this_thread::sleep_for(250ms);
    }
    FAIL() << "partition " << partition << " of " << topic << ": " << first_error;
  }

  // The records' failures (0: every one acknowledged); the first error's words.
  int try_produce(const std::string& topic, std::int32_t partition, int from, int to,
                  const std::function<std::int64_t(int)>& time, std::string& first_error) {
    client::producer_config config;
    auto error = client::parse_producer_config(
        {{"bootstrap.servers", bootstrap_}, {"linger.ms", "50"}}, config);
    if (error) {
      first_error = error->message;
      return to - from;
    }
    client::producer p(io_.io.get_executor(), config);
    std::atomic<int> failed{0};
    std::mutex mutex;
    first_error.clear();
    std::vector<std::string> values;
    for (int i = from; i < to; ++i)
      values.push_back(topic + "/" + std::to_string(partition) + "/" + std::to_string(i));
    for (int i = from; i < to; ++i) {
      auto ec = p.send({.topic = topic,
                        .partition = partition,
                        .value = bytes(values[static_cast<std::size_t>(i - from)]),
                        .timestamp = time ? time(i) : -1},
                       [&](std::error_code e, const client::delivery_report&) {
                         if (!e) return;
                         ++failed;
                         std::lock_guard lock(mutex);
                         if (first_error.empty()) first_error = e.message();
                       });
      if (ec) {
        ++failed;
        if (first_error.empty()) first_error = ec.message();
      }
    }
    p.flush();
    p.async_close(10s, asio::use_future).get();
    return failed.load();
  }

  kc::kafka_source_config config(kc::topic_subscription subscription, kc::start_position start,
                                 client::properties extra = {}) const {
    kc::kafka_source_config c;
    c.properties = {{"bootstrap.servers", bootstrap_},
                    {"group.id", group_},
                    {"fetch.max.wait.ms", "100"},
                    {"auto.offset.reset", "earliest"}};
    for (auto& p : extra) c.properties.push_back(std::move(p));
    c.subscription = std::move(subscription);
    c.start = std::move(start);
    return c;
  }

  std::unique_ptr<kc::kafka_source> open(const kc::kafka_source_config& c, std::int32_t subtask = 0,
                                         std::int32_t parallelism = 1) {
    kc::kafka_source_settings settings;
    const auto error = kc::validate_kafka_source_config(c, settings);
    EXPECT_FALSE(error) << error.describe();
    auto source = std::make_unique<kc::kafka_source>(io_.io.get_executor(), std::move(settings));
    const auto ec = source->open(subtask, parallelism);
    EXPECT_FALSE(ec) << source->last_error().describe();
    return source;
  }

  // Polls until `enough` says so or `limit` passes, then `quiet` more to see that nothing
  // else comes.
  std::vector<seen> read(kc::kafka_source& source,
                         const std::function<bool(const std::vector<seen>&)>& enough,
                         std::chrono::milliseconds quiet = 500ms,
                         std::chrono::milliseconds limit = 20s) {
    std::vector<seen> out;
    auto deadline = std::chrono::steady_clock::now() + limit;
    bool satisfied = false;
    for (;;) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      kc::source_records records;
      const auto ec = source.poll(100ms, records);
      EXPECT_FALSE(ec) << source.last_error().describe();
      if (ec) break;
      kc::source_record r;
      for (auto c = records.records(); c.next(r);)
        out.push_back(
            {std::string(r.topic), r.partition, r.offset,
             std::string(reinterpret_cast<const char*>(r.value->data()), r.value->size())});
      if (!satisfied && enough(out)) {
        satisfied = true;
        deadline = std::chrono::steady_clock::now() + quiet;
      }
    }
    EXPECT_TRUE(satisfied) << "records read: " << out.size();
    return out;
  }

  static std::function<bool(const std::vector<seen>&)> count(std::size_t n) {
    return [n](const std::vector<seen>& records) { return records.size() >= n; };
  }

  // The group's committed offsets as the broker holds them.
  std::map<client::topic_partition, client::committed_offset> committed() {
    auto offsets =
        ok(admin_->async_list_group_offsets(group_, std::nullopt, {}, asio::use_future).get());
    std::map<client::topic_partition, client::committed_offset> out;
    for (const auto& p : offsets.partitions)
      if (p.offset >= 0) out[{p.topic, p.partition}] = p;
    return out;
  }

  void commit(const std::string& topic, std::int32_t partition, std::int64_t offset) {
    ok(admin_
           ->async_alter_group_offsets(group_,
                                       {{.topic = topic, .partition = partition, .offset = offset}},
                                       {}, asio::use_future)
           .get());
  }

  static std::map<client::topic_partition, std::int64_t> as_map(
      const std::vector<kc::source_position>& positions) {
    std::map<client::topic_partition, std::int64_t> out;
    for (const auto& p : positions) out[{p.topic, p.partition}] = p.next_offset;
    return out;
  }

  std::string bootstrap_;
  std::string group_;
  io_thread io_;
  std::unique_ptr<client::admin> admin_;
};

TEST_F(KafkaSourceLive, StartFromGroupOffsetsWithAutoOffsetResetFallback) {
  const auto topic = name("in");
  create(topic, 2);
  produce(topic, 0, 0, 10);
  produce(topic, 1, 0, 10);
  commit(topic, 0, 4);  // partition 1 has no committed offset
  {
    // auto.offset.reset=earliest for the partition without one.
    auto source =
        open(config(kc::topic_subscription::topic(topic), kc::start_position::group_offsets()));
    const auto got = by_partition(read(*source, count(16)));
    EXPECT_EQ(got.at({topic, 0}), range(4, 10));
    EXPECT_EQ(got.at({topic, 1}), range(0, 10));
  }
  // auto.offset.reset=latest: partition 1 starts at its end.
  auto source =
      open(config(kc::topic_subscription::topic(topic), kc::start_position::group_offsets(),
                  {{"auto.offset.reset", "latest"}}));
  const auto got = by_partition(read(*source, count(6)));
  EXPECT_EQ(got.at({topic, 0}), range(4, 10));
  EXPECT_FALSE(got.contains({topic, 1}));
  EXPECT_EQ(as_map(source->positions(1)),
            (std::map<client::topic_partition, std::int64_t>{{{topic, 0}, 10}, {{topic, 1}, 10}}));
}

TEST_F(KafkaSourceLive, StartFromEarliestAndLatest) {
  const auto topic = name("in");
  create(topic, 2);
  produce(topic, 0, 0, 10);
  produce(topic, 1, 0, 5);
  commit(topic, 0, 8);  // ignored by both
  {
    auto source =
        open(config(kc::topic_subscription::topic(topic), kc::start_position::earliest()));
    const auto got = by_partition(read(*source, count(15)));
    EXPECT_EQ(got.at({topic, 0}), range(0, 10));
    EXPECT_EQ(got.at({topic, 1}), range(0, 5));
  }
  auto source = open(config(kc::topic_subscription::topic(topic), kc::start_position::latest()));
  EXPECT_EQ(as_map(source->positions(1)),
            (std::map<client::topic_partition, std::int64_t>{{{topic, 0}, 10}, {{topic, 1}, 5}}));
  produce(topic, 1, 5, 8);  // only these come
  const auto got = by_partition(read(*source, count(3)));
  EXPECT_FALSE(got.contains({topic, 0}));
  EXPECT_EQ(got.at({topic, 1}), range(5, 8));
}

TEST_F(KafkaSourceLive, StartFromTimestamp) {
  const auto topic = name("in");
  create(topic, 2);
  // Partition 0: times base+0 .. base+9. Partition 1: every record older than base.
  produce(topic, 0, 0, 10, [](int i) { return kBaseTime + i; });
  produce(topic, 1, 0, 6, [](int i) { return kBaseTime - 1000 + i; });
  auto source =
      open(config(kc::topic_subscription::topic(topic), kc::start_position::at(kBaseTime + 5)));
  const auto got = by_partition(read(*source, count(5)));
  EXPECT_EQ(got.at({topic, 0}), range(5, 10));
  // Its last record is older than the time: it starts at its end.
  EXPECT_FALSE(got.contains({topic, 1}));
  EXPECT_EQ(as_map(source->positions(1)).at({topic, 1}), 6);
}

TEST_F(KafkaSourceLive, StartFromSpecificOffsetsFallingBackToTheGroup) {
  const auto topic = name("in");
  create(topic, 3);
  for (int p = 0; p < 3; ++p) produce(topic, p, 0, 10);
  commit(topic, 1, 3);  // partition 1: from the group; partition 2: none, auto.offset.reset
  auto source = open(config(kc::topic_subscription::topic(topic),
                            kc::start_position::specific({{{topic, 0}, 7}})));
  const auto got = by_partition(read(*source, count(3 + 7 + 10)));
  EXPECT_EQ(got.at({topic, 0}), range(7, 10));
  EXPECT_EQ(got.at({topic, 1}), range(3, 10));
  EXPECT_EQ(got.at({topic, 2}), range(0, 10));
}

TEST_F(KafkaSourceLive, RestoreRules) {
  const auto kept = name("kept");
  const auto gone = name("gone");
  create(kept, 2);
  create(gone, 1);
  produce(kept, 0, 0, 10);
  produce(kept, 1, 0, 4);
  produce(gone, 0, 0, 5);
  // The checkpoint knew kept-0 and the topic no longer subscribed; kept-1 is new to it.
  const std::vector<kc::source_position> restored{{kept, 0, 6}, {gone, 0, 2}};
  auto source = open(config(kc::topic_subscription::topic(kept), kc::start_position::latest()));
  ASSERT_FALSE(source->restore_positions(restored));
  const auto got = by_partition(read(*source, count(4 + 4)));
  EXPECT_EQ(got.at({kept, 0}), range(6, 10));  // the checkpoint wins over latest
  EXPECT_EQ(got.at({kept, 1}), range(0, 4));   // not in the checkpoint: from the earliest
  EXPECT_FALSE(got.contains({gone, 0}));
  EXPECT_EQ(as_map(source->positions(1)),
            (std::map<client::topic_partition, std::int64_t>{{{kept, 0}, 10}, {{kept, 1}, 4}}));
  EXPECT_EQ(source->metrics().restored_positions_dropped, 1U);
}

TEST_F(KafkaSourceLive, CommitsToTheGroupOnlyAfterTheCheckpointCompletes) {
  const auto topic = name("in");
  create(topic, 2);
  produce(topic, 0, 0, 10);
  produce(topic, 1, 0, 7);
  auto source = open(config(kc::topic_subscription::topic(topic), kc::start_position::earliest()));
  read(*source, count(17));
  EXPECT_EQ(as_map(source->positions(5)),
            (std::map<client::topic_partition, std::int64_t>{{{topic, 0}, 10}, {{topic, 1}, 7}}));
  EXPECT_TRUE(source->snapshot(5).empty());
  // Positions taken, the checkpoint not completed: the group has nothing.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(committed().empty());
  produce(topic, 0, 10, 12);
  read(*source, count(2));
  source->positions(6);
  source->notify_aborted(6);  // never committed
  source->notify_complete(5);
  std::map<client::topic_partition, client::committed_offset> got;
  for (int i = 0; i < 100 && got.size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    got = committed();
  }
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got.at({topic, 0}).offset, 10);  // checkpoint 5's, not the position now (12)
  EXPECT_EQ(got.at({topic, 1}).offset, 7);
  EXPECT_EQ(got.at({topic, 0}).metadata, std::optional<std::string>("kwire-checkpoint=5"));
  EXPECT_EQ(source->metrics().commits_succeeded, 1U);

  // A restore from a store that lost checkpoint 5 is refused, naming both ids.
  kc::kafka_source_settings settings;
  ASSERT_FALSE(kc::validate_kafka_source_config(
      config(kc::topic_subscription::topic(topic), kc::start_position::earliest()), settings));
  kc::checkpoint_id named = 0;
  const auto read_error = kc::read_group_checkpoint(io_.io.get_executor(), settings, named);
  ASSERT_FALSE(read_error) << read_error.describe();
  EXPECT_EQ(named, 5);
  kc::restore_point point;
  point.ids_present = {3, 4};
  point.completed_ids = {3, 4};
  const auto refused = kc::check_group_checkpoint(point, group_, named);
  EXPECT_EQ(refused.code, kc::errc::completed_checkpoint_lost);
  EXPECT_NE(refused.detail.find("checkpoint 5"), std::string::npos) << refused.detail;
  point.completed_ids.push_back(5);
  EXPECT_FALSE(kc::check_group_checkpoint(point, group_, named));
}

TEST_F(KafkaSourceLive, BoundedStopsExactly) {
  const auto topic = name("in");
  create(topic, 2);
  produce(topic, 0, 0, 10);  // one batch: a stop at 4 cuts it
  produce(topic, 1, 0, 6);
  {
    // Latest at start: exactly the records present when the source starts.
    auto c = config(kc::topic_subscription::topic(topic), kc::start_position::earliest());
    c.stop = kc::stop_position::latest();
    auto source = open(c);
    kc::source_records first;
    ASSERT_FALSE(source->poll(10ms, first)) << source->last_error().describe();  // starts
    std::size_t handed = first.record_count();
    produce(topic, 0, 10, 15);
    produce(topic, 1, 6, 9);
    std::vector<seen> got;
    kc::source_record r;
    for (auto cur = first.records(); cur.next(r);)
      got.push_back({std::string(r.topic), r.partition, r.offset, {}});
    for (int i = 0; i < 200 && !source->finished(); ++i) {
      kc::source_records records;
      ASSERT_FALSE(source->poll(100ms, records)) << source->last_error().describe();
      handed += records.record_count();
      for (auto cur = records.records(); cur.next(r);)
        got.push_back({std::string(r.topic), r.partition, r.offset, {}});
    }
    EXPECT_TRUE(source->finished());
    const auto offsets = by_partition(got);
    EXPECT_EQ(offsets.at({topic, 0}), range(0, 10));
    EXPECT_EQ(offsets.at({topic, 1}), range(0, 6));
    EXPECT_EQ(handed, 16U);  // record_count() agrees with the cursor
    EXPECT_EQ(source->metrics().records_handed_out, 16U);
    EXPECT_EQ(as_map(source->positions(1)),
              (std::map<client::topic_partition, std::int64_t>{{{topic, 0}, 10}, {{topic, 1}, 6}}));
  }
  // Given offsets inside a batch: the rest of the batch is left out.
  auto c = config(kc::topic_subscription::topic(topic), kc::start_position::earliest());
  c.stop = kc::stop_position::given({{{topic, 0}, 4}, {{topic, 1}, 0}});
  auto source = open(c);
  std::vector<seen> got;
  for (int i = 0; i < 200 && !source->finished(); ++i) {
    kc::source_records records;
    ASSERT_FALSE(source->poll(100ms, records)) << source->last_error().describe();
    kc::source_record r;
    std::size_t n = 0;
    for (auto cur = records.records(); cur.next(r); ++n)
      got.push_back({std::string(r.topic), r.partition, r.offset, {}});
    EXPECT_EQ(n, records.record_count());
  }
  EXPECT_TRUE(source->finished());
  const auto offsets = by_partition(got);
  EXPECT_EQ(offsets.at({topic, 0}), range(0, 4));
  EXPECT_FALSE(offsets.contains({topic, 1}));  // its stop is its start
  EXPECT_EQ(as_map(source->positions(1)),
            (std::map<client::topic_partition, std::int64_t>{{{topic, 0}, 4}, {{topic, 1}, 0}}));
}

TEST_F(KafkaSourceLive, DiscoversANewPartitionAndReadsItFromTheEarliest) {
  const auto topic = name("in");
  create(topic, 1);
  produce(topic, 0, 0, 3);
  auto c = config(kc::topic_subscription::topic(topic), kc::start_position::latest());
  c.partition_discovery_interval = 200ms;
  auto source = open(c);
  source->positions(0);  // starts it: at the end, 3
  produce(topic, 0, 3, 5);
  read(*source, count(2), 100ms);
  ok(admin_->async_create_partitions({{.topic = topic, .total_count = 2}}, {}, asio::use_future)
         .get());
  produce_to_new_partition(topic, 1, 0, 4);  // before the source sees it: read from the earliest
  const auto got = by_partition(read(*source, count(4)));
  EXPECT_EQ(got.at({topic, 1}), range(0, 4));
  EXPECT_FALSE(got.contains({topic, 0}));
  EXPECT_EQ(source->metrics().partitions_discovered, 1U);
}

TEST_F(KafkaSourceLive, DiscoversANewlyMatchingTopic) {
  const auto first = name("m-a");
  create(first, 1);
  produce(first, 0, 0, 2);
  auto c =
      config(kc::topic_subscription::matching(name("m-") + ".*"), kc::start_position::earliest());
  c.partition_discovery_interval = 200ms;
  auto source = open(c);
  read(*source, count(2), 100ms);
  const auto later = name("m-b");
  create(later, 1);
  produce(later, 0, 0, 3);
  const auto got = by_partition(read(*source, count(3)));
  EXPECT_EQ(got.at({later, 0}), range(0, 3));
  EXPECT_EQ(source->metrics().partitions_discovered, 1U);
}

TEST_F(KafkaSourceLive, SubtasksSplitPartitionsByFlinksRule) {
  const auto topic = name("in");
  create(topic, 5);
  for (int p = 0; p < 5; ++p) produce(topic, p, 0, 2);
  const auto c = config(kc::topic_subscription::topic(topic), kc::start_position::earliest());
  for (std::int32_t subtask = 0; subtask < 2; ++subtask) {
    auto source = open(c, subtask, 2);
    std::vector<client::topic_partition> expected;
    for (std::int32_t p = 0; p < 5; ++p)
      if (kc::kafka_partition_owner(topic, p, 2) == subtask) expected.push_back({topic, p});
    const auto got = by_partition(read(*source, count(2 * expected.size())));
    EXPECT_EQ(got.size(), expected.size());
    for (const auto& tp : expected) EXPECT_EQ(got.at(tp), range(0, 2)) << tp.partition;
    // partitions() is filled at the start (the first poll).
    EXPECT_EQ(source->partitions(), expected);
  }
}

TEST_F(KafkaSourceLive, AutoCommitWithCheckpointingIsRefused) {
  const auto topic = name("in");
  auto c = config(kc::topic_subscription::topic(topic), kc::start_position::earliest(),
                  {{"enable.auto.commit", "true"}});
  kc::kafka_source_settings settings;
  const auto error = kc::validate_kafka_source_config(c, settings);
  EXPECT_EQ(error.code, kc::errc::invalid_config);
  EXPECT_EQ(error.detail.rfind("enable.auto.commit: ", 0), 0U) << error.detail;
  c.checkpointing = false;  // without checkpointing it is Kafka's own auto commit
  ASSERT_FALSE(kc::validate_kafka_source_config(c, settings));
  EXPECT_EQ(settings.commit_mode, kc::offset_commit_mode::kafka_auto_commit);
}

}  // namespace
