// Turning a consumed record into the pipeline's value. Two shapes, as Flink's schemas:
// value_deserializer sees the value's bytes only; record_deserializer (the keyed one) sees
// the whole record with its metadata (topic, partition, offset, timestamp and its type,
// headers, key, value). Built in: the value as text or as raw bytes, and key + value pairs.
//
// Each record gives a value, "skip" (the record is dropped and counted) or an error, which
// fails the pipeline: deserialization_failure() names topic, partition and offset, and the
// pipeline restarts from its checkpoint (then exits naming them when the restart budget is
// spent). record_decoder applies a deserializer and keeps those counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "kwire/connector/error.hpp"
#include "kwire/connector/record.hpp"

namespace kwire::connector {

struct skip_record {};
struct deserialize_error {
  std::string reason;  // what is wrong with the bytes; the record's coordinates are added
};

template <class T>
using deserialized = std::variant<T, skip_record, deserialize_error>;

template <class T>
class value_deserializer {
 public:
  using value_type = T;
  virtual ~value_deserializer() = default;
  // `value`: nullopt for a null value (a tombstone).
  virtual deserialized<T> deserialize(protocol::optional_bytes value) = 0;
};

template <class T>
class record_deserializer {
 public:
  using value_type = T;
  virtual ~record_deserializer() = default;
  virtual deserialized<T> deserialize(const source_record& record) = 0;
};

// The value as text (nullopt for a null value); the bytes are not checked for UTF-8.
class string_deserializer final : public value_deserializer<std::optional<std::string>> {
 public:
  deserialized<std::optional<std::string>> deserialize(protocol::optional_bytes value) override;
};

// The value's bytes, copied (nullopt for a null value).
class bytes_deserializer final
    : public value_deserializer<std::optional<std::vector<std::uint8_t>>> {
 public:
  deserialized<std::optional<std::vector<std::uint8_t>>> deserialize(
      protocol::optional_bytes value) override;
};

// A value deserializer applied to the value of the record.
template <class T>
class value_only final : public record_deserializer<T> {
 public:
  explicit value_only(value_deserializer<T>& value) : value_(value) {}
  deserialized<T> deserialize(const source_record& record) override {
    return value_.deserialize(record.value);
  }

 private:
  value_deserializer<T>& value_;
};

// Key and value, each by its own value deserializer; a skip or an error of either wins.
template <class K, class V>
class key_value final : public record_deserializer<std::pair<K, V>> {
 public:
  key_value(value_deserializer<K>& key, value_deserializer<V>& value) : key_(key), value_(value) {}
  deserialized<std::pair<K, V>> deserialize(const source_record& record) override {
    auto k = key_.deserialize(record.key);
    if (auto* e = std::get_if<deserialize_error>(&k)) return deserialize_error{"key: " + e->reason};
    if (std::holds_alternative<skip_record>(k)) return skip_record{};
    auto v = value_.deserialize(record.value);
    if (auto* e = std::get_if<deserialize_error>(&v))
      return deserialize_error{"value: " + e->reason};
    if (std::holds_alternative<skip_record>(v)) return skip_record{};
    return std::pair<K, V>(std::move(std::get<K>(k)), std::move(std::get<V>(v)));
  }

 private:
  value_deserializer<K>& key_;
  value_deserializer<V>& value_;
};

// errc::deserialization_failed, "topic T partition P offset O: REASON".
checkpoint_error deserialization_failure(const source_record& record, std::string_view reason);

// Applies a record deserializer, counting what it skipped; an error comes back as
// deserialization_failure().
template <class T>
class record_decoder {
 public:
  explicit record_decoder(record_deserializer<T>& deserializer) : deserializer_(deserializer) {}

  // true with `out` set: a value; false with `error` empty: skipped; false with `error`
  // set: the pipeline fails.
  bool decode(const source_record& record, T& out, checkpoint_error& error) {
    auto result = deserializer_.deserialize(record);
    if (auto* value = std::get_if<T>(&result)) {
      out = std::move(*value);
      ++decoded_;
      return true;
    }
    if (auto* e = std::get_if<deserialize_error>(&result)) {
      error = deserialization_failure(record, e->reason);
      return false;
    }
    ++skipped_;
    return false;
  }

  std::uint64_t decoded() const noexcept { return decoded_; }
  std::uint64_t skipped() const noexcept { return skipped_; }

 private:
  record_deserializer<T>& deserializer_;
  std::uint64_t decoded_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace kwire::connector
