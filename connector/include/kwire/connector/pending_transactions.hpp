// The sink's list of prepared transactions that no completed checkpoint has committed yet,
// in the order they were prepared. A checkpoint stores the whole list; "complete N" hands out
// every transaction prepared at or before N to be committed; "aborted N" changes nothing, so
// the transaction of a failed checkpoint is stored again in the next one and committed with
// it, never aborted (its records were handed on by the source, whose positions moved on).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "kwire/connector/checkpoint_state.hpp"

namespace kwire::connector {

class pending_transactions {
 public:
  // The transaction prepared at checkpoint `id` (client::encode_prepared_transaction's text).
  void add(checkpoint_id id, std::string handle);
  // What a snapshot stores.
  const std::vector<pending_transaction>& pending() const noexcept { return pending_; }
  // Checkpoint `id` completed: removes and returns every transaction prepared at or before it,
  // oldest first, to be committed.
  std::vector<pending_transaction> take_committable(checkpoint_id id);
  // After a restore: the restored checkpoint's transactions (to commit first), replacing the
  // list.
  void restore(std::span<const pending_transaction> restored);

 private:
  std::vector<pending_transaction> pending_;
};

}  // namespace kwire::connector
