// Consumer groups against the real broker: two kwire members subscribed to one topic split
// its partitions (disjoint, covering all), and after one closes the other takes over its
// partitions from the offsets it committed in its revocation listener, so every record is
// read exactly once. For the classic protocol with an eager (range) and a cooperative
// (cooperative-sticky) assignor, and for KIP-848 (group.protocol=consumer) where the broker
// supports it. Also: a second static member with the same group.instance.id fences the
// first (classic: FENCED_INSTANCE_ID) or is refused (KIP-848: UNRELEASED_INSTANCE_ID), and
// poll reports it. A pattern subscription takes in a matching topic created later (and not
// one that does not match).
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker_session.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"
#include "live_clients.hpp"

namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::broker_session;
using kwire::test::bytes;
using kwire::test::io_thread;
using namespace std::chrono_literals;

namespace {

constexpr int kPartitions = 6;
constexpr int kPerPartition = 2'000;

// A subscribed consumer with a listener that commits revoked partitions' positions and
// records every assignment it was given.
class member {
 public:
  // `topic` is a regular expression when `pattern`.
  member(boost::asio::any_io_executor ex, const kc::consumer_config& config, std::string topic,
         bool pattern = false)
      : consumer_(ex, config) {
    kc::rebalance_listener listener;
    listener.on_assigned = [this](const std::vector<kc::topic_partition>&,
                                  const std::vector<kc::topic_partition>& assignment) {
      std::lock_guard lock(mutex_);
      assignment_ = assignment;
      events_ += "assigned " + std::to_string(assignment.size()) + "; ";
    };
    listener.on_revoked = [this](const std::vector<kc::topic_partition>& revoked,
                                 kc::rebalance_listener::done_function done) {
      kc::topic_partition_offsets offsets;
      for (const auto& tp : revoked)
        if (auto position = consumer_.position(tp)) offsets[tp] = {*position, -1, {}};
      {
        std::lock_guard lock(mutex_);
        for (const auto& tp : revoked) std::erase(assignment_, tp);
        events_ += "revoked " + std::to_string(revoked.size()) + "; ";
      }
      consumer_.async_commit(std::move(offsets),
                             [this, done = std::move(done)](std::error_code ec) mutable {
                               if (ec) {
                                 std::lock_guard lock(mutex_);
                                 ++failed_commits_;
                               }
                               done();
                             });
    };
    listener.on_lost = [this](const std::vector<kc::topic_partition>& lost,
                              kc::rebalance_listener::done_function done) {
      std::lock_guard lock(mutex_);
      for (const auto& tp : lost) std::erase(assignment_, tp);
      events_ += "lost " + std::to_string(lost.size()) + "; ";
      ++lost_;
      done();
    };
    if (pattern)
      EXPECT_FALSE(consumer_.subscribe_pattern(topic, std::move(listener)));
    else
      EXPECT_FALSE(consumer_.subscribe({std::move(topic)}, std::move(listener)));
  }

  // Polls once; adds what it got to `seen` ("topic:partition:offset" -> times seen).
  std::error_code poll(std::map<std::string, int>& seen, std::chrono::milliseconds timeout) {
    std::promise<std::error_code> result;
    consumer_.async_poll(timeout, [&](std::error_code ec, kc::record_set set) {
      kc::consumer_record r;
      for (auto cursor = set.records(); cursor.next(r);)
        ++seen[std::string(r.topic) + ":" + std::to_string(r.partition) + ":" +
               std::to_string(r.offset)];
      result.set_value(ec);
    });
    return result.get_future().get();
  }

  std::vector<kc::topic_partition> assignment() {
    std::lock_guard lock(mutex_);
    return assignment_;
  }
  std::string events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  int failed_commits() {
    std::lock_guard lock(mutex_);
    return failed_commits_;
  }
  int lost() {
    std::lock_guard lock(mutex_);
    return lost_;
  }

