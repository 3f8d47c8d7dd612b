// Waiting for the coordinator to finish the previous transaction before the next one's first
// Produce (transaction protocol v2). Sans-io: the transaction manager asks what to do next
// and reports DescribeTransactions' answers.
//
// Why: EndTxn answers once the coordinator has logged PrepareCommit (or PrepareAbort); the
// markers and CompleteCommit are written after that, a few milliseconds later. Under KIP-890
// part 2 the first Produce of a transaction adds its partitions: the partition leader asks
// the coordinator, which answers CONCURRENT_TRANSACTIONS until the previous transaction is
// complete, and the leader then parks the Produce for add.partitions.to.txn.retry.backoff.ms
// (20 ms by default). A broker reads one request per connection at a time, so everything
// behind that Produce waits too. A client that sends its first batch right after EndTxn's
// answer loses about 20 ms in a quarter or more of its transactions; asking the coordinator
// (DescribeTransactions, answered from memory) until its state leaves PrepareCommit /
// PrepareAbort costs a round trip or a few, while the application's records keep queueing.
// The wait is only a hint: any error or an unusually slow coordinator ends it, and the
// broker's own retry takes over, as without it.
#pragma once

#include <chrono>
#include <string_view>
#include <system_error>

namespace kwire::client::detail {

class completion_wait {
 public:
  using clock = std::chrono::steady_clock;
  // Longest hold: beyond this the coordinator is slow for another reason, and the first
  // Produce goes as without the wait (the broker retries the add itself).
  static constexpr std::chrono::milliseconds max_hold{100};

  // EndTxn answered at `now` (protocol v2): hold until the coordinator says it is complete.
  void start(clock::time_point now) noexcept;
  // No more holding this time (an abort, an error of the transaction).
  void stop() noexcept { holding_ = false; }
  bool holding() const noexcept { return holding_; }

  struct step {
    bool ask = false;        // send DescribeTransactions now
    clock::time_point at{};  // else, while holding: look again then
  };
  // Ends the hold once max_hold has passed.
  step next(clock::time_point now) noexcept;

  // DescribeTransactions answered: `ec` is a transport error or the transaction's error
  // code, `state` its TransactionState.
  void on_answer(clock::time_point now, std::error_code ec, std::string_view state) noexcept;
  // The coordinator cannot answer DescribeTransactions for this producer (no such API, not
  // authorised): no more waits for the rest of the producer's life.
  void give_up_for_good() noexcept;
  bool usable() const noexcept { return usable_; }

 private:
  bool usable_ = true;
  bool holding_ = false;
  clock::time_point started_{};
  clock::time_point ask_at_{};
  int answers_ = 0;  // "still preparing" answers of this hold
};

}  // namespace kwire::client::detail
