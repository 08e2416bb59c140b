#!/usr/bin/python3
"""bench/runner.py: runs every workload and speedtest1 on stock SQLite and on blaze.

The measuring loop of the suite; bench/run calls it after building, and bench/report.py
turns what it writes into docs/benchmarks.md. Each run is a fresh process (so peak RSS is
per run) on a fresh copy of its data. Within each repetition the two VFSes run back to
back on the same workload, and the order flips every repetition (stock first, then blaze
first, ...), so a slow patch of the shared machine does not land on one side only.

Besides stock and blaze (default URI parameters), some workloads run extra blaze
configurations ("variants", e.g. blaze_journal=absorb), each a side of its own in the same
rotation. codec_bench measures the per-page LZ4 cost and ratio of the tables the
workloads use (the read table each repetition, the text database once).

Writes into OUT/: meta.json (mode, sizes, load averages, commands) and results.jsonl (one
line per run: a blaze_bench JSON line plus "rep", a parsed speedtest1 run, or a
codec_bench line with "kind": "codec").
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

# Sizes per mode. rows: the table of the read workloads and of bulk_load; rows_for: the
# workloads that load a table of another size (text_size: documents, about 1.9 KB of
# stored database each, so quick's 11k are ~20 MB and full's 56k ~105 MB; bulk_1txn:
# rows in its one transaction); reps_for: fewer repetitions for a long workload; ops:
# operations in each workload's measured phase (cold_scan and scan_os_warm: one scan per
# process, so blaze's cache is cold, and for cold_scan the kernel's too; text_size and
# bulk_1txn: unused, their operations are the rows). point_4threads*: issue 5's table,
# about ten times SQLite's default 2 MB page cache (110k rows, ~23 MB) and well inside
# blaze's default 64 MiB cache, the same in both modes.
MODES = {
    "quick": {
        "reps": 3,
        "rows": 50_000,
        "threads": 4,
        "speedtest1_size": 25,
        "speedtest1_reps": 1,
        "rows_for": {"text_size": 11_000, "bulk_1txn": 1_000_000, "point_4threads": 110_000,
                     "point_4threads_wal": 110_000},
        # bulk_1txn loads issue 4's 1M rows (about 30 s for the pair): once in quick mode.
        "reps_for": {"bulk_1txn": 1},
        "ops": {
            "bulk_load": 50_000,
            "bulk_1txn": 1,
            "txn_delete_full": 300,
            "txn_delete_normal": 100,
            "txn_wal_full": 1_000,
            "txn_wal_normal": 2_000,
            "point_uniform": 100_000,
            "point_zipf": 100_000,
            "read_uncached": 200_000,
            "range_scan": 20_000,
            "update_churn": 10_000,
            "mixed_threads": 40_000,
            "point_4threads": 200_000,
            "point_4threads_wal": 200_000,
            "cold_scan": 1,
            "scan_os_warm": 1,
            "text_size": 1,
        },
    },
    "full": {
        "reps": 5,
        "rows": 400_000,
        "threads": 4,
        "speedtest1_size": 100,
        "speedtest1_reps": 3,
        "rows_for": {"text_size": 56_000, "bulk_1txn": 1_000_000, "point_4threads": 110_000,
                     "point_4threads_wal": 110_000},
        "reps_for": {},
        "ops": {
            "bulk_load": 400_000,
            "bulk_1txn": 1,
            "txn_delete_full": 1_000,
            "txn_delete_normal": 500,
            "txn_wal_full": 3_000,
            "txn_wal_normal": 20_000,
            "point_uniform": 500_000,
            "point_zipf": 500_000,
            "read_uncached": 500_000,
            "range_scan": 100_000,
            "update_churn": 50_000,
            "mixed_threads": 200_000,
            "point_4threads": 800_000,
            "point_4threads_wal": 800_000,
            "cold_scan": 1,
            "scan_os_warm": 1,
            "text_size": 1,
        },
    },
}

# Workloads that start from a copy of the prepared table; the others start empty.
NEEDS_TABLE = {"point_uniform", "point_zipf", "read_uncached", "range_scan", "update_churn",
               "mixed_threads", "cold_scan", "scan_os_warm", "point_4threads",
               "point_4threads_wal"}
VFSES = ("stock", "blaze")
# Extra blaze sides per workload: (label, URI query of blaze_* parameters). A blaze.so
# that does not know a parameter yet makes that side report "unsupported" (n/a).
VARIANTS = {
    "txn_delete_full": [("blaze_absorb", "blaze_journal=absorb")],
    "text_size": [("blaze_lz4hc", "blaze_codec=lz4hc")],
    "read_uncached": [("blaze_nocache", "blaze_cache=0")],
}
SPEEDTEST_LINE = re.compile(r"^\s*(\d+) - (.*?)\.*\s+(\d+\.\d+)s\s*$")
SPEEDTEST_TOTAL = re.compile(r"^\s*TOTAL\.*\s+(\d+\.\d+)s\s*$")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def git_commit():
    """HEAD's short hash, marked when tracked files differ from it. The report's own
    outputs (docs/benchmarks.md, docs/bench/) do not count: an earlier run rewrote them."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!docs/benchmarks.md", ":!docs/bench"],
                               capture_output=True, text=True).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def fresh_dir(path, template=None):
    shutil.rmtree(path, ignore_errors=True)
    if template:
        shutil.copytree(template, path)
    else:
        os.makedirs(path)


