"""(d) Memory: server RSS across many captures, and the peak while capturing a 25 MiB body."""
from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from common import SECRET, bodies_file, create_endpoint, inspector_server, run_wrk, sign

MIB = 1024 * 1024


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1]) * 1024
    return found


def run(work: Path, captures: int) -> dict:
    """RSS of the server (master + workers) before and after `captures` captures, then the
    peak growth of a worker capturing a body of exactly INSPECTOR_MAX_BODY_BYTES."""
    data = work / "memory"
    data.mkdir(parents=True, exist_ok=True)
    server = inspector_server("memory", data, work).start()
    bodies = bodies_file(50_000, seed=3)
    try:
        tokens = [create_endpoint(server)["token"] for _ in range(20)]
        paths = [f"/hooks/{t}" for t in tokens]
        run_wrk(server.url, 2, bodies=bodies, paths=paths)  # warm-up: imports, caches, pools
        before = sum(server.rss_bytes().values())
        done, samples = 0, []
        while done < captures:
            seconds = min(10, max(2, (captures - done) / 900))
            figures = run_wrk(server.url, seconds, bodies=bodies, paths=paths)
            done += figures["acked"]
            samples.append(sum(server.rss_bytes().values()))
        after = sum(server.rss_bytes().values())
        wal = data / "inspector.db-wal"
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        big = _big_body(server, tokens[0])
    finally:
        server.stop()
        bodies.unlink(missing_ok=True)
    return {"captures": done, "rss_before": before, "rss_after": after,
            "rss_max": max(samples), "growth": (after - before) / before,
            "wal_bytes": wal_bytes, **big}


def _big_body(server, token: str) -> dict:
    """Send a 25 MiB signed body three times; the largest rise of any worker's peak RSS."""
    body = os.urandom(25 * MIB // 2).hex().encode()  # 25 MiB of text
    headers = {"Content-Type": "application/octet-stream",
               "X-Protocol-Signature": sign(body, SECRET)}
    rises, statuses = [], []
    for _ in range(3):
        workers = server.worker_pids()
        for pid in workers:  # reset each worker's high-water mark
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        base = {pid: _status(pid)["VmRSS"] for pid in workers}
        answer = httpx.post(f"{server.url}/hooks/{token}", content=body, headers=headers,
                            timeout=120)
        statuses.append(answer.status_code)
        time.sleep(0.2)
        rises.append(max(_status(pid)["VmHWM"] - base[pid] for pid in workers))
    return {"body_bytes": len(body), "peak_rise": max(rises), "big_statuses": statuses}
