"""Tests for inspector.signatures: statuses, every hint code, header-name validation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.signatures import (
    DEFAULT_HEADER,
    JSON_DIAGNOSIS_LIMIT,
    STATUSES,
    Hint,
    InvalidHeaderName,
    SignatureCheck,
    sign,
    validate_header_name,
    verify_signature,
)

SECRET = "whsec_supersecret_12345"
OTHER = "whsec_someone_elses_99999"
BODY = json.dumps(
    {"id": "a056V7R7NmNRjl70", "type": "message.updated", "payload": {"message": "I’m traveling"}}
).encode()
H = "x-protocol-signature"


def mac_hex(body: bytes, secret: str, algorithm=hashlib.sha256) -> str:
    """Independent reference HMAC, so the tests do not only trust sign()."""
    return hmac.new(secret.encode(), body, algorithm).hexdigest()


def check(value, body=BODY, secrets=(SECRET,), extra=()):
    """Verify body with one configured-header value (None: header absent)."""
    headers = ([(H, value)] if value is not None else []) + list(extra)
    return verify_signature(body, headers, list(secrets))


def codes(result: SignatureCheck) -> list[str]:
    return [hint.code for hint in result.hints]


def reserialized(**options) -> bytes:
    return json.dumps(json.loads(BODY), **options).encode()


# --- statuses -------------------------------------------------------------------------------


def test_sign_matches_reference_hmac():
    assert sign(BODY, SECRET) == mac_hex(BODY, SECRET)
    assert sign(b"", "é") == hmac.new("é".encode(), b"", hashlib.sha256).hexdigest()


def test_valid():
    result = check(sign(BODY, SECRET))
    assert result == SignatureCheck("valid", DEFAULT_HEADER, ())


def test_invalid():
    assert check(sign(BODY, OTHER)).status == "invalid"


def test_missing():
    result = check(None)
    assert (result.status, result.header, result.hints) == ("missing", DEFAULT_HEADER, ())


@pytest.mark.parametrize("value, said", [("", "empty"), ("   ", "only whitespace")])
def test_empty_header_is_invalid_not_missing(value, said):
    """The header is there (the headers table shows it): "missing" would contradict that."""
    result = check(value)
    assert (result.status, result.header, codes(result)) == ("invalid", DEFAULT_HEADER, ["empty_header"])
    assert f"{DEFAULT_HEADER}\" header, but its value is {said}" in result.hints[0].message
    assert "no signature header" not in result.hints[0].message


def test_empty_header_beside_a_good_one_still_verifies():
    assert verify_signature(BODY, [(H, ""), (H, sign(BODY, SECRET))], [SECRET]).status == "valid"


@pytest.mark.parametrize("secrets", [[], [""]])
def test_unconfigured(secrets):
    result = verify_signature(BODY, [(H, "whatever")], secrets)
    assert result == SignatureCheck("unconfigured", None, ())


def test_rotation_second_secret_valid():
    assert check(sign(BODY, SECRET), secrets=[OTHER, SECRET]).status == "valid"


@pytest.mark.parametrize("name", [DEFAULT_HEADER, DEFAULT_HEADER.lower(), DEFAULT_HEADER.upper()])
def test_header_name_case_insensitive(name):
    assert verify_signature(BODY, [(name, sign(BODY, SECRET))], [SECRET]).status == "valid"


def test_custom_header_name_is_reported_as_configured():
    headers = [("x-cribbly-signature", sign(BODY, SECRET))]
    result = verify_signature(BODY, headers, [SECRET], "X-Cribbly-Signature")
    assert (result.status, result.header) == ("valid", "X-Cribbly-Signature")


def test_repeated_header_is_invalid_and_says_which_value_verifies():
    """The app reads a repeated header as one joined value ("nope, <sig>"), so the
    seeds' exact comparison fails there; the verdict must not say valid."""
    headers = [(H, "nope"), ("Content-Type", "application/json"), (H.upper(), sign(BODY, SECRET))]
    result = verify_signature(BODY, headers, [SECRET])
    assert result.status == "invalid"
    assert [h.code for h in result.hints] == ["repeated_header"]
    assert "2 " in result.hints[0].message and "the second alone verifies" in result.hints[0].message
    assert f'"nope, {sign(BODY, SECRET)[:10]}' in result.hints[0].message
    twice = verify_signature(BODY, [(H, sign(BODY, SECRET))] * 2, [SECRET])
    assert twice.status == "invalid" and "the first and second each verify alone" in twice.hints[0].message


