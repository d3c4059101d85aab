"""Logs carry events and reasons, never message text."""

from __future__ import annotations

import json
import logging

import pytest

from channels.observability import failure, log_event, short


def test_a_failure_is_its_class_and_line_never_its_message() -> None:
    try:
        {"text": "my passport"}["missing: my passport"]
    except KeyError as exc:
        fields = failure(exc)
    assert fields["error"] == "KeyError"
    assert fields["where"].startswith("test_observability.py:")
    assert fields["where"].endswith(" in test_a_failure_is_its_class_and_line_never_its_message")
    assert "passport" not in json.dumps(fields)
    assert failure(ValueError("not raised")) == {"error": "ValueError"}, "no traceback, no line"


def test_log_event_is_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log_event("message_accepted", channel="telegram", conversation=short("telegram-" + "a" * 40))
    (record,) = caplog.records
    event = json.loads(record.getMessage())
    assert (event["event"], event["channel"], event["conversation"]) == ("message_accepted", "telegram",
                                                                         "telegram-aaaaaaaaaaa")
