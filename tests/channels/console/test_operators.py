"""Adding operators (``rights operator add``): from OPERATOR_PASSWORD, or asked twice."""

from __future__ import annotations

import pytest

from channels import cases
from channels.cases import CaseStore
from channels.console.operators import add_operator
from channels.keys import Keys, Secret
from tests.channels.console.test_routes import PASSWORD, WRONG_PASSWORD

# the gateway's keys, to sign in with (the command itself needs no GATEWAY_SECRET)
KEYS = Keys(Secret("operators-test-secret-0123456789"))


@pytest.fixture(autouse=True)
def quick_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cases.SCRYPT, "n", 2**10)


async def test_add_operator_command_from_the_environment(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    env = {"CASES_DB_URL": url, "OPERATOR_PASSWORD": PASSWORD, "GATEWAY_PUBLIC_URL": "https://hotline.example/"}

    def never(prompt: str) -> str:
        raise AssertionError("must not ask")

    assert add_operator("carol", env, never) == 0
    out = capsys.readouterr()
    assert "'carol' added; they sign in at https://hotline.example/console" in out.out
    assert PASSWORD not in out.out + out.err
    assert add_operator("carol", env, never) == 2
    assert "exists already" in capsys.readouterr().err
    store = CaseStore(url, KEYS)
    try:
        assert store.sign_in("carol", PASSWORD) is not None
    finally:
        store.close()


async def test_add_operator_command_asks_twice(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    env = {"CASES_DB_URL": url}
    answers = iter([PASSWORD, WRONG_PASSWORD, "short", "short", PASSWORD, PASSWORD])
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    assert add_operator("dana", env, ask) == 2
    assert "differ" in capsys.readouterr().err
    assert add_operator("dana", env, ask) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    assert add_operator("dana", env, ask) == 0
    assert "they sign in at http://127.0.0.1:8080/console" in capsys.readouterr().out
    assert len(prompts) == 6
    store = CaseStore(url, KEYS)
    try:
        assert store.sign_in("dana", WRONG_PASSWORD) is None
        assert store.sign_in("dana", PASSWORD) is not None
    finally:
        store.close()
