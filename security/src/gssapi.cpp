#include "kwire/security/gssapi.hpp"

#include <sasl/sasl.h>

#include "kwire/security/error.hpp"

namespace kwire::security {
namespace {

// libsasl2 keeps its plug-in table per process and must be initialised once before the first
// connection; this is that one-time initialisation, nothing kwire changes afterwards.
int initialise_libsasl2() {
  static const int result = sasl_client_init(nullptr);
  return result;
}

// The authorization id (SASL_CB_USER) and authentication name: empty, so that the GSSAPI
// plug-in takes the principal of the ticket cache, as librdkafka does.
int empty_name(void*, int id, const char** result, unsigned* length) {
  if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME) return SASL_BADPARAM;
  *result = "";
  if (length) *length = 0;
  return SASL_OK;
}

using callback_proc = int (*)(void);
// Through void(*)(): the generic function pointer type that casts without warnings.
const sasl_callback_t callbacks[] = {
    {SASL_CB_USER, reinterpret_cast<callback_proc>(reinterpret_cast<void (*)()>(&empty_name)),
     nullptr},
    {SASL_CB_AUTHNAME, reinterpret_cast<callback_proc>(reinterpret_cast<void (*)()>(&empty_name)),
     nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

}  // namespace

gssapi_client::gssapi_client(std::string_view service_name, std::string_view host)
    : service_(service_name), host_(host) {}

gssapi_client::~gssapi_client() {
  if (conn_) sasl_dispose(&conn_);
}

std::error_code gssapi_client::fail(int result) {
  if (conn_) {
    detail_ = sasl_errdetail(conn_);
    sasl_dispose(&conn_);
  } else {
    detail_ = sasl_errstring(result, nullptr, nullptr);
  }
  state_ = state::failed;
  return make_error_code(errc::gssapi_failed);
}

std::error_code gssapi_client::take(int result, const char* data, unsigned size,
                                    std::vector<std::uint8_t>& out) {
  if (result != SASL_OK && result != SASL_CONTINUE) return fail(result);
  out.assign(data, data + size);
  if (result == SASL_OK) state_ = state::complete;
  return {};
}

std::error_code gssapi_client::initial_response(std::vector<std::uint8_t>& out) {
  if (state_ != state::initial) return make_error_code(errc::out_of_order);
  state_ = state::exchanging;
  if (int r = initialise_libsasl2(); r != SASL_OK) return fail(r);
  if (int r =
          sasl_client_new(service_.c_str(), host_.c_str(), nullptr, nullptr, callbacks, 0, &conn_);
      r != SASL_OK)
    return fail(r);
  // No integrity or confidentiality layer: Kafka's GSSAPI authenticates only.
  sasl_security_properties_t properties{};
  properties.min_ssf = 0;
  properties.max_ssf = 0;
  properties.maxbufsize = 0;
  if (int r = sasl_setprop(conn_, SASL_SEC_PROPS, &properties); r != SASL_OK) return fail(r);
  const char* data = nullptr;
  unsigned size = 0;
  const char* chosen = nullptr;
  sasl_interact_t* interaction = nullptr;
  const int r = sasl_client_start(conn_, "GSSAPI", &interaction, &data, &size, &chosen);
  if (r == SASL_INTERACT) return fail(r);  // the plug-in wants what the callbacks do not give
  return take(r, data, size, out);
}

std::error_code gssapi_client::evaluate_challenge(std::span<const std::uint8_t> challenge,
                                                  std::vector<std::uint8_t>& out) {
  if (state_ != state::exchanging) return make_error_code(errc::out_of_order);
  const char* data = nullptr;
  unsigned size = 0;
  sasl_interact_t* interaction = nullptr;
  const int r =
      sasl_client_step(conn_, reinterpret_cast<const char*>(challenge.data()),
                       static_cast<unsigned>(challenge.size()), &interaction, &data, &size);
  if (r == SASL_INTERACT) return fail(r);
  return take(r, data, size, out);
}

}  // namespace kwire::security
