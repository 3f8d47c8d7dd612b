// Admin operations on consumer groups: ListGroups (every broker), and DescribeGroups,
// DeleteGroups, OffsetFetch, OffsetCommit (to each group's coordinator).
#include "admin/admin_call.hpp"

namespace kwire::client {
namespace detail {
namespace {

using protocol::broker_error;

bool is(std::error_code ec, broker_error e) { return ec == protocol::make_error_code(e); }

class list_groups_call final : public admin_call {
 public:
  list_groups_call(admin_engine& engine, list_groups_options options,
                   admin_completion<list_groups_result> done)
      : admin_call(engine, options.timeout, 0),
        options_(std::move(options)),
        done_(std::move(done)) {}

 private:
  // One item per broker the metadata lists.
  bool prepare() override { return add_broker_items(result_.brokers); }

  admin_route route(std::size_t item) override {
    return admin_route::to_broker(result_.brokers[item].broker_id);
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const std::int16_t least = !options_.types.empty() ? 5 : !options_.states.empty() ? 4 : 0;
    const auto version = pick_version(*conn, protocol::ListGroupsRequest::api_key, items, least);
    if (!version) return;
    protocol::ListGroupsRequest request;
    request.states_filter = options_.states;
    request.types_filter = options_.types;
    send_request<protocol::ListGroupsResponse>(
        node, conn, request, *version, items,
        [this, node, item = items.front()](const protocol::ListGroupsResponse& response,
                                           const diagnostics& detail) {
          auto d = detail;
          const auto ec = error_from(response.error_code, std::nullopt, d);
          if (!ec) {
            for (const auto& g : response.groups)
              groups_[node].push_back(
                  {g.group_id, g.protocol_type, g.group_state, g.group_type, node});
          }
          settle(item, ec, d);
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.brokers);
    for (auto& [node, groups] : groups_)
      for (auto& g : groups) result_.groups.push_back(std::move(g));
    done_(ec, std::move(result_));
  }

  list_groups_options options_;
  admin_completion<list_groups_result> done_;
  list_groups_result result_;
  std::map<std::int32_t, std::vector<listed_group>> groups_;  // the last answer per broker
};

class describe_groups_call final : public coordinator_call {
 public:
  describe_groups_call(admin_engine& engine, std::vector<std::string> groups,
                       describe_groups_options options,
                       admin_completion<describe_groups_result> done)
      : coordinator_call(engine, options.timeout, groups.size()),
        ids_(std::move(groups)),
        options_(options),
        done_(std::move(done)) {
    result_.groups.resize(ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i) result_.groups[i].group_id = ids_[i];
    reject_duplicates(ids_);
  }

 private:
  admin_route route(std::size_t item) override { return admin_route::to_coordinator(ids_[item]); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DescribeGroupsRequest::api_key, items);
    if (!version) return;
    protocol::DescribeGroupsRequest request;
    request.include_authorized_operations = *version >= 3 && options_.include_authorized_operations;
    for (auto i : items) request.groups.push_back(ids_[i]);
    send_request<protocol::DescribeGroupsResponse>(
        node, conn, request, *version, items,
        [this, node, index = index_by(items, ids_)](
            const protocol::DescribeGroupsResponse& response, const diagnostics& detail) {
          for (const auto& g : response.groups) {
            auto found = index.find(g.group_id);
            if (found == index.end()) continue;
            auto d = detail;
            const auto ec = error_from(g.error_code, g.error_message, d);
            if (!ec) {
              described_group& out = result_.groups[found->second];
              out.state = g.group_state;
              out.protocol_type = g.protocol_type;
              out.protocol = g.protocol_data;
              out.coordinator = node;
              out.authorized_operations = g.authorized_operations;
              out.members.clear();
              for (const auto& m : g.members)
                out.members.push_back({m.member_id, m.group_instance_id, m.client_id, m.client_host,
                                       m.member_metadata, m.member_assignment});
            }
            settle(found->second, ec, d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.groups);
    done_(ec, std::move(result_));
  }

  std::vector<std::string> ids_;
  describe_groups_options options_;
  admin_completion<describe_groups_result> done_;
  describe_groups_result result_;
};

class delete_groups_call final : public coordinator_call {
 public:
  delete_groups_call(admin_engine& engine, std::vector<std::string> groups, admin_options options,
                     admin_completion<delete_groups_result> done)
      : coordinator_call(engine, options.timeout, groups.size()),
        ids_(std::move(groups)),
        done_(std::move(done)) {
    result_.groups.resize(ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i) result_.groups[i].group_id = ids_[i];
    reject_duplicates(ids_);
  }

 private:
  admin_route route(std::size_t item) override { return admin_route::to_coordinator(ids_[item]); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DeleteGroupsRequest::api_key, items);
    if (!version) return;
    protocol::DeleteGroupsRequest request;
    for (auto i : items) request.groups_names.push_back(ids_[i]);
    send_request<protocol::DeleteGroupsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, ids_)](const protocol::DeleteGroupsResponse& response,
                                              const diagnostics& detail) {
          for (const auto& g : response.results) {
            auto found = index.find(g.group_id);
            if (found == index.end()) continue;
            auto d = detail;
            settle(found->second, error_from(g.error_code, g.error_message, d), d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.groups);
    done_(ec, std::move(result_));
  }

  std::vector<std::string> ids_;
  admin_completion<delete_groups_result> done_;
  delete_groups_result result_;
};

// OffsetFetch and OffsetCommit v10 name topics by id; kwire stops at v9, which names them.
constexpr std::int16_t last_version_with_topic_names = 9;

// A partition-level outcome inside a group operation.
template <class Out>
void set_partition_error(Out& out, std::error_code ec, const diagnostics& request) {
  out.error = ec;
  out.detail = about(request, out.topic, out.partition);
  out.message = ec ? out.detail.describe(ec) : std::string();
}

// The first error of the group (the call's one item) or else of its partitions.
template <class Result>
std::error_code group_then_partitions(const Result& result) {
  if (result.error) return result.error;
  for (const auto& p : result.partitions)
    if (p.error) return p.error;
  return {};
}

class list_group_offsets_call final : public coordinator_call {
 public:
  list_group_offsets_call(admin_engine& engine, std::string group,
                          std::optional<std::vector<topic_partition>> partitions,
                          list_group_offsets_options options, admin_completion<group_offsets> done)
      : coordinator_call(engine, options.timeout, 1),
        partitions_(std::move(partitions)),
        options_(options),
        done_(std::move(done)) {
    result_.group_id = std::move(group);
  }

