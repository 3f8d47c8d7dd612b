// The checkpoint store over an ordered log of keyed records, as a compacted Kafka topic is:
// every write appends a record, a key holds its latest value, and a record with a null value
// (a tombstone) removes the key. The store keeps the latest value of every key it has read
// and reads what was appended since before each answer, so every process sharing the log
// sees the same store. No I/O here: the log is a `checkpoint_log` (kafka_checkpoint_log, or
// a vector in the tests).
//
//   manifest                   the job manifest
//   chk/<id>/part/<subtask>    subtask <subtask>'s part of checkpoint <id> (decimal)
//   chk/<id>/completed         the completion record of checkpoint <id>
//
// The values are the files of the directory store byte for byte (checkpoint_format.hpp:
// envelope, version, CRC-32C), and reading them back follows the same rules
// (checkpoint_reading.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint_reading.hpp"
#include "kwire/connector/checkpoint_store.hpp"

namespace kwire::connector::detail {

struct log_record {
  std::string key;
  std::optional<std::vector<std::uint8_t>> value;  // nullopt: a tombstone
  bool operator==(const log_record&) const = default;
};

// What the store needs of a log.
class checkpoint_log {
 public:
  virtual ~checkpoint_log() = default;
  // Appends the records in this order; returns once every one is durable.
  virtual checkpoint_error append(const std::vector<log_record>& records) = 0;
  // Hands `apply` every record appended since the previous call (the first call: from the
  // log's start), in order, at least up to the log's end as it was when the call began.
  virtual checkpoint_error read_new(const std::function<void(log_record)>& apply) = 0;
  // How errors name the log: "topic T".
  virtual std::string name() const = 0;
};

enum class log_key_kind : std::uint8_t { manifest, part, completion, other };
struct log_key {
  log_key_kind kind = log_key_kind::other;
  checkpoint_id id = 0;
  std::int32_t subtask = -1;
  bool operator==(const log_key&) const = default;
};

std::string manifest_key();
std::string part_key(checkpoint_id id, std::int32_t subtask);
std::string completion_key(checkpoint_id id);
// `other` for anything the store does not write (numbers only in their canonical decimal
// form, so that two keys never name the same thing).
log_key parse_log_key(std::string_view key);

class log_checkpoint_store final : public checkpoint_store {
 public:
  struct options {
    std::size_t keep_completed = 3;  // as file_checkpoint_store's
    warning_sink warn;
  };
  explicit log_checkpoint_store(checkpoint_log& log);
  log_checkpoint_store(checkpoint_log& log, options settings);

  checkpoint_error write_manifest(const job_manifest& manifest) override;
  checkpoint_error read_manifest(job_manifest& out) override;
  checkpoint_error write_part(const subtask_state& part) override;
  checkpoint_error complete(checkpoint_id id, std::int32_t parallelism,
                            std::int64_t completed_ms) override;
  checkpoint_error list(std::vector<stored_checkpoint>& out) override;
  checkpoint_error load(checkpoint_id id, completed_checkpoint& out) override;

  // Tombstones what keep_completed does not keep (the completion record first, so that a
  // crash half way leaves an incomplete checkpoint, never a completed one without parts);
  // complete() calls it.
  checkpoint_error prune();

 private:
  // Reads what was appended since the last time.
  checkpoint_error catch_up();
  stored_record lookup(const std::string& key) const;
  // The store's checkpoints from the latest values, without reading the log.
  std::vector<stored_checkpoint> checkpoints() const;

  checkpoint_log& log_;
  options options_;
  std::map<std::string, std::vector<std::uint8_t>, std::less<>> latest_;
};

}  // namespace kwire::connector::detail
