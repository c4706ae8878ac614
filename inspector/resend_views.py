"""Resend, bulk replay and their dashboard fragments: thin views over resend/sender/bulk."""
from __future__ import annotations

import difflib
from typing import Any, Optional

import sqlalchemy as sa
from flask import (Blueprint, Flask, abort, current_app, jsonify, redirect, render_template,
                   request, url_for)

from . import bulk, serialize
from .api import endpoint_or_404, error, json_body, request_or_404
from .autoforward import forwarder
from .endpoint_input import InputError
from .models import MAX_ID, BulkReplay, CapturedRequest, Endpoint, Resend, db
from .queries import FILTER_FIELDS, QueryError, RequestFilter
from .render import human_size
from .resend import (InvalidTarget, LookupFailed, ResendError, TargetRefused, check_target,
                     edited_body, pretty_body, target_parts)
from .sender import Policy, deliver, outgoing_for, record, refuse_own_capture

bp = Blueprint("resend", __name__)
# The dashboard's rules hold here too: no cross-site POSTs, strict CSP on every answer.
DIFF_URL = "/diff/resends"
# Bodies above this are not put in the panel's textarea (a browser struggles past it).
EDITOR_LIMIT = 1024 * 1024
# What a bulk replay takes besides the filter fields (the form adds its CSRF token).
REPLAY_FIELDS = ("url", "pacing", "append_path")
REPLAY_FORM_FIELDS = frozenset({*REPLAY_FIELDS, *FILTER_FIELDS, "csrf_token"})


class Refused(Exception):
    """A resend that was not attempted, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def policy() -> Policy:
    """The app's target policy."""
    return Policy.from_config(current_app.config)


def checked_url(url: Optional[str], endpoint: Endpoint, look_up: bool = False) -> str:
    """The URL typed now or the endpoint's forward URL, never our own capture URL.

    `look_up` also applies the target policy now (bulk replay refuses at once);
    a single resend leaves that to `deliver`, so the name is resolved once.
    """
    url = (url or "").strip() or endpoint.forward_url or ""
    if not url:
        raise Refused("No target: type a URL or set the endpoint's forward URL.")
    try:
        target_parts(url)  # a typing mistake is a 400, before a URL is built on it
        refuse_own_capture(url)
        if look_up:
            check_target(url, policy().allow, policy().resolve)
    except InvalidTarget as exc:
        raise Refused(str(exc), 400) from None
    except LookupFailed:
        pass  # a DNS failure is recorded as each attempt's error
    except TargetRefused as exc:
        raise Refused(str(exc), 403) from None
    return url


def verdict_header(row: CapturedRequest) -> str:
    """The header the request's signature was looked for in when it was captured, or ""."""
    verdict = row.signature if isinstance(row.signature, dict) else {}
    header = verdict.get("header")
    return header if isinstance(header, str) else ""


def resend_now(row: CapturedRequest, url: Optional[str], *, body: Optional[str] = None,
               shown: Optional[str] = None, resign: Optional[bool] = None,
               append_path: bool = False) -> Resend:
    """Send one stored request now and record the attempt (Refused when it cannot be sent)."""
    endpoint = db.session.get(Endpoint, row.endpoint_id)
    url = checked_url(url, endpoint)
    try:
        # The header the capture-time verdict read may differ from today's setting.
        outgoing = outgoing_for(row, endpoint, url, new_body=edited_body(row.body, body, shown),
                                resign=resign, append_path=append_path,
                                stale_signatures=[verdict_header(row)])
    except ResendError as exc:
        raise Refused(str(exc)) from None
    request_id = row.id
    db.session.commit()  # no transaction held while the target thinks
    try:
        attempt = deliver(outgoing, policy())
    except TargetRefused as exc:
        raise Refused(str(exc), 403) from None
    resend = record(request_id, outgoing, attempt, "manual")
    db.session.commit()
    return resend


def _flag(data: dict, name: str) -> Optional[bool]:
    """An optional true/false field."""
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise InputError(f"{name} must be true or false.")
    return value


def _text(data: dict, name: str, limit: int) -> Optional[str]:
    """An optional string field."""
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise InputError(f"{name} must be a string of at most {limit} characters.")
    return value


def resend_json(attempt: Resend) -> dict[str, Any]:
    """The CONTRACT resend shape, plus the response cap in force."""
    return serialize.resend(attempt, current_app.config["FORWARD_MAX_RESPONSE_BYTES"])


@bp.errorhandler(InputError)
@bp.errorhandler(QueryError)
def _bad_input(exc):
    """Invalid parameters: 400 with the reason."""
    return error(str(exc), 400)


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    """Nothing was sent: JSON for the API, the panel or badge message for htmx."""
    return error(str(exc), exc.status)


