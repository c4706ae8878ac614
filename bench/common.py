"""What every benchmark shares: servers in subprocesses, wrk, signed bodies, statistics."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
PG_BASE = os.environ.get("INSPECTOR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "whsec_bench_secret_0123456789"
WRK = "/usr/bin/wrk"
# A paced background load of about 1k captures/s: each connection waits this long
# between requests (wrk's delay()), so the rate is roughly connections / (delay + latency):
# 24 / (19 + ~5 ms) now that a capture answers in ~5 ms under this load. The table
# shows the rate each run reached.
LOAD_CONNECTIONS, LOAD_DELAY_MS = 24, 19

sys.path.insert(0, str(ROOT))
from inspector.signatures import sign  # noqa: E402


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


class Server:
    """A server process group we started; stopped by its own process group id only."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int, ready_path: str,
                 log_dir: Path):
        self.name, self.argv, self.port, self.ready_path = name, argv, port, ready_path
        self.env = {**os.environ, **env}
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_dir / f"{name}-{port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Server":
        """Start and wait until `ready_path` answers."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=str(ROOT))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()[-3000:]}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code < 500:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not come up:\n{self.output()[-3000:]}")

    def output(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        """The master and its workers (our process group)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.proc.pid:
                        found.append(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    pass
        return found

    def rss_bytes(self) -> dict[int, int]:
        """Resident memory of each process of the group."""
        sizes = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes[pid] = int(line.split()[1]) * 1024
            except FileNotFoundError:
                pass
        return sizes

    def worker_pids(self) -> list[int]:
        """The processes of the group other than the master."""
        return [pid for pid in self.pids() if pid != self.proc.pid]

    def stop(self) -> None:
        """TERM our process group, KILL it if it lingers."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            self.log.close()


def gunicorn_defaults() -> dict:
    """The worker settings `inspector serve` uses by default, to give the baselines the same."""
    from inspector import gunicorn_conf
    from inspector.settings import BY_NAME

    return {"workers": BY_NAME["INSPECTOR_WORKERS"].default,
            "threads": BY_NAME["INSPECTOR_THREADS"].default,
            "worker_class": gunicorn_conf.worker_class,
            "keepalive": gunicorn_conf.keepalive}


def gunicorn_flags() -> list[str]:
    """The same settings as gunicorn command-line flags."""
    g = gunicorn_defaults()
    return ["--workers", str(g["workers"]), "--threads", str(g["threads"]),
            "--worker-class", g["worker_class"], "--keep-alive", str(g["keepalive"]),
            "--log-level", "warning"]


def inspector_server(name: str, data_dir: Path, log_dir: Path, database_url: str = "",
                     extra_env: dict | None = None, port: int | None = None) -> Server:
    """`inspector serve` with default settings on the given store."""
    port = port or free_port()
    env = {"INSPECTOR_DATA_DIR": str(data_dir), "INSPECTOR_SECRET_KEY": "bench-key",
           "INSPECTOR_DATABASE_URL": database_url, **(extra_env or {})}
    return Server(name, [PYTHON, "-m", "inspector", "serve", "--port", str(port)], env, port,
                  "/api/endpoints", log_dir)


def bare_server(log_dir: Path) -> Server:
    """bench/bare_app.py under gunicorn with the inspector's worker settings."""
    port = free_port()
    argv = [PYTHON, "-m", "gunicorn", *gunicorn_flags(), "--bind", f"127.0.0.1:{port}",
            "--chdir", str(BENCH), "bare_app:app"]
    return Server("bare-flask", argv, {}, port, "/hooks/x", log_dir)


def httpbin_server(venv: Path, log_dir: Path) -> Server:
    """httpbin from PyPI, in its own venv, under gunicorn with the same worker settings."""
    port = free_port()
    argv = [str(venv / "bin" / "python"), "-m", "gunicorn", *gunicorn_flags(),
            "--bind", f"127.0.0.1:{port}", "httpbin:app"]
    return Server("httpbin", argv, {}, port, "/get", log_dir)


def ensure_httpbin_venv(venv: Path) -> Path:
    """pip install httpbin and gunicorn into a venv kept between runs."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import httpbin, gunicorn"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return venv
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "httpbin", "gunicorn"], check=True)
    return venv


def event_body(rng: random.Random, n: int, size: int = 1024) -> bytes:
    """A Protocol `message.created` webhook of exactly `size` bytes, with a unique event id."""
    envelope = {"id": f"evt_{n:09d}_{rng.randrange(16**8):08x}", "type": "message.created",
                "payload": {"id": "".join(rng.choices(string.ascii_letters, k=16)),
                            "conversation_id": "".join(rng.choices(string.ascii_letters, k=16)),
                            "message": "", "reactions": [], "attachments": [],
                            "created_at": 1718000000 + n}}
    bare = json.dumps(envelope, separators=(",", ":")).encode()
    envelope["payload"]["message"] = "x" * (size - len(bare))
    return json.dumps(envelope, separators=(",", ":")).encode()


def bodies_file(count: int, secret: str = SECRET, seed: int = 1) -> Path:
    """Write `count` signed bodies for capture.lua; returns the file."""
    rng = random.Random(seed)
    path = Path(tempfile.gettempdir()) / f"inspector-bench-bodies-{uuid.uuid4().hex[:8]}.tsv"
    with open(path, "wb") as out:
        for n in range(count):
            body = event_body(rng, n + seed * 10_000_000)
            out.write(sign(body, secret).encode() + b"\t" + body + b"\n")
    return path


def run_wrk(url: str, seconds: float, connections: int = 50, threads: int = 2,
            bodies: Path | None = None, header: str = "X-Protocol-Signature",
            paths: list[str] | None = None, delay_ms: int = 0) -> dict:
    """Run wrk with capture.lua (signed bodies, optionally several paths and a pace);
    returns the figures of its summary."""
    paths_file = "-"
    if paths:
        paths_file = str(Path(tempfile.gettempdir()) / f"inspector-bench-paths-{uuid.uuid4().hex[:8]}")
        Path(paths_file).write_text("\n".join(paths) + "\n")
    argv = [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s",
            "--timeout", "10s", "-s", str(BENCH / "capture.lua"), url, "--", str(bodies),
            header, paths_file, str(delay_ms)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        if paths:
            Path(paths_file).unlink(missing_ok=True)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            figures = json.loads(line[len("BENCH_JSON "):])
            figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
            figures["errors"] = sum(figures[k] for k in
                                    ("connect", "read", "write", "status", "timeout"))
            figures["acked"] = figures["requests"] - figures["status"]
            return figures
    raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")


class Wrk:
    """wrk running in the background (a paced load while something else is measured)."""

    def __init__(self, url: str, seconds: float, **options):
        import threading

        self.result: dict | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(url, seconds), kwargs=options,
                                        daemon=True)
        self._thread.start()

    def _run(self, url, seconds, **options) -> None:
        try:
            self.result = run_wrk(url, seconds, **options)
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc

    def wait(self) -> dict:
        """Its figures once it has finished."""
        self._thread.join()
        if self.error:
            raise self.error
        return self.result


def paced_load(url: str, path: str, bodies: Path, events: int, spacing: float) -> Wrk:
    """The paced background load of the latency scenarios (LOAD_CONNECTIONS, each
    pausing LOAD_DELAY_MS) on `path`, lasting while `events` POSTs `spacing` apart are
    measured; returns once it has run for a second."""
    load = Wrk(url, events * spacing * 1.3 + 4, connections=LOAD_CONNECTIONS, bodies=bodies,
               paths=[path], delay_ms=LOAD_DELAY_MS)
    time.sleep(1)
    return load


def create_endpoint(server: Server, secret: str = SECRET, **fields) -> dict:
    """Create an endpoint through the API."""
    response = httpx.post(server.url + "/api/endpoints",
                          json={"name": "bench", "secret": secret, **fields}, timeout=10)
    response.raise_for_status()
    return response.json()


def pg_url_for(schema: str) -> str:
    """A PostgreSQL URL whose connections all use `schema`."""
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


class PgSchema:
    """A schema of our own in the shared database, dropped at the end."""

    def __init__(self, prefix: str = "inspector_bench"):
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.url = pg_url_for(self.name)

    def __enter__(self) -> "PgSchema":
        self.execute(f"CREATE SCHEMA {self.name}")
        return self

    def __exit__(self, *exc) -> None:
        self.execute(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")

    def execute(self, sql: str, params=None, fetch: bool = False):
        """Run one statement on a short connection with our search_path."""
        import psycopg

        with psycopg.connect(PG_BASE, autocommit=True,
                             options=f"-csearch_path={self.name}") as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if fetch else None
