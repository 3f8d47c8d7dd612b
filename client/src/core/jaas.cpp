#include "kwire/client/jaas.hpp"

#include <charconv>
#include <cstdint>

namespace kwire::client {
namespace {

constexpr std::string_view plain_class = "org.apache.kafka.common.security.plain.PlainLoginModule";
constexpr std::string_view scram_class = "org.apache.kafka.common.security.scram.ScramLoginModule";
constexpr std::string_view oauthbearer_class =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
constexpr std::string_view extension_prefix = "unsecuredLoginExtension_";

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '$';
}

// A cursor over the text. Every failure is a sentence without any value in it.
class scanner {
 public:
  explicit scanner(std::string_view text) : text_(text) {}

  void skip_blanks() {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
  }
  bool at_end() {
    skip_blanks();
    return pos_ == text_.size();
  }
  bool take(char c) {
    skip_blanks();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string_view word() {
    skip_blanks();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_word_char(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // A quoted value (escapes \" and \\, as Java's StreamTokenizer reads them) or a bare word.
  std::optional<std::string> value() {
    skip_blanks();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ++pos_;
      std::string out;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        out += text_[pos_++];
      }
      if (pos_ == text_.size()) return std::nullopt;  // unterminated
      ++pos_;
      return out;
    }
    const std::string_view bare = word();
    if (bare.empty()) return std::nullopt;
    return std::string(bare);
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<std::string> assign_option(jaas_login& out, std::string_view key, std::string value,
                                         bool& has_username, bool& has_password) {
  const auto unknown = [&] {
    return "option " + std::string(key) + " is not one " +
           std::string(login_module_class(out.module)) + " takes in kwire";
  };
  switch (out.module) {
    case jaas_login_module::plain:
    case jaas_login_module::scram:
      if (key == "username") {
        out.username = std::move(value);
        has_username = true;
      } else if (key == "password") {
        out.password = std::move(value);
        has_password = true;
      } else if (key == "tokenauth" && out.module == jaas_login_module::scram) {
        if (value != "true" && value != "false")
          return std::string("option tokenauth must be true or false");
        out.token_auth = value == "true";
      } else {
        return unknown();
      }
      return std::nullopt;
    case jaas_login_module::oauthbearer:
      if (key == "unsecuredLoginStringClaim_sub") {
        out.subject = std::move(value);
        has_username = true;
      } else if (key == "unsecuredLoginListClaim_scope") {
        // Kafka's list claim syntax: the first character is the separator.
        out.scope.clear();
        if (value.size() > 1) {
          const char separator = value.front();
          std::size_t start = 1;
          while (start <= value.size()) {
            std::size_t end = value.find(separator, start);
            if (end == std::string::npos) end = value.size();
            if (end > start) out.scope.push_back(value.substr(start, end - start));
            start = end + 1;
          }
        }
      } else if (key == "unsecuredLoginLifetimeSeconds") {
        std::int64_t seconds = 0;
        const auto [stop, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc{} || stop != value.data() + value.size() || seconds < 1 ||
            seconds > 100LL * 365 * 24 * 3600)
          return std::string(
              "option unsecuredLoginLifetimeSeconds must be a positive number of "
              "seconds");
        out.lifetime = std::chrono::seconds(seconds);
      } else if (key.starts_with(extension_prefix) && key.size() > extension_prefix.size()) {
        out.extensions.emplace_back(std::string(key.substr(extension_prefix.size())),
                                    std::move(value));
      } else {
        return unknown() +
               " (it takes unsecuredLoginStringClaim_sub, "
               "unsecuredLoginListClaim_scope, unsecuredLoginLifetimeSeconds and "
               "unsecuredLoginExtension_NAME; OIDC login is not supported yet)";
      }
      return std::nullopt;
  }
  return unknown();
}

}  // namespace

std::string_view login_module_class(jaas_login_module module) noexcept {
  switch (module) {
    case jaas_login_module::plain:
      return plain_class;
    case jaas_login_module::scram:
      return scram_class;
    case jaas_login_module::oauthbearer:
      return oauthbearer_class;
  }
  return "?";
}

std::optional<std::string> parse_jaas_config(std::string_view text, jaas_login& out) {
  scanner in(text);
  jaas_login login;
  const std::string_view module = in.word();
  if (module == plain_class) {
    login.module = jaas_login_module::plain;
  } else if (module == scram_class) {
    login.module = jaas_login_module::scram;
  } else if (module == oauthbearer_class) {
    login.module = jaas_login_module::oauthbearer;
  } else if (module.empty()) {
    return std::string("does not start with a login module class");
  } else {
    return "login module " + std::string(module) + " is not one kwire has (" +
           std::string(plain_class) + ", " + std::string(scram_class) + ", " +
           std::string(oauthbearer_class) + ")";
  }
  const std::string_view flag = in.word();
  if (flag != "required" && flag != "requisite" && flag != "sufficient" && flag != "optional")
    return "the login module must be followed by its control flag (required, requisite, "
           "sufficient or optional)";
  bool has_username = false;
  bool has_password = false;
  std::vector<std::string> seen;
  while (!in.take(';')) {
    if (in.at_end()) return std::string("does not end with ';'");
    const std::string_view key = in.word();
    if (key.empty()) return std::string("has something other than key=value options");
    if (!in.take('=')) return "option " + std::string(key) + " has no '=value'";
    auto value = in.value();
    if (!value) return "option " + std::string(key) + " has no value (or an unterminated quote)";
    for (const auto& s : seen)
      if (s == key) return "option " + std::string(key) + " is given twice";
    seen.emplace_back(key);
    if (auto error = assign_option(login, key, std::move(*value), has_username, has_password))
      return error;
  }
  if (!in.at_end()) return std::string("has more than one login module (Kafka takes exactly one)");
  if (login.module == jaas_login_module::oauthbearer) {
    if (!has_username || login.subject.empty())
      return std::string(
          "OAuthBearerLoginModule needs unsecuredLoginStringClaim_sub (the "
          "principal); kwire makes unsecured tokens only");
  } else {
    if (!has_username || login.username.empty())
      return std::string(module) + " needs a non-empty username option";
    if (!has_password || login.password.empty())
      return std::string(module) + " needs a non-empty password option";
  }
  out = std::move(login);
  return std::nullopt;
}

}  // namespace kwire::client
