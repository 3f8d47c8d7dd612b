"""Kafka's error-code table (errors.tsv) -> enum broker_error, names, retriable flags."""


def snake(name):
    return name.lower()


def generate(tsv_path):
    rows = []
    with open(tsv_path) as f:
        next(f)
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            code, name, retriable, _exc = (line.split("\t") + [""])[:4]
            rows.append((int(code), name, retriable == "true"))
    rows.sort()
    enum = "\n".join(f"  {snake(n)} = {c}," for c, n, _ in rows)
    hdr = f"""// Generated from protocol/schema/errors.tsv by protocol/codegen. Do not edit.
#pragma once
#include <cstdint>

namespace kwire::protocol {{

// Error codes a Kafka broker sends (ErrorCode fields); 0 (NONE) is success.
enum class broker_error : std::int16_t {{
{enum}
}};

}}  // namespace kwire::protocol
"""
    cases_name = "\n".join(f'    case {c}: return "{n}";' for c, n, _ in rows)
    cases_retry = "\n".join(f"    case {c}:" for c, _, r in rows if r)
    src = f"""// Generated from protocol/schema/errors.tsv by protocol/codegen. Do not edit.
#include <string>

#include "kwire/protocol/errors.hpp"

namespace kwire::protocol {{

std::string_view broker_error_name(std::int16_t code) noexcept {{
  switch (code) {{
{cases_name}
    default: return "UNKNOWN";
  }}
}}

static bool broker_code_retriable(int code) noexcept {{
  switch (code) {{
{cases_retry}
      return true;
    default:
      return false;
  }}
}}

namespace {{
class broker_category_impl final : public std::error_category {{
 public:
  const char* name() const noexcept override {{ return "kafka"; }}
  std::string message(int code) const override {{
    return std::string(broker_error_name(static_cast<std::int16_t>(code)));
  }}
}};

class protocol_category_impl final : public std::error_category {{
 public:
  const char* name() const noexcept override {{ return "kwire.protocol"; }}
  std::string message(int code) const override {{
    switch (static_cast<errc>(code)) {{
      case errc::truncated: return "input ended inside a field";
      case errc::invalid_length: return "invalid length or count";
      case errc::invalid_varint: return "varint too long";
      case errc::crc_mismatch: return "record batch CRC-32C mismatch";
      case errc::unsupported_version: return "unsupported API or message version";
      case errc::field_not_in_version: return "field has a non-default value the chosen version cannot carry";
      case errc::null_not_allowed: return "null value in a version where the field is not nullable";
      case errc::unknown_compression: return "unknown compression codec";
      case errc::decompression_failed: return "decompression failed";
      case errc::compression_failed: return "compression failed";
      case errc::oversized: return "length beyond the allowed maximum";
      case errc::invalid_magic: return "record batch magic is not 2";
      case errc::invalid_record: return "record inconsistent with its batch";
      case errc::trailing_bytes: return "unexpected bytes after the last field";
      case errc::unknown_api: return "API key not implemented";
    }}
    return "unknown kwire protocol error";
  }}
}};
}}  // namespace

const std::error_category& broker_category() noexcept {{
  static const broker_category_impl category;
  return category;
}}

const std::error_category& protocol_category() noexcept {{
  static const protocol_category_impl category;
  return category;
}}

bool is_retriable(std::error_code ec) noexcept {{
  if (ec.category() == broker_category()) return broker_code_retriable(ec.value());
  return false;
}}

}}  // namespace kwire::protocol
"""
    return {
        "include/kwire/protocol/broker_errors.hpp": hdr,
        "src/broker_errors.cpp": src,
    }