 private:
  admin_route route(std::size_t) override { return admin_route::to_coordinator(result_.group_id); }

  // Topic -> partitions, in name order; nullopt: every partition the group committed.
  std::optional<std::map<std::string, std::vector<std::int32_t>>> wanted() const {
    if (!partitions_) return std::nullopt;
    std::map<std::string, std::vector<std::int32_t>> out;
    for (const auto& tp : *partitions_) out[tp.topic].push_back(tp.partition);
    return out;
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    // Asking for every partition (a null topic list) needs v2.
    const auto version = pick_version(*conn, protocol::OffsetFetchRequest::api_key, items,
                                      partitions_ ? 0 : 2, last_version_with_topic_names);
    if (!version) return;
    protocol::OffsetFetchRequest request;
    request.require_stable = *version >= 7 && options_.require_stable;
    const auto topics = wanted();
    if (*version >= 8) {
      auto& g = request.groups.emplace_back();
      g.group_id = result_.group_id;
      if (!topics) g.topics.reset();
      for (const auto& [name, parts] : topics.value_or(decltype(wanted())::value_type{})) {
        auto& t = g.topics->emplace_back();
        t.name = name;
        t.partition_indexes = parts;
      }
    } else {
      request.group_id = result_.group_id;
      if (!topics) request.topics.reset();
      for (const auto& [name, parts] : topics.value_or(decltype(wanted())::value_type{})) {
        auto& t = request.topics->emplace_back();
        t.name = name;
        t.partition_indexes = parts;
      }
    }
    send_request<protocol::OffsetFetchResponse>(
        node, conn, request, *version, items,
        [this](const protocol::OffsetFetchResponse& response, const diagnostics& detail) {
          if (!response.groups.empty()) {
            read(response.groups.front().error_code, response.groups.front().topics, detail);
          } else {
            read(response.error_code, response.topics, detail);
          }
        });
  }

  template <class Topics>
  void read(std::int16_t group_error, const Topics& topics, const diagnostics& detail) {
    auto d = detail;
    auto ec = error_from(group_error, std::nullopt, d);
    std::vector<committed_offset> partitions;
    for (const auto& t : topics) {
      for (const auto& p : t.partitions) {
        auto& out = partitions.emplace_back();
        out.topic = t.name;
        out.partition = p.partition_index;
        out.offset = p.committed_offset;
        out.leader_epoch = p.committed_leader_epoch;
        out.metadata = p.metadata;
        const auto partition_ec = protocol::broker_error_code(p.error_code);
        set_partition_error(out, partition_ec, detail);
        // A pending transactional commit (require_stable): ask again later, as Java does.
        if (!ec && is(partition_ec, broker_error::unstable_offset_commit)) {
          ec = partition_ec;
          d = out.detail;
        }
      }
    }
    if (!ec) result_.partitions = std::move(partitions);
    if (ec && is(ec, broker_error::unstable_offset_commit))
      retry(0, ec, d, retry_hint::none);
    else
      settle(0, ec, d);
  }

