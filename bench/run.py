"""Every benchmark of issue 7 in one command; prints a table of figures and ratios.

    .venv/bin/python bench/run.py            # full run, about 9-12 minutes
    .venv/bin/python bench/run.py --quick    # smaller counts, under 3 minutes
    .venv/bin/python bench/run.py --only a,c --readme

Each ratio is against a baseline measured in the same run on the same machine:
a bare Flask app answering 204 under the same gunicorn settings, and httpbin
from PyPI in a venv of its own (made on first use, kept between runs). All
load goes to 127.0.0.1 and every server started here is stopped at the end.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import history  # noqa: E402
import latency  # noqa: E402
import memory  # noqa: E402
import multi_server  # noqa: E402
import throughput  # noqa: E402
from common import (BENCH, PG_BASE, ROOT, PgSchema, bare_server, bodies_file,  # noqa: E402
                    create_endpoint, ensure_httpbin_venv, gunicorn_defaults, inspector_server,
                    paced_load)

CHROMIUM = os.environ.get("INSPECTOR_BENCH_CHROMIUM", "/usr/bin/chromium")
MARK_START, MARK_END = "<!-- results:start -->", "<!-- results:end -->"

FULL = {"seconds": 15, "rounds": 3, "durability": True, "events": 200, "spacing": 0.02,
        "browser_events": 200, "history": 500_000, "samples": 40, "captures": 100_000, "retention_seconds": 8,
        "multi_events": 200, "idle_seconds": 10, "streams": 10}
QUICK = {"seconds": 5, "rounds": 1, "durability": False, "events": 200, "spacing": 0.008,
         "browser_events": 200, "history": 30_000, "samples": 15, "captures": 5_000, "retention_seconds": 4,
         "multi_events": 200, "idle_seconds": 4, "streams": 5}


class Table:
    """Rows of (section, measure, figure, baseline, ratio, target, verdict)."""

    def __init__(self):
        self.rows: list[tuple] = []

    def add(self, section, measure, figure, baseline="", ratio="", target="", ok=None):
        """One line; ok is True/False for a target, None when there is none."""
        verdict = "" if ok is None else ("yes" if ok else "**no**")
        self.rows.append((section, measure, figure, baseline, ratio, target, verdict))

    def markdown(self) -> str:
        """The table in Markdown."""
        head = ("| | measure | figure | baseline (same run) | ratio | target | met |\n"
                "|---|---|---|---|---|---|---|\n")
        return head + "\n".join("| " + " | ".join(str(c) for c in row) + " |"
                                for row in self.rows)


def ms(value: float) -> str:
    """Milliseconds, short."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.1f} ms"


def rate(figures: dict) -> str:
    """req/s with latency and errors."""
    return (f"{figures['rps']:,.0f} req/s (p50 {figures['p50_us'] / 1000:.1f} ms, "
            f"p99 {figures['p99_us'] / 1000:.1f} ms, {figures['errors']} errors)")


