"""Check webhook signatures (hex HMAC-SHA256 of the raw body) and explain why a check failed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

STATUSES = ("valid", "invalid", "missing", "unconfigured")
DEFAULT_HEADER = "X-Protocol-Signature"
MAX_HEADER_NAME = 100
# Re-serializing JSON costs far more than a hash pass, so big bodies skip that diagnosis.
JSON_DIAGNOSIS_LIMIT = 1024 * 1024

_HEX64 = re.compile(r"[0-9a-f]{64}")
_ANY_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_JSON_FORMS = (
    ("compact", {"separators": (",", ":")}),
    ("Python's default spacing", {}),
    ("sorted keys, compact", {"separators": (",", ":"), "sort_keys": True}),
    ("sorted keys", {"sort_keys": True}),
    ("2-space indent", {"indent": 2}),
    ("4-space indent", {"indent": 4}),
)
_CHAR_NAMES = {" ": "a space", "\t": "a tab", "\n": "a newline", "\r": "a carriage return"}
# Every hint's plain words, in one place; they may name headers, never show a secret.
_MESSAGES = {
    "reserialized_json": "The sender signed the JSON re-serialized ({form}), not the raw bytes "
    "it sent; sign exactly the bytes of the request body.",
    "prefixed": "The value has a {prefix} prefix; send only the hex digest.",
    "uppercase_hex": "The digest is right but in upper case; send lowercase hex.",
    "base64_encoding": "The value is the base64 of the right {what}; send lowercase hex instead.",
    "wrong_algorithm": "The value is the HMAC-{name} of the body; it must be HMAC-SHA256.",
    "secret_whitespace": "It matches the secret {secret} {how}.",
    "trailing_newline": "It matches the body {how}: {why}.",
    "other_header": "The request has no {header} header but has {other}; {verdict}.",
    "repeated_header": "The request has {count} {header} headers. A server joins them into one "
    "value ({joined}), which matches no signature; {verdict}.",
    "not_hex": "The value is {looks}; a signature is 64 lowercase hex characters (HMAC-SHA256), "
    "and no usual encoding mistake explains it.",
    "no_match": "The value is a well-formed 64-character hex digest but matches nothing we tried: "
    "the sender signs with a different secret, or the body changed in transit.",
}
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_SECRET_STRIPPED = "once its surrounding whitespace is removed; save it again without spaces"
_SECRET_NEWLINE = "with a newline added: the sender's copy ends with one (often read from a file)"
_NL_ADDED = "the sender signed that but sent the body without it"
_NL_REMOVED = "something appended it after signing"


@dataclass(frozen=True)
class Hint:
    """One reason a signature did not verify, in plain words for a developer."""

    code: str
    message: str


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one request's signature header."""

    status: str
    header: str | None
    hints: tuple[Hint, ...] = ()

    def to_dict(self) -> dict:
        """Return the API shape: status, header and a list of {code, message} hints."""
        hints = [{"code": hint.code, "message": hint.message} for hint in self.hints]
        return {"status": self.status, "header": self.header, "hints": hints}


class InvalidHeaderName(ValueError):
    """A configured signature header name that is not a valid HTTP field name."""


def _utf8(text: str) -> bytes:
    """Encode as UTF-8, keeping lone surrogates (JSON can carry them) instead of failing."""
    return text.encode("utf-8", "surrogatepass")


def _same(value: str, expected: str) -> bool:
    """Compare in constant time; as bytes, because compare_digest rejects non-ASCII str."""
    return hmac.compare_digest(_utf8(value), _utf8(expected))


def _quote(text: str, limit: int = 120) -> str:
    """Quote text for a message, escaping control and non-ASCII characters."""
    return json.dumps(text[:limit]) + ("…" if len(text) > limit else "")


def _tail(secret: str) -> str:
    """Name a secret by its last 4 characters, only when that leaves most of it hidden."""
    core = secret.strip()
    return f"ending in {_quote(core[-4:])}" if len(core) >= 12 else "you configured"


def _hint(code: str, **fields: str) -> Hint:
    """Build a hint from its message template."""
    return Hint(code, _MESSAGES[code].format(**fields))


def sign(body: bytes, secret: str) -> str:
    """Return the lowercase hex HMAC-SHA256 of body under secret, as a sender must send it."""
    return hmac.new(_utf8(secret), body, hashlib.sha256).hexdigest()


