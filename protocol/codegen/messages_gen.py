"""Kafka message definitions -> C++ structs with versioned encode/decode.

Every message becomes `struct <Name>` in kwire::protocol with its nested structs declared at
message scope (children first), fields in snake_case, defaults as Kafka defines them, and
write/read member functions that take the version. See protocol/README.md for the mapping.
"""
import re
import textwrap

from schema import PRIMITIVES, Versions, load_all

CPP_KEYWORDS = {"default", "operator", "class", "delete", "new", "namespace", "template",
                "register", "union", "this", "throw", "int", "long", "short", "bool", "char",
                "private", "public", "protected", "virtual", "static", "const", "auto", "do",
                "for", "if", "else", "switch", "case", "return", "break", "continue", "goto",
                "while", "struct", "enum", "typename", "using", "friend", "inline", "explicit",
                "signed", "unsigned", "void", "volatile", "mutable", "and", "or", "not", "xor"}
RESERVED_MEMBERS = {"write", "read", "encode", "decode", "unknown_tags", "api_key", "min_version",
                    "max_version", "first_flexible_version", "message_name"}

SCALAR_CPP = {"bool": "bool", "int8": "std::int8_t", "int16": "std::int16_t",
              "uint16": "std::uint16_t", "int32": "std::int32_t", "int64": "std::int64_t",
              "float64": "double", "uuid": "uuid"}
MIN_WIRE_SIZE = {"bool": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4, "int64": 8,
                 "float64": 8, "uuid": 16, "string": 1, "bytes": 1, "records": 1}


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    return s + "_" if s in CPP_KEYWORDS else s


def parse_int(text):
    text = str(text).strip()
    return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)


class Field:
    def __init__(self, raw, msg):
        self.raw = raw
        self.name = raw["name"]
        self.member = snake(self.name)
        self.type = raw["type"]
        self.versions = Versions(raw.get("versions"))
        self.nullable = Versions(raw.get("nullableVersions"))
        self.tagged = Versions(raw.get("taggedVersions"))
        self.tag = raw.get("tag")
        self.ignorable = bool(raw.get("ignorable"))
        self.default = raw.get("default")
        self.flex_override = Versions(raw["flexibleVersions"]) if "flexibleVersions" in raw else None
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.is_struct = self.elem not in PRIMITIVES
        self.struct = None  # resolved Struct
        if self.tag is not None and self.tagged.empty():
            raise SystemExit(f"{msg.name}.{self.name}: tag without taggedVersions")

    @property
    def optional(self):
        return not self.nullable.empty()

    def default_is_null(self):
        return self.optional and str(self.default) == "null"

    # ---- C++ declarations -----------------------------------------------------------
    def elem_cpp(self):
        if self.is_struct:
            return self.struct.cpp_name
        return {"string": "std::string", "bytes": "std::vector<std::uint8_t>",
                "records": "byte_view"}.get(self.elem) or SCALAR_CPP[self.elem]

    def cpp_type(self):
        base = f"std::vector<{self.elem_cpp()}>" if self.is_array else self.elem_cpp()
        if self.optional and (self.is_array or self.is_struct or self.elem in ("string", "bytes", "records")):
            return f"std::optional<{base}>"
        return base

    def cpp_default_init(self):
        """Member initializer matching Kafka's default for the field."""
        if self.is_array or self.is_struct:
            return "" if not (self.optional and not self.default_is_null()) else "{std::in_place}"
        t = self.elem
        if t in ("string", "bytes", "records"):
            if self.optional and (self.default_is_null() or t == "records"):
                return ""
            if t == "string" and self.default not in (None, ""):
                return "{" + cpp_string_literal(self.default) + "}"
            return "{std::in_place}" if self.optional else ""
        if t == "bool":
            return "{true}" if str(self.default).lower() == "true" else "{false}"
        if t == "float64":
            return "{" + (str(float(self.default)) if self.default is not None else "0.0") + "}"
        if t == "uuid":
            return "{}"
        v = parse_int(self.default) if self.default not in (None, "") else 0
        return "{" + cpp_int_literal(v, t) + "}"

    def default_value_expr(self):
        """C++ expression of the default value (for non-default checks)."""
        t = self.cpp_type()
        init = self.cpp_default_init()
        return f"{t}{init if init else '{}'}"

    def min_elem_size(self):
        if self.is_struct:
            return 1
        return MIN_WIRE_SIZE[self.elem]


