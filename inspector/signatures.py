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

_ANY_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_ANY_HEX = re.compile(r"[0-9a-fA-F]+")
_PREFIX = re.compile(r"(sha1|sha256|sha512)=", re.IGNORECASE)
_DIGEST_SIZES = {20: "SHA1", 32: "SHA256", 64: "SHA512"}
_ALGORITHMS = {"SHA1": hashlib.sha1, "SHA512": hashlib.sha512}
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
    "uppercase_hex": "The hex digest is in upper case; send lowercase hex.",
    "base64_encoding": "The value is the base64 of the {what}; send lowercase hex instead.",
    "wrong_algorithm": "The value is the HMAC-{name} of the body; it must be HMAC-SHA256.",
    "secret_whitespace": "It matches the secret {secret} {how}.",
    "trailing_newline": "It matches the body {how}: {why}.",
    "other_header": "The request has no {header} header but has {other}; {verdict}.",
    "repeated_header": "The request has {count} {header} headers. A server joins them into one "
    "value ({joined}), which matches no signature; {verdict}.",
    "empty_header": "The request has the {header} header, but its value is {what}: the sender "
    "sent no signature in it (often its secret or signing step is not set up).",
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
    present = [v for n, v in headers if n.strip().lower() == wanted]
    sent = [v for v in present if v.strip()]
    values = list(dict.fromkeys(sent))  # a repeated identical value needs one diagnosis
    # Each digest of the (possibly 25 MiB) body is computed once; the diagnosis reuses the MACs.
    macs = [hmac.new(_utf8(secret), body, hashlib.sha256) for secret in secrets]
    digests = [mac.hexdigest() for mac in macs]
    verifying = [i for i, value in enumerate(sent) if any(_same(value, d) for d in digests)]
    signings = _Signings(body, secrets, macs)
    if not present:
        return SignatureCheck("missing", header_name, _other_headers(headers, header_name, signings))
    if not sent:
        # The header is there (the headers table shows it), so "missing" would be false.
        what = "empty" if not any(present) else "only whitespace"
        return SignatureCheck("invalid", header_name,
                              (_hint("empty_header", header=_quote(header_name), what=what),))
    if len(sent) == 1 and verifying:
        return SignatureCheck("valid", header_name)
    # Sent more than once, the header reaches the user's app as one joined value (Node,
    # WSGI and most frameworks join repeats with ", "), so its exact match fails there.
    repeated = (_repeated(header_name, sent, verifying),) if len(sent) > 1 else ()
    diagnosis = () if verifying else _diagnose(values, signings)
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


def _other_headers(headers, header_name: str, signings: _Signings) -> tuple[Hint, ...]:
    """Point at headers that look like a signature when the configured one is absent."""
    wanted, found = header_name.strip().lower(), {}
    for name, value in headers:
        lowered = name.strip().lower()
        if lowered.endswith("signature") and lowered != wanted:
            found.setdefault(lowered, (name.strip(), []))[1].append(value)
    hints = []
    for name, values in found.values():
        # The same diagnosis as for the configured header: the right signature often sits
        # in another header in another sender's style (GitHub's "sha256=<hex>").
        fixes = [signings.explain(value) for value in values]
        if any(() in fix for fix in fixes):
            verdict = f"its value verifies with your secret: set the header name to {_quote(name)}"
        elif any(fixes):
            causes = next(fix for fix in fixes if fix)[0]
            verdict = (f"it holds your signature, but with {_listed([c.phrase for c in causes])}: "
                       f"set the header name to {_quote(name)} and fix "
                       f"{'that' if len(causes) == 1 else 'those'}")
        else:
            verdict = "its value does not verify with your secret either"
        quoted = {"header": _quote(header_name), "other": _quote(name)}
        hints.append(_hint("other_header", verdict=verdict, **quoted))
    return tuple(hints)


def _diagnose(values: list[str], signings: _Signings) -> tuple:
    """Name every known mistake, alone or combined, with every secret; else not_hex / no_match."""
    hints: list[Hint] = []
    for value in values:
        for causes in signings.explain(value):
            hints.extend(_combined(causes))
    if not hints:
        # An invalid request must always say why, even when no known mistake explains it.
        hints = [_fallback(value) for value in values]
    return tuple(dict.fromkeys(hints))


def _combined(causes: tuple[_Cause, ...]) -> list[Hint]:
    """One hint per cause; when several explain the value only together, each says so."""
    if len(causes) == 1:
        return [causes[0].hint]
    hints = []
    for cause in causes:
        names = ["This"] + [other.phrase for other in causes if other is not cause]
        note = (f" {_listed(names)} together explain the value: fix "
                f"{'both' if len(causes) == 2 else 'all of them'}.")
        hints.append(Hint(cause.hint.code, cause.hint.message + note))
    return hints


