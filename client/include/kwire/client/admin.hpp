// The admin client: topics, partitions, configs, consumer groups and their offsets,
// transactions, the cluster, as Java's Admin does them.
//
//   kwire::client::admin a(io.get_executor(), config);   // config from parse_admin_config()
//   a.async_create_topics({{.name = "t", .partitions = 3, .replication_factor = 1}}, {},
//                         [](std::error_code ec, const create_topics_result& r) {...});
//   auto [ec, offsets] = co_await a.async_list_offsets(queries, {},
//                                                      asio::as_tuple(asio::use_awaitable));
//
// Every operation completes once with void(std::error_code, Result). The result holds one
// outcome per item given, in that order (see admin_types.hpp); `ec` is the first item's
// error in that order (empty when every item succeeded), or a whole-call error such as
// shut_down, so that a token that throws on error (use_awaitable, use_future) fails the
// call when any item failed; use as_tuple or a callback to see the per-item outcomes.
//
// Routing, as the Java client does it: topic and config requests go to the controller the
// metadata names (in KRaft a broker, which forwards); broker config resources to that
// broker; group requests to the group's coordinator (FindCoordinator, batched on v4+);
// partition requests to each partition's leader, one request per broker. Retriable errors
// (NOT_CONTROLLER, NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, LEADER_NOT_AVAILABLE,
// NOT_LEADER_OR_FOLLOWER, lost connections, ...) are retried with retry.backoff.ms growing
// to retry.backoff.max.ms, at most `retries` times, until the operation's timeout
// (default.api.timeout.ms); then the item fails with errc::operation_timed_out and a message
// naming the last error.
//
// Threading: every operation may be called from any thread; the work runs on a strand of the
// executor given to the constructor. No thread is created.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <memory>

#include "kwire/client/admin_types.hpp"
#include "kwire/client/config.hpp"
#include "kwire/client/detail/completion.hpp"
#include "kwire/client/detail/unique_function.hpp"
#include "kwire/client/metrics.hpp"

namespace kwire::client {

namespace asio = boost::asio;

namespace detail {
class admin_engine;

template <class Result>
using admin_completion = unique_function<void(std::error_code, Result)>;

// async_initiate for a void(error_code, Result) operation: `start` gets the completion.
template <class Result, class Token, class Start>
auto initiate_admin(Token&& token, Start start) {
  return initiate<void(std::error_code, Result)>(
      std::forward<Token>(token),
      [](admin_completion<Result> done, Start start) { start(std::move(done)); }, std::move(start));
}
}  // namespace detail

class admin {
 public:
  // The configuration comes from parse_admin_config(); it is not validated again.
  admin(asio::any_io_executor executor, admin_config config);
  // Starts a close without waiting: operations in progress fail with shut_down.
  ~admin();
  admin(const admin&) = delete;
  admin& operator=(const admin&) = delete;

  template <class Token>
  auto async_create_topics(std::vector<new_topic> topics, create_topics_options options,
                           Token&& token) {
    return detail::initiate_admin<create_topics_result>(
        std::forward<Token>(token), [this, t = std::move(topics), options](auto done) mutable {
          start_create_topics(std::move(t), options, std::move(done));
        });
  }

  template <class Token>
  auto async_delete_topics(std::vector<std::string> topics, admin_options options, Token&& token) {
    return detail::initiate_admin<delete_topics_result>(
        std::forward<Token>(token), [this, t = std::move(topics), options](auto done) mutable {
          start_delete_topics(std::move(t), options, std::move(done));
        });
  }

  template <class Token>
  auto async_create_partitions(std::vector<new_partitions> topics,
                               create_partitions_options options, Token&& token) {
    return detail::initiate_admin<create_partitions_result>(
        std::forward<Token>(token), [this, t = std::move(topics), options](auto done) mutable {
          start_create_partitions(std::move(t), options, std::move(done));
        });
  }

  // Every config of each resource.
  template <class Token>
  auto async_describe_configs(std::vector<config_resource> resources,
                              describe_configs_options options, Token&& token) {
    return detail::initiate_admin<describe_configs_result>(
        std::forward<Token>(token), [this, r = std::move(resources), options](auto done) mutable {
          start_describe_configs(std::move(r), options, std::move(done));
        });
  }

