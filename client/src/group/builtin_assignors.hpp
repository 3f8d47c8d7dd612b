// The assignors make_assignor() returns (private to client/src).
#pragma once

#include "kwire/client/assignor.hpp"

namespace kwire::client::detail {

class range_assignor final : public partition_assignor {
 public:
  std::string_view name() const noexcept override { return "range"; }
  group_assignment assign(const topic_partition_counts& partitions,
                          const std::vector<member_subscription>& members) const override;
};

class round_robin_assignor final : public partition_assignor {
 public:
  std::string_view name() const noexcept override { return "roundrobin"; }
  group_assignment assign(const topic_partition_counts& partitions,
                          const std::vector<member_subscription>& members) const override;
};

class cooperative_sticky_assignor final : public partition_assignor {
 public:
  std::string_view name() const noexcept override { return "cooperative-sticky"; }
  std::vector<rebalance_protocol> supported_protocols() const override {
    return {rebalance_protocol::cooperative, rebalance_protocol::eager};
  }
  std::vector<std::uint8_t> subscription_user_data(const std::vector<std::string>& topics,
                                                   std::int32_t generation_id) const override;
  group_assignment assign(const topic_partition_counts& partitions,
                          const std::vector<member_subscription>& members) const override;
};

}  // namespace kwire::client::detail
