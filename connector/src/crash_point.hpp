// Crash points for the kill tests: in a test build (KWIRE_CRASH_POINTS, every build type but
// Release), KWIRE_CRASH_AT=<point>:<checkpoint> makes the process SIGKILL itself when it
// reaches the named point for that checkpoint, so a test can stop it exactly between two
// steps of the exactly-once protocol. Release builds have no such code. The points:
//   pre-commit                   the sink prepared checkpoint N's transaction
//   part-temp-written            N's part is in its temporary file, not renamed yet
//   part-renamed                 N's part is renamed and the directory fsynced
//   completion-temp-written      N's completion record is in its temporary file
//   completion-renamed           N's completion record is durable ("complete" not notified)
//   part-appended                the Kafka-topic store: N's part acknowledged
//   completion-appended          the Kafka-topic store: N's completion record acknowledged
//                                ("complete" not notified, old checkpoints not pruned)
//   end-txn-sent                 EndTxn(commit) of N's transaction sent, its answer not read
//   committed                    N's transaction committed, the group offsets not yet
//   reused-slot-begun            a transaction began on a slot used before (N: the last
//                                checkpoint prepared before it)
//   restore-committed            the restore committed the handles of checkpoint N, the
//                                abort sweep has not run
#pragma once

#include <string_view>

#include "kwire/connector/checkpoint_state.hpp"

namespace kwire::connector {

#ifdef KWIRE_CRASH_POINTS
// Whether KWIRE_CRASH_AT names this point and checkpoint.
bool crash_point_armed(std::string_view point, checkpoint_id id);
// SIGKILLs the process when armed; returns otherwise.
void crash_point(std::string_view point, checkpoint_id id);
#else
inline bool crash_point_armed(std::string_view, checkpoint_id) { return false; }
inline void crash_point(std::string_view, checkpoint_id) {}
#endif

}  // namespace kwire::connector
