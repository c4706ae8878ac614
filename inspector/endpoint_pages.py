"""Home (endpoints, create, paste a URL) and the endpoint inspector page with its list."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from flask import Blueprint, make_response, render_template, request, url_for

from . import live, request_counts
from .endpoint_input import InputError
from .curl import try_commands
from .events import CATALOGUE, RESOURCE_TYPES
from .models import MAX_ID, CapturedRequest, Endpoint, db
from .page_support import (capture_url, endpoint_fields, endpoint_input, endpoint_or_404,
                           error_field, go_to, page_or_fragment)
from .paste import host_of_paste, request_id_from_paste, token_from_paste
from .queries import RequestFilter, list_requests, parse_id
from .recheck import recheck_endpoint
from .signatures import STATUSES
from .storage import is_sqlite

bp = Blueprint("endpoints", __name__)
PAGE_SIZE = 50


def endpoint_stats() -> dict[int, tuple[int, Optional[datetime]]]:
    """Request count and last arrival of each endpoint that has requests.

    The count is the one triggers keep (request_counts.py): counting walked each
    endpoint's index, 46 ms (SQLite) and 55-83 ms (PostgreSQL) at 500,000 stored
    requests. The last arrival is the newest row's, one index probe.
    """
    cr = CapturedRequest
    counted = request_counts.counts(is_sqlite())
    last = (sa.select(cr.received_at).where(cr.endpoint_id == Endpoint.id)
            .order_by(cr.id.desc()).limit(1).scalar_subquery())
    rows = db.session.execute(
        sa.select(Endpoint.id, counted.c.requests, last)
        .join(counted, counted.c.endpoint_id == Endpoint.id)).all()
    return {endpoint_id: (n, arrived) for endpoint_id, n, arrived in rows if n}


def home_context(**extra: Any) -> dict[str, Any]:
    """The home page's endpoints with their stats, plus the form state."""
    endpoints = db.session.scalars(sa.select(Endpoint).order_by(Endpoint.id.desc())).all()
    return {"endpoints": endpoints, "stats": endpoint_stats(), "form": {}, **extra}


@bp.get("/")
def home():
    """Endpoints, how busy each is, and the two ways in: create one or paste a URL."""
    return render_template("home.html", **home_context())


@bp.post("/endpoints")
def create():
    """Create an endpoint from the form; errors go back into the form."""
    data = endpoint_input(request.form, creating=True)
    try:
        fields = endpoint_fields(data, creating=True)
    except InputError as exc:
        typed = bool(data.pop("secret", None))  # a secret is never echoed back into a page
        return page_or_fragment("home.html", "_endpoint_form.html", 422, **home_context(
            form=data, error=str(exc), field=error_field(exc.field), secret_typed=typed))
    endpoint = Endpoint(**fields)
    db.session.add(endpoint)
    db.session.commit()
    return go_to(url_for(".page", token=endpoint.token))


@bp.get("/open")
def open_pasted():
    """Open the endpoint a pasted capture URL, dashboard URL or token names (or the
    request a request link names)."""
    pasted = request.args.get("url", "")
    request_id = request_id_from_paste(pasted)
    if request_id is not None and request_id <= MAX_ID and db.session.scalar(
            sa.select(CapturedRequest.id).where(CapturedRequest.id == request_id)):
        # Only whether it exists: loading the row would read its body, up to 25 MiB.
        return go_to(url_for("dashboard.requests.detail", request_id=request_id))
    token = token_from_paste(pasted)
    if token and db.session.scalar(sa.select(Endpoint.id).where(Endpoint.token == token)):
        return go_to(url_for(".page", token=token))
    host = host_of_paste(pasted)
    if token and host and host != request.host.lower():
        message, status = (f"This inspector has no endpoint with that token. The URL names "
                           f"{host}: if that is another inspector, open its dashboard there, or "
                           "relay its requests to your app with `inspector forward <URL> --to "
                           "http://localhost:3000/webhooks`."), 404
    elif token:
        message, status = "This inspector has no endpoint with that token.", 404
    elif request_id is not None:
        message, status = f"This inspector has no request #{request_id}.", 404
    else:
        message, status = ("That is not a capture URL (…/hooks/<token>), a dashboard URL "
                           "(…/endpoints/<token>), a request link (…/requests/<id>) or a "
                           "token."), 400
    return page_or_fragment("open.html", "_open_result.html", status,
                            pasted=pasted, token=token, message=message)


