// Pieces the kwire-xcheck-* programs share: option lists, finding java, quoting for
// /bin/sh, running the Java harness and reading its lines, the work directory.
#pragma once

#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace kwire::xcheck {

// The options every cross-check takes: --java-run PATH/run.sh, --seed S, a count (--keys,
// --scenarios), --jars A,B and --work DIR.
struct options {
  std::string java_run;
  std::uint64_t seed = 0;
  std::size_t count = 0;
  std::vector<std::string> jars{"4.4.0", "3.9.2"};
  std::string work_dir;
};

inline std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Fills `parsed` (which holds the defaults) from argv; false on an unknown flag, a flag
// without a value, or no --java-run.
inline bool parse_options(int argc, char** argv, const std::string& count_flag, options& parsed) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    if (flag == "--java-run") {
      parsed.java_run = value;
    } else if (flag == "--seed") {
      parsed.seed = std::stoull(value);
    } else if (flag == count_flag) {
      parsed.count = std::stoul(value);
    } else if (flag == "--jars") {
      parsed.jars = split_commas(value);
    } else if (flag == "--work") {
      parsed.work_dir = value;
    } else {
      return false;
    }
  }
  return !parsed.java_run.empty() && parsed.count > 0 && !parsed.jars.empty();
}

inline bool on_path(const char* program) {
  const std::string command = std::string("command -v ") + program + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// For /bin/sh: single quotes, with embedded single quotes closed, escaped and reopened.
inline std::string shell_quoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

// Runs a shell command and returns its stdout lines, or nothing when it fails to start
// or exits non-zero (its exit code in *exit_code, -1 when it did not exit normally).
inline std::optional<std::vector<std::string>> output_lines(const std::string& command,
                                                            int* exit_code) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    if (exit_code) *exit_code = -1;
    return std::nullopt;
  }
  std::vector<std::string> lines;
  std::string line;
  char chunk[4096];
  while (std::fgets(chunk, sizeof chunk, pipe) != nullptr) {
    line += chunk;
    if (line.back() == '\n') {
      line.pop_back();
      lines.push_back(std::move(line));
      line.clear();
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  const int status = pclose(pipe);
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (exit_code) *exit_code = code;
  if (code != 0) return std::nullopt;
  return lines;
}

// Parses the options and checks for java and mvn: 0 to go on, otherwise the exit code to
// return (2 after printing the usage, 77 to skip).
inline int start(int argc, char** argv, const std::string& program, const std::string& count_flag,
                 options& opts) {
  if (!parse_options(argc, argv, count_flag, opts)) {
    std::cerr << "usage: " << program << " --java-run PATH/run.sh [--seed S] [" << count_flag
              << " N] [--jars 4.4.0,3.9.2] [--work DIR]\n";
    return 2;
  }
  if (!on_path("java") || !on_path("mvn")) {
    std::cout << "SKIP: " << program << " needs java and mvn on PATH\n";
    return 77;
  }
  return 0;
}

// --work DIR when given (kept), else a fresh temporary directory (removed by the caller).
inline std::optional<std::filesystem::path> work_directory(const std::string& requested,
                                                           const char* prefix) {
  if (!requested.empty()) {
    std::filesystem::create_directories(requested);
    return std::filesystem::path(requested);
  }
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) return std::nullopt;
  return std::filesystem::path(pattern);
}

}  // namespace kwire::xcheck
