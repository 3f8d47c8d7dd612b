#include "durable_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "crash_point.hpp"

namespace kwire::connector {
namespace {

constexpr std::string_view temporary_marker = ".tmp-";

checkpoint_error errno_error(const std::filesystem::path& path, std::string_view what) {
  return {std::error_code(errno, std::system_category()), path.string() + ": " + std::string(what)};
}

// Closes the descriptor when it goes out of scope.
class file_descriptor {
 public:
  explicit file_descriptor(int fd) noexcept : fd_(fd) {}
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  int get() const noexcept { return fd_; }
  // close() reports the last write errors of some file systems (NFS): checked, not dropped.
  int close() noexcept {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

checkpoint_error sync_directory(const std::filesystem::path& directory) {
  file_descriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return errno_error(directory, "open the directory to fsync it");
  if (::fsync(dir.get()) != 0) return errno_error(directory, "fsync of the directory");
  return {};
}

checkpoint_error write_and_sync(const std::filesystem::path& path,
                                std::span<const std::uint8_t> bytes) {
  file_descriptor file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.get() < 0) return errno_error(path, "create");
  while (!bytes.empty()) {
    const ssize_t written = ::write(file.get(), bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "write");
    }
    bytes = bytes.subspan(static_cast<std::size_t>(written));
  }
  if (::fsync(file.get()) != 0) return errno_error(path, "fsync");
  if (file.close() != 0) return errno_error(path, "close");
  return {};
}

}  // namespace

checkpoint_error write_file_durably(const std::filesystem::path& path,
                                    std::span<const std::uint8_t> bytes, std::string_view kind,
                                    checkpoint_id id) {
  auto temporary = path;
  temporary += std::string(temporary_marker) + std::to_string(::getpid());
  if (auto error = write_and_sync(temporary, bytes)) {
    ::unlink(temporary.c_str());
    return error;
  }
  if (!kind.empty()) crash_point(std::string(kind) + "-temp-written", id);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    auto error = errno_error(path, "rename from " + temporary.filename().string());
    ::unlink(temporary.c_str());
    return error;
  }
  auto synced = sync_directory(path.parent_path());
  if (!synced && !kind.empty()) crash_point(std::string(kind) + "-renamed", id);
  return synced;
}

checkpoint_error create_directory_durably(const std::filesystem::path& directory) {
  std::error_code ec;
  if (std::filesystem::is_directory(directory, ec)) return {};
  if (!std::filesystem::create_directories(directory, ec) && ec)
    return {ec, directory.string() + ": create the directory"};
  return sync_directory(directory.parent_path());
}

checkpoint_error read_whole_file(const std::filesystem::path& path,
                                 std::vector<std::uint8_t>& out) {
  file_descriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) return errno_error(path, "open");
  out.clear();
  std::uint8_t chunk[16384];
  for (;;) {
    const ssize_t got = ::read(file.get(), chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno_error(path, "read");
    }
    if (got == 0) return {};
    out.insert(out.end(), chunk, chunk + got);
  }
}

bool is_temporary_file_name(const std::string& name) {
  return name.find(temporary_marker) != std::string::npos;
}

}  // namespace kwire::connector
