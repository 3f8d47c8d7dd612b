#include "kwire/client/error.hpp"

#include "kwire/protocol/messages.hpp"

namespace kwire::client {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kwire.client"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::connection_closed:
        return "connection closed before the response arrived";
      case errc::request_timed_out:
        return "no response within request.timeout.ms";
      case errc::connect_timed_out:
        return "connection setup (TCP connect and ApiVersions) timed out";
      case errc::broker_too_old:
        return "the broker supports no version of a required API that kwire implements";
      case errc::protocol_violation:
        return "the broker sent a response the protocol does not allow";
      case errc::not_ready:
        return "the connection is not ready";
      case errc::shut_down:
        return "the client was closed";
      case errc::buffer_exhausted:
        return "buffer.memory is exhausted and max.block.ms passed";
      case errc::delivery_timed_out:
        return "delivery.timeout.ms passed before the broker acknowledged the record";
      case errc::record_too_large:
        return "record larger than max.request.size or the broker's message.max.bytes";
      case errc::no_such_partition:
        return "the topic has no such partition";
      case errc::no_brokers:
        return "no bootstrap server could be reached";
      case errc::producer_fenced:
        return "producer fenced: another producer with the same transactional.id started";
      case errc::metadata_timed_out:
        return "max.block.ms passed before the topic's metadata arrived";
      case errc::no_offset:
        return "no committed offset for the partition, and auto.offset.reset is none";
      case errc::operation_timed_out:
        return "the operation's timeout (default.api.timeout.ms) passed before it completed";
      case errc::tls_handshake_failed:
        return "TLS handshake failed";
      case errc::kerberos_failed:
        return "Kerberos (GSSAPI) login failed";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::invalid_transaction_state:
        return "not allowed in the transaction's current state";
      case errc::transaction_abortable:
        return "the transaction hit an error and can only be aborted";
      case errc::transaction_aborted:
        return "the record's transaction was aborted";
    }
    return "unknown kwire.client error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& client_category() noexcept {
  static const category instance;
  return instance;
}

bool is_retriable(std::error_code ec) noexcept {
  if (ec.category() == client_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::connection_closed:
      case errc::request_timed_out:
      case errc::connect_timed_out:
      case errc::not_ready:
      case errc::no_brokers:
      case errc::metadata_timed_out:
        return true;
      default:
        return false;
    }
  }
  // Network failures reported by the OS: the broker may be back, or another one leads.
  for (auto e : {std::errc::connection_reset, std::errc::connection_refused, std::errc::broken_pipe,
                 std::errc::connection_aborted, std::errc::timed_out, std::errc::host_unreachable,
                 std::errc::network_unreachable, std::errc::network_down, std::errc::not_connected})
    if (ec == e) return true;
  return protocol::is_retriable(ec);
}

std::string diagnostics::describe_where() const {
  std::string out;
  if (api_key >= 0) {
    const auto* api = protocol::find_api(api_key);
    out += api ? std::string(api->name) : "api " + std::to_string(api_key);
    if (api_version >= 0) out += " v" + std::to_string(api_version);
  }
  if (broker_id >= 0 || !broker.empty()) {
    out += out.empty() ? "broker" : " to broker";
    if (broker_id >= 0) out += " " + std::to_string(broker_id);
    if (!broker.empty()) out += " (" + broker + ")";
  }
  if (!topic.empty()) out += (out.empty() ? "topic " : " topic ") + topic;
  if (partition >= 0) out += " partition " + std::to_string(partition);
  return out;
}

std::string diagnostics::describe(std::error_code ec) const {
  std::string out = describe_where();
  if (!out.empty()) out += ": ";
  out += ec.message();
  if (!server_message.empty()) out += " (broker says: " + server_message + ")";
  if (last_error) {
    out += "; last error: ";
    if (!last_error_context.empty()) out += last_error_context + ": ";
    out += last_error.message();
  }
  return out;
}

}  // namespace kwire::client