  void close() {
    std::promise<void> closed;
    consumer_.async_close([&] { closed.set_value(); });
    EXPECT_EQ(closed.get_future().wait_for(40s), std::future_status::ready);
  }

  kc::consumer& consumer() { return consumer_; }

 private:
  kc::consumer consumer_;
  std::mutex mutex_;
  std::vector<kc::topic_partition> assignment_;
  std::string events_;  // what the listener heard
  int failed_commits_ = 0;
  int lost_ = 0;
};

class GroupLive : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    bootstrap_ = kwire::test::bootstrap_from_env();
    if (bootstrap_.empty()) GTEST_SKIP() << "no broker: KWIRE_BOOTSTRAP_FILE is unset";
    const auto nodes = kwire::test::parse_bootstrap(bootstrap_);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->name()) + "-" + std::to_string(::getpid());
    std::replace(name.begin(), name.end(), '/', '-');
    topic_ = "kwire-group-" + name;
    group_ = "kwire-group-" + name;
    broker_session s(nodes.front());
    s.negotiate();
    kip848_ = s.version_for(kp::ConsumerGroupHeartbeatRequest::api_key) >= 0;
    ASSERT_EQ(kwire::test::create_topic(
                  s, topic_, kPartitions,
                  static_cast<std::int16_t>(std::min<std::size_t>(nodes.size(), 3))),
              "");
  }

  void produce() { produce_to(topic_, kPartitions, kPerPartition); }

  void produce_to(const std::string& topic, int partitions, int per_partition) {
    kc::producer_config config;
    auto error = kc::parse_producer_config(
        {{"bootstrap.servers", bootstrap_}, {"compression.type", "lz4"}, {"linger.ms", "5"}},
        config);
    ASSERT_FALSE(error) << error->message;
    kc::producer p(io_.io.get_executor(), config);
    std::atomic<int> failed{0};
    for (int i = 0; i < per_partition; ++i) {
      for (int partition = 0; partition < partitions; ++partition) {
        const std::string value = "v" + std::to_string(i);
        ASSERT_FALSE(p.send({.topic = topic, .partition = partition, .value = bytes(value)},
                            [&failed](std::error_code ec, const kc::delivery_report&) {
                              if (ec) ++failed;
                            }));
      }
    }
    p.flush();
    EXPECT_EQ(failed.load(), 0);
    p.close(5s);
  }

  kc::consumer_config config(kc::properties extra = {}) {
    kc::properties props{{"bootstrap.servers", bootstrap_},
                         {"group.id", group_},
                         {"auto.offset.reset", "earliest"},
                         {"enable.auto.commit", "false"},
                         {"max.poll.records", "300"}};
    if (GetParam() == "consumer") {
      props.emplace_back("group.protocol", "consumer");
    } else {
      props.emplace_back("partition.assignment.strategy", GetParam());
      props.emplace_back("session.timeout.ms", "10000");
      props.emplace_back("heartbeat.interval.ms", "1000");
    }
    props.insert(props.end(), extra.begin(), extra.end());
    kc::consumer_config out;
    auto error = kc::parse_consumer_config(props, out);
    EXPECT_FALSE(error) << error->message;
    return out;
  }

  bool unsupported() const { return GetParam() == "consumer" && !kip848_; }

  // The first poll of a KIP-848 member: a broker that lists ConsumerGroupHeartbeat but has
  // not enabled the protocol (3.x without group.coordinator.rebalance.protocols=consumer)
  // refuses it with UNSUPPORTED_VERSION, which ends the test as skipped.
  std::error_code first_poll(member& m, std::map<std::string, int>& seen) {
    const auto ec = m.poll(seen, 100ms);
    if (GetParam() == "consumer" &&
        ec == kp::make_error_code(kp::broker_error::unsupported_version))
      kip848_refused_ = true;
    return ec;
  }

  std::string bootstrap_;
  std::string topic_;
  std::string group_;
  bool kip848_ = false;
  bool kip848_refused_ = false;
  io_thread io_;
};

