"""Diff pages and their JSON twins: two requests, two resend answers, and the previous
request about the same object. Thin views over inspector.compare; one model per page
(`DiffPage`) renders both the HTML and the API answer, so they always agree."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from flask import Blueprint, Flask, Response, request, url_for
from markupsafe import Markup

from . import compare, textdiff
from .dashboard import error_page
from .diff import Change, PayloadDiff, dumps
from .models import MAX_ID, CapturedRequest, Endpoint, Resend, db
from .page_support import page_or_fragment
from .render import human_size, reveal_line
from .serialize import iso

bp = Blueprint("diff", __name__)
# A page lists at most this many changes; the JSON answer has them all.
MAX_LISTED = 2000


class DiffInputError(ValueError):
    """Ids that cannot be compared, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@bp.errorhandler(DiffInputError)
def _bad_ids(exc: DiffInputError):
    """JSON for the API, the dashboard's error page elsewhere."""
    if request.path.startswith("/api/"):
        return Response(dumps({"error": str(exc)}), exc.status, mimetype="application/json")
    return error_page(exc.status, str(exc))


def parse_ids(args: Mapping[str, str], what: str) -> tuple[int, int]:
    """The left and right ids of the query string; DiffInputError (400) says what is wrong."""
    raw = {side: (args.get(side) or "").strip() for side in ("left", "right")}
    missing = [side for side, value in raw.items() if not value]
    if missing:
        raise DiffInputError(f"Give two {what} ids: ?left=<id>&right=<id> ({' and '.join(missing)} missing).")
    ids = []
    for side, value in raw.items():
        if not value.isdigit() or not value.isascii():
            raise DiffInputError(f"{side} must be a {what} id (a whole number).")
        ids.append(int(value))
    return ids[0], ids[1]


def find(model: type, ident: int, what: str) -> Any:
    """The stored row, or DiffInputError (404)."""
    found = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if found is None:
        raise DiffInputError(f"No {what} with id {ident}.", 404)
    return found


@dataclass(frozen=True)
class Side:
    """One side of a comparison, as the page's heading shows it."""

    id: int
    label: str
    url: str
    title: str
    facts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Links:
    """Where the page's controls go: noise toggled, sides swapped, the JSON answer."""

    toggle_noise: str
    swap: str
    api: str


@dataclass(frozen=True)
class LineEndNote:
    """The note above the side-by-side saying how each side's lines end."""

    text: str
    differs: bool  # a real difference (CRLF against LF, or mixed in a body): shown as a notice


@dataclass(frozen=True)
class DiffPage:
    """Everything a diff page (and its API answer) shows."""

    what: str  # "request" | "resend"
    left: Side
    right: Side
    diff: PayloadDiff
    hide_noise: bool
    links: Optional[Links] = None
    # Line ends of the two bodies when the side-by-side shows their lines as they are (text diffs).
    line_ends: Optional[tuple[textdiff.LineEnds, textdiff.LineEnds]] = None

    @property
    def changes(self) -> list[Change]:
        """Structural changes, without the noisy ones when they are hidden."""
        return compare.without_noise(self.diff.changes, self.hide_noise)

    @property
    def headers(self) -> list[Change]:
        """Header changes that are not noise."""
        return [change for change in self.diff.headers if not change.noisy]

    @property
    def noisy_headers(self) -> list[Change]:
        """Header changes that happen on every delivery; empty when noise is hidden."""
        return [] if self.hide_noise else [change for change in self.diff.headers if change.noisy]

    @property
    def noisy(self) -> int:
        """How many changes and header changes are noise (what the toggle hides)."""
        return sum(change.noisy for change in (*self.diff.changes, *self.diff.headers))

    def shown(self, limit: int = MAX_LISTED) -> list[compare.ShownChange]:
        """The first changes as the list shows them (the API answer has them all)."""
        return compare.shown_changes(self.changes[:limit])

    def shown_headers(self, noisy: bool = False) -> list[compare.ShownChange]:
        """Header changes as the list shows them."""
        return compare.shown_changes(self.noisy_headers if noisy else self.headers)

    def side_rows(self) -> list[compare.SideRow]:
        """The side-by-side rows, with gaps marked."""
        return compare.side_rows(self.diff.rows)

    def _crlf_end(self, side: int, lineno: Optional[int]) -> bool:
        """Whether a line of one side ends in a CRLF that goes unlabelled: its body uses
        CRLF throughout and an LF follows the line (the last line may end in a lone CR)."""
        ends = self.line_ends[side] if self.line_ends else None
        return ends is not None and ends.style == "CRLF" and lineno is not None and lineno <= ends.newlines

    def line_html(self, side: str, lineno: Optional[int], text: Optional[str]) -> Markup:
        """One cell's text of the side-by-side, labelled, CRLF ends said once in line_end_note."""
        index = 0 if side == "left" else 1
        return reveal_line(text, self._crlf_end(index, lineno))

    @property
    def line_end_note(self) -> Optional[LineEndNote]:
        """How the lines end, when a side uses CRLF (LF, the usual, goes without saying)."""
        if not self.line_ends:
            return None
        left, right = (ends.style for ends in self.line_ends)
        if "CRLF" not in (left, right) and "mixed" not in (left, right):
            return None
        differs = "mixed" in (left, right) or {left, right} == {"CRLF", "LF"}
        if left == right == "CRLF":
            text = "Line ends: CRLF on both sides."
        else:
            differ = " differ" if left != right and "none" not in (left, right) else ""
            text = (f"Line ends{differ}: left {self.line_ends[0].describe()}, "
                    f"right {self.line_ends[1].describe()}.")
        if "CRLF" in (left, right):
            text += " The CR of a CRLF is not marked on each line."
        if "mixed" in (left, right):
            text += " In a body with mixed line ends every CR is marked."
        return LineEndNote(text, differs)

    def answer(self) -> dict[str, Any]:
        """The JSON answer: CONTRACT's shape plus kind, note, noise and the two ids."""
        return {
            "left": self.left.id, "right": self.right.id, "kind": self.diff.kind, "note": self.diff.note,
            "noise": "hide" if self.hide_noise else "show", "hidden": self.noisy if self.hide_noise else 0,
            "changes": [change.to_dict() for change in self.changes],
            "headers": [change.to_dict() for change in (*self.headers, *self.noisy_headers)],
            "unified": self.diff.unified,
            "rows": [row._asdict() for row in self.diff.rows],
        }


