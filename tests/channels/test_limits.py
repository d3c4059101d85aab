"""Token buckets and the client address they count against (channels/limits.py)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from channels.errors import ChannelError
from channels.limits import TokenBuckets, client_ip, ip_key, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=0.5, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(2.0), "one token comes back every 2 s"
    assert buckets.take("a") == pytest.approx(2.0), "a refused request spends nothing"
    clock.now += 1.0
    assert buckets.take("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0, "each key has its own bucket"
    clock.now += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0, "a long pause refills only up to the burst"


def test_a_clock_that_steps_back_gives_nothing_away() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=1, clock=clock)
    assert buckets.take("a") == 0.0
    clock.now -= 50
    assert buckets.take("a") == pytest.approx(1.0)
    clock.now += 1
    assert buckets.take("a") == 0.0


def test_a_flood_of_new_keys_keeps_memory_bounded() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=1, max_keys=100, clock=clock)
    assert buckets.take("busy") == 0.0
    for n in range(99):
        buckets.take(f"key-{n}")
    assert buckets.take("busy") > 0, "a recently used key is kept"  # and is now the newest
    for n in range(99, 10_000):
        buckets.take(f"key-{n}")
        assert len(buckets) <= 100
    assert len(buckets) == 100
    assert buckets.take("key-9999") > 0, "the newest keys are kept"
    assert buckets.take("key-0") == 0.0, "the oldest were dropped (and start full again)"


def test_settings_that_would_refuse_everything_are_an_error() -> None:
    for rate, burst in ((0, 5), (-1, 5), (1, 0), (1, 0.5)):
        with pytest.raises(ChannelError, match="RATE"):
            TokenBuckets(rate=rate, burst=burst)


def test_a_long_wait_is_capped_and_retry_after_is_whole_seconds() -> None:
    buckets = TokenBuckets(rate=1e-9, burst=1, clock=Clock())
    buckets.take("a")
    assert buckets.take("a") == 3600.0
    assert [retry_after(w) for w in (0.0, 0.01, 1.0, 1.2, 59.5, 1e12)] == ["1", "1", "1", "2", "60", "3600"]


def request(remote: str | None, *forwarded: str) -> web.BaseRequest:
    """An aiohttp request object as the server builds it, with this peer address and headers
    (aiohttp's own test helper; the web chat's tests check the same through the running app)."""
    headers = CIMultiDict([("X-Forwarded-For", hop) for hop in forwarded])
    made = make_mocked_request("GET", "/", headers=headers)  # its peer address is None
    return made.clone(remote=remote) if remote else made


def test_client_ip_is_the_peer_unless_a_proxy_is_trusted() -> None:
    assert client_ip(request("192.0.2.1", "198.51.100.7"), trust_proxy=False) == "192.0.2.1"
    assert client_ip(request("10.0.0.2", "203.0.113.9, 198.51.100.7"), trust_proxy=True) == "198.51.100.7"
    # the proxy appends its own line when the client sent one: the last hop is the proxy's
    assert client_ip(request("10.0.0.2", "203.0.113.9", "198.51.100.7"), trust_proxy=True) == "198.51.100.7"
    assert client_ip(request("10.0.0.2"), trust_proxy=True) == "10.0.0.2", "no header: the peer"
    assert client_ip(request("10.0.0.2", "198.51.100.7, not-an-ip"), trust_proxy=True) == "10.0.0.2"
    assert client_ip(request("::ffff:192.0.2.1"), trust_proxy=False) == "192.0.2.1"
    assert client_ip(request(None), trust_proxy=False) == "unknown"


def test_ipv6_clients_are_limited_by_their_64() -> None:
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("192.0.2.1") == "192.0.2.1"
    assert ip_key("unknown") == "unknown"
