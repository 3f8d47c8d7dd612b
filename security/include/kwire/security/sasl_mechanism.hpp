// A SASL client mechanism as a sans-io state machine, in the shape Kafka's SaslAuthenticate
// exchange needs: the client speaks first, then answers each server message, until the
// mechanism says it is complete. Bytes in, bytes out; no sockets, no clocks, no threads.
//
//   plain_client mechanism(user, password);
//   std::vector<std::uint8_t> to_send;
//   if (auto ec = mechanism.initial_response(to_send)) ...   // SaslAuthenticate #1
//   while (!mechanism.is_complete()) {
//     ... send to_send, receive the response's auth_bytes, stop on its error_code ...
//     if (auto ec = mechanism.evaluate_challenge(auth_bytes, to_send)) ...
//   }
//
// Outgoing bytes may hold a credential (PLAIN sends the password as it is): the caller sends
// them and must not log them. Mechanisms wipe the secrets they own when destroyed. After an
// error a mechanism is finished: every later call returns errc::out_of_order.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace kwire::security {

class sasl_client_mechanism {
 public:
  sasl_client_mechanism() = default;
  sasl_client_mechanism(const sasl_client_mechanism&) = delete;  // no stray copies of secrets
  sasl_client_mechanism& operator=(const sasl_client_mechanism&) = delete;
  virtual ~sasl_client_mechanism() = default;

  // The name SaslHandshake carries: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER".
  virtual std::string_view name() const noexcept = 0;

  // The client's first message, into `out` (replaced). Called once, before anything else.
  virtual std::error_code initial_response(std::vector<std::uint8_t>& out) = 0;

  // The server's latest auth_bytes in, the client's next message into `out` (replaced; it may
  // be empty when the exchange is complete and there is nothing more to send).
  virtual std::error_code evaluate_challenge(std::span<const std::uint8_t> challenge,
                                             std::vector<std::uint8_t>& out) = 0;

  // True once the client has seen everything it needs from the server. The broker's
  // SaslAuthenticate error code still has the last word.
  virtual bool is_complete() const noexcept = 0;
};

}  // namespace kwire::security
