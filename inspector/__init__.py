"""Webhook Inspector: capture, verify, diff and replay webhooks while you build."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Mapping, Optional

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> str:
    """`templates` or `static`: inside the package when installed from a wheel,
    at the top of the source tree when run from a checkout."""
    installed = PACKAGE_DIR / name
    return str(installed if installed.is_dir() else PACKAGE_DIR.parent / name)


def _secret_key(config: Mapping[str, Any]) -> str:
    """The configured key, or one generated once and kept beside the database."""
    if config.get("SECRET_KEY"):
        return config["SECRET_KEY"]
    path = Path(config["DATA_DIR"]).expanduser() / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def wants_json() -> bool:
    """API and capture URLs answer errors in JSON; pages answer in HTML."""
    return request.path.startswith(("/api/", "/hooks/")) or request.path in ("/api", "/hooks")


def _register_error_handlers(app: Flask) -> None:
    """No HTML error page and no bare 500 for scripts and webhook senders."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not wants_json():
            return exc
        return jsonify(error=exc.description or exc.name), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return jsonify(error="Internal error; the server log has the details."), 500
        return "Internal error; the server log has the details.", 500


def create_app(test_config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Application factory: defaults from settings, then the environment, then tests."""
    from . import (access, api, autoforward, csrf, hooks, live, resend_views, retention,
                   security_headers, settings, storage, urls)
    from . import diff_views
    from .dashboard import bp as dashboard_bp
    from flask_migrate import Migrate
    from htmx_flask import Htmx

    app = Flask(__name__, template_folder=resource_dir("templates"),
                static_folder=resource_dir("static"))
    app.config.from_mapping(settings.load())
    if test_config:
        app.config.update(test_config)
    app.config["SECRET_KEY"] = _secret_key(app.config)
    app.config["MAX_CONTENT_LENGTH"] = None  # the capture view enforces its own limit
    app.url_map.converters["id"] = urls.IdConverter  # before any route uses it

    storage.init_app(app)
    Migrate(app, storage.db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True)
    Htmx(app)
    access.init_app(app)
    csrf.init_app(app)
    security_headers.init_app(app)
    live.init_app(app)
    retention.init_app(app)
    hooks.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(dashboard_bp)
    resend_views.init_app(app)
    diff_views.init_app(app)
    autoforward.init_app(app)
    _register_error_handlers(app)
    return app
