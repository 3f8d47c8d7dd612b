// A consumer-group member: prints each record, commits the offsets it has processed
// itself (enable.auto.commit=false), and commits what it has processed of a partition
// before a rebalance takes it away. Stops at SIGINT/SIGTERM or after MAX_RECORDS.
//   consumer_group BOOTSTRAP TOPIC GROUP [MAX_RECORDS]
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <kwire/client/config.hpp>
#include <kwire/client/consumer.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asio = boost::asio;
namespace client = kwire::client;

static std::string_view text_of(const kwire::protocol::optional_bytes& bytes) {
  if (!bytes) return "(null)";
  return {reinterpret_cast<const char*>(bytes->data()), bytes->size()};
}

static std::string describe(const std::vector<client::topic_partition>& partitions) {
  std::string text;
  for (const auto& tp : partitions) text += " " + tp.topic + "/" + std::to_string(tp.partition);
  return text.empty() ? " (none)" : text;
}

using done_function = client::rebalance_listener::done_function;

class committing_member {
 public:
  committing_member(asio::any_io_executor executor, client::consumer_config config)
      : consumer_(std::move(executor), std::move(config)) {}

  std::error_code subscribe(std::string topic) {
    return consumer_.subscribe({std::move(topic)}, listener());
  }
  void stop() { stopping_ = true; }

  // Polls, prints and commits until stop() or max_records; false after a poll error.
  asio::awaitable<bool> run(std::int64_t max_records) {
    std::int64_t seen = 0;
    bool ok = true;
    while (!stopping_ && seen < max_records) {
      auto [ec, records] = co_await consumer_.async_poll(std::chrono::milliseconds(500),
                                                         asio::as_tuple(asio::use_awaitable));
      if (ec) {
        std::cerr << "poll: " << ec.message() << '\n';
        ok = false;
        break;
      }
      client::consumer_record record;
      for (auto cursor = records.records(); cursor.next(record); ++seen) {
        std::cout << record.topic << '/' << record.partition << '@' << record.offset << ' '
                  << text_of(record.key) << ' ' << text_of(record.value) << '\n';
        processed_[{std::string(record.topic), record.partition}] = {
            .offset = record.offset + 1, .leader_epoch = record.leader_epoch, .metadata = {}};
      }
      if (processed_.empty()) continue;
      auto committing = std::exchange(processed_, {});
      auto [commit_ec] =
          co_await consumer_.async_commit(committing, asio::as_tuple(asio::use_awaitable));
      if (commit_ec) {
        // E.g. REBALANCE_IN_PROGRESS: keep the offsets (unless newer ones came meanwhile)
        // for the next commit, or for on_revoked if the partition goes away.
        std::cerr << "commit: " << commit_ec.message() << '\n';
        for (auto& [partition, offset] : committing) processed_.try_emplace(partition, offset);
      }
    }
    co_await consumer_.async_close(asio::use_awaitable);  // revokes, then leaves the group
    co_return ok;
  }

 private:
  client::consumer consumer_;
  // Offsets after the records processed but not committed yet, by partition.
  client::topic_partition_offsets processed_;
  bool stopping_ = false;

  // The listener's callbacks run on the consumer's strand; with one thread running the
  // io_context they never run at the same time as run().
  client::rebalance_listener listener() {
    return {
        .on_revoked =
            [this](const std::vector<client::topic_partition>& revoked, done_function done) {
              std::cout << "revoked:" << describe(revoked) << std::endl;
              client::topic_partition_offsets to_commit;
              for (const auto& tp : revoked)
                if (auto node = processed_.extract(tp)) to_commit.insert(std::move(node));
              if (to_commit.empty()) return done();
              // The rebalance waits for done(): the next owner starts where this one stopped.
              consumer_.async_commit(std::move(to_commit),
                                     [done = std::move(done)](std::error_code ec) mutable {
                                       if (ec) std::cerr << "commit: " << ec.message() << '\n';
                                       done();
                                     });
            },
        .on_lost =
            [this](const std::vector<client::topic_partition>& lost, done_function done) {
              std::cout << "lost:" << describe(lost) << std::endl;
              for (const auto& tp : lost) processed_.erase(tp);  // another member owns them
              done();
            },
        .on_assigned =
            [](const std::vector<client::topic_partition>& added,
               const std::vector<client::topic_partition>&) {
              std::cout << "assigned:" << describe(added) << std::endl;
            },
    };
  }
};

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: consumer_group BOOTSTRAP TOPIC GROUP [MAX_RECORDS]\n";
    return 2;
  }
  client::consumer_config config;
  if (auto error = client::parse_consumer_config({{"bootstrap.servers", argv[1]},
                                                  {"group.id", argv[3]},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "earliest"}},
                                                 config)) {
    std::cerr << error->message << '\n';
    return 2;
  }
  const std::int64_t max_records =
      argc > 4 ? std::stoll(argv[4]) : std::numeric_limits<std::int64_t>::max();

  asio::io_context io;
  committing_member member(io.get_executor(), config);
  if (auto ec = member.subscribe(argv[2])) {
    std::cerr << "subscribe: " << ec.message() << '\n';
    return 2;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&member](const boost::system::error_code& ec, int) {
    if (!ec) member.stop();
  });
  int exit_code = 1;
  asio::co_spawn(io, member.run(max_records),
                 [&signals, &exit_code](std::exception_ptr error, bool ok) {
                   signals.cancel();  // nothing left to wait for: io.run() may return
                   if (error) std::rethrow_exception(error);
                   exit_code = ok ? 0 : 1;
                 });
  io.run();
  return exit_code;
}