def _listed(words: list[str]) -> str:
    """Join words as prose: "a", "a and b", "a, b and c"."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True)
class _Cause:
    """One mistake in an explanation: its hint, and a short phrase naming it in other hints."""

    hint: Hint
    phrase: str


def _cause(code: str, phrase: str, **fields: str) -> _Cause:
    return _Cause(_hint(code, **fields), phrase)


_UPPERCASE = _cause("uppercase_hex", "upper-case hex")
_BASE64_DIGEST = _cause("base64_encoding", "base64 encoding", what="digest's raw bytes")
_BASE64_HEX = _cause("base64_encoding", "base64 encoding", what="hex digest text")


@dataclass(frozen=True)
class _Reading:
    """One way to read a header value as a digest, and the encoding mistakes it takes."""

    causes: tuple[_Cause, ...]
    digest: bytes
    algorithm: str


def _readings(value: str) -> list[_Reading]:
    """Every way to read value as a digest: after an optional prefix, as hex in any case, as
    base64 of the digest or of its hex text. Cheap: no hashing."""
    starts: list[tuple[tuple[_Cause, ...], str, str | None]] = [((), value, None)]
    prefix = _PREFIX.match(value)
    if prefix:
        # "sha256=" is the usual GitHub-style mistake; "sha1="/"sha512=" only make sense
        # before a digest of the algorithm they name.
        named = prefix.group(1).upper()
        cause = _cause("prefixed", f"a {_quote(prefix.group())} prefix",
                       prefix=_quote(prefix.group()))
        starts.append(((cause,), value[prefix.end():], None if named == "SHA256" else named))
    readings = []
    for causes, text, named in starts:
        found = [(causes + _case(text), _from_hex(text))]
        decoded = _b64decode(text)
        if decoded is not None:
            found.append((causes + (_BASE64_DIGEST,), decoded))
            hex_text = decoded.decode("latin-1")
            found.append((causes + (_BASE64_HEX,) + _case(hex_text), _from_hex(hex_text)))
        for found_causes, digest in found:
            algorithm = _DIGEST_SIZES.get(len(digest)) if digest is not None else None
            if algorithm and named in (None, algorithm):
                readings.append(_Reading(found_causes, digest, algorithm))
    return readings


def _from_hex(text: str) -> bytes | None:
    """The bytes of a hex digest in any case; None when text is not one."""
    if len(text) // 2 not in _DIGEST_SIZES or not _ANY_HEX.fullmatch(text) or len(text) % 2:
        return None
    return bytes.fromhex(text)


def _case(text: str) -> tuple[_Cause, ...]:
    return (_UPPERCASE,) if text != text.lower() else ()


def _b64decode(value: str) -> bytes | None:
    """Decode standard or URL-safe base64, padded or not; None when it is not base64."""
    text = value.rstrip("=").replace("-", "+").replace("_", "/")
    if not text or len(text) > 200:  # base64 of a hex digest is 88 chars; skip anything longer
        return None
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


class _Signings:
    """What a sender may have signed instead of the right thing, under each secret.

    Each algorithm's variants are hashed once per request, and only when some header
    value can be read as a digest of that size: a 25 MiB body is not hashed for nothing."""

    def __init__(self, body: bytes, secrets: list[str], macs: list) -> None:
        self.body, self.secrets, self.macs = body, secrets, macs
        self._variants: dict[str, list[tuple[tuple[_Cause, ...], bytes]]] = {}
        self._forms: list[tuple[str, bytes]] | None = None

    def explain(self, value: str) -> list[tuple[_Cause, ...]]:
        """Every combination of mistakes that turns the right signature into value;
        [()] when value is exactly right, [] when nothing known explains it."""
        found = []
        for reading in _readings(value):
            for causes, digest in self._of(reading.algorithm):
                if hmac.compare_digest(reading.digest, digest):
                    found.append(reading.causes + causes)
        return list(dict.fromkeys(found))

    def _of(self, algorithm: str) -> list[tuple[tuple[_Cause, ...], bytes]]:
        if algorithm not in self._variants:
            make = self._sha256 if algorithm == "SHA256" else self._other_algorithm
            self._variants[algorithm] = [variant for secret, mac in zip(self.secrets, self.macs)
                                         for variant in make(algorithm, secret, mac)]
        return self._variants[algorithm]

    def _other_algorithm(self, name: str, secret: str, mac) -> Iterator[tuple]:
        digest = hmac.new(_utf8(secret), self.body, _ALGORITHMS[name]).digest()
        yield (_cause("wrong_algorithm", f"HMAC-{name}", name=name),), digest

    def _sha256(self, name: str, secret: str, mac) -> Iterator[tuple]:
        """The right digest, then the same with the secret, the body or its JSON changed."""
        body, tail = self.body, _tail(secret)
        yield (), mac.digest()
        stripped = secret.strip()
        if stripped and stripped != secret:
            cause = _cause("secret_whitespace", "whitespace around the secret",
                           secret=tail, how=_SECRET_STRIPPED)
            yield (cause,), _raw_mac(body, stripped)
        cause = _cause("secret_whitespace", "a newline after the secret",
                       secret=tail, how=_SECRET_NEWLINE)
        yield (cause,), _raw_mac(body, secret + "\n")
        for suffix, shown in ((b"\n", "\\n"), (b"\r\n", "\\r\\n")):
            added = mac.copy()  # extending the running MAC avoids hashing a large body again
            added.update(suffix)
            how, phrase = f'with a trailing "{shown}" added', f'a "{shown}" signed after the body'
            yield (_cause("trailing_newline", phrase, how=how, why=_NL_ADDED),), added.digest()
            if body.endswith(suffix):
                how, phrase = f'without its trailing "{shown}"', f'a "{shown}" added after signing'
                cause = _cause("trailing_newline", phrase, how=how, why=_NL_REMOVED)
                yield (cause,), _raw_mac(memoryview(body)[: -len(suffix)], secret)
        for label, text in self._json_forms():
            cause = _cause("reserialized_json", "re-serialized JSON", form=label)
            yield (cause,), _raw_mac(text, secret)

    def _json_forms(self) -> list[tuple[str, bytes]]:
        if self._forms is None:  # once per request, whatever the number of secrets
            big = len(self.body) > JSON_DIAGNOSIS_LIMIT
            self._forms = [] if big else _json_forms(self.body)
        return self._forms


def _raw_mac(body, secret: str) -> bytes:
    return hmac.new(_utf8(secret), body, hashlib.sha256).digest()


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
