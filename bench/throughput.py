"""(a) Capture throughput: wrk -c50, signed 1 KiB JSON, against the inspector and two baselines.

Targets run in turn, round after round, so a burst of load from something else
on the machine hits all of them alike; each one's best round is reported.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from common import (PgSchema, Server, bare_server, bodies_file, create_endpoint,
                    httpbin_server, inspector_server, run_wrk)

# Spread over several endpoints so the default retention (INSPECTOR_MAX_REQUESTS,
# 10,000 per endpoint) deletes nothing during a run and stored rows can be counted.
ENDPOINTS = 8


def _cpu_seconds(server: Server) -> float:
    """User + system CPU of the server's processes so far."""
    total = 0
    for pid in server.pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total / 100


class Target:
    """One thing wrk hammers: how to start it, where to POST, how to count what it stored."""

    def __init__(self, name: str, start, stored=None):
        self.name, self._start, self._stored = name, start, stored
        self.rounds: list[dict] = []

    def run_round(self, seconds: float, bodies: Path) -> dict:
        """Start the server, warm it up, measure, count rows, stop it."""
        server, paths, cleanup = self._start()
        try:
            run_wrk(server.url, 2, bodies=bodies, paths=paths)  # warm-up, not counted
            time.sleep(0.5)  # let the warm-up's last requests commit before counting
            counted_from = self._stored() if self._stored else None
            cpu = _cpu_seconds(server)
            figures = run_wrk(server.url, seconds, bodies=bodies, paths=paths)
            figures["cpu_us_per_request"] = (
                1e6 * (_cpu_seconds(server) - cpu) / max(1, figures["requests"]))
            if self._stored:
                time.sleep(0.5)
                figures["stored"] = self._stored() - counted_from
            self.rounds.append(figures)
            return figures
        finally:
            server.stop()
            if cleanup:
                cleanup()

    def best(self) -> dict:
        """The round with the most requests per second."""
        return max(self.rounds, key=lambda f: f["rps"])


def inspector_target(name: str, work: Path, database: str = "sqlite",
                     extra_env: dict | None = None) -> Target:
    """`inspector serve` with default settings (plus extra_env) on a fresh store."""
    state: dict = {}

    def start():
        data = work / f"{name}-{time.monotonic_ns()}"
        data.mkdir(parents=True)
        cleanup = None
        url = ""
        if database == "postgresql":
            schema = PgSchema().__enter__()
            url, cleanup = schema.url, lambda: schema.__exit__(None, None, None)
            state["count"] = lambda: schema.execute(
                "SELECT count(*) FROM captured_requests", fetch=True)[0][0]
        else:
            db_path = data / "inspector.db"
            state["count"] = lambda: _sqlite_count(db_path)
        server = inspector_server(name, data, work, url, extra_env=extra_env).start()
        tokens = [create_endpoint(server)["token"] for _ in range(ENDPOINTS)]
        return server, [f"/hooks/{t}" for t in tokens], cleanup

    return Target(name, start, stored=lambda: state["count"]())


def _sqlite_count(path: Path) -> int:
    """Rows in a SQLite store, read by a separate connection."""
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM captured_requests").fetchone()[0]


def baseline_target(name: str, make, path: str) -> Target:
    """A baseline server: nothing stored."""
    def start():
        return make().start(), [path], None

    return Target(name, start)


def run(work: Path, httpbin_venv: Path, seconds: float, rounds: int,
        durability: bool, postgres: bool = True) -> dict[str, Target]:
    """Every target, `rounds` times in turn; returns them with their rounds."""
    bodies = bodies_file(60_000)
    targets = {
        "bare": baseline_target("bare-flask", lambda: bare_server(work), "/hooks/x"),
        "httpbin": baseline_target("httpbin", lambda: httpbin_server(httpbin_venv, work),
                                   "/anything"),
        "sqlite": inspector_target("inspector-sqlite", work),
    }
    if postgres:
        targets["postgresql"] = inspector_target("inspector-pg", work, "postgresql")
    if durability:
        targets["sqlite_full"] = inspector_target(
            "inspector-sqlite-full", work, extra_env={"INSPECTOR_SQLITE_SYNCHRONOUS": "FULL"})
    try:
        for round_no in range(rounds):
            for key, target in targets.items():
                if key == "sqlite_full" and round_no:
                    continue  # one round is enough for the durability comparison
                figures = target.run_round(seconds, bodies)
                print(f"  (a) round {round_no + 1} {target.name}: {figures['rps']:.0f} req/s, "
                      f"p99 {figures['p99_us'] / 1000:.1f} ms", flush=True)
    finally:
        bodies.unlink(missing_ok=True)
    return targets
