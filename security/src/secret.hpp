// Wiping secrets from memory kwire owns, in a way the compiler may not optimise away.
// Private to the security library.
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kwire::security::detail {

inline void wipe(std::string& secret) noexcept {
  // The whole capacity: a shorter value may have replaced a longer one in the same buffer.
  secret.resize(secret.capacity());
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

inline void wipe(std::vector<std::uint8_t>& secret) noexcept {
  secret.resize(secret.capacity());
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace kwire::security::detail
