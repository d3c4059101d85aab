"""``python -m channels``: the gateway runs only on an aiohttp with the fixes the public door needs."""

from __future__ import annotations

import subprocess
import sys

import aiohttp
import pytest

from channels.__main__ import MINIMUM_AIOHTTP, check_aiohttp, release
from channels.errors import ConfigError
from tests.channels.conftest import SECRET


@pytest.mark.parametrize(("version", "expected"), [
    ("3.9.5", (3, 9, 5)), ("3.14.1", (3, 14, 1)), ("3.14.10", (3, 14, 10)), ("3.15.0rc1", (3, 15, 0)),
    ("4.0.0a1", (4, 0, 0)), ("3.14", (3, 14)), ("3.14.1.post0", (3, 14, 1)),
])
def test_release_reads_the_version_number(version: str, expected: tuple[int, ...]) -> None:
    assert release(version) == expected


@pytest.mark.parametrize("version", ["3.9.5", "3.13.3", "3.14.0"])
def test_an_aiohttp_without_the_fixes_is_refused_with_the_way_out(version: str) -> None:
    with pytest.raises(ConfigError, match=r"3\.14\.1 or newer .*scripts/setup gateway \.venv-gateway"):
        check_aiohttp(version)


@pytest.mark.parametrize("version", ["3.14.1", "3.14.5", "3.15.0", "4.0.0"])
def test_a_fixed_aiohttp_is_accepted(version: str) -> None:
    check_aiohttp(version)


def test_the_gateway_tests_run_on_the_aiohttp_the_gateway_serves_with() -> None:
    """These tests run in the gateway's environment (make test): the same aiohttp as production."""
    assert release(aiohttp.__version__) >= MINIMUM_AIOHTTP, (
        f"tests/channels ran on aiohttp {aiohttp.__version__}: run them with .venv-gateway/bin/python")


def test_python_m_channels_refuses_an_old_aiohttp_before_it_listens(tmp_path: object) -> None:
    """Started where an old aiohttp is installed, the gateway exits 2 with one line, no traceback."""
    code = ("import aiohttp, sys; aiohttp.__version__ = '3.9.5'; sys.argv = ['channels'];"
            "import runpy; runpy.run_module('channels', run_name='__main__')")
    env = {"GATEWAY_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("error: the gateway needs aiohttp 3.14.1 or newer (this environment has 3.9.5")
    assert "Traceback" not in done.stderr