def sides(workload):
    """(label, vfs, URI query) of every side that runs workload."""
    return [(v, v, "") for v in VFSES] + [(label, "blaze", params) for label, params
                                          in VARIANTS.get(workload, [])]


def run_bench(args, workload, vfs, dir_, rows, ops, threads, label=None, params=""):
    cmd = [args.bench, "--workload", workload, "--vfs", vfs, "--dir", dir_,
           "--rows", str(rows), "--ops", str(ops), "--threads", str(threads)]
    if vfs == "blaze":
        cmd += ["--module", args.module]
    if params:
        cmd += ["--params", params]
    if label:
        cmd += ["--label", label]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr}")
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["command"] = " ".join(cmd)
    return rec


def run_codec(args, db, codec, dictionary=False):
    """codec_bench --db: per-page encode/decode time and ratio of db's pages (with --dict:
    against a dictionary sampled from db as a store samples its own)."""
    cmd = [args.codec_bench, "--db", db, "--codec", codec] + (["--dict"] if dictionary else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stderr}")
    return {"kind": "codec", **json.loads(proc.stdout.strip().splitlines()[-1])}


def run_speedtest1(args, vfs, journal, size, dir_):
    db = os.path.join(dir_, "speedtest1.db")
    cmd = [args.speedtest1, "--size", str(size), "--journal", journal]
    env = dict(os.environ)
    env.pop("BLAZE_MODULE", None)
    if vfs == "blaze":
        cmd += ["--vfs", "blaze"]
        env["BLAZE_MODULE"] = args.module
    cmd.append(db)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    tests, total = [], None
    for line in proc.stdout.splitlines():
        if m := SPEEDTEST_LINE.match(line):
            tests.append({"id": int(m[1]), "name": m[2].strip(), "seconds": float(m[3])})
        elif m := SPEEDTEST_TOTAL.match(line):
            total = float(m[1])
    if not tests or total is None:
        sys.exit(f"bench: cannot parse speedtest1 output:\n{proc.stdout}")
    return {"kind": "speedtest1", "vfs": vfs, "journal": journal, "size": size,
            "tests": tests, "total": total, "command": " ".join(cmd[1:])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=MODES, default="quick")
    ap.add_argument("--reps", type=int, help="repetitions (default: the mode's)")
    ap.add_argument("--bench", required=True, help="path of blaze_bench")
    ap.add_argument("--module", required=True, help="path of blaze.so")
    ap.add_argument("--codec-bench", required=True, help="path of codec_bench")
    ap.add_argument("--speedtest1", help="path of the speedtest1 binary (omit to skip)")
    ap.add_argument("--only", nargs="*", help="run only these workloads")
    ap.add_argument("--out", required=True, help="results folder (emptied first)")
    args = ap.parse_args()
    args.module = os.path.abspath(args.module)
    mode = MODES[args.mode]
    reps = args.reps or mode["reps"]
    workloads = [w for w in mode["ops"] if not args.only or w in args.only]

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    data = os.path.join(args.out, "data")
    started = time.time()
    meta = {"mode": args.mode, "reps": reps, "rows": mode["rows"], "threads": mode["threads"],
            "ops": mode["ops"], "rows_for": mode["rows_for"],
            "reps_for": {w: min(r, reps) for w, r in mode["reps_for"].items()},
            "variants": {w: [{"label": l, "params": p} for l, p in v]
                         for w, v in VARIANTS.items()}, "speedtest1_size": mode["speedtest1_size"],
            "speedtest1_reps": mode["speedtest1_reps"], "loadavg_start": loadavg(),
            "commit": git_commit(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started))}
    results = open(os.path.join(args.out, "results.jsonl"), "w")

    def emit(record):
        results.write(json.dumps(record) + "\n")
        results.flush()

    # One prepared table per (VFS, row count): the mode's "rows", and any rows_for size of
    # a workload that starts from a table. Only the mode's size is reported as
    # "prepare"; the others as "prepare_<rows>".
    templates = {}
    sizes = sorted({mode["rows_for"].get(w, mode["rows"]) for w in workloads if w in NEEDS_TABLE})
    for rows in sizes:
        for vfs in VFSES:
            templates[(vfs, rows)] = os.path.join(data, f"table-{vfs}-{rows}")
            fresh_dir(templates[(vfs, rows)])
            log(f"preparing the {rows}-row table on {vfs}")
            rec = run_bench(args, "prepare", vfs, templates[(vfs, rows)], rows, 1, 1)
            if rows != mode["rows"]:
                rec["workload"] = f"prepare_{rows}"
            emit({**rec, "rep": 0})

    run_dir = os.path.join(data, "run")
    for rep in range(reps):
        for w in workloads:
            if rep >= mode["reps_for"].get(w, reps):
                continue
            # The order rotates every repetition (with two sides: flips).
            all_sides = sides(w)
            k = rep % len(all_sides)
            for label, vfs, params in all_sides[k:] + all_sides[:k]:
                rows = mode["rows_for"].get(w, mode["rows"])
                fresh_dir(run_dir, templates[(vfs, rows)] if w in NEEDS_TABLE else None)
                rec = run_bench(args, w, vfs, run_dir, rows, mode["ops"][w],
                                mode["threads"], label, params)
                rec["rep"] = rep
                emit(rec)
                if "unsupported" in rec:
                    log(f"rep {rep + 1}/{reps} {w:18} {label:12} n/a: {rec['unsupported']}")
                else:
                    log(f"rep {rep + 1}/{reps} {w:18} {label:12} {rec['ops_per_s']:12.1f} "
                        f"{rec['op_unit']}/s")
                if w == "text_size" and vfs == "stock" and rep == 0:
                    # How well the text database's own pages compress one by one: the
                    # bound a page store can approach.
                    for codec in ("lz4", "lz4hc"):
                        emit({**run_codec(args, os.path.join(run_dir, "bench.db"), codec),
                              "what": "text_size", "rep": rep})
            if w == "read_uncached":
                # The per-page decode cost of the table read_uncached reads (stock's copy:
                # the same rows, as plain pages), once per repetition; and the same against
                # a dictionary, which is how blaze's store decodes them once it has one.
                table_db = os.path.join(templates[("stock", mode["rows"])], "bench.db")
                emit({**run_codec(args, table_db, "lz4"), "what": "read_table", "rep": rep})
                emit({**run_codec(args, table_db, "lz4", dictionary=True),
                      "what": "read_table_dict", "rep": rep})
    shutil.rmtree(data, ignore_errors=True)

    if args.speedtest1 and not args.only:
        st_dir = os.path.join(args.out, "speedtest1")
        for rep in range(mode["speedtest1_reps"]):
            order = VFSES if rep % 2 == 0 else VFSES[::-1]
            for journal in ("delete", "wal"):
                for vfs in order:
                    fresh_dir(st_dir)
                    rec = run_speedtest1(args, vfs, journal, mode["speedtest1_size"], st_dir)
                    rec["rep"] = rep
                    emit(rec)
                    log(f"rep {rep + 1} speedtest1 --journal {journal:6} {vfs:5} "
                        f"total {rec['total']:.3f}s")
        shutil.rmtree(st_dir, ignore_errors=True)

    meta["loadavg_end"] = loadavg()
    meta["seconds"] = round(time.time() - started, 1)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    log(f"measured in {meta['seconds']} s")


if __name__ == "__main__":
    main()
