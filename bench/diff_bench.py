"""Benchmark diff_payloads on two ~5 MiB webhook batches against the cost of parsing them.

Run: .venv/bin/python bench/diff_bench.py [--objects N] [--runs N]

Both bodies are a JSON list of message events shaped like the provider's
(`{"id", "type", "payload": {"id", "message", "reactions", "created_at", ...}}`);
the right one has a few hundred field edits, insertions and deletions scattered
through it. The baseline is the unavoidable floor measured in the same run:
json.loads of both bodies plus json.dumps(indent=2, sort_keys=True) of both.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspector.diff import diff_payloads  # noqa: E402  (after the path fix above)


def token(rng: random.Random, size: int = 16) -> str:
    """A provider-style random id."""
    return "".join(rng.choices(string.ascii_letters + string.digits, k=size))


def event(rng: random.Random, n: int) -> dict:
    """One message event like the seeds' (about 260 bytes of JSON)."""
    moment = 692233200 + n * 7
    reactions = [{"emoji": "👍", "user_id": token(rng, 8)}] if n % 5 == 0 else []
    return {"id": token(rng), "type": rng.choice(["message.created", "message.updated"]), "payload": {
        "id": token(rng), "message": f"Order {n} is ready ({token(rng, 12)})", "reactions": reactions,
        "created_at": moment, "updated_at": moment, "conversation_id": token(rng, 12),
    }}


def bodies(objects: int, edits: int, seed: int = 7) -> tuple[bytes, bytes]:
    """Left and right bodies: right has `edits` changed, `edits`//3 inserted and removed events."""
    rng = random.Random(seed)
    left = [event(rng, n) for n in range(objects)]
    right = copy.deepcopy(left)
    for _ in range(edits):
        item = rng.choice(right)["payload"]
        item["message"] += " (edited)"
        item["updated_at"] += 60
    for n in range(edits // 3):
        right.insert(rng.randrange(len(right)), event(rng, objects + n))
        del right[rng.randrange(len(right))]
    return json.dumps(left).encode(), json.dumps(right).encode()


def timed(func, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run (CPU time shows through a busy machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        func()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def main() -> None:
    """Build the bodies, time baseline and diff, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    left, right = bodies(args.objects, args.edits)

    def baseline() -> None:
        """The floor: parse both bodies and pretty-print both with the standard library."""
        for body in (left, right):
            json.dumps(json.loads(body), indent=2, sort_keys=True, ensure_ascii=False)

    result = diff_payloads(left, right, "application/json", "application/json")
    base = timed(baseline, args.runs)
    diff = timed(lambda: diff_payloads(left, right, "application/json", "application/json"), args.runs)
    print(f"bodies: {len(left) / 2**20:.2f} MiB vs {len(right) / 2**20:.2f} MiB, {args.objects} events;"
          f" {len(result.changes)} changes, {result.unified.count(chr(10))} unified lines,"
          f" {len(result.rows)} side-by-side rows; {args.runs} runs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'what':<44} {'best s':>7} {'median s':>9} {'median CPU s':>13} {'x baseline':>11}")
    for name, (walls, cpus) in (("baseline: json.loads + pretty json.dumps, x2", base),
                                ("diff_payloads (structural+unified+rows)", diff)):
        ratio = statistics.median(walls) / statistics.median(base[0])
        print(f"{name:<44} {min(walls):>7.3f} {statistics.median(walls):>9.3f}"
              f" {statistics.median(cpus):>13.3f} {ratio:>11.2f}")


if __name__ == "__main__":
    main()
