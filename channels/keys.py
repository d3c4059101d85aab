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

from channels.errors import ChannelError, SealError, malformed


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
        return isinstance(other, Secret) and equal(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", hashlib.sha256(_any_text(self._value)).hexdigest()))


def equal(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison of a received secret or signature with the expected one.

    Any text compares, whatever it holds: aiohttp hands a header's non-UTF-8 byte over as a lone
    surrogate ("\\xff" -> "\\udcff"), and such a header must be refused (401/403), not end in a 500."""
    a = _any_text(given) if isinstance(given, str) else given
    b = _any_text(expected) if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def _any_text(text: str) -> bytes:
    """UTF-8, with lone surrogates encoded too: never raises, and only text that holds one (which
    no configured secret or computed signature does) comes out different from plain UTF-8."""
    return text.encode("utf-8", "surrogatepass")


def _utf8(text: str, what: str) -> bytes:
    """Text as UTF-8, or a 400 when it holds a lone surrogate (JSON can escape one: "\\ud800").

    channels.base.load_json refuses such a webhook first; this is the second line of defence."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise malformed(f"{what} is not valid Unicode (it holds a lone surrogate)") from None


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
        digest = hmac.new(self._pseudonym, _utf8(f"{channel}:{user_id}", "user ID"), hashlib.sha256).hexdigest()
        return f"{channel}-{digest[:32]}"

    def message_key(self, channel: str, message_id: str) -> str:
        """Deduplication key; platform message IDs can embed the sender's number (WhatsApp's do)."""
        return hmac.new(self._message, _utf8(f"{channel}:{message_id}", "message ID"), hashlib.sha256).hexdigest()

    def seal(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(_utf8(json.dumps(data, ensure_ascii=False), "sealed data"))

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            return dict(json.loads(self._fernet.decrypt(token)))
        except InvalidToken as exc:
            raise SealError("stored data was sealed with another GATEWAY_SECRET") from exc
