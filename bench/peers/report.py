#!/usr/bin/env python3
"""report.py BASE MODE META NOTES JSONL - the Markdown table and the gnuplot chart of bench/compare.sh.

Writes BASE.md (one row per client and scenario, then a kwire/librdkafka ratio row, then
issue 4's goals), and BASE.gnuplot with its data files BASE.*.dat (compare.sh runs gnuplot on
it, which writes BASE.png). JSONL holds the result objects of one mode, one a line
(kwire-bench's fields plus "scenario", "runner", "props", maybe "client_props" and, when the
broker's pid was known, "broker_cpu_s"; "run" numbers the rounds of compare.sh --runs: with
several runs of a client in a scenario, its row is their median, field by field, and a spread
section gives the range); META holds key=value lines about the run; NOTES one
note a line, "MODE<TAB>text" (an empty MODE: a note for every report).
"""
import json
import os
import sys

CLIENT_ORDER = ["kwire", "librdkafka", "java"]


def fmt(v, digits=0):
    if v is None or (isinstance(v, (int, float)) and v < 0):
        return "-"
    return f"{v:,.{digits}f}"


def per_million(r, key):
    if key + "_per_m" in r:  # a median row (see aggregate)
        return r[key + "_per_m"]
    msgs = r.get("msgs") or 0
    v = r.get(key)
    if v is None or msgs <= 0:
        return None
    return v * 1e6 / msgs


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def median(values):
    v = sorted(values)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2


MEDIAN_FIELDS = ["msgs_per_s", "mb_per_s", "cpu_s", "p50_ms", "p99_ms", "p999_ms", "max_ms",
                 "mean_ms", "max_rss_kb", "broker_cpu_s", "secs", "first_s", "commit_p50_ms",
                 "commit_p99_ms", "commit_max_ms"]


def aggregate(rows):
    """One row per scenario and client: the run itself, or the median of its runs.

    A median row takes each field's median over the runs that gave a result (per-million costs
    are medians of each run's own), "failed" the largest count of any run, and keeps the runs
    in "all_runs" for the spread and the per-round ratios."""
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["runner"]), []).append(r)
    out = []
    for (scenario, runner), runs in groups.items():
        ok = [r for r in runs if "error" not in r]
        if len(runs) == 1 or not ok:
            row = dict(runs[0])
        else:
            row = dict(ok[0])
            for key in MEDIAN_FIELDS:
                vals = [r[key] for r in ok if isinstance(r.get(key), (int, float))]
                if vals:
                    row[key] = median(vals)
            for key in ("cpu_s", "broker_cpu_s"):
                vals = [v for v in (per_million(r, key) for r in ok) if v is not None]
                if vals:
                    row[key + "_per_m"] = median(vals)
        row["failed"] = max(r.get("failed") or 0 for r in runs)
        row["all_runs"] = ok
        out.append(row)
    return out


def per_round(k, l, value):
    """value(kwire run) / value(librdkafka run) for each round both ran in, in round order."""
    by_round = {r.get("run", 1): r for r in l["all_runs"]}
    out = []
    for kr in sorted(k["all_runs"], key=lambda r: r.get("run", 1)):
        lr = by_round.get(kr.get("run", 1))
        if lr is None:
            continue
        a, b = value(kr), value(lr)
        if a is not None and b:
            out.append(a / b)
    return out


def spread(rows, scenarios):
    """The range of each client's runs, when there were several."""
    out = []
    for s in scenarios:
        for r in rows:
            runs = r["all_runs"] if r["scenario"] == s else []
            if len(runs) < 2:
                continue
            mps = [x["msgs_per_s"] for x in runs if x.get("msgs_per_s")]
            cpu = [v for v in (per_million(x, "cpu_s") for x in runs) if v is not None]
            line = f"- `{s}` {r['runner']}, {len(runs)} runs:"
            if mps:
                line += f" msgs/s {fmt(min(mps))} to {fmt(max(mps))}"
            if cpu:
                line += f", CPU s / 1M rec {min(cpu):.2f} to {max(cpu):.2f}"
            for key, label in (("commit_p50_ms", "commit p50 ms"), ("commit_p99_ms", "commit p99 ms")):
                v = [x[key] for x in runs if isinstance(x.get(key), (int, float)) and x[key] >= 0]
                if v:
                    line += f", {label} {min(v):.1f} to {max(v):.1f}"
            out.append(line)
    return out