def test_repeated_header_with_no_good_value_is_also_diagnosed():
    headers = [(H, "sha256=" + sign(BODY, SECRET)), (H, "nope")]
    result = verify_signature(BODY, headers, [SECRET])
    codes = [h.code for h in result.hints]
    assert result.status == "invalid" and codes[0] == "repeated_header" and "prefixed" in codes
    assert "none of the values verifies" in result.hints[0].message


@pytest.mark.parametrize("body", [b"", bytes(range(256)) * 4, b"\xff\xfe\x00garbage"])
def test_empty_and_binary_bodies(body):
    assert check(sign(body, SECRET), body=body).status == "valid"
    assert check(sign(body, OTHER), body=body).status == "invalid"


def test_to_dict():
    result = check("sha256=" + sign(BODY, SECRET))
    data = result.to_dict()
    assert data["status"] == "invalid" and data["header"] == DEFAULT_HEADER
    assert data["hints"] == [{"code": h.code, "message": h.message} for h in result.hints]
    assert json.loads(json.dumps(data)) == data
    unconfigured = {"status": "unconfigured", "header": None, "hints": []}
    assert check(None, secrets=[]).to_dict() == unconfigured


# --- hints: where each must appear ------------------------------------------------------------

RIGHT = bytes.fromhex(mac_hex(BODY, SECRET))
COMPACT_UTF8 = reserialized(separators=(",", ":"), ensure_ascii=False)
POSITIVE = [
    ("reserialized_json", dict(value=mac_hex(reserialized(separators=(",", ":")), SECRET))),
    ("reserialized_json", dict(value=mac_hex(COMPACT_UTF8, SECRET))),
    ("reserialized_json", dict(value=mac_hex(reserialized(sort_keys=True), SECRET))),
    ("reserialized_json", dict(value=mac_hex(reserialized(indent=2, ensure_ascii=False), SECRET))),
    ("reserialized_json", dict(value=mac_hex(reserialized(indent=4), SECRET))),
    ("prefixed", dict(value="sha256=" + mac_hex(BODY, SECRET))),
    ("prefixed", dict(value="SHA256=" + mac_hex(BODY, SECRET))),
    ("uppercase_hex", dict(value=mac_hex(BODY, SECRET).upper())),
    ("base64_encoding", dict(value=base64.b64encode(RIGHT).decode())),
    ("base64_encoding", dict(value=base64.urlsafe_b64encode(RIGHT).decode().rstrip("="))),
    ("base64_encoding", dict(value=base64.b64encode(mac_hex(BODY, SECRET).encode()).decode())),
    ("wrong_algorithm", dict(value=mac_hex(BODY, SECRET, hashlib.sha1))),
    ("wrong_algorithm", dict(value=mac_hex(BODY, SECRET, hashlib.sha512))),
    ("secret_whitespace", dict(value=mac_hex(BODY, SECRET), secrets=[f"  {SECRET}\n"])),
    ("secret_whitespace", dict(value=mac_hex(BODY, SECRET + "\n"))),
    ("trailing_newline", dict(value=mac_hex(BODY + b"\n", SECRET))),
    ("trailing_newline", dict(value=mac_hex(BODY + b"\r\n", SECRET))),
    ("trailing_newline", dict(value=mac_hex(BODY, SECRET), body=BODY + b"\n")),
    ("trailing_newline", dict(value=mac_hex(BODY, SECRET), body=BODY + b"\r\n")),
    ("other_header", dict(value=None, extra=[("X-Cribbly-Signature", mac_hex(BODY, SECRET))])),
    ("other_header", dict(value=None, extra=[("x-hub-signature", "sha1=abc")])),
    ("empty_header", dict(value="")),
    ("prefixed", dict(value="sha256=" + mac_hex(BODY, SECRET).upper())),
    ("uppercase_hex", dict(value="sha256=" + mac_hex(BODY, SECRET).upper())),
    ("prefixed", dict(value="sha256=" + mac_hex(BODY + b"\n", SECRET))),
    ("trailing_newline", dict(value="sha256=" + mac_hex(BODY + b"\n", SECRET))),
    ("not_hex", dict(value="hello world")),
    ("not_hex", dict(value="sha256=" + mac_hex(BODY, OTHER))),
    ("no_match", dict(value=mac_hex(BODY, OTHER))),
    ("no_match", dict(value=mac_hex(BODY, OTHER).upper())),
    # rotation: every diagnosis is tried with each secret
    ("prefixed", dict(value="sha256=" + mac_hex(BODY, SECRET), secrets=[OTHER, SECRET])),
]


