"""The `inspector` command: serve, send, migrate (and forward)."""
from __future__ import annotations

import os
import sys

import click
import sqlalchemy as sa

from .access import is_loopback_bind
from .events import CATALOGUE
from .settings import BY_NAME


def _apply_migrations(app) -> None:
    """Bring the schema up to date, keeping the user's data."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def _default_endpoint(app) -> str:
    """The newest endpoint's token; a first run creates one so a capture URL works at once."""
    from .models import Endpoint, db

    with app.app_context():
        token = db.session.scalar(sa.select(Endpoint.token).order_by(Endpoint.id.desc()))
        if token is None:
            endpoint = Endpoint(name="My first endpoint")
            db.session.add(endpoint)
            db.session.commit()
            token = endpoint.token
        return token


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="webhook-inspector")
def main() -> None:
    """Webhook Inspector: capture, verify, diff and replay webhooks."""


@main.command()
@click.option("--host", default=None, help=BY_NAME["INSPECTOR_HOST"].help)
@click.option("--port", type=int, default=None, help=BY_NAME["INSPECTOR_PORT"].help)
@click.option("--workers", type=int, default=None, help=BY_NAME["INSPECTOR_WORKERS"].help)
@click.option("--threads", type=int, default=None, help=BY_NAME["INSPECTOR_THREADS"].help)
def serve(host: str | None, port: int | None, workers: int | None, threads: int | None) -> None:
    """Apply migrations and run the inspector under gunicorn."""
    from . import create_app
    from .server import run_gunicorn

    app = create_app()
    host = host or app.config["HOST"]
    port = port or app.config["PORT"]
    _apply_migrations(app)
    token = _default_endpoint(app)
    # Workers build their own app from the environment: pass the choices on.
    os.environ["INSPECTOR_HOST"], os.environ["INSPECTOR_PORT"] = host, str(port)
    if not is_loopback_bind(host) and not app.config["PASSWORD"]:
        click.secho(f"WARNING: listening on {host} without INSPECTOR_PASSWORD: anyone who can "
                    "reach this address can read your webhooks and secrets' effects. "
                    "Set INSPECTOR_PASSWORD.", fg="red", bold=True, err=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = (app.config["PUBLIC_URL"] or f"http://{shown}:{port}").rstrip("/")
    click.echo(f"Dashboard:   {base}/")
    click.echo(f"Capture URL: {base}/hooks/{token}")
    click.echo(f"Store:       {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    sys.stdout.flush()
    run_gunicorn(host, port, workers or app.config["WORKERS"], threads or app.config["THREADS"])


@main.command()
def migrate() -> None:
    """Apply database migrations and exit (the Procfile's release step)."""
    from . import create_app

    _apply_migrations(create_app())
    click.echo("Database is up to date.")


EVENT_LIST = "\n".join(f"  {name:<22} {t.description}" for name, t in CATALOGUE.items())


@main.command(epilog="\b\nEvent types:\n" + EVENT_LIST)
@click.argument("event_type", metavar="EVENT_TYPE")
@click.option("--url", required=True, help="Capture URL (or your app's URL) to send to.")
@click.option("--secret", default="", help="Webhook secret to sign with; empty: unsigned.")
@click.option("--header", default="X-Protocol-Signature", show_default=True,
              help="Signature header name, e.g. x-Cribbly-signature for a white-label copy.")
@click.option("--object-id", default=None, help="payload.id to use, to send events about one object.")
def send(event_type: str, url: str, secret: str, header: str, object_id: str | None) -> None:
    """Send a realistic, correctly signed sample event of EVENT_TYPE to URL."""
    import httpx

    from .samples import sample_body
    from .signatures import InvalidHeaderName, sign, validate_header_name

    if event_type not in CATALOGUE:
        raise click.BadParameter(f"choose one of: {', '.join(CATALOGUE)}", param_hint="EVENT_TYPE")
    try:
        header = validate_header_name(header)
    except InvalidHeaderName as exc:
        raise click.BadParameter(str(exc), param_hint="--header") from None
    body = sample_body(event_type, object_id=object_id)
    headers = {"Content-Type": "application/json", "User-Agent": "webhook-inspector-send"}
    if secret:
        headers[header] = sign(body, secret)
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"could not send to {url}: {exc}") from None
    click.echo(f"--> {event_type} {len(body)} bytes{' signed' if secret else ' unsigned'}")
    click.echo(f"<-- {response.status_code} {response.text[:200]}")
    if response.status_code >= 400:
        sys.exit(1)


@main.command()
@click.argument("inspector_url", metavar="CAPTURE_OR_DASHBOARD_URL")
@click.option("--to", "to", required=True, metavar="URL",
              help="Your app's webhook URL, e.g. http://localhost:3000/webhooks.")
@click.option("--state-file", type=click.Path(dir_okay=False), default=None,
              help="Where the last relayed request id is kept. Default: a file per inspector "
                   "and endpoint under INSPECTOR_DATA_DIR/forward-state.")
@click.option("--password", envvar="INSPECTOR_PASSWORD", default="", show_envvar=True,
              help="The inspector's INSPECTOR_PASSWORD, when it has one.")
@click.option("--no-path", is_flag=True, help="Do not append the capture URL's sub-path to --to.")
def forward(inspector_url: str, to: str, state_file: str | None, password: str,
            no_path: bool) -> None:
    """Relay every new request of a running inspector to your local app, byte-exact.

    Resumes after the last relayed request (after a dropped connection, a
    restart, or a laptop that slept), so nothing is skipped or sent twice.
    """
    from pathlib import Path

    from .forwarder import Forwarder, ForwardError, StateFile, default_state_file, parse_source
    from .sender import Policy
    from .settings import load

    config = load()
    try:
        source = parse_source(inspector_url)
        path = Path(state_file) if state_file else default_state_file(config["DATA_DIR"], source)
        relay = Forwarder(source, to, Policy.from_config(config), StateFile(path, source),
                          echo=lambda line: click.echo(line), password=password,
                          append_path=not no_path)
        relay.check()
        relay.run()
    except ForwardError as exc:
        raise click.ClickException(str(exc)) from None
