// Admin operations on partitions, sent to each partition's leader (one request per broker):
// ListOffsets and DeleteRecords. Retriable errors (NOT_LEADER_OR_FOLLOWER,
// LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION, ...) refresh the metadata and go again.
#include "admin/admin_call.hpp"

namespace kwire::client {
namespace detail {
namespace {

class list_offsets_call final : public admin_call {
 public:
  list_offsets_call(admin_engine& engine, std::vector<offset_query> queries,
                    list_offsets_options options, admin_completion<list_offsets_result> done)
      : admin_call(engine, options.timeout, queries.size()),
        queries_(std::move(queries)),
        keys_(keys_of(queries_,
                      [](const offset_query& q) { return partition_key(q.topic, q.partition); })),
        options_(options),
        done_(std::move(done)) {
    result_.partitions.resize(queries_.size());
    for (std::size_t i = 0; i < queries_.size(); ++i) {
      result_.partitions[i].topic = queries_[i].topic;
      result_.partitions[i].partition = queries_[i].partition;
    }
    reject_duplicates(keys_);
  }

 private:
  admin_route route(std::size_t item) override {
    return admin_route::to_leader(queries_[item].topic, queries_[item].partition);
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    // The max-timestamp lookup exists from v7.
    std::int16_t least = 0;
    for (auto i : items)
      if (queries_[i].spec.timestamp == offset_spec::max_timestamp().timestamp) least = 7;
    const auto version = pick_version(*conn, protocol::ListOffsetsRequest::api_key, items, least);
    if (!version) return;
    protocol::ListOffsetsRequest request;
    request.replica_id = -1;  // a client, not a follower
    request.isolation_level = options_.read_committed ? 1 : 0;
    request.timeout_ms = remaining_ms();
    for (const auto& [topic, indexes] : by_topic(queries_, items)) {
      auto& t = request.topics.emplace_back();
      t.name = topic;
      for (auto i : indexes) {
        auto& p = t.partitions.emplace_back();
        p.partition_index = queries_[i].partition;
        p.timestamp = queries_[i].spec.timestamp;
      }
    }
    send_request<protocol::ListOffsetsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, keys_)](const protocol::ListOffsetsResponse& response,
                                               const diagnostics& detail) {
          for (const auto& t : response.topics) {
            for (const auto& p : t.partitions) {
              auto found = index.find(partition_key(t.name, p.partition_index));
              if (found == index.end()) continue;
              const auto ec = protocol::broker_error_code(p.error_code);
              if (!ec) {
                listed_offset& out = result_.partitions[found->second];
                out.offset = p.offset;
                out.timestamp = p.timestamp;
                out.leader_epoch = p.leader_epoch;
              }
              settle(found->second, ec, about(detail, t.name, p.partition_index));
            }
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.partitions);
    done_(ec, std::move(result_));
  }

  std::vector<offset_query> queries_;
  std::vector<std::string> keys_;
  list_offsets_options options_;
  admin_completion<list_offsets_result> done_;
  list_offsets_result result_;
};

class delete_records_call final : public admin_call {
 public:
  delete_records_call(admin_engine& engine, std::vector<records_to_delete> partitions,
                      admin_options options, admin_completion<delete_records_result> done)
      : admin_call(engine, options.timeout, partitions.size()),
        wanted_(std::move(partitions)),
        keys_(keys_of(
            wanted_,
            [](const records_to_delete& r) { return partition_key(r.topic, r.partition); })),
        done_(std::move(done)) {
    result_.partitions.resize(wanted_.size());
    for (std::size_t i = 0; i < wanted_.size(); ++i) {
      result_.partitions[i].topic = wanted_[i].topic;
      result_.partitions[i].partition = wanted_[i].partition;
    }
    reject_duplicates(keys_);
  }

 private:
  admin_route route(std::size_t item) override {
    return admin_route::to_leader(wanted_[item].topic, wanted_[item].partition);
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DeleteRecordsRequest::api_key, items);
    if (!version) return;
    protocol::DeleteRecordsRequest request;
    request.timeout_ms = remaining_ms();
    for (const auto& [topic, indexes] : by_topic(wanted_, items)) {
      auto& t = request.topics.emplace_back();
      t.name = topic;
      for (auto i : indexes) {
        auto& p = t.partitions.emplace_back();
        p.partition_index = wanted_[i].partition;
        p.offset = wanted_[i].before_offset;
      }
    }
    send_request<protocol::DeleteRecordsResponse>(
        node, conn, request, *version, items,
        [this, index = index_by(items, keys_)](const protocol::DeleteRecordsResponse& response,
                                               const diagnostics& detail) {
          for (const auto& t : response.topics) {
            for (const auto& p : t.partitions) {
              auto found = index.find(partition_key(t.name, p.partition_index));
              if (found == index.end()) continue;
              const auto ec = protocol::broker_error_code(p.error_code);
              if (!ec) result_.partitions[found->second].low_watermark = p.low_watermark;
              settle(found->second, ec, about(detail, t.name, p.partition_index));
            }
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.partitions);
    done_(ec, std::move(result_));
  }

  std::vector<records_to_delete> wanted_;
  std::vector<std::string> keys_;
  admin_completion<delete_records_result> done_;
  delete_records_result result_;
};

}  // namespace
}  // namespace detail

void admin::start_list_offsets(std::vector<offset_query> queries, list_offsets_options options,
                               completion<list_offsets_result> done) {
  engine_->launch(std::make_shared<detail::list_offsets_call>(*engine_, std::move(queries), options,
                                                              std::move(done)));
}

void admin::start_delete_records(std::vector<records_to_delete> partitions, admin_options options,
                                 completion<delete_records_result> done) {
  engine_->launch(std::make_shared<detail::delete_records_call>(*engine_, std::move(partitions),
                                                                options, std::move(done)));
}

}  // namespace kwire::client
