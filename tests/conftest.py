"""Shared fixtures: the app on SQLite and PostgreSQL, a real gunicorn server, Chromium."""
from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("INSPECTOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CHROMIUM = os.environ.get("INSPECTOR_TEST_CHROMIUM", "/usr/bin/chromium")
BACKENDS = ["sqlite", "postgresql"]


class PageLikeClient(FlaskClient):
    """A test client that sends the session's CSRF token on writes, as the dashboard's
    pages do (static/app.js for htmx, a hidden field in plain forms)."""

    def open(self, *args, **kwargs):
        if (kwargs.get("method") or "GET").upper() in ("POST", "PUT", "PATCH", "DELETE"):
            with self.session_transaction() as session:
                token = session.setdefault("csrf_token", secrets.token_urlsafe(16))
            kwargs["headers"] = {"X-CSRF-Token": token, **dict(kwargs.get("headers") or {})}
        return super().open(*args, **kwargs)


def make_app(config: dict):
    """create_app with the page-like test client."""
    from inspector import create_app

    app = create_app(config)
    app.test_client_class = PageLikeClient
    return app


def pg_url(schema: str) -> str:
    """A PostgreSQL URL whose connections all use their own schema."""
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_pg_schema(prefix: str):
    """A schema of our own in the `test` database, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_BASE.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield schema
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture(scope="session")
def pg_schema():
    """The schema of the in-process PostgreSQL app for the whole run."""
    with fresh_pg_schema("inspector_test") as schema:
        yield schema


@pytest.fixture
def pg_server_env():
    """Environment for real servers sharing one PostgreSQL schema of their own."""
    with fresh_pg_schema("inspector_srv") as schema:
        yield {"INSPECTOR_DATABASE_URL": pg_url(schema)}


def database_config(backend: str, tmp_path_factory, request) -> dict:
    """Settings for a fresh store of the given backend."""
    data_dir = tmp_path_factory.mktemp("data")
    config = {"DATA_DIR": str(data_dir), "TESTING": True, "SECRET_KEY": "test-key"}
    if backend == "postgresql":
        config["DATABASE_URL"] = pg_url(request.getfixturevalue("pg_schema"))
    return config


def _clear(db) -> None:
    """Empty every table between tests (faster than migrating a new store each time)."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(scope="session")
def migrated(tmp_path_factory, request):
    """One migrated store per backend for the whole run: {backend: config}."""
    from flask_migrate import upgrade

    from inspector import create_app
    from inspector.models import db

    stores = {}
    for backend in BACKENDS:
        config = database_config(backend, tmp_path_factory, request)
        app = create_app(config)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        stores[backend] = config
    return stores


@pytest.fixture(params=BACKENDS)
def app(request, migrated):
    """The app on each backend, with empty tables."""
    from inspector.models import db

    app = make_app(migrated[request.param])
    with app.app_context():
        _clear(db)
    yield app
    app.extensions["inspector.pruner"].stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(migrated):
    """The app on SQLite only, for tests that are not about storage."""
    from inspector.models import db

    app = make_app(migrated["sqlite"])
    with app.app_context():
        _clear(db)
    yield app
    app.extensions["inspector.pruner"].stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    """Test client of the app (both backends)."""
    return app.test_client()


@pytest.fixture
def endpoint(client):
    """A fresh endpoint with secret 'whsec_test_secret_12345'; its JSON."""
    response = client.post("/api/endpoints", json={"name": "Test", "secret": "whsec_test_secret_12345"})
    assert response.status_code == 201, response.json
    return response.json


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningServer:
    """`inspector serve` in a subprocess; its output is kept for failure messages."""

    def __init__(self, env: dict, workers: int = 2, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        password = env.get("INSPECTOR_PASSWORD")
        self.auth = {"Authorization": f"Bearer {password}"} if password else {}
        self.log_path = Path(env["INSPECTOR_DATA_DIR"]) / f"server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "RunningServer":
        """Start and wait until the dashboard answers."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", "serve", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(self.url + "/api/endpoints", timeout=1,
                             headers=self.auth).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not come up:\n{self.output()}")

    def output(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = 15) -> None:
        """Stop the whole process group (master and workers)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        if self.proc:
            self.log.close()


@pytest.fixture
def server_factory(tmp_path):
    """Start real servers sharing one data folder (and so one SQLite store)."""
    started: list[RunningServer] = []
    env = {"INSPECTOR_DATA_DIR": str(tmp_path), "INSPECTOR_SECRET_KEY": "test-key"}

    def start(workers: int = 2, extra_env: dict | None = None, port: int | None = None):
        server = RunningServer({**env, **(extra_env or {})}, workers=workers, port=port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def live_server(server_factory):
    """One real server (gunicorn, 2 workers) on SQLite."""
    return server_factory()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; console errors fail the test that caused them."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