def order(rows):
    scenarios = []
    for r in rows:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
    runners = [c for c in CLIENT_ORDER if any(r["runner"] == c for r in rows)]
    runners += sorted({r["runner"] for r in rows} - set(runners))
    return scenarios, runners


def describe(rows, scenario):
    r = next(r for r in rows if r["scenario"] == scenario)
    rate = r.get("rate") or 0
    what = f'{r.get("mode", "?")}, {r.get("record_size", "?")}-byte records, '
    what += f"{rate:,.0f} records/s" if rate else "unthrottled"
    if r.get("txn_records"):
        what += f", in transactions of {r['txn_records']:,} records"
    props = r.get("props", "")
    return what + (f", {props}" if props else "")


def ratio(a, b):
    """a / b as "1.23x", or "-" when either is unknown."""
    if a is None or b is None or a < 0 or b <= 0:
        return "-"
    return f"{a / b:.2f}x"


def result_of(rows, scenario, runner):
    return next((r for r in rows if r["scenario"] == scenario and r["runner"] == runner
                 and "error" not in r), None)


def paced(rows, scenario):
    return bool(next(r for r in rows if r["scenario"] == scenario).get("rate"))


def transactional(rows):
    """Whether the rows are runs in transactions: the table gets commit latency columns."""
    return any("txn_records" in r for r in rows)


COMMIT_FIELDS = ["commit_p50_ms", "commit_p99_ms"]


def result_row(r, scenario, txn=False):
    lat_digits = 0 if r["runner"] == "java" and not txn else 2
    rss = r.get("max_rss_kb")
    row = [scenario, r["runner"], fmt(r.get("msgs_per_s")), fmt(r.get("mb_per_s"), 1),
           fmt(r.get("cpu_s"), 2), fmt(per_million(r, "cpu_s"), 2),
           fmt(r.get("p50_ms"), lat_digits), fmt(r.get("p99_ms"), lat_digits),
           fmt(r.get("p999_ms"), lat_digits)]
    if txn:
        row += [fmt(r.get(key), 2) for key in COMMIT_FIELDS]
    return row + [fmt(rss / 1024 if rss and rss > 0 else None, 1),
                  fmt(per_million(r, "broker_cpu_s"), 2), fmt(r.get("failed"))]


def ratio_row(rows, scenario, txn=False):
    """kwire / librdkafka for throughput and cost (and latency in fixed-rate runs, commit
    latency in transactions)."""
    k, l = result_of(rows, scenario, "kwire"), result_of(rows, scenario, "librdkafka")
    if not k or not l:
        return None
    lat = (lambda key: ratio(k.get(key), l.get(key))) if paced(rows, scenario) else (lambda key: "")
    row = [scenario, "**kwire/librdkafka**", ratio(k.get("msgs_per_s"), l.get("msgs_per_s")),
           ratio(k.get("mb_per_s"), l.get("mb_per_s")), "",
           ratio(per_million(k, "cpu_s"), per_million(l, "cpu_s")), lat("p50_ms"),
           lat("p99_ms"), lat("p999_ms")]
    if txn:
        row += [ratio(k.get(key), l.get(key)) for key in COMMIT_FIELDS]
    return row + [ratio(k.get("max_rss_kb"), l.get("max_rss_kb")), "", ""]


# The throughput each mode's issue asks of kwire against librdkafka (issue 4: produce, issue
# 5: consume); both ask for at most half of librdkafka's CPU per record. Issue 14 asks more of
# the defaults-* scenarios (each client with its own defaults): 1.5x the msgs/s, and a peak
# RSS at most librdkafka's and at most 64 MB.
THROUGHPUT_GOAL = {"produce": 1.0, "consume": 1.5}
DEFAULTS_THROUGHPUT_GOAL = 1.5
DEFAULTS_RSS_GOAL_KB = 64 * 1024