def cpp_int_literal(v, t):
    if t == "int64":
        if v == -(2 ** 63):
            return "INT64_MIN"
        return f"INT64_C({v})"
    if t == "int32" and v == -(2 ** 31):
        return "INT32_MIN"
    if t in ("int8", "int16", "uint16", "int32"):
        return f"static_cast<{SCALAR_CPP[t]}>({v})"
    return str(v)


def cpp_string_literal(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def msg_name_of(msg):
    return msg.name


class Struct:
    def __init__(self, name, raw_fields, msg, path):
        self.name = name
        # Nested structs live at namespace scope as <Message>_<Struct> (aliased inside the
        # message as <Message>::<Struct>): complete before the message, so std::optional of
        # them is default-constructible inside the message on every compiler.
        self.cpp_name = path
        self.msg = msg
        self.path = path
        self.fields = [Field(f, msg) for f in raw_fields]
        reserved = RESERVED_MEMBERS if path == msg_name_of(msg) else {"write", "read", "unknown_tags"}
        for f in self.fields:
            if f.member in reserved:
                raise SystemExit(f"{path}: field {f.name} clashes with a generated member")


class Message:
    def __init__(self, raw):
        self.raw = raw
        self.name = raw["name"]
        self.kind = raw["type"]
        self.api_key = raw.get("apiKey")
        self.valid = Versions(raw["validVersions"])
        self.flexible = Versions(raw.get("flexibleVersions", "none"))
        self.structs = {}  # name -> Struct (nested and common)
        self.order = []  # structs in dependency order (children first)
        common = {c["name"]: c for c in raw.get("commonStructs", [])}
        self.top = Struct(self.name, raw["fields"], self, self.name)
        self._resolve(self.top, common)
        self.order.append(self.top)

    def _resolve(self, st, common):
        for f in st.fields:
            if not f.is_struct:
                continue
            name = f.elem
            if name in self.structs:
                f.struct = self.structs[name]
                if "fields" in f.raw and f.raw["fields"] and name not in common:
                    raise SystemExit(f"{self.name}: struct {name} defined twice")
                continue
            if "fields" in f.raw and f.raw["fields"] is not None and len(f.raw["fields"]) > 0:
                sub = Struct(name, f.raw["fields"], self, f"{self.name}_{name}")
            elif name in common:
                sub = Struct(name, common[name]["fields"], self, f"{self.name}_{name}")
            else:
                raise SystemExit(f"{self.name}: unknown struct type {name}")
            self.structs[name] = sub
            f.struct = sub
            self._resolve(sub, common)
            self.order.append(sub)


# ---- code emission ---------------------------------------------------------------------

def compact_expr(msg, f):
    """C++ bool expression: does this field use compact encoding at `version`?"""
    if f.flex_override is not None:
        return "false" if f.flex_override.empty() else f"({f.flex_override.cpp_condition()})"
    return "flexible"


def nullable_expr(msg, f):
    return f"({f.nullable.cpp_condition(within=msg.valid)})"


def write_value(msg, f, expr, w="w"):
    """Statement(s) writing field f (value expression `expr`) with writer `w`."""
    c = compact_expr(msg, f)
    if f.is_array:
        elem_stmt = elem_write(msg, f, "e", w)
        lam = f"[&](const auto& e) {{ {elem_stmt} }}"
        if f.optional:
            return f"detail::put_array({w}, {expr}, {c}, {nullable_expr(msg, f)}, {lam});"
        return f"detail::put_array({w}, {expr}, {c}, {lam});"
    if f.is_struct:
        if f.optional:
            return (f"if ({expr}) {{ {w}.int8(1); {expr}->write({w}, version); }} else {{ "
                    f"if (!{nullable_expr(msg, f)}) {w}.fail(errc::null_not_allowed); {w}.int8(-1); }}")
        return f"{expr}.write({w}, version);"
    t = f.elem
    if t in ("string", "bytes", "records"):
        fn = {"string": "put_string", "bytes": "put_bytes", "records": "put_records"}[t]
        if f.optional:
            return f"detail::{fn}({w}, {expr}, {c}, {nullable_expr(msg, f)});"
        return f"detail::{fn}({w}, {expr}, {c});"
    return f"detail::put({w}, {expr});"


def elem_write(msg, f, expr, w):
    if f.is_struct:
        return f"{expr}.write({w}, version);"
    t = f.elem
    c = compact_expr(msg, f)
    if t == "string":
        return f"detail::put_string({w}, {expr}, {c});"
    if t == "bytes":
        return f"detail::put_bytes({w}, {expr}, {c});"
    return f"detail::put({w}, {expr});"


def read_value(msg, f, expr, r="r"):
    c = compact_expr(msg, f)
    if f.is_array:
        lam = f"[&](auto& e) {{ {elem_read(msg, f, 'e', r)} }}"
        if f.optional:
            return f"detail::get_array({r}, {expr}, {c}, {nullable_expr(msg, f)}, {f.min_elem_size()}, {lam});"
        return f"detail::get_array({r}, {expr}, {c}, {f.min_elem_size()}, {lam});"
    if f.is_struct:
        if f.optional:
            return (f"if ({r}.int8() < 0) {{ if (!{nullable_expr(msg, f)} && {r}.ok()) {r}.fail(errc::null_not_allowed); "
                    f"{expr}.reset(); }} else {{ {expr}.emplace(); {expr}->read({r}, version); }}")
        return f"{expr}.read({r}, version);"
    t = f.elem
    if t in ("string", "bytes", "records"):
        fn = {"string": "get_string", "bytes": "get_bytes", "records": "get_records"}[t]
        if f.optional:
            return f"detail::{fn}({r}, {expr}, {c}, {nullable_expr(msg, f)});"
        return f"detail::{fn}({r}, {expr}, {c});"
    return f"detail::get({r}, {expr});"


def elem_read(msg, f, expr, r):
    if f.is_struct:
        return f"{expr}.read({r}, version);"
    t = f.elem
    c = compact_expr(msg, f)
    if t == "string":
        return f"detail::get_string({r}, {expr}, {c});"
    if t == "bytes":
        return f"detail::get_bytes({r}, {expr}, {c});"
    return f"detail::get({r}, {expr});"


def is_tagged_field(f):
    return f.tag is not None


def version_range_text(versions):
    """"v3+", "v0-4" or "v5", as a reader of the generated header sees a field's versions."""
    if versions.hi is None:
        return f"v{versions.lo}+"
    if versions.lo == versions.hi:
        return f"v{versions.lo}"
    return f"v{versions.lo}-{versions.hi}"


def field_comment(f, indent, width=100):
    """The schema's `about` text of a field, after the versions it exists in (and those in
    which it may be null or is tagged), as // lines that fit in `width` columns."""
    if f.versions.empty():
        text = "never sent"
    else:
        text = version_range_text(f.versions)
    notes = []
    if not f.nullable.empty():
        notes.append(f"nullable {version_range_text(f.nullable)}")
    if f.tag is not None:
        notes.append(f"tag {f.tag} in {version_range_text(f.tagged)}")
    if notes:
        text += f" ({', '.join(notes)})"
    about = " ".join(f.raw.get("about", "").split())
    if about:
        text += f": {about}"
    prefix = f"{indent}// "
    lines = textwrap.wrap(text, width=width - len(prefix), break_long_words=False,
                          break_on_hyphens=False)
    # A backslash ending a // line would splice the next line into the comment.
    return [prefix + line.rstrip("\\") for line in lines]


def emit_struct_decl(msg, st, is_top):
    lines = [f"struct {st.cpp_name} {{"] if not is_top else []
    ind = "  "
    for f in st.fields:
        init = f.cpp_default_init()
        lines.extend(field_comment(f, ind))
        lines.append(f"{ind}{f.cpp_type()} {f.member}{init};")
    lines.append(f"{ind}unknown_tagged_fields unknown_tags;")
    lines.append("")
    lines.append(f"{ind}void write(writer& w, std::int16_t version) const;")
    lines.append(f"{ind}void read(reader& r, std::int16_t version);")
    lines.append(f"{ind}bool operator==(const {st.cpp_name}&) const = default;")
    if not is_top:
        lines.append("};")
        lines.append("")
    return lines


def emit_struct_impl(msg, st):
    q = st.path if st is not msg.top else msg.name
    flex_cond = msg.flexible.cpp_condition() if not msg.flexible.empty() else "false"
    regular = [f for f in st.fields if not is_tagged_field(f)]
    tagged = sorted([f for f in st.fields if is_tagged_field(f)], key=lambda f: f.tag)
    uses_flexible = (not msg.flexible.empty())
    prologue = [f"  const bool flexible = {flex_cond};", "  (void)flexible;", "  (void)version;"]
    out = []
    # ---- write
    out.append(f"void {q}::write(writer& w, std::int16_t version) const {{")
    out.extend(prologue)
    for f in regular:
        cond = f.versions.cpp_condition(within=msg.valid)
        stmt = write_value(msg, f, "this->" + f.member)
        default_check = "" if f.ignorable else (
            f" else if (this->{f.member} != {f.default_value_expr()}) {{ w.fail(errc::field_not_in_version); }}")
        if cond == "true":
            out.append(f"  {stmt}")
        else:
            out.append(f"  if ({cond}) {{ {stmt} }}{default_check}")
    for f in tagged:
        cond = f.versions.cpp_condition(within=msg.valid)
        if not f.ignorable and cond != "true":
            out.append(f"  if (!({cond}) && this->{f.member} != {f.default_value_expr()}) w.fail(errc::field_not_in_version);")
    if uses_flexible:
        out.append("  if (flexible) {")
        if tagged:
            out.append("    std::uint32_t tag_count = static_cast<std::uint32_t>(unknown_tags.size());")
            for f in tagged:
                tc = f.tagged.intersect(f.versions).cpp_condition(within=msg.valid)
                out.append(f"    const bool has_{f.member} = ({tc}) && this->{f.member} != {f.default_value_expr()};")
                out.append(f"    tag_count += has_{f.member} ? 1 : 0;")
            out.append("    w.unsigned_varint(tag_count);")
            out.append("    auto unknown = unknown_tags.begin();")
            for f in tagged:
                if f.tag > 0:
                    out.append(f"    while (unknown != unknown_tags.end() && unknown->tag < {f.tag}) detail::put_unknown_tag(w, *unknown++);")
                inner = write_value(msg, f, "this->" + f.member, "tw")
                out.append(f"    if (has_{f.member}) detail::put_tagged(w, {f.tag}, [&](writer& tw) {{ {inner} }});")
            out.append("    while (unknown != unknown_tags.end()) detail::put_unknown_tag(w, *unknown++);")
        else:
            out.append("    w.unsigned_varint(unknown_tags.size());")
            out.append("    for (const auto& t : unknown_tags) detail::put_unknown_tag(w, t);")
        out.append("  } else if (!unknown_tags.empty()) {")
        out.append("    w.fail(errc::field_not_in_version);")
        out.append("  }")
    else:
        out.append("  if (!unknown_tags.empty()) w.fail(errc::field_not_in_version);")
    out.append("}")
    out.append("")
    # ---- read
    out.append(f"void {q}::read(reader& r, std::int16_t version) {{")
    out.extend(prologue)
    for f in regular:
        cond = f.versions.cpp_condition(within=msg.valid)
        stmt = read_value(msg, f, "this->" + f.member)
        if cond == "true":
            out.append(f"  {stmt}")
        else:
            out.append(f"  if ({cond}) {{ {stmt} }}")
    if uses_flexible:
        out.append("  if (flexible) {")
        out.append("    const std::uint32_t tag_count = r.unsigned_varint();")
        out.append("    for (std::uint32_t i = 0; i < tag_count && r.ok(); ++i) {")
        out.append("      const std::uint32_t tag = r.unsigned_varint();")
        out.append("      const std::uint32_t size = r.unsigned_varint();")
        out.append("      const std::uint8_t* data = r.take(size);")
        out.append("      if (!data) break;")
        if tagged:
            out.append("      reader tr(data, size);")
            out.append("      switch (tag) {")
            for f in tagged:
                tc = f.tagged.intersect(f.versions).cpp_condition(within=msg.valid)
                out.append(f"        case {f.tag}:")
                out.append(f"          if ({tc}) {{")
                out.append(f"            {read_value(msg, f, 'this->' + f.member, 'tr')}")
                out.append("            if (!tr.ok()) { r.fail(tr.error()); return; }")
                out.append("            if (tr.remaining() != 0) { r.fail(errc::trailing_bytes); return; }")
                out.append("            continue;")
                out.append("          }")
                out.append("          break;")
            out.append("        default:")
            out.append("          break;")
            out.append("      }")
        out.append("      unknown_tags.push_back(tagged_field{tag, std::vector<std::uint8_t>(data, data + size)});")
        out.append("    }")
        out.append("  }")
    out.append("}")
    out.append("")
    return out


def emit_message_decl(msg):
    lines = []
    for st in msg.order[:-1]:
        lines.extend(emit_struct_decl(msg, st, False))
    lines.append(f"struct {msg.name} {{")
    lines.append(f'  static constexpr std::string_view message_name = "{msg.name}";')
    if msg.api_key is not None:
        lines.append(f"  static constexpr std::int16_t api_key = {msg.api_key};")
    lines.append(f"  static constexpr std::int16_t min_version = {msg.valid.lo};")
    lines.append(f"  static constexpr std::int16_t max_version = {msg.valid.hi};")
    fflex = -1 if msg.flexible.empty() else msg.flexible.lo
    lines.append(f"  static constexpr std::int16_t first_flexible_version = {fflex};")
    for st in msg.order[:-1]:
        lines.append(f"  using {st.name} = {st.cpp_name};")
    lines.append("")
    lines.extend(emit_struct_decl(msg, msg.top, True))
    lines.append("")
    lines.append("  // Appends the body at `version`; errors: unsupported_version, field_not_in_version,")
    lines.append("  // null_not_allowed (the bytes appended are then not to be sent).")
    lines.append("  std::error_code encode(std::vector<std::uint8_t>& out, std::int16_t version) const;")
    lines.append("  // Decodes a whole body; `records` fields then refer into `in`.")
    lines.append("  std::error_code decode(std::span<const std::uint8_t> in, std::int16_t version);")
    lines.append("};")
    lines.append("")
    return lines


def emit_message_impl(msg):
    out = []
    for st in msg.order:
        out.extend(emit_struct_impl(msg, st))
    out.append(f"std::error_code {msg.name}::encode(std::vector<std::uint8_t>& out, std::int16_t version) const {{")
    out.append("  if (version < min_version || version > max_version) return errc::unsupported_version;")
    out.append("  writer w(out);")
    out.append("  write(w, version);")
    out.append("  return w.error();")
    out.append("}")
    out.append("")
    out.append(f"std::error_code {msg.name}::decode(std::span<const std::uint8_t> in, std::int16_t version) {{")
    out.append("  if (version < min_version || version > max_version) return errc::unsupported_version;")
    out.append(f"  *this = {msg.name}{{}};")
    out.append("  reader r(in);")
    out.append("  read(r, version);")
    out.append("  if (r.ok() && r.remaining() != 0) return errc::trailing_bytes;")
    out.append("  return r.error();")
    out.append("}")
    out.append("")
    return out


# ---- deterministic test fill (mirrored by the Java cross-check harness) ------------------

def fill_prim_expr(f, t, n):
    """C++ expression of the fill value for primitive type t with counter expression n."""
    if t == "bool":
        return "false" if str(f.default).lower() == "true" else "true"
    if t == "string":
        return f'"s" + std::to_string({n})'
    if t in ("bytes", "records"):
        return f"ctx.bytes_for({n})"
    if t == "uuid":
        return f"ctx.uuid_for({n})"
    if t == "float64":
        return f"static_cast<double>({n}) + 0.5"
    formula = {"int8": f"1 + {n} % 100", "int16": f"1 + ({n} * 37) % 30000",
               "uint16": f"1 + ({n} * 37) % 60000", "int32": f"1 + ({n} * 100003) % 2000000000",
               "int64": f"1 + {n} * 1000000007"}[t]
    d = parse_int(f.default) if (f.default not in (None, "") and not f.is_array) else 0
    return f"ctx.bump<{SCALAR_CPP[t]}>({formula}, {d})"


def emit_fill(msg):
    out = []
    for st in msg.order:
        q = st.path if st is not msg.top else msg.name
        out.append(f"static void fill_struct({q}& m, std::int16_t version, fill_context& ctx) {{")
        out.append("  (void)version; (void)ctx; (void)m;")
        for f in st.fields:
            cond = f.versions.cpp_condition(within=msg.valid)
            body = []
            body.append("const std::int64_t n = ctx.counter++; (void)n;")
            target = f"m.{f.member}"
            if f.is_array:
                if f.optional:
                    body.append(f"{target}.emplace();")
                    target = f"(*m.{f.member})"
                if f.is_struct:
                    body.append(f"{target}.resize(2);")
                    body.append(f"for (auto& e : {target}) fill_struct(e, version, ctx);")
                else:
                    body.append(f"{target}.clear();")
                    body.append(f"for (int i = 0; i < 2; ++i) {{ const std::int64_t c = ctx.counter++; "
                                f"{target}.push_back({fill_prim_expr(f, f.elem, 'c')}); }}")
            elif f.is_struct:
                if f.optional:
                    body.append(f"{target}.emplace();")
                    body.append(f"fill_struct(*{target}, version, ctx);")
                else:
                    body.append(f"fill_struct({target}, version, ctx);")
            else:
                body.append(f"{target} = {fill_prim_expr(f, f.elem, 'n')};")
            text = " ".join(body)
            out.append(f"  if ({cond}) {{ {text} }}")
        out.append("}")
        out.append("")
    out.append(f"void test_fill({msg.name}& m, std::int16_t version, fill_context& ctx) {{")
    out.append(f"  m = {msg.name}{{}};")
    out.append("  ctx.counter = 1;")
    out.append("  fill_struct(m, version, ctx);")
    out.append("}")
    out.append("")
    return out


HEADER_PRELUDE = """// Generated from protocol/schema by protocol/codegen. Do not edit.
// One struct per Kafka message definition; see protocol/README.md for the type mapping.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "kwire/protocol/buffer.hpp"
#include "kwire/protocol/errors.hpp"

namespace kwire::protocol {
"""


def generate(schema_dir):
    raw = load_all(schema_dir)
    msgs = [Message(raw[n]) for n in sorted(raw)]
    header = [HEADER_PRELUDE]
    for m in msgs:
        header.extend(emit_message_decl(m))

    # API table and header-version rules.
    apis = {}
    for m in msgs:
        if m.api_key is not None:
            apis.setdefault(m.api_key, {})[m.kind] = m
    header.append("struct api_info {")
    header.append("  std::int16_t key;")
    header.append("  std::string_view name;")
    header.append("  std::int16_t min_version;")
    header.append("  std::int16_t max_version;")
    header.append("  std::int16_t first_flexible_version;  // -1: never flexible")
    header.append("};")
    header.append("")
    header.append("// Every API kwire implements, by key, with the versions it can encode and decode.")
    header.append("std::span<const api_info> implemented_apis() noexcept;")
    header.append("// The API's entry, or nullptr when kwire does not implement the key.")
    header.append("const api_info* find_api(std::int16_t api_key) noexcept;")
    header.append("// Request header version (1 or 2) and response header version (0 or 1) for a call.")
    header.append("std::int16_t request_header_version(std::int16_t api_key, std::int16_t api_version) noexcept;")
    header.append("std::int16_t response_header_version(std::int16_t api_key, std::int16_t api_version) noexcept;")
    header.append("")
    header.append("// Calls f.template operator()<Request>() (or <Response>) for the message type of an API key;")
    header.append("// returns false when the key is unknown.")
    for kind, fname in (("request", "visit_request_type"), ("response", "visit_response_type")):
        header.append("template <class F>")
        header.append(f"bool {fname}(std::int16_t api_key, F&& f) {{")
        header.append("  switch (api_key) {")
        for k in sorted(apis):
            if kind in apis[k]:
                header.append(f"    case {k}: f.template operator()<{apis[k][kind].name}>(); return true;")
        header.append("    default: return false;")
        header.append("  }")
        header.append("}")
        header.append("")
    header.append("}  // namespace kwire::protocol")
    header.append("")

    # Implementation split in four translation units for parallel builds.
    parts = [[] for _ in range(4)]
    for i, m in enumerate(msgs):
        parts[i % 4].extend(emit_message_impl(m))
    out = {"include/kwire/protocol/messages.hpp": "\n".join(header)}
    prelude = ("// Generated from protocol/schema by protocol/codegen. Do not edit.\n"
               "#include \"kwire/protocol/messages.hpp\"\n"
               "#include \"kwire/protocol/detail/field_codec.hpp\"\n\n"
               "namespace kwire::protocol {\n\n")
    for i, p in enumerate(parts):
        extra = []
        if i == 0:
            extra.append("static constexpr api_info kApis[] = {")
            for k in sorted(apis):
                m = apis[k].get("request")
                fflex = -1 if m.flexible.empty() else m.flexible.lo
                extra.append(f'    {{{k}, "{m.name[:-len("Request")]}", {m.valid.lo}, {m.valid.hi}, {fflex}}},')
            extra.append("};")
            extra.append("")
            extra.append("std::span<const api_info> implemented_apis() noexcept { return kApis; }")
            extra.append("")
            extra.append("const api_info* find_api(std::int16_t api_key) noexcept {")
            extra.append("  for (const auto& a : kApis)")
            extra.append("    if (a.key == api_key) return &a;")
            extra.append("  return nullptr;")
            extra.append("}")
            extra.append("")
            extra.append("std::int16_t request_header_version(std::int16_t api_key, std::int16_t api_version) noexcept {")
            extra.append("  const api_info* a = find_api(api_key);")
            extra.append("  return a && a->first_flexible_version >= 0 && api_version >= a->first_flexible_version ? 2 : 1;")
            extra.append("}")
            extra.append("")
            extra.append("std::int16_t response_header_version(std::int16_t api_key, std::int16_t api_version) noexcept {")
            extra.append("  // ApiVersions answers with header v0 so that any client can read it.")
            extra.append(f"  if (api_key == {raw['ApiVersionsRequest']['apiKey']}) return 0;")
            extra.append("  const api_info* a = find_api(api_key);")
            extra.append("  return a && a->first_flexible_version >= 0 && api_version >= a->first_flexible_version ? 1 : 0;")
            extra.append("}")
            extra.append("")
        out[f"src/messages_{i}.cpp"] = prelude + "\n".join(extra + p) + "\n}  // namespace kwire::protocol\n"

    fill_h = ["// Generated from protocol/schema by protocol/codegen. Do not edit.",
              "// Test support: fills every field present in a version with a deterministic non-default",
              "// value. The Java cross-check (tests/interop/java) implements the same rule.",
              "#pragma once", "", "#include <deque>", "#include <string>",
              "#include \"kwire/protocol/messages.hpp\"", "", "namespace kwire::protocol {", "",
              "struct fill_context {",
              "  std::int64_t counter = 1;",
              "  std::deque<std::vector<std::uint8_t>> storage;  // backs byte_view (records) values",
              "  std::vector<std::uint8_t> raw_bytes(std::int64_t n) const {",
              "    return {static_cast<std::uint8_t>(n % 256), static_cast<std::uint8_t>((n + 1) % 256),",
              "            static_cast<std::uint8_t>((n + 2) % 256)};",
              "  }",
              "  struct bytes_value {",
              "    fill_context* ctx; std::int64_t n;",
              "    operator std::vector<std::uint8_t>() const { return ctx->raw_bytes(n); }",
              "    operator byte_view() const { ctx->storage.push_back(ctx->raw_bytes(n)); return byte_view(ctx->storage.back()); }",
              "    template <class T> operator std::optional<T>() const { return static_cast<T>(*this); }",
              "  };",
              "  bytes_value bytes_for(std::int64_t n) { return {this, n}; }",
              "  uuid uuid_for(std::int64_t n) const {",
              "    uuid u;",
              "    for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>((n * 7 + i) % 256);",
              "    return u;",
              "  }",
              "  template <class T> T bump(std::int64_t v, std::int64_t dflt) const {",
              "    return static_cast<T>(v == dflt ? v + 1 : v);",
              "  }",
              "};", ""]
    for m in msgs:
        fill_h.append(f"void test_fill({m.name}& m, std::int16_t version, fill_context& ctx);")
    fill_h.append("")
    fill_h.append("// Calls f.template operator()<T>() for every message type.")
    fill_h.append("template <class F>")
    fill_h.append("void for_each_message_type(F&& f) {")
    for m in msgs:
        fill_h.append(f"  f.template operator()<{m.name}>();")
    fill_h.append("}")
    fill_h.append("")
    fill_h.append("}  // namespace kwire::protocol")
    out["include/kwire/protocol/test_fill.hpp"] = "\n".join(fill_h) + "\n"
    fill_c = ["// Generated from protocol/schema by protocol/codegen. Do not edit.",
              "#include \"kwire/protocol/test_fill.hpp\"", "", "namespace kwire::protocol {", ""]
    for m in msgs:
        fill_c.extend(emit_fill(m))
    fill_c.append("}  // namespace kwire::protocol")
    out["src/test_fill.cpp"] = "\n".join(fill_c) + "\n"
    return out
