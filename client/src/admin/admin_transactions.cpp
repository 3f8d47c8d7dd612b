// Admin operations on transactions: ListTransactions (every broker), DescribeTransactions
// (each transactional id's coordinator, found with FindCoordinator key type 1),
// DescribeProducers (each partition's leader) and KIP-664's abort of a hanging transaction
// (WriteTxnMarkers with transaction_result=false to the partition's leader).
#include "admin/admin_call.hpp"

namespace kwire::client {
namespace detail {
namespace {

class list_transactions_call final : public coordinator_call {
 public:
  list_transactions_call(admin_engine& engine, list_transactions_options options,
                         admin_completion<list_transactions_result> done)
      : coordinator_call(engine, options.timeout, 0),
        options_(std::move(options)),
        done_(std::move(done)) {}

 private:
  // One item per broker the metadata lists: each coordinates its share of the ids.
  bool prepare() override { return add_broker_items(result_.brokers); }

  admin_route route(std::size_t item) override {
    return admin_route::to_broker(result_.brokers[item].broker_id);
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    // A filter the broker cannot apply is refused rather than dropped (broker_too_old).
    const std::int16_t least = options_.transactional_id_pattern    ? 2
                               : options_.min_duration.count() >= 0 ? 1
                                                                    : 0;
    const auto version =
        pick_version(*conn, protocol::ListTransactionsRequest::api_key, items, least);
    if (!version) return;
    protocol::ListTransactionsRequest request;
    request.state_filters = options_.states;
    request.producer_id_filters = options_.producer_ids;
    request.duration_filter =
        options_.min_duration.count() >= 0 ? options_.min_duration.count() : -1;
    request.transactional_id_pattern = options_.transactional_id_pattern;
    send_request<protocol::ListTransactionsResponse>(
        node, conn, request, *version, items,
        [this, node, item = items.front()](const protocol::ListTransactionsResponse& response,
                                           const diagnostics& detail) {
          auto d = detail;
          const auto ec = error_from(response.error_code, std::nullopt, d);
          if (!ec) {
            auto& mine = transactions_[node];
            mine.clear();
            for (const auto& t : response.transaction_states)
              mine.push_back({t.transactional_id, t.producer_id, t.transaction_state, node});
          }
          settle(item, ec, d);
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.brokers);
    for (auto& [node, list] : transactions_)
      for (auto& t : list) result_.transactions.push_back(std::move(t));
    done_(ec, std::move(result_));
  }

  list_transactions_options options_;
  admin_completion<list_transactions_result> done_;
  list_transactions_result result_;
  std::map<std::int32_t, std::vector<listed_transaction>> transactions_;  // per broker
};

class describe_transactions_call final : public coordinator_call {
 public:
  describe_transactions_call(admin_engine& engine, std::vector<std::string> ids,
                             admin_options options,
                             admin_completion<describe_transactions_result> done)
      : coordinator_call(engine, options.timeout, ids.size()),
        ids_(std::move(ids)),
        done_(std::move(done)) {
    result_.transactions.resize(ids_.size());
    for (std::size_t i = 0; i < ids_.size(); ++i)
      result_.transactions[i].transactional_id = ids_[i];
    reject_duplicates(ids_);
  }

 private:
  coordinator_type coordinator_kind() const override { return coordinator_type::transaction; }

  admin_route route(std::size_t item) override { return admin_route::to_coordinator(ids_[item]); }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::DescribeTransactionsRequest::api_key, items);
    if (!version) return;
    protocol::DescribeTransactionsRequest request;
    for (auto i : items) request.transactional_ids.push_back(ids_[i]);
    send_request<protocol::DescribeTransactionsResponse>(
        node, conn, request, *version, items,
        [this, node, index = index_by(items, ids_)](
            const protocol::DescribeTransactionsResponse& response, const diagnostics& detail) {
          for (const auto& t : response.transaction_states) {
            auto found = index.find(t.transactional_id);
            if (found == index.end()) continue;
            auto d = detail;
            const auto ec = protocol::broker_error_code(t.error_code);
            if (!ec) {
              described_transaction& out = result_.transactions[found->second];
              out.state = t.transaction_state;
              out.timeout_ms = t.transaction_timeout_ms;
              out.start_time_ms = t.transaction_start_time_ms;
              out.producer_id = t.producer_id;
              out.producer_epoch = t.producer_epoch;
              out.coordinator = node;
              out.partitions.clear();
              for (const auto& topic : t.topics)
                for (auto p : topic.partitions) out.partitions.push_back({topic.topic, p});
            }
            settle(found->second, ec, d);
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.transactions);
    for (auto& t : result_.transactions)
      if (t.error) t.message = "transactional id " + t.transactional_id + ": " + t.message;
    done_(ec, std::move(result_));
  }

  std::vector<std::string> ids_;
  admin_completion<describe_transactions_result> done_;
  describe_transactions_result result_;
};

class describe_producers_call final : public admin_call {
 public:
  describe_producers_call(admin_engine& engine, std::vector<topic_partition> partitions,
                          admin_options options, admin_completion<describe_producers_result> done)
      : admin_call(engine, options.timeout, partitions.size()),
        wanted_(std::move(partitions)),
        keys_(keys_of(
            wanted_,
            [](const topic_partition& tp) { return partition_key(tp.topic, tp.partition); })),
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
    const auto version = pick_version(*conn, protocol::DescribeProducersRequest::api_key, items);
    if (!version) return;
    protocol::DescribeProducersRequest request;
    for (const auto& [topic, indexes] : by_topic(wanted_, items)) {
      auto& t = request.topics.emplace_back();
      t.name = topic;
      for (auto i : indexes) t.partition_indexes.push_back(wanted_[i].partition);
    }
    send_request<protocol::DescribeProducersResponse>(
        node, conn, request, *version, items,
        [this, node, index = index_by(items, keys_)](
            const protocol::DescribeProducersResponse& response, const diagnostics& detail) {
          for (const auto& t : response.topics) {
            for (const auto& p : t.partitions) {
              auto found = index.find(partition_key(t.name, p.partition_index));
              if (found == index.end()) continue;
              auto d = about(detail, t.name, p.partition_index);
              const auto ec = error_from(p.error_code, p.error_message, d);
              if (!ec) {
                described_producers& out = result_.partitions[found->second];
                out.leader = node;
                out.producers.clear();
                for (const auto& s : p.active_producers)
                  out.producers.push_back({s.producer_id, s.producer_epoch, s.last_sequence,
                                           s.last_timestamp, s.coordinator_epoch,
                                           s.current_txn_start_offset});
              }
              settle(found->second, ec, d);
            }
          }
        });
  }

