// What a restore does with transactions, in this order:
//   1. commit every pending handle of the restored checkpoint (those of subtasks that no
//      longer exist included), each on a new producer of the handle's transactional id, without
//      fencing it; the outcome is proven from the transaction markers;
//   2. then abort what the job's other ids may have left open: InitProducerId on every id the
//      manifest says the job owns and that holds no pending handle (it aborts an open
//      transaction of that id). Every id is initialised rather than only those
//      ListTransactions names, because ListTransactions answers only what the principal may
//      describe: an empty answer does not prove that nothing lingers.
// Blocking calls; the producers run on `executor`, which another thread runs.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "kwire/client/config.hpp"
#include "kwire/client/transaction.hpp"
#include "kwire/connector/checkpoint_state.hpp"
#include "kwire/connector/job_manifest.hpp"

namespace kwire::connector {

struct recovered_transaction {
  pending_transaction pending;
  std::string transactional_id;
  client::transaction_outcome outcome = client::transaction_outcome::unknown;
  // Set when nothing could be decided (the broker unreachable, not authorised, a bad handle):
  // the restore fails and is retried by the restart strategy.
  std::error_code error;
  // For an error, a lost or an unknown outcome: the sentence that names the checkpoint, the
  // id and the partitions.
  std::string detail;
};

// Commits one prepared transaction from its handle. `producer_properties`: the sink's
// (without transactional.id; the handle's is used).
recovered_transaction commit_pending_transaction(boost::asio::any_io_executor executor,
                                                 const client::properties& producer_properties,
                                                 const pending_transaction& pending);

struct lingering_sweep {
  std::vector<std::string> initialised;  // the ids InitProducerId ran on
  std::error_code error;                 // the first id that failed; the sweep stops there
  std::string detail;
};

// Step 2: every prefix-S-K with S below manifest.owned_parallelism and K below
// manifest.owned_pool, except those in `keep`.
lingering_sweep abort_lingering_transactions(boost::asio::any_io_executor executor,
                                             const client::properties& producer_properties,
                                             const job_manifest& manifest,
                                             const std::set<std::string>& keep);

}  // namespace kwire::connector
