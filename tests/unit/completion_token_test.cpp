// Every public async operation of the producer, the consumer and the admin client with each
// kind of completion token the headers promise (use_future, deferred, use_awaitable,
// as_tuple; the admin's operations share one initiation, so create_topics and close stand
// for them), against one scripted broker on an io_context run by a thread of its own. Also:
// a deferred send keeps the record (not a reference to it), a handler runs on its
// associated executor with its associated allocator, and per-operation cancellation of a
// poll and of a send waiting for buffer.memory.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "fake_broker.hpp"
#include "fake_coordinator.hpp"
#include "kwire/client/admin.hpp"
#include "kwire/client/consumer.hpp"
#include "kwire/client/producer.hpp"

namespace asio = boost::asio;
namespace kc = kwire::client;
namespace kp = kwire::protocol;
using kwire::test::fake_action;
using kwire::test::fake_request;
using namespace std::chrono_literals;

namespace {

// One broker (node 1) for topic "t" (one partition holding records 0..2), the group
// coordinator and the controller. Runs on the io_context's thread only.
struct scripted_kafka {
  std::uint16_t port = 0;
  std::vector<std::uint8_t> log;
  std::int64_t next_offset = 3;
  std::chrono::milliseconds produce_delay{0};  // how long each Produce response takes
  int produce_requests = 0;
  kwire::test::fake_offsets_coordinator coordinator;

  scripted_kafka() {
    kp::record_batch_builder builder(kp::record_batch_options{});
    for (int i = 0; i < 3; ++i) {
      const std::string value = "v" + std::to_string(i);
      builder.append(1'700'000'000'000 + i, std::nullopt,
                     std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()),
                     {});
    }
    EXPECT_FALSE(builder.finish());
    log.assign(builder.bytes().begin(), builder.bytes().end());
  }

  fake_action operator()(const fake_request& r) {
    using kwire::test::reply;
    coordinator.port = port;
    if (auto answer = coordinator(r)) return *answer;
    switch (r.api_key) {
      case kp::MetadataRequest::api_key: {
        kp::MetadataResponse resp;
        auto& b = resp.brokers.emplace_back();
        b.node_id = 1;
        b.host = "127.0.0.1";
        b.port = port;
        resp.controller_id = 1;
        auto& t = resp.topics.emplace_back();
        t.name = "t";
        t.topic_id.bytes[15] = 7;
        auto& p = t.partitions.emplace_back();
        p.partition_index = 0;
        p.leader_id = 1;
        p.replica_nodes = {1};
        p.isr_nodes = {1};
        return reply(resp, r.api_version);
      }
      case kp::InitProducerIdRequest::api_key: {
        kp::InitProducerIdResponse resp;
        resp.producer_id = 4000;
        resp.producer_epoch = 0;
        return reply(resp, r.api_version);
      }
      case kp::ProduceRequest::api_key: {
        ++produce_requests;
        const auto req = r.decode<kp::ProduceRequest>();
        kp::ProduceResponse resp;
        for (const auto& t : req.topic_data) {
          auto& rt = resp.responses.emplace_back();
          rt.name = t.name;
          rt.topic_id = t.topic_id;  // Produce v13 names topics by id
          for (const auto& p : t.partition_data) {
            auto& rp = rt.partition_responses.emplace_back();
            rp.index = p.index;
            rp.base_offset = next_offset++;
          }
        }
        auto out = reply(resp, r.api_version);
        out.delay = produce_delay;
        return out;
      }
      case kp::ListOffsetsRequest::api_key: {
        const auto req = r.decode<kp::ListOffsetsRequest>();
        kp::ListOffsetsResponse resp;
        auto& t = resp.topics.emplace_back();
        t.name = req.topics.at(0).name;
        auto& p = t.partitions.emplace_back();
        p.partition_index = 0;
        p.offset = req.topics[0].partitions.at(0).timestamp == -2 ? 0 : 3;
        return reply(resp, r.api_version);
      }
      case kp::FetchRequest::api_key: {
        const auto req = r.decode<kp::FetchRequest>();
        kp::FetchResponse resp;
        bool any = false;
        for (const auto& t : req.topics) {
          auto& rt = resp.responses.emplace_back();
          rt.topic = t.topic;
          rt.topic_id = t.topic_id;
          for (const auto& p : t.partitions) {
            auto& rp = rt.partitions.emplace_back();
            rp.partition_index = p.partition;
            rp.high_watermark = 3;
            rp.last_stable_offset = 3;
            rp.log_start_offset = 0;
            if (p.fetch_offset < 3) {
              rp.records = kp::byte_view(std::span<const std::uint8_t>(log));
              any = true;
            }
          }
        }
        auto out = reply(resp, r.api_version);
        if (!any) out.delay = 10ms;  // as fetch.max.wait.ms: no busy loop
        return out;
      }
      case kp::CreateTopicsRequest::api_key: {
        const auto req = r.decode<kp::CreateTopicsRequest>();
        kp::CreateTopicsResponse resp;
        for (const auto& t : req.topics) {
          auto& out = resp.topics.emplace_back();
          out.name = t.name;
          out.num_partitions = t.num_partitions;
          out.replication_factor = t.replication_factor;
        }
        return reply(resp, r.api_version);
      }
    }
    return kwire::test::no_reply{};
  }
};

