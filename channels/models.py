"""The typed messages every channel speaks: parsed inbound, platform-neutral outbound, API calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["text", "button", "media"]


@dataclass(frozen=True)
class Inbound:
    """One person's message as a channel parsed it.

    ``user_id`` is the platform's address of the person (a phone number, a chat ID): it stays in
    memory, or encrypted at rest, and is never logged. ``reply_to`` carries the platform routing
    data a reply needs that is not about the person (our business number, the phone-number ID).
    """

    channel: str
    message_id: str
    user_id: str
    kind: Kind
    text: str = ""
    reply_to: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    """A webhook's content: the messages to process and why anything else was ignored."""

    messages: list[Inbound] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Outbound:
    """A reply to one person, before a channel renders it for its platform."""

    channel: str
    user_id: str
    text: str
    buttons: tuple[Button, ...] = ()
    reply_to: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCall:
    """One request to a platform's API, without credentials (they are added when it is sent).

    ``path`` is relative to the channel's API base; ``json`` or ``form`` is the exact body.
    """

    path: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "json": self.json, "form": self.form}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiCall:
        return cls(path=data["path"], json=data.get("json"), form=data.get("form"))


@dataclass(frozen=True)
class SendResult:
    """What a platform said to one API call: delivered, try again later, or never."""

    ok: bool
    retry_after: float | None = None
    reason: str = ""

    @property
    def permanent_failure(self) -> bool:
        return not self.ok and self.retry_after is None
