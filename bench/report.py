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
ORDER = ["bulk_load", "bulk_1txn", "txn_delete_full", "txn_delete_normal", "txn_wal_full",
         "txn_wal_normal", "point_uniform", "point_zipf", "read_uncached", "range_scan",
         "update_churn", "mixed_threads", "point_4threads", "point_4threads_wal", "cold_scan",
         "scan_os_warm", "text_size"]
# Workloads on more than one connection/thread (--threads).
THREADED = ("mixed_threads", "point_4threads", "point_4threads_wal")
WRITE_WORKLOADS = ["bulk_load", "bulk_1txn", "txn_delete_full", "txn_delete_normal",
                   "txn_wal_full", "txn_wal_normal", "update_churn", "mixed_threads",
                   "text_size"]
# Workloads whose table is not the mode's "rows" (runner.py MODES rows_for); the
# small-transaction workloads start from 1,000 rows.
SMALL_TXN = ("txn_delete_full", "txn_delete_normal", "txn_wal_full", "txn_wal_normal")


# ---- loading -------------------------------------------------------------------------

def load(results_dir):
    with open(os.path.join(results_dir, "meta.json")) as f:
        meta = json.load(f)
    runs, speedtest, codecs = defaultdict(list), defaultdict(list), defaultdict(list)
    with open(os.path.join(results_dir, "results.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("kind") == "speedtest1":
                speedtest[(rec["journal"], rec["vfs"])].append(rec)
            elif rec.get("kind") == "codec":
                codecs[(rec["what"], rec["codec"])].append(rec)
            else:
                runs[(rec["workload"], rec["vfs"])].append(rec)
    return meta, runs, speedtest, codecs


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
        if log and any((v or 0) > 0 for v in list(stock) + list(blaze)):
            # (with nothing positive, e.g. --only without a write workload, a log axis fails)
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

    meta, runs, speedtest, codecs = load(args.results)
    os.makedirs(args.plots, exist_ok=True)
    rel = os.path.relpath(args.plots, os.path.dirname(os.path.abspath(args.report)))
    present = [w for w in ORDER if (w, "stock") in runs and (w, "blaze") in runs]
    # Every (workload, blaze side) compared with stock: blaze first, then the variants
    # (runner.py VARIANTS) in the order they ran.
    entries = []
    for w in present:
        entries.append((w, "blaze"))
        for v in meta.get("variants", {}).get(w, []):
            if (w, v["label"]) in runs:
                entries.append((w, v["label"]))
    any_rec = next(iter(runs.values()))[0]
    blaze_rec = next((r for (w, v), rs in runs.items() if v == "blaze" for r in rs
                      if r.get("blaze_stats")), {})
    m = machine()

    def f(w, v, name):
        return field(runs, w, v, name)

    def pairs(w, name, side="blaze", stock_name=None):
        """side/stock of each repetition (they ran back to back)."""
        by_rep = {v: {r["rep"]: r.get(n) for r in runs.get((w, v), [])}
                  for v, n in (("stock", stock_name or name), (side, name))}
        out = []
        for rep, s in by_rep["stock"].items():
            b = by_rep[side].get(rep)
            if isinstance(s, (int, float)) and isinstance(b, (int, float)) and s:
                out.append(b / s)
        return out

    def cmp(w, name, higher_is_better, side="blaze"):
        why = unsupported(runs, w, side)
        if why:
            return "n/a (unsupported)"
        return verdict(ratio(f(w, side, name), f(w, "stock", name)), higher_is_better,
                       pairs(w, name, side))

    def unit(w):
        return runs[(w, "stock")][0]["op_unit"]

    def label(w, side):
        return w if side == "blaze" else f"{w} [{side.removeprefix('blaze_')}]"

    def code_label(w, side):
        return f"`{w}`" if side == "blaze" else f"`{w}` ({params_of(runs, w, side)})"

    labels = [label(w, v) for w, v in entries]

    md = []
    md.append("# Benchmarks: blaze vs stock SQLite\n")
    md.append(f"Generated by `{args.command}` (see `bench/README.md`); do not edit by hand. "
              "Every workload runs in a fresh process per VFS, stock and blaze (and any "
              "extra blaze configuration, named in brackets) back to back, the order "
              "rotating each repetition; figures are medians over the "
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
        ["mode", f"{meta['mode']} ({meta['reps']} repetitions per workload and VFS"
                 + "".join(f"; `{w}`: {n}" for w, n in meta.get("reps_for", {}).items()
                           if n != meta["reps"]) + ")"],
        ["command", f"`{args.command}`"],
        # The commit measured (runner.py records it); older results: the one reporting.
        ["commit", meta.get("commit", m["commit"])],
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

    targets_md = targets_section(meta, runs, codecs, f, pairs)
    targets_md += targets5_section(meta, runs, f, pairs)
    correctness_md = correctness_section(runs)
    md.extend(targets_md)
    md.extend(correctness_md)
    # Printed too: the figures a developer runs the bench for.
    print("\n".join(targets_md + correctness_md), flush=True)

    # -- at a glance
    thr = [ratio(f(w, v, "ops_per_s"), f(w, "stock", "ops_per_s")) for w, v in entries]
    thr_pairs = [pairs(w, "ops_per_s", v) for w, v in entries]
    plot_ratios(os.path.join(args.plots, "throughput_ratio.png"), labels, thr, thr_pairs,
                "Throughput, blaze / stock (higher is better for blaze)", "ratio", True)
    md.append("## At a glance\n")
    md.append(f"![Throughput ratio blaze/stock per workload]({rel}/throughput_ratio.png)\n")
    graded = [(w, r, consistent(r, p)) for w, r, p in zip(labels, thr, thr_pairs)]
    better = [f"{w} ({r:.2f})" for w, r, c in graded if c and r > 1]
    worse = [f"{w} ({r:.2f})" for w, r, c in graded if c and r < 1]
    ties = [f"{w} ({r:.2f})" for w, r, c in graded if r is not None and not c]
    absent = [w for w, r, c in graded if r is None]
    md.append("Green: blaze faster, red: slower, grey: a tie (within 5% of 1, the shaded "
              "band, or the repetitions disagree on the direction).\n")
    md.append(f"- blaze faster: {', '.join(better) or 'none'}")
    md.append(f"- blaze slower: {', '.join(worse) or 'none'}")
    md.append(f"- a tie at this noise level: {', '.join(ties) or 'none'}")
    if absent:
        md.append(f"- n/a (this blaze.so does not support the side): {', '.join(absent)}")
    size_r = ratio(f("bulk_load", "blaze", "file_bytes"), f("bulk_load", "stock", "file_bytes"))
    if size_r is not None:
        md.append(f"- stored size after bulk_load: blaze/stock = {size_r:.2f}")
    md.append("")

    # -- throughput and latency
    md.append("## Throughput and latency\n")
    rows = []
    for w, v in entries:
        sp = [spread(runs, w, x, "ops_per_s") for x in ("stock", v)]
        sp_txt = "/".join(pct(s) for s in sp) if any(s is not None for s in sp) else "n/a"
        rows.append([
            code_label(w, v), unit(w),
            num(f(w, "stock", "ops_per_s")), num(f(w, v, "ops_per_s")),
            cmp(w, "ops_per_s", True, v),
            sp_txt,
            num(f(w, "stock", "p50_us")), num(f(w, v, "p50_us")),
            cmp(w, "p50_us", False, v),
            num(f(w, "stock", "p99_us")), num(f(w, v, "p99_us")),
            cmp(w, "p99_us", False, v),
        ])
    md.append(table(["workload", "op", "stock op/s", "blaze op/s", "ratio",
                     "spread stock/blaze", "stock p50 µs", "blaze p50 µs", "ratio",
                     "stock p99 µs", "blaze p99 µs", "ratio"], rows))
    md.append("\nspread: (max − min) / median of throughput over the repetitions.\n")
    plot_pairs(os.path.join(args.plots, "latency.png"), labels, [
        ("p50 latency, µs (log)", [f(w, "stock", "p50_us") for w, v in entries],
         [f(w, v, "p50_us") for w, v in entries], True),
        ("p99 latency, µs (log)", [f(w, "stock", "p99_us") for w, v in entries],
         [f(w, v, "p99_us") for w, v in entries], True),
    ], "Latency per operation (lower is better)")
    md.append(f"![p50 and p99 latency per workload]({rel}/latency.png)\n")

    # -- memory
    md.append("## Memory and heap allocations\n")
    rows = []
    for w, v in entries:
        rows.append([
            code_label(w, v),
            size(_kib(f(w, "stock", "peak_rss_kib"))), size(_kib(f(w, v, "peak_rss_kib"))),
            cmp(w, "peak_rss_kib", False, v),
            num(f(w, "stock", "allocs_per_op")), num(f(w, v, "allocs_per_op")),
            cmp(w, "allocs_per_op", False, v),
        ])
    md.append(table(["workload", "stock peak RSS", "blaze peak RSS", "ratio",
                     "stock allocs/op", "blaze allocs/op", "ratio"], rows))
    md.append("\nPeak RSS is the run's process's high-water mark (`VmHWM`, setup included; "
              "`ru_maxrss` would carry the launcher's peak across `exec`). Allocations are "
              "every malloc/calloc/realloc/memalign of the whole process (libsqlite3, "
              "blaze.so, libstdc++) during the measured phase, divided by its operations.\n")
    plot_pairs(os.path.join(args.plots, "resources.png"), labels, [
        ("peak RSS, MiB", [_mib(f(w, "stock", "peak_rss_kib")) for w, v in entries],
         [_mib(f(w, v, "peak_rss_kib")) for w, v in entries], False),
        ("heap allocations per operation", [f(w, "stock", "allocs_per_op") for w, v in entries],
         [f(w, v, "allocs_per_op") for w, v in entries], True),
    ], "Memory (lower is better)")
    md.append(f"![peak RSS and allocations per operation]({rel}/resources.png)\n")

    # -- I/O per commit
    writes = [(w, v) for w, v in entries if w in WRITE_WORKLOADS]
    md.append("## Syncs and bytes written per commit, cache hit ratio\n")
    rows = []
    for w, v in writes:
        rows.append([
            code_label(w, v),
            num(f(w, "stock", "os_syncs_per_commit")), num(f(w, v, "os_syncs_per_commit")),
            cmp(w, "os_syncs_per_commit", False, v),
            size(f(w, "stock", "os_bytes_written_per_commit")),
            size(f(w, v, "os_bytes_written_per_commit")),
            cmp(w, "os_bytes_written_per_commit", False, v),
            num(f(w, v, "bs_syncs_per_commit")),
            size(f(w, v, "bs_bytes_written_per_commit")),
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
                  "`cache_hits`/`cache_misses` columns (columns now: "
                  f"{', '.join(sorted(blaze_rec.get('blaze_stats', {})))}). The bench reads "
                  "every column of `blaze_stats`, so the ratio hits/(hits+misses) appears here "
                  "as soon as they exist.")
    md.append("\nThe ratio is over the measured phase, from the deltas of `blaze_stats`' "
              "total row; a workload that closes its last connection inside the phase "
              "(`cold_scan`, `scan_os_warm`) drops its store's figures with it: n/a.")
    md.append("")
    plot_pairs(os.path.join(args.plots, "io_per_commit.png"), [label(w, v) for w, v in writes], [
        ("syncs per commit", [f(w, "stock", "os_syncs_per_commit") for w, v in writes],
         [f(w, v, "os_syncs_per_commit") for w, v in writes], False),
        ("KiB written per commit (log)",
         [_kib_of(f(w, "stock", "os_bytes_written_per_commit")) for w, v in writes],
         [_kib_of(f(w, v, "os_bytes_written_per_commit")) for w, v in writes], True),
    ], "I/O per commit, all files, as the OS sees it (lower is better)")
    md.append(f"![syncs and bytes written per commit]({rel}/io_per_commit.png)\n")

    # -- stored size and cold scan
    md.append("## Stored file size\n")
    rows = []
    for w, what in (("bulk_load", "after `bulk_load`"), ("bulk_1txn", "after `bulk_1txn`"),
                    ("prepare", "the read workloads' table (blaze: checkpointed)"),
                    ("text_size", "the text database after `text_size` (blaze: compacted)")):
        if (w, "stock") in runs and (w, "blaze") in runs:
            rows.append([what, f"{num(f(w, 'stock', 'rows'))} rows",
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
    if "scan_os_warm" in present:
        md.append("## Full scan, OS cache warm\n")
        md.append(table(["", "stock", "blaze", "ratio"], [
            ["logical MB/s (page_count × page_size / time)",
             num(f("scan_os_warm", "stock", "logical_mb_per_s")),
             num(f("scan_os_warm", "blaze", "logical_mb_per_s")),
             cmp("scan_os_warm", "logical_mb_per_s", True)],
            ["scan time, ms", num(_ms(f("scan_os_warm", "stock", "p50_us"))),
             num(_ms(f("scan_os_warm", "blaze", "p50_us"))),
             cmp("scan_os_warm", "p50_us", False)],
            ["CPU time of the scan, ms", num(_ms(f("scan_os_warm", "stock", "cpu_us_per_op"))),
             num(_ms(f("scan_os_warm", "blaze", "cpu_us_per_op"))),
             cmp("scan_os_warm", "cpu_us_per_op", False)],
        ]))
        md.append("\nThe same scan in a new process, but every file of the database was read "
                  "just before: the kernel's cache holds it, only the process is cold "
                  "(SQLite's cache, blaze's page cache), so blaze's own per-page cost "
                  "(read the slot, check it, decompress, place it in the cache) is what "
                  "differs.\n")

    md.extend(size_section(runs, codecs, f))
    md.extend(read_section(runs, codecs, f))

    # -- speedtest1
    if speedtest:
        md.extend(speedtest_section(speedtest, args.plots, rel))

    # -- workloads
    md.append("## Workloads, sizes and seeds\n")
    rows = []
    for w in present:
        r = runs[(w, "stock")][0]
        if w in SMALL_TXN:
            table_rows = "1,000 + the commits"
        elif w in ("bulk_load", "bulk_1txn", "text_size"):
            table_rows = "0 + the loaded rows"
        else:
            table_rows = f"{meta.get('rows_for', {}).get(w, meta['rows']):,}"
        extra = ", ".join(f"`{v['label']}`: `{v['params']}`"
                          for v in meta.get("variants", {}).get(w, []))
        rows.append([f"`{w}`", r["desc"], f"{int(r['ops']):,} × {r['op_unit']}", table_rows,
                     r["threads"] if w in THREADED else 1, r["seed"],
                     meta.get("reps_for", {}).get(w, meta["reps"]), extra or "—"])
    md.append(table(["workload", "what", "measured ops", "table rows", "threads", "seed",
                     "reps", "extra blaze sides"], rows))
    md.append("\nRows are `t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)` with an index on `k`; "
              "`v` is 60–300 bytes of words drawn uniformly from a fixed 2,048-word vocabulary "
              "of random letters (its pages compress poorly, to about 0.9 with LZ4, see "
              "\"Random read of an uncached page\"; `text_size` is the realistic text). The "
              "read workloads start from a copy of a table built "
              f"once per VFS by the `prepare` step ({meta['rows']:,} rows, seed 1001). Page "
              "size and cache size are SQLite's defaults (4096 bytes, 2 MB); "
              "`mmap_size` is 0.\n")
    with open(args.report, "w") as out:
        out.write("\n".join(md).rstrip() + "\n")


# ---- issue 4's targets and their detail sections --------------------------------------

def targets5_section(meta, runs, f, pairs):
    """Issue 5's targets (b) and (c); (a) is bench/page_read_bench, outside the runner."""
    rows = []
    for w, journal in (("point_4threads", "rollback (DELETE)"), ("point_4threads_wal", "WAL")):
        if (w, "stock") not in runs or (w, "blaze") not in runs:
            continue
        s, b = f(w, "stock", "ops_per_s"), f(w, "blaze", "ops_per_s")
        per_rep = pairs(w, "ops_per_s")
        r = paired_median(per_rep, ratio(b, s))
        hr = f(w, "blaze", "cache_hit_ratio")
        pages = f(w, "stock", "db_pages")
        what = (f"{journal}, {meta.get('threads', 4)} threads, lookups/s; "
                f"{num(pages)} pages ({size(pages * 4096) if pages else 'n/a'}), "
                f"main-db xRead calls/lookup {num(f(w, 'stock', 'page_reads_per_lookup'))}; "
                f"blaze hit ratio {pct(hr)}")
        rows.append(["b. random point lookups, db ≈ 10× SQLite's cache", what, num(s), num(b),
                     num(r), "≥ 1.30", goal_verdict(r, 1.3, False, per_rep)])
    w = "cold_scan"
    if (w, "stock") in runs and (w, "blaze") in runs:
        s, b = f(w, "stock", "seconds"), f(w, "blaze", "seconds")
        per_rep = pairs(w, "seconds")
        r = paired_median(per_rep, ratio(b, s))
        rows.append(["c. full scan of a cold database",
                     f"seconds, new process, files dropped from the OS cache, "
                     f"{num(meta['rows'])} rows", num(s), num(b), num(r), "≤ 1.20",
                     goal_verdict(r, 1.2, True, per_rep)])
    if not rows:
        return []
    md = ["## Issue 5's targets\n"]
    md.append("As for issue 4: medians per side, and blaze/stock as the median of the "
              "per-repetition ratios. Target (a), a cached page through xRead and xFetch, is "
              "measured by `bench/page_read_bench` (run by hand, see `bench/README.md`); "
              "(d), the cache's hit ratio on a Zipf-plus-scan trace, by "
              "`bench/cache_trace`.\n")
    md.append(table(["target", "measure", "stock", "blaze", "blaze/stock (median of pairs)",
                     "goal", "verdict"], rows))
    md.append("")
    return md


def unsupported(runs, w, side):
    """Why a side has no figures (its blaze.so refused its URI parameters), or None."""
    recs = runs.get((w, side), [])
    if recs and all("unsupported" in r for r in recs):
        return recs[0]["unsupported"]
    return None


def params_of(runs, w, side):
    recs = runs.get((w, side), [])
    return recs[0].get("params", side) if recs else side


def codec_field(codecs, what, codec, name):
    return median([r.get(name) for r in codecs.get((what, codec), [])])


def goal_verdict(value, goal, at_most, per_rep):
    """met / not met for a median figure, with how many repetitions meet it alone."""
    if value is None:
        return "n/a"
    if goal is None:
        return "reported (no target)"
    ok = value <= goal if at_most else value >= goal
    word = "**met**" if ok else "**not met**"
    if not per_rep:
        return word
    n = sum((p <= goal) if at_most else (p >= goal) for p in per_rep)
    return f"{word} ({n}/{len(per_rep)} reps)"


def paired_median(per_rep, fallback):
    """The median of the per-repetition ratios (each pair ran back to back), else fallback."""
    return median(per_rep) if per_rep else fallback


def targets_section(meta, runs, codecs, f, pairs):
    md = ["## Issue 4's targets\n"]
    md.append("Each target as measured in this run. The stock and blaze columns are medians "
              "over the repetitions; **blaze/stock is the median of the per-repetition "
              "ratios** (each repetition runs the sides back to back, so a slow patch of "
              "this shared machine, e.g. fsyncs ten times slower for a minute, lands on both "
              "sides of one ratio instead of on one side of the medians). The verdict says "
              "whether that ratio meets the target and in how many repetitions the pair "
              "alone meets it.\n")
    rows = []
    # 1. Stored size of the text database.
    w = "text_size"
    stock_b = f(w, "stock", "file_bytes")
    docs = f(w, "stock", "rows")
    if stock_b is not None:
        what = f"text database, {num(docs)} documents, stock {stock_b / 1e6:.1f} MB"
        for side, codec in (("blaze", "lz4"), ("blaze_lz4hc", "lz4hc")):
            if (w, side) not in runs:
                continue
            why = unsupported(runs, w, side)
            if why:
                rows.append([f"1. stored size, {codec}", what, size(stock_b), "n/a", "n/a",
                             "≤ 0.50", f"n/a: {why}"])
                continue
            stages = [("after_load", "after the load (page file + log)")]
            if f(w, side, "has_blaze_checkpoint"):
                stages.append(("after_checkpoint", "after `blaze_checkpoint()`"))
            for stage, stage_txt in stages:
                b = f(w, side, f"{stage}_stored_bytes")
                per_rep = pairs(w, f"{stage}_stored_bytes", side, "file_bytes")
                r = paired_median(per_rep, ratio(b, stock_b))
                rows.append([f"1. stored size, {codec}", f"{what}: {stage_txt}", size(stock_b),
                             size(b), num(r), "≤ 0.50", goal_verdict(r, 0.5, True, per_rep)])
            if not f(w, side, "has_blaze_checkpoint"):
                rows.append([f"1. stored size, {codec}", f"{what}: after a checkpoint", "", "n/a",
                             "n/a", "≤ 0.50",
                             "n/a: this blaze.so has no `blaze_checkpoint()`; judge the "
                             "after-load figure, log included"])
    # 2. Small transactions, synchronous=FULL.
    for w, side, goal, what in (
            ("txn_delete_full", "blaze", None, "rollback (DELETE) mode, commits/s"),
            ("txn_delete_full", "blaze_absorb", 2.0,
             "rollback mode, blaze with `blaze_journal=absorb`, commits/s"),
            ("txn_wal_full", "blaze", 0.9, "WAL mode, commits/s")):
        if (w, "stock") not in runs or (w, side) not in runs:
            continue
        goal_txt = "—" if goal is None else f"≥ {goal:.2f}"
        why = unsupported(runs, w, side)
        if why:
            rows.append(["2. one-row commits, synchronous=FULL", what,
                         num(f(w, "stock", "ops_per_s")), "n/a", "n/a", goal_txt, f"n/a: {why}"])
            continue
        s, b = f(w, "stock", "ops_per_s"), f(w, side, "ops_per_s")
        per_rep = pairs(w, "ops_per_s", side)
        r = paired_median(per_rep, ratio(b, s))
        rows.append(["2. one-row commits, synchronous=FULL", what, num(s), num(b), num(r),
                     goal_txt, goal_verdict(r, goal, False, per_rep)])
    # 3. Bulk load in one transaction.
    w = "bulk_1txn"
    if (w, "stock") in runs and (w, "blaze") in runs:
        n = f(w, "stock", "rows")
        what = f"{num(n)} rows in one transaction, seconds"
        if n is not None and n < 1_000_000:
            what += " (quick mode: the target names 1M rows, `--full` loads them)"
        s, b = f(w, "stock", "seconds"), f(w, "blaze", "seconds")
        per_rep = pairs(w, "seconds")
        r = paired_median(per_rep, ratio(b, s))
        rows.append(["3. bulk load", what, num(s), num(b), num(r), "≤ 1.30",
                     goal_verdict(r, 1.3, True, per_rep)])
    # 4. Random read of an uncached page: with blaze's page cache (default), and without
    # it (blaze_cache=0: every page SQLite does not hold is decoded), which is the case
    # the target describes.
    w = "read_uncached"
    for side, label in (("blaze", "µs per point lookup, OS cache warm, SQLite cache 10 pages"),
                        ("blaze_nocache", "the same, blaze with `blaze_cache=0` "
                                          "(no page cache: every page read is decoded)")):
        if (w, "stock") not in runs or (w, side) not in runs or unsupported(runs, w, side):
            continue
        s, b = f(w, "stock", "us_per_lookup"), f(w, side, "us_per_lookup")
        dpl = f(w, side, "decodes_per_lookup")
        # One decode as blaze does it: against the store's dictionary when it has one
        # (read_table_dict), else plain.
        has_dict = any(r.get("dictionary_bytes") for r in runs[(w, side)])
        decode_table = "read_table_dict" if has_dict and ("read_table_dict", "lz4") in codecs \
            else "read_table"
        with_dict = " (with the dictionary)" if decode_table == "read_table_dict" else ""
        dec = codec_field(codecs, decode_table, "lz4", "decode_us")
        budget = None if None in (s, dpl, dec) else s + dpl * dec
        per_rep = []
        decode_by_rep = {r["rep"]: r["decode_us"] for r in codecs.get((decode_table, "lz4"), [])}
        stock_by_rep = {r["rep"]: r.get("us_per_lookup") for r in runs[(w, "stock")]}
        for rec in runs[(w, side)]:
            sr, d = stock_by_rep.get(rec["rep"]), decode_by_rep.get(rec["rep"], dec)
            if None not in (sr, d, rec.get("us_per_lookup"), rec.get("decodes_per_lookup")):
                # blaze's time over its budget: <= 1 meets the target.
                per_rep.append(rec["us_per_lookup"] / (sr + rec["decodes_per_lookup"] * d))
        over = paired_median(per_rep, ratio(b, budget))
        verdict_txt = goal_verdict(over, 1.0, True, per_rep)
        if over is not None:
            verdict_txt += f"; blaze / budget = {num(over)}"
        rows.append(["4. random read, uncached page", label, num(s), num(b),
                     num(paired_median(pairs(w, "us_per_lookup", side), ratio(b, s))),
                     f"≤ stock + {num(dpl)} LZ4 decodes{with_dict} × {num(dec)} µs = "
                     f"{num(budget)} µs",
                     verdict_txt])
    if not rows:
        return []
    md.append(table(["target", "measure", "stock", "blaze", "blaze/stock (median of pairs)",
                     "goal", "verdict"], rows))
    md.append("\nSizes: stock is the database file after the load (no journal remains); "
              "blaze is `stored_bytes` of `blaze_stats` (page file + store log) at that "
              "point. Target 4's budget: stock's time plus, for each page blaze decompressed "
              "per lookup (`decompressions` of `blaze_stats`), one LZ4 decode of a page of "
              "this very table as `codec_bench --db` times it (with `--dict` when blaze's "
              "store has a dictionary, as it decodes those pages against it); the verdict "
              "uses blaze's time "
              "over that budget in each repetition (≤ 1 meets it). Details in the two "
              "sections below.\n")
    return md


def size_section(runs, codecs, f):
    w = "text_size"
    if (w, "stock") not in runs or (w, "blaze") not in runs:
        return []
    sides = [v for v in ("blaze", "blaze_lz4hc") if (w, v) in runs and not unsupported(runs, w, v)]
    stock_b = f(w, "stock", "file_bytes")
    md = ["## Stored size of a text database\n"]
    md.append(f"`text_size` loads {num(f(w, 'stock', 'rows'))} documents (prose drawn with Zipf "
              "word frequencies from a 30,000-word vocabulary, titles, author names, ISO "
              "timestamps, a JSON metadata record with numbers; 1,000 per transaction, "
              "`journal_mode=DELETE`, SQLite's defaults) into "
              "`docs(id, created, author, title, body, meta)` with an index on "
              "`(author, created)`.")
    if stock_b is not None:
        md.append(f"Stock's file: {stock_b / 1e6:.1f} MB ({size(stock_b)}).")
    if stock_b is not None and stock_b < 100e6:
        md.append("This is quick mode's small version; `bench/run --full` loads a database "
                  "of more than 100 MB.")
    md.append("")
    header = ["", "stock"]
    for v in sides:
        header += [f"{v} ({params_of(runs, w, v) if v != 'blaze' else 'lz4'})", "/ stock"]

    def row(name, stock_v, key, fmt=size):
        """stock_v None: a figure stock does not have (no ratio either)."""
        out = [name, fmt(stock_v) if stock_v is not None else ""]
        for v in sides:
            b = f(w, v, key) if key else None
            out += [fmt(b), num(ratio(b, stock_v)) if None not in (b, stock_v) else ""]
        return out

    rows = [
        ["text in the rows (bytes of every value)", size(f(w, "stock", "text_bytes"))]
        + ["", ""] * len(sides),
        row("logical database (page_count × page_size)", f(w, "stock", "logical_bytes"),
            "logical_bytes"),
        row("after the load's last commit (blaze: page file + log)", stock_b,
            "after_load_stored_bytes"),
        row("… of which the store log", None, "after_load_log_bytes"),
        row("after `SELECT blaze_checkpoint()`", stock_b, "after_checkpoint_stored_bytes"),
        row("after `SELECT blaze_compact()`", stock_b, "after_compact_stored_bytes"),
        row("files in the folder after close", stock_b, "file_bytes"),
        row("… allocated on disk", f(w, "stock", "disk_bytes"), "disk_bytes"),
    ]
    bound = ["each page compressed alone (`codec_bench --db` on stock's file)",
             size(codec_field(codecs, w, "lz4", "raw_bytes"))]
    for v in sides:
        codec = "lz4hc" if v == "blaze_lz4hc" else "lz4"
        e = codec_field(codecs, w, codec, "encoded_bytes")
        bound += [size(e), num(codec_field(codecs, w, codec, "ratio"))]
    rows.append(bound)
    md.append(table(header, rows))
    md.append("\nStock's file is the same at every stage (no checkpoint applies to it). The "
              "last row is the bound a store of independently compressed pages can approach: "
              "the stock file's pages, each compressed alone by the codec, summed; what blaze "
              "stores beyond it is slot headers, 64-byte rounding, the page map and free "
              "extents.")
    if not f(w, "blaze", "has_blaze_checkpoint"):
        md.append(" This blaze.so has no `blaze_checkpoint()`: the figures after load include "
                  "the store log.")
    md.append("")
    return md


def read_section(runs, codecs, f):
    w = "read_uncached"
    if (w, "stock") not in runs or (w, "blaze") not in runs:
        return []
    s, b = f(w, "stock", "us_per_lookup"), f(w, "blaze", "us_per_lookup")
    reads = f(w, "blaze", "page_reads_per_lookup")
    dec = codec_field(codecs, "read_table", "lz4", "decode_us")
    md = ["## Random read of an uncached page\n"]
    md.append("`read_uncached`: uniform point lookups by primary key on a copy of the read "
              "workloads' table, in one read transaction, after reading every file of the "
              "database once (the OS page cache holds it) and with `PRAGMA cache_size=10` "
              "(SQLite's cache holds almost nothing, so most lookups read their leaf and some "
              "interior pages through the VFS).\n")
    diff = None if None in (s, b) else b - s
    rows = [
        ["µs per lookup", num(s), num(b)],
        ["p50 / p99 µs", f"{num(f(w, 'stock', 'p50_us'))} / {num(f(w, 'stock', 'p99_us'))}",
         f"{num(f(w, 'blaze', 'p50_us'))} / {num(f(w, 'blaze', 'p99_us'))}"],
        ["pages SQLite read per lookup", num(f(w, "stock", "page_reads_per_lookup")),
         num(reads)],
        ["reads that reached the OS per lookup", num(f(w, "stock", "os_reads_per_lookup")),
         num(f(w, "blaze", "os_reads_per_lookup"))],
        ["pages decompressed per lookup", "", num(f(w, "blaze", "decodes_per_lookup"))],
        ["blaze − stock per lookup, µs", "", num(diff)],
        ["blaze − stock per page read, µs", "",
         num(diff / reads) if diff is not None and reads else "n/a"],
        ["LZ4 decode of one page of this table, µs (`codec_bench --db`)", "", num(dec)],
        ["LZ4 encode of one page of this table, µs", "",
         num(codec_field(codecs, "read_table", "lz4", "encode_us"))],
        ["this table's pages compressed alone, encoded / raw", "",
         num(codec_field(codecs, "read_table", "lz4", "ratio"))],
    ]
    md.append(table(["", "stock", "blaze"], rows))
    md.append("\nThe decode time is `codec_bench --db` on the stock copy of the same table: "
              "every page compressed once with lz4 (blaze's default), then decompressed in "
              "file order until 200,000 pages were; the median over the repetitions. The "
              "target holds when blaze's extra time per page read is at most that decode.\n")
    return md


def correctness_section(runs):
    """Every blaze side's checks (bench/blaze_bench.cc Run::checks) against stock's."""
    problems, compared, checked = [], 0, 0
    for (w, side), recs in sorted(runs.items()):
        stock = {r["rep"]: r.get("checks") or {} for r in runs.get((w, "stock"), [])}
        for r in recs:
            for k, v in (r.get("checks") or {}).items():
                if k.startswith("quick_check"):
                    checked += 1
                    if v != "ok":
                        problems.append(f"`{w}` {side} rep {r['rep'] + 1}: {k} says `{v}`")
                    continue
                if side == "stock":
                    continue
                ref = stock.get(r["rep"], {}).get(k.removesuffix("_after_maintenance"))
                if ref is None:
                    continue
                compared += 1
                if v != ref:
                    problems.append(f"`{w}` {side} rep {r['rep'] + 1}: {k} = `{v}`, "
                                    f"stock `{ref}`")
    if not compared and not checked:
        return []
    md = ["## Correctness\n"]
    md.append(f"Each run also records results that must not depend on the VFS (the same seed "
              f"gives the same operations): a fingerprint of the table's content after the "
              f"write workloads (row count, sums over columns, id-weighted sums), the rows and "
              f"bytes the read workloads got back, and `PRAGMA quick_check`. {compared} "
              f"blaze results were compared with stock's of the same repetition, "
              f"{checked} quick_checks run.\n")
    if problems:
        md.append("**Mismatches (a bug of blaze, or of the bench):**\n")
        md.extend(f"- {p}" for p in problems)
    else:
        md.append("All identical; every quick_check said `ok`.")
    md.append("")
    return md


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