def machine() -> str:
    """CPU model, cores and memory of this machine."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB, {platform.platform()}"


def pg_available() -> bool:
    """Whether the PostgreSQL server answers."""
    try:
        with PgSchema("inspector_bench_probe"):
            return True
    except Exception:  # noqa: BLE001 - any failure means: skip PostgreSQL
        return False


def section_a(table: Table, work: Path, cfg: dict, venv: Path, pg: bool) -> dict:
    """Capture throughput against bare Flask and httpbin."""
    targets = throughput.run(work, venv, cfg["seconds"], cfg["rounds"], cfg["durability"], pg)
    bare, httpbin, lite = (targets[k].best() for k in ("bare", "httpbin", "sqlite"))
    table.add("a", "bare Flask 204 (baseline)", rate(bare))
    table.add("a", "httpbin /anything (baseline)", rate(httpbin))
    table.add("a", "inspector, SQLite", rate(lite), f"bare {bare['rps']:,.0f}",
              f"{lite['rps'] / bare['rps']:.2f}×", "≥ 0.5× bare", lite["rps"] >= 0.5 * bare["rps"])
    table.add("a", "inspector, SQLite vs httpbin", f"{lite['rps']:,.0f} req/s",
              f"httpbin {httpbin['rps']:,.0f}", f"{lite['rps'] / httpbin['rps']:.2f}×",
              "≥ 1.0× httpbin", lite["rps"] >= httpbin["rps"])
    # Best against best favours whichever target caught the machine's quicker moments;
    # a round against the httpbin round just before it shares them.
    pairs = [s["rps"] / h["rps"] for s, h in zip(targets["sqlite"].rounds,
                                                 targets["httpbin"].rounds)]
    table.add("a", "inspector, SQLite vs httpbin, round by round (each against the httpbin "
              "round just before it)", ", ".join(f"{p:.2f}×" for p in pairs), "",
              f"median {statistics.median(pairs):.2f}×")
    table.add("a", "inspector, SQLite p99 at 50 connections", ms(lite["p99_us"] / 1000),
              f"bare {ms(bare['p99_us'] / 1000)}", "", "< 50 ms", lite["p99_us"] < 50_000)
    _stored_row(table, "SQLite", lite)
    table.add("a", "server CPU per request, SQLite", f"{lite['cpu_us_per_request']:.0f} µs",
              f"bare {bare['cpu_us_per_request']:.0f} µs, httpbin "
              f"{httpbin['cpu_us_per_request']:.0f} µs",
              f"{lite['cpu_us_per_request'] / bare['cpu_us_per_request']:.2f}×")
    if "postgresql" in targets:
        pgf = targets["postgresql"].best()
        table.add("a", "inspector, PostgreSQL", rate(pgf), f"bare {bare['rps']:,.0f}",
                  f"{pgf['rps'] / bare['rps']:.2f}×", "≥ 0.35× bare",
                  pgf["rps"] >= 0.35 * bare["rps"])
        _stored_row(table, "PostgreSQL", pgf)
    else:
        table.add("a", "inspector, PostgreSQL", "not measured: PostgreSQL not reachable")
    if "sqlite_full" in targets:
        full = targets["sqlite_full"].best()
        table.add("a", "SQLite synchronous=FULL (durable against power loss)", rate(full),
                  f"NORMAL {lite['rps']:,.0f}", f"{full['rps'] / lite['rps']:.2f}×")
    return {k: t.rounds for k, t in targets.items()}


def _stored_row(table: Table, name: str, figures: dict) -> None:
    """Rows stored against 2xx answers counted by wrk (requests in flight at the end aside)."""
    extra = figures["stored"] - figures["acked"]
    ok = figures["errors"] == 0 and 0 <= extra <= 50
    table.add("a", f"rows stored vs acknowledged, {name}",
              f"{figures['stored']:,} stored / {figures['acked']:,} acknowledged",
              "", f"+{extra} in flight" if extra >= 0 else f"{extra} MISSING",
              "equal, 0 errors", ok)


def section_b(table: Table, work: Path, cfg: dict) -> dict:
    """Live latency on SQLite: same server and a second server on the same file, idle and
    under ~1k req/s of capture; then POST → row visible in Chromium."""
    results = {"bare": bare_answers(work, cfg)}
    data = work / "live"
    first = inspector_server("live-a", data, work).start()
    second = inspector_server("live-b", data, work).start()
    bodies = bodies_file(30_000, seed=13)
    try:
        token = create_endpoint(first)["token"]
        busy = create_endpoint(first)["token"]
        for where, poster in (("same server", first), ("cross-process", second)):
            for loaded in (False, True):
                label = f"SQLite, {where}, {'~1k req/s load' if loaded else 'idle'}"
                load = None
                if loaded:
                    load = paced_load(poster.url, f"/hooks/{busy}", bodies, cfg["events"],
                                      cfg["spacing"])
                got = latency.measure(first.url, poster.url, token, cfg["events"],
                                      cfg["spacing"], label)
                if load:
                    got["load_rps"] = load.wait()["rps"]
                results[label] = got
                _latency_row(table, "b", got, results["bare"])
        if latency.dashboard_present(first.url, token):
            if Path(CHROMIUM).exists():
                got = latency.measure_browser(first.url, token, cfg["browser_events"], 0.05,
                                              CHROMIUM)
                results["browser"] = got
                table.add("b", f"Chromium: POST → row visible (p50 {ms(got['p50_ms'])}, "
                          f"{got['received']}/{got['events']})", f"p95 {ms(got['p95_ms'])}",
                          "smee.io 2–3.5 ms to its listener (issue 7)", "", "p95 ≤ 150 ms",
                          got["p95_ms"] <= 150 and got["received"] == got["events"])
            else:
                table.add("b", "Chromium: POST → row visible", f"not measured: no {CHROMIUM}")
        else:
            table.add("b", "Chromium: POST → row visible",
                      "not measured: the dashboard page /endpoints/<token> is not there yet")
    finally:
        first.stop()
        second.stop()
        bodies.unlink(missing_ok=True)
    return results


_BARE_ANSWERS: dict = {}


def bare_answers(work: Path, cfg: dict) -> dict:
    """The live rows' baseline: bare Flask's own answers to the same paced POSTs, idle
    and under the same paced load; measured once a run, alone on the machine."""
    if not _BARE_ANSWERS:
        server = bare_server(work).start()
        bodies = bodies_file(30_000, seed=17)
        try:
            _BARE_ANSWERS["idle"] = latency.answer_times(server.url, cfg["events"], cfg["spacing"],
                                                         "bare idle")
            load = paced_load(server.url, "/hooks/busy", bodies, cfg["events"], cfg["spacing"])
            _BARE_ANSWERS["load"] = latency.answer_times(server.url, cfg["events"],
                                                         cfg["spacing"], "bare under load")
            _BARE_ANSWERS["load"]["load_rps"] = load.wait()["rps"]
        finally:
            server.stop()
            bodies.unlink(missing_ok=True)
    return _BARE_ANSWERS


def _latency_row(table: Table, section: str, got: dict, bare: dict) -> None:
    """One latency scenario: p50 and p95 against the issue's targets, beside bare
    Flask's own answer under the same pacing and load."""
    loaded = "load_rps" in got
    load = f", load {got['load_rps']:,.0f} req/s" if loaded else ""
    base = bare["load" if loaded else "idle"]
    base_load = f" under {base['load_rps']:,.0f} req/s" if loaded else ", idle"
    table.add(section, f"live: {got['label']} ({got['received']}/{got['events']} events{load})",
              f"p50 {ms(got['p50_ms'])}, p95 {ms(got['p95_ms'])} (the POST's own answer: "
              f"p50 {ms(got['post_p50_ms'])}, p95 {ms(got['post_p95_ms'])})",
              f"bare Flask's answer to the same POSTs{base_load}: p50 {ms(base['p50_ms'])}, "
              f"p95 {ms(base['p95_ms'])}", f"{got['p50_ms'] / base['p50_ms']:.1f}× (p50)",
              "p50 ≤ 10 ms, p95 ≤ 30 ms",
              got["p50_ms"] <= 10 and got["p95_ms"] <= 30 and got["received"] == got["events"])


