#include "producer/transaction_completion.hpp"

#include <algorithm>

#include "kwire/protocol/errors.hpp"

namespace kwire::client::detail {
namespace {

// The markers of a transaction take a few milliseconds on a healthy cluster: ask often at
// first, then less often (1, 1, 1, 1, 2, 4, 8, 16, 16 ... ms between answers).
std::chrono::milliseconds pause_after(int answers) {
  if (answers <= 4) return std::chrono::milliseconds{1};
  return std::chrono::milliseconds{1 << std::min(answers - 4, 4)};
}

}  // namespace

void completion_wait::start(clock::time_point now) noexcept {
  if (!usable_) return;
  holding_ = true;
  started_ = now;
  ask_at_ = now;  // the first question right away: it goes while the application sends
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