  // IncrementalAlterConfigs.
  template <class Token>
  auto async_alter_configs(std::vector<resource_alterations> resources,
                           alter_configs_options options, Token&& token) {
    return detail::initiate_admin<alter_configs_result>(
        std::forward<Token>(token), [this, r = std::move(resources), options](auto done) mutable {
          start_alter_configs(std::move(r), options, std::move(done));
        });
  }

  // Every group every broker coordinates.
  template <class Token>
  auto async_list_groups(list_groups_options options, Token&& token) {
    return detail::initiate_admin<list_groups_result>(
        std::forward<Token>(token), [this, o = std::move(options)](auto done) mutable {
          start_list_groups(std::move(o), std::move(done));
        });
  }

  // Classic groups (DescribeGroups); member metadata and assignments stay undecoded.
  template <class Token>
  auto async_describe_groups(std::vector<std::string> groups, describe_groups_options options,
                             Token&& token) {
    return detail::initiate_admin<describe_groups_result>(
        std::forward<Token>(token), [this, g = std::move(groups), options](auto done) mutable {
          start_describe_groups(std::move(g), options, std::move(done));
        });
  }

  template <class Token>
  auto async_delete_groups(std::vector<std::string> groups, admin_options options, Token&& token) {
    return detail::initiate_admin<delete_groups_result>(
        std::forward<Token>(token), [this, g = std::move(groups), options](auto done) mutable {
          start_delete_groups(std::move(g), options, std::move(done));
        });
  }

  // The group's committed offsets (OffsetFetch): of `partitions`, or of every partition the
  // group has committed when nullopt.
  template <class Token>
  auto async_list_group_offsets(std::string group,
                                std::optional<std::vector<topic_partition>> partitions,
                                list_group_offsets_options options, Token&& token) {
    return detail::initiate_admin<group_offsets>(
        std::forward<Token>(token),
        [this, g = std::move(group), p = std::move(partitions), options](auto done) mutable {
          start_list_group_offsets(std::move(g), std::move(p), options, std::move(done));
        });
  }

  // Commits offsets for a group with no active members (OffsetCommit, generation -1).
  template <class Token>
  auto async_alter_group_offsets(std::string group, std::vector<offset_to_commit> offsets,
                                 admin_options options, Token&& token) {
    return detail::initiate_admin<alter_group_offsets_result>(
        std::forward<Token>(token),
        [this, g = std::move(group), o = std::move(offsets), options](auto done) mutable {
          start_alter_group_offsets(std::move(g), std::move(o), options, std::move(done));
        });
  }

  template <class Token>
  auto async_list_offsets(std::vector<offset_query> queries, list_offsets_options options,
                          Token&& token) {
    return detail::initiate_admin<list_offsets_result>(
        std::forward<Token>(token), [this, q = std::move(queries), options](auto done) mutable {
          start_list_offsets(std::move(q), options, std::move(done));
        });
  }

  template <class Token>
  auto async_delete_records(std::vector<records_to_delete> partitions, admin_options options,
                            Token&& token) {
    return detail::initiate_admin<delete_records_result>(
        std::forward<Token>(token), [this, p = std::move(partitions), options](auto done) mutable {
          start_delete_records(std::move(p), options, std::move(done));
        });
  }

  template <class Token>
  auto async_describe_cluster(describe_cluster_options options, Token&& token) {
    return detail::initiate_admin<cluster_description>(
        std::forward<Token>(token),
        [this, options](auto done) mutable { start_describe_cluster(options, std::move(done)); });
  }

  // Every transaction every broker coordinates (ListTransactions), filtered as `options` says.
  template <class Token>
  auto async_list_transactions(list_transactions_options options, Token&& token) {
    return detail::initiate_admin<list_transactions_result>(
        std::forward<Token>(token), [this, o = std::move(options)](auto done) mutable {
          start_list_transactions(std::move(o), std::move(done));
        });
  }

