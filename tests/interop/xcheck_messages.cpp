// kwire's side of the cross-check against the Java client's message classes
// (tests/interop/README.md). Both sides fill every field of every message version with the
// same deterministic values (test_fill.hpp), then exchange the encoded bodies.
//   kwire-xcheck-messages write DIR    writes DIR/<Name>.v<N>.bin for every message version
//   kwire-xcheck-messages verify DIR   decodes the Java-written files; each must decode to the
//                                      filled value and equal kwire's own bytes
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "kwire/protocol/test_fill.hpp"

namespace kp = kwire::protocol;
namespace fs = std::filesystem;

namespace {

std::string file_name(std::string_view message, int version) {
  return std::string(message) + ".v" + std::to_string(version) + ".bin";
}

bool read_file(const fs::path& path, std::vector<std::uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

struct tally {
  int passed = 0;
  int failed = 0;
};

template <class T>
void write_all(const fs::path& dir, tally& t) {
  for (int v = T::min_version; v <= T::max_version; ++v) {
    kp::fill_context ctx;
    T msg;
    kp::test_fill(msg, static_cast<std::int16_t>(v), ctx);
    std::vector<std::uint8_t> wire;
    if (auto ec = msg.encode(wire, static_cast<std::int16_t>(v))) {
      std::cout << "FAIL " << T::message_name << " v" << v << ": encode: " << ec.message() << "\n";
      ++t.failed;
      continue;
    }
    std::ofstream(dir / file_name(T::message_name, v), std::ios::binary)
        .write(reinterpret_cast<const char*>(wire.data()), static_cast<std::streamsize>(wire.size()));
    ++t.passed;
  }
}

template <class T>
void verify_all(const fs::path& dir, tally& t) {
  for (int v = T::min_version; v <= T::max_version; ++v) {
    const auto version = static_cast<std::int16_t>(v);
    std::vector<std::uint8_t> java;
    std::string where = std::string(T::message_name) + " v" + std::to_string(v);
    if (!read_file(dir / file_name(T::message_name, v), java)) {
      std::cout << "MISSING " << where << "\n";
      ++t.failed;
      continue;
    }
    kp::fill_context ctx;
    T expected;
    kp::test_fill(expected, version, ctx);
    std::vector<std::uint8_t> ours;
    (void)expected.encode(ours, version);
    T decoded;
    if (auto ec = decoded.decode(java, version)) {
      std::cout << "FAIL " << where << ": decode: " << ec.message() << "\n";
      ++t.failed;
    } else if (!(decoded == expected)) {
      std::cout << "FAIL " << where << ": decoded value differs from the filled value\n";
      ++t.failed;
    } else if (ours != java) {
      std::size_t i = 0;
      while (i < ours.size() && i < java.size() && ours[i] == java[i]) ++i;
      std::cout << "FAIL " << where << ": bytes differ at offset " << i << " (kwire " << ours.size()
                << " bytes, java " << java.size() << ")\n";
      ++t.failed;
    } else {
      std::cout << "PASS " << where << "\n";
      ++t.passed;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "write" && std::string(argv[1]) != "verify")) {
    std::cerr << "usage: kwire-xcheck-messages write|verify DIR\n";
    return 2;
  }
  const std::string mode = argv[1];
  const fs::path dir = argv[2];
  tally t;
  if (mode == "write") {
    fs::create_directories(dir);
    kp::for_each_message_type([&]<class T>() { write_all<T>(dir, t); });
    std::cout << "written: " << t.passed << " files, " << t.failed << " failed\n";
  } else {
    kp::for_each_message_type([&]<class T>() { verify_all<T>(dir, t); });
    std::cout << "messages: " << t.passed << " passed, " << t.failed << " failed\n";
  }
  return t.failed == 0 && t.passed > 0 ? 0 : 1;
}
