#include "core/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <cstring>
#include <vector>

namespace kwire::client::detail {
namespace {

// The reason of the oldest OpenSSL error queued, then the queue is cleared.
std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "OpenSSL error " + std::to_string(code);
}

// A file the user named must be readable: say so plainly rather than through OpenSSL.
std::optional<std::string> unreadable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "cannot read " + path + ": " + std::strerror(errno);
  std::fclose(f);
  return std::nullopt;
}

config_error error_for(std::string_view key, const std::string& what) {
  return {std::string(key), std::string(key) + ": " + what};
}

bool is_tls13_suite(std::string_view name) {
  return name == "TLS_AES_128_GCM_SHA256" || name == "TLS_AES_256_GCM_SHA384" ||
         name == "TLS_CHACHA20_POLY1305_SHA256" || name == "TLS_AES_128_CCM_SHA256" ||
         name == "TLS_AES_128_CCM_8_SHA256";
}

// ssl.cipher.suites holds Java's (IANA) names; OpenSSL's TLS 1.2 list wants its own names.
// Each name is looked up among every cipher this OpenSSL has, by either name.
std::optional<config_error> apply_cipher_suites(SSL_CTX* ctx, const common_config& config,
                                                int& min_version, int max_version) {
  if (config.ssl_cipher_suites.empty()) return std::nullopt;
  std::string tls12;
  std::string tls13;
  SSL_CTX* all_ctx = SSL_CTX_new(TLS_client_method());
  if (!all_ctx) return error_for("ssl.cipher.suites", "OpenSSL: " + openssl_reason());
  SSL_CTX_set_cipher_list(all_ctx, "ALL:COMPLEMENTOFALL");
  SSL* all = SSL_new(all_ctx);
  STACK_OF(SSL_CIPHER)* ciphers = all ? SSL_get_ciphers(all) : nullptr;
  std::optional<config_error> error;
  for (const auto& name : config.ssl_cipher_suites) {
    if (is_tls13_suite(name)) {
      tls13 += (tls13.empty() ? "" : ":") + name;
      continue;
    }
    const char* openssl_name = nullptr;
    for (int i = 0; ciphers && i < sk_SSL_CIPHER_num(ciphers); ++i) {
      const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
      const char* standard = SSL_CIPHER_standard_name(c);
      if ((standard && name == standard) || name == SSL_CIPHER_get_name(c)) {
        openssl_name = SSL_CIPHER_get_name(c);
        break;
      }
    }
    if (!openssl_name) {
      error = error_for("ssl.cipher.suites",
                        "\"" + name + "\" is not a cipher suite this OpenSSL knows");
      break;
    }
    tls12 += (tls12.empty() ? "" : ":") + std::string(openssl_name);
  }
  SSL_free(all);
  SSL_CTX_free(all_ctx);
  if (error) return error;
  // A version without any listed suite is not offered at all (Java's rule: the list is the
  // whole set of suites allowed).
  if (tls12.empty()) {
    min_version = TLS1_3_VERSION;
  } else if (SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1) {
    return error_for("ssl.cipher.suites", "OpenSSL refused the list: " + openssl_reason());
  }
  if (SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1)
    return error_for("ssl.cipher.suites", "OpenSSL refused the list: " + openssl_reason());
  if (tls13.empty() && min_version == TLS1_3_VERSION)
    return error_for("ssl.cipher.suites", "has no suite of an enabled TLS version");
  if (min_version > max_version)
    return error_for("ssl.cipher.suites",
                     "has only TLS 1.3 suites, but ssl.protocol or ssl.enabled.protocols "
                     "exclude TLS 1.3");
  return std::nullopt;
}

}  // namespace

