"""The wheel carries templates/ and static/, and a fresh venv serves the dashboard."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the project's wheel once."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    return next(out.glob("webhook_inspector-*.whl"))


def test_wheel_contains_templates_static_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "inspector/templates/base.html" in names
    assert "inspector/static/vendor/htmx-2.0.11.min.js" in names
    assert "inspector/static/vendor/htmx-2.0.11.LICENSE" in names
    assert any(n.startswith("inspector/migrations/versions/") for n in names)


def test_fresh_venv_serves_the_dashboard(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    port = free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen([str(env_dir / "bin" / "inspector"), "serve", "--port", str(port)],
                            env={**os.environ, "INSPECTOR_DATA_DIR": str(data)}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        home = None
        for _ in range(100):
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert home is not None and home.status_code == 200
        assert "Webhook Inspector" in home.text
        script = httpx.get(f"http://127.0.0.1:{port}/static/vendor/htmx-2.0.11.min.js")
        assert script.status_code == 200 and b"htmx" in script.content
        assert (data / "inspector.db").exists()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=15)