def goals(rows, scenarios):
    """The issues' targets against librdkafka, one line each."""
    out = []
    for s in scenarios:
        k, l = result_of(rows, s, "kwire"), result_of(rows, s, "librdkafka")
        mode = k.get("mode") if k else None
        if not k or not l or mode not in THROUGHPUT_GOAL or k.get("failed") or l.get("failed"):
            continue
        kt, lt = k.get("commit_p99_ms"), l.get("commit_p99_ms")
        if kt is not None and lt is not None and kt >= 0 and lt > 0:
            rounds = per_round(k, l, lambda r: r.get("commit_p99_ms"))
            each = ""
            if len(rounds) > 1:
                each = (" (round by round: " + ", ".join(f"{x:.2f}x" for x in rounds) +
                        f"; met in {sum(x <= 1 for x in rounds)} of {len(rounds)})")
            out.append(f"- `{s}`: commit p99 {kt:.2f} ms vs {lt:.2f} ms, goal <= 1x: "
                       + ("met" if kt <= lt else "**not met**") + each)
        if paced(rows, s):
            kp, lp = k.get("p99_ms"), l.get("p99_ms")
            if kp is not None and lp is not None and lp > 0:
                out.append(f"- `{s}`: p99 {kp:.2f} ms vs {lp:.2f} ms, goal <= 1x: "
                           + ("met" if kp <= lp else "**not met**"))
            continue
        km, lm = k.get("msgs_per_s"), l.get("msgs_per_s")
        kc, lc = per_million(k, "cpu_s"), per_million(l, "cpu_s")
        defaults = s.startswith("defaults-")
        if km and lm:
            goal = DEFAULTS_THROUGHPUT_GOAL if defaults else THROUGHPUT_GOAL[mode]
            out.append(f"- `{s}`: msgs/s {ratio(km, lm)} of librdkafka's, goal >= {goal:g}x: "
                       + ("met" if km >= goal * lm else "**not met**"))
        if kc is not None and lc:
            rounds = per_round(k, l, lambda r: per_million(r, "cpu_s"))
            each = ""
            if len(rounds) > 1:
                each = (" (round by round: " + ", ".join(f"{x:.2f}x" for x in rounds) +
                        f"; met in {sum(x <= 0.5 for x in rounds)} of {len(rounds)})")
            out.append(f"- `{s}`: CPU s per 1M records {ratio(kc, lc)} of librdkafka's, "
                       "goal <= 0.5x: " + ("met" if kc <= 0.5 * lc else "**not met**") + each)
        kr, lr = k.get("max_rss_kb"), l.get("max_rss_kb")
        if defaults and kr and lr:
            out.append(f"- `{s}`: peak RSS {kr / 1024:.1f} MB, librdkafka's {lr / 1024:.1f} MB, "
                       "goal <= librdkafka's and <= 64 MB: "
                       + ("met" if kr <= lr and kr <= DEFAULTS_RSS_GOAL_KB else "**not met**"))
    return out


def markdown(base, mode, meta, notes, rows):
    scenarios, _ = order(rows)
    out = [f"# kwire-bench {mode} comparison, {meta.get('started', '?')}", ""]
    out.append("Written by `bench/compare.sh`; `bench/README.md` explains the columns and the rules.")
    out.append("")
    out.append("| | |")
    out.append("| --- | --- |")
    for key, label in [("cpu", "machine"), ("kernel", "kernel"), ("load", "load average"),
                       ("kafka", "broker"), ("librdkafka", "librdkafka"), ("java", "Java"),
                       ("kwire", "kwire commit"), ("common", "every producer"),
                       ("rdkafka_extra", "librdkafka producers also"),
                       ("partitions", "partitions per topic")]:
        out.append(f"| {label} | {meta.get(key, '?') or '-'} |")
    out.append("")
    out.append("## Scenarios")
    out.append("")
    for s in scenarios:
        out.append(f"- `{s}`: {describe(rows, s)}")
    out.append("")
    out.append("## Results")
    out.append("")
    txn = transactional(rows)
    commit = "| commit p50 ms | commit p99 ms " if txn else ""
    out.append("| scenario | client | msgs/s | MB/s | CPU s | CPU s / 1M rec | p50 ms | p99 ms "
               "| p99.9 ms " + commit + "| max RSS MB | broker CPU s / 1M rec | failed |")
    out.append("| --- | --- |" + " ---: |" * (12 if txn else 10))
    for s in scenarios:
        for r in sorted((r for r in rows if r["scenario"] == s),
                        key=lambda r: (CLIENT_ORDER + [r["runner"]]).index(r["runner"])):
            out.append("| " + " | ".join(result_row(r, s, txn)) + " |")
        extra = ratio_row(rows, s, txn)
        if extra:
            out.append("| " + " | ".join(extra) + " |")
    out.append("")
    ranges = spread(rows, scenarios)
    if ranges:
        out.append(f"## Spread (rows above: the median of {meta.get('runs', '?')} runs)")
        out.append("")
        out += ranges
        out.append("")
    met = goals(rows, scenarios)
    if met:
        out.append("## Goals (kwire against librdkafka; issue 4: produce, issue 5: consume, "
                   "issue 14: the defaults-* scenarios, issue 15: transactions)")
        out.append("")
        out += met
        out.append("")
    if notes:
        out.append("## Notes")
        out.append("")
        out += [f"- {n}" for n in notes]
        out.append("")
    name = os.path.basename(base)
    out.append(f"Raw results: `{name}.jsonl`" +
               (f"; chart: `{name}.png`." if meta.get("gnuplot") else
                " (no chart: gnuplot is not installed)."))
    with open(base + ".md", "w") as f:
        f.write("\n".join(out) + "\n")


