"""Finding the endpoint token in what a user pasted into the home page's box."""
from __future__ import annotations

import pytest

from inspector.paste import token_from_paste

TOKEN = "Qx7-Pq_2ZkR9vB3nLm0aWcYt5uEfGhJd"


@pytest.mark.parametrize("pasted", [
    f"http://127.0.0.1:8420/hooks/{TOKEN}",
    f"https://hooks.example.com/hooks/{TOKEN}/billing/v2?x=1#frag",
    f"http://localhost:8420/endpoints/{TOKEN}?event_type=message.created",
    f"http://localhost:8420/api/endpoints/{TOKEN}/events",
    f"localhost:8420/hooks/{TOKEN}",
    f"/hooks/{TOKEN}",
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