def _history_rows(table: Table, got: dict, backend: str, how: str) -> None:
    """The size of one backend's history and the time of each read on it."""
    prefix = "" if backend == "SQLite" else f"{backend}: "
    table.add("c", f"history: {got['rows']:,} requests across 20 endpoints ({backend})",
              f"{got['bytes'] / 1e6:,.0f} MB on disk, {got['bytes_per_request']:,.0f} bytes"
              " per stored request", f"inserted in {got['insert_seconds']:.0f} s ({how})")
    if not got["dashboard"]:
        table.add("c", "endpoint page", "not measured: the dashboard page is not there yet")
    for name, read in got["reads"].items():
        limit = 500 if "search" in name else 50
        table.add("c", f"{prefix}{name} (HTTP {read['status']})",
                  f"p95 {ms(read['p95_ms'])} (p50 {ms(read['p50_ms'])})", "", "",
                  f"p95 ≤ {limit} ms", read["p95_ms"] <= limit and read["status"] == 200)


def section_c(table: Table, work: Path, cfg: dict, pg: bool) -> dict:
    """Large history on SQLite (with retention's pruning), then its reads on PostgreSQL."""
    got = history.run(work, cfg["history"], cfg["samples"], cfg["retention_seconds"])
    _history_rows(table, got, "SQLite", "executemany")
    ret = got["retention"]
    if not ret["present"]:
        table.add("c", "capture while retention prunes", "not measured: no retention setting")
    else:
        quiet, pruning = ret["quiet"], ret["pruning"]
        table.add("c", f"capture while retention prunes (INSPECTOR_MAX_REQUESTS={ret['keep']:,}; "
                  f"{ret['pruned']:,} rows pruned meanwhile)", rate(pruning),
                  f"no pruning {quiet['rps']:,.0f} req/s, p99 {quiet['p99_us'] / 1000:.0f} ms",
                  f"{pruning['rps'] / quiet['rps']:.2f}×", "no stall: ≥ 0.8×, p99 < 1 s",
                  pruning["rps"] >= 0.8 * quiet["rps"] and pruning["max_us"] < 1_000_000)
    if pg:
        got["postgres"] = history.run_postgres(work, cfg["history"], cfg["samples"])
        _history_rows(table, got["postgres"], "PostgreSQL", "COPY, then VACUUM ANALYZE")
    else:
        table.add("c", "history on PostgreSQL", "not measured: PostgreSQL not reachable")
    return got


