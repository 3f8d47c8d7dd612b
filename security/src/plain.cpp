#include "kwire/security/plain.hpp"

#include "kwire/security/error.hpp"
#include "secret.hpp"

namespace kwire::security {
namespace {

bool usable_credential(std::string_view value) {
  return !value.empty() && value.find('\0') == std::string_view::npos;
}

}  // namespace

plain_client::plain_client(std::string_view username, std::string_view password)
    : username_(username), password_(password) {}

plain_client::~plain_client() {
  detail::wipe(username_);
  detail::wipe(password_);
}

std::error_code plain_client::initial_response(std::vector<std::uint8_t>& out) {
  out.clear();
  if (state_ != state::initial) {
    state_ = state::failed;
    return errc::out_of_order;
  }
  state_ = state::failed;
  if (!usable_credential(username_)) return errc::invalid_username;
  if (!usable_credential(password_)) return errc::invalid_password;
  // authzid (empty) NUL authcid NUL passwd
  out.reserve(2 + username_.size() + password_.size());
  out.push_back(0);
  out.insert(out.end(), username_.begin(), username_.end());
  out.push_back(0);
  out.insert(out.end(), password_.begin(), password_.end());
  detail::wipe(password_);  // no longer needed: one copy fewer
  state_ = state::awaiting_server;
  return {};
}

std::error_code plain_client::evaluate_challenge(std::span<const std::uint8_t> challenge,
                                                 std::vector<std::uint8_t>& out) {
  out.clear();
  if (state_ != state::awaiting_server) {
    state_ = state::failed;
    return errc::out_of_order;
  }
  if (!challenge.empty()) {
    state_ = state::failed;
    return errc::malformed_server_message;
  }
  state_ = state::complete;
  return {};
}

}  // namespace kwire::security
