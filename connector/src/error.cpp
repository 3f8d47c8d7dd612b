#include "kwire/connector/error.hpp"

namespace kwire::connector {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kwire.connector"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::no_manifest:
        return "the checkpoint store has no job manifest";
      case errc::manifest_mismatch:
        return "the checkpoint store belongs to another job";
      case errc::checkpoint_not_found:
        return "no such checkpoint";
      case errc::checkpoint_not_completed:
        return "the checkpoint never completed";
      case errc::checkpoint_corrupt:
        return "the checkpoint is corrupt";
      case errc::checkpoint_part_missing:
        return "a part of the completed checkpoint is missing";
      case errc::unsupported_format_version:
        return "unsupported checkpoint format version";
      case errc::no_completed_checkpoint:
        return "no completed checkpoint to restore from";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::invalid_config:
        return "invalid connector configuration";
      case errc::transactional_id_pool_exhausted:
        return "every transactional id of the subtask's pool is in use";
      case errc::prepared_transaction_lost:
        return "a prepared transaction was aborted before it could be committed: its records are "
               "lost";
      case errc::prepared_transaction_unknown:
        return "no transaction marker shows how a prepared transaction ended";
      case errc::delivery_failed:
        return "a record was not delivered";
      case errc::completed_checkpoint_lost:
        return "a completed checkpoint is missing from the store";
      case errc::deserialization_failed:
        return "a record could not be deserialized";
      case errc::checkpoint_topic_unsuitable:
        return "the checkpoint store's topic is not a compacted topic of one partition";
    }
    return "unknown kwire.connector error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& connector_category() noexcept {
  static const category instance;
  return instance;
}

std::string checkpoint_error::describe() const {
  if (detail.empty()) return code.message();
  return detail + ": " + code.message();
}

}  // namespace kwire::connector
