// Admin operations on topics and the cluster: CreateTopics, DeleteTopics, CreatePartitions
// (to the controller) and DescribeCluster (to any broker).
#include <algorithm>

#include "admin/admin_call.hpp"

namespace kwire::client {
namespace detail {
namespace {

class create_topics_call final : public controller_call {
 public:
  create_topics_call(admin_engine& engine, std::vector<new_topic> topics,
                     create_topics_options options, admin_completion<create_topics_result> done)
      : controller_call(engine, options.timeout, topics.size()),
        topics_(std::move(topics)),
        names_(keys_of(topics_, [](const new_topic& t) { return t.name; })),
        options_(options),
        done_(std::move(done)) {
    result_.topics.resize(topics_.size());
    for (std::size_t i = 0; i < topics_.size(); ++i) result_.topics[i].name = topics_[i].name;
    reject_duplicates(names_);
  }

 private:
  admin_route route(std::size_t) override { return admin_route::to_controller(); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::CreateTopicsRequest::api_key, items);
    if (!version) return;
    protocol::CreateTopicsRequest request;
    request.timeout_ms = remaining_ms();
    request.validate_only = options_.validate_only;
    for (auto i : items) {
      const new_topic& t = topics_[i];
      auto& out = request.topics.emplace_back();
      out.name = t.name;
      out.num_partitions = t.partitions;
      out.replication_factor = t.replication_factor;
      for (const auto& [partition, replicas] : t.replica_assignment) {
        auto& a = out.assignments.emplace_back();
        a.partition_index = partition;
        a.broker_ids = replicas;
      }
      for (const auto& [name, value] : t.configs) {
        auto& c = out.configs.emplace_back();
        c.name = name;
        c.value = value;
      }
    }
    send_request<protocol::CreateTopicsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, names_)](const protocol::CreateTopicsResponse& response,
                                                const diagnostics& detail) {
          for (const auto& t : response.topics) {
            auto found = index.find(t.name);
            if (found == index.end()) continue;
            auto d = about(detail, t.name);
            const auto ec = error_from(t.error_code, t.error_message, d);
            if (!ec) {
              created_topic& out = result_.topics[found->second];
              out.topic_id = t.topic_id;
              out.partitions = t.num_partitions;
              out.replication_factor = t.replication_factor;
              for (const auto& c : t.configs.value_or(
                       std::vector<protocol::CreateTopicsResponse::CreatableTopicConfigs>{})) {
                auto& entry = out.configs.emplace_back();
                entry.name = c.name;
                entry.value = c.value;
                entry.read_only = c.read_only;
                entry.sensitive = c.is_sensitive;
                entry.source = static_cast<config_source>(c.config_source);
                entry.is_default = entry.source == config_source::default_config;
              }
            }
            settle(found->second, ec, d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.topics);
    done_(ec, std::move(result_));
  }

  std::vector<new_topic> topics_;
  std::vector<std::string> names_;
  create_topics_options options_;
  admin_completion<create_topics_result> done_;
  create_topics_result result_;
};

class delete_topics_call final : public controller_call {
 public:
  delete_topics_call(admin_engine& engine, std::vector<std::string> topics, admin_options options,
                     admin_completion<delete_topics_result> done)
      : controller_call(engine, options.timeout, topics.size()),
        names_(std::move(topics)),
        done_(std::move(done)) {
    result_.topics.resize(names_.size());
    for (std::size_t i = 0; i < names_.size(); ++i) result_.topics[i].name = names_[i];
    reject_duplicates(names_);
  }

 private:
  admin_route route(std::size_t) override { return admin_route::to_controller(); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DeleteTopicsRequest::api_key, items);
    if (!version) return;
    protocol::DeleteTopicsRequest request;
    request.timeout_ms = remaining_ms();
    for (auto i : items) {
      if (*version >= 6)
        request.topics.emplace_back().name = names_[i];
      else
        request.topic_names.push_back(names_[i]);
    }
    send_request<protocol::DeleteTopicsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, names_)](const protocol::DeleteTopicsResponse& response,
                                                const diagnostics& detail) {
          for (const auto& t : response.responses) {
            if (!t.name) continue;
            auto found = index.find(*t.name);
            if (found == index.end()) continue;
            auto d = about(detail, *t.name);
            settle(found->second, error_from(t.error_code, t.error_message, d), d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.topics);
    done_(ec, std::move(result_));
  }

  std::vector<std::string> names_;
  admin_completion<delete_topics_result> done_;
  delete_topics_result result_;
};

class create_partitions_call final : public controller_call {
 public:
  create_partitions_call(admin_engine& engine, std::vector<new_partitions> topics,
                         create_partitions_options options,
                         admin_completion<create_partitions_result> done)
      : controller_call(engine, options.timeout, topics.size()),
        topics_(std::move(topics)),
        names_(keys_of(topics_, [](const new_partitions& t) { return t.topic; })),
        options_(options),
        done_(std::move(done)) {
    result_.topics.resize(topics_.size());
    for (std::size_t i = 0; i < topics_.size(); ++i) result_.topics[i].name = topics_[i].topic;
    reject_duplicates(names_);
  }

