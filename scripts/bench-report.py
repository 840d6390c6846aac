#!/usr/bin/env python3
"""scripts/bench-report.py: docs/benchmarks.md and its SVG plots from one run of
`tern bench NAME --json` per benchmark (what scripts/bench.sh, `make bench`,
leaves in build/bench-results).

    scripts/bench-report.py RESULTS_DIR OUT.md [--svg-dir DIR] [--notes DIR]

RESULTS_DIR holds NAME.json (the benchmark's one JSON object), NAME.log (its
stderr), NAME.status (its exit status), NAME.profile.txt (a flat perf profile,
shown as "where the time goes", when bench.sh could make one) and meta.json
(date, commit, written by bench.sh). The plots go to --svg-dir (default: bench/ beside OUT.md) and the
report links them relatively. The "What limits it" paragraph of each section is
copied verbatim from --notes/NAME.md (default: docs/bench/notes, next to the
plots), so analysis written by hand survives regeneration.

Every benchmark has one small render_NAME function that turns its JSON into
table rows and a plot. They read fields defensively: a field that is missing
prints as an em dash, and a benchmark that failed or printed no JSON gets a
section that says so with the end of its log. Nothing here asserts speed.

The ratio column always says how many times better tern is than Linux: tern ÷
Linux where more is better (rates, throughput), Linux ÷ tern where less is
better (bytes, latency). It is computed here from the two numbers shown beside
it, so the row is consistent whatever the benchmark printed as its own ratio.

The plots are plain SVG written by hand (no matplotlib): horizontal bars, tern
against Linux, one scale per pair; for scale, lines over the connection count.
Python 3.9+, standard library only.
"""
import argparse
import datetime
import html
import json
import math
import os
import re
import subprocess
import sys

# The order of the report; benchmarks not listed here come after, by name.
ORDER = ["lifecycle", "synflood", "memory", "scale", "bulk", "tun"]

TITLES = {
    "lifecycle": "connection lifecycles per second",
    "synflood": "cookie SYN-ACKs per second, legitimate clients during a flood",
    "memory": "bytes per half-open request, TIME-WAIT entry and idle connection",
    "scale": "idle connections, and the lifecycle rate beside them",
    "bulk": "one-direction throughput with 64 KiB writes",
    "tun": "kernel client and tern server over TUN",
}

WHAT = {
    "lifecycle": "Full connection lifecycles — connect, accept, 1 byte client→server, read, "
                 "close by both — with both ends in one process over the simulated network "
                 "(no loss), one core, N in flight. Linux: the same pattern over loopback, "
                 "one thread, epoll, the same N.",
    "synflood": "Cookie SYN-ACKs per second on one core (SYNs from random spoofed sources "
                "into a listener with cookies on), and the handshake latency and success of "
                "legitimate clients during the flood. Linux: a kernel listener in a private "
                "namespace flooded from a raw socket in the same namespace, with kernel clients.",
    "memory": "Bytes per half-open request, per TIME-WAIT entry and per idle established "
              "connection (buffers empty), measured with allocator statistics over many "
              "objects. Linux: slab object sizes from /proc/slabinfo (request_sock_TCP, "
              "tw_sock_TCP, TCP plus the file and inode a kernel socket needs).",
    "scale": "Idle connections opened in the simulation at growing counts, then the "
             "lifecycle benchmark run beside them: memory and lifecycle rate at each size.",
    "bulk": "One-direction throughput over the simulated network on one core with 64 KiB "
            "writes. Linux: loopback, one sender and one receiver.",
    "tun": "The kernel's client against tern's server over a TUN device (connections per "
           "second with a small HTTP request; throughput with and without vnet_hdr "
           "offloads), against the kernel-to-kernel pair over a veth link in namespaces, "
           "same client program.",
}

GIB = 1024 ** 3
DASH = "—"

# ------------------------------------------------------------------ reading


def get(obj, *path):
    """obj[path[0]][path[1]]... as a finite number or other value; None if any
    step is missing, null, or not a finite number where a number was found."""
    for key in path:
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and isinstance(key, int) and -len(obj) <= key < len(obj):
            obj = obj[key]
        else:
            return None
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, (int, float)):
        return obj if math.isfinite(obj) else None
    return obj


def num(obj, *path):
    """Like get, but only numbers (booleans and strings give None)."""
    v = get(obj, *path)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def first(*values):
    for v in values:
        if v is not None:
            return v
    return None


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def parse_json(text):
    """The benchmark's object: the whole output, else its last line that parses."""
    if not text or not text.strip():
        return None, "printed nothing on stdout"
    try:
        v = json.loads(text)
        if isinstance(v, dict):
            return v, None
    except ValueError:
        pass
    for line in reversed(text.strip().splitlines()):
        try:
            v = json.loads(line)
            if isinstance(v, dict):
                return v, "printed more than one line; the last JSON object was used"
        except ValueError:
            continue
    return None, "printed no valid JSON object"


class Result:
    """One benchmark's files in the results directory."""

    def __init__(self, results_dir, name):
        self.name = name
        self.results_dir = results_dir
        self.raw = read_text(os.path.join(results_dir, name + ".json"))
        self.log = read_text(os.path.join(results_dir, name + ".log")) or ""
        status = read_text(os.path.join(results_dir, name + ".status"))
        try:
            self.status = int(status.strip()) if status else None
        except ValueError:
            self.status = None
        self.data, self.problem = parse_json(self.raw)
        if self.raw is None:
            self.problem = "was not run (no %s.json)" % name

    @property
    def linux(self):
        v = get(self.data, "linux") if self.data else None
        return v if isinstance(v, dict) else {}