def header_context(endpoint: Endpoint) -> dict[str, Any]:
    """The capture URL and ready commands to try it."""
    url = capture_url(endpoint)
    return {"capture_url": url,
            "commands": try_commands(url, endpoint.signature_header, bool(endpoint.secrets))}


def filter_choices() -> dict[str, list[str]]:
    """Options of the filter menus: the catalogue's types and statuses."""
    return {"event_types": list(CATALOGUE), "resource_types": list(RESOURCE_TYPES),
            "statuses": list(STATUSES)}


def list_context(endpoint: Endpoint, where: RequestFilter, before: Optional[int]) -> dict:
    """One page of the list and, for the newest page, where its live stream starts."""
    # The stream's start is taken before the list is read, so a request stored
    # in between is streamed (and dropped by the page if already listed), never lost.
    after = live.cursor_after(endpoint.id, None).id
    rows, next_before = list_requests(endpoint.id, where, before, PAGE_SIZE)
    args = where.as_args()
    return {
        "endpoint": endpoint, "rows": rows, "where": where, "before": before,
        "next_before": next_before, "filters": args, **header_context(endpoint),
        "live": before is None,
        "list_url": url_for(".page", token=endpoint.token, **args),
        "stream_url": url_for("dashboard.stream.rows", token=endpoint.token, after=after, **args),
        **filter_choices(),
    }


@bp.get("/endpoints/<token>")
def page(token: str):
    """The inspector page; for htmx the list (filters changed) or older rows (`before`)."""
    endpoint = endpoint_or_404(token)
    where = RequestFilter.from_args(request.args)
    before = parse_id(request.args.get("before"), "before")
    fragment = "_request_rows.html" if before is not None else "_request_list.html"
    return page_or_fragment("endpoint.html", fragment, **list_context(endpoint, where, before))


@bp.post("/endpoints/<token>/settings")
def save_settings(token: str):
    """Change name, secret, header, forward URL or auto-forward; a new secret re-checks
    stored requests."""
    endpoint = endpoint_or_404(token)
    data = endpoint_input(request.form, creating=False, current=endpoint.secrets or [])
    try:
        fields = endpoint_fields(data, creating=False, current=endpoint)
    except InputError as exc:
        data.pop("secrets", None)  # a secret is never echoed back into a page
        return page_or_fragment("settings.html", "_settings_form.html", 422, endpoint=endpoint,
                                form=data, error=str(exc), field=error_field(exc.field))
    recheck = any(name in fields and fields[name] != getattr(endpoint, name)
                  for name in ("secrets", "signature_header"))
    for name, value in fields.items():
        setattr(endpoint, name, value)
    db.session.commit()
    notice = "Saved."
    if recheck:
        checked = sum(recheck_endpoint(endpoint).values())
        what = "the stored request" if checked == 1 else f"{checked} stored requests"
        notice += f" Signatures of {what} checked again."
    typed = request.form.get("secret") or ""
    if typed != typed.strip():  # the classic paste mistake; the secret is kept as typed
        notice += (" The new secret starts or ends with a space or a line break, which counts:"
                   " if the provider's secret has none, save it again without.")
    if not request.htmx:
        return go_to(url_for(".page", token=token))
    response = make_response(render_template("_settings_saved.html", endpoint=endpoint,
                                             notice=notice, **header_context(endpoint)))
    if recheck:
        response.headers["HX-Trigger"] = "requests-changed"  # the list reloads itself
    return response
