#!/usr/bin/python3
"""bench/report.py: turns bench/runner.py's results into docs/benchmarks.md and its plots.

Every figure is the median over the repetitions of a (workload, VFS) pair; each ratio is
blaze/stock of those medians. Stock and blaze run back to back in every repetition, so
each repetition also gives a paired ratio; a ratio is called better or worse only when it
is more than 5% from 1 and every paired ratio lies on the same side of 1. Otherwise it is
a tie ("~", with how many pairs agree): this machine is shared, and its noise is large.
Uses Debian's python3-matplotlib (Agg backend, no display needed).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TIE = 0.05
SHORT_TEST = 0.010  # seconds: speedtest1 tests shorter than this are not judged
STOCK_COLOR, BLAZE_COLOR = "#7f7f7f", "#d62728"
ORDER = ["bulk_load", "txn_delete_full", "txn_delete_normal", "txn_wal_full",
         "txn_wal_normal", "point_uniform", "point_zipf", "range_scan", "update_churn",
         "mixed_threads", "cold_scan"]
WRITE_WORKLOADS = ["bulk_load", "txn_delete_full", "txn_delete_normal", "txn_wal_full",
                   "txn_wal_normal", "update_churn", "mixed_threads"]


# ---- loading -------------------------------------------------------------------------

def load(results_dir):
    with open(os.path.join(results_dir, "meta.json")) as f:
        meta = json.load(f)
    runs, speedtest = defaultdict(list), defaultdict(list)
    with open(os.path.join(results_dir, "results.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("kind") == "speedtest1":
                speedtest[(rec["journal"], rec["vfs"])].append(rec)
            else:
                runs[(rec["workload"], rec["vfs"])].append(rec)
    return meta, runs, speedtest


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def field(runs, workload, vfs, name):
    return median([r.get(name) for r in runs.get((workload, vfs), [])])


def spread(runs, workload, vfs, name):
    """(max - min) / median over the repetitions, or None with fewer than two."""
    values = [r.get(name) for r in runs.get((workload, vfs), []) if r.get(name)]
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / statistics.median(values)


def ratio(blaze, stock):
    if blaze is None or stock is None or stock == 0:
        return None
    return blaze / stock


# ---- formatting ----------------------------------------------------------------------

def num(v, digits=3):
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def size(v):
    if v is None:
        return "n/a"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(v) >= scale:
            return f"{v / scale:.2f} {unit}"
    return f"{v:.0f} B"


def pct(v):
    return "n/a" if v is None else f"{100 * v:.0f}%"


def consistent(r, pairs):
    """Whether r is a difference: > 5% from 1, and every paired ratio on its side of 1."""
    return r is not None and abs(r - 1) > TIE and all((p > 1) == (r > 1) for p in pairs)


def verdict(r, higher_is_better, pairs=()):
    """A ratio with a word a reader can scan: better, worse, or ~ (a tie)."""
    if r is None:
        return "n/a"
    if not consistent(r, pairs):
        agree = sum((p > 1) == (r > 1) for p in pairs)
        mixed = f" ({agree}/{len(pairs)})" if abs(r - 1) > TIE and pairs else ""
        return f"{r:.2f} ~{mixed}"
    better = (r > 1) == higher_is_better
    return f"**{r:.2f} {'better' if better else 'worse'}**"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


# ---- machine -------------------------------------------------------------------------

def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = size(int(line.split()[1]) * 1024)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        if dirty:
            commit += " (with uncommitted changes)"
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "mem": mem,
            "kernel": f"{platform.system()} {platform.release()}", "commit": commit}


# ---- plots ---------------------------------------------------------------------------

def bar_color(r, higher_is_better, pairs):
    if not consistent(r, pairs):
        return "#9e9e9e"
    return "#2ca02c" if (r > 1) == higher_is_better else "#d62728"


def plot_ratios(path, labels, ratios, pairs, title, xlabel, higher_is_better):
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(labels) + 1.4))
    ys = range(len(labels))
    vals = [r if r is not None else 0 for r in ratios]
    colors = [bar_color(r, higher_is_better, p) for r, p in zip(ratios, pairs)]
    ax.barh(list(ys), vals, color=colors)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.axvspan(1 - TIE, 1 + TIE, color="#eeeeee", zorder=0)
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    for y, r in zip(ys, ratios):
        ax.text((r or 0) + 0.01, y, "n/a" if r is None else f"{r:.2f}", va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.set_xlim(0, max([1.2] + [v * 1.15 for v in vals]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pairs(path, labels, panels, title):
    """panels: [(subtitle, stock values, blaze values, log scale)]: grouped bars."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 0.42 * len(labels) + 1.6),
                             squeeze=False)
    for ax, (sub, stock, blaze, log) in zip(axes[0], panels):
        ys = list(range(len(labels)))
        ax.barh([y - 0.2 for y in ys], [v or 0 for v in stock], height=0.4, color=STOCK_COLOR,
                label="stock")
        ax.barh([y + 0.2 for y in ys], [v or 0 for v in blaze], height=0.4, color=BLAZE_COLOR,
                label="blaze")
        ax.set_yticks(ys, labels)
        ax.invert_yaxis()
        if log:
            ax.set_xscale("log")
        ax.set_title(sub, fontsize=10)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---- the report ----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--plots", required=True, help="folder of the PNGs")
    ap.add_argument("--command", default="bench/run")
    args = ap.parse_args()

    meta, runs, speedtest = load(args.results)
    os.makedirs(args.plots, exist_ok=True)
    rel = os.path.relpath(args.plots, os.path.dirname(os.path.abspath(args.report)))
    present = [w for w in ORDER if (w, "stock") in runs and (w, "blaze") in runs]
    any_rec = next(iter(runs.values()))[0]
    blaze_rec = next((r for (w, v), rs in runs.items() if v == "blaze" for r in rs
                      if r.get("blaze_stats")), {})
    m = machine()

    def f(w, v, name):
        return field(runs, w, v, name)

    def pairs(w, name):
        """blaze/stock of each repetition (the two ran back to back)."""
        by_rep = {v: {r["rep"]: r.get(name) for r in runs.get((w, v), [])}
                  for v in ("stock", "blaze")}
        out = []
        for rep, s in by_rep["stock"].items():
            b = by_rep["blaze"].get(rep)
            if isinstance(s, (int, float)) and isinstance(b, (int, float)) and s:
                out.append(b / s)
        return out

    def cmp(w, name, higher_is_better):
        return verdict(ratio(f(w, "blaze", name), f(w, "stock", name)), higher_is_better,
                       pairs(w, name))

    def unit(w):
        return runs[(w, "stock")][0]["op_unit"]

    md = []
    md.append("# Benchmarks: blaze vs stock SQLite\n")
    md.append(f"Generated by `{args.command}` (see `bench/README.md`); do not edit by hand. "
              "Every workload runs in a fresh process per VFS, stock and blaze back to back, "
              "the order flipping each repetition; figures are medians over the "
              "repetitions, ratios are **blaze / stock**. Because each repetition runs the pair "
              "back to back, it also gives a paired ratio: a ratio is called **better** or "
              "**worse** only when it is more than 5% from 1 *and* every repetition's pair "
              "agrees on the direction; otherwise it is a tie, `~`, followed by how many "
              "pairs agree when it is more than 5% from 1. This machine (2 cores) is shared "
              "with other builds and tests while the suite runs, so its noise is large; "
              "the spread column shows it. Nothing here is asserted by any test.\n")
    md.append("## Run\n")
    md.append(table(["", ""], [
        ["date", meta["started"]],
        ["mode", f"{meta['mode']} ({meta['reps']} repetitions per workload and VFS)"],
        ["command", f"`{args.command}`"],
        ["commit", m["commit"]],
        ["CPU", f"{m['cpu']}, {m['cores']} cores"],
        ["RAM", m["mem"]],
        ["kernel", m["kernel"]],
        ["SQLite", f"{any_rec.get('sqlite_version', '?')} (system libsqlite3, Debian)"],
        ["blaze", f"{blaze_rec.get('blaze_version', '?')} (`blaze_version()`), built "
                  "`-Dbuildtype=release`, loaded with `sqlite3_load_extension`"],
        ["load average", f"{meta['loadavg_start'][0]:.2f} at start, "
                         f"{meta['loadavg_end'][0]:.2f} at end (1-minute)"],
        ["duration", f"{meta['seconds']:.0f} s of measuring (build excluded)"],
    ]))
    md.append("")

    # -- at a glance
    thr = [ratio(f(w, "blaze", "ops_per_s"), f(w, "stock", "ops_per_s")) for w in present]
    thr_pairs = [pairs(w, "ops_per_s") for w in present]
    plot_ratios(os.path.join(args.plots, "throughput_ratio.png"), present, thr, thr_pairs,
                "Throughput, blaze / stock (higher is better for blaze)", "ratio", True)
    md.append("## At a glance\n")
    md.append(f"![Throughput ratio blaze/stock per workload]({rel}/throughput_ratio.png)\n")
    graded = [(w, r, consistent(r, p)) for w, r, p in zip(present, thr, thr_pairs)]
    better = [f"{w} ({r:.2f})" for w, r, c in graded if c and r > 1]
    worse = [f"{w} ({r:.2f})" for w, r, c in graded if c and r < 1]
    ties = [f"{w} ({r:.2f})" for w, r, c in graded if r is not None and not c]
    md.append("Green: blaze faster, red: slower, grey: a tie (within 5% of 1, the shaded "
              "band, or the repetitions disagree on the direction).\n")
    md.append(f"- blaze faster: {', '.join(better) or 'none'}")
    md.append(f"- blaze slower: {', '.join(worse) or 'none'}")
    md.append(f"- a tie at this noise level: {', '.join(ties) or 'none'}")
    size_r = ratio(f("bulk_load", "blaze", "file_bytes"), f("bulk_load", "stock", "file_bytes"))
    if size_r is not None:
        md.append(f"- stored size after bulk_load: blaze/stock = {size_r:.2f}")
    md.append("")

    # -- throughput and latency
    md.append("## Throughput and latency\n")
    rows = []
    for w, r in zip(present, thr):
        sp = [spread(runs, w, v, "ops_per_s") for v in ("stock", "blaze")]
        sp_txt = "/".join(pct(s) for s in sp) if any(s is not None for s in sp) else "n/a"
        rows.append([
            f"`{w}`", unit(w),
            num(f(w, "stock", "ops_per_s")), num(f(w, "blaze", "ops_per_s")),
            cmp(w, "ops_per_s", True),
            sp_txt,
            num(f(w, "stock", "p50_us")), num(f(w, "blaze", "p50_us")),
            cmp(w, "p50_us", False),
            num(f(w, "stock", "p99_us")), num(f(w, "blaze", "p99_us")),
            cmp(w, "p99_us", False),
        ])
    md.append(table(["workload", "op", "stock op/s", "blaze op/s", "ratio",
                     "spread stock/blaze", "stock p50 µs", "blaze p50 µs", "ratio",
                     "stock p99 µs", "blaze p99 µs", "ratio"], rows))
    md.append("\nspread: (max − min) / median of throughput over the repetitions.\n")
    plot_pairs(os.path.join(args.plots, "latency.png"), present, [
        ("p50 latency, µs (log)", [f(w, "stock", "p50_us") for w in present],
         [f(w, "blaze", "p50_us") for w in present], True),
        ("p99 latency, µs (log)", [f(w, "stock", "p99_us") for w in present],
         [f(w, "blaze", "p99_us") for w in present], True),
    ], "Latency per operation (lower is better)")
    md.append(f"![p50 and p99 latency per workload]({rel}/latency.png)\n")

    # -- memory
    md.append("## Memory and heap allocations\n")
    rows = []
    for w in present:
        rows.append([
            f"`{w}`",
            size(_kib(f(w, "stock", "peak_rss_kib"))), size(_kib(f(w, "blaze", "peak_rss_kib"))),
            cmp(w, "peak_rss_kib", False),
            num(f(w, "stock", "allocs_per_op")), num(f(w, "blaze", "allocs_per_op")),
            cmp(w, "allocs_per_op", False),
        ])
    md.append(table(["workload", "stock peak RSS", "blaze peak RSS", "ratio",
                     "stock allocs/op", "blaze allocs/op", "ratio"], rows))
    md.append("\nPeak RSS is the run's process's high-water mark (`VmHWM`, setup included; "
              "`ru_maxrss` would carry the launcher's peak across `exec`). Allocations are "
              "every malloc/calloc/realloc/memalign of the whole process (libsqlite3, "
              "blaze.so, libstdc++) during the measured phase, divided by its operations.\n")
    plot_pairs(os.path.join(args.plots, "resources.png"), present, [
        ("peak RSS, MiB", [_mib(f(w, "stock", "peak_rss_kib")) for w in present],
         [_mib(f(w, "blaze", "peak_rss_kib")) for w in present], False),
        ("heap allocations per operation", [f(w, "stock", "allocs_per_op") for w in present],
         [f(w, "blaze", "allocs_per_op") for w in present], True),
    ], "Memory (lower is better)")
    md.append(f"![peak RSS and allocations per operation]({rel}/resources.png)\n")

    # -- I/O per commit
    writes = [w for w in WRITE_WORKLOADS if w in present]
    md.append("## Syncs and bytes written per commit, cache hit ratio\n")
    rows = []
    for w in writes:
        rows.append([
            f"`{w}`",
            num(f(w, "stock", "os_syncs_per_commit")), num(f(w, "blaze", "os_syncs_per_commit")),
            cmp(w, "os_syncs_per_commit", False),
            size(f(w, "stock", "os_bytes_written_per_commit")),
            size(f(w, "blaze", "os_bytes_written_per_commit")),
            cmp(w, "os_bytes_written_per_commit", False),
            num(f(w, "blaze", "bs_syncs_per_commit")),
            size(f(w, "blaze", "bs_bytes_written_per_commit")),
        ])
    md.append(table(["workload", "stock syncs/commit", "blaze syncs/commit", "ratio",
                     "stock written/commit", "blaze written/commit", "ratio",
                     "blaze_stats syncs/commit", "blaze_stats written/commit"], rows))
    md.append("\nThe stock/blaze columns count what reached the OS, for every file (main "
              "database, journal, `-wal`, and any file of blaze's own), through a counting "
              "shim VFS that sits under both sides (`bench/count_vfs.h`). The `blaze_stats` "
              "columns are the deltas of `blaze_stats`' total row: what SQLite asked of "
              "blaze's main-database file only, so they have no stock equivalent.\n")
    hit_rows = []
    for w in present:
        hr = f(w, "blaze", "cache_hit_ratio")
        hit_rows.append([f"`{w}`", pct(hr) if hr is not None else "n/a"])
    has_hits = any(r[1] != "n/a" for r in hit_rows)
    if has_hits:
        md.append(table(["workload", "blaze cache hit ratio"], hit_rows))
    else:
        md.append("**Cache hit ratio: n/a** for every workload: `blaze_stats` has no "
                  "`hits`/`misses` columns yet (columns now: "
                  f"{', '.join(sorted(blaze_rec.get('blaze_stats', {})))}). The bench reads "
                  "every column of `blaze_stats`, so the ratio hits/(hits+misses) appears here "
                  "as soon as they exist.")
    md.append("")
    plot_pairs(os.path.join(args.plots, "io_per_commit.png"), writes, [
        ("syncs per commit", [f(w, "stock", "os_syncs_per_commit") for w in writes],
         [f(w, "blaze", "os_syncs_per_commit") for w in writes], False),
        ("KiB written per commit (log)",
         [_kib_of(f(w, "stock", "os_bytes_written_per_commit")) for w in writes],
         [_kib_of(f(w, "blaze", "os_bytes_written_per_commit")) for w in writes], True),
    ], "I/O per commit, all files, as the OS sees it (lower is better)")
    md.append(f"![syncs and bytes written per commit]({rel}/io_per_commit.png)\n")

    # -- stored size and cold scan
    md.append("## Stored file size\n")
    rows = []
    for w, label in (("bulk_load", "after `bulk_load`"), ("prepare", "the read workloads' table")):
        if (w, "stock") in runs and (w, "blaze") in runs:
            rows.append([label, f"{num(f(w, 'stock', 'rows'))} rows",
                         size(f(w, "stock", "file_bytes")), size(f(w, "blaze", "file_bytes")),
                         cmp(w, "file_bytes", False),
                         size(f(w, "stock", "disk_bytes")), size(f(w, "blaze", "disk_bytes"))])
    md.append(table(["database", "size", "stock bytes", "blaze bytes", "ratio",
                     "stock on disk", "blaze on disk"], rows))
    md.append("\nBytes: the sum of the sizes of every file in the database's folder after "
              "all connections closed; on disk: allocated blocks.\n")
    if "cold_scan" in present:
        md.append("## Cold full scan\n")
        md.append(table(["", "stock", "blaze", "ratio"], [
            ["logical MB/s (page_count × page_size / time)",
             num(f("cold_scan", "stock", "logical_mb_per_s")),
             num(f("cold_scan", "blaze", "logical_mb_per_s")),
             cmp("cold_scan", "logical_mb_per_s", True)],
            ["scan time, ms", num(_ms(f("cold_scan", "stock", "p50_us"))),
             num(_ms(f("cold_scan", "blaze", "p50_us"))),
             cmp("cold_scan", "p50_us", False)],
            ["pages still resident after the drop",
             pct(f("cold_scan", "stock", "resident_after_drop")),
             pct(f("cold_scan", "blaze", "resident_after_drop")), ""],
        ]))
        md.append("\nEach scan runs in a new process after `posix_fadvise(DONTNEED)` on every "
                  "file of the database (checked with `mincore`), so neither the kernel's "
                  "cache nor anything in the process is warm.\n")

    # -- speedtest1
    if speedtest:
        md.extend(speedtest_section(speedtest, args.plots, rel))

    # -- workloads
    md.append("## Workloads, sizes and seeds\n")
    rows = []
    for w in present:
        r = runs[(w, "stock")][0]
        rows.append([f"`{w}`", r["desc"], f"{r['ops']:,} × {r['op_unit']}",
                     f"{meta['rows']:,}" if w not in ("txn_delete_full", "txn_delete_normal",
                                                      "txn_wal_full", "txn_wal_normal")
                     else "1,000 + the commits",
                     r["threads"] if w == "mixed_threads" else 1, r["seed"]])
    md.append(table(["workload", "what", "measured ops", "table rows", "threads", "seed"], rows))
    md.append("\nRows are `t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)` with an index on `k`; "
              "`v` is 60–300 bytes of words drawn from a fixed 2,048-word vocabulary (text that "
              "compresses like text). The read workloads start from a copy of a table built "
              f"once per VFS by the `prepare` step ({meta['rows']:,} rows, seed 1001). Page "
              "size and cache size are SQLite's defaults (4096 bytes, 2 MB); "
              "`mmap_size` is 0.\n")
    with open(args.report, "w") as out:
        out.write("\n".join(md).rstrip() + "\n")


