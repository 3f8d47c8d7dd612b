// Runs a consumer-group member (classic_group or consumer_group_heartbeat, see
// group_common.hpp for the contract) over a cluster: sends the requests the member asks for
// to its coordinator (FindCoordinator to any ready broker), feeds the answers back, answers
// its metadata questions from the cluster's metadata, and hands the listener actions to the
// owner (the consumer) through hooks.
//
// Threading: the cluster's executor (the consumer's strand); no timers of its own: the
// owner calls run() when woken and at the deadline run() returns.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kwire/client/cluster.hpp"
#include "kwire/client/config.hpp"
#include "group/group_common.hpp"

namespace kwire::client::detail {

struct group_driver_hooks {
  // Partitions leave this member: revoked (`lost` false: commit their offsets first) or
  // lost (others may own them already). The owner calls release_done() when finished;
  // the member waits for it.
  std::function<void(std::vector<topic_partition> partitions, bool lost)> release;
  // `added` are new; `assignment` is everything the member owns now.
  std::function<void(std::vector<topic_partition> added, std::vector<topic_partition> assignment)>
      assigned;
  // The membership cannot continue (fenced instance id, authorization, ...).
  std::function<void(std::error_code error, std::string message)> failed;
  // close() finished.
  std::function<void()> closed;
  // A response arrived or a question was answered: call run() soon.
  std::function<void()> wake;
};

class group_driver {
 public:
  // `request_timeout`: request.timeout.ms; JoinGroup waits up to `join_timeout` (the
  // rebalance timeout plus a margin, as Java does).
  group_driver(std::shared_ptr<cluster> cluster, std::unique_ptr<group_member> member,
               group_driver_hooks hooks, std::chrono::milliseconds request_timeout,
               std::chrono::milliseconds join_timeout);
  ~group_driver();
  group_driver(const group_driver&) = delete;
  group_driver& operator=(const group_driver&) = delete;

  // Inputs, passed to the member (see group_member); run() afterwards.
  void subscribe(group_clock::time_point now, std::vector<std::string> topics);
  void poll(group_clock::time_point now) { member_->poll(now); }
  void close(group_clock::time_point now) { member_->close(now); }
  void release_done(group_clock::time_point now) { member_->callbacks_done(now); }
  void commit_failed(group_clock::time_point now, std::int16_t error_code) {
    member_->on_commit_error(now, error_code);
  }
  // The cluster's metadata changed.
  void metadata_updated();

  // Acts on everything the member has to do now and sends what can be sent (requests wait
  // for their broker's connection, at most request.timeout.ms). Returns when to run again
  // without any input (time_point::max(): never).
  group_clock::time_point run(group_clock::time_point now);

  std::optional<commit_identity> commit_fence() const { return member_->commit_fence(); }
  // The coordinator's node id, -1 while unknown.
  std::int32_t coordinator() const noexcept;

 private:
  struct pending_send {
    send_request send;
    group_clock::time_point deadline;
  };

  void act(group_clock::time_point now, group_action& action);
  void observe(const group_action& action);
  void observe_coordinator();
  void log_answer(const group_request& request, std::error_code ec,
                  const group_response* response) const;
  // Sends what has a connection, fails what waited too long; true if the member got input.
  bool send_pending(group_clock::time_point now);
  enum class send_outcome : std::uint8_t { waiting, sent, failed };
  // `failed`: the broker does not support the API; the member got the error.
  send_outcome try_send(group_clock::time_point now, pending_send& p);
  // Answers need_partition_counts / need_topic_names from the metadata; true if it did.
  bool answer_questions(group_clock::time_point now);
  topic_partition_counts known_partition_counts() const;

  std::shared_ptr<cluster> cluster_;
  std::unique_ptr<group_member> member_;
  group_driver_hooks hooks_;
  std::chrono::milliseconds request_timeout_;
  std::chrono::milliseconds join_timeout_;
  std::deque<pending_send> unsent_;
  std::optional<std::vector<std::string>> counts_wanted_;  // need_partition_counts unanswered
  std::vector<protocol::uuid> names_wanted_;               // need_topic_names unanswered
  std::uint64_t metadata_version_seen_ = 0;
  topic_partition_counts known_counts_;  // as of that metadata
  // Response callbacks hold a weak_ptr to it: once the driver is gone they do nothing.
  std::shared_ptr<group_driver*> self_;
  std::int32_t coordinator_seen_ = -1;  // for the log and the coordinator hook
};

// The member for consumer_config's group.protocol, with its settings (group.id must be set).
std::unique_ptr<group_member> make_group_member(const consumer_config& config);

}  // namespace kwire::client::detail
