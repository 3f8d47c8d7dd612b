#include "producer/transaction_completion.hpp"

#include <algorithm>

#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {
namespace {

using std::chrono::microseconds;

// The coordinator starts on the markers as EndTxn answers, and on a healthy cluster is done
// within a millisecond or two: the first question half a millisecond after the answer, then
// every half millisecond for a while (a late opening delays the whole transaction), then less
// often: 0.5 ms x 8, then 1, 2, 4, 8, 16, 16 ... ms between answers.
constexpr microseconds first_ask{500};

microseconds pause_after(int answers) {
  if (answers <= 8) return microseconds{500};
  return std::chrono::milliseconds{1 << std::min(answers - 9, 4)};
}

}  // namespace

void completion_wait::start(clock::time_point now) noexcept {
  if (!usable_) return;
  holding_ = true;
  started_ = now;
  ask_at_ = now + first_ask;
  answers_ = 0;
}

completion_wait::step completion_wait::next(clock::time_point now) noexcept {
  if (!holding_) return {};
  if (now >= started_ + max_hold) {
    holding_ = false;
    return {};
  }
  if (now >= ask_at_) return {.ask = true};
  return {.at = std::min(ask_at_, started_ + max_hold)};
}

void completion_wait::on_answer(clock::time_point now, std::error_code ec,
                                std::string_view state) noexcept {
  if (!holding_) return;
  using protocol::broker_error;
  const auto is = [&](broker_error e) { return ec == protocol::make_error_code(e); };
  if (is(broker_error::transactional_id_authorization_failed) ||
      is(broker_error::unsupported_version))
    return give_up_for_good();
  // Any other error cannot tell: the Produce goes, and the broker's retry covers the rest.
  const bool preparing = state == "PrepareCommit" || state == "PrepareAbort";
  if (ec || !preparing) {
    holding_ = false;
    return;
  }
  ask_at_ = now + pause_after(++answers_);
}

void completion_wait::give_up_for_good() noexcept {
  usable_ = false;
  holding_ = false;
}

}  // namespace kwire::client::detail