@bp.post("/api/requests/<id:request_id>/resend")
def api_resend(request_id: int):
    """Send a stored request again (as is, edited, or re-signed): 201 with the attempt."""
    data = json_body()
    unknown = sorted(set(data) - {"url", "body", "resign", "append_path"})
    if unknown:
        raise InputError(f"Unknown field(s): {', '.join(unknown)}.")
    row = request_or_404(request_id)
    attempt = resend_now(row, _text(data, "url", 2000), body=_text(data, "body", 50 * 2**20),
                         resign=_flag(data, "resign"),
                         append_path=bool(_flag(data, "append_path")))
    return jsonify(resend_json(attempt)), 201


def start_replay(endpoint: Endpoint, where: RequestFilter, url: Optional[str], pacing: str,
                 append_path: bool) -> BulkReplay:
    """Create the job and start its runner in this process."""
    url = checked_url(url, endpoint, look_up=True)
    owner = forwarder(current_app).owner
    try:
        job = bulk.create(endpoint, where, url, pacing, append_path, owner)
    except ResendError as exc:
        raise Refused(str(exc)) from None
    db.session.commit()
    bulk.start(current_app._get_current_object(), job.id, owner)
    return job


def job_or_404(job_id: int) -> BulkReplay:
    """The bulk replay with this id, or 404."""
    job = db.session.get(BulkReplay, job_id)
    if job is None:
        abort(404, description=f"No bulk replay with id {job_id}.")
    return job


@bp.post("/api/endpoints/<token>/replays")
def api_start_replay(token: str):
    """Replay the requests of a filter, oldest first: 201 with the job."""
    data = json_body()
    endpoint = endpoint_or_404(token)
    # A field we ignored would widen the filter and replay every request: refuse it.
    unknown = sorted(set(data) - {*REPLAY_FIELDS, *FILTER_FIELDS})
    if unknown:
        raise InputError(_unknown_replay_fields(unknown))
    where = RequestFilter.from_json(data)
    job = start_replay(endpoint, where, _text(data, "url", 2000),
                       _text(data, "pacing", 16) or "fast", bool(_flag(data, "append_path")))
    return jsonify(bulk.to_dict(job)), 201


@bp.get("/api/replays/<id:job_id>")
def api_replay(job_id: int):
    """A job's progress."""
    return jsonify(bulk.to_dict(job_or_404(job_id)))


@bp.post("/api/replays/<id:job_id>/stop")
def api_stop_replay(job_id: int):
    """Ask a running job to stop."""
    job = job_or_404(job_id)
    bulk.request_stop(job)
    db.session.commit()
    return jsonify(bulk.to_dict(job))


# ---- dashboard fragments -------------------------------------------------------------

def attempts_of(req) -> list[Resend]:
    """A request's attempts, newest first."""
    return db.session.scalars(sa.select(Resend).where(Resend.request_id == req.id)
                              .order_by(Resend.id.desc())).all()


def panel(req: CapturedRequest, endpoint: Endpoint, raw: bool = False, **extra) -> dict:
    """Everything `_resend_panel.html` shows."""
    # A body too big for a textarea is neither decoded nor pretty-printed on each view.
    too_large = len(req.body) > EDITOR_LIMIT
    text = serialize.body_text(req.body) if not req.rejected and not too_large else None
    pretty = None if raw or text is None else pretty_body(req.body)
    limit = current_app.config["FORWARD_MAX_RESPONSE_BYTES"]
    return {"attempts": [serialize.resend(a, limit) for a in attempts_of(req)],
            "editor_text": pretty if pretty is not None else text,
            "mode": "pretty" if pretty is not None else "raw",
            "can_pretty": raw and text is not None and pretty_body(req.body) is not None,
            "too_large": human_size(len(req.body)) if too_large else None,
            "response_limit": limit, **extra}


def diff_path() -> str:
    """The diff feature's page for two attempts when it exists, else our small fallback."""
    has_diff = any(rule.rule == DIFF_URL for rule in current_app.url_map.iter_rules())
    return DIFF_URL if has_diff else url_for("resend.compare_resends")


def diff_url(left: int, right: int) -> str:
    """Link comparing the answers of two attempts."""
    return f"{diff_path()}?left={int(left)}&right={int(right)}"


def _panel_response(req: CapturedRequest, **extra):
    """The panel fragment (never cached across htmx and full loads)."""
    endpoint = db.session.get(Endpoint, req.endpoint_id)
    html = render_template("_resend_panel.html", req=req, endpoint=endpoint,
                           panel=panel(req, endpoint, **extra))
    return html, 200, {"Vary": "HX-Request"}


@bp.get("/requests/<id:request_id>/resend-panel")
def resend_panel(request_id: int):
    """The resend panel; `?raw=1` puts the raw body in the editor instead of the pretty one."""
    return _panel_response(request_or_404(request_id), raw=request.args.get("raw") == "1")


