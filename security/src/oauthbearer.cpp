#include "kwire/security/oauthbearer.hpp"

#include <utility>

#include "kwire/security/error.hpp"
#include "secret.hpp"

namespace kwire::security {
namespace {

constexpr std::uint8_t kSeparator = 0x01;  // RFC 7628 kvsep
constexpr int kMaxJsonDepth = 32;          // nesting the error parser follows before giving up

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_bearer_token(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && (is_alpha(token[i]) || is_digit(token[i]) ||
                              std::string_view("-._~+/").find(token[i]) != std::string_view::npos))
    ++i;
  if (i == 0) return false;
  while (i < token.size() && token[i] == '=') ++i;
  return i == token.size();
}

bool is_extension_key(std::string_view key) {
  if (key.empty() || key == "auth") return false;  // "auth" carries the token itself
  for (const char c : key)
    if (!is_alpha(c)) return false;
  return true;
}

// value = *(VCHAR / SP / HTAB / CR / LF), and non-empty for Kafka's broker.
bool is_extension_value(std::string_view value) {
  if (value.empty()) return false;
  for (const char c : value) {
    const bool visible = c >= 0x21 && c <= 0x7e;
    if (!visible && c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

void append(std::vector<std::uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

// Just enough JSON (RFC 8259) to read an object of members and skip what is not wanted.
class json_reader {
 public:
  explicit json_reader(std::string_view text) : text_(text) {}

  void skip_whitespace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool at_end() const { return pos_ == text_.size(); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool consume(char c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }

  bool read_string(std::string& out) {
    out.clear();
    if (!consume('"')) return false;
    while (!at_end()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_end()) return false;
      switch (text_[pos_++]) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (!read_unicode_escape(out)) return false;
          break;
        default: return false;
      }
    }
    return false;
  }

  bool skip_value(int depth) {
    if (depth > kMaxJsonDepth) return false;
    skip_whitespace();
    std::string ignored;
    switch (peek()) {
      case '"': return read_string(ignored);
      case '{': return skip_container('}', depth, true);
      case '[': return skip_container(']', depth, false);
      case 't': return consume_word("true");
      case 'f': return consume_word("false");
      case 'n': return consume_word("null");
      default: return skip_number();
    }
  }

 private:
  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool skip_digits() {
    const std::size_t start = pos_;
    while (is_digit(peek()) && !at_end()) ++pos_;
    return pos_ > start;
  }

  bool skip_number() {
    consume('-');
    if (!consume('0') && !skip_digits()) return false;
    if (consume('.') && !skip_digits()) return false;
    if (consume('e') || consume('E')) {
      if (!consume('+')) consume('-');
      if (!skip_digits()) return false;
    }
    return true;
  }

  bool skip_container(char close, int depth, bool is_object) {
    ++pos_;  // the opening bracket
    skip_whitespace();
    if (consume(close)) return true;
    while (true) {
      skip_whitespace();
      if (is_object) {
        std::string ignored;
        if (!read_string(ignored)) return false;
        skip_whitespace();
        if (!consume(':')) return false;
      }
      if (!skip_value(depth + 1)) return false;
      skip_whitespace();
      if (consume(close)) return true;
      if (!consume(',')) return false;
    }
  }

  bool read_hex4(std::uint32_t& out) {
    if (text_.size() - pos_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      const int digit = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                   : (c >= 'A' && c <= 'F')        ? c - 'A' + 10
                                                                   : -1;
      if (digit < 0) return false;
      out = out * 16 + static_cast<std::uint32_t>(digit);
    }
    return true;
  }

  // After "\u": one code unit, or a surrogate pair, as UTF-8.
  bool read_unicode_escape(std::string& out) {
    std::uint32_t code_point = 0;
    if (!read_hex4(code_point)) return false;
    if (code_point >= 0xdc00 && code_point <= 0xdfff) return false;  // lone low surrogate
    if (code_point >= 0xd800 && code_point <= 0xdbff) {
      std::uint32_t low = 0;
      if (!consume('\\') || !consume('u') || !read_hex4(low) || low < 0xdc00 || low > 0xdfff)
        return false;
      code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
    }
    if (code_point < 0x80) {
      out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
      out += static_cast<char>(0xc0 | (code_point >> 6));
      out += static_cast<char>(0x80 | (code_point & 0x3f));
    } else if (code_point < 0x10000) {
      out += static_cast<char>(0xe0 | (code_point >> 12));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code_point & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code_point >> 18));
      out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code_point & 0x3f));
    }
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::error_code parse_error_object(std::string_view json, oauthbearer_server_error& out) {
  json_reader reader(json);
  reader.skip_whitespace();
  if (!reader.consume('{')) return errc::malformed_server_message;
  reader.skip_whitespace();
  if (!reader.consume('}')) {
    while (true) {
      reader.skip_whitespace();
      std::string key;
      if (!reader.read_string(key)) return errc::malformed_server_message;
      reader.skip_whitespace();
      if (!reader.consume(':')) return errc::malformed_server_message;
      reader.skip_whitespace();
      std::string* wanted = key == "status"                 ? &out.status
                            : key == "scope"                ? &out.scope
                            : key == "openid-configuration" ? &out.openid_configuration
                                                            : nullptr;
      const bool ok = wanted && reader.peek() == '"' ? reader.read_string(*wanted)
                                                     : reader.skip_value(1);
      if (!ok) return errc::malformed_server_message;
      reader.skip_whitespace();
      if (reader.consume('}')) break;
      if (!reader.consume(',')) return errc::malformed_server_message;
    }
  }
  reader.skip_whitespace();
  if (!reader.at_end() || out.status.empty()) return errc::malformed_server_message;
  return {};
}

}  // namespace

std::error_code parse_oauthbearer_server_error(std::string_view json,
                                               oauthbearer_server_error& out) {
  out = {};
  const std::error_code ec = parse_error_object(json, out);
  if (ec) out = {};
  return ec;
}

oauthbearer_client::oauthbearer_client(std::string_view token, sasl_extensions extensions)
    : token_(token), extensions_(std::move(extensions)) {}

oauthbearer_client::~oauthbearer_client() { detail::wipe(token_); }

std::error_code oauthbearer_client::initial_response(std::vector<std::uint8_t>& out) {
  out.clear();
  if (state_ != state::initial) {
    state_ = state::failed;
    return errc::out_of_order;
  }
  state_ = state::failed;  // until this step succeeds
  if (!is_bearer_token(token_)) return errc::invalid_token;
  for (const auto& [key, value] : extensions_)
    if (!is_extension_key(key) || !is_extension_value(value)) return errc::invalid_extension;

  append(out, "n,,");  // gs2 header: no channel binding, no authzid
  out.push_back(kSeparator);
  append(out, "auth=Bearer ");
  append(out, token_);
  out.push_back(kSeparator);
  for (const auto& [key, value] : extensions_) {
    append(out, key);
    out.push_back('=');
    append(out, value);
    out.push_back(kSeparator);
  }
  out.push_back(kSeparator);
  detail::wipe(token_);  // the message holds it now; one copy fewer
  state_ = state::awaiting_server;
  return {};
}

std::error_code oauthbearer_client::evaluate_challenge(std::span<const std::uint8_t> challenge,
                                                       std::vector<std::uint8_t>& out) {
  out.clear();
  switch (state_) {
    case state::awaiting_server: {
      if (challenge.empty()) {
        state_ = state::complete;
        return {};
      }
      const std::string_view json(reinterpret_cast<const char*>(challenge.data()),
                                  challenge.size());
      if (auto ec = parse_oauthbearer_server_error(json, server_error_)) {
        state_ = state::failed;
        return ec;
      }
      out.push_back(kSeparator);  // RFC 7628 3.2.3: acknowledge, then the server fails
      state_ = state::rejected;
      return {};
    }
    case state::rejected:
      state_ = state::failed;
      return errc::server_rejected;
    default:
      state_ = state::failed;
      return errc::out_of_order;
  }
}

}  // namespace kwire::security
