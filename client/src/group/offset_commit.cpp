#include "group/offset_commit.hpp"

#include <algorithm>

#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {

namespace {

using protocol::broker_error;

bool is_membership_error(std::int16_t code) {
  switch (static_cast<broker_error>(code)) {
    case broker_error::unknown_member_id:
    case broker_error::illegal_generation:
    case broker_error::rebalance_in_progress:
    case broker_error::fenced_instance_id:
    case broker_error::fenced_member_epoch:
    case broker_error::coordinator_not_available:
    case broker_error::not_coordinator:
      return true;
    default:
      return false;
  }
}

// Java retries a commit after these; a generation or membership problem fails it.
bool commit_may_retry(std::int16_t code) {
  switch (static_cast<broker_error>(code)) {
    case broker_error::coordinator_load_in_progress:
    case broker_error::coordinator_not_available:
    case broker_error::not_coordinator:
    case broker_error::request_timed_out:
    case broker_error::unknown_topic_or_partition:
    case broker_error::stale_member_epoch:
      return true;
    default:
      return false;
  }
}

}  // namespace

protocol::OffsetCommitRequest make_offset_commit(const std::string& group_id,
                                                 const std::optional<commit_identity>& fence,
                                                 const std::vector<offset_to_commit>& offsets,
                                                 const topic_ids_by_name& topic_ids) {
  protocol::OffsetCommitRequest request;
  request.group_id = group_id;
  if (fence) {
    request.generation_id_or_member_epoch = fence->generation_or_epoch;
    request.member_id = fence->member_id;
    request.group_instance_id = fence->group_instance_id;
  }
  for (const auto& entry : offsets) {
    const std::string& topic = entry.partition.topic;
    auto it = std::find_if(request.topics.begin(), request.topics.end(),
                           [&](const auto& t) { return t.name == topic; });
    if (it == request.topics.end()) {
      protocol::OffsetCommitRequest::OffsetCommitRequestTopic added;
      added.name = topic;  // v0-9; ignored by v10+
      if (const auto id = topic_ids.find(topic); id != topic_ids.end()) added.topic_id = id->second;
      request.topics.push_back(std::move(added));
      it = std::prev(request.topics.end());
    }
    protocol::OffsetCommitRequest::OffsetCommitRequestPartition partition;
    partition.partition_index = entry.partition.partition;
    partition.committed_offset = entry.offset;
    partition.committed_leader_epoch = entry.leader_epoch;
    partition.committed_metadata = entry.metadata;
    it->partitions.push_back(std::move(partition));
  }
  return request;
}

offset_commit_result read_offset_commit_response(const protocol::OffsetCommitResponse& response,
                                                 const topic_ids_by_name& topic_ids) {
  offset_commit_result result;
  for (const auto& topic : response.topics) {
    std::string name = topic.name;
    if (name.empty() && !topic.topic_id.is_zero()) {  // v10+
      for (const auto& [known, id] : topic_ids)
        if (id == topic.topic_id) name = known;
    }
    for (const auto& partition : topic.partitions) {
      topic_partition tp{name, partition.partition_index};
      if (partition.error_code == 0) {
        result.committed.push_back(std::move(tp));
        continue;
      }
      const std::error_code ec = protocol::broker_error_code(partition.error_code);
      if (!result.error) {
        result.error = ec;
        result.retriable = commit_may_retry(partition.error_code);
      }
      if (result.group_error == 0 && is_membership_error(partition.error_code))
        result.group_error = partition.error_code;
      result.failed.emplace_back(std::move(tp), ec);
    }
  }
  return result;
}

}  // namespace kwire::client::detail