def section_d(table: Table, work: Path, cfg: dict) -> dict:
    """Memory across many captures and for one 25 MiB body."""
    got = memory.run(work, cfg["captures"])
    table.add("d", f"server RSS (master + workers) across {got['captures']:,} captures",
              f"{got['rss_after'] / 2**20:.0f} MiB after (max {got['rss_max'] / 2**20:.0f}; "
              f"SQLite WAL file {got['wal_bytes'] / 2**20:.0f} MiB)",
              f"before {got['rss_before'] / 2**20:.0f} MiB", f"{got['growth']:+.1%}",
              "flat within 10%", abs(got["growth"]) <= 0.10)
    ratio = got["peak_rise"] / got["body_bytes"]
    table.add("d", f"peak RSS rise capturing a {got['body_bytes'] / 2**20:.0f} MiB body "
              f"(answers {', '.join(map(str, got['big_statuses']))})",
              f"{got['peak_rise'] / 2**20:.0f} MiB", f"body {got['body_bytes'] / 2**20:.0f} MiB",
              f"{ratio:.1f}×", "< 4× body", ratio < 4 and set(got["big_statuses"]) == {200})
    return got


def section_e(table: Table, work: Path, cfg: dict) -> dict:
    """Two servers on one PostgreSQL."""
    bare = bare_answers(work, cfg)
    got = multi_server.run(work, cfg["multi_events"], cfg["spacing"], cfg["idle_seconds"],
                           cfg["streams"])
    got["bare"] = bare
    for key in ("idle", "load", "full"):
        if key == "load":
            got[key]["load_rps"] = got["load_wrk"]["rps"]
        _latency_row(table, "e", got[key], bare)
    table.add("e", f"database cost of an idle live stream ({got['streams']} streams open; "
              "pg_stat_user_indexes scans of the stream's index)",
              f"{got['scans_per_stream_per_second']:.2f} queries/s per stream",
              f"all scans in the schema: {got['idle_scans_base']:.1f}/s with no stream, "
              f"{got['idle_scans_with_streams']:.1f}/s with them", "",
              "no polling storm (≤ 2/s per stream)", got["scans_per_stream_per_second"] <= 2)
    return got


def write_readme(text: str) -> None:
    """Put the latest table into bench/README.md between its markers."""
    readme = BENCH / "README.md"
    content = readme.read_text()
    start, end = content.index(MARK_START), content.index(MARK_END)
    readme.write_text(content[:start + len(MARK_START)] + "\n" + text + "\n" + content[end:])


def main() -> int:
    """Parse options, run the sections, print (and optionally keep) the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, under 3 minutes")
    parser.add_argument("--only", default="a,b,c,d,e", help="sections to run, e.g. a,c")
    parser.add_argument("--readme", action="store_true",
                        help="write the table into bench/README.md")
    parser.add_argument("--httpbin-venv", default=str(Path(tempfile.gettempdir())
                                                       / "inspector-bench-httpbin"))
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL
    sections = set(args.only.split(","))
    started = time.monotonic()
    load_start = Path("/proc/loadavg").read_text().split()[0]
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-"))
    table, raw = Table(), {}
    pg = pg_available()
    venv = ensure_httpbin_venv(Path(args.httpbin_venv)) if "a" in sections else None
    steps = [("a", lambda: section_a(table, work, cfg, venv, pg)),
             ("b", lambda: section_b(table, work, cfg)),
             ("c", lambda: section_c(table, work, cfg, pg)),
             ("d", lambda: section_d(table, work, cfg)),
             ("e", lambda: section_e(table, work, cfg) if pg else table.add(
                 "e", "two servers on one PostgreSQL", "not measured: PostgreSQL not reachable"))]
    try:
        for name, step in steps:
            if name in sections:
                print(f"== ({name}) ...", flush=True)
                began = time.monotonic()
                raw[name] = step()
                print(f"== ({name}) took {time.monotonic() - began:.0f} s", flush=True)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    g = gunicorn_defaults()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                      capture_output=True, text=True).stdout.strip():
        commit += " plus working tree"
    header = (f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
              f"{'quick' if args.quick else 'full'} mode, {time.monotonic() - started:.0f} s; "
              f"commit {commit}; {machine()}; Python {platform.python_version()}; "
              f"gunicorn {g['worker_class']} {g['workers']} workers × {g['threads']} threads "
              f"for every server; load average {load_start} at start, "
              f"{Path('/proc/loadavg').read_text().split()[0]} at end; PostgreSQL "
              f"{PG_BASE.split('@')[-1] if pg else 'not reachable'}.")
    text = header + "\n\n" + table.markdown()
    print("\n" + text)
    details = Path(tempfile.gettempdir()) / "inspector-bench-latest.json"
    details.write_text(json.dumps(raw, indent=1, default=str))
    print(f"\nevery figure of this run: {details}")
    if args.readme:
        write_readme(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
