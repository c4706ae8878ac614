"""Where a resend may go: loopback by default, INSPECTOR_FORWARD_ALLOW, no DNS tricks, no loops."""
from __future__ import annotations

import html

import pytest

from inspector import resend as resend_module
from inspector import sender
from inspector.models import Resend, db
from inspector.resend import (LookupFailed, TargetRefused, build, check_target, edited_body,
                              target_url)
from tests.recording_target import RecordingTarget
from tests.test_resend import store


@pytest.fixture
def app(sqlite_app):
    return sqlite_app


def fake_resolver(table):
    """A resolver that never touches the network."""
    def resolve(host, port):
        if host not in table:
            raise OSError(f"unknown test host {host}")
        return table[host]
    return resolve


@pytest.fixture
def no_traffic(monkeypatch):
    """Fail the test if anything tries to open an HTTP client."""
    class Forbidden:
        def __init__(self, *a, **kw):
            raise AssertionError("a refused target must not be contacted")
    monkeypatch.setattr(sender.httpx, "Client", Forbidden)


@pytest.mark.parametrize("url", ["http://localhost:3000/x", "http://127.0.0.1/x",
                                 "https://127.8.9.10:8443/", "http://[::1]:3000/",
                                 "http://[::ffff:127.0.0.1]:3000/", "http://LOCALHOST.:3000/"])
def test_loopback_targets_are_allowed(url):
    target = check_target(url)
    assert target.addresses and all(resend_module.is_loopback(a) for a in target.addresses)


@pytest.mark.parametrize("url", ["http://10.0.0.1/hook", "http://192.168.1.20:8080/",
                                 "http://169.254.169.254/latest/meta-data/",
                                 "http://[::ffff:10.0.0.1]/",
                                 "http://[2001:db8::1]/", "http://0.0.0.0:3000/"])
def test_other_addresses_are_refused_without_lookup(url):
    with pytest.raises(TargetRefused, match="INSPECTOR_FORWARD_ALLOW"):
        check_target(url, resolve=None)