# ------------------------------------------------------------------ numbers


def fmt(v, kind="num"):
    """A value for a table cell; DASH when missing."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return v
    if kind == "int":
        return "{:,.0f}".format(v)
    if kind == "rate":            # events per second: whole numbers with separators
        return "{:,.0f}".format(v)
    if kind == "gbps":
        return "{:.2f}".format(v) if v < 100 else "{:.1f}".format(v)
    if kind == "pct":
        return "{:.1f} %".format(v) if v != 100 else "100 %"
    if kind == "bytes":           # a size per object: bytes, one decimal when small
        return "{:,.0f}".format(v) if v >= 100 else "{:.1f}".format(v)
    if kind == "size":            # a total: B, KiB, MiB, GiB
        for unit, div in (("GiB", GIB), ("MiB", 1024 ** 2), ("KiB", 1024)):
            if abs(v) >= div:
                return "{:.2f} {}".format(v / div, unit)
        return "{:.0f} B".format(v)
    if kind == "si":              # a size on a log axis: decimal units, short
        for unit, div in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if abs(v) >= div:
                return "{:g} {}".format(round(v / div, 2), unit)
        return "{:g} B".format(v)
    if kind == "count":           # a count on an axis: 1k, 100k, 10M
        for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if abs(v) >= div:
                return "{:g}{}".format(round(v / div, 2), unit)
        return "{:g}".format(v)
    if kind == "us":
        return "{:,.1f}".format(v) if v < 1000 else "{:,.0f}".format(v)
    if kind == "s":
        return "{:.3f}".format(v) if v < 10 else "{:,.1f}".format(v)
    if kind == "x":
        return "{:.2f}×".format(v) if v < 10 else "{:,.1f}×".format(v)
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "{:.3g}".format(v)


def advantage(tern, linux, better):
    """How many times better tern is: see the module comment."""
    if tern is None or linux is None or better is None:
        return None
    if better == "higher":
        return tern / linux if linux > 0 else None
    return linux / tern if tern > 0 else None


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


class Row:
    """One table row: a metric, tern's and Linux's values, and targets.

    targets is a list of (text, met) with met True, False or None (unknown)."""

    def __init__(self, label, tern, linux, kind="num", better="higher", targets=None):
        self.label, self.tern, self.linux = label, tern, linux
        self.kind, self.better = kind, better
        self.targets = targets or []
        self.more = {}            # further columns, already formatted, by header

    def ratio(self):
        return advantage(self.tern, self.linux, self.better)

    def target_text(self):
        return "; ".join(t for t, _ in self.targets) if self.targets else DASH

    def met_text(self):
        if not self.targets:
            return DASH
        marks = ["—" if m is None else ("✓" if m else "✗") for _, m in self.targets]
        return " ".join(marks)

    def cells(self, more_cols=()):
        return ([self.label, fmt(self.tern, self.kind), fmt(self.linux, self.kind), fmt(self.ratio(), "x")] +
                [self.more.get(c, DASH) for c in more_cols] + [self.target_text(), self.met_text()])


def at_least(value, target, text):
    return (text, None if value is None or target is None else value >= target)


def at_most(value, target, text):
    return (text, None if value is None or target is None else value <= target)


def table(rows, first_col="metric", more_cols=()):
    head = [first_col, "tern", "Linux", "ratio"] + list(more_cols) + ["target", "met"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(md_escape(c) for c in r.cells(more_cols)) + " |")
    return "\n".join(out)


# ------------------------------------------------------------------ SVG

TERN_COLOR = "#1f5fa8"
LINUX_COLOR = "#9a9a9a"
TARGET_COLOR = "#c0392b"


def x(s):
    return html.escape(str(s), quote=True)


def svg_doc(width, height, title, body):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            'font-family="sans-serif" font-size="12">\n<title>{t}</title>\n'
            '<rect width="100%" height="100%" fill="white"/>\n{b}</svg>\n'
            ).format(w=width, h=height, t=x(title), b="".join(body))


def svg_bars(title, groups):
    """Pairs of horizontal bars, tern over Linux, each pair on its own scale.

    groups: list of dicts with label, tern, linux, kind, target (optional)."""
    width, left, right = 760, 20, 150
    bar_w = width - left - right
    body = [
        '<text x="{}" y="22" font-size="15" font-weight="bold">{}</text>\n'.format(left, x(title)),
        '<rect x="{}" y="34" width="12" height="12" fill="{}"/>'
        '<text x="{}" y="44">tern</text>\n'.format(left, TERN_COLOR, left + 16),
        '<rect x="{}" y="34" width="12" height="12" fill="{}"/>'
        '<text x="{}" y="44">Linux</text>\n'.format(left + 60, LINUX_COLOR, left + 76),
        '<line x1="{0}" y1="40" x2="{1}" y2="40" stroke="{2}" stroke-width="2" '
        'stroke-dasharray="4,3"/><text x="{3}" y="44">target</text>\n'.format(
            left + 125, left + 145, TARGET_COLOR, left + 150),
        '<text x="{}" y="44" fill="#666666">each pair of bars has its own scale</text>\n'.format(
            left + 210),
    ]
    y = 62
    for g in groups:
        values = [v for v in (g.get("tern"), g.get("linux"), g.get("target")) if v is not None]
        top = max(values) * 1.08 if values and max(values) > 0 else 1.0
        body.append('<text x="{}" y="{}" font-weight="bold">{}</text>\n'.format(left, y + 12, x(g["label"])))
        if g.get("target") is not None:
            body.append('<text x="{}" y="{}" text-anchor="end" font-size="11" fill="{}">target {}</text>\n'.format(
                width - 20, y + 12, TARGET_COLOR, x(fmt(g["target"], g.get("kind", "num")))))
        y += 18
        for who, key, color in (("tern", "tern", TERN_COLOR), ("Linux", "linux", LINUX_COLOR)):
            v = g.get(key)
            if v is None:
                body.append('<text x="{}" y="{}" fill="#666666">{}: not measured</text>\n'.format(
                    left, y + 13, who))
            else:
                w = max(1.0, bar_w * v / top) if v > 0 else 0
                body.append('<rect x="{}" y="{}" width="{:.1f}" height="16" fill="{}"><title>{}: {}</title></rect>\n'
                            .format(left, y, w, color, who, x(fmt(v, g.get("kind", "num")))))
                body.append('<text x="{:.1f}" y="{}">{}</text>\n'.format(
                    left + w + 6, y + 13, x(fmt(v, g.get("kind", "num")))))
            y += 20
        t = g.get("target")
        if t is not None and t > 0:
            tx = left + bar_w * t / top
            body.append('<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="{3}" stroke-width="2" '
                        'stroke-dasharray="4,3"><title>target {4}</title></line>\n'.format(
                            tx, y - 42, y + 2, TARGET_COLOR, x(fmt(t, g.get("kind", "num")))))
        y += 14
    return svg_doc(width, y + 6, title, body)


def nice_ticks(lo, hi, log):
    if log:
        a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return [10.0 ** e for e in range(a, b + 1)]
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / 5
    p = 10 ** math.floor(math.log10(raw))
    step = next(m * p for m in (1, 2, 5, 10) if m * p >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 0.5:
        ticks.append(t)
        t += step
    return ticks


def svg_panel(px, py, pw, ph, title, xs, series, xlog, ylog, xkind, ykind, hlines=()):
    """One line plot at (px, py): series is [(name, ys, color)], hlines
    [(value, label, color)]. Points that are None are left out."""
    body = ['<text x="{}" y="{}" font-weight="bold">{}</text>\n'.format(px, py - 8, x(title))]
    ys_all = [v for _, ys, _ in series for v in ys if v is not None and (not ylog or v > 0)]
    ys_all += [v for v, _, _ in hlines if v is not None and (not ylog or v > 0)]
    xs_ok = [v for v in xs if v is not None and (not xlog or v > 0)]
    if not ys_all or not xs_ok:
        body.append('<text x="{}" y="{}" fill="#666666">no data</text>\n'.format(px + 10, py + ph / 2))
        return body
    if xlog:
        x0, x1 = min(xs_ok), max(xs_ok)
        if x0 == x1:
            x0, x1 = x0 / 10, x1 * 10
    else:
        x0, x1 = min(xs_ok), max(xs_ok)
        if x0 == x1:
            x0, x1 = x0 - 1, x1 + 1
    ylo, yhi = min(ys_all), max(ys_all)
    if ylog:
        yticks = nice_ticks(ylo, yhi, True)
    else:
        yticks = nice_ticks(min(0, ylo), yhi, False)
    y0, y1 = yticks[0], yticks[-1]
    if y1 <= y0:
        y1 = y0 + 1

    def sx(v):
        if xlog:
            return px + pw * (math.log10(v) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
        return px + pw * (v - x0) / (x1 - x0)

    def sy(v):
        if ylog:
            return py + ph - ph * (math.log10(v) - math.log10(y0)) / (math.log10(y1) - math.log10(y0))
        return py + ph - ph * (v - y0) / (y1 - y0)

    body.append('<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#888888"/>\n'.format(px, py, pw, ph))
    for t in yticks:
        ty = sy(t)
        body.append('<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#e4e4e4"/>'
                    '<text x="{3}" y="{4:.1f}" text-anchor="end" font-size="10">{5}</text>\n'.format(
                        px, ty, px + pw, px - 4, ty + 3, x(fmt(t, ykind))))
    for v in xs_ok:
        tx = sx(v)
        body.append('<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" stroke="#e4e4e4"/>'
                    '<text x="{0:.1f}" y="{3}" text-anchor="middle" font-size="10">{4}</text>\n'.format(
                        tx, py, py + ph, py + ph + 13, x(fmt(v, xkind))))
    for value, label, color in hlines:
        if value is None or (ylog and value <= 0):
            continue
        hy = sy(value)
        body.append('<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="{3}" stroke-width="1.5" '
                    'stroke-dasharray="5,3"/><text x="{4}" y="{5:.1f}" font-size="10" fill="{3}" '
                    'text-anchor="end">{6}</text>\n'.format(px, hy, px + pw, color, px + pw - 4, hy - 4, x(label)))
    ly = py + 14
    for name, ys, color in series:
        pts = [(sx(a), sy(b)) for a, b in zip(xs, ys)
               if a is not None and b is not None and (not xlog or a > 0) and (not ylog or b > 0)]
        if len(pts) > 1:
            body.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>\n'.format(
                color, " ".join("{:.1f},{:.1f}".format(a, b) for a, b in pts)))
        for a, b in pts:
            body.append('<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>\n'.format(a, b, color))
        body.append('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}" stroke-width="2"/>'
                    '<text x="{4}" y="{5}" font-size="11">{6}</text>\n'.format(
                        px + 8, ly - 4, px + 24, color, px + 28, ly, x(name)))
        ly += 14
    return body


# ------------------------------------------------------------------ sections
# Each render_NAME(res) returns (rows, plot_svg_or_None, extra_markdown_lines).


def baseline_note(res):
    d = res.data
    if "linux_error" in d and d["linux_error"] is not None:
        return "Linux baseline not measured: " + md_escape(d["linux_error"])
    if "linux" in d and d["linux"] is None:
        return "Linux baseline skipped (--no-linux)."
    err = get(res.linux, "error")
    if isinstance(err, str):
        return "Linux baseline failed: " + md_escape(err)
    return None


def rates_list(v):
    """Each run's rate, in run order: "712,000, 698,500, 731,200"."""
    if not isinstance(v, list):
        return "?"
    return ", ".join(fmt(x, "rate") for x in v)


