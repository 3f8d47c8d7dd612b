#include "kwire/connector/deserializer.hpp"

namespace kwire::connector {

deserialized<std::optional<std::string>> string_deserializer::deserialize(
    protocol::optional_bytes value) {
  if (!value) return std::optional<std::string>();
  return std::optional<std::string>(std::in_place, reinterpret_cast<const char*>(value->data()),
                                    value->size());
}

deserialized<std::optional<std::vector<std::uint8_t>>> bytes_deserializer::deserialize(
    protocol::optional_bytes value) {
  if (!value) return std::optional<std::vector<std::uint8_t>>();
  return std::optional<std::vector<std::uint8_t>>(std::in_place, value->begin(), value->end());
}

checkpoint_error deserialization_failure(const source_record& record, std::string_view reason) {
  return {make_error_code(errc::deserialization_failed),
          "topic " + std::string(record.topic) + " partition " + std::to_string(record.partition) +
              " offset " + std::to_string(record.offset) + ": " + std::string(reason)};
}

}  // namespace kwire::connector