def ids(cases):
    return [f"{code}-{number}" for number, (code, _) in enumerate(cases)]


@pytest.mark.parametrize("code, case", POSITIVE, ids=ids(POSITIVE))
def test_hint_appears(code, case):
    result = check(**case)
    assert result.status in ("invalid", "missing")
    assert code in codes(result)
    for hint in result.hints:
        assert SECRET not in hint.message and SECRET.strip() not in hint.message
        assert OTHER not in hint.message


def test_fallbacks_only_when_nothing_else_applies():
    for code, case in POSITIVE:
        found = codes(check(**case))
        if code not in ("not_hex", "no_match", "other_header"):
            assert not {"not_hex", "no_match"} & set(found), (code, found)


def test_invalid_always_has_a_hint():
    for code, case in POSITIVE:
        result = check(**case)
        if result.status == "invalid":
            assert result.hints


def test_hint_messages_name_the_details():
    assert "HMAC-SHA1" in check(mac_hex(BODY, SECRET, hashlib.sha1)).hints[0].message
    assert "HMAC-SHA512" in check(mac_hex(BODY, SECRET, hashlib.sha512)).hints[0].message
    compact = check(mac_hex(COMPACT_UTF8, SECRET)).hints[0]
    assert "compact" in compact.message and "raw" in compact.message
    assert '"2345"' in check(mac_hex(BODY, SECRET + "\n")).hints[0].message
    assert "11 characters long" in check("hello world").hints[0].message


@pytest.mark.parametrize("value, fix", [
    ("sha256=" + mac_hex(BODY, SECRET), 'a "sha256=" prefix'),
    (mac_hex(BODY, SECRET).upper(), "upper-case hex"),
    (base64.b64encode(RIGHT).decode(), "base64 encoding"),
    ("sha256=" + mac_hex(BODY, SECRET).upper(), 'a "sha256=" prefix and upper-case hex'),
    ("sha1=" + mac_hex(BODY, SECRET, hashlib.sha1), 'a "sha1=" prefix and HMAC-SHA1'),
])
def test_other_header_names_the_fix_that_makes_it_verify(value, fix):
    """GitHub-style "sha256=<hex>" in X-Signature is the signature, not a mismatch."""
    result = check(None, extra=[("X-Signature", value)])
    assert (result.status, codes(result)) == ("missing", ["other_header"])
    message = result.hints[0].message
    assert '"X-Signature"' in message and "holds your signature" in message
    assert f"but with {fix}:" in message and "does not verify" not in message


def test_other_header_says_whether_it_verifies():
    good = check(None, extra=[("X-Cribbly-Signature", mac_hex(BODY, SECRET))]).hints
    bad = check(None, extra=[("X-Cribbly-Signature", mac_hex(BODY, OTHER))]).hints
    assert "X-Cribbly-Signature" in good[0].message and "verifies" in good[0].message
    assert "does not verify" in bad[0].message


