// idle-bench: the CPU an idle producer burns. It connects, produces one record (so the
// connection to the partition leader is open and the producer id is known), waits for its
// acknowledgement, then measures the process's CPU time (user + system, every thread) over
// SECONDS of doing nothing.
//   idle-bench --client kwire|librdkafka -b BOOTSTRAP -t TOPIC [--seconds 60]
// Last stdout line: {"client":..., "idle_secs":..., "cpu_s":..., "cpu_percent":...,
// "voluntary_switches":..., "involuntary_switches":...} (context switches over the idle window:
// a proxy for wake-ups).
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>

#include "kwire/client/producer.hpp"
#ifdef KWIRE_HAVE_RDKAFKA
#include <librdkafka/rdkafka.h>
#endif

namespace {

struct usage {
  double cpu_s = 0;
  long voluntary = 0;
  long involuntary = 0;
};

usage now_usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  usage u;
  u.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  u.voluntary = ru.ru_nvcsw;
  u.involuntary = ru.ru_nivcsw;
  return u;
}

int report(const char* client, int seconds, const usage& before, const usage& after) {
  const double cpu = after.cpu_s - before.cpu_s;
  std::printf(
      "{\"client\":\"%s\",\"idle_secs\":%d,\"cpu_s\":%.4f,\"cpu_percent\":%.4f,"
      "\"voluntary_switches\":%ld,\"involuntary_switches\":%ld}\n",
      client, seconds, cpu, 100.0 * cpu / seconds, after.voluntary - before.voluntary,
      after.involuntary - before.involuntary);
  return 0;
}

int idle_kwire(const std::string& bootstrap, const std::string& topic, int seconds) {
  kwire::client::producer_config config;
  if (auto error =
          kwire::client::parse_producer_config({{"bootstrap.servers", bootstrap}}, config)) {
    std::fprintf(stderr, "idle-bench: %s\n", error->message.c_str());
    return 2;
  }
  boost::asio::io_context io(1);
  auto work = boost::asio::make_work_guard(io);
  std::thread network([&io] { io.run(); });
  kwire::client::producer producer(io.get_executor(), config);
  std::promise<std::error_code> acked;
  const std::string value = "idle";
  if (auto ec = producer.send(
          {.topic = topic,
           .value = std::span(reinterpret_cast<const std::uint8_t*>(value.data()), value.size())},
          [&acked](std::error_code ec, const kwire::client::delivery_report&) {
            acked.set_value(ec);
          })) {
    std::fprintf(stderr, "idle-bench: send: %s\n", ec.message().c_str());
    return 1;
  }
  if (auto ec = acked.get_future().get()) {
    std::fprintf(stderr, "idle-bench: delivery: %s\n", ec.message().c_str());
    return 1;
  }
  const auto before = now_usage();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const auto after = now_usage();
  producer.close(std::chrono::seconds(1));
  work.reset();
  network.join();
  return report("kwire", seconds, before, after);
}

#ifdef KWIRE_HAVE_RDKAFKA
int idle_rdkafka(const std::string& bootstrap, const std::string& topic, int seconds) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "idle-bench: %s\n", err);
    return 1;
  }
  rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                    RD_KAFKA_V_VALUE(const_cast<char*>("idle"), 4),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "idle-bench: librdkafka did not deliver within 30 s\n");
    return 1;
  }
  const auto before = now_usage();
  // An application would poll for delivery reports; once a second is a gentle schedule.
  for (int i = 0; i < seconds; ++i) rd_kafka_poll(rk, 1000);
  const auto after = now_usage();
  rd_kafka_destroy(rk);
  return report("librdkafka", seconds, before, after);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::string client = "kwire", bootstrap, topic;
  int seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--client")
      client = argv[i + 1];
    else if (flag == "-b")
      bootstrap = argv[i + 1];
    else if (flag == "-t")
      topic = argv[i + 1];
    else if (flag == "--seconds")
      seconds = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "idle-bench: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (bootstrap.empty() || topic.empty() || seconds <= 0) {
    std::fprintf(
        stderr,
        "usage: idle-bench --client kwire|librdkafka -b BOOTSTRAP -t TOPIC [--seconds N]\n");
    return 2;
  }
  if (client == "kwire") return idle_kwire(bootstrap, topic, seconds);
#ifdef KWIRE_HAVE_RDKAFKA
  if (client == "librdkafka") return idle_rdkafka(bootstrap, topic, seconds);
#endif
  std::fprintf(stderr, "idle-bench: unknown or unavailable client %s\n", client.c_str());
  return 2;
}
