// The group coordinator's side of committed offsets for scripted brokers (fake_broker.hpp):
// FindCoordinator names node 1 at `port`, OffsetCommit stores into `committed`, OffsetFetch
// reads from it. Partitions are told apart by index only (tests with one topic).
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "fake_broker.hpp"

namespace kwire::test {

struct fake_offsets_coordinator {
  std::uint16_t port = 0;
  std::map<std::int32_t, std::int64_t> committed;  // partition -> offset
  int commits = 0;

  // The answer to a coordinator request; nullopt for any other API.
  std::optional<fake_action> operator()(const fake_request& r) {
    switch (r.api_key) {
      case protocol::FindCoordinatorRequest::api_key:
        return find_coordinator(r);
      case protocol::OffsetCommitRequest::api_key:
        return offset_commit(r);
      case protocol::OffsetFetchRequest::api_key:
        return offset_fetch(r);
    }
    return std::nullopt;
  }

 private:
  fake_action find_coordinator(const fake_request& r) const {
    const auto request = r.decode<protocol::FindCoordinatorRequest>();
    protocol::FindCoordinatorResponse response;
    if (r.api_version >= 4) {  // one answer per key
      for (const auto& key : request.coordinator_keys) {
        auto& c = response.coordinators.emplace_back();
        c.key = key;
        c.node_id = 1;
        c.host = "127.0.0.1";
        c.port = port;
      }
    } else {
      response.node_id = 1;
      response.host = "127.0.0.1";
      response.port = port;
    }
    return reply(response, r.api_version);
  }

  fake_action offset_commit(const fake_request& r) {
    const auto request = r.decode<protocol::OffsetCommitRequest>();
    protocol::OffsetCommitResponse response;
    for (const auto& t : request.topics) {
      auto& out = response.topics.emplace_back();
      out.name = t.name;
      for (const auto& p : t.partitions) {
        out.partitions.emplace_back().partition_index = p.partition_index;
        committed[p.partition_index] = p.committed_offset;
      }
    }
    ++commits;
    return reply(response, r.api_version);
  }

  fake_action offset_fetch(const fake_request& r) const {
    const auto request = r.decode<protocol::OffsetFetchRequest>();
    protocol::OffsetFetchResponse response;
    auto answer = [&](auto& topics, const auto& asked) {
      for (const auto& at : asked) {
        auto& t = topics.emplace_back();
        t.name = at.name;
        if constexpr (requires { t.topic_id = at.topic_id; }) t.topic_id = at.topic_id;
        for (auto index : at.partition_indexes) {
          auto& p = t.partitions.emplace_back();
          p.partition_index = index;
          const auto it = committed.find(index);
          p.committed_offset = it == committed.end() ? -1 : it->second;
        }
      }
    };
    if (r.api_version >= 8) {  // per group
      auto& g = response.groups.emplace_back();
      g.group_id = request.groups.at(0).group_id;
      answer(g.topics, request.groups[0].topics.value());
    } else {
      answer(response.topics, request.topics.value());
    }
    return reply(response, r.api_version);
  }
};

}  // namespace kwire::test
