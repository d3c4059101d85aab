"""Reply latency through Rasa's REST channel, for our assistant and for Rasa's starter bot.

Both bots run on 127.0.0.1 in the same benchmark run, with the same messages and load shape,
so the starter bot (``rasa init``) is the anchor: our assistant does retrieval on every
question and should not be slower than it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bot import runtime

MESSAGES = [
    "hello",
    "my employer took my passport, is that legal?",
    "¿pueden mis hijos ir a la escuela sin papeles?",
    "que dit l'article 16 ?",
    "هل يحق لي العلاج في المستشفى؟",
    "thanks",
    "can I join a trade union?",
    "what can you help with?",
]


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, from /proc."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


async def _conversation(session: aiohttp.ClientSession, url: str, sender: str, rounds: int,
                        latencies: list[float]) -> None:
    for i in range(rounds):
        text = MESSAGES[i % len(MESSAGES)]
        started = time.perf_counter()
        async with session.post(url, json={"sender": sender, "message": text}) as response:
            await response.read()
            response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)


async def _load(port: int, concurrency: int, rounds: int) -> dict[str, float]:
    url = f"http://{runtime.HOST}:{port}/webhooks/rest/webhook"
    latencies: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(
            _conversation(session, url, f"bench-{concurrency}-{n}-{time.time_ns()}", rounds, latencies)
            for n in range(concurrency)
        ))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }


def _measure(ports: runtime.Ports, started: float, pids: list[int], rounds: int) -> dict[str, object]:
    first = None
    deadline = time.monotonic() + 120
    while first is None:
        try:
            runtime.send(ports, "bench-cold", "my employer took my passport")
            first = time.perf_counter() - started
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    asyncio.run(_load(ports.rasa, 1, len(MESSAGES)))  # warm-up, not counted
    result: dict[str, object] = {"cold_start_s": round(first, 1)}
    result["c1"] = asyncio.run(_load(ports.rasa, 1, rounds))
    result["c10"] = asyncio.run(_load(ports.rasa, 10, rounds))
    result["rss_mb"] = round(sum(_rss_mb(p) for p in pids), 1)
    return result


def bench_ours(rounds: int, ports: runtime.Ports) -> dict[str, object]:
    runtime.train_if_changed()
    started = time.perf_counter()
    with runtime.servers(ports, timeout=180) as running:
        return _measure(running.ports, started, running.pids, rounds)


def bench_starter(rounds: int, ports: runtime.Ports) -> dict[str, object]:
    """``rasa init`` in a temporary folder, trained, then run the same way."""
    rasa = str(Path(sys.executable).with_name("rasa"))
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "SANIC_HOST": runtime.HOST}
    folder = Path(tempfile.mkdtemp(prefix="starter-bot-"))
    try:
        print("training Rasa's starter bot (rasa init, about 80 s)...", file=sys.stderr)
        subprocess.run([rasa, "init", "--no-prompt", "--init-dir", str(folder)], cwd=folder,  # noqa: S603
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        model = next((folder / "models").glob("*.tar.gz"))
        started = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603
            [rasa, "run", "--model", str(model), "--interface", runtime.HOST, "--port", str(ports.rasa)],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            runtime._wait_http(f"http://{runtime.HOST}:{ports.rasa}/", 180, proc)
            return _measure(ports, started, [proc.pid], rounds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