def gbps_list(v):
    """Each run's throughput, in run order: "41.20, 38.75, 45.01"."""
    if not isinstance(v, list):
        return "?"
    return ", ".join(fmt(x, "gbps") for x in v)


def render_lifecycle(res):
    d, lx = res.data, res.linux
    rate, lrate = num(d, "tern", "rate"), num(lx, "rate")
    t_rate = first(num(d, "target_rate"), 1e6)
    t_ratio = first(num(d, "target_ratio"), 50)
    inflight = first(num(d, "inflight"), num(lx, "inflight"))
    label = "lifecycles/s" + (", {:,.0f} in flight".format(inflight) if inflight is not None else "")
    rows = [Row(label, rate, lrate, "rate", "higher", [
        at_least(rate, t_rate, "≥ {:,.0f}/s".format(t_rate)),
        at_least(advantage(rate, lrate, "higher"), t_ratio, "≥ {:g}× Linux".format(t_ratio))])]
    per_t = num(d, "tern", "cpu_s")
    n_t = num(d, "tern", "lifecycles")
    per_l, n_l = num(lx, "cpu_s"), num(lx, "lifecycles")
    rows.append(Row("CPU µs per lifecycle", per_t / n_t * 1e6 if per_t and n_t else None,
                    per_l / n_l * 1e6 if per_l and n_l else None, "us", "lower"))
    runs = num(d, "runs")
    each = " (the median of {} runs: {} /s)".format(fmt(runs, "int"), rates_list(get(d, "tern", "rates"))) \
        if runs else ""
    extra = ["tern: {} lifecycles ({} failed) in {} s wall, {} s of virtual time{}; "
             "{} TIME-WAIT entries on the server.".format(
                 fmt(n_t, "int"), fmt(num(d, "tern", "failed"), "int"), fmt(num(d, "tern", "wall_s"), "s"),
                 fmt(num(d, "tern", "virtual_s"), "s"), each, fmt(num(d, "tern", "server_time_wait"), "int"))]
    if lx:
        leach = " (the median of {} runs: {} /s)".format(fmt(runs, "int"), rates_list(get(d, "linux_rates"))) \
            if runs and get(d, "linux_rates") else ""
        extra.append("Linux: {} lifecycles ({} failed) in {} s{} ({}).".format(
            fmt(n_l, "int"), fmt(num(lx, "failed"), "int"), fmt(num(lx, "wall_s"), "s"), leach,
            md_escape(get(lx, "mode") or "loopback")))
    plot = svg_bars("lifecycle: lifecycles per second", [
        {"label": label, "tern": rate, "linux": lrate, "kind": "rate", "target": t_rate}])
    return rows, plot, extra