# Every encoding mistake combined with every signing mistake is named in full: a value
# that is prefixed AND upper case is not "no usual encoding mistake explains it".
ENCODINGS = [  # (name, digest bytes -> header value, hint codes it takes)
    ("hex", lambda d: d.hex(), set()),
    ("upper", lambda d: d.hex().upper(), {"uppercase_hex"}),
    ("prefix", lambda d: "sha256=" + d.hex(), {"prefixed"}),
    ("prefix+upper", lambda d: "SHA256=" + d.hex().upper(), {"prefixed", "uppercase_hex"}),
    ("base64", lambda d: base64.b64encode(d).decode(), {"base64_encoding"}),
    ("base64 hex", lambda d: base64.b64encode(d.hex().encode()).decode(), {"base64_encoding"}),
    ("base64 upper hex", lambda d: base64.b64encode(d.hex().upper().encode()).decode(),
     {"base64_encoding", "uppercase_hex"}),
    ("prefix+base64", lambda d: "sha256=" + base64.b64encode(d).decode(),
     {"prefixed", "base64_encoding"}),
]
SIGNED = [  # (name, digest the sender sent, hint codes, check() arguments)
    ("right", RIGHT, set(), {}),
    ("sha1", hmac.new(SECRET.encode(), BODY, hashlib.sha1).digest(), {"wrong_algorithm"}, {}),
    ("sha512", hmac.new(SECRET.encode(), BODY, hashlib.sha512).digest(), {"wrong_algorithm"}, {}),
    ("secret newline", bytes.fromhex(mac_hex(BODY, SECRET + "\n")), {"secret_whitespace"}, {}),
    ("secret spaces", RIGHT, {"secret_whitespace"}, {"secrets": [f" {SECRET}\n"]}),
    ("newline added", bytes.fromhex(mac_hex(BODY + b"\n", SECRET)), {"trailing_newline"}, {}),
    # Not JSON: stripping a JSON body's newline is also one of its re-serializations.
    ("newline removed", bytes.fromhex(mac_hex(b"text", SECRET)), {"trailing_newline"},
     {"body": b"text\r\n"}),
    ("compact JSON", bytes.fromhex(mac_hex(COMPACT_UTF8, SECRET)), {"reserialized_json"}, {}),
]
COMBINED = [
    pytest.param(encode, digest, encoded | signed, args, id=f"{name}-{signing}")
    for name, encode, encoded in ENCODINGS
    for signing, digest, signed, args in SIGNED
    if len(encoded | signed) >= 2
]


@pytest.mark.parametrize("encode, digest, expected, args", COMBINED)
def test_combined_mistakes_are_all_named(encode, digest, expected, args):
    result = check(encode(digest), **args)
    assert result.status == "invalid"
    assert set(codes(result)) == expected
    for hint in result.hints:  # each says it explains the value only together with the others
        assert "together explain the value" in hint.message


def test_combined_message_names_the_other_mistakes():
    prefixed, upper = check("sha256=" + mac_hex(BODY, SECRET).upper()).hints
    assert prefixed.message.startswith('The value has a "sha256=" prefix')
    assert 'This and upper-case hex together explain the value: fix both.' in prefixed.message
    assert 'This and a "sha256=" prefix together explain the value: fix both.' in upper.message
    three = check("sha256=" + mac_hex(BODY + b"\n", SECRET).upper()).hints
    assert [h.code for h in three] == ["prefixed", "uppercase_hex", "trailing_newline"]
    assert "fix all of them" in three[2].message
    assert 'a "sha256=" prefix and upper-case hex together' in three[2].message


# --- hints: where each must not appear --------------------------------------------------------