  void deliver() override {
    const auto ec = fill_all(result_.partitions);
    done_(ec, std::move(result_));
  }

  std::vector<topic_partition> wanted_;
  std::vector<std::string> keys_;
  admin_completion<describe_producers_result> done_;
  describe_producers_result result_;
};

class abort_transaction_call final : public admin_call {
 public:
  abort_transaction_call(admin_engine& engine, abort_transaction_spec spec, admin_options options,
                         admin_completion<partition_outcome> done)
      : admin_call(engine, options.timeout, 1), spec_(std::move(spec)), done_(std::move(done)) {
    result_.topic = spec_.topic;
    result_.partition = spec_.partition;
  }

 private:
  admin_route route(std::size_t) override {
    return admin_route::to_leader(spec_.topic, spec_.partition);
  }

  void send(std::int32_t node, const std::shared_ptr<connection>& conn,
            const std::vector<std::size_t>& items) override {
    const auto version = pick_version(*conn, protocol::WriteTxnMarkersRequest::api_key, items);
    if (!version) return;
    protocol::WriteTxnMarkersRequest request;
    auto& marker = request.markers.emplace_back();
    marker.producer_id = spec_.producer_id;
    marker.producer_epoch = spec_.producer_epoch;
    marker.transaction_result = false;  // abort
    marker.coordinator_epoch = spec_.coordinator_epoch;
    auto& topic = marker.topics.emplace_back();
    topic.name = spec_.topic;
    topic.partition_indexes.push_back(spec_.partition);
    send_request<protocol::WriteTxnMarkersResponse>(
        node, conn, request, *version, items,
        [this](const protocol::WriteTxnMarkersResponse& response, const diagnostics& detail) {
          for (const auto& m : response.markers) {
            if (m.producer_id != spec_.producer_id) continue;
            for (const auto& t : m.topics) {
              if (t.name != spec_.topic) continue;
              for (const auto& p : t.partitions) {
                if (p.partition_index != spec_.partition) continue;
                settle(0, protocol::broker_error_code(p.error_code),
                       about(detail, t.name, p.partition_index));
              }
            }
          }
        });
  }

  void deliver() override {
    const auto ec = fill(0, result_);
    if (ec)
      result_.message = "aborting producer id " + std::to_string(spec_.producer_id) + " epoch " +
                        std::to_string(spec_.producer_epoch) + " on " + spec_.topic +
                        " partition " + std::to_string(spec_.partition) + ": " + result_.message;
    done_(ec, std::move(result_));
  }

  abort_transaction_spec spec_;
  admin_completion<partition_outcome> done_;
  partition_outcome result_;
};

}  // namespace
}  // namespace detail

void admin::start_list_transactions(list_transactions_options options,
                                    completion<list_transactions_result> done) {
  engine_->launch(std::make_shared<detail::list_transactions_call>(*engine_, std::move(options),
                                                                   std::move(done)));
}

void admin::start_describe_transactions(std::vector<std::string> transactional_ids,
                                        admin_options options,
                                        completion<describe_transactions_result> done) {
  engine_->launch(std::make_shared<detail::describe_transactions_call>(
      *engine_, std::move(transactional_ids), options, std::move(done)));
}

void admin::start_describe_producers(std::vector<topic_partition> partitions, admin_options options,
                                     completion<describe_producers_result> done) {
  engine_->launch(std::make_shared<detail::describe_producers_call>(*engine_, std::move(partitions),
                                                                    options, std::move(done)));
}

void admin::start_abort_transaction(abort_transaction_spec spec, admin_options options,
                                    completion<partition_outcome> done) {
  engine_->launch(std::make_shared<detail::abort_transaction_call>(*engine_, std::move(spec),
                                                                   options, std::move(done)));
}

}  // namespace kwire::client
