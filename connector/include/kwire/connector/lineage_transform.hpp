// The demo pipeline's transform: each input record becomes one output record with the same
// key, timestamp and headers, the value unchanged (identity) or in upper case (upper), and the
// header kwire-src = TOPIC:PARTITION:OFFSET of the input record, by which `kwire verify`
// (lineage_audit.hpp) proves the output exactly once. Stateless; no allocation per record
// once its buffers have grown.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kwire/connector/transform.hpp"

namespace kwire::connector {

enum class value_mapping : std::uint8_t { identity, upper };

class lineage_transform final : public transform {
 public:
  explicit lineage_transform(value_mapping mapping) : mapping_(mapping) {}

  std::string participant_name() const override { return "lineage-transform"; }
  participant_bytes snapshot(checkpoint_id) override { return {}; }
  std::error_code restore(std::span<const std::uint8_t>) override { return {}; }
  void notify_complete(checkpoint_id) override {}
  void notify_aborted(checkpoint_id) override {}

  std::error_code process(const source_record& input, record_emitter& out) override;

 private:
  value_mapping mapping_;
  std::string lineage_;
  std::vector<std::uint8_t> value_;
  std::vector<protocol::header_view> headers_;
};

}  // namespace kwire::connector
