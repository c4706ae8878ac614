"""Run the app under gunicorn from Python, with the settings in gunicorn_conf."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from . import gunicorn_conf


class InspectorServer(BaseApplication):
    """gunicorn application that builds the Flask app in each worker."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Our gunicorn_conf module first, then the command line's choices."""
        for key in dir(gunicorn_conf):
            if key in self.cfg.settings:
                self.cfg.set(key, getattr(gunicorn_conf, key))
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Each worker builds its own app (and its own database connections)."""
        from . import create_app

        return create_app()


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> None:
    """Serve until stopped."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    InspectorServer({"bind": bind, "workers": workers, "threads": threads}).run()