def speedtest_section(speedtest, plots, rel):
    md = ["## SQLite's speedtest1\n"]
    journals = [j for j in ("delete", "wal")
                if (j, "stock") in speedtest and (j, "blaze") in speedtest]
    any_rec = speedtest[(journals[0], "stock")][0]
    reps = len(speedtest[(journals[0], "stock")])
    md.append(f"Debian's `test/speedtest1.c` (`--size {any_rec['size']}`, "
              f"{reps} repetition(s), medians), built against the system SQLite by "
              "`bench/speedtest1.sh`; blaze runs use `--vfs blaze` after loading blaze.so. "
              "Times in seconds. speedtest1 prints milliseconds, so a test under "
              f"{SHORT_TEST * 1000:.0f} ms on both sides is not judged (ratio in parentheses, "
              "no bar in the plot). Ratio = blaze/stock time: **lower is better for blaze**.\n")
    tests = [(t["id"], t["name"]) for t in any_rec["tests"]]

    def med(journal, vfs, tid):
        return median([t["seconds"] for rec in speedtest[(journal, vfs)] for t in rec["tests"]
                       if t["id"] == tid])

    def total(journal, vfs):
        return median([rec["total"] for rec in speedtest[(journal, vfs)]])

    def st_pairs(journal, tid):
        """blaze/stock time of each repetition; tid None: the totals."""
        def by_rep(vfs):
            out = {}
            for rec in speedtest[(journal, vfs)]:
                if tid is None:
                    out[rec["rep"]] = rec["total"]
                else:
                    out[rec["rep"]] = next((t["seconds"] for t in rec["tests"]
                                            if t["id"] == tid), None)
            return out
        s, b = by_rep("stock"), by_rep("blaze")
        return [b[k] / s[k] for k in s if s[k] and b.get(k) is not None]

    header = ["test"]
    for j in journals:
        header += [f"{j}: stock s", f"{j}: blaze s", f"{j}: ratio"]
    def judged(s, b):
        return s is not None and b is not None and max(s, b) >= SHORT_TEST

    rows = []
    for tid, name in tests:
        row = [f"{tid} {name}"]
        for j in journals:
            s, b = med(j, "stock", tid), med(j, "blaze", tid)
            r = ratio(b, s)
            row += [num(s), num(b),
                    verdict(r, False, st_pairs(j, tid)) if judged(s, b)
                    else f"({num(r)}, too short)"]
        rows.append(row)
    row = ["**TOTAL**"]
    for j in journals:
        s, b = total(j, "stock"), total(j, "blaze")
        row += [f"**{num(s)}**", f"**{num(b)}**", verdict(ratio(b, s), False, st_pairs(j, None))]
    rows.append(row)
    md.append(table(header, rows))
    md.append("")
    labels = [f"{tid} {name[:38]}" for tid, name in tests] + ["TOTAL"]
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(labels) + 1.5))
    ys = list(range(len(labels)))
    colors = {"delete": "#1f77b4", "wal": "#ff7f0e"}
    width = 0.8 / max(1, len(journals))
    for i, j in enumerate(journals):
        vals = [ratio(med(j, "blaze", tid), med(j, "stock", tid))
                if judged(med(j, "stock", tid), med(j, "blaze", tid)) else None
                for tid, _ in tests]
        vals.append(ratio(total(j, "blaze"), total(j, "stock")))
        ax.barh([y - 0.4 + width * (i + 0.5) for y in ys], [v or 0 for v in vals], height=width,
                color=colors[j], label=f"--journal {j}")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.axvspan(1 - TIE, 1 + TIE, color="#eeeeee", zorder=0)
    ax.set_yticks(ys, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio blaze / stock (lower is better for blaze)")
    ax.set_title("speedtest1 per test")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(plots, "speedtest1.png"), dpi=110)
    plt.close(fig)
    md.append(f"![speedtest1 time ratio per test]({rel}/speedtest1.png)\n")
    return md


def _kib(v):
    return None if v is None else v * 1024


def _mib(v):
    return None if v is None else v / 1024


def _kib_of(v):
    return None if v is None else v / 1024


def _ms(v):
    return None if v is None else v / 1000


if __name__ == "__main__":
    main()