def request_side(req: CapturedRequest, endpoints: dict[int, Endpoint]) -> Side:
    """A captured request as one side of the page."""
    endpoint = endpoints.get(req.endpoint_id)
    facts = [iso(req.received_at) or "", f"{req.method} {req.path}", f"{req.size} bytes",
             req.content_type or "no content type", f"on {endpoint.name or 'unnamed endpoint'}" if endpoint else ""]
    title = req.event_type or ("body rejected (too large)" if req.rejected else "no event")
    return Side(req.id, f"#{req.id}", url_for("dashboard.requests.detail", request_id=req.id), title,
                [fact for fact in facts if fact])


def resend_side(attempt: Resend) -> Side:
    """A resend attempt's answer as one side of the page."""
    facts = [iso(attempt.created_at) or "", f"{attempt.method} {attempt.url}",
             f"{attempt.duration_ms} ms" if attempt.duration_ms is not None else "",
             f"resend of request #{attempt.request_id}"]
    url = url_for("dashboard.requests.detail", request_id=attempt.request_id) + f"#attempt-{attempt.id}"
    return Side(attempt.id, f"attempt #{attempt.id}", url, compare.answer_line(attempt),
                [fact for fact in facts if fact])


def hides_noise(args: Mapping[str, str]) -> bool:
    """`?noise=hide` hides the fields that change on every event."""
    return args.get("noise") == "hide"


def links(page: str, api: str, left: int, right: int, hide_noise: bool) -> Links:
    """URLs of a page's controls, each keeping the rest of its state."""
    noise = {"noise": "hide"} if hide_noise else {}
    return Links(url_for(page, left=left, right=right, **({} if hide_noise else {"noise": "hide"})),
                 url_for(page, left=right, right=left, **noise), url_for(api, left=left, right=right, **noise))


def body_line_ends(diff: PayloadDiff, left: Optional[bytes],
                   right: Optional[bytes]) -> Optional[tuple[textdiff.LineEnds, textdiff.LineEnds]]:
    """Line ends of both bodies for a text diff, whose lines are the bodies' own; a JSON
    diff shows re-indented lines and a binary one none, so theirs do not matter."""
    if diff.kind != "text":
        return None
    return textdiff.line_ends(left or b""), textdiff.line_ends(right or b"")


def requests_page(args: Mapping[str, str]) -> DiffPage:
    """The comparison of two captured requests named in the query string."""
    left_id, right_id = parse_ids(args, "request")
    left, right = find(CapturedRequest, left_id, "request"), find(CapturedRequest, right_id, "request")
    endpoints = {ep.id: ep for ep in (db.session.get(Endpoint, r.endpoint_id) for r in (left, right)) if ep}
    hide = hides_noise(args)
    diff = compare.diff_requests(left, right)
    return DiffPage("request", request_side(left, endpoints), request_side(right, endpoints), diff, hide,
                    links("diff.show", "diff.api_diff", left.id, right.id, hide),
                    body_line_ends(diff, left.body, right.body))


def resends_page(args: Mapping[str, str]) -> DiffPage:
    """The comparison of two resend attempts' answers named in the query string."""
    left_id, right_id = parse_ids(args, "resend")
    left, right = find(Resend, left_id, "resend"), find(Resend, right_id, "resend")
    hide = hides_noise(args)
    diff = compare.diff_resends(left, right)
    return DiffPage("resend", resend_side(left), resend_side(right), diff, hide,
                    links("diff.show_resends", "diff.api_diff_resends", left.id, right.id, hide),
                    body_line_ends(diff, left.response_body, right.response_body))


