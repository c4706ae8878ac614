"""Nothing lost: concurrent senders, a worker and then the whole server killed mid-load.

    python bench/reliability.py [--backend sqlite|postgresql] [--senders 50]
                                [--per-sender 60] [--workers 3] [--retention N]

50 senders post signed bodies of random bytes (each with a unique nonce) to
`inspector serve` under gunicorn. When a third of the planned requests are
acknowledged one worker gets SIGKILL; at two thirds the whole server (master
and workers) gets SIGKILL and is started again on the same port and store,
while senders keep retrying. At the end every acknowledged request must be
stored exactly once with its exact bytes. With --retention N the server keeps
N requests per endpoint and the run checks the store stays bounded instead.

Exit status 0 when every check holds; the summary line says what was measured.
All traffic goes to 127.0.0.1; the run is bounded by --per-sender and a deadline.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

SECRET = "reliability-secret"
PG_BASE = os.environ.get("INSPECTOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEADLINE_SECONDS = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`inspector serve` as a subprocess we can kill in pieces."""

    def __init__(self, env: dict, port: int, workers: int, log: Path):
        self.env, self.port, self.workers, self.log_path = env, port, workers, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "serve", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        for _ in range(300):
            try:
                if httpx.get(self.url + "/api/endpoints", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text()[-3000:])

    def workers_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [int(pid) for pid in children.split()]

    def kill_one_worker(self) -> int:
        pid = self.workers_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


class Senders:
    """Threads that post until each has had `per_sender` requests acknowledged."""

    def __init__(self, url: str, count: int, per_sender: int):
        self.url, self.count, self.per_sender = url, count, per_sender
        self.acknowledged: dict[int, str] = {}
        self.refused = 0
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def total(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def _one(self, index: int) -> None:
        rng = random.Random(index)
        done = 0
        with httpx.Client(timeout=10) as http:
            while done < self.per_sender and time.monotonic() < self.deadline:
                body = uuid.uuid4().bytes + rng.randbytes(rng.randint(50, 20_000))
                digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                try:
                    response = http.post(self.url, content=body,
                                         headers={"X-Protocol-Signature": digest})
                except httpx.HTTPError:
                    with self.lock:
                        self.refused += 1
                    time.sleep(0.05)  # server down or worker killed: try a new request
                    continue
                if 200 <= response.status_code < 300:
                    with self.lock:
                        self.acknowledged[response.json()["id"]] = hashlib.sha256(body).hexdigest()
                    done += 1

    def run_in_background(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._one, args=(i,), daemon=True)
                   for i in range(self.count)]
        for thread in threads:
            thread.start()
        return threads


def stored_rows(server: Server, token: str) -> list[dict]:
    rows, before = [], None
    while True:
        params = {"limit": 500, **({"before": before} if before else {})}
        page = httpx.get(f"{server.url}/api/endpoints/{token}/requests", params=params,
                         timeout=60).json()
        rows += page["requests"]
        before = page["next_before"]
        if before is None:
            return rows


def prepare_store(backend: str, data_dir: Path) -> tuple[dict, callable]:
    """Environment for the server and a cleanup function."""
    env = {**os.environ, "INSPECTOR_DATA_DIR": str(data_dir), "INSPECTOR_SECRET_KEY": "bench"}
    if backend == "sqlite":
        return env, lambda: None
    import sqlalchemy as sa

    schema = f"inspector_rel_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(PG_BASE.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    env["INSPECTOR_DATABASE_URL"] = f"{PG_BASE}?options=-csearch_path%3D{schema}"

    def drop():
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
    return env, drop


def run(backend: str, senders: int, per_sender: int, workers: int, retention: int) -> bool:
    """One full run; prints a summary and returns whether every check held."""
    data_dir = Path(tempfile.mkdtemp(prefix="inspector-reliability-"))
    env, cleanup = prepare_store(backend, data_dir)
    env["INSPECTOR_MAX_REQUESTS"] = str(retention)
    server = Server(env, free_port(), workers, data_dir / "server.log")
    try:
        server.start()
        token = httpx.post(server.url + "/api/endpoints", json={"secret": SECRET}).json()["token"]
        load = Senders(f"{server.url}/hooks/{token}", senders, per_sender)
        planned = senders * per_sender
        started = time.monotonic()
        threads = load.run_in_background()
        events = []
        while load.total() < planned // 3:
            time.sleep(0.01)
        events.append(f"SIGKILL worker {server.kill_one_worker()} at {load.total()} acks")
        while load.total() < 2 * planned // 3:
            time.sleep(0.01)
        server.kill_all()
        events.append(f"SIGKILL server at {load.total()} acks")
        time.sleep(0.5)
        server.start()
        events.append("restarted")
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if retention:
            time.sleep(2.5)  # pruning runs about once a second per worker
        rows = stored_rows(server, token)
        return report(backend, load, rows, planned, retention, elapsed, events, server, token)
    finally:
        server.stop()
        cleanup()


def report(backend, load, rows, planned, retention, elapsed, events, server, token) -> bool:
    """Check and print; True when everything holds."""
    by_id: dict[int, dict] = {}
    duplicates = 0
    for row in rows:
        duplicates += row["id"] in by_id
        by_id[row["id"]] = row
    acked = load.acknowledged
    problems = []
    if len(acked) < planned:
        problems.append(f"only {len(acked)} of {planned} acknowledged before the deadline")
    if retention:
        if len(rows) > retention:
            problems.append(f"{len(rows)} rows kept, retention is {retention}")
    else:
        missing = [i for i in acked if i not in by_id]
        wrong = [i for i in acked if i in by_id and by_id[i]["body_sha256"] != acked[i]]
        digests = [row["body_sha256"] for row in rows]
        twice = len(digests) - len(set(digests))
        if missing:
            problems.append(f"{len(missing)} acknowledged requests missing, e.g. {missing[:5]}")
        if wrong:
            problems.append(f"{len(wrong)} stored with other bytes, e.g. {wrong[:5]}")
        if twice or duplicates:
            problems.append(f"{twice + duplicates} bodies stored twice")
        sample = random.Random(0).sample(sorted(acked), min(200, len(acked)))
        for request_id in sample:
            body = httpx.get(f"{server.url}/api/requests/{request_id}/body", timeout=30).content
            if hashlib.sha256(body).hexdigest() != acked[request_id]:
                problems.append(f"raw body of {request_id} differs")
                break
    print(f"{backend}: {len(acked)} acknowledged, {len(rows)} stored, "
          f"{load.refused} refused while killed, {elapsed:.1f} s; " + "; ".join(events))
    for problem in problems:
        print(f"  FAIL: {problem}")
    if not problems:
        print("  OK: every acknowledged request stored once with its exact bytes"
              if not retention else f"  OK: store bounded at {len(rows)} <= {retention}")
    return not problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--per-sender", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--retention", type=int, default=0,
                        help="INSPECTOR_MAX_REQUESTS for the run; 0 checks exact storage")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok = all([run(b, args.senders, args.per_sender, args.workers, args.retention)
              for b in backends])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
