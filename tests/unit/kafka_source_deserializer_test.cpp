// The source's deserializers: the built-in text and bytes value deserializers, key + value,
// and the decoder's outcomes (value, skip counted, error naming topic, partition, offset).
#include <gtest/gtest.h>

#include "kwire/connector/deserializer.hpp"

namespace kc = kwire::connector;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

kc::source_record record(const std::string& key, const std::string& value) {
  kc::source_record r;
  r.topic = "in";
  r.partition = 3;
  r.offset = 42;
  r.key = bytes_of(key);
  r.value = bytes_of(value);
  return r;
}

TEST(KafkaSourceDeserializer, StringAndBytes) {
  kc::string_deserializer text;
  const std::string v = "hello";
  auto got = text.deserialize(bytes_of(v));
  ASSERT_TRUE(std::holds_alternative<std::optional<std::string>>(got));
  EXPECT_EQ(std::get<0>(got), std::optional<std::string>("hello"));
  // A null value (tombstone) is nullopt, not an empty string.
  EXPECT_EQ(std::get<0>(text.deserialize(std::nullopt)), std::nullopt);

  kc::bytes_deserializer raw;
  auto b = raw.deserialize(bytes_of(v));
  EXPECT_EQ(std::get<0>(b), (std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(std::get<0>(raw.deserialize(std::nullopt)), std::nullopt);
}

TEST(KafkaSourceDeserializer, ValueOnlyAndKeyValue) {
  kc::string_deserializer text;
  const std::string key = "k";
  const std::string value = "v";
  const auto r = record(key, value);
  kc::value_only<std::optional<std::string>> values(text);
  EXPECT_EQ(std::get<0>(values.deserialize(r)), std::optional<std::string>("v"));
  kc::key_value<std::optional<std::string>, std::optional<std::string>> pairs(text, text);
  const auto pair = std::get<0>(pairs.deserialize(r));
  EXPECT_EQ(pair.first, std::optional<std::string>("k"));
  EXPECT_EQ(pair.second, std::optional<std::string>("v"));
}

// Numbers in decimal text: "skip" for an empty value, an error for anything else.
class number_deserializer final : public kc::record_deserializer<int> {
 public:
  kc::deserialized<int> deserialize(const kc::source_record& r) override {
    if (!r.value || r.value->empty()) return kc::skip_record{};
    int n = 0;
    for (auto c : *r.value) {
      if (c < '0' || c > '9') return kc::deserialize_error{"not a number"};
      n = n * 10 + (c - '0');
    }
    return n;
  }
};

TEST(KafkaSourceDeserializer, DecoderCountsSkipsAndNamesTheRecordOnError) {
  number_deserializer numbers;
  kc::record_decoder<int> decoder(numbers);
  const std::string k;
  const std::string good = "17";
  const std::string empty;
  const std::string bad = "x1";
  int n = 0;
  kc::checkpoint_error error;
  EXPECT_TRUE(decoder.decode(record(k, good), n, error));
  EXPECT_EQ(n, 17);
  EXPECT_FALSE(decoder.decode(record(k, empty), n, error));
  EXPECT_FALSE(error);
  EXPECT_FALSE(decoder.decode(record(k, bad), n, error));
  EXPECT_EQ(error.code, kc::errc::deserialization_failed);
  EXPECT_EQ(error.detail, "topic in partition 3 offset 42: not a number");
  EXPECT_EQ(decoder.decoded(), 1U);
  EXPECT_EQ(decoder.skipped(), 1U);
}

}  // namespace
