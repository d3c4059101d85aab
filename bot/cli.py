"""The ``rights`` command: the composition root, the one place that knows every package.

Subcommands live in ``bot/commands/`` by group; each module imports what it needs when the
command runs, so ``rights --help`` and ``rights gateway`` stay light (the gateway installs
without Rasa).
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.commands import assistant, hotline
from bot.commands import knowledge as knowledge_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rights",
        description="Migrant rights assistant: knowledge base, the assistant's servers, the gateway and "
                    "its hotline, and their measurements.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    knowledge_commands.register(sub)
    assistant.register(sub)
    hotline.register(sub)
    return parser


def _known_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message says what to do next: printed as one line, not a traceback."""
    from knowledge.errors import KnowledgeError

    errors: list[type[BaseException]] = [KnowledgeError]
    try:
        from channels.errors import ChannelError
    except ImportError:  # pragma: no cover - the channels package always ships
        pass
    else:
        errors.append(ChannelError)
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    known = _known_errors()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except known as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        logging.getLogger("rights").exception("rights %s failed", args.command)
        print(f"error: rights {args.command} failed unexpectedly (details above); please report it",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