std::optional<config_error> make_tls_settings(const common_config& config,
                                              std::shared_ptr<const tls_settings>& out) {
  ERR_clear_error();
  auto settings = std::make_shared<tls_settings>();
  settings->verify_host = !config.ssl_endpoint_identification_algorithm.empty();
  try {
    settings->context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  } catch (const std::exception& e) {
    return error_for("security.protocol", std::string("OpenSSL: ") + e.what());
  }
  SSL_CTX* ctx = settings->context->native_handle();

  int min_version = TLS1_3_VERSION;
  int max_version = TLS1_2_VERSION;
  for (const auto& v : config.ssl_enabled_protocols) {
    const int version = v == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    min_version = std::min(min_version, version);
    max_version = std::max(max_version, version);
  }
  if (config.ssl_protocol == ssl_protocol_version::tls_1_2)
    max_version = std::min(max_version, TLS1_2_VERSION);
  if (max_version < min_version)
    return error_for("ssl.protocol", "TLSv1.2 is below every version ssl.enabled.protocols allows");
  if (auto error = apply_cipher_suites(ctx, config, min_version, max_version)) return error;
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);

  if (config.ssl_truststore_location) {
    const std::string& path = *config.ssl_truststore_location;
    if (auto why = unreadable(path)) return error_for("ssl.truststore.location", *why);
    if (SSL_CTX_load_verify_locations(ctx, path.c_str(), nullptr) != 1)
      return error_for("ssl.truststore.location", "no PEM certificate could be read from " + path +
                                                      " (" + openssl_reason() + ")");
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return error_for(
        "ssl.truststore.location",
        "is unset and OpenSSL's system trust store could not be loaded (" + openssl_reason() + ")");
  }
  // The chain is always verified (Java has no switch for that either); host names below.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);

  if (config.ssl_keystore_location) {
    const std::string& path = *config.ssl_keystore_location;
    if (auto why = unreadable(path)) return error_for("ssl.keystore.location", *why);
    if (config.ssl_key_password) {
      settings->context->set_password_callback(
          [password = *config.ssl_key_password](std::size_t, asio::ssl::context::password_purpose) {
            return password;
          });
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, path.c_str()) != 1)
      return error_for("ssl.keystore.location", "no PEM certificate could be read from " + path +
                                                    " (" + openssl_reason() + ")");
    if (SSL_CTX_use_PrivateKey_file(ctx, path.c_str(), SSL_FILETYPE_PEM) != 1) {
      ERR_clear_error();
      return error_for(
          "ssl.keystore.location",
          "no private key could be read from " + path +
              (config.ssl_key_password ? " (is ssl.key.password the key's password?)"
                                       : " (an encrypted key needs ssl.key.password)"));
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
      return error_for("ssl.keystore.location",
                       "the private key in " + path + " does not match its certificate");
  }
  ERR_clear_error();
  out = std::move(settings);
  return std::nullopt;
}

std::unique_ptr<tls_stream> make_tls_stream(asio::ip::tcp::socket& socket,
                                            std::shared_ptr<const tls_settings> settings,
                                            const std::string& host, std::error_code& ec) {
  auto stream = std::make_unique<tls_stream>(socket, *settings->context);
  stream->settings = std::move(settings);
  SSL* ssl = stream->stream.native_handle();
  boost::system::error_code not_ip;
  (void)asio::ip::make_address(host, not_ip);
  int ok = 1;
  if (!not_ip) {
    // An address: no SNI (RFC 6066 allows names only); the certificate must list the IP.
    if (stream->settings->verify_host)
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  } else {
    ok = SSL_set_tlsext_host_name(ssl, host.c_str());
    if (ok == 1 && stream->settings->verify_host) {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = SSL_set1_host(ssl, host.c_str());
    }
  }
  if (ok != 1) {
    ERR_clear_error();
    ec = std::make_error_code(std::errc::invalid_argument);
    return nullptr;
  }
  return stream;
}

std::string describe_tls_failure(const tls_stream& stream, const boost::system::error_code& ec,
                                 std::string_view host) {
  const std::string h(host);
  const long verify = SSL_get_verify_result(
      const_cast<asio::ssl::stream<asio::ip::tcp::socket&>&>(stream.stream).native_handle());
  switch (verify) {
    case X509_V_OK:
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "the broker's certificate is not signed by a trusted CA (" +
             std::string(X509_verify_cert_error_string(verify)) +
             "); ssl.truststore.location names the CAs to trust (unset: the system store)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "the broker's certificate does not name " + h +
             " (hostname mismatch: its subject alternative names must list what "
             "bootstrap.servers or the broker's advertised listener says; "
             "ssl.endpoint.identification.algorithm=https checks that)";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "the broker's certificate has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "the broker's certificate is not valid yet (check the clocks)";
    default:
      return "the broker's certificate was refused: " +
             std::string(X509_verify_cert_error_string(verify));
  }
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof)
    return "the broker closed the connection during the TLS handshake (is it a TLS listener? "
           "does it require a client certificate, ssl.keystore.location?)";
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_RECORD_LENGTH_MISMATCH:
        return "the broker did not answer with TLS: is it a PLAINTEXT or SASL_PLAINTEXT "
               "listener? (security.protocol)";
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "the broker requires a client certificate (ssl.keystore.location)";
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        return "the broker refused this client's certificate (ssl.keystore.location): " +
               ec.message();
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return "no TLS version both sides allow (ssl.enabled.protocols, ssl.protocol): " +
               ec.message();
      case SSL_R_NO_SHARED_CIPHER:
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        return "the TLS handshake was refused, often for want of a cipher suite both sides "
               "allow (ssl.cipher.suites): " +
               ec.message();
      default:
        break;
    }
  }
  return "TLS handshake failed: " + ec.message();
}

}  // namespace kwire::client::detail
