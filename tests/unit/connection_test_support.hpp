// A kwire::client::connection connected to a fake broker (fake_broker.hpp), for the
// connection's tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <system_error>

#include "fake_broker.hpp"
#include "kwire/client/connection.hpp"

namespace kwire::test {

// Connects to `broker` with `options`; a failed or missing connect fails the test.
inline std::shared_ptr<client::connection> connect_to(asio::io_context& io, fake_broker& broker,
                                                      const client::connection_options& options) {
  auto conn =
      client::connection::create(io.get_executor(), {-1, "127.0.0.1", broker.port()}, options);
  std::optional<std::error_code> result;
  conn->connect([&](std::error_code ec) { result = ec; });
  run_until(io, [&] { return result.has_value(); });
  EXPECT_TRUE(result.has_value());
  EXPECT_FALSE(result.value_or(std::error_code{})) << result->message();
  return conn;
}

}  // namespace kwire::test