BIG_JSON = json.dumps({"pad": "x" * (JSON_DIAGNOSIS_LIMIT + 10), "n": 1}).encode()
BIG_COMPACT = json.dumps(json.loads(BIG_JSON), separators=(",", ":")).encode()
NEGATIVE = [
    ("reserialized_json", dict(value=mac_hex(BODY, OTHER))),
    ("reserialized_json", dict(value=mac_hex(b"not json", OTHER), body=b"not json")),
    ("reserialized_json", dict(value=mac_hex(BIG_COMPACT, SECRET), body=BIG_JSON)),
    ("reserialized_json", dict(value=mac_hex(reserialized(separators=(",", ":")), OTHER))),
    ("prefixed", dict(value="sha256=" + mac_hex(BODY, OTHER))),
    ("prefixed", dict(value="sha1=" + mac_hex(BODY, SECRET))),
    ("uppercase_hex", dict(value=mac_hex(BODY, OTHER).upper())),
    ("uppercase_hex", dict(value=mac_hex(BODY, OTHER))),
    ("base64_encoding", dict(value=base64.b64encode(bytes.fromhex(mac_hex(BODY, OTHER))).decode())),
    ("base64_encoding", dict(value=mac_hex(BODY, OTHER))),
    ("wrong_algorithm", dict(value=mac_hex(BODY, OTHER, hashlib.sha1))),
    ("wrong_algorithm", dict(value=mac_hex(BODY, OTHER, hashlib.sha512))),
    ("secret_whitespace", dict(value=mac_hex(BODY, OTHER + "\n"))),
    ("secret_whitespace", dict(value=mac_hex(BODY, OTHER), secrets=[f" {SECRET} "])),
    ("trailing_newline", dict(value=mac_hex(BODY + b"\n\n", SECRET))),
    ("trailing_newline", dict(value=mac_hex(BODY[:-1], SECRET))),
    ("other_header", dict(value="x", extra=[("X-Other-Signature", mac_hex(BODY, SECRET))])),
    ("other_header", dict(value=None, extra=[("X-Signature-Version", "v1"), ("X-Sig", "abc")])),
    ("not_hex", dict(value="sha256=" + mac_hex(BODY, SECRET))),
    ("not_hex", dict(value=mac_hex(BODY, OTHER))),
    ("not_hex", dict(value=None)),
    ("no_match", dict(value=mac_hex(BODY, SECRET).upper())),
    ("no_match", dict(value="hello world")),
    ("no_match", dict(value=None)),
]


@pytest.mark.parametrize("code, case", NEGATIVE, ids=ids(NEGATIVE))
def test_hint_absent(code, case):
    assert code not in codes(check(**case))


@pytest.mark.parametrize("code, case", POSITIVE, ids=ids(POSITIVE))
def test_no_hints_when_valid_or_unconfigured(code, case):
    """The same messy headers and bodies never produce hints when nothing failed."""
    body = case.get("body", BODY)
    headers = [(H, sign(body, SECRET))] + list(case.get("extra", ()))
    assert verify_signature(body, headers, [SECRET]).hints == ()
    assert verify_signature(body, [(H, case["value"] or "x")], []).hints == ()


HOSTILE_JSON = [b"[" * 200_000 + b"]" * 200_000, b'{"a": ' * 50_000, b"1e999999", b'"\\ud800"']


@pytest.mark.parametrize("body", HOSTILE_JSON)
def test_hostile_json_never_raises(body):
    result = check(mac_hex(body, OTHER), body=body)
    assert result.status == "invalid" and codes(result) == ["no_match"]


# --- validate_header_name ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [DEFAULT_HEADER, "x-cribbly-signature", "  X-Sig  ", "a", "!#$%&'*+-.^_`|~", "A" * 100]
)
def test_valid_header_names(name):
    assert validate_header_name(name) == name.strip()


def test_docssmith_name_suggests_dashes():
    with pytest.raises(InvalidHeaderName) as caught:
        validate_header_name("x-DocsSmith Demo2-signature")
    assert str(caught.value) == (
        '"x-DocsSmith Demo2-signature" is not a valid HTTP header name (a space is not allowed); '
        'did you mean "x-DocsSmith-Demo2-signature"?'
    )


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_empty_header_name(name):
    with pytest.raises(InvalidHeaderName, match="empty.*X-Protocol-Signature"):
        validate_header_name(name)