def render_synflood(res):
    d, lx = res.data, res.linux
    rate, lrate = num(d, "tern", "synacks_per_s"), num(lx, "synacks_per_s")
    t_rate = first(num(d, "target_synacks_per_s"), 5e6)
    t_pct = first(num(d, "target_success_pct"), 100)
    pct = first(num(d, "legit", "success_pct"))
    lpct = first(num(lx, "success_pct"), num(lx, "legit", "success_pct"))
    lat = lambda o, k: first(num(o, "latency_us", k), num(o, "legit", "latency_us", k))
    rows = [
        Row("cookie SYN-ACKs/s, one core", rate, lrate, "rate", "higher",
            [at_least(rate, t_rate, "≥ {:,.0f}/s".format(t_rate))]),
        Row("SYN-ACKs per CPU second", num(d, "tern", "synacks_per_cpu_s"), num(lx, "synacks_per_cpu_s"),
            "rate", "higher"),
        Row("legitimate clients that connected", pct, lpct, "pct", "higher",
            [at_least(pct, t_pct, "{:g} %".format(t_pct))]),
        Row("handshake latency, median (µs; tern's in virtual time)", lat(get(d, "legit"), "median"),
            lat(lx, "median"), "us", "lower"),
        Row("handshake latency, p99 (µs; tern's in virtual time)", lat(get(d, "legit"), "p99"),
            lat(lx, "p99"), "us", "lower"),
    ]
    lg = get(d, "legit") or {}
    extra = ["tern: {} SYNs into the listener ({}); legitimate run: {} clients during a flood of {} SYNs, "
             "latency in virtual time over a simulated link of {} µs each way.".format(
                 fmt(num(d, "tern", "syns"), "int"), md_escape(get(d, "tern", "driver") or "one core"),
                 fmt(num(lg, "clients"), "int"), fmt(num(lg, "flood_syns"), "int"),
                 fmt(num(lg, "link_delay_us"))),
             ]
    if lx:
        extra.append("Linux: {} SYNs in {} s, {} clients ({}).".format(
            fmt(num(lx, "syns"), "int"), fmt(num(lx, "flood_s"), "s"), fmt(num(lx, "clients"), "int"),
            md_escape(get(lx, "method") or "")))
    plot = svg_bars("synflood", [
        {"label": "cookie SYN-ACKs per second", "tern": rate, "linux": lrate, "kind": "rate", "target": t_rate},
        {"label": "legitimate clients that connected (%)", "tern": pct, "linux": lpct, "kind": "pct",
         "target": t_pct},
        {"label": "handshake latency, median (µs)", "tern": rows[3].tern, "linux": rows[3].linux, "kind": "us"},
        {"label": "handshake latency, p99 (µs)", "tern": rows[4].tern, "linux": rows[4].linux, "kind": "us"},
    ])
    return rows, plot, extra