// The broker and the clients on an io_context that a thread of its own runs, so that the
// test's thread can wait on futures.
class CompletionTokens : public testing::Test {
 protected:
  CompletionTokens() : broker_(io_, std::ref(kafka_)) {
    kafka_.port = broker_.port();
    io_thread_ = std::thread([this] { io_.run(); });
  }
  ~CompletionTokens() override {
    work_.reset();
    io_.stop();
    io_thread_.join();
  }

  kc::properties bootstrap() const {
    return {{"bootstrap.servers", "127.0.0.1:" + std::to_string(broker_.port())}};
  }
  kc::producer_config producer_config() const {
    auto props = bootstrap();
    props.emplace_back("linger.ms", "0");
    kc::producer_config config;
    EXPECT_FALSE(kc::parse_producer_config(props, config));
    return config;
  }
  kc::consumer_config consumer_config() const {
    auto props = bootstrap();
    props.emplace_back("group.id", "g");
    props.emplace_back("enable.auto.commit", "false");
    props.emplace_back("auto.offset.reset", "earliest");
    props.emplace_back("fetch.max.wait.ms", "10");
    kc::consumer_config config;
    EXPECT_FALSE(kc::parse_consumer_config(props, config));
    return config;
  }
  kc::admin_config admin_config() const {
    kc::admin_config config;
    EXPECT_FALSE(kc::parse_admin_config(bootstrap(), config));
    return config;
  }

  // Runs a coroutine on the io_context and waits for it here.
  template <class Coroutine>
  void run(Coroutine coroutine) {
    auto done = asio::co_spawn(io_, std::move(coroutine), asio::use_future);
    ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
    done.get();  // rethrows a failed check's exception, if any
  }

  static kc::producer_record record_of(const std::string& value) {
    return {.topic = "t",
            .value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size())};
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  scripted_kafka kafka_;
  kwire::test::fake_broker broker_;
  std::thread io_thread_;
};

