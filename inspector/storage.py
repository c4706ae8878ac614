"""Database wiring: which URL, and the SQLite pragmas that make several workers safe."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from .models import db

SQLITE_BUSY_TIMEOUT_MS = 30_000


def database_url(config: dict) -> str:
    """The SQLAlchemy URL: the setting, or a SQLite file in the data folder."""
    url = config.get("DATABASE_URL") or ""
    if not url:
        data_dir = Path(config["DATA_DIR"]).expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / 'inspector.db'}"
    # Heroku-style URLs name no driver; psycopg 3 is the one we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(app: Flask | None = None) -> bool:
    """True when the store is the embedded SQLite file."""
    return db.engine.dialect.name == "sqlite"


def _sqlite_pragmas(synchronous: str):
    """Connect hook: WAL lets readers run beside the writer; the busy timeout
    makes concurrent writers wait for the lock instead of failing."""
    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
    return on_connect


def init_app(app: Flask) -> None:
    """Configure flask-sqlalchemy for the chosen store."""
    url = database_url(app.config)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    options = {}
    if url.startswith("sqlite"):
        synchronous = app.config.get("SQLITE_SYNCHRONOUS", "NORMAL").upper()
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"INSPECTOR_SQLITE_SYNCHRONOUS: unknown mode {synchronous!r}")
        options["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                   "check_same_thread": False}
        app.extensions["inspector.sqlite_synchronous"] = synchronous
    else:
        # A database server can restart under us; a SQLite file cannot, so only
        # server connections pay a ping on each checkout.
        options.update(pool_pre_ping=True, pool_size=10, max_overflow=40)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            sa.event.listen(db.engine, "connect",
                            _sqlite_pragmas(app.extensions["inspector.sqlite_synchronous"]))
