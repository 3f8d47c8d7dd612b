// Errors of the connector layer: kwire::connector::errc (the kwire.connector category) for
// what the connector finds itself, and checkpoint_error, which adds the detail an operator
// needs (the file, the checkpoint id, the format version) to a code a program can test.
// File-system failures keep their std::system_category code (errno).
#pragma once

#include <string>
#include <system_error>

namespace kwire::connector {

enum class errc {
  no_manifest = 1,             // the store has no job manifest (nothing was ever checkpointed)
  manifest_mismatch,           // the stored manifest belongs to another job (prefix differs)
  checkpoint_not_found,        // no checkpoint with that id in the store
  checkpoint_not_completed,    // the checkpoint's parts exist but it never completed
  checkpoint_corrupt,          // a checksum does not match, or a file is truncated or garbled
  checkpoint_part_missing,     // a completed checkpoint lacks a part its completion record names
  unsupported_format_version,  // a file of a format version this kwire cannot read
  no_completed_checkpoint,     // restore found nothing to restore from
  invalid_argument,            // the caller asked for something that cannot be done
  invalid_config,              // a connector setting is missing, unknown or contradicts another
  transactional_id_pool_exhausted,  // every transactional id of a subtask's pool is in use
  prepared_transaction_lost,        // a prepared transaction was aborted (timed out) before commit
  prepared_transaction_unknown,     // no transaction marker proves how a prepared one ended
  delivery_failed,                  // a record the sink wrote was not acknowledged
  completed_checkpoint_lost,    // the group's offsets name a newer checkpoint than the store has
  deserialization_failed,       // a record could not be deserialized (topic, partition, offset)
  checkpoint_topic_unsuitable,  // the Kafka store's topic is not compacted, or not 1 partition
};

const std::error_category& connector_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), connector_category()};
}

// A code and the sentence that says where it happened, e.g. {checkpoint_corrupt,
// "/ckpt/chk-00000000000000000042/part-00001: CRC-32C 0x1234abcd, computed 0x0badf00d"}.
struct checkpoint_error {
  std::error_code code;
  std::string detail;

  explicit operator bool() const noexcept { return static_cast<bool>(code); }
  // "detail: message of the code", or the message alone without a detail.
  std::string describe() const;
};

}  // namespace kwire::connector

template <>
struct std::is_error_code_enum<kwire::connector::errc> : std::true_type {};
