// Kafka's rules for a topic name (org.apache.kafka.common.internals.Topic.validate), so that
// a name the broker would refuse is refused before anything is sent.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kwire::client {

// The longest topic name Kafka accepts (a partition's directory is NAME-PARTITION and
// must fit in 255 bytes).
inline constexpr std::size_t max_topic_name_length = 249;

// What is wrong with `name` as a topic name, as a phrase that follows the name ("is empty",
// "contains ' ' (allowed: ...)"), or nullopt when it is valid: 1 to 249 characters of
// [a-zA-Z0-9._-], and neither "." nor "..".
std::optional<std::string> topic_name_problem(std::string_view name);

}  // namespace kwire::client
