// Whether a topic belongs to a subscription: a name of its list, or a whole-name match of its
// pattern (compiled once; validate_kafka_source_config() has checked that it compiles).
#pragma once

#include <optional>
#include <regex>
#include <string>

#include "kwire/connector/kafka_source_config.hpp"

namespace kwire::connector::detail {

class topic_matcher {
 public:
  explicit topic_matcher(const topic_subscription& subscription) : topics_(subscription.topics) {
    if (subscription.pattern) pattern_.emplace(*subscription.pattern, std::regex::ECMAScript);
  }

  bool matches(const std::string& topic) const {
    if (pattern_) return std::regex_match(topic, *pattern_);
    for (const auto& t : topics_)
      if (t == topic) return true;
    return false;
  }

 private:
  std::vector<std::string> topics_;
  std::optional<std::regex> pattern_;
};

}  // namespace kwire::connector::detail