@bp.post("/requests/<id:request_id>/resend")
def form_resend(request_id: int):
    """The panel's form: Resend, or Edit & resend; answers with the panel."""
    row = request_or_404(request_id)
    form, raw = request.form, request.form.get("mode") == "raw"
    edit = form.get("action") == "edit"
    shown = None
    if edit:
        shown = serialize.body_text(row.body) if raw else pretty_body(row.body)
    message = None
    try:
        resend_now(row, form.get("url"), body=form.get("body") if edit else None, shown=shown,
                   resign=True if form.get("resign") else None,
                   append_path=bool(form.get("append_path")))
    except Refused as exc:
        db.session.rollback()
        message = str(exc)
    if not request.headers.get("HX-Request"):
        return redirect(request.referrer or "/", 303)
    return _panel_response(row, raw=raw, error=message, url=form.get("url", ""))


@bp.post("/requests/<id:request_id>/quick-resend")
def quick_resend(request_id: int):
    """The list row's one-click Resend to the forward URL: answers with the row's actions."""
    row = request_or_404(request_id)
    attempt, message = None, None
    try:
        attempt = serialize.resend(resend_now(row, None))
    except Refused as exc:
        db.session.rollback()
        message = str(exc)
    if not request.headers.get("HX-Request"):
        return redirect(request.referrer or "/", 303)
    return render_template("_row_actions.html", req=row, attempt=attempt, error=message)


def _unknown_replay_fields(names: list[str]) -> str:
    """The refusal of fields a replay does not take, with the ones it does."""
    return (f"Unknown field(s): {', '.join(names)}. A replay takes {', '.join(REPLAY_FIELDS)} "
            f"and the filter fields {', '.join(FILTER_FIELDS)}; nothing was sent.")


def _filter_from_form() -> RequestFilter:
    """The dashboard's current filter (the list's filter form, or hidden fields), refusing
    a field it does not know or one given twice with different values."""
    unknown = sorted(set(request.form) - REPLAY_FORM_FIELDS)
    if unknown:
        raise QueryError(_unknown_replay_fields(unknown))
    for name in FILTER_FIELDS:
        if len(set(request.form.getlist(name))) > 1:
            raise QueryError(f"{name} was given more than once with different values; "
                             "nothing was sent.")
    return RequestFilter.from_args(request.form)


@bp.post("/endpoints/<token>/replays")
def form_start_replay(token: str):
    """The bulk replay form: answers with the live progress fragment."""
    endpoint = endpoint_or_404(token)
    try:
        job = start_replay(endpoint, _filter_from_form(), request.form.get("url"),
                           request.form.get("pacing", "fast"),
                           bool(request.form.get("append_path")))
    except (Refused, QueryError) as exc:
        db.session.rollback()
        return render_template("_bulk_progress.html", job=None, error=str(exc))
    return render_template("_bulk_progress.html", job=bulk.to_dict(job), error=None)


@bp.get("/replays/<id:job_id>")
def replay_progress(job_id: int):
    """The progress fragment; it polls itself while the job runs."""
    return render_template("_bulk_progress.html", job=bulk.to_dict(job_or_404(job_id)),
                           error=None), 200, {"Vary": "HX-Request"}


@bp.post("/replays/<id:job_id>/stop")
def form_stop_replay(job_id: int):
    """The stop button."""
    job = job_or_404(job_id)
    bulk.request_stop(job)
    db.session.commit()
    return render_template("_bulk_progress.html", job=bulk.to_dict(job), error=None)


@bp.get("/resends/compare")
def compare_resends():
    """Fallback diff of two attempts' answers (status, headers, body) as a unified text diff."""
    left, right = (db.session.get(Resend, _id(request.args.get(side)))
                   for side in ("left", "right"))
    if left is None or right is None:
        abort(404, description="Give two resend ids: ?left=<id>&right=<id>.")
    lines = [_answer_lines(left), _answer_lines(right)]
    diff = "\n".join(difflib.unified_diff(*lines, f"attempt {left.id}", f"attempt {right.id}",
                                          lineterm=""))
    return render_template("resend_compare.html", left=left, right=right, diff=diff)


def _id(raw: Optional[str]) -> int:
    """A numeric id from the query string, or 0 (no such row) when it cannot be one."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_ID)):
        return 0
    return int(raw) if int(raw) <= MAX_ID else 0


def _answer_lines(attempt: Resend) -> list[str]:
    """What a target answered, as lines to diff."""
    head = [f"status: {attempt.status_code if attempt.status_code is not None else '-'}",
            f"error: {attempt.error or '-'}"]
    head += [f"{name}: {value}" for name, value in attempt.response_headers]
    body = attempt.response_body.decode("utf-8", "replace")
    pretty = pretty_body(attempt.response_body)
    return head + [""] + (pretty if pretty is not None else body).splitlines()


def init_app(app: Flask) -> None:
    """Register the blueprint and the helpers the fragments call."""
    app.register_blueprint(bp)
    app.add_template_global(panel, "resend_panel")
    app.add_template_global(diff_url, "resend_diff_url")
    app.add_template_global(diff_path, "resend_diff_path")
