// Field-level encode/decode helpers that the generated message code calls. They keep the
// generated files short; the rules (nullability per version, compact vs classic lengths,
// length checks before allocation) live here once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kwire/protocol/buffer.hpp"

namespace kwire::protocol::detail {

// ---- scalars -------------------------------------------------------------------------
inline void put(writer& w, bool v) { w.boolean(v); }
inline void put(writer& w, std::int8_t v) { w.int8(v); }
inline void put(writer& w, std::int16_t v) { w.int16(v); }
inline void put(writer& w, std::uint16_t v) { w.uint16(v); }
inline void put(writer& w, std::int32_t v) { w.int32(v); }
inline void put(writer& w, std::int64_t v) { w.int64(v); }
inline void put(writer& w, double v) { w.float64(v); }
inline void put(writer& w, const uuid& v) { w.id(v); }

inline void get(reader& r, bool& v) { v = r.boolean(); }
inline void get(reader& r, std::int8_t& v) { v = r.int8(); }
inline void get(reader& r, std::int16_t& v) { v = r.int16(); }
inline void get(reader& r, std::uint16_t& v) { v = r.uint16(); }
inline void get(reader& r, std::int32_t& v) { v = r.int32(); }
inline void get(reader& r, std::int64_t& v) { v = r.int64(); }
inline void get(reader& r, double& v) { v = r.float64(); }
inline void get(reader& r, uuid& v) { v = r.id(); }

// ---- strings ---------------------------------------------------------------------------
inline void put_string(writer& w, const std::string& s, bool compact) { w.string(s, compact); }
inline void put_string(writer& w, const std::optional<std::string>& s, bool compact, bool nullable) {
  if (s) return w.string(*s, compact);
  if (!nullable) w.fail(errc::null_not_allowed);
  w.null_string(compact);
}
inline void get_string(reader& r, std::string& s, bool compact) {
  std::int64_t n = r.string_length(compact);
  if (n < 0) {
    if (r.ok()) r.fail(errc::null_not_allowed);
    return;
  }
  if (auto p = r.take(static_cast<std::size_t>(n))) s.assign(reinterpret_cast<const char*>(p), n);
}
inline void get_string(reader& r, std::optional<std::string>& s, bool compact, bool nullable) {
  std::int64_t n = r.string_length(compact);
  if (n < 0) {
    if (!nullable && r.ok()) r.fail(errc::null_not_allowed);
    s.reset();
    return;
  }
  if (auto p = r.take(static_cast<std::size_t>(n))) s.emplace(reinterpret_cast<const char*>(p), n);
}

// ---- bytes (owned) ----------------------------------------------------------------------
using byte_vector = std::vector<std::uint8_t>;
inline void put_bytes(writer& w, const byte_vector& b, bool compact) { w.bytes(b, compact); }
inline void put_bytes(writer& w, const std::optional<byte_vector>& b, bool compact, bool nullable) {
  if (b) return w.bytes(*b, compact);
  if (!nullable) w.fail(errc::null_not_allowed);
  w.null_bytes(compact);
}
inline void get_bytes(reader& r, byte_vector& b, bool compact) {
  std::int64_t n = r.bytes_length(compact);
  if (n < 0) {
    if (r.ok()) r.fail(errc::null_not_allowed);
    return;
  }
  if (auto p = r.take(static_cast<std::size_t>(n))) b.assign(p, p + n);
}
inline void get_bytes(reader& r, std::optional<byte_vector>& b, bool compact, bool nullable) {
  std::int64_t n = r.bytes_length(compact);
  if (n < 0) {
    if (!nullable && r.ok()) r.fail(errc::null_not_allowed);
    b.reset();
    return;
  }
  if (auto p = r.take(static_cast<std::size_t>(n))) b.emplace(p, p + n);
}

// ---- records (views into the caller's buffer) ------------------------------------------
inline void put_records(writer& w, const byte_view& b, bool compact) {
  w.records(b.span(), compact);
}
inline void put_records(writer& w, const std::optional<byte_view>& b, bool compact, bool nullable) {
  if (b) return w.records(b->span(), compact);
  if (!nullable) w.fail(errc::null_not_allowed);
  w.null_bytes(compact);
}
inline void get_records(reader& r, byte_view& b, bool compact) {
  std::int64_t n = r.bytes_length(compact);
  if (n < 0) {
    if (r.ok()) r.fail(errc::null_not_allowed);
    return;
  }
  if (auto p = r.take(static_cast<std::size_t>(n))) b = byte_view(p, static_cast<std::size_t>(n));
}
inline void get_records(reader& r, std::optional<byte_view>& b, bool compact, bool nullable) {
  std::int64_t n = r.bytes_length(compact);
  if (n < 0) {
    if (!nullable && r.ok()) r.fail(errc::null_not_allowed);
    b.reset();
    return;
  }
  if (auto p = r.take(static_cast<std::size_t>(n))) b.emplace(p, static_cast<std::size_t>(n));
}

// ---- arrays -----------------------------------------------------------------------------
template <class T, class F>
void put_array(writer& w, const std::vector<T>& v, bool compact, F&& put_element) {
  w.array_length(v.size(), compact);
  for (const auto& e : v) put_element(e);
}
template <class T, class F>
void put_array(writer& w, const std::optional<std::vector<T>>& v, bool compact, bool nullable,
               F&& put_element) {
  if (v) return put_array(w, *v, compact, put_element);
  if (!nullable) w.fail(errc::null_not_allowed);
  w.null_array(compact);
}
// Reads a count, checks it against the bytes left (each element takes at least
// min_element_size), then decodes the elements in place.
template <class T, class F>
void get_array(reader& r, std::vector<T>& v, bool compact, std::size_t min_element_size,
               F&& get_element) {
  std::int64_t n = r.array_length(compact, min_element_size);
  if (n < 0) {
    if (r.ok()) r.fail(errc::null_not_allowed);
    return;
  }
  v.clear();
  v.resize(static_cast<std::size_t>(n));
  for (auto& e : v) {
    get_element(e);
    if (!r.ok()) return;
  }
}
template <class T, class F>
void get_array(reader& r, std::optional<std::vector<T>>& v, bool compact, bool nullable,
               std::size_t min_element_size, F&& get_element) {
  std::int64_t n = r.array_length(compact, min_element_size);
  if (n < 0) {
    if (!nullable && r.ok()) r.fail(errc::null_not_allowed);
    v.reset();
    return;
  }
  v.emplace(static_cast<std::size_t>(n));
  for (auto& e : *v) {
    get_element(e);
    if (!r.ok()) return;
  }
}

// ---- tagged fields ----------------------------------------------------------------------
// Encodes one tagged field: tag, size, then the value written by `body` into a scratch vector.
template <class F>
void put_tagged(writer& w, std::uint32_t tag, F&& body) {
  std::vector<std::uint8_t> scratch;
  writer sub(scratch);
  body(sub);
  if (sub.error()) w.fail(sub.error());
  w.unsigned_varint(tag);
  w.unsigned_varint(scratch.size());
  w.raw(scratch.data(), scratch.size());
}
inline void put_unknown_tag(writer& w, const tagged_field& f) {
  w.unsigned_varint(f.tag);
  w.unsigned_varint(f.data.size());
  w.raw(f.data.data(), f.data.size());
}

}  // namespace kwire::protocol::detail
