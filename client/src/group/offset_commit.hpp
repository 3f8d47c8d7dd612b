// OffsetCommit for a group member: the request fenced with the member's generation (or
// KIP-848 member epoch), and what its per-partition errors mean, as Java's
// ConsumerCoordinator.OffsetCommitResponseHandler reads them. Sans-io.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "kwire/client/assignor.hpp"
#include "group/group_common.hpp"
#include "kwire/protocol/messages.hpp"

namespace kwire::client::detail {

struct offset_to_commit {
  topic_partition partition;
  std::int64_t offset = 0;  // the next record to read
  std::int32_t leader_epoch = -1;
  std::string metadata;
};

// Topic name -> id, for OffsetCommit v10+ (topics by id). Without ids, send v9 at most.
using topic_ids_by_name = std::map<std::string, protocol::uuid, std::less<>>;

// `fence` from group_member::commit_fence(); nullopt commits as a non-member (generation
// -1, empty member id), which the broker accepts only for a group with no members.
protocol::OffsetCommitRequest make_offset_commit(const std::string& group_id,
                                                 const std::optional<commit_identity>& fence,
                                                 const std::vector<offset_to_commit>& offsets,
                                                 const topic_ids_by_name& topic_ids = {});

struct offset_commit_result {
  std::vector<topic_partition> committed;
  std::vector<std::pair<topic_partition, std::error_code>> failed;
  // The first failure (empty when everything was committed) and whether the same commit
  // may be sent again (coordinator moved or loading, timeouts, unknown partition, stale
  // KIP-848 epoch).
  std::error_code error;
  bool retriable = false;
  // A membership error the group must react to: pass it to group_member::on_commit_error
  // (0 if none): UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS,
  // FENCED_INSTANCE_ID, FENCED_MEMBER_EPOCH, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR.
  std::int16_t group_error = 0;
};

// `topic_ids` maps v10+ responses (topics by id) back to names.
offset_commit_result read_offset_commit_response(const protocol::OffsetCommitResponse& response,
                                                 const topic_ids_by_name& topic_ids = {});

}  // namespace kwire::client::detail
