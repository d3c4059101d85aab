"""``python -m channels``: run the gateway in the foreground, from its own environment.

The gateway is the only public door, so it runs on an aiohttp release with every request-handling
fix we know of (README, "Two environments"); Rasa 3.6 holds aiohttp below 3.10 in the other
environment. Started on an older aiohttp, the gateway refuses to run and says how to set up its own.
"""

from __future__ import annotations

import sys

import aiohttp

from channels.errors import ConfigError

# 3.13.3 fixed the gzip bomb inflated before the size check (CVE-2025-69223); 3.14.1 a
# decompression edge case (CVE-2026-54278). Raise this when a later advisory needs a later release.
MINIMUM_AIOHTTP = (3, 14, 1)
SETUP = "scripts/setup gateway .venv-gateway"


def release(version: str) -> tuple[int, ...]:
    """'3.14.5' -> (3, 14, 5); a pre-release or local tag ends the number ('3.15.0rc1' -> (3, 15, 0))."""
    parts: list[int] = []
    for piece in version.split(".")[:3]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits or 0))
        if digits != piece:
            break
    return tuple(parts)


def check_aiohttp(version: str = aiohttp.__version__) -> None:
    """Raise ConfigError unless ``version`` has every fix the public door needs."""
    if release(version) < MINIMUM_AIOHTTP:
        wanted = ".".join(map(str, MINIMUM_AIOHTTP))
        raise ConfigError(f"the gateway needs aiohttp {wanted} or newer (this environment has {version}, "
                          f"probably Rasa's): set up its own environment with `{SETUP}` and run "
                          "`.venv-gateway/bin/python -m channels`")


def run() -> int:
    try:
        check_aiohttp()
        from channels.app import main

        return main()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run())
