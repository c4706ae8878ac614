"""The shorter version of bench/reliability.py: kill a worker, then the server, lose nothing."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.server


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_acknowledged_request_survives_sigkill(backend):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reliability.py"), "--backend", backend,
         "--senders", "50", "--per-sender", "12", "--workers", "3"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: every acknowledged request stored once" in result.stdout
    assert "SIGKILL worker" in result.stdout and "SIGKILL server" in result.stdout


def test_retention_keeps_the_store_bounded_under_that_load():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reliability.py"), "--backend", "sqlite",
         "--senders", "50", "--per-sender", "12", "--retention", "200"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: store bounded" in result.stdout