MEMORY_KINDS = [
    ("request_bytes", "half-open request (SYN-RECV)", 64),
    ("time_wait_bytes", "TIME-WAIT entry", 64),
    ("established_bytes", "idle established connection", 512),
    ("established_epoll_bytes", "idle established connection in an epoll set", None),
]


def render_memory(res):
    d, lx = res.data, res.linux
    rows, groups = [], []
    for key, label, dflt in MEMORY_KINDS:
        t, lv = num(d, "tern", key), num(lx, key)
        if t is None and lv is None and dflt is None:
            continue
        target = first(num(d, "targets", key), dflt)
        targets = [at_most(t, target, "≤ {:g} B".format(target))] if target is not None else []
        rows.append(Row(label + " (bytes)", t, lv, "bytes", "lower", targets))
        groups.append({"label": label + " (bytes)", "tern": t, "linux": lv, "kind": "bytes", "target": target})
    extra = []
    if get(d, "tern", "method"):
        extra.append("tern: {} of each ({}).".format(fmt(num(d, "tern", "count"), "int"),
                                                   md_escape(get(d, "tern", "method"))))
    if get(lx, "method"):
        extra.append("Linux: " + md_escape(get(lx, "method")) + ".")
    m = get(lx, "measured")
    if isinstance(m, dict):
        extra.append("Linux measured over {} connections in a namespace (slab growth per object): socket {} B, "
                     "TIME-WAIT {} B, request {} B.".format(
                         fmt(num(m, "connections"), "int"), fmt(num(m, "socket_slab_bytes"), "bytes"),
                         fmt(num(m, "time_wait_slab_bytes"), "bytes"), fmt(num(m, "request_slab_bytes"), "bytes")))
    elif get(lx, "measured_error"):
        extra.append("Linux measurement: " + md_escape(get(lx, "measured_error")))
    return rows, svg_bars("memory: bytes per object", groups), extra


def scale_targets(d):
    """(heap bytes allowed at the target size, that size, the rate fraction)."""
    t = get(d, "targets") or {}
    max_bytes = first(num(t, "heap_bytes"), num(t, "max_bytes"), 8 * GIB)
    at_conns = first(num(t, "connections"), 10_000_000)
    frac = first(num(t, "rate_vs_first"), 0.9)
    if frac > 1:      # given as a percentage
        frac /= 100
    return max_bytes, at_conns, frac


