"""Rate limits for what anyone may send without a credential (the web chat, the console's sign-in).

``TokenBuckets`` keeps one token bucket per key (a client IP, a chat session): a key may spend
``burst`` tokens at once, and earns ``rate`` tokens a second back up to ``burst``. The map holds at
most ``max_keys`` buckets and drops the least recently used one beyond that, so a flood of new keys
costs a bounded amount of memory. A dropped bucket starts full when its key comes back; the least
recently used bucket has had the longest to refill, so this forgets little unless more than
``max_keys`` keys are active within ``burst / rate`` seconds.

``client_ip`` says which address a request counts against, and ``ip_key`` groups IPv6 addresses by
their /64, the block one household or phone is usually given.
https://en.wikipedia.org/wiki/Token_bucket
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web

from channels.errors import ChannelError

MAX_KEYS = 10_000
# What a refused client is told to wait at most (Retry-After), however slow the refill.
MAX_WAIT = 3600.0
UNKNOWN = "unknown"  # a request without a peer address (a Unix socket), counted as one client


class TokenBuckets:
    """One token bucket per key, at most ``max_keys`` of them (least recently used dropped)."""

    def __init__(self, rate: float, burst: float, *, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0 or not burst >= 1 or max_keys < 1:
            raise ChannelError(f"a token bucket needs rate > 0, burst >= 1 and max_keys >= 1 "
                               f"(got rate={rate}, burst={burst}, max_keys={max_keys}): check the *_RATE and "
                               f"*_BURST settings")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, when)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` tokens of ``key``'s bucket: 0.0 if it had them, otherwise the seconds until
        it will (nothing is spent then, so a client that keeps knocking does not dig itself deeper)."""
        now = self.clock()
        tokens, then = self._buckets.pop(key, (self.burst, now))
        # a clock that steps back refills nothing (and takes nothing away)
        tokens = min(self.burst, tokens + max(0.0, now - then) * self.rate)
        if tokens >= cost:
            tokens -= cost
            wait = 0.0
        else:
            wait = min(MAX_WAIT, (cost - tokens) / self.rate)
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait: float) -> str:
    """A Retry-After header value for ``wait`` seconds: whole seconds, at least 1."""
    return str(max(1, math.ceil(min(wait, MAX_WAIT))))


def client_ip(request: web.BaseRequest, trust_proxy: bool) -> str:
    """The address a request counts against: the peer's, or, behind a proxy we trust
    (GATEWAY_TRUST_PROXY), the last hop of X-Forwarded-For, the one that proxy added itself (the
    hops before it are whatever the client chose to send)."""
    if trust_proxy:
        hops = ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
        forwarded = _address(hops[-1])
        if forwarded is not None:
            return forwarded
    return _address(request.remote or "") or UNKNOWN


def ip_key(ip: str) -> str:
    """The key a client's IP is limited by: an IPv4 address itself, an IPv6 address's /64 (one
    client can easily use many addresses of its own /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _address(value: str) -> str | None:
    """``value`` as a canonical IP address (an IPv4-mapped IPv6 address as IPv4), or None."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
