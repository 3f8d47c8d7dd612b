// Checks a pipeline's output against its input by lineage: every output record names its
// input record ("TOPIC:PARTITION:OFFSET", the `kwire-src` header `kwire pipeline` writes).
// Fed the input records (in log order per partition) and the output records (in log order
// per output partition, as a read_committed reader sees them), it counts what `kwire verify`
// reports:
//   lost        input records no output record names
//   duplicated  output records beyond the first that name one input record
//   reordered   output records that name an input record before one an earlier output record
//               of the same output partition named from the same input partition (order
//               within an input partition is kept per output partition; duplicates are
//               counted only as duplicates)
//   foreign     output records without a readable lineage, or naming no input record
// No I/O; memory is a few bytes per input record.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kwire::connector {

inline constexpr std::string_view lineage_header = "kwire-src";

struct lineage {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};
// "TOPIC:PARTITION:OFFSET" (the topic may itself contain no ':'); nullopt when malformed.
std::optional<lineage> parse_lineage(std::string_view text);
std::string format_lineage(std::string_view topic, std::int32_t partition, std::int64_t offset);

struct lineage_report {
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::int64_t lost = 0;
  std::int64_t duplicated = 0;
  std::int64_t reordered = 0;
  std::int64_t foreign = 0;
  // A few examples of each anomaly, for the reader ("lost in-2:17", ...).
  std::vector<std::string> examples;
  bool clean() const noexcept {
    return lost == 0 && duplicated == 0 && reordered == 0 && foreign == 0;
  }
};

class lineage_audit {
 public:
  void add_input(std::string_view topic, std::int32_t partition, std::int64_t offset);
  // `source`: the record's kwire-src header value (nullopt when it has none).
  void add_output(std::int32_t output_partition, std::optional<std::string_view> source);
  lineage_report report() const;

 private:
  struct input_partition {
    std::vector<std::int64_t> offsets;  // ascending
    std::vector<std::uint32_t> copies;  // output records naming each
  };
  void example(std::string text);

  std::map<std::pair<std::string, std::int32_t>, input_partition, std::less<>> inputs_;
  // The last input offset seen per (output partition, input topic, input partition).
  std::map<std::tuple<std::int32_t, std::string, std::int32_t>, std::int64_t> last_;
  lineage_report counts_;
};

}  // namespace kwire::connector
