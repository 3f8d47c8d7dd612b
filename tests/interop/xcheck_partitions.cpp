// Cross-check of kwire's keyed partitioning against the Java client (tests/interop/README.md).
//
//   kwire-xcheck-partitions --java-run tests/interop/java/run.sh [--seed S] [--keys N]
//                           [--jars 4.4.0,3.9.2] [--work DIR]
//
// Generates N random keys (default 10000; lengths 0..64 with the empty key included, random
// bytes, from a seed printed in the output), writes them as hex lines, and has the Java harness
// (`partition-keys`) compute Utils.murmur2 and BuiltInPartitioner.partitionForKey with each
// kafka-clients jar for 1, 3, 7, 12, 100 and 1000 partitions. kwire's murmur2() and
// partition_for_key() must give the same numbers for every key and count.
// Exit 0 all identical, 1 any difference or harness failure, 77 skipped (no java or mvn).
// --work keeps the files in DIR (otherwise a temporary directory, removed at the end).
#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kwire/client/partitioner.hpp"
#include "xcheck_common.hpp"

namespace fs = std::filesystem;
using kwire::xcheck::shell_quoted;

namespace {

constexpr std::array<std::int32_t, 6> partition_counts{1, 3, 7, 12, 100, 1000};
constexpr std::size_t max_key_length = 64;
constexpr std::size_t differences_shown = 10;

using kwire::xcheck::options;

// Lengths and bytes straight from mt19937_64 (fully specified by the standard) rather than
// through distributions (library-specific), so a seed names the same keys everywhere. The first
// two keys pin the edges: empty and the longest.
std::vector<std::vector<std::uint8_t>> random_keys(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 random(seed);
  std::vector<std::vector<std::uint8_t>> keys(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t length = static_cast<std::size_t>(random() % (max_key_length + 1));
    if (i == 0) length = 0;
    if (i == 1) length = max_key_length;
    keys[i].resize(length);
    for (auto& byte : keys[i]) byte = static_cast<std::uint8_t>(random() >> 56);
  }
  return keys;
}

std::string hex_of(const std::vector<std::uint8_t>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (std::uint8_t byte : bytes) {
    hex += digits[byte >> 4];
    hex += digits[byte & 0xf];
  }
  return hex;
}

// kwire's line for a key, in the harness's format: murmur2, then the partition per count.
std::string kwire_line(const std::vector<std::uint8_t>& key) {
  std::string line = std::to_string(kwire::client::murmur2(key));
  for (std::int32_t count : partition_counts) {
    line += ' ';
    line += std::to_string(kwire::client::partition_for_key(key, count));
  }
  return line;
}

// Runs the Java harness on one jar and compares its lines with kwire's. True when identical.
bool check_jar(const options& opts, const std::string& jar, const fs::path& keys_file,
               const std::vector<std::vector<std::uint8_t>>& keys) {
  std::string counts;
  for (std::int32_t count : partition_counts) {
    counts += (counts.empty() ? "" : ",") + std::to_string(count);
  }
  const std::string command = shell_quoted(opts.java_run) + " " + shell_quoted(jar) +
                              " partition-keys --in " + shell_quoted(keys_file.string()) +
                              " --partitions " + counts;
  FILE* java = popen(command.c_str(), "r");
  if (java == nullptr) {
    std::cout << "FAIL " << jar << ": could not start: " << command << "\n";
    return false;
  }
  std::size_t line_number = 0;
  std::size_t differences = 0;
  std::string java_line;
  char chunk[4096];
  auto compare_line = [&](const std::string& line) {
    if (line_number >= keys.size()) {
      ++differences;
      if (differences <= differences_shown) std::cout << "  extra Java line: " << line << "\n";
    } else if (const std::string ours = kwire_line(keys[line_number]); ours != line) {
      ++differences;
      if (differences <= differences_shown) {
        std::cout << "  key " << line_number << " (" << hex_of(keys[line_number]) << "): Java '"
                  << line << "', kwire '" << ours << "'\n";
      }
    }
    ++line_number;
  };
  while (std::fgets(chunk, sizeof chunk, java) != nullptr) {
    java_line += chunk;
    if (!java_line.empty() && java_line.back() == '\n') {
      java_line.pop_back();
      compare_line(java_line);
      java_line.clear();
    }
  }
  if (!java_line.empty()) compare_line(java_line);
  const int status = pclose(java);
  if (status != 0) {
    const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::cout << "FAIL " << jar << ": the Java harness failed (exit " << exit_code
              << "): " << command << "\n";
    return false;
  }
  if (line_number < keys.size()) {
    differences += keys.size() - line_number;
    std::cout << "  Java gave " << line_number << " lines for " << keys.size() << " keys\n";
  }
  if (differences != 0) {
    std::cout << "FAIL kafka-clients " << jar << ": " << differences << " of " << keys.size()
              << " keys differ\n";
    return false;
  }
  std::cout << "PASS kafka-clients " << jar << ": " << keys.size() << " keys x "
            << partition_counts.size()
            << " partition counts = " << keys.size() * partition_counts.size()
            << " partitions identical, murmur2 identical for every key\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  opts.seed = 20240917;
  opts.count = 10000;
  if (const int exit_code =
          kwire::xcheck::start(argc, argv, "kwire-xcheck-partitions", "--keys", opts)) {
    return exit_code;
  }
  const auto work_dir = kwire::xcheck::work_directory(opts.work_dir, "kwire-xcheck-partitions");
  if (!work_dir) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path work = *work_dir;
  const bool remove_work = opts.work_dir.empty();

  std::cout << "seed " << opts.seed << ", " << opts.count << " keys of 0.." << max_key_length
            << " bytes, partition counts";
  for (std::int32_t count : partition_counts) std::cout << ' ' << count;
  std::cout << std::endl;

  const auto keys = random_keys(opts.seed, opts.count);
  const fs::path keys_file = work / "keys.hex";
  {
    std::ofstream out(keys_file);
    for (const auto& key : keys) out << hex_of(key) << '\n';
    if (!out) {
      std::cout << "FAIL: could not write " << keys_file << "\n";
      return 1;
    }
  }

  bool all_identical = true;
  for (const auto& jar : opts.jars) {
    all_identical = check_jar(opts, jar, keys_file, keys) && all_identical;
    std::cout.flush();
  }
  if (remove_work) fs::remove_all(work);
  std::cout << (all_identical ? "partition cross-check: all identical"
                              : "partition cross-check: FAILED")
            << "\n";
  return all_identical ? 0 : 1;
}
