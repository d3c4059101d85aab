"""The gateway's exceptions. Messages say what to do next."""

from __future__ import annotations


class ChannelError(Exception):
    """Base class for everything the gateway raises on purpose."""


class ConfigError(ChannelError):
    """The environment does not configure the gateway or a channel completely."""


class SealError(ChannelError):
    """Stored data that cannot be opened: sealed under another GATEWAY_SECRET, or damaged. The
    message or reply it held is parked after a few tries; restore the old secret to read it."""


class Rejected(ChannelError):
    """A webhook request that must not be processed: forged, unsigned or malformed (4xx)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def forbidden(reason: str) -> Rejected:
    return Rejected(403, reason)


def unauthorized(reason: str) -> Rejected:
    return Rejected(401, reason)


def malformed(reason: str) -> Rejected:
    return Rejected(400, reason)