TEST_P(GroupLive, MembersSplitPartitionsAndTakeOverFromCommittedOffsets) {
  if (unsupported()) GTEST_SKIP() << "the broker has no ConsumerGroupHeartbeat (KIP-848)";
  produce();
  member a(io_.io.get_executor(), config(), topic_);
  member b(io_.io.get_executor(), config(), topic_);
  std::map<std::string, int> seen;
  constexpr std::size_t total = std::size_t{kPartitions} * kPerPartition * 2;  // 2 produce()s

  // Both poll until each owns some partitions, disjoint and together all of them.
  const auto split_by = std::chrono::steady_clock::now() + 60s;
  bool split = false;
  while (!split && std::chrono::steady_clock::now() < split_by) {
    const auto ec = first_poll(a, seen);
    if (kip848_refused_) GTEST_SKIP() << "the broker refuses KIP-848: " << ec.message();
    ASSERT_FALSE(ec) << ec.message() << " " << a.consumer().last_error_details().describe(ec);
    ASSERT_FALSE(b.poll(seen, 100ms));
    auto owned_a = a.assignment();
    auto owned_b = b.assignment();
    std::set<kc::topic_partition> all(owned_a.begin(), owned_a.end());
    all.insert(owned_b.begin(), owned_b.end());
    split = !owned_a.empty() && !owned_b.empty() && all.size() == owned_a.size() + owned_b.size() &&
            all.size() == kPartitions;
  }
  ASSERT_TRUE(split) << "the two members did not split the partitions within 60 s";
  // New records on every partition; a reads at most 5 polls (1500 records) of them and
  // leaves with the rest of its partitions unread: b must take them over from a's commits.
  produce();
  for (int round = 0; round < 5; ++round) {
    ASSERT_FALSE(a.poll(seen, 100ms));
    ASSERT_FALSE(b.poll(seen, 100ms));
  }
  std::thread closer([&a] { a.close(); });
  const auto done_by = std::chrono::steady_clock::now() + 90s;
  while ((seen.size() < total || b.assignment().size() < kPartitions) &&
         std::chrono::steady_clock::now() < done_by)
    ASSERT_FALSE(b.poll(seen, 200ms));
  closer.join();
  EXPECT_EQ(seen.size(), total) << "records missing after the takeover";
  int duplicates = 0;
  for (const auto& [key, times] : seen) duplicates += times > 1;
  EXPECT_EQ(duplicates, 0) << "records read twice: revoked offsets were not committed";
  EXPECT_EQ(b.assignment().size(), std::size_t{kPartitions})
      << "the listener heard " << b.assignment().size() << ", the consumer has "
      << b.consumer().assignment().size() << "; a: " << a.events() << " b: " << b.events();
  EXPECT_EQ(a.failed_commits(), 0);
  EXPECT_EQ(b.failed_commits(), 0);
  EXPECT_EQ(a.lost() + b.lost(), 0);
  b.close();
}

