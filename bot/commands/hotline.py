"""Commands for the public side: the channels gateway and the hotline's operator accounts."""

from __future__ import annotations

import argparse
import os


def cmd_gateway(args: argparse.Namespace) -> int:
    """Replace this process by the gateway in its own environment (a current aiohttp, no Rasa)."""
    from bot.runtime import gateway_python

    python = gateway_python()
    os.execv(python, [python, "-m", "channels"])  # noqa: S606 - our own interpreter, no shell


def cmd_operator_add(args: argparse.Namespace) -> int:
    from channels.console.operators import add_operator

    return add_operator(args.username)


def cmd_abuse(args: argparse.Namespace) -> int:
    from channels.abuse.cli import run

    return run(args)


def register(sub: argparse._SubParsersAction) -> None:
    gateway = sub.add_parser("gateway", help="run only the channels gateway (configured from the "
                             "environment, see .env.example), talking to the Rasa server at RASA_URL; "
                             "it runs from .venv-gateway (scripts/setup gateway .venv-gateway)")
    gateway.set_defaults(func=cmd_gateway)

    operator = sub.add_parser("operator", help="manage hotline operators (console accounts)").add_subparsers(
        dest="operator_command", required=True, metavar="ACTION")
    add = operator.add_parser("add", help="add an operator (asks for the password twice, or reads "
                              "OPERATOR_PASSWORD); the cases database is CASES_DB_URL")
    add.add_argument("username")
    add.set_defaults(func=cmd_operator_add)

    from channels.abuse.cli import add_arguments  # argparse only: the run's modules load when it runs

    abuse = sub.add_parser("abuse", help="replay the security report's probes, load and fault runs against "
                           "gateways on 127.0.0.1 (fake Rasa and platform APIs) and print the tables; --short for CI")
    add_arguments(abuse)
    abuse.set_defaults(func=cmd_abuse)