def verify_signature(
    body: bytes,
    headers: Sequence[tuple[str, str]],
    secrets: Sequence[str],
    header_name: str = DEFAULT_HEADER,
) -> SignatureCheck:
    """Check the configured header against the HMAC-SHA256 of body under any of the secrets."""
    secrets = [secret for secret in secrets if secret]
    if not secrets:
        return SignatureCheck("unconfigured", None)
    wanted = header_name.strip().lower()
    sent = [v for n, v in headers if n.strip().lower() == wanted and v.strip()]
    values = list(dict.fromkeys(sent))  # a repeated identical value needs one diagnosis
    # Each digest of the (possibly 25 MiB) body is computed once; the diagnosis reuses the MACs.
    macs = [hmac.new(_utf8(secret), body, hashlib.sha256) for secret in secrets]
    digests = [mac.hexdigest() for mac in macs]
    verifying = [i for i, value in enumerate(sent) if any(_same(value, d) for d in digests)]
    if not sent:
        return SignatureCheck("missing", header_name, _other_headers(headers, header_name, digests))
    if len(sent) == 1 and verifying:
        return SignatureCheck("valid", header_name)
    # Sent more than once, the header reaches the user's app as one joined value (Node,
    # WSGI and most frameworks join repeats with ", "), so its exact match fails there.
    repeated = (_repeated(header_name, sent, verifying),) if len(sent) > 1 else ()
    diagnosis = () if verifying else _diagnose(body, values, secrets, macs)
    return SignatureCheck("invalid", header_name, repeated + diagnosis)


def _repeated(header_name: str, sent: list[str], verifying: list[int]) -> Hint:
    """Say that the header came several times, and which of its values would verify alone."""
    which = [_ORDINALS.get(i + 1, f"#{i + 1}") for i in verifying]
    if len(which) == 1:
        verdict = f"the {which[0]} alone verifies: send the header once, with that value"
    elif which:
        verdict = f"the {', '.join(which[:-1])} and {which[-1]} each verify alone: send it once"
    else:
        verdict = "none of the values verifies on its own either"
    return _hint("repeated_header", count=str(len(sent)), header=_quote(header_name),
                 joined=_quote(", ".join(sent)), verdict=verdict)


def _other_headers(headers, header_name: str, digests: list[str]) -> tuple[Hint, ...]:
    """Point at headers that look like a signature when the configured one is absent."""
    wanted, found = header_name.strip().lower(), {}
    for name, value in headers:
        lowered = name.strip().lower()
        if lowered.endswith("signature") and lowered != wanted:
            found.setdefault(lowered, (name.strip(), []))[1].append(value)
    hints = []
    for name, values in found.values():
        if any(_same(value, digest) for value in values for digest in digests):
            verdict = f"its value verifies with your secret: set the header name to {_quote(name)}"
        else:
            verdict = "its value does not verify with your secret either"
        quoted = {"header": _quote(header_name), "other": _quote(name)}
        hints.append(_hint("other_header", verdict=verdict, **quoted))
    return tuple(hints)


def _diagnose(body: bytes, values: list[str], secrets: list[str], macs: list) -> tuple:
    """Try every known mistake with every secret; fall back to not_hex / no_match."""
    wants_json = len(body) <= JSON_DIAGNOSIS_LIMIT and any(_HEX64.fullmatch(v) for v in values)
    forms = _json_forms(body) if wants_json else []
    hints: list[Hint] = []
    for value in values:
        for secret, mac in zip(secrets, macs):
            hints.extend(_explain_encoding(value, mac))
            hints.extend(_explain_algorithm(value, body, secret))
            if _HEX64.fullmatch(value):
                hints.extend(_explain_secret(value, body, secret))
                hints.extend(_explain_body(value, body, secret, mac, forms))
    if not hints:
        # An invalid request must always say why, even when no known mistake explains it.
        hints = [_fallback(value) for value in values]
    return tuple(dict.fromkeys(hints))


def _explain_encoding(value: str, mac) -> Iterator[Hint]:
    """Recognise the right digest sent with a prefix, in upper case or in base64."""
    digest = mac.hexdigest()
    if value[:7].lower() == "sha256=" and _same(value[7:], digest):
        yield _hint("prefixed", prefix=_quote(value[:7]))
    if len(value) == 64 and _same(value.lower(), digest):
        yield _hint("uppercase_hex")
    decoded = _b64decode(value)
    if decoded is not None and hmac.compare_digest(decoded, mac.digest()):
        yield _hint("base64_encoding", what="digest")
    elif decoded is not None and hmac.compare_digest(decoded, digest.encode()):
        yield _hint("base64_encoding", what="hex digest text")


def _b64decode(value: str) -> bytes | None:
    """Decode standard or URL-safe base64, padded or not; None when it is not base64."""
    text = value.rstrip("=").replace("-", "+").replace("_", "/")
    if not text or len(text) > 200:  # base64 of a hex digest is 88 chars; skip anything longer
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _explain_algorithm(value: str, body: bytes, secret: str) -> Iterator[Hint]:
    """Recognise HMAC-SHA1 and HMAC-SHA512 digests, hashing only when the length fits."""
    for name, algorithm, length in (("SHA1", hashlib.sha1, 40), ("SHA512", hashlib.sha512, 128)):
        if len(value) != length:
            continue
        if _same(value.lower(), hmac.new(_utf8(secret), body, algorithm).hexdigest()):
            yield _hint("wrong_algorithm", name=name)


