#include "kwire/connector/kafka_source_config.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "topic_matcher.hpp"

namespace kwire::connector {
namespace {

checkpoint_error refuse(std::string sentence) {
  return {make_error_code(errc::invalid_config), std::move(sentence)};
}

std::string name(const client::topic_partition& tp) {
  return tp.topic + "-" + std::to_string(tp.partition);
}

// The value of `key` as given (the last one wins, as java.util.Properties), trimmed.
std::optional<std::string> given_value(const client::properties& properties, std::string_view key) {
  std::optional<std::string> value;
  for (const auto& [k, v] : properties)
    if (k == key) value = v;
  if (!value) return value;
  const auto first = value->find_first_not_of(" \t\r\n");
  const auto last = value->find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : value->substr(first, last - first + 1);
}

bool is_true(const std::string& value) {
  std::string lower(value);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "true";
}

checkpoint_error check_subscription(const topic_subscription& s) {
  if (s.pattern && !s.topics.empty())
    return refuse("subscription: give topics or a pattern, not both");
  if (s.pattern) {
    if (s.pattern->empty()) return refuse("subscription: the pattern is empty");
    try {
      std::regex compiled(*s.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return refuse("subscription: pattern \"" + *s.pattern +
                    "\" is not an ECMAScript regular expression (" + e.what() + ")");
    }
    return {};
  }
  if (s.topics.empty()) return refuse("subscription: no topic and no pattern given");
  for (const auto& t : s.topics)
    if (t.empty()) return refuse("subscription: a topic name is empty");
  return {};
}

// Offsets given per partition: each names a subscribed topic and is an offset (>= 0).
checkpoint_error check_offsets(std::string_view key,
                               const std::map<client::topic_partition, std::int64_t>& offsets,
                               const detail::topic_matcher& matcher) {
  for (const auto& [tp, offset] : offsets) {
    if (tp.partition < 0)
      return refuse(std::string(key) + ": partition " + std::to_string(tp.partition) + " of \"" +
                    tp.topic + "\" is not a partition (0 or more)");
    if (offset < 0)
      return refuse(std::string(key) + ": offset " + std::to_string(offset) + " for " + name(tp) +
                    " is not an offset (0 or more: the next record to read)");
    if (!matcher.matches(tp.topic))
      return refuse(std::string(key) + ": " + name(tp) + " is not of a subscribed topic");
  }
  return {};
}

checkpoint_error check_positions(const kafka_source_config& c, bool has_group) {
  const detail::topic_matcher matcher(c.subscription);
  switch (c.start.from) {
    case start_from::group_offsets:
      if (!has_group)
        return refuse(
            "group.id: required by start.position group_offsets (or start from earliest, latest, "
            "timestamp or specific_offsets)");
      break;
    case start_from::timestamp:
      if (c.start.timestamp_ms < 0)
        return refuse("start.position: timestamp " + std::to_string(c.start.timestamp_ms) +
                      " is not a time (milliseconds since the epoch, 0 or more)");
      break;
    case start_from::specific_offsets:
      if (auto error = check_offsets("start.position", c.start.offsets, matcher)) return error;
      break;
    case start_from::earliest:
    case start_from::latest:
      break;
  }
  if (c.stop.at == stop_at::given_offsets) {
    if (c.stop.offsets.empty())
      return refuse("stop.position: given_offsets without an offset (or use latest_at_start)");
    if (auto error = check_offsets("stop.position", c.stop.offsets, matcher)) return error;
  }
  return {};
}

// Which commit mode applies, or why the combination is refused.
checkpoint_error pick_commit_mode(const kafka_source_config& c, bool has_group,
                                  const std::optional<std::string>& auto_commit_given,
                                  offset_commit_mode& out) {
  const bool auto_commit_on = auto_commit_given && is_true(*auto_commit_given);
  if (c.checkpointing && auto_commit_on)
    return refuse(
        "enable.auto.commit: true is refused with checkpointing (offsets are committed when a "
        "checkpoint completes, offset.commit.mode on_checkpoint); leave it out or set false");
  if (c.commit_mode) {
    out = *c.commit_mode;
  } else if (c.checkpointing) {
    out = has_group ? offset_commit_mode::on_checkpoint : offset_commit_mode::disabled;
  } else {
    const bool auto_commit_off = auto_commit_given && !auto_commit_on;
    out = has_group && !auto_commit_off ? offset_commit_mode::kafka_auto_commit
                                        : offset_commit_mode::disabled;
  }
  if (out == offset_commit_mode::kafka_auto_commit && c.checkpointing)
    return refuse(
        "offset.commit.mode: kafka_auto_commit only without checkpointing; with checkpointing "
        "use on_checkpoint or disabled");
  if (out == offset_commit_mode::on_checkpoint && !c.checkpointing)
    return refuse(
        "offset.commit.mode: on_checkpoint needs checkpointing; without it use "
        "kafka_auto_commit or disabled");
  if (out == offset_commit_mode::kafka_auto_commit && auto_commit_given && !auto_commit_on)
    return refuse("enable.auto.commit: false contradicts offset.commit.mode kafka_auto_commit");
  if (out != offset_commit_mode::disabled && !has_group)
    return refuse(std::string("group.id: required by offset.commit.mode ") + to_string(out) +
                  " (or set offset.commit.mode disabled)");
  return {};
}

}  // namespace

const char* to_string(offset_commit_mode mode) noexcept {
  switch (mode) {
    case offset_commit_mode::on_checkpoint:
      return "on_checkpoint";
    case offset_commit_mode::kafka_auto_commit:
      return "kafka_auto_commit";
    case offset_commit_mode::disabled:
      return "disabled";
  }
  return "unknown";
}

const char* to_string(start_from from) noexcept {
  switch (from) {
    case start_from::group_offsets:
      return "group_offsets";
    case start_from::earliest:
      return "earliest";
    case start_from::latest:
      return "latest";
    case start_from::timestamp:
      return "timestamp";
    case start_from::specific_offsets:
      return "specific_offsets";
  }
  return "unknown";
}

checkpoint_error validate_kafka_source_config(const kafka_source_config& given,
                                              kafka_source_settings& out) {
  kafka_source_settings s;
  if (auto error = client::parse_consumer_config(given.properties, s.consumer))
    return refuse(error->message);
  if (given.partition_discovery_interval.count() < 0)
    return refuse("partition.discovery.interval.ms: " +
                  std::to_string(given.partition_discovery_interval.count()) +
                  " is negative (0 turns discovery off; above 0: milliseconds between lookups)");
  if (auto error = check_subscription(given.subscription)) return error;
  const bool has_group = s.consumer.group_id.has_value();
  if (auto error = check_positions(given, has_group)) return error;
  if (auto error = pick_commit_mode(
          given, has_group, given_value(given.properties, "enable.auto.commit"), s.commit_mode))
    return error;

  s.consumer.enable_auto_commit = s.commit_mode == offset_commit_mode::kafka_auto_commit;
  // The admin client reaches the same cluster the same way (security, timeouts).
  static_cast<client::common_config&>(s.admin) = s.consumer;
  s.admin.default_api_timeout = s.consumer.default_api_timeout;
  s.subscription = given.subscription;
  s.start = given.start;
  s.stop = given.stop;
  s.partition_discovery_interval = given.partition_discovery_interval;
  s.checkpointing = given.checkpointing;
  s.warnings = s.consumer.warnings;
  out = std::move(s);
  return {};
}

}  // namespace kwire::connector
