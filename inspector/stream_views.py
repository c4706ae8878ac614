"""The live list: new rows as server-sent events of HTML, for htmx's sse extension."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context

from . import live
from .api import last_event_id, sse_message
from .models import db
from .page_support import endpoint_or_404
from .queries import RequestFilter

bp = Blueprint("stream", __name__)


def sse_notice(event: str, data: str) -> str:
    """A named event of our own (one line of data we wrote, never captured text) without
    an `id:`, so a reconnect still resumes after the last row."""
    return f"event: {event}\ndata: {data}\n\n"


@bp.get("/endpoints/<token>/stream")
def rows(token: str):
    """Each new request matching the filters as one `request` event holding its list row.

    Every event carries `id: <request id>`, so a reconnecting EventSource sends
    Last-Event-ID and gets exactly the rows it missed; `?after=` does the same
    for a fresh connection (the page sets it to where its list ends). Besides:
    `cleared` (data: the id up to which every row is gone) when the endpoint's
    requests were cleared, and a last `ended` (data: `deleted` or `login`) when
    the endpoint is deleted or the login that opened the stream no longer holds.
    """
    endpoint = endpoint_or_404(token)
    where = RequestFilter.from_args(request.args)
    narrow = where.apply if where.as_args() else None  # unfiltered: one query a read
    cursor = live.cursor_after(endpoint.id, last_event_id())
    endpoint_id = endpoint.id
    db.session.remove()  # an open stream must not hold a transaction
    app = current_app._get_current_object()
    keepalive = app.config["STREAM_KEEPALIVE"]
    still_allowed = live.login_check(app)

    def messages():
        yield "retry: 1000\n\n"
        for item in live.follow(app, endpoint_id, cursor, where=narrow, keepalive=keepalive,
                                still_allowed=still_allowed):
            if item is None:
                yield ": keep-alive\n\n"
            elif isinstance(item, live.Cleared):
                yield sse_notice("cleared", str(item.up_to))
            elif isinstance(item, live.Ended):
                yield sse_notice("ended", item.reason)
            else:
                yield sse_message(item.id, render_template("_request_row.html", req=item),
                                  event="request")

    return Response(stream_with_context(messages()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
