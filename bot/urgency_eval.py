"""What the whole assistant does with each message of the urgency evaluation set.

``rights triage eval --set --assistant`` starts the action server and Rasa on loopback (as
``rights run`` does, without the gateway) and sends every message as the first message of a new
conversation through Rasa's REST channel. The decision is the case the replies ask the gateway to
open: its category when it is an alarm, None when no case is opened or the person only asked
for someone. This sees both ways into the safety steps: the detector, and Rasa's ``urgent``
intent.
"""

from __future__ import annotations

import json
import secrets
import sys
import urllib.request
from collections.abc import Sequence

from bot import runtime
from channels import directives
from knowledge.triage.testset import Labelled

TIMEOUT = 60.0


def decide(url: str, text: str) -> str | None:
    """The alarm the assistant raises for ``text`` as a new conversation (None: none)."""
    body = json.dumps({"sender": f"urgency-eval-{secrets.token_hex(8)}", "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - our own loopback URL
        replies = json.loads(response.read())
    handoff = directives.parse(replies).handoff
    return (handoff.category or None) if handoff is not None else None


def assistant_decisions(items: Sequence[Labelled], ports: runtime.Ports | None = None) -> list[str | None]:
    """Start the servers, ask them about every message (progress on stderr), stop them."""
    runtime.train_if_changed()
    decisions: list[str | None] = []
    with runtime.servers(ports, timeout=180) as running:
        url = f"http://{runtime.HOST}:{running.ports.rasa}/webhooks/rest/webhook"
        for number, item in enumerate(items, 1):
            decisions.append(decide(url, item.text))
            if number % 100 == 0 or number == len(items):
                print(f"rights: {number}/{len(items)} messages asked", file=sys.stderr, flush=True)
    return decisions
