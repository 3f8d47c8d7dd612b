// SASL GSSAPI (Kerberos V5, RFC 4752) as Kafka uses it, through Cyrus SASL (libsasl2 and its
// GSSAPI plug-in, the way librdkafka does it). Kafka carries each GSSAPI token in a
// SaslAuthenticate request as it is: the AP-REQ first, an empty message after the server's
// AP-REP, then the wrapped security-layer choice (always "no layer": Kafka does not wrap).
//
// Unlike the other mechanisms this one is not pure bytes-in, bytes-out: libsasl2 reads the
// Kerberos ticket cache (KRB5CCNAME, KRB5_CONFIG) and asks the KDC for a service ticket for
// service/host while it runs. It holds no secret of its own; getting the ticket-granting
// ticket (kinit) is the caller's business.
#pragma once

#include <string>
#include <string_view>

#include "kwire/security/sasl_mechanism.hpp"

struct sasl_conn;  // <sasl/sasl.h>

namespace kwire::security {

class gssapi_client final : public sasl_client_mechanism {
 public:
  // service_name: the broker principal's first part (sasl.kerberos.service.name, "kafka");
  // host: the broker's host name or address as connected to (the principal's second part).
  gssapi_client(std::string_view service_name, std::string_view host);
  ~gssapi_client() override;

  std::string_view name() const noexcept override { return "GSSAPI"; }
  // errc::gssapi_failed when libsasl2 or Kerberos cannot start (no ticket, no service
  // principal, ...); detail() says why.
  std::error_code initial_response(std::vector<std::uint8_t>& out) override;
  std::error_code evaluate_challenge(std::span<const std::uint8_t> challenge,
                                     std::vector<std::uint8_t>& out) override;
  bool is_complete() const noexcept override { return state_ == state::complete; }

  // libsasl2's and Kerberos' words for the last failure (principal names and the reason; no
  // key material); empty when nothing failed.
  const std::string& detail() const noexcept { return detail_; }

 private:
  enum class state { initial, exchanging, complete, failed };
  std::error_code fail(int result);
  std::error_code take(int result, const char* data, unsigned size, std::vector<std::uint8_t>& out);

  std::string service_;
  std::string host_;
  sasl_conn* conn_ = nullptr;
  state state_ = state::initial;
  std::string detail_;
};

}  // namespace kwire::security
