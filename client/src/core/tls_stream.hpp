// TLS for security.protocol SSL and SASL_SSL: the OpenSSL context a client builds once from
// its configuration, the stream a connection wraps around its socket, and the sentence that
// says why a handshake failed. The connection keeps its plain socket and holds one of these
// only when TLS is on, so PLAINTEXT connections pay one null check per read or write.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "kwire/client/config.hpp"

namespace kwire::client::detail {

namespace asio = boost::asio;

// Shared by every connection of a client (SSL_CTX is reference counted and thread-safe for
// creating connections).
struct tls_settings {
  std::shared_ptr<asio::ssl::context> context;
  bool verify_host = true;  // ssl.endpoint.identification.algorithm=https
};

// Reads the trust store and key store files and applies versions and ciphers. An error names
// the property (and the file), never a password.
std::optional<config_error> make_tls_settings(const common_config& config,
                                              std::shared_ptr<const tls_settings>& out);

struct tls_stream {
  tls_stream(asio::ip::tcp::socket& socket, asio::ssl::context& context)
      : stream(socket, context) {}
  asio::ssl::stream<asio::ip::tcp::socket&> stream;
  // The settings' context must outlive the stream.
  std::shared_ptr<const tls_settings> settings;
};

// A stream over `socket` for `host` (SNI for names; the certificate must name `host`, an IP
// address included, unless host checks are off).
std::unique_ptr<tls_stream> make_tls_stream(asio::ip::tcp::socket& socket,
                                            std::shared_ptr<const tls_settings> settings,
                                            const std::string& host, std::error_code& ec);

// Why a TLS handshake (or the first read after it, where TLS 1.3 reports a refused client
// certificate) failed, in words a user can act on; names the property to look at.
std::string describe_tls_failure(const tls_stream& stream, const boost::system::error_code& ec,
                                 std::string_view host);

}  // namespace kwire::client::detail
