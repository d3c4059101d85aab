"""Same-origin checks for what browsers send (the web chat's POSTs, the console's forms)."""

from __future__ import annotations

import pytest

from channels.origin import same_origin


@pytest.mark.parametrize("origin,host,public,allowed", [
    ("http://127.0.0.1:8080", "127.0.0.1:8080", "", True),
    ("https://chat.example.org", "chat.example.org", "", True),
    ("https://chat.example.org", "chat.example.org:443", "", True),
    ("https://chat.example.org", "127.0.0.1:8080", "https://chat.example.org", True),  # behind a proxy
    ("http://127.0.0.1:8081", "127.0.0.1:8080", "", False),
    ("https://chat.example.org.evil.example", "chat.example.org", "", False),
    ("null", "127.0.0.1:8080", "", False),
    ("file://", "127.0.0.1:8080", "", False),
])
def test_same_origin(origin: str, host: str, public: str, allowed: bool) -> None:
    assert same_origin(origin, host, public) is allowed
