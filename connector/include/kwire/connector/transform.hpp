// A user's record-by-record step between the source and the sink, with state of its own that
// is checkpointed with the records it has seen (e.g. per-key counts). One instance per
// subtask, called on the subtask's thread.
#pragma once

#include <cstdint>
#include <system_error>

#include "kwire/connector/checkpoint_participant.hpp"
#include "kwire/connector/record.hpp"

namespace kwire::connector {

// Where a transform's output goes (the sink, in a pipeline).
class record_emitter {
 public:
  virtual ~record_emitter() = default;
  // The record's spans need to live only during the call.
  virtual std::error_code emit(const sink_record& record) = 0;
};

class transform : public checkpoint_participant {
 public:
  // Zero, one or more output records for `input`. An error fails the pipeline (restart from
  // the latest completed checkpoint); a transform that wants to skip a record emits nothing.
  virtual std::error_code process(const source_record& input, record_emitter& out) = 0;

  // With event time on (job_settings::watermarks): the subtask's watermark advanced to
  // `watermark` (no record with an earlier event time is expected any more); a transform
  // may emit what it held for it (a window's result). Records carry their event time as
  // their timestamp.
  virtual std::error_code on_watermark(std::int64_t watermark, record_emitter& out) {
    (void)watermark;
    (void)out;
    return {};
  }
};

}  // namespace kwire::connector