def chart(base, rows):
    scenarios, runners = order(rows)
    panels = [
        ("tput", "records/s (unthrottled runs)", "%.1s%c", lambda r: r.get("msgs_per_s"),
         lambda s: not next(r for r in rows if r["scenario"] == s).get("rate")),
        ("p99", "p99 latency, ms (fixed-rate runs)", "%g", lambda r: r.get("p99_ms"),
         lambda s: bool(next(r for r in rows if r["scenario"] == s).get("rate"))),
        ("commit", "commit p99 latency, ms (transactions)", "%g",
         lambda r: r.get("commit_p99_ms"),
         lambda s: "txn_records" in next(r for r in rows if r["scenario"] == s)),
        ("cpu", "client CPU seconds per million records", "%g",
         lambda r: per_million(r, "cpu_s"), lambda s: True),
        ("rss", "client peak RSS, MB", "%g",
         lambda r: r["max_rss_kb"] / 1024 if r.get("max_rss_kb") else None, lambda s: True),
    ]
    plots = []
    for key, title, yformat, value, wanted in panels:
        chosen = [s for s in scenarios if wanted(s)]
        if not chosen:
            continue
        path = f"{base}.{key}.dat"
        with open(path, "w") as f:
            f.write("scenario " + " ".join(runners) + "\n")
            for s in chosen:
                vals = []
                for c in runners:
                    r = next((r for r in rows if r["scenario"] == s and r["runner"] == c), None)
                    v = value(r) if r else None
                    vals.append("?" if v is None or v < 0 else f"{v:.6g}")
                f.write(s + " " + " ".join(vals) + "\n")
        plots.append((path, title, yformat))
    if not plots:
        return
    ncol = len(runners)
    lines = [
        "set terminal pngcairo size %d,%d font ',10' noenhanced" % (440 * len(plots), 480),
        f"set output '{base}.png'",
        "set datafile missing '?'",
        "set style data histograms",
        "set style histogram clustered gap 1",
        "set style fill solid 0.85 border -1",
        "set boxwidth 0.9",
        "set grid ytics",
        "set yrange [0:*]",
        "set xtics nomirror rotate by -20",
        "set key outside bottom center horizontal",
        f"set multiplot layout 1,{len(plots)}",
    ]
    for path, title, yformat in plots:
        lines.append(f"set title '{title}'")
        lines.append(f"set format y '{yformat}'")
        lines.append(f"plot for [i=2:{ncol + 1}] '{path}' using i:xtic(1) title columnheader(i)")
    lines.append("unset multiplot")
    with open(base + ".gnuplot", "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    base, mode, meta_path, notes_path, jsonl = sys.argv[1:6]
    meta = {}
    with open(meta_path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    notes = []
    with open(notes_path) as f:
        for line in f:
            tag, _, text = line.rstrip("\n").partition("\t")
            if text.strip() and tag in ("", mode) and text not in notes:
                notes.append(text.strip())
    rows = aggregate([r for r in load(jsonl) if "scenario" in r and "runner" in r])
    markdown(base, mode, meta, notes, rows)
    if rows:
        chart(base, rows)


if __name__ == "__main__":
    main()