TEST_P(GroupLive, StaticMemberReplacedByTheSameInstanceIdIsFenced) {
  if (unsupported()) GTEST_SKIP() << "the broker has no ConsumerGroupHeartbeat (KIP-848)";
  auto static_config = config({{"group.instance.id", "instance-1"}});
  member a(io_.io.get_executor(), static_config, topic_);
  std::map<std::string, int> seen;
  const auto joined_by = std::chrono::steady_clock::now() + 60s;
  while (a.assignment().size() != kPartitions && std::chrono::steady_clock::now() < joined_by) {
    const auto ec = first_poll(a, seen);
    if (kip848_refused_) GTEST_SKIP() << "the broker refuses KIP-848: " << ec.message();
    ASSERT_FALSE(ec) << ec.message() << " " << a.consumer().last_error_details().describe(ec);
  }
  ASSERT_EQ(a.assignment().size(), std::size_t{kPartitions});

  member b(io_.io.get_executor(), static_config, topic_);
  std::error_code a_error;
  std::error_code b_error;
  const auto fenced_by = std::chrono::steady_clock::now() + 60s;
  while (!a_error && !b_error && std::chrono::steady_clock::now() < fenced_by) {
    a_error = a.poll(seen, 100ms);
    b_error = b.poll(seen, 100ms);
  }
  if (GetParam() == "consumer") {
    // KIP-848: the instance id is taken until its member leaves; the newcomer is refused.
    EXPECT_FALSE(a_error) << a_error.message();
    EXPECT_EQ(b_error, kp::make_error_code(kp::broker_error::unreleased_instance_id))
        << b_error.message() << " " << b.consumer().last_error_details().describe(b_error);
    EXPECT_EQ(b.poll(seen, 10ms), b_error);  // it stays: every later poll reports it
  } else {
    // Classic: the newcomer replaces the old member, which is fenced.
    EXPECT_FALSE(b_error) << b_error.message();
    EXPECT_EQ(a_error, kp::make_error_code(kp::broker_error::fenced_instance_id))
        << a_error.message() << " " << a.consumer().last_error_details().describe(a_error);
    EXPECT_EQ(a.poll(seen, 10ms), a_error);  // it stays: every later poll reports it
  }
  a.close();
  b.close();
}

TEST_P(GroupLive, PatternSubscriptionTakesInMatchingTopicsCreatedLater) {
  if (unsupported()) GTEST_SKIP() << "the broker has no ConsumerGroupHeartbeat (KIP-848)";
  produce();
  // The topic of SetUp, and one created later with the suffix; not the other one.
  const std::string later = topic_ + "-later";
  const std::string other = topic_ + "-other";
  member m(io_.io.get_executor(), config({{"metadata.max.age.ms", "1000"}}), topic_ + "(-later)?",
           true);
  std::map<std::string, int> seen;
  auto count_of = [&seen](const std::string& topic) {
    return std::count_if(seen.begin(), seen.end(),
                         [&](const auto& entry) { return entry.first.starts_with(topic + ":"); });
  };
  const auto first_by = std::chrono::steady_clock::now() + 60s;
  while (count_of(topic_) < kPartitions * kPerPartition &&
         std::chrono::steady_clock::now() < first_by) {
    const auto ec = first_poll(m, seen);
    if (kip848_refused_) GTEST_SKIP() << "the broker refuses KIP-848: " << ec.message();
    ASSERT_FALSE(ec) << ec.message() << " " << m.consumer().last_error_details().describe(ec);
  }
  ASSERT_EQ(count_of(topic_), kPartitions * kPerPartition) << m.events();

  {
    const auto nodes = kwire::test::parse_bootstrap(bootstrap_);
    broker_session s(nodes.front());
    s.negotiate();
    const auto rf = static_cast<std::int16_t>(std::min<std::size_t>(nodes.size(), 3));
    ASSERT_EQ(kwire::test::create_topic(s, later, 2, rf), "");
    ASSERT_EQ(kwire::test::create_topic(s, other, 2, rf), "");
  }
  produce_to(later, 2, 100);
  produce_to(other, 2, 100);
  const auto later_by = std::chrono::steady_clock::now() + 60s;
  while ((count_of(later) < 200 || m.assignment().size() < kPartitions + 2) &&
         std::chrono::steady_clock::now() < later_by)
    ASSERT_FALSE(m.poll(seen, 200ms));
  EXPECT_EQ(count_of(later), 200) << "the matching topic created later was not read; "
                                  << m.events();
  EXPECT_EQ(m.assignment().size(), std::size_t{kPartitions + 2}) << m.events();
  EXPECT_EQ(count_of(other), 0) << "a topic the pattern does not match was read";
  for (const auto& tp : m.consumer().assignment()) EXPECT_NE(tp.topic, other);
  m.close();
}

INSTANTIATE_TEST_SUITE_P(Protocols, GroupLive,
                         ::testing::Values("range", "cooperative-sticky", "consumer"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
