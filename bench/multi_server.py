"""(e) Many servers, one PostgreSQL: cross-server live latency and what idle streams cost.

What an idle stream costs the database is counted in PostgreSQL's own table
statistics for our schema (`pg_stat_user_tables`: sequential + index scans),
since pg_stat_statements is not loaded on this server: scans during a quiet
window with N idle streams open, minus a window with none, per stream per second.
"""
from __future__ import annotations

import time
from pathlib import Path

import latency
from common import (PgSchema, bodies_file, create_endpoint, inspector_server, paced_load,
                    run_wrk)

# A stream's reads go through the (endpoint_id, txid, id) index; the servers' own
# background work (auto-forward, retention) reads other tables and indexes.
SCANS = ("SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes"
         " WHERE schemaname = %s AND indexrelname = 'ix_captured_endpoint_txid'")
ALL_SCANS = ("SELECT coalesce(sum(seq_scan), 0) + coalesce(sum(idx_scan), 0)"
             " FROM pg_stat_user_tables WHERE schemaname = %s")
# A stream on an endpoint that holds as many requests as the default retention keeps
# (INSPECTOR_MAX_REQUESTS): its reads must not grow with the endpoint's history.
FULL_ENDPOINT = 10_000


def _scans(schema: PgSchema) -> tuple[int, int]:
    """(stream-index scans, all table scans) in our schema so far; statistics reach the
    views within about a second, so read them after a pause."""
    time.sleep(1.5)
    return (int(schema.execute(SCANS, (schema.name,), fetch=True)[0][0]),
            int(schema.execute(ALL_SCANS, (schema.name,), fetch=True)[0][0]))


def _idle_window(schema: PgSchema, server, tokens: list[str], seconds: float) -> tuple:
    """(stream-index scans/s, all scans/s) with a stream open on each token."""
    readers = []
    try:
        readers = [latency.StreamReader(server.url, token) for token in tokens]
        time.sleep(1)
        start, began = _scans(schema), time.monotonic()
        time.sleep(seconds)
        end = _scans(schema)
        elapsed = time.monotonic() - began
        return (end[0] - start[0]) / elapsed, (end[1] - start[1]) / elapsed
    finally:
        for reader in readers:
            reader.close()


def _fill(schema: PgSchema, server, token: str, rows: int, bodies: Path) -> int:
    """Capture into the endpoint until it holds `rows` requests (retention keeps that
    many); returns how many it holds."""
    held = 0
    for _ in range(10):
        run_wrk(server.url, 3, bodies=bodies, paths=[f"/hooks/{token}"])
        held = int(schema.execute(
            "SELECT count(*) FROM captured_requests r JOIN endpoints e ON e.id = r.endpoint_id"
            " WHERE e.token = %s", (token,), fetch=True)[0][0])
        if held >= rows:
            break
    return held


def run(work: Path, events: int, spacing: float, idle_seconds: float, streams: int) -> dict:
    """Two `inspector serve` on one schema; latency A→B idle, loaded, and on an endpoint
    full of history; idle stream cost."""
    result: dict = {}
    with PgSchema("inspector_bench_multi") as schema:
        first = inspector_server("pg-a", work / "pg-a", work, schema.url).start()
        second = inspector_server("pg-b", work / "pg-b", work, schema.url).start()
        bodies = bodies_file(30_000, seed=11)
        try:
            token = create_endpoint(first)["token"]
            busy = create_endpoint(first)["token"]
            result["idle"] = latency.measure(first.url, second.url, token, events, spacing,
                                             "pg cross-server idle")
            load = paced_load(second.url, f"/hooks/{busy}", bodies, events, spacing)
            result["load"] = latency.measure(first.url, second.url, token, events, spacing,
                                             "pg cross-server under load")
            result["load_wrk"] = load.wait()
            full = create_endpoint(first)["token"]
            held = _fill(schema, second, full, FULL_ENDPOINT, bodies)
            time.sleep(2)  # let retention settle before measuring
            result["full"] = latency.measure(
                first.url, second.url, full, events, spacing,
                f"pg cross-server idle, endpoint holding {held:,} requests")
            quiet = [create_endpoint(first)["token"] for _ in range(streams)]
            time.sleep(3)  # let the streams of the latency runs notice they were closed
            base = _idle_window(schema, first, [], idle_seconds)
            busy_rate = _idle_window(schema, first, quiet, idle_seconds)
            result["idle_scans_base"] = base[1]
            result["idle_scans_with_streams"] = busy_rate[1]
            result["streams"] = streams
            result["scans_per_stream_per_second"] = (busy_rate[0] - base[0]) / streams
        finally:
            first.stop()
            second.stop()
            bodies.unlink(missing_ok=True)
    return result

