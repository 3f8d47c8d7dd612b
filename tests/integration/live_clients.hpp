// What the live tests of the async clients share: an io_context run by a thread of its own
// for the clients of one test, and a string's bytes as a record key or value.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace kwire::test {

struct io_thread {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~io_thread() {
    work.reset();
    thread.join();
  }
};

inline std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Every value of `topic` as kcat (the peer client) reads it from the beginning under
// `isolation` (read_committed / read_uncommitted), by partition, in the order read.
inline std::map<int, std::vector<std::string>> kcat_values_by_partition(
    const std::string& bootstrap, const std::string& topic, const std::string& isolation) {
  const std::string command = "kcat -C -b " + bootstrap + " -t " + topic +
                              " -o beginning -e -q -X isolation.level=" + isolation +
                              " -f '%p %s\\n' 2>/dev/null";
  std::map<int, std::vector<std::string>> out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe)) {
    std::string text(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    const auto space = text.find(' ');
    out[std::stoi(text.substr(0, space))].push_back(text.substr(space + 1));
  }
  ::pclose(pipe);
  return out;
}

}  // namespace kwire::test