def json_answer(data: dict[str, Any], status: int = 200) -> Response:
    """JSON with every number's exact text (diff.dumps, not jsonify)."""
    try:
        text = dumps(data, ensure_ascii=False)
    except RecursionError:  # a value nested deeper than the encoder goes: say so instead
        text = dumps(_shallow(data), ensure_ascii=False)
    return Response(text, status, mimetype="application/json")


def _shallow(data: dict[str, Any]) -> dict[str, Any]:
    """The answer with change values that cannot be encoded replaced by a note."""
    def safe(change: dict[str, Any]) -> dict[str, Any]:
        """One change, its values checked one by one."""
        out = dict(change)
        for side in ("left", "right"):
            try:
                dumps(out[side])
            except RecursionError:
                out[side] = "(nested too deeply to encode)"
        return out
    return {**data, **{key: [safe(c) for c in data[key]] for key in ("changes", "headers") if key in data}}


# ---- pages ------------------------------------------------------------------------------

def _page(builder: Callable[[Mapping[str, str]], DiffPage], what: str, action: str):
    """A diff page (its view alone for htmx's noise toggle); the id form alone without ids."""
    form = {side: request.args.get(side, "") for side in ("left", "right")}
    context = {"form": form, "what": what, "action": action, "error": None, "view": None}
    if any(value.strip() for value in form.values()):
        try:
            context["view"] = builder(request.args)
        except DiffInputError as exc:
            if request.htmx:
                return error_page(exc.status, str(exc))
            return page_or_fragment("diff.html", "diff.html", exc.status, **{**context, "error": str(exc)})
    return page_or_fragment("diff.html", "_diff_view.html" if context["view"] else "diff.html", **context)


@bp.get("/diff")
def show():
    """Two captured requests side by side: `?left=<id>&right=<id>[&noise=hide]`."""
    return _page(requests_page, "request", url_for("diff.show"))


@bp.get("/diff/resends")
def show_resends():
    """What two resend attempts got back: `?left=<resend id>&right=<resend id>`."""
    return _page(resends_page, "resend", url_for("diff.show_resends"))


# ---- API ----------------------------------------------------------------------------------

@bp.get("/api/diff")
def api_diff():
    """`GET /api/diff?left=&right=`: exactly what the /diff page shows, as JSON."""
    return json_answer(requests_page(request.args).answer())


@bp.get("/api/diff/resends")
def api_diff_resends():
    """The answers of two resend attempts, diffed, as JSON."""
    return json_answer(resends_page(request.args).answer())


@bp.get("/api/requests/<id:request_id>/previous-diff")
def api_previous_diff(request_id: int):
    """The request against the previous one about the same object on its endpoint."""
    req = find(CapturedRequest, request_id, "request")
    context = object_panel(req, inline_limit=sys.maxsize)  # the API diffs any size
    if context is None:
        return json_answer({"request": req.id, "object": None, "previous": None, "diff": None,
                            "message": "This request's event names no object."})
    found = context["context"]
    answer = {"request": req.id, "object": {"type": found.resource_type, "id": found.resource_id},
              "previous": found.previous.id if found.previous else None, "diff": None,
              "diff_url": context["diff_url"], "message": context["message"]}
    if found.diff is not None:
        answer["diff"] = DiffPage("request", Side(found.previous.id, "", "", ""), Side(req.id, "", "", ""),
                                  found.diff, hides_noise(request.args)).answer()
    return json_answer(answer)


# ---- the automatic context panel of the request detail ----------------------------------

def object_panel(req: CapturedRequest, inline_limit: Optional[int] = None) -> Optional[dict]:
    """What `_diff_context.html` shows for a request, or None when its event names no object;
    bodies above `inline_limit` (default compare.INLINE_LIMIT) are only linked to."""
    limit = compare.INLINE_LIMIT if inline_limit is None else inline_limit
    found = compare.object_context(req, limit)
    if found is None:
        return None
    previous = found.previous
    if previous is None:
        message = f"First event seen about {found.resource_type} {found.resource_id} on this endpoint."
        return {"context": found, "diff_url": None, "message": message}
    diff_url = url_for("diff.show", left=previous.id, right=req.id)
    if found.too_big:
        message = f"Bodies over {human_size(limit)} are not diffed here: open the full diff."
    elif found.diff.changes or found.diff.headers or found.diff.unified:
        message = f"Changes since #{previous.id}, the previous event about this {found.resource_type}."
    else:
        message = f"Same body as #{previous.id}, the previous event about this {found.resource_type}."
    return {"context": found, "diff_url": diff_url, "message": message}


def init_app(app: Flask) -> None:
    """Register the pages and API, and the panel helper `_diff_context.html` calls."""
    app.register_blueprint(bp)
    app.add_template_global(object_panel, "diff_context")