def render_scale(res):
    """tools/bench_scale.c: "sizes" [{connections, opened, heap_bytes, rss_bytes,
    bytes_per_conn, lifecycle_rate, rate_vs_first, linux_estimate_bytes (in all),
    limit or skipped}], "linux_bytes_per_conn", "targets" {connections,
    heap_bytes, rate_vs_first}."""
    d = res.data
    sizes = [s for s in (get(d, "sizes") or []) if isinstance(s, dict)]
    linux_per = first(num(d, "linux_bytes_per_conn"), num(d, "linux", "bytes_per_conn"))
    max_bytes, at_conns, frac = scale_targets(d)
    rows, xs, heap, rss, lmem, rates, notes = [], [], [], [], [], [], []
    first_rate = num(sizes[0], "lifecycle_rate") if sizes else None
    for s in sizes:
        n = num(s, "connections")
        opened = first(num(s, "opened"), n)
        total = num(s, "heap_bytes")
        per = first(num(s, "bytes_per_conn"), total / opened if total is not None and opened else None)
        lin_total = first(num(s, "linux_estimate_bytes"),
                          linux_per * n if linux_per is not None and n is not None else None)
        lin_per = first(linux_per, lin_total / n if lin_total is not None and n else None)
        rate = num(s, "lifecycle_rate")
        vs_first = first(num(s, "rate_vs_first"),
                         rate / first_rate if rate is not None and first_rate else None)
        targets = []
        if n is not None and n >= at_conns:
            targets.append(at_most(total, max_bytes, "≤ {} in all".format(fmt(max_bytes, "size"))))
            targets.append(at_least(vs_first, frac, "rate ≥ {:g} % of the first".format(frac * 100)))
        row = Row(fmt(n, "int"), per, lin_per, "bytes", "lower", targets)
        row.more = {"tern heap in all": fmt(total, "size"), "tern RSS": fmt(num(s, "rss_bytes"), "size"),
                    "lifecycles/s": fmt(rate, "rate"),
                    "rate vs the first": DASH if vs_first is None else "{:.1f} %".format(vs_first * 100)}
        rows.append(row)
        for key in ("skipped", "limit"):
            if isinstance(get(s, key), str):
                notes.append("{} connections: {}: {}".format(fmt(n, "int"), key, md_escape(s[key])))
        if opened is not None and n is not None and opened < n and not get(s, "skipped"):
            notes.append("{} connections: only {} opened.".format(fmt(n, "int"), fmt(opened, "int")))
        if num(s, "lifecycles_failed"):
            notes.append("{} connections: {} lifecycles failed.".format(fmt(n, "int"),
                                                                      fmt(num(s, "lifecycles_failed"), "int")))
        xs.append(n)
        heap.append(total)
        rss.append(num(s, "rss_bytes"))
        lmem.append(lin_total)
        rates.append(rate)
    extra = ["Rows: idle established connections held; tern and Linux columns: bytes per connection "
             "(tern: heap growth over the connections opened). Lifecycle rate: {} in flight, median of {} "
             "runs of {} lifecycles.".format(fmt(num(d, "inflight"), "int"), fmt(num(d, "runs"), "int"),
                                             fmt(num(d, "lifecycles_per_run"), "int"))]
    if linux_per is not None:
        extra.append("Linux column: an estimate, {} B per idle connection (slab sizes), times the count; "
                     "the kernel is not asked to hold millions of sockets.".format(fmt(linux_per, "bytes")))
    extra += notes
    plot = None
    if sizes:
        w, h = 760, 330
        body = ['<text x="20" y="22" font-size="15" font-weight="bold">scale: memory and lifecycle rate '
                'against idle connections</text>\n']
        body += svg_panel(80, 60, 280, 220, "memory in all (log-log)", xs,
                          [("tern heap", heap, TERN_COLOR), ("tern RSS", rss, "#6fa8dc"),
                           ("Linux (estimate)", lmem, LINUX_COLOR)],
                          True, True, "count", "si",
                          [(max_bytes, "target " + fmt(max_bytes, "size"), TARGET_COLOR)])
        body += svg_panel(460, 60, 280, 220, "lifecycles per second", xs,
                          [("tern", rates, TERN_COLOR)], True, False, "count", "rate",
                          [(first_rate * frac if first_rate else None,
                            "{:g} % of the first".format(frac * 100), TARGET_COLOR)])
        plot = svg_doc(w, h, "scale", body)
    return rows, plot, extra


SCALE_COLS = ("tern heap in all", "tern RSS", "lifecycles/s", "rate vs the first")


def render_bulk(res):
    d, lx = res.data, res.linux
    g, lg = num(d, "tern", "gbps"), num(lx, "gbps")
    target = first(num(d, "target_gbps"), 40)
    lb, lc = num(lx, "bytes"), num(lx, "cpu_s")
    rows = [
        Row("Gbit/s, 64 KiB writes", g, lg, "gbps", "higher", [at_least(g, target, "≥ {:g} Gbit/s".format(target))]),
        Row("Gbit/s per CPU second", num(d, "tern", "gbps_cpu"),
            lb * 8 / lc / 1e9 if lb is not None and lc else None, "gbps", "higher"),
    ]
    runs = num(d, "runs")
    each = " The median of {} runs: {} Gbit/s.".format(fmt(runs, "int"), gbps_list(get(d, "tern", "gbps_runs"))) \
        if runs and get(d, "tern", "gbps_runs") else ""
    extra = ["tern: {} bytes in {} segments of {} bytes on average, {} retransmitted ({}).{}".format(
        fmt(num(d, "tern", "bytes"), "int"), fmt(num(d, "tern", "segments"), "int"),
        fmt(num(d, "tern", "avg_segment_bytes"), "int"), fmt(num(d, "tern", "retrans"), "int"),
        md_escape(get(d, "tern", "mode") or "simulated network"), each)]
    if lx:
        leach = " The median of {} runs: {} Gbit/s.".format(fmt(runs, "int"), gbps_list(get(d, "linux_gbps_runs"))) \
            if runs and get(d, "linux_gbps_runs") else ""
        extra.append("Linux: {} bytes in {} s ({}).{}".format(fmt(lb, "int"), fmt(num(lx, "wall_s"), "s"),
                                                              md_escape(get(lx, "mode") or "loopback"), leach))
    plot = svg_bars("bulk: one-direction throughput (Gbit/s)", [
        {"label": "Gbit/s, 64 KiB writes", "tern": g, "linux": lg, "kind": "gbps", "target": target},
        {"label": "Gbit/s per CPU second", "tern": rows[1].tern, "linux": rows[1].linux, "kind": "gbps"}])
    return rows, plot, extra


