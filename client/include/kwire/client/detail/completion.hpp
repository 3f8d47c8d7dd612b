// How every public async operation of kwire meets Asio's completion-token rules, written
// once. An operation is started with asio::async_initiate and its arguments go through it
// (so that asio::deferred and other lazy tokens store them, not references to the caller's
// variables). The library side receives a `completion`: a move-only function it calls once,
// from its strand, with the results. The handler then runs as Asio promises it: on its
// associated executor (whose work is kept alive meanwhile), with its associated allocator.
// Operations that can stop early (a poll, a send waiting for buffer.memory) also take the
// handler's cancellation slot: initiate_cancellable passes it to the library side, which
// installs what cancels the operation; the slot is cleared before the handler runs.
#pragma once

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <type_traits>
#include <utility>

#include "kwire/client/detail/unique_function.hpp"

namespace kwire::client::detail {

namespace asio = boost::asio;

template <class Signature, std::size_t InlineSize = 48>
using completion = unique_function<Signature, InlineSize>;

// The handler of an async operation, wrapped as a completion of `Signature` (void(Args...)).
template <class Signature, std::size_t InlineSize = 48>
struct completion_of;

template <class... Args, std::size_t InlineSize>
struct completion_of<void(Args...), InlineSize> {
  template <class Handler>
  static completion<void(Args...), InlineSize> wrap(Handler handler) {
    auto work = asio::make_work_guard(asio::get_associated_executor(handler));
    return [handler = std::move(handler), work = std::move(work)](Args... args) mutable {
      auto executor = work.get_executor();
      const auto allocator = asio::get_associated_allocator(handler);
      // The results are kept by value in the dispatched function (a const& result is
      // copied): the strand that called us goes on when the handler's executor is another.
      asio::dispatch(
          executor, asio::bind_allocator(allocator, [handler = std::move(handler),
                                                     ... results = std::decay_t<Args>(
                                                         std::forward<Args>(args))]() mutable {
            // The operation is over: its cancellation handler goes first (the
            // slot belongs to the handler's executor, where this runs).
            if (auto slot = asio::get_associated_cancellation_slot(handler); slot.is_connected())
              slot.clear();
            std::move(handler)(std::move(results)...);
          }));
      work.reset();
    };
  }
};

// async_initiate for an operation whose library side is `start(completion, args...)`.
template <class Signature, class Token, class Start, class... Args>
auto initiate(Token&& token, Start start, Args&&... args) {
  return asio::async_initiate<Token, Signature>(
      [](auto handler, Start start, auto&&... stored) {
        start(completion_of<Signature>::wrap(std::move(handler)),
              std::forward<decltype(stored)>(stored)...);
      },
      token, std::move(start), std::forward<Args>(args)...);
}

// initiate() for an operation that can be cancelled: `start(completion, slot, args...)`.
// The library side installs its cancel function in `slot` when slot.is_connected(); that
// function runs on whichever thread emits the signal, so it only posts to the library's
// strand, and it must ignore an operation that has already completed.
template <class Signature, class Token, class Start, class... Args>
auto initiate_cancellable(Token&& token, Start start, Args&&... args) {
  return asio::async_initiate<Token, Signature>(
      [](auto handler, Start start, auto&&... stored) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        start(completion_of<Signature>::wrap(std::move(handler)), slot,
              std::forward<decltype(stored)>(stored)...);
      },
      token, std::move(start), std::forward<Args>(args)...);
}

}  // namespace kwire::client::detail
