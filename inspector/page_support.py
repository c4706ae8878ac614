"""What the dashboard's views share: lookups, page-or-fragment answers, form input."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from flask import abort, make_response, redirect, render_template, request

from .endpoint_input import InputError, parse_endpoint
from .models import Endpoint, db
from .resend import TargetRefused
from .sender import refuse_own_capture
from .urls import base_url

# The text fields of the endpoint forms (the auto-forward box is read apart); anything
# else posted is ignored.
ENDPOINT_FIELDS = ("name", "secret", "signature_header", "forward_url")
# Sent by forms that show the auto-forward checkbox: an unticked box sends nothing, and
# this tells "unticked" from "not on this form" (a post that leaves the setting alone).
AUTO_FORWARD_SHOWN = "auto_forward_shown"
NO_SUCH_ENDPOINT = ("No endpoint has this token on this inspector. Check the URL, "
                    "or create an endpoint on the home page.")


def endpoint_or_404(token: str, missing: str = NO_SUCH_ENDPOINT) -> Endpoint:
    """The endpoint with this token, or a 404 saying `missing` (by default the dashboard's)."""
    found = db.session.scalar(sa.select(Endpoint).where(Endpoint.token == token))
    if found is None:
        abort(404, description=missing)
    return found


def wants_fragment() -> bool:
    """htmx asked for a piece of a page (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def page_or_fragment(page: str, fragment: str, status: int = 200, **context: Any):
    """One URL, two answers: the full page, or for htmx only the fragment it includes."""
    response = make_response(render_template(fragment if wants_fragment() else page, **context),
                             status)
    response.vary.add("HX-Request")
    return response


def go_to(url: str):
    """Navigate: a 303 for a plain form post, a full-page HX-Redirect for htmx."""
    if request.htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def capture_url(endpoint: Endpoint) -> str:
    """The absolute capture URL of an endpoint."""
    return f"{base_url()}/hooks/{endpoint.token}"


def endpoint_input(form: Mapping[str, str], *, creating: bool,
                   current: Sequence[str] = ()) -> dict[str, Any]:
    """Form fields in parse_endpoint's shape. On edit (`current`: the secrets now, newest
    first) an empty secret keeps them; a new one replaces them, or with `keep_secrets`
    goes in front of them (rotation: old and new both verify until the old is dropped);
    without a new one, `clear_secret` drops them all and `only_newest` the older ones."""
    data: dict[str, Any] = {name: form[name] for name in ENDPOINT_FIELDS if name in form}
    if AUTO_FORWARD_SHOWN in form or "auto_forward" in form:
        data["auto_forward"] = bool(form.get("auto_forward"))
    if creating:
        return data
    new = data.pop("secret", None)
    if new and form.get("keep_secrets"):
        data["secrets"] = [new, *(s for s in current if s != new)]
    elif new:  # what was typed wins over the boxes below
        data["secrets"] = [new]
    elif form.get("clear_secret"):
        data["secrets"] = []
    elif form.get("only_newest") and len(current) > 1:
        data["secrets"] = list(current[:1])
    return data


def endpoint_fields(data: Mapping[str, Any], *, creating: bool,
                    current: Endpoint | None = None) -> dict[str, Any]:
    """parse_endpoint, plus the checks that need the database: an update is checked
    against the endpoint as it is (`current`), and a forward URL that is one of this
    inspector's own capture URLs would capture every send again."""
    fields = parse_endpoint(data, creating=creating,
                            current_forward_url=current.forward_url if current else None)
    if fields.get("forward_url"):
        try:
            refuse_own_capture(fields["forward_url"])
        except TargetRefused as exc:
            raise InputError(f"forward_url: {exc}", "forward_url") from None
    return fields


def error_field(field: str | None) -> str | None:
    """The form field an InputError is about (the API says `secrets`, the form `secret`)."""
    return "secret" if field == "secrets" else field
