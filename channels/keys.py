"""Secrets that never print, pseudonymous IDs, and encryption of what must be kept a while.

A person's platform address (phone number, chat ID) is needed to send them a reply, so the
gateway keeps it only encrypted (Fernet, key derived from GATEWAY_SECRET) and only as long as
a reply or an open case needs it. Everything else refers to the person by a keyed hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from channels.errors import ChannelError, SealError


class Secret:
    """A string that shows as ``***`` in reprs, logs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", hashlib.sha256(self._value.encode()).hexdigest()))


def equal(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison of a received secret or signature with the expected one."""
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


class Keys:
    """Keys derived from the gateway secret, one per purpose."""

    def __init__(self, secret: Secret) -> None:
        if len(secret.reveal()) < 16:
            raise ChannelError("GATEWAY_SECRET must be at least 16 characters")
        master = secret.reveal().encode("utf-8")
        self._pseudonym = hmac.new(master, b"pseudonym", hashlib.sha256).digest()
        self._message = hmac.new(master, b"message-id", hashlib.sha256).digest()
        fernet_key = base64.urlsafe_b64encode(hmac.new(master, b"encryption", hashlib.sha256).digest())
        self._fernet = Fernet(fernet_key)

    def pseudonym(self, channel: str, user_id: str) -> str:
        """The conversation ID Rasa and our stores see: ``<channel>-<keyed hash>``."""
        digest = hmac.new(self._pseudonym, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()
        return f"{channel}-{digest[:32]}"

    def message_key(self, channel: str, message_id: str) -> str:
        """Deduplication key; platform message IDs can embed the sender's number (WhatsApp's do)."""
        return hmac.new(self._message, f"{channel}:{message_id}".encode(), hashlib.sha256).hexdigest()

    def seal(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            return dict(json.loads(self._fernet.decrypt(token)))
        except InvalidToken as exc:
            raise SealError("stored data was sealed with another GATEWAY_SECRET") from exc
