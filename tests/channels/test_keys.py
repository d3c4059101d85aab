"""Keys derived from the gateway secret: pseudonyms, message keys, sealing, and secrets that never print."""

from __future__ import annotations

import pytest

from channels.errors import ChannelError, SealError
from channels.keys import Keys, Secret, equal
from tests.channels.conftest import SECRET


def test_keys() -> None:
    keys = Keys(Secret(SECRET))
    assert keys.pseudonym("telegram", "42") == keys.pseudonym("telegram", "42")
    assert keys.pseudonym("telegram", "42") != keys.pseudonym("viber", "42")
    assert "42" not in keys.pseudonym("telegram", "42")[len("telegram-"):]
    assert keys.pseudonym("telegram", "42") != Keys(Secret(SECRET + "x")).pseudonym("telegram", "42")
    sealed = keys.seal({"user_id": "+447700900123"})
    assert b"447700900123" not in sealed and keys.open(sealed) == {"user_id": "+447700900123"}
    with pytest.raises(ChannelError, match="another GATEWAY_SECRET"):
        Keys(Secret(SECRET + "x")).open(sealed)
    assert repr(Secret("hunter2-hunter2-hunter2")) == "Secret('***')"
    assert "hunter2" not in f"{Secret('hunter2-hunter2-hunter2')}"


def test_what_another_secret_sealed_cannot_be_opened_and_says_why() -> None:
    sealed = Keys(Secret(SECRET + "-before")).seal({"text": "hello"})
    with pytest.raises(SealError, match="another GATEWAY_SECRET"):
        Keys(Secret(SECRET)).open(sealed)
    with pytest.raises(SealError):
        Keys(Secret(SECRET)).open(b"not a token")


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ChannelError, match="at least 16"):
        Keys(Secret("short"))


def test_equal_compares_text_and_bytes() -> None:
    assert equal("abc", b"abc") and equal(b"abc", "abc") and not equal("abc", "abd") and not equal("abc", "ab")
    assert Secret("s" * 20) == Secret("s" * 20) and Secret("s" * 20) != Secret("t" * 20)
