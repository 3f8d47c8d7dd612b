#include "kwire/connector/lineage_audit.hpp"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace kwire::connector {
namespace {
constexpr std::size_t max_examples = 10;

template <class Int>
std::optional<Int> parse_number(std::string_view text) {
  Int value{};
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}
}  // namespace

std::optional<lineage> parse_lineage(std::string_view text) {
  const auto last = text.rfind(':');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const auto middle = text.rfind(':', last - 1);
  if (middle == std::string_view::npos || middle == 0) return std::nullopt;
  const auto partition = parse_number<std::int32_t>(text.substr(middle + 1, last - middle - 1));
  const auto offset = parse_number<std::int64_t>(text.substr(last + 1));
  if (!partition || !offset) return std::nullopt;
  return lineage{std::string(text.substr(0, middle)), *partition, *offset};
}

std::string format_lineage(std::string_view topic, std::int32_t partition, std::int64_t offset) {
  return std::string(topic) + ':' + std::to_string(partition) + ':' + std::to_string(offset);
}

void lineage_audit::example(std::string text) {
  if (counts_.examples.size() < max_examples) counts_.examples.push_back(std::move(text));
}

void lineage_audit::add_input(std::string_view topic, std::int32_t partition, std::int64_t offset) {
  auto found = inputs_.find(std::make_pair(std::string(topic), partition));
  if (found == inputs_.end())
    found = inputs_.emplace(std::make_pair(std::string(topic), partition), input_partition{}).first;
  auto& p = found->second;
  if (!p.offsets.empty() && offset <= p.offsets.back()) return;  // read twice: counted once
  p.offsets.push_back(offset);
  p.copies.push_back(0);
  ++counts_.in;
}

void lineage_audit::add_output(std::int32_t output_partition,
                               std::optional<std::string_view> source) {
  ++counts_.out;
  const auto from = source ? parse_lineage(*source) : std::nullopt;
  if (!from) {
    ++counts_.foreign;
    example("foreign: output partition " + std::to_string(output_partition) + " record " +
            (source ? "with kwire-src '" + std::string(*source) + "'" : "without kwire-src"));
    return;
  }
  const auto name = format_lineage(from->topic, from->partition, from->offset);
  auto found = inputs_.find(std::make_pair(from->topic, from->partition));
  if (found == inputs_.end()) {
    ++counts_.foreign;
    example("foreign: " + name + " is not an input record");
    return;
  }
  auto& p = found->second;
  const auto at = std::lower_bound(p.offsets.begin(), p.offsets.end(), from->offset);
  if (at == p.offsets.end() || *at != from->offset) {
    ++counts_.foreign;
    example("foreign: " + name + " is not an input record");
    return;
  }
  auto& copies = p.copies[static_cast<std::size_t>(at - p.offsets.begin())];
  if (++copies > 1) {
    ++counts_.duplicated;
    example("duplicated: " + name + " (copy " + std::to_string(copies) + ")");
    return;
  }
  const auto key = std::make_tuple(output_partition, from->topic, from->partition);
  auto last = last_.find(key);
  if (last == last_.end()) {
    last_.emplace(key, from->offset);
  } else if (from->offset < last->second) {
    ++counts_.reordered;
    example("reordered: " + name + " after offset " + std::to_string(last->second) +
            " in output partition " + std::to_string(output_partition));
  } else {
    last->second = from->offset;
  }
}

lineage_report lineage_audit::report() const {
  auto out = counts_;
  std::size_t room = max_examples > out.examples.size() ? max_examples - out.examples.size() : 0;
  for (const auto& [key, p] : inputs_)
    for (std::size_t i = 0; i < p.offsets.size(); ++i)
      if (p.copies[i] == 0) {
        ++out.lost;
        if (room > 0) {
          out.examples.push_back("lost: " + format_lineage(key.first, key.second, p.offsets[i]));
          --room;
        }
      }
  return out;
}

}  // namespace kwire::connector