TEST_F(CompletionTokens, ProducerWithUseFuture) {
  kc::producer p(io_.get_executor(), producer_config());
  const std::string value = "a";
  auto sent = p.async_send(record_of(value), asio::use_future);
  ASSERT_EQ(sent.wait_for(20s), std::future_status::ready);
  // The signatures start with std::error_code, which Asio passes as a value (it throws only
  // for boost::system::error_code): a future and an awaitable give the whole tuple.
  const auto [ec, report] = sent.get();
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(report.offset, 3);
  auto count = p.async_partition_count("t", asio::use_future);
  ASSERT_EQ(count.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(std::get<1>(count.get()), 1);
  auto flushed = p.async_flush(asio::use_future);
  EXPECT_EQ(flushed.wait_for(20s), std::future_status::ready);
  auto closed = p.async_close(5s, asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

TEST_F(CompletionTokens, ProducerWithUseAwaitableAndAsTuple) {
  kc::producer p(io_.get_executor(), producer_config());
  run([&]() -> asio::awaitable<void> {
    const std::string value = "b";
    const auto [first_ec, report] = co_await p.async_send(record_of(value), asio::use_awaitable);
    EXPECT_FALSE(first_ec) << first_ec.message();
    EXPECT_EQ(report.offset, 3);
    auto [ec, second] =
        co_await p.async_send(record_of(value), asio::as_tuple(asio::use_awaitable));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(second.offset, 4);
    EXPECT_EQ(std::get<1>(co_await p.async_partition_count("t", asio::use_awaitable)), 1);
    co_await p.async_flush(asio::use_awaitable);
    co_await p.async_close(5s, asio::use_awaitable);
  });
}

// A deferred operation stores its arguments: the record given to async_send may be gone
// when the operation starts (its spans' bytes must not; AddressSanitizer builds see a
// reference to the record kept instead).
TEST_F(CompletionTokens, ProducerWithDeferredKeepsTheRecordItself) {
  kc::producer p(io_.get_executor(), producer_config());
  const std::string value = "c";
  const std::string topic = "t";
  auto make_send = [&] {
    kc::producer_record record{
        .topic = topic,
        .value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size())};
    return p.async_send(record, asio::deferred);  // `record` dies here
  };
  auto send = make_send();
  auto sent = std::move(send)(asio::use_future);
  ASSERT_EQ(sent.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(std::get<1>(sent.get()).offset, 3);
  auto count = p.async_partition_count(std::string("t"), asio::deferred);
  auto counted = std::move(count)(asio::use_future);
  ASSERT_EQ(counted.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(std::get<1>(counted.get()), 1);
  auto close = p.async_close(5s, asio::deferred);
  auto closed = std::move(close)(asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

TEST_F(CompletionTokens, ConsumerWithEveryTokenType) {
  kc::consumer c(io_.get_executor(), consumer_config());
  ASSERT_FALSE(c.assign({{"t", 0}}));
  run([&]() -> asio::awaitable<void> {
    std::size_t got = 0;
    for (int i = 0; i < 100 && got < 3; ++i) {
      auto [poll_ec, set] = co_await c.async_poll(200ms, asio::use_awaitable);
      EXPECT_FALSE(poll_ec) << poll_ec.message();
      got += set.record_count();
    }
    EXPECT_EQ(got, 3u);
    auto [ec] = co_await c.async_commit(asio::as_tuple(asio::use_awaitable));
    EXPECT_FALSE(ec) << ec.message();
  });
  EXPECT_EQ(kafka_.coordinator.committed.at(0), 3);

  // deferred: the offsets are stored by the operation, not referenced.
  auto commit = [&] {
    kc::topic_partition_offsets offsets{{{"t", 0}, {2, -1, "m"}}};
    return c.async_commit(offsets, asio::deferred);
  }();
  auto committed_now = std::move(commit)(asio::use_future);
  ASSERT_EQ(committed_now.wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(committed_now.get());
  EXPECT_EQ(kafka_.coordinator.committed.at(0), 2);

  auto asked = c.async_committed({{"t", 0}}, asio::use_future);
  ASSERT_EQ(asked.wait_for(20s), std::future_status::ready);
  const auto [asked_ec, stored] = asked.get();
  EXPECT_FALSE(asked_ec) << asked_ec.message();
  ASSERT_EQ(stored.count({"t", 0}), 1u);
  EXPECT_EQ(stored.at({"t", 0}).offset, 2);

  auto polled = c.async_poll(50ms, asio::use_future);
  ASSERT_EQ(polled.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(std::get<1>(polled.get()).empty());  // read to the end already

  auto closed = c.async_close(asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

TEST_F(CompletionTokens, AdminWithEveryTokenType) {
  kc::admin a(io_.get_executor(), admin_config());
  auto created = a.async_create_topics({{.name = "x", .partitions = 2, .replication_factor = 1}},
                                       {}, asio::use_future);
  ASSERT_EQ(created.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(std::get<1>(created.get()).topics.at(0).partitions, 2);
  run([&]() -> asio::awaitable<void> {
    // (GCC 12 miscompiles string literals inside a co_await's braced arguments.)
    std::vector<kc::new_topic> y{{.name = std::string("y"), .partitions = 3}};
    auto [ec, result] =
        co_await a.async_create_topics(std::move(y), {}, asio::as_tuple(asio::use_awaitable));
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(result.topics.at(0).name, "y");
    std::vector<kc::new_topic> z{{.name = std::string("z"), .partitions = 1}};
    const auto [again_ec, again] =
        co_await a.async_create_topics(std::move(z), {}, asio::use_awaitable);
    EXPECT_FALSE(again_ec) << again_ec.message();
    EXPECT_EQ(again.topics.at(0).name, "z");
  });
  auto deferred = a.async_create_topics({{.name = "w", .partitions = 1, .replication_factor = 1}},
                                        {}, asio::deferred);
  auto launched = std::move(deferred)(asio::use_future);
  ASSERT_EQ(launched.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(std::get<1>(launched.get()).topics.at(0).name, "w");
  auto closed = a.async_close(asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

// Counts what it allocates: the handler's associated allocator is used.
struct counted {
  std::shared_ptr<std::atomic<int>> allocations = std::make_shared<std::atomic<int>>(0);
};
template <class T>
struct counting_allocator {
  using value_type = T;
  counted count;
  counting_allocator() = default;
  explicit counting_allocator(counted c) : count(std::move(c)) {}
  template <class U>
  counting_allocator(const counting_allocator<U>& other) : count(other.count) {}
  T* allocate(std::size_t n) {
    ++*count.allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const counting_allocator<U>& other) const {
    return count.allocations == other.count.allocations;
  }
};

// The handler runs on its associated executor (another io_context, run by this thread), and
// the posting there allocates with the handler's associated allocator.
TEST_F(CompletionTokens, AHandlerRunsOnItsExecutorWithItsAllocator) {
  kc::producer p(io_.get_executor(), producer_config());
  asio::io_context caller;
  counted count;
  std::thread::id ran_on;
  bool done = false;
  const std::string value = "d";
  p.async_send(record_of(value),
               asio::bind_executor(
                   caller, asio::bind_allocator(counting_allocator<void>(count),
                                                [&](std::error_code ec, kc::delivery_report r) {
                                                  EXPECT_FALSE(ec) << ec.message();
                                                  EXPECT_EQ(r.offset, 3);
                                                  ran_on = std::this_thread::get_id();
                                                  done = true;
                                                })));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    caller.restart();
    caller.run_for(10ms);
  }
  ASSERT_TRUE(done);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_GT(count.allocations->load(), 0);
  auto closed = p.async_close(5s, asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

// ------------------------------------------------------------------ cancellation

std::string bytes_of(std::size_t n) { return std::string(n, 'x'); }

// A poll waiting for records completes at once with operation_canceled when its slot is
// signalled, and the records fetched meanwhile are not lost: the next poll has them.
TEST_F(CompletionTokens, APollIsCancelledThroughItsSlotAndLosesNothing) {
  kc::consumer c(io_.get_executor(), consumer_config());
  ASSERT_FALSE(c.assign({{"t", 0}}));
  asio::cancellation_signal signal;
  std::promise<std::pair<std::error_code, std::size_t>> outcome;
  const auto started = std::chrono::steady_clock::now();
  // Signal and slot belong to the io_context's thread, as Asio requires.
  asio::post(io_, [&] {
    c.async_poll(30s, asio::bind_cancellation_slot(signal.slot(),
                                                   [&](std::error_code ec, kc::record_set set) {
                                                     outcome.set_value({ec, set.record_count()});
                                                   }));
    signal.emit(asio::cancellation_type::terminal);
  });
  auto done = outcome.get_future();
  ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
  const auto [ec, count] = done.get();
  EXPECT_EQ(ec, std::errc::operation_canceled) << ec.message();
  EXPECT_EQ(count, 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);  // not the poll's 30 s

  std::size_t got = 0;
  for (int i = 0; i < 100 && got < 3; ++i) {
    auto polled = c.async_poll(200ms, asio::use_future);
    ASSERT_EQ(polled.wait_for(20s), std::future_status::ready);
    got += std::get<1>(polled.get()).record_count();
  }
  EXPECT_EQ(got, 3u);
  auto closed = c.async_close(asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

// The usual way a coroutine bounds a wait: poll || timer. The timer wins at the end of the
// partition, and the poll it cancels completes (a poll left pending would hold the
// coroutine until its own 30 s timeout).
TEST_F(CompletionTokens, APollRacedAgainstATimerInACoroutineEndsWithTheTimer) {
  using namespace asio::experimental::awaitable_operators;
  kc::consumer c(io_.get_executor(), consumer_config());
  ASSERT_FALSE(c.assign({{"t", 0}}));
  run([&]() -> asio::awaitable<void> {
    std::size_t got = 0;
    for (int i = 0; i < 100 && got < 3; ++i)
      got += std::get<1>(co_await c.async_poll(200ms, asio::use_awaitable)).record_count();
    EXPECT_EQ(got, 3u);
    asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
    const auto started = std::chrono::steady_clock::now();
    auto winner = co_await (c.async_poll(30s, asio::use_awaitable) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    EXPECT_EQ(winner.index(), 1u);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
    co_await c.async_close(asio::use_awaitable);
  });
}

// A producer whose buffer.memory holds one 600-byte record (with its batch, callback and
// timestamp: about 1,050 bytes), not two.
kc::producer_config one_record_of_memory(kc::properties props, std::string max_block_ms) {
  props.emplace_back("linger.ms", "0");
  props.emplace_back("batch.size", "1000");
  props.emplace_back("buffer.memory", "1500");
  props.emplace_back("max.block.ms", std::move(max_block_ms));
  kc::producer_config config;
  EXPECT_FALSE(kc::parse_producer_config(props, config));
  return config;
}

struct send_outcome {
  std::error_code ec;
  std::int64_t offset = -1;
  std::string topic;
};

// buffer.memory full and a slow broker: async_send waits without blocking the io_context's
// one thread (a timer on it keeps firing), then goes into a batch once memory frees.
TEST_F(CompletionTokens, ASendWaitingForMemoryBlocksNoThreadAndGoesOnWhenMemoryFrees) {
  kafka_.produce_delay = 300ms;
  kc::producer p(io_.get_executor(), one_record_of_memory(bootstrap(), "20000"));
  const std::string value = bytes_of(600);
  std::promise<send_outcome> second_done;
  int ticks = 0;
  asio::steady_timer ticker(io_);
  std::function<void()> tick = [&] {
    ticker.expires_after(20ms);
    ticker.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      ++ticks;
      tick();
    });
  };
  asio::post(io_, [&] {
    p.async_send(record_of(value), [](std::error_code, kc::delivery_report) {});
    p.async_send(record_of(value), [&](std::error_code ec, kc::delivery_report r) {
      second_done.set_value({ec, r.offset, std::string(r.topic)});
    });
    tick();
  });
  auto done = second_done.get_future();
  ASSERT_EQ(done.wait_for(20s), std::future_status::ready);
  const auto second = done.get();
  EXPECT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(second.offset, 4);
  std::promise<int> ticked;
  asio::post(io_, [&] {
    ticker.cancel();
    ticked.set_value(ticks);
  });
  EXPECT_GE(ticked.get_future().get(), 5);  // the thread ran timers while the send waited
  auto closed = p.async_close(5s, asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

// A send waiting for memory is cancelled through its slot (and never sent), or gives up
// after max.block.ms with buffer_exhausted, naming buffer.memory.
TEST_F(CompletionTokens, ASendWaitingForMemoryIsCancelledOrTimesOut) {
  kafka_.produce_delay = 5s;  // the first record's memory stays in use
  kc::producer p(io_.get_executor(), one_record_of_memory(bootstrap(), "300"));
  const std::string value = bytes_of(600);
  asio::cancellation_signal signal;
  std::promise<send_outcome> cancelled, timed_out;
  const auto started = std::chrono::steady_clock::now();
  asio::post(io_, [&] {
    p.async_send(record_of(value), [](std::error_code, kc::delivery_report) {});
    p.async_send(
        record_of(value),
        asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, kc::delivery_report r) {
          cancelled.set_value({ec, r.offset, std::string(r.topic)});
        }));
    p.async_send(record_of(value), [&](std::error_code ec, kc::delivery_report r) {
      std::string detail = r.error_details ? r.error_details->server_message : "";
      timed_out.set_value({ec, r.offset, detail});
    });
    signal.emit(asio::cancellation_type::total);
  });
  auto first = cancelled.get_future();
  ASSERT_EQ(first.wait_for(20s), std::future_status::ready);
  const auto c = first.get();
  EXPECT_EQ(c.ec, std::errc::operation_canceled) << c.ec.message();
  EXPECT_EQ(c.topic, "t");
  auto second = timed_out.get_future();
  ASSERT_EQ(second.wait_for(20s), std::future_status::ready);
  const auto t = second.get();
  EXPECT_EQ(t.ec, kc::errc::buffer_exhausted) << t.ec.message();
  EXPECT_NE(t.topic.find("buffer.memory"), std::string::npos) << t.topic;
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 4s);  // max.block.ms, not the broker's 5 s
  std::promise<int> requests;
  asio::post(io_, [&] { requests.set_value(kafka_.produce_requests); });
  EXPECT_EQ(requests.get_future().get(), 1);  // neither waiting record was sent
  auto closed = p.async_close(0ms, asio::use_future);
  EXPECT_EQ(closed.wait_for(20s), std::future_status::ready);
}

}  // namespace
