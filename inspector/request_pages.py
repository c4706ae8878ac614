"""The request detail: a side pane of the list and a shareable page at the same URL."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, url_for

from .models import CapturedRequest, Endpoint, db
from .page_support import capture_url, page_or_fragment
from .request_detail import describe
from .urls import base_url

bp = Blueprint("requests", __name__)


@bp.get("/requests/<id:request_id>")
def detail(request_id: int):
    """Headers, body, signature verdict, event dates and a replay command of one request."""
    req = db.session.get(CapturedRequest, request_id)
    if req is None:
        abort(404, description=f"No request #{request_id}: it was never captured, or its "
                               "endpoint's requests were cleared.")
    endpoint = db.session.get(Endpoint, req.endpoint_id)
    body_url = base_url() + url_for("api.get_body", request_id=req.id)
    shown = describe(req, capture_url(endpoint), body_url, endpoint.signature_header,
                     password=bool(current_app.config.get("PASSWORD")))
    return page_or_fragment("request.html", "_request_detail.html",
                            req=req, endpoint=endpoint, detail=shown,
                            list_url=url_for("dashboard.endpoints.page", token=endpoint.token))
