#include "kwire/connector/pending_transactions.hpp"

#include <algorithm>
#include <utility>

namespace kwire::connector {

void pending_transactions::add(checkpoint_id id, std::string handle) {
  pending_.push_back({id, std::move(handle)});
}

std::vector<pending_transaction> pending_transactions::take_committable(checkpoint_id id) {
  std::vector<pending_transaction> due;
  std::vector<pending_transaction> later;
  for (auto& t : pending_) (t.prepared_at <= id ? due : later).push_back(std::move(t));
  pending_ = std::move(later);
  return due;
}

void pending_transactions::restore(std::span<const pending_transaction> restored) {
  pending_.assign(restored.begin(), restored.end());
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const auto& a, const auto& b) { return a.prepared_at < b.prepared_at; });
}

}  // namespace kwire::connector
