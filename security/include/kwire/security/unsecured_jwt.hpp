// Unsecured JWTs (RFC 7519, section 6: "alg":"none", empty signature) for tests against a
// broker running Kafka's unsecured OAUTHBEARER validator
// (OAuthBearerUnsecuredValidatorCallbackHandler). Never for production: anyone can mint one.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace kwire::security {

struct unsecured_jwt_claims {
  std::string subject;                  // "sub": the principal the broker will see
  std::chrono::sys_seconds issued_at;   // "iat"
  std::chrono::sys_seconds expires_at;  // "exp"; the validator refuses expired tokens
  // "scope": a JSON array of strings, omitted when empty. An array, not a space-separated
  // string, because Kafka's validator takes a string claim as one single scope.
  std::vector<std::string> scope;
};

// base64url({"alg":"none"}) "." base64url(claims) "." — no padding, empty signature.
std::string make_unsecured_jwt(const unsecured_jwt_claims& claims);

}  // namespace kwire::security
