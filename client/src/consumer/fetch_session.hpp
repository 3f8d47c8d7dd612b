// Incremental fetch sessions (KIP-227), sans-io: which partitions the next Fetch request to
// one broker names, and which it tells the broker to forget.
//
// The first request of a session is full (every wanted partition, epoch 0); the broker
// answers with a session id. Later requests carry only partitions that are new or whose
// fetch parameters changed, plus those no longer wanted (forgotten); the broker keeps the
// rest. An error, a lost connection or a response without a session id starts over with a
// full request. One request at a time per session: plan, send, then apply the outcome.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "kwire/client/assignor.hpp"

namespace kwire::client::detail {

struct fetch_partition_params {
  std::int64_t fetch_offset = 0;
  std::int32_t current_leader_epoch = -1;
  std::int32_t last_fetched_epoch = -1;
  std::int64_t log_start_offset = -1;
  std::int32_t max_bytes = 0;
  bool operator==(const fetch_partition_params&) const = default;
};

using fetch_partition_map = std::map<topic_partition, fetch_partition_params>;

struct fetch_plan {
  std::int32_t session_id = 0;
  std::int32_t session_epoch = -1;  // -1: no session (full fetch, none created)
  bool full = true;
  fetch_partition_map to_send;
  std::vector<topic_partition> to_forget;
};

class fetch_session {
 public:
  // `use_sessions` false (Fetch below v7) makes every request full and sessionless.
  explicit fetch_session(bool use_sessions = true) : use_sessions_(use_sessions) {}

  void set_use_sessions(bool use) {
    if (use != use_sessions_) reset();
    use_sessions_ = use;
  }

  fetch_plan plan(const fetch_partition_map& wanted) const {
    fetch_plan p;
    if (!use_sessions_ || session_id_ == 0) {
      p.full = true;
      p.session_id = 0;
      p.session_epoch = use_sessions_ ? 0 : -1;
      p.to_send = wanted;
      return p;
    }
    p.full = false;
    p.session_id = session_id_;
    p.session_epoch = epoch_;
    for (const auto& [tp, params] : wanted) {
      auto it = in_session_.find(tp);
      if (it == in_session_.end() || !(it->second == params)) p.to_send.emplace(tp, params);
    }
    for (const auto& [tp, params] : in_session_)
      if (!wanted.contains(tp)) p.to_forget.push_back(tp);
    return p;
  }

  // After a response without a top-level error: what the broker now holds for us.
  void on_success(const fetch_plan& sent, std::int32_t response_session_id) {
    if (sent.full) {
      in_session_ = sent.to_send;
      session_id_ = use_sessions_ ? response_session_id : 0;
      epoch_ = 1;
      if (session_id_ == 0) in_session_.clear();
      return;
    }
    // The broker closes a session that an incremental request leaves empty (it answers
    // without a session id): the next request then opens a new one, instead of failing
    // with FETCH_SESSION_ID_NOT_FOUND first.
    if (response_session_id == 0) return reset();
    for (const auto& [tp, params] : sent.to_send) in_session_[tp] = params;
    for (const auto& tp : sent.to_forget) in_session_.erase(tp);
    epoch_ = epoch_ == INT32_MAX ? 1 : epoch_ + 1;
  }

  // A top-level error or a lost connection: the next request is full.
  void reset() {
    session_id_ = 0;
    epoch_ = 0;
    in_session_.clear();
  }

  // The broker's view of a partition in the session (after the last success), if any:
  // partitions left out of an incremental request may still come back with data.
  const fetch_partition_params* in_session(const topic_partition& tp) const {
    auto it = in_session_.find(tp);
    return it == in_session_.end() ? nullptr : &it->second;
  }
  std::int32_t session_id() const noexcept { return session_id_; }

 private:
  bool use_sessions_;
  std::int32_t session_id_ = 0;
  std::int32_t epoch_ = 0;
  fetch_partition_map in_session_;
};

}  // namespace kwire::client::detail
