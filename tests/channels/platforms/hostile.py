"""Hostile variants of recorded payloads, for every JSON channel's table of cases: the security
report's deep nesting (rows 2.2, 2.3) and escaped lone surrogates (2.7, 2.8), and a field of each
payload turned into every other JSON type, to show that parsing refuses or ignores, never fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from channels.base import Channel, WebhookRequest
from channels.errors import Rejected
from tests.channels.conftest import TESTDATA

HOLE = "\x00hostile\x00"
# the report's two shapes: 50,000 levels of array (100 KB), and 20,000 levels of object in a field
DEEP_ARRAY = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = '{"a": ' * 20_000 + "1" + "}" * 20_000
LONE_SURROGATE = '"x\\ud800y"'  # as JSON escapes it; no UTF-8 byte sequence can carry it
OTHER_TYPES = (None, True, 0, -1, 1.5, "", "x", [], [None], {}, {"x": None})


def with_raw(body: bytes, path: tuple[str | int, ...], raw: str, **changes: Any) -> bytes:
    """``body`` with the value at ``path`` replaced by ``raw`` JSON text, as is (escapes kept), and
    top-level ``changes`` applied (a new message ID, so that the case is not a redelivery)."""
    data = json.loads(body)
    data.update(changes)
    _at(data, path[:-1])[path[-1]] = HOLE
    return json.dumps(data, ensure_ascii=False).replace(json.dumps(HOLE), raw).encode()


def retyped(body: bytes) -> Iterator[tuple[str, bytes]]:
    """Every variant of ``body`` with one value (at any depth) swapped for a value of another type."""
    data = json.loads(body)
    for path in _paths(data):
        for other in OTHER_TYPES:
            if type(other) is not type(_at(data, path)):
                copy = json.loads(body)
                _at(copy, path[:-1])[path[-1]] = other
                yield f"{'.'.join(map(str, path))}={other!r}", json.dumps(copy).encode()


def parse_failures(channel: Channel) -> list[str]:
    """Each retyped variant of the channel's recorded JSON payloads that ``parse`` neither turns into
    messages with text fields nor refuses (Rejected, a 4xx): an exception there would be a 500."""
    failures = []
    for recorded in sorted((TESTDATA / channel.name).glob("*.json")):
        for label, body in retyped(recorded.read_bytes()):
            try:
                parsed = channel.parse(WebhookRequest("POST", "https://hotline.example.org", {}, body))
            except Rejected:
                continue
            except Exception as exc:  # what this check is for
                failures.append(f"{recorded.name} {label}: {exc.__class__.__name__}")
                continue
            failures += [f"{recorded.name} {label}: {message}" for message in parsed.messages
                         if not all(isinstance(v, str) for v in (message.message_id, message.user_id, message.text))]
    return failures


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _paths(data: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))
