"""The supervisor of the gateway's background loops, without a gateway."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry, Counter

from channels import supervision
from channels.supervision import LoopState, restart_delay, start


async def soon(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def test_restart_delay_doubles_up_to_thirty_seconds() -> None:
    assert [restart_delay(n) for n in (1, 2, 3, 4, 7, 50)] == [0.5, 1.0, 2.0, 4.0, 30.0, 30.0]


async def test_a_loop_that_raises_is_restarted_and_counted(monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(supervision, "RESTART_FIRST", 0.01)
    restarts = Counter("restarts", "test", ["loop"], registry=CollectorRegistry())
    runs: list[int] = []

    async def body(state: LoopState) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise ValueError("a person's words")
        state.beat()
        await asyncio.sleep(3600)

    state = LoopState("inbox")
    task = start(state, body, restarts)
    await soon(lambda: len(runs) >= 3)
    await asyncio.sleep(0)
    assert (state.status, state.failures, state.problem(0.0)) == ("running", 0, None)
    assert restarts.labels("inbox")._value.get() == 2
    logged = [json.loads(r.getMessage()) for r in caplog.records]
    assert [(e["event"], e["error"], e["failures"]) for e in logged] == [("loop_failed", "ValueError", 1),
                                                                         ("loop_failed", "ValueError", 2)]
    assert "a person's words" not in caplog.text
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (state.status, state.problem(60.0)) == ("stopped", "the inbox loop is not running")


async def test_a_loop_that_keeps_failing_is_a_problem_after_the_threshold(monkeypatch) -> None:
    monkeypatch.setattr(supervision, "RESTART_FIRST", 0.01)

    async def body(state: LoopState) -> None:
        raise OSError

    state = LoopState("outbox")
    task = start(state, body)
    await soon(lambda: state.failures >= 2)
    assert state.status == "restarting"
    assert state.problem(3600.0) is None, "failing, but not for long enough to call it down"
    assert state.problem(0.0) == f"the outbox loop keeps failing (OSError, {state.failures} restarts)"
    task.cancel()


def test_a_loop_that_never_started_is_stopped() -> None:
    assert LoopState("retention").problem(60.0) == "the retention loop is not running"


async def test_a_stopped_loop_ends_even_when_its_body_swallows_the_cancel() -> None:
    rounds: list[int] = []

    async def body(state: LoopState) -> None:
        while not state.stopping:
            rounds.append(1)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:  # what asyncio.wait_for can do on Python 3.10
                pass

    state = LoopState("inbox")
    task = start(state, body)
    await soon(lambda: bool(rounds))
    state.stop()
    done, _ = await asyncio.wait({task}, timeout=2.0)
    assert done == {task} and len(rounds) == 1, "not restarted, not another round"
    assert state.status == "stopped"