@pytest.mark.parametrize(
    "name, named, suggestion",
    [
        ("X-Sig\x00nature", r"'\x00'", "X-Sig-nature"),
        ("X-Sig\x7f", r"'\x7f'", "X-Sig"),
        ("X-Sïgnature", "U+00EF", "X-Signature"),
        ("X-Sig\u200bnature", r"'\u200b'", "X-Sig-nature"),
        ("X:Signature", "':'", "X-Signature"),
        ("日本", "U+65E5", DEFAULT_HEADER),
    ],
)
def test_bad_characters_are_named_and_escaped(name, named, suggestion):
    with pytest.raises(InvalidHeaderName) as caught:
        validate_header_name(name)
    message = str(caught.value)
    assert named in message and message.endswith(f'did you mean "{suggestion}"?')
    assert "\x00" not in message and "\x7f" not in message


def test_too_long_header_name():
    with pytest.raises(InvalidHeaderName, match="101 characters long"):
        validate_header_name("A" * 101)


# --- properties -------------------------------------------------------------------------------

known_names = st.sampled_from([H, DEFAULT_HEADER, "X-Other-Signature", "Content-Type"])
header_names = known_names | st.text(max_size=20)
header_values = st.one_of(st.text(max_size=80), st.from_regex(r"\A(sha256=)?[0-9a-fA-F]{64}\Z"))
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
).map(lambda data: json.dumps(data).encode())
bodies = st.binary(max_size=2000) | json_bodies
secret_lists = st.lists(st.text(max_size=30), max_size=3)


@settings(max_examples=150, deadline=None)
@given(
    body=bodies,
    headers=st.lists(st.tuples(header_names, header_values), max_size=5),
    secrets=secret_lists,
)
def test_verify_never_raises(body, headers, secrets):
    result = verify_signature(body, headers, secrets)
    assert result.status in STATUSES
    assert all(isinstance(hint, Hint) for hint in result.hints)
    if result.status == "invalid":
        assert result.hints
    if result.status in ("valid", "unconfigured"):
        assert result.hints == ()
    json.dumps(result.to_dict())


@settings(max_examples=200, deadline=None)
@given(
    body=bodies,
    secret=st.text(min_size=1, max_size=30),
    # Other headers: the signature header itself sent twice is invalid (tested above).
    noise=st.lists(st.tuples(header_names.filter(lambda n: n.strip().lower() != H.lower()),
                             st.text(max_size=20)), max_size=3),
)
def test_signed_body_always_verifies(body, secret, noise):
    assert verify_signature(body, noise + [(H, sign(body, secret))], [secret]).status == "valid"


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=120))
def test_validate_header_name_returns_or_raises_cleanly(name):
    try:
        result = validate_header_name(name)
    except InvalidHeaderName as error:
        message = str(error)
        if "did you mean" in message:  # every suggestion must itself be a valid name
            suggestion = message.rsplit('did you mean "', 1)[-1].removesuffix('"?')
            assert validate_header_name(suggestion) == suggestion
        else:
            assert not name.strip() and DEFAULT_HEADER in message
    else:
        assert result == name.strip() and 1 <= len(result) <= 100


TRANSFORMS = [
    lambda body, secret: "sha256=" + sign(body, secret),
    lambda body, secret: sign(body, secret).upper(),
    lambda body, secret: base64.b64encode(bytes.fromhex(sign(body, secret))).decode(),
    lambda body, secret: mac_hex(body, secret, hashlib.sha512),
    lambda body, secret: sign(body, secret.strip()),
    lambda body, secret: sign(body, secret + "\n"),
    lambda body, secret: sign(body + b"\n", secret),
    lambda body, secret: sign(json.dumps(json.loads(body), indent=2).encode(), secret),
    lambda body, secret: "sha256=" + sign(body + b"\n", secret.strip()).upper(),
    lambda body, secret: base64.b64encode(sign(body, secret + "\n").encode()).decode(),
]


@settings(max_examples=100, deadline=None)
@given(
    body=json_bodies,
    secret=st.builds(
        lambda pad, core: pad + core + pad,
        st.sampled_from(["", " ", "\n", " \t\n"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=16, max_size=30),
    ),
    transform=st.sampled_from(TRANSFORMS),
)
def test_hints_never_show_the_secret(body, secret, transform):
    result = verify_signature(body, [(H, transform(body, secret))], [secret])
    for hint in result.hints:
        assert secret.strip() not in hint.message and secret.strip()[:-4] not in hint.message
