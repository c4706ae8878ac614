"""(c) Large history: N stored requests across 20 endpoints, inserted directly, then timed reads.

Rows are written with executemany straight into a store that `inspector
migrate` created, shaped like real captures: 15 event types, a few thousand
objects per endpoint, most signatures valid, some invalid or missing, a few
provider retries (duplicate_of), ~1 KiB bodies and a dozen headers.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from common import (PG_BASE, PYTHON, ROOT, SECRET, PgSchema, Wrk, bodies_file, create_endpoint,
                    inspector_server, percentile, sign)

ENDPOINTS = 20
EVENT_TYPES = [f"{r}.{a}" for r in ("contact", "conversation", "message", "group", "attachment")
               for a in ("created", "updated", "deleted")]
RARE_WORD = "zanzibar"  # in about one body in 2,000: what a user searches for
COLUMNS = ("endpoint_id", "received_at", "method", "path", "query", "headers", "body",
           "content_type", "size", "body_sha256", "remote_addr", "rejected", "event_id",
           "event_type", "event_known", "resource_type", "resource_id", "signature_status",
           "signature", "duplicate_of")


def _rows(endpoint_ids: list[int], total: int, seed: int = 5):
    """Yield column tuples, oldest first, endpoints interleaved like real traffic."""
    import hashlib

    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first_of: dict[tuple, int] = {}
    objects = [f"obj{n:05d}" for n in range(2000)]
    for n in range(total):
        endpoint_id = endpoint_ids[n % len(endpoint_ids)]
        event_type = rng.choice(EVENT_TYPES)
        retry = n > 1000 and rng.random() < 0.02  # a provider's retry, same endpoint
        event_id = f"evt_{n - len(endpoint_ids) * rng.randrange(1, 40) if retry else n:09d}"
        resource_id = rng.choice(objects)
        words = RARE_WORD if rng.random() < 0.0005 else "hello"
        payload = {"id": resource_id, "conversation_id": f"conv{rng.randrange(500):04d}",
                   "message": f"{words} " + "x" * rng.randrange(600, 800),
                   "created_at": 1767225600 + n}
        body = json.dumps({"id": event_id, "type": event_type, "payload": payload},
                          separators=(",", ":")).encode()
        roll = rng.random()
        status = "valid" if roll < 0.85 else "invalid" if roll < 0.95 else "missing"
        signature = {"status": status, "header": "X-Protocol-Signature", "hints": [] if status
                     == "valid" else [{"code": "no_match", "message": "matches nothing we tried"}]}
        headers = [["host", "127.0.0.1:8420"], ["user-agent", "Protocol-Webhooks/1.0"],
                   ["content-type", "application/json"], ["content-length", str(len(body))],
                   ["accept", "*/*"], ["x-request-id", f"req-{n}"],
                   ["x-protocol-event", event_type], ["x-protocol-delivery", f"dlv-{n}"]]
        if status != "missing":
            headers.append(["x-protocol-signature", sign(body, SECRET) if status == "valid"
                            else "0" * 64])
        key = (endpoint_id, event_id)
        duplicate_of = first_of.get(key)
        first_of.setdefault(key, n + 1)  # ids are assigned in insertion order from 1
        received = start + timedelta(seconds=n * 0.5)
        yield (endpoint_id, received.replace(tzinfo=None).isoformat(" ", "microseconds"),
               "POST", "/", "", json.dumps(headers), body, "application/json", len(body),
               hashlib.sha256(body).hexdigest(), "127.0.0.1", None, event_id, event_type,
               1, event_type.split(".")[0], resource_id, status, json.dumps(signature),
               duplicate_of)


def build_sqlite(data_dir: Path, total: int) -> tuple[list[dict], float]:
    """Migrate a fresh store, create 20 endpoints, insert `total` rows; returns endpoints
    and the seconds the insert took."""
    env = {**os.environ, "INSPECTOR_DATA_DIR": str(data_dir), "INSPECTOR_SECRET_KEY": "bench"}
    subprocess.run([PYTHON, "-m", "inspector", "migrate"], env=env, check=True, cwd=ROOT,
                   capture_output=True)
    path = data_dir / "inspector.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    tokens = [f"benchhistory{n:02d}" + os.urandom(12).hex() for n in range(ENDPOINTS)]
    for token in tokens:
        conn.execute("INSERT INTO endpoints (token, name, secrets, signature_header, auto_forward,"
                     " response_status, created_at) VALUES (?, ?, ?, ?, 0, 200, ?)",
                     (token, "history", json.dumps([SECRET]), "X-Protocol-Signature", now))
    ids = [row[0] for row in conn.execute("SELECT id FROM endpoints ORDER BY id")]
    started = time.monotonic()
    sql = (f"INSERT INTO captured_requests ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(COLUMNS))})")
    rows = _rows(ids, total)
    while True:
        chunk = [row for _, row in zip(range(50_000), rows)]
        if not chunk:
            break
        conn.executemany(sql, chunk)
        conn.commit()
    seconds = time.monotonic() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    # Write the gigabyte just built out to disk now: left to the kernel's writeback,
    # it landed in whichever measurement came 30 s later (and in its fsyncs).
    os.sync()
    return [{"id": i, "token": t} for i, t in zip(ids, tokens)], seconds


def _timed(http: httpx.Client, url: str, samples: int) -> dict:
    """p50/p95 of GETting url `samples` times (after one untimed warm-up)."""
    http.get(url)
    times, status = [], None
    for _ in range(samples):
        started = time.perf_counter()
        response = http.get(url)
        times.append(1000 * (time.perf_counter() - started))
        status = response.status_code
    return {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "status": status}


def _sample_ids(conn, mark: str, endpoint_id: int) -> tuple[int, int, str]:
    """A request id 90% deep in one endpoint's history, a random one, and an object id
    (`mark`: the driver's parameter placeholder)."""
    count = conn.execute(f"SELECT count(*) FROM captured_requests WHERE endpoint_id = {mark}",
                         (endpoint_id,)).fetchone()[0]
    deep = conn.execute(f"SELECT id FROM captured_requests WHERE endpoint_id = {mark} ORDER BY id"
                        f" DESC LIMIT 1 OFFSET {mark}", (endpoint_id, int(count * 0.9))).fetchone()[0]
    some, resource = conn.execute(
        f"SELECT id, resource_id FROM captured_requests WHERE endpoint_id = {mark} ORDER BY id"
        f" LIMIT 1 OFFSET {mark}", (endpoint_id, count // 3)).fetchone()
    return deep, some, resource


def _time_reads(server, ep: dict, sample: tuple[int, int, str], samples: int,
                label: str = "") -> tuple[dict, bool]:
    """Time every page and API read on endpoint `ep`; ({name: figures}, dashboard there)."""
    deep, some, resource = sample
    base = f"{server.url}/api/endpoints/{ep['token']}/requests"
    page = f"{server.url}/endpoints/{ep['token']}"
    reads = {
        "API list, newest 50": base,
        "filter event_type": f"{base}?event_type=message.updated",
        "filter resource_type": f"{base}?resource_type=contact",
        "filter resource_id": f"{base}?resource_id={resource}",
        "filter signature=invalid": f"{base}?signature=invalid",
        "deep paging (before, 90% down)": f"{base}?before={deep}",
        "request detail (API)": f"{server.url}/api/requests/{some}",
        "free-text search (rare word)": f"{base}?q={RARE_WORD}",
        "free-text search (no match)": f"{base}?q=nosuchwordanywhere",
    }
    timed = {}
    with httpx.Client(timeout=60) as http:
        dashboard = http.get(page).status_code == 200
        if dashboard:
            reads = {"home page (every endpoint, its count and last arrival)": server.url + "/",
                     "endpoint page": page,
                     "endpoint page, deep (before)": f"{page}?before={deep}",
                     "endpoint page, filter event_type": f"{page}?event_type=message.updated",
                     "request detail page": f"{server.url}/requests/{some}", **reads}
        for name, url in reads.items():
            heavy = "search" in name
            timed[name] = _timed(http, url, max(5, samples // 4) if heavy else samples)
            print(f"  (c){label} {name}: p95 {timed[name]['p95_ms']:.1f} ms", flush=True)
    return timed, dashboard


def run(work: Path, total: int, samples: int, retention_seconds: float = 8) -> dict:
    """Build the history, time every read, then capture while retention prunes."""
    data = work / "history"
    data.mkdir(parents=True, exist_ok=True)
    endpoints, insert_seconds = build_sqlite(data, total)
    path = data / "inspector.db"
    size = sum(p.stat().st_size for p in data.glob("inspector.db*"))
    result = {"rows": total, "insert_seconds": insert_seconds, "bytes": size,
              "bytes_per_request": size / total, "reads": {}}
    # No retention while reading: the reads must see the whole history.
    server = inspector_server("history", data, work, extra_env={"INSPECTOR_MAX_REQUESTS": "0"})
    server.start()
    try:
        with sqlite3.connect(path) as conn:
            sample = _sample_ids(conn, "?", endpoints[3]["id"])
        result["reads"], result["dashboard"] = _time_reads(server, endpoints[3], sample, samples)
    finally:
        server.stop()
    result["retention"] = _retention(work, data, endpoints, retention_seconds)
    return result


def run_postgres(work: Path, total: int, samples: int) -> dict:
    """The same history and reads on PostgreSQL (the many-servers deployment), in a
    schema of its own: rows written with COPY, then VACUUM ANALYZE, as autovacuum
    would in time."""
    import psycopg

    with PgSchema("inspector_bench_history") as schema:
        env = {**os.environ, "INSPECTOR_DATA_DIR": str(work / "pg-history"),
               "INSPECTOR_SECRET_KEY": "bench", "INSPECTOR_DATABASE_URL": schema.url}
        subprocess.run([PYTHON, "-m", "inspector", "migrate"], env=env, check=True, cwd=ROOT,
                       capture_output=True)
        with psycopg.connect(PG_BASE, options=f"-csearch_path={schema.name}") as conn:
            tokens = [f"benchhistory{n:02d}" + os.urandom(12).hex() for n in range(ENDPOINTS)]
            for token in tokens:
                conn.execute("INSERT INTO endpoints (token, name, secrets, signature_header,"
                             " auto_forward, response_status, created_at)"
                             " VALUES (%s, 'history', %s, 'X-Protocol-Signature', false, 200, now())",
                             (token, json.dumps([SECRET])))
            ids = [row[0] for row in conn.execute("SELECT id FROM endpoints ORDER BY id")]
            started = time.monotonic()
            with conn.cursor().copy(f"COPY captured_requests ({', '.join(COLUMNS)}) FROM STDIN") \
                    as copy:
                for row in _rows(ids, total):
                    # _rows() spells the time and flag as SQLite stores them.
                    copy.write_row((*row[:1], row[1] + "+00", *row[2:14], bool(row[14]),
                                    *row[15:]))
            conn.commit()
            seconds = time.monotonic() - started
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")
            size = conn.execute("SELECT pg_total_relation_size('captured_requests')").fetchone()[0]
            endpoints = [{"id": i, "token": t} for i, t in zip(ids, tokens)]
            sample = _sample_ids(conn, "%s", endpoints[3]["id"])
        result = {"rows": total, "insert_seconds": seconds, "bytes": size,
                  "bytes_per_request": size / total}
        server = inspector_server("pg-history", work / "pg-history", work, schema.url,
                                  extra_env={"INSPECTOR_MAX_REQUESTS": "0"}).start()
        try:
            result["reads"], result["dashboard"] = _time_reads(server, endpoints[3], sample,
                                                               samples, " PostgreSQL")
        finally:
            server.stop()
    return result


def _retention(work: Path, data: Path, endpoints: list[dict], seconds: float) -> dict:
    """Capture speed with default retention: first on a fresh endpoint (nothing to prune),
    then on one with a backlog over the limit (pruned while the load runs)."""
    from inspector.settings import BY_NAME

    setting = BY_NAME.get("INSPECTOR_MAX_REQUESTS")
    if setting is None:
        return {"present": False}
    path = data / "inspector.db"
    backlog = endpoints[0]
    before = _count(path, backlog["id"])
    # The default limit when the backlog is well over it (the full run); a smaller
    # history (--quick) gets a limit of a third of it, so there is something to prune.
    keep = setting.default if before >= 2 * setting.default else before // 3
    bodies = bodies_file(30_000, seed=9)
    server = inspector_server("retention", data, work,
                              extra_env={"INSPECTOR_MAX_REQUESTS": str(keep)}).start()
    try:
        fresh = create_endpoint(server)["token"]
        quiet = Wrk(server.url, seconds, bodies=bodies, paths=[f"/hooks/{fresh}"]).wait()
        pruning = Wrk(server.url, seconds, bodies=bodies,
                      paths=[f"/hooks/{backlog['token']}"]).wait()
        time.sleep(2)
        after = _count(path, backlog["id"])
    finally:
        server.stop()
        bodies.unlink(missing_ok=True)
    return {"present": True, "keep": keep, "backlog_before": before, "after": after,
            "quiet": quiet, "pruning": pruning,
            "pruned": before + pruning["acked"] - after}


def _count(path: Path, endpoint_id: int) -> int:
    """Rows of one endpoint."""
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM captured_requests WHERE endpoint_id = ?",
                            (endpoint_id,)).fetchone()[0]