  void deliver() override {
    fill(0, result_);
    const auto ec = group_then_partitions(result_);
    done_(ec, std::move(result_));
  }

  std::optional<std::vector<topic_partition>> partitions_;
  list_group_offsets_options options_;
  admin_completion<group_offsets> done_;
  group_offsets result_;
};

class alter_group_offsets_call final : public coordinator_call {
 public:
  alter_group_offsets_call(admin_engine& engine, std::string group,
                           std::vector<offset_to_commit> offsets, admin_options options,
                           admin_completion<alter_group_offsets_result> done)
      : coordinator_call(engine, options.timeout, 1),
        offsets_(std::move(offsets)),
        done_(std::move(done)) {
    result_.group_id = std::move(group);
    for (const auto& o : offsets_) {
      auto& p = result_.partitions.emplace_back();
      p.topic = o.topic;
      p.partition = o.partition;
    }
  }

 private:
  admin_route route(std::size_t) override { return admin_route::to_coordinator(result_.group_id); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::OffsetCommitRequest::api_key, items, 0,
                                      last_version_with_topic_names);
    if (!version) return;
    protocol::OffsetCommitRequest request;
    request.group_id = result_.group_id;
    request.generation_id_or_member_epoch = -1;  // not a member: the group must be empty
    request.member_id = "";
    std::map<std::string, std::size_t> topic_index;
    for (const auto& o : offsets_) {
      auto [it, added] = topic_index.emplace(o.topic, request.topics.size());
      if (added) request.topics.emplace_back().name = o.topic;
      auto& p = request.topics[it->second].partitions.emplace_back();
      p.partition_index = o.partition;
      p.committed_offset = o.offset;
      p.committed_leader_epoch = o.leader_epoch;
      p.committed_metadata = o.metadata;
    }
    send_request<protocol::OffsetCommitResponse>(
        node, conn, request, *version, items,
        [this](const protocol::OffsetCommitResponse& response, const diagnostics& detail) {
          std::map<topic_partition, std::size_t> index;
          for (std::size_t i = 0; i < result_.partitions.size(); ++i)
            index.emplace(
                topic_partition{result_.partitions[i].topic, result_.partitions[i].partition}, i);
          std::error_code group_ec;
          diagnostics group_detail = detail;
          for (const auto& t : response.topics) {
            for (const auto& p : t.partitions) {
              auto found = index.find({t.name, p.partition_index});
              if (found == index.end()) continue;
              auto& out = result_.partitions[found->second];
              const auto ec = protocol::broker_error_code(p.error_code);
              set_partition_error(out, ec, detail);
              // The coordinator moved or is loading: the whole commit goes again.
              if (!group_ec && coordinator_moved_or_busy(ec)) {
                group_ec = ec;
                group_detail = out.detail;
              }
            }
          }
          settle(0, group_ec, group_detail);
        });
  }

  void deliver() override {
    fill(0, result_);
    // Partitions the broker never answered for share the group's error.
    for (auto& p : result_.partitions)
      if (result_.error && !p.error) set_partition_error(p, result_.error, result_.detail);
    const auto ec = group_then_partitions(result_);
    done_(ec, std::move(result_));
  }

  std::vector<offset_to_commit> offsets_;
  admin_completion<alter_group_offsets_result> done_;
  alter_group_offsets_result result_;
};

}  // namespace
}  // namespace detail

void admin::start_list_groups(list_groups_options options, completion<list_groups_result> done) {
  engine_->launch(
      std::make_shared<detail::list_groups_call>(*engine_, std::move(options), std::move(done)));
}

void admin::start_describe_groups(std::vector<std::string> groups, describe_groups_options options,
                                  completion<describe_groups_result> done) {
  engine_->launch(std::make_shared<detail::describe_groups_call>(*engine_, std::move(groups),
                                                                 options, std::move(done)));
}

void admin::start_delete_groups(std::vector<std::string> groups, admin_options options,
                                completion<delete_groups_result> done) {
  engine_->launch(std::make_shared<detail::delete_groups_call>(*engine_, std::move(groups), options,
                                                               std::move(done)));
}

void admin::start_list_group_offsets(std::string group,
                                     std::optional<std::vector<topic_partition>> partitions,
                                     list_group_offsets_options options,
                                     completion<group_offsets> done) {
  engine_->launch(std::make_shared<detail::list_group_offsets_call>(
      *engine_, std::move(group), std::move(partitions), options, std::move(done)));
}

void admin::start_alter_group_offsets(std::string group, std::vector<offset_to_commit> offsets,
                                      admin_options options,
                                      completion<alter_group_offsets_result> done) {
  engine_->launch(std::make_shared<detail::alter_group_offsets_call>(
      *engine_, std::move(group), std::move(offsets), options, std::move(done)));
}

}  // namespace kwire::client
