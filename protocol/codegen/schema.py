"""Loads Kafka message definitions and merges in legacy definitions of dropped versions."""
import json
import os
import re

PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "int64", "float64", "string",
              "bytes", "records", "uuid"}


class Versions:
    """A version range: "3+", "0-4", "5" or "none"."""

    def __init__(self, text):
        text = (text or "none").strip()
        self.text = text
        if text == "none":
            self.lo, self.hi = None, None
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), None
        elif "-" in text:
            a, b = text.split("-")
            self.lo, self.hi = int(a), int(b)
        else:
            self.lo = self.hi = int(text)

    def empty(self):
        return self.lo is None

    def contains(self, v):
        return self.lo is not None and v >= self.lo and (self.hi is None or v <= self.hi)

    def intersect(self, other):
        if self.empty() or other.empty():
            return Versions("none")
        lo = max(self.lo, other.lo)
        his = [h for h in (self.hi, other.hi) if h is not None]
        hi = min(his) if his else None
        if hi is not None and hi < lo:
            return Versions("none")
        r = Versions("none")
        r.lo, r.hi = lo, hi
        return r

    def cpp_condition(self, var="version", within=None):
        """C++ boolean for `var in self`, simplified when the message range `within` is known."""
        if self.empty():
            return "false"
        parts = []
        if within is None or self.lo > within.lo:
            parts.append(f"{var} >= {self.lo}")
        if self.hi is not None and (within is None or within.hi is None or self.hi < within.hi):
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"


def load_json(path):
    with open(path) as f:
        text = f.read()
    # Kafka's files carry // comments on their own lines.
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    return json.loads(text)


def merge_legacy(primary, legacy):
    """Adds to `primary` what only `legacy` has for versions below primary's first version:
    the lower bound of validVersions and fields that existed only in those versions."""
    p_lo = Versions(primary["validVersions"]).lo
    l_lo = Versions(legacy["validVersions"]).lo
    if l_lo >= p_lo:
        return primary
    primary["validVersions"] = f"{l_lo}-{Versions(primary['validVersions']).hi}"

    def merge_fields(pfields, lfields):
        names = [f["name"] for f in pfields]
        for i, lf in enumerate(lfields):
            if lf["name"] in names:
                pf = pfields[names.index(lf["name"])]
                if "fields" in lf and "fields" in pf:
                    merge_fields(pf["fields"], lf["fields"])
                continue
            lv = Versions(lf.get("versions"))
            if lv.empty() or lv.hi is None or lv.hi >= p_lo:
                continue  # renamed in the primary set, not removed
            # Insert after the field that precedes it in the legacy definition.
            pos = 0
            for prev in reversed(lfields[:i]):
                if prev["name"] in names:
                    pos = names.index(prev["name"]) + 1
                    break
            pfields.insert(pos, lf)
            names.insert(pos, lf["name"])

    merge_fields(primary["fields"], legacy["fields"])
    pcommon = {c["name"]: c for c in primary.get("commonStructs", [])}
    for lc in legacy.get("commonStructs", []):
        if lc["name"] in pcommon:
            merge_fields(pcommon[lc["name"]]["fields"], lc["fields"])
    return primary


def load_all(schema_dir):
    """Returns {name: definition} for every message, legacy versions merged in."""
    msgs = {}
    for fn in sorted(os.listdir(schema_dir)):
        if fn.endswith(".json"):
            d = load_json(os.path.join(schema_dir, fn))
            msgs[d["name"]] = d
    legacy_root = os.path.join(schema_dir, "legacy")
    if os.path.isdir(legacy_root):
        for ver in sorted(os.listdir(legacy_root)):
            for fn in sorted(os.listdir(os.path.join(legacy_root, ver))):
                if fn.endswith(".json"):
                    d = load_json(os.path.join(legacy_root, ver, fn))
                    if d["name"] in msgs:
                        merge_legacy(msgs[d["name"]], d)
    return msgs