def _explain_secret(value: str, body: bytes, secret: str) -> Iterator[Hint]:
    """Recognise a secret copied with stray whitespace on either side."""
    stripped = secret.strip()
    if stripped and stripped != secret and _same(value, sign(body, stripped)):
        yield _hint("secret_whitespace", secret=_tail(secret), how=_SECRET_STRIPPED)
    if _same(value, sign(body, secret + "\n")):
        yield _hint("secret_whitespace", secret=_tail(secret), how=_SECRET_NEWLINE)


def _explain_body(value: str, body: bytes, secret: str, mac, forms: list) -> Iterator[Hint]:
    """Recognise a signature over the body with a newline added or removed, or re-serialized."""
    for suffix, shown in ((b"\n", "\\n"), (b"\r\n", "\\r\\n")):
        added = mac.copy()  # extending the running MAC avoids hashing a large body again
        added.update(suffix)
        if _same(value, added.hexdigest()):
            yield _hint("trailing_newline", how=f'with a trailing "{shown}" added', why=_NL_ADDED)
        if body.endswith(suffix) and _same(value, sign(memoryview(body)[: -len(suffix)], secret)):
            yield _hint("trailing_newline", how=f'without its trailing "{shown}"', why=_NL_REMOVED)
    for label, text in forms:
        if _same(value, sign(text, secret)):
            yield _hint("reserialized_json", form=label)


def _json_forms(body: bytes) -> list[tuple[str, bytes]]:
    """Return (label, bytes) for the usual re-serializations of a JSON body; [] if not JSON."""
    forms: dict[bytes, str] = {}
    try:
        data = json.loads(body)
        for label, options in _JSON_FORMS:
            for escaped in (True, False):
                text = _utf8(json.dumps(data, ensure_ascii=escaped, **options))
                forms.setdefault(text, f"{label}, non-ASCII {'escaped' if escaped else 'as UTF-8'}")
    except (ValueError, TypeError, RecursionError):  # not JSON, or too deep: simply no hint
        return []
    forms.pop(body, None)  # the raw bytes themselves were already checked
    return [(label, text) for text, label in forms.items()]


def _fallback(value: str) -> Hint:
    """Say what a value looks like when no known mistake explains it."""
    if _ANY_HEX64.fullmatch(value):
        return _hint("no_match")
    parts = [f"{len(value)} characters long"]
    if value != value.strip():
        parts.append("has surrounding whitespace")
    prefix = re.match(r"[A-Za-z0-9_-]{1,16}=", value)
    if prefix:
        parts.append(f"starts with a {_quote(prefix.group())} prefix")
    rest = value.strip()[prefix.end() if prefix else 0 :]
    bad = next((c for c in rest if c not in "0123456789abcdefABCDEF"), None)
    if bad is not None:
        parts.append(f"contains non-hex characters such as {bad!r}")
    return _hint("not_hex", looks=", ".join(parts))


def validate_header_name(name: str) -> str:
    """Return name without surrounding whitespace if it is a valid HTTP field name, else raise."""
    stripped = name.strip()
    if not stripped:
        raise InvalidHeaderName(
            f'The signature header name is empty; use one such as "{DEFAULT_HEADER}".')
    is_token = _TOKEN.fullmatch(stripped) is not None
    if is_token and len(stripped) <= MAX_HEADER_NAME:
        return stripped
    if is_token:
        problem = f"it is {len(stripped)} characters long, at most {MAX_HEADER_NAME} are allowed"
    else:
        problem = _describe_bad_chars(stripped)
    raise InvalidHeaderName(f"{_quote(stripped)} is not a valid HTTP header name ({problem}); "
                            f"did you mean {_quote(_suggest_header_name(stripped))}?")


def _describe_bad_chars(name: str) -> str:
    """Name the characters an HTTP token does not allow, escaping invisible ones."""
    found = list(dict.fromkeys(c for c in name if not _TOKEN.fullmatch(c)))
    words = [_describe_char(c) for c in found[:3]] + (["others"] if len(found) > 3 else [])
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{listed} {'is' if len(found) == 1 else 'are'} not allowed"


def _describe_char(char: str) -> str:
    """Name one character plainly: a space, a control character, a non-ASCII character."""
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    if ord(char) < 32 or ord(char) == 127:
        return f"the control character {char!r}"
    if ord(char) > 127:
        return f"the non-ASCII character {char!r} (U+{ord(char):04X})"
    return f"the character {char!r}"


def _suggest_header_name(name: str) -> str:
    """Build a valid spelling: drop accents, turn runs of invalid characters into one dash."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    suggestion = _NOT_TOKEN.sub("-", plain).strip("-")[:MAX_HEADER_NAME].strip("-")
    return suggestion or DEFAULT_HEADER
