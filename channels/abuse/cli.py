"""The abuse run's command line (``python -m channels.abuse``, ``rights abuse``).

    --short              the CI version: every probe class once, load runs of ~200 webhooks
    --only SECTIONS      auth, input, webchat, console, privacy, flood, load, or ids (2.5, 6.C)
    --json FILE          every row as JSON
    --gateway-python P   the Python that runs the gateway (default: .venv-gateway's, if any)
    --port-base N        consecutive ports from N instead of free ones chosen by the kernel
    --gateway-repo DIR   run the gateway from another checkout (a worktree of an older commit, to
                         see the findings before their fixes)
    --rows               print every row, not only those that did not pass
    --keep               keep the gateways' var dirs (databases and logs) and say where

Exit status: 0 when no row is FAIL, 1 otherwise. This module imports only argparse until it
runs, so that ``rights --help`` stays light.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from channels.abuse.lab import Lab, Profile
    from channels.abuse.report import Results, Row

T = TypeVar("T")
SECTIONS = ("auth", "input", "webchat", "console", "privacy", "flood", "load")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--short", action="store_true", help="the CI version (about 3 minutes on 2 cores)")
    parser.add_argument("--only", metavar="SECTIONS", default="",
                        help=f"comma-separated sections ({', '.join(SECTIONS)}) or probe ids (2.5, 6.C)")
    parser.add_argument("--json", metavar="FILE", type=Path, help="write every row as JSON to FILE")
    parser.add_argument("--gateway-python", metavar="PATH",
                        help="the Python that runs the gateway (default: .venv-gateway/bin/python if it exists)")
    parser.add_argument("--port-base", metavar="N", type=int, help="use consecutive ports from N on 127.0.0.1")
    parser.add_argument("--gateway-repo", metavar="DIR", type=Path,
                        help="run the gateway from another checkout (e.g. a worktree of the commit before the fixes)")
    parser.add_argument("--rows", action="store_true", help="print every row")
    parser.add_argument("--keep", action="store_true", help="keep the gateways' databases and logs")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m channels.abuse", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """Run what ``args`` asks for, print the tables; 1 if any row is FAIL."""
    import asyncio

    from channels.abuse.gateway import default_python
    from channels.abuse.lab import FULL, SHORT
    from channels.abuse.report import FAIL, markdown

    only = {part.strip() for part in args.only.split(",") if part.strip()} or None
    try:
        results = asyncio.run(_stoppable(abuse(SHORT if args.short else FULL, only,
                                               args.gateway_python or default_python(), args.port_base,
                                               keep=args.keep, source=args.gateway_repo)))
    except asyncio.CancelledError:
        progress("interrupted; every process it started has been stopped")
        return 130
    print(markdown(results, every_row=args.rows))
    if args.json:
        results.write_json(args.json)
    return 1 if any(row.verdict == FAIL for row in results.rows()) else 0


async def _stoppable(work: Coroutine[Any, Any, T]) -> T:
    """``work``, cancelled by SIGINT or SIGTERM, so that it stops the gateways it started."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    return await work


def progress(line: str) -> None:
    print(f"abuse: {line}", file=sys.stderr, flush=True)


async def abuse(profile: Profile, only: set[str] | None, python: str, port_base: int | None = None,
                keep: bool = False, say: Callable[[str], None] = progress, source: Path | None = None) -> Results:
    """Every selected probe, then the selected load runs; bounded, and every process ended."""
    import subprocess
    import time

    from channels.abuse import load, probes
    from channels.abuse.gateway import GatewayProblem
    from channels.abuse.lab import Lab, Ports
    from channels.abuse.report import FAIL, ProbeClass, Results, Row

    tell = say
    started = time.monotonic()
    # absolute, since the gateway runs in its checkout's directory; not resolved, since a venv's python is a link
    python = os.path.abspath(python)
    version = subprocess.run([python, "-c", "import aiohttp; print(aiohttp.__version__)"],  # noqa: S603
                             capture_output=True, text=True, timeout=60).stdout.strip()
    results = Results(profile.name, gateway_python=python, aiohttp=version)
    lab = Lab(profile, python, Ports(port_base), source=source.resolve() if source else None)
    try:
        for probe in probes.selected(only):
            began = time.monotonic()
            try:
                rows = await probe.run(lab)
            except GatewayProblem:  # nothing can be measured without a gateway
                raise
            except Exception as exc:  # a probe that breaks is a row that fails, and the run goes on
                rows = [Row(probes.SECTIONS.get(probe.id.split(".")[0], probe.section), probe.title, "", "error",
                            f"{exc.__class__.__name__}: {exc}", FAIL, "the probe itself failed", probe.id)]
            rows += await _gateways_alive(lab, probe.id)
            found = ProbeClass(probe.id, probe.title, rows, time.monotonic() - began)
            results.classes.append(found)
            tell(f"{probe.id} {found.verdict} ({found.seconds:.1f} s) {probe.title[:60]}")
        results.floods = lab.floods
        for run_id in _load_runs(profile.load_runs, only):
            began = time.monotonic()
            result = await load.load_run(lab, run_id)
            result.seconds = time.monotonic() - began
            results.load.append(result)
            tell(f"load {run_id} {result.verdict} ({result.seconds:.1f} s) {result.summary()[:80]}")
            if run_id == "G":
                idle = await load.idle_exit(lab)
                results.load.append(idle)
                tell(f"load G′ {idle.verdict} {idle.note}")
    finally:
        await lab.close(keep=keep)
        if keep:
            tell(f"kept the gateways' databases and logs in {lab.workdir}")
    results.seconds = time.monotonic() - started
    tell(f"done in {results.seconds:.0f} s")
    return results


def _load_runs(runs: tuple[str, ...], only: set[str] | None) -> list[str]:
    if not only or "load" in only:
        return list(runs)
    return [run for run in "ABCDEFG" if f"6.{run}" in only]


async def _gateways_alive(lab: Lab, probe_id: str) -> list[Row]:
    """A FAIL row (and a fresh start) for every shared gateway that died during a probe."""
    from channels.abuse.gateway import tail
    from channels.abuse.report import FAIL, Row

    rows: list[Row] = []
    for name, target in lab.targets.items():
        process = target.site.current
        if not process.running:
            rows.append(Row("0 process", f"the {name} gateway died", "", f"exit {process.popen.returncode}",
                            tail(process.log, 3), FAIL, "a request brought the process down", probe_id))
            await target.site.start()
    return rows