def render_tun(res):
    d, lx = res.data, res.linux
    target = first(num(d, "target_gbps"), 10)
    conns, lconns = num(d, "tern", "http_conns_per_s"), num(lx, "http_conns_per_s")
    off, plain = num(d, "tern", "gbps_offload"), num(d, "tern", "gbps_plain")
    lg = first(num(lx, "gbps"), num(lx, "gbps_offload"))
    lplain = num(lx, "gbps_plain")
    rows = [
        Row("HTTP connections/s, kernel client", conns, lconns, "rate", "higher"),
        Row("Gbit/s with vnet_hdr offloads", off, lg, "gbps", "higher",
            [at_least(off, target, "≥ {:g} Gbit/s".format(target))]),
        Row("Gbit/s without offloads", plain, lplain, "gbps", "higher"),
    ]
    extra = []
    if get(d, "tern", "mode") or get(lx, "mode"):
        extra.append("tern: {}; Linux: {}.".format(md_escape(get(d, "tern", "mode") or DASH),
                                                   md_escape(get(lx, "mode") or DASH)))
    plot = svg_bars("tun: kernel client against tern over TUN, and kernel against kernel over veth", [
        {"label": "HTTP connections per second", "tern": conns, "linux": lconns, "kind": "rate"},
        {"label": "Gbit/s with offloads", "tern": off, "linux": lg, "kind": "gbps", "target": target},
        {"label": "Gbit/s without offloads", "tern": plain, "linux": lplain, "kind": "gbps"}])
    return rows, plot, extra


