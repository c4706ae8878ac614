"""Finding the endpoint token in what a user pasted into the home page's box."""
from __future__ import annotations

import pytest

from inspector.paste import host_of_paste, request_id_from_paste, token_from_paste

TOKEN = "Qx7-Pq_2ZkR9vB3nLm0aWcYt5uEfGhJd"


@pytest.mark.parametrize("pasted", [
    f"http://127.0.0.1:8420/hooks/{TOKEN}",
    f"https://hooks.example.com/hooks/{TOKEN}/billing/v2?x=1#frag",
    f"http://localhost:8420/endpoints/{TOKEN}?event_type=message.created",
    f"http://localhost:8420/api/endpoints/{TOKEN}/events",
    f"localhost:8420/hooks/{TOKEN}",
    f"/hooks/{TOKEN}",
    f"hooks/{TOKEN}/sub",
    TOKEN,
    f"  <{TOKEN}>  ",
    f'"http://localhost/hooks/{TOKEN}"',
])
def test_token_found(pasted):
    assert token_from_paste(pasted) == TOKEN


@pytest.mark.parametrize("pasted", ["", "   ", "hello world", "http://localhost:8420/",
                                    "http://localhost/other/" + TOKEN, "short", "<script>"])
def test_nothing_found(pasted):
    assert token_from_paste(pasted) is None


@pytest.mark.parametrize("pasted, found", [
    ("http://127.0.0.1:8420/requests/42", 42), ("localhost:8420/api/requests/7/body", 7),
    ("requests/9", 9), ("/requests/12?tab=raw", 12), (f"http://x/hooks/{TOKEN}", None),
    ("http://x/requests/abc", None), ("/requests/" + "9" * 20, None),
])
def test_request_link_found(pasted, found):
    assert request_id_from_paste(pasted) == found


@pytest.mark.parametrize("pasted, host", [
    (f"https://Hooks.Example.com/hooks/{TOKEN}", "hooks.example.com"),
    (f"localhost:8420/hooks/{TOKEN}", "localhost:8420"), (f"/hooks/{TOKEN}", None),
    (f"hooks/{TOKEN}", None), (TOKEN, None), (f"http://user:pw@h:1/hooks/{TOKEN}", "h:1"),
])
def test_host_of_paste(pasted, host):
    assert host_of_paste(pasted) == host
