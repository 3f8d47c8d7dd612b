// Waiting on the subtask's thread for an asynchronous client operation that completes with
// void(error_code, T), without exceptions (use_future would throw, and as_tuple does not
// combine with it in Boost 1.81). Never call it on a thread of the client's executor.
#pragma once

#include <future>
#include <system_error>
#include <utility>

namespace kwire::connector::detail {

template <class T, class Start>
std::pair<std::error_code, T> blocking_call(Start start) {
  std::promise<std::pair<std::error_code, T>> promise;
  auto result = promise.get_future();
  start([&promise](std::error_code ec, T value) { promise.set_value({ec, std::move(value)}); });
  return result.get();
}

}  // namespace kwire::connector::detail