 private:
  admin_route route(std::size_t) override { return admin_route::to_controller(); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::CreatePartitionsRequest::api_key, items);
    if (!version) return;
    protocol::CreatePartitionsRequest request;
    request.timeout_ms = remaining_ms();
    request.validate_only = options_.validate_only;
    for (auto i : items) {
      auto& out = request.topics.emplace_back();
      out.name = topics_[i].topic;
      out.count = topics_[i].total_count;
      if (topics_[i].assignments.empty()) {
        out.assignments.reset();
      } else {
        for (const auto& replicas : topics_[i].assignments)
          out.assignments->emplace_back().broker_ids = replicas;
      }
    }
    send_request<protocol::CreatePartitionsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, names_)](const protocol::CreatePartitionsResponse& response,
                                                const diagnostics& detail) {
          for (const auto& t : response.results) {
            auto found = index.find(t.name);
            if (found == index.end()) continue;
            auto d = about(detail, t.name);
            settle(found->second, error_from(t.error_code, t.error_message, d), d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.topics);
    done_(ec, std::move(result_));
  }

  std::vector<new_partitions> topics_;
  std::vector<std::string> names_;
  create_partitions_options options_;
  admin_completion<create_partitions_result> done_;
  create_partitions_result result_;
};

class describe_cluster_call final : public admin_call {
 public:
  describe_cluster_call(admin_engine& engine, describe_cluster_options options,
                        admin_completion<cluster_description> done)
      : admin_call(engine, options.timeout, 1), options_(options), done_(std::move(done)) {}

 private:
  admin_route route(std::size_t) override { return admin_route::to_controller(); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DescribeClusterRequest::api_key, items);
    if (!version) return;
    protocol::DescribeClusterRequest request;
    request.include_cluster_authorized_operations = options_.include_authorized_operations;
    if (*version >= 2) request.include_fenced_brokers = options_.include_fenced_brokers;
    send_request<protocol::DescribeClusterResponse>(
        node, conn, request, *version, items,
        [this](const protocol::DescribeClusterResponse& response, const diagnostics& detail) {
          auto d = detail;
          const auto ec = error_from(response.error_code, response.error_message, d);
          if (!ec) {
            result_.cluster_id = response.cluster_id;
            result_.controller_id = response.controller_id;
            result_.authorized_operations = response.cluster_authorized_operations;
            result_.brokers.clear();
            for (const auto& b : response.brokers)
              result_.brokers.push_back({b.broker_id, b.host, b.port, b.rack, b.is_fenced});
          }
          settle(0, ec, d);
        });
  }

  void deliver() override {
    const auto ec = fill(0, result_);
    done_(ec, std::move(result_));
  }

  describe_cluster_options options_;
  admin_completion<cluster_description> done_;
  cluster_description result_;
};

}  // namespace
}  // namespace detail

void admin::start_create_topics(std::vector<new_topic> topics, create_topics_options options,
                                completion<create_topics_result> done) {
  engine_->launch(std::make_shared<detail::create_topics_call>(*engine_, std::move(topics), options,
                                                               std::move(done)));
}

void admin::start_delete_topics(std::vector<std::string> topics, admin_options options,
                                completion<delete_topics_result> done) {
  engine_->launch(std::make_shared<detail::delete_topics_call>(*engine_, std::move(topics), options,
                                                               std::move(done)));
}

void admin::start_create_partitions(std::vector<new_partitions> topics,
                                    create_partitions_options options,
                                    completion<create_partitions_result> done) {
  engine_->launch(std::make_shared<detail::create_partitions_call>(*engine_, std::move(topics),
                                                                   options, std::move(done)));
}

void admin::start_describe_cluster(describe_cluster_options options,
                                   completion<cluster_description> done) {
  engine_->launch(
      std::make_shared<detail::describe_cluster_call>(*engine_, options, std::move(done)));
}

}  // namespace kwire::client