def test_zero_address_gets_a_hint():
    with pytest.raises(TargetRefused, match="use 127.0.0.1"):
        check_target("http://0.0.0.0:3000/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://localhost/", "ftp://127.0.0.1/",
                                 "http:///nohost", "localhost:3000", "http://localhost:99999/"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(TargetRefused):
        check_target(url)


def test_names_are_resolved_and_every_address_must_be_loopback():
    resolve = fake_resolver({"evil.example": ["10.0.0.1"],
                             "rebind.example": ["127.0.0.1", "10.0.0.1"],
                             "dev.example": ["127.0.0.1", "::1"]})
    with pytest.raises(TargetRefused, match=r"evil\.example \(it resolves to 10\.0\.0\.1\)"):
        check_target("http://evil.example/", resolve=resolve)
    with pytest.raises(TargetRefused, match="10.0.0.1"):
        check_target("http://rebind.example/", resolve=resolve)
    dev = check_target("http://dev.example:3000/", resolve=resolve)
    assert dev.addresses == ("127.0.0.1", "::1")
    with pytest.raises(LookupFailed, match="could not resolve host 'nowhere.example'"):
        check_target("http://nowhere.example/", resolve=resolve)


def test_allow_list_names_hosts_or_star():
    resolve = fake_resolver({"partner.example": ["203.0.113.7"]})
    with pytest.raises(TargetRefused):
        check_target("https://partner.example/", allow=("other.example",), resolve=resolve)
    assert check_target("https://partner.example/", allow=(" Partner.Example ",),
                        resolve=resolve).addresses == ("203.0.113.7",)
    assert check_target("https://partner.example/", allow=("*",), resolve=resolve)
    assert check_target("http://10.0.0.1/", allow=("10.0.0.1",), resolve=lambda h, p: [h])


def test_refused_targets_are_not_contacted_or_recorded(app, client, endpoint, monkeypatch,
                                                       no_traffic):
    monkeypatch.setattr(resend_module, "system_resolve",
                        fake_resolver({"evil.example": ["10.0.0.1"]}))
    request_id = store(app, endpoint["token"])
    for url in ("http://10.0.0.1/hook", "http://evil.example/hook"):
        response = client.post(f"/api/requests/{request_id}/resend", json={"url": url})
        assert response.status_code == 403, response.json
        assert "only this machine" in response.json["error"]
    with app.app_context():
        assert db.session.query(Resend).count() == 0


def test_allow_setting_widens_to_a_named_host(app, client, endpoint, monkeypatch):
    """127.0.0.2 plays a machine on the network: refused until the allow list names it."""
    monkeypatch.setattr(resend_module, "is_loopback", lambda address: address == "127.0.0.1")
    request_id = store(app, endpoint["token"])
    with RecordingTarget(host="127.0.0.2") as target:
        refused = client.post(f"/api/requests/{request_id}/resend", json={"url": target.url()})
        assert refused.status_code == 403 and "127.0.0.2" in refused.json["error"]
        assert target.received == []
        app.config["FORWARD_ALLOW"] = ("partner.example", "127.0.0.2")
        sent = client.post(f"/api/requests/{request_id}/resend", json={"url": target.url()})
        assert sent.status_code == 201 and sent.json["status_code"] == 200
        assert len(target.wait_for(1)) == 1


def test_connection_goes_to_the_checked_address_with_the_original_host(app, client, endpoint,
                                                                       monkeypatch):
    """A name is resolved once; the connection uses that answer (no second, rebindable lookup)."""
    calls = []

    def resolve(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(resend_module, "system_resolve", resolve)
    request_id = store(app, endpoint["token"])
    with RecordingTarget() as target:
        url = f"http://my-app.test:{target.port}/hook"
        assert client.post(f"/api/requests/{request_id}/resend",
                           json={"url": url}).json["status_code"] == 200
        got = target.wait_for(1)[0]
    assert calls == ["my-app.test"]
    assert got.header("Host") == [f"my-app.test:{target.port}"]


@pytest.mark.parametrize("url, words", [
    ("not a url", "'not a url' is not an http:// or https:// URL"),
    ("ftp://localhost/x", "'ftp://localhost/x' is not an http://"),
    ("http://localhost:99999/x", "'http://localhost:99999/x' is not a valid URL"),
])
def test_malformed_target_is_a_bad_request_that_names_it(app, client, endpoint, no_traffic,
                                                          url, words):
    request_id = store(app, endpoint["token"])
    response = client.post(f"/api/requests/{request_id}/resend", json={"url": url})
    assert response.status_code == 400 and words in response.json["error"], response.json
    panel = client.post(f"/requests/{request_id}/resend", data={"url": url},
                        headers={"HX-Request": "true"})
    assert words in html.unescape(panel.get_data(as_text=True))


def test_own_capture_url_is_refused(app, client, endpoint, no_traffic):
    request_id = store(app, endpoint["token"])
    for url in (endpoint["capture_url"], endpoint["capture_url"] + "/sub/path?x=1",
                f"http://127.0.0.1:8420/hooks/{endpoint['token']}"):
        response = client.post(f"/api/requests/{request_id}/resend", json={"url": url})
        assert response.status_code == 403, url
        assert "own capture URL" in response.json["error"]


def test_hop_count_grows_and_stops_a_loop(app, client, endpoint):
    fresh = store(app, endpoint["token"], headers=[("x-inspector-forwarded", "2")])
    looping = store(app, endpoint["token"], headers=[("X-Inspector-Forwarded", "5")])
    with RecordingTarget() as target:
        sent = client.post(f"/api/requests/{fresh}/resend", json={"url": target.url()})
        assert sent.status_code == 201
        response = client.post(f"/api/requests/{looping}/resend", json={"url": target.url()})
        got = target.wait_for(1)
    assert got[0].header("X-Inspector-Forwarded") == ["3"]
    assert response.status_code == 400 and "loop" in response.json["error"]
    assert len(got) == 1


def test_target_url_joins_path_and_query():
    assert target_url("http://h/w", "/", "", True) == "http://h/w"
    assert target_url("http://h", "/a b/%2F", "", True) == "http://h/a%20b/%2F"
    assert target_url("http://h/w/?k=v", "/s", "x=1&x=2", True) == "http://h/w/s?k=v&x=1&x=2"
    assert target_url("http://h/w", "/s", "x=1", False) == "http://h/w?x=1"


def test_editor_text_equal_to_what_was_shown_is_not_an_edit():
    original = b'{"a":1}'
    pretty = '{\n  "a": 1\n}'
    assert edited_body(original, None) is None
    assert edited_body(original, '{"a":1}') is None
    assert edited_body(original, pretty.replace("\n", "\r\n"), shown=pretty) is None
    assert edited_body(original, '{\r\n  "a": 2\r\n}', shown=pretty) == b'{\n  "a": 2\n}'
    assert edited_body(b"a\r\nb", "a\r\nb!") == b"a\r\nb!"


def test_build_is_pure_and_keeps_header_order():
    out = build(method="post", path="/", query="", headers=[("B", "2"), ("a", "1"), ("B", "3")],
                body=b"x", target="http://localhost/")
    assert out.method == "POST"
    assert out.wire_headers("localhost") == [("Host", "localhost"), ("B", "2"), ("a", "1"),
                                             ("B", "3"), ("X-Inspector-Forwarded", "1"),
                                             ("Content-Length", "1")]