  // Each transactional id's state at its coordinator (FindCoordinator key type 1, then
  // DescribeTransactions).
  template <class Token>
  auto async_describe_transactions(std::vector<std::string> transactional_ids,
                                   admin_options options, Token&& token) {
    return detail::initiate_admin<describe_transactions_result>(
        std::forward<Token>(token),
        [this, ids = std::move(transactional_ids), options](auto done) mutable {
          start_describe_transactions(std::move(ids), options, std::move(done));
        });
  }

  // The producers each partition's leader knows (DescribeProducers).
  template <class Token>
  auto async_describe_producers(std::vector<topic_partition> partitions, admin_options options,
                                Token&& token) {
    return detail::initiate_admin<describe_producers_result>(
        std::forward<Token>(token), [this, p = std::move(partitions), options](auto done) mutable {
          start_describe_producers(std::move(p), options, std::move(done));
        });
  }

  // Writes an abort marker for a hanging transaction on one partition (WriteTxnMarkers to
  // its leader, KIP-664). The producer id, epoch and coordinator epoch are DescribeProducers'.
  template <class Token>
  auto async_abort_transaction(abort_transaction_spec spec, admin_options options, Token&& token) {
    return detail::initiate_admin<partition_outcome>(
        std::forward<Token>(token), [this, s = std::move(spec), options](auto done) mutable {
          start_abort_transaction(std::move(s), options, std::move(done));
        });
  }

  // Fails operations in progress with shut_down and closes the connections. Signature void().
  template <class Token>
  auto async_close(Token&& token) {
    return detail::initiate<void()>(
        std::forward<Token>(token),
        [this](detail::completion<void()> done) { start_close(std::move(done)); });
  }
  // Blocking close: needs another thread running the io_context; never from its threads.
  void close();

  const admin_config& config() const noexcept;
  // Counters since construction (metrics.hpp); from any thread, cheap.
  client_metrics_snapshot metrics() const;

 private:
  template <class Result>
  using completion = detail::admin_completion<Result>;

  void start_create_topics(std::vector<new_topic> topics, create_topics_options options,
                           completion<create_topics_result> done);
  void start_delete_topics(std::vector<std::string> topics, admin_options options,
                           completion<delete_topics_result> done);
  void start_create_partitions(std::vector<new_partitions> topics,
                               create_partitions_options options,
                               completion<create_partitions_result> done);
  void start_describe_configs(std::vector<config_resource> resources,
                              describe_configs_options options,
                              completion<describe_configs_result> done);
  void start_alter_configs(std::vector<resource_alterations> resources,
                           alter_configs_options options, completion<alter_configs_result> done);
  void start_list_groups(list_groups_options options, completion<list_groups_result> done);
  void start_describe_groups(std::vector<std::string> groups, describe_groups_options options,
                             completion<describe_groups_result> done);
  void start_delete_groups(std::vector<std::string> groups, admin_options options,
                           completion<delete_groups_result> done);
  void start_list_group_offsets(std::string group,
                                std::optional<std::vector<topic_partition>> partitions,
                                list_group_offsets_options options, completion<group_offsets> done);
  void start_alter_group_offsets(std::string group, std::vector<offset_to_commit> offsets,
                                 admin_options options,
                                 completion<alter_group_offsets_result> done);
  void start_list_offsets(std::vector<offset_query> queries, list_offsets_options options,
                          completion<list_offsets_result> done);
  void start_delete_records(std::vector<records_to_delete> partitions, admin_options options,
                            completion<delete_records_result> done);
  void start_describe_cluster(describe_cluster_options options,
                              completion<cluster_description> done);
  void start_list_transactions(list_transactions_options options,
                               completion<list_transactions_result> done);
  void start_describe_transactions(std::vector<std::string> transactional_ids,
                                   admin_options options,
                                   completion<describe_transactions_result> done);
  void start_describe_producers(std::vector<topic_partition> partitions, admin_options options,
                                completion<describe_producers_result> done);
  void start_abort_transaction(abort_transaction_spec spec, admin_options options,
                               completion<partition_outcome> done);
  void start_close(detail::unique_function<void()> done);

  std::shared_ptr<detail::admin_engine> engine_;
};

}  // namespace kwire::client