def render_generic(res):
    """A benchmark this script does not know yet: its top-level numbers."""
    d = res.data
    tern = get(d, "tern") if isinstance(get(d, "tern"), dict) else {}
    rows = [Row(k, v, num(res.linux, k), "num", None) for k, v in tern.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return rows, None, []


RENDER = {
    "lifecycle": render_lifecycle, "synflood": render_synflood, "memory": render_memory,
    "scale": render_scale, "bulk": render_bulk, "tun": render_tun,
}

# ------------------------------------------------------------------ the report


def slug(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces
    to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def heading(name):
    return "{}: {}".format(name, TITLES.get(name, name))


def log_tail(log, lines=15):
    tail = [l for l in log.rstrip().splitlines()][-lines:]
    return "\n".join(tail).replace("```", "'''") if tail else "(the log is empty)"


def section(res, svg_dir, svg_rel, notes_dir):
    """The markdown of one benchmark's section, and its summary rows."""
    name = res.name
    out = ["## " + heading(name), ""]
    if name in WHAT:
        out += [WHAT[name], ""]
    summary, plot = [], None
    if res.data is None:
        status = "exit status {}".format(res.status) if res.status is not None else "no exit status"
        if res.status == 124:
            status = "timed out (exit status 124)"
        out += ["**Not measured: `tern bench {}` {} ({}).** The end of its log:".format(
            name, res.problem, status), "", "```", log_tail(res.log), "```", ""]
    else:
        if res.problem:
            out += ["Note: the benchmark " + res.problem + ".", ""]
        if res.status not in (None, 0):
            out += ["**`tern bench {}` exited with status {}**: the numbers below are from a run that "
                    "reported a failure. The end of its log:".format(name, res.status), "",
                    "```", log_tail(res.log, 8), "```", ""]
        if get(res.data, "quick") is True:
            out += ["*Quick run (smoke-test sizes): not representative.*", ""]
        try:
            rows, plot, extra = RENDER.get(name, render_generic)(res)
        except Exception as e:      # a renderer must never take the report down
            rows, plot, extra = [], None, ["The report generator could not read this result: {}: {}".format(
                type(e).__name__, md_escape(e))]
        if rows:
            if name == "scale":
                out += [table(rows, "connections", SCALE_COLS), ""]
            else:
                out += [table(rows), ""]
            summary = [(name, r) for r in rows if r.targets]
            if name == "scale":
                for _, r in summary:
                    r.label = "bytes per connection at {} connections".format(r.label)
        note = baseline_note(res)
        if note:
            out += [note, ""]
        extra = [e for e in extra if e]
        out += ["- " + e for e in extra] + ([""] if extra else [])
        if plot:
            path = os.path.join(svg_dir, name + ".svg")
            with open(path, "w", encoding="utf-8") as f:
                f.write(plot)
            out += ["![{}]({}/{}.svg)".format(name, svg_rel, name), ""]
    profile = read_text(os.path.join(res.results_dir, name + ".profile.txt"))
    head, _, body = (profile or "").strip().partition("\n")
    if body.strip():
        out += ["<details><summary>Where the time goes: {}</summary>".format(html.escape(head)), "",
                "```", body.replace("```", "'''"), "```", "", "</details>", ""]
    if res.data is None or not plot:
        # No plot this run: one left from an earlier run would show old numbers.
        stale = os.path.join(svg_dir, name + ".svg")
        if os.path.exists(stale):
            os.remove(stale)
    out += ["### What limits it", ""]
    notes = read_text(os.path.join(notes_dir, name + ".md")) if notes_dir else None
    if notes and notes.strip():
        out += [notes.rstrip(), ""]
    else:
        out += ["*No analysis written yet (docs/bench/notes/{}.md).*".format(name), ""]
    return "\n".join(out), summary


def git(repo, *args):
    try:
        return subprocess.run(["git", "-C", repo] + list(args), capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def head_lines(results, meta, results_dir):
    machine = next((get(r.data, "machine") for r in results if r.data and isinstance(get(r.data, "machine"), dict)),
                   {}) or {}
    date = get(meta, "date")
    if not isinstance(date, str):
        stamps = [os.path.getmtime(os.path.join(results_dir, r.name + ".json")) for r in results if r.raw is not None]
        when = datetime.datetime.fromtimestamp(max(stamps) if stamps else 0, datetime.timezone.utc)
        date = when.strftime("%Y-%m-%d %H:%M UTC")
    commit = get(meta, "commit")
    if not isinstance(commit, str) or not commit:
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        commit = git(repo, "rev-parse", "--short=12", "HEAD") or "unknown"
        commit += " (read when the report was written)"
    elif get(meta, "dirty") is True:
        commit += " with uncommitted changes"
    version = next((get(r.data, "tern_version") for r in results if r.data and get(r.data, "tern_version")), None)
    mem = num(machine, "mem_bytes")
    lines = [
        "# tern benchmarks", "",
        "Written by `scripts/bench-report.py` from one run of every benchmark (`make bench`); "
        "do not edit by hand: the analysis under each section comes from `docs/bench/notes/NAME.md`.", "",
        "| | |", "|---|---|",
        "| date | {} |".format(md_escape(date)),
        "| commit | {} |".format(md_escape(commit)),
        "| tern | {} |".format(md_escape(version or DASH)),
        "| build | {} |".format(md_escape(get(meta, "build") or "RelWithDebInfo (-O2 -g)")),
        "| CPU | {} |".format(md_escape(get(machine, "cpu") or DASH)),
        "| cores | {} |".format(fmt(num(machine, "cores"), "int")),
        "| memory | {} |".format(fmt(mem, "size") if mem is not None else DASH),
        "| kernel | {} |".format(md_escape(get(machine, "kernel") or DASH)),
        "",
        "Reproduce: `make bench` (as root, so that the Linux baselines can use network namespaces) runs "
        "every benchmark and rewrites this file and `docs/bench/*.svg`; one benchmark alone: "
        "`build/tern bench NAME` (text) or `build/tern bench NAME --json`; `build/tern bench list` names "
        "them. tern and its Linux baseline run in the same invocation, on the same machine.", "",
        "In the tables, **ratio** says how many times better tern is than Linux: tern ÷ Linux for rates "
        "and throughput, Linux ÷ tern for bytes and latency (above 1: tern is better). **met** is ✓ or ✗ "
        "for each target of the row, in order; — where there is no target or no number.", "",
    ]
    return lines


def main():
    ap = argparse.ArgumentParser(description="Writes the benchmark report from tern bench JSON results.")
    ap.add_argument("results", help="directory with NAME.json, NAME.log, NAME.status, meta.json")
    ap.add_argument("output", help="the markdown file to write (docs/benchmarks.md)")
    ap.add_argument("--svg-dir", help="where the plots go (default: bench/ beside the output)")
    ap.add_argument("--notes", help="hand-written NAME.md per benchmark (default: docs/bench/notes "
                    "of this repository)")
    a = ap.parse_args()
    if not os.path.isdir(a.results):
        print("bench-report: {}: not a directory".format(a.results), file=sys.stderr)
        return 2
    out_dir = os.path.dirname(os.path.abspath(a.output))
    svg_dir = a.svg_dir or os.path.join(out_dir, "bench")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    notes_dir = a.notes if a.notes is not None else os.path.join(repo, "docs", "bench", "notes")
    os.makedirs(svg_dir, exist_ok=True)
    svg_rel = os.path.relpath(svg_dir, out_dir).replace(os.sep, "/")

    names = set()
    for f in os.listdir(a.results):
        base, ext = os.path.splitext(f)
        if ext in (".json", ".log", ".status") and base != "meta":
            names.add(base)
    names = [n for n in ORDER if n in names] + sorted(names - set(ORDER))
    if not names:
        print("bench-report: {}: no results (NAME.json) in it".format(a.results), file=sys.stderr)
        return 1
    results = [Result(a.results, n) for n in names]
    meta, _ = parse_json(read_text(os.path.join(a.results, "meta.json")))
    meta = meta or {}

    sections, summary = [], []
    for r in results:
        text, rows = section(r, svg_dir, svg_rel, notes_dir)
        sections.append(text)
        summary += rows
    lines = head_lines(results, meta, a.results)
    lines += ["## Summary: the targets", ""]
    if summary:
        head = ["benchmark", "metric", "tern", "Linux", "ratio", "target", "met"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, r in summary:
            lines.append("| [{}](#{}) | ".format(name, slug(heading(name))) +
                         " | ".join(md_escape(c) for c in r.cells()) + " |")
    else:
        lines.append("No benchmark produced a number with a target.")
    failed = [r.name for r in results if r.data is None]
    if failed:
        lines += ["", "Not measured (see their sections): " + ", ".join(failed) + "."]
    lines.append("")
    with open(a.output, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n" + "\n".join(sections).rstrip("\n") + "\n")
    print("bench-report: wrote {} ({} benchmarks, {} not measured) and plots in {}".format(
        a.output, len(results), len(failed), svg_dir), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
