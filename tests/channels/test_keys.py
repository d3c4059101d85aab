"""Keys derived from the gateway secret: pseudonyms, message keys, sealing, and secrets that never print."""

from __future__ import annotations

from typing import Any

import pytest

from channels.errors import ChannelError, Rejected, SealError
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


@pytest.mark.parametrize("given", ["tg_\udcff\udcfe", "\udcff" + "0" * 63, "\ud800", "é", b"\xff\xfe"])
def test_equal_refuses_what_no_secret_can_be_without_raising(given: str | bytes) -> None:
    """aiohttp hands a header's 0xFF byte over as "\\udcff": the comparison says no (401/403), not 500."""
    assert not equal(given, "tg-secret-token-for-tests_0123")
    assert not equal("tg-secret-token-for-tests_0123", given)
    assert equal(given, given)


def test_secrets_with_any_character_compare_and_hash() -> None:
    odd = Secret("s" * 16 + "\udcff")
    assert odd == Secret("s" * 16 + "\udcff") and hash(odd) == hash(Secret("s" * 16 + "\udcff"))
    assert odd != Secret("s" * 17)
    assert Secret("é" * 20) == Secret("é" * 20) and Secret("é" * 20) != Secret("e" * 20)


@pytest.mark.parametrize(("call", "what"), [
    (lambda keys: keys.pseudonym("whatsapp", "1555\ud800"), "user ID"),
    (lambda keys: keys.message_key("whatsapp", "wamid.\udfff"), "message ID"),
    (lambda keys: keys.seal({"user_id": "1555", "text": "x\ud800y"}), "sealed data"),
])
def test_a_lone_surrogate_is_refused_with_a_clear_400(call: Any, what: str) -> None:
    """The webhook's JSON is refused before (channels.base.load_json); this is the second line."""
    with pytest.raises(Rejected, match=f"{what} is not valid Unicode") as refused:
        call(Keys(Secret(SECRET)))
    assert refused.value.status == 400
