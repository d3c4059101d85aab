"""Adding a hotline operator (``rights operator add USERNAME``): the only way an account is made,
so that nobody can sign up from the public side."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Mapping

from channels.cases import CaseError, CaseStore
from channels.console.pages import QUEUE
from channels.settings import cases_db_url, public_url

LOCAL_SITE = "http://127.0.0.1:8080"


def add_operator(username: str, env: Mapping[str, str] | None = None,
                 ask: Callable[[str], str] | None = None) -> int:
    """Add an operator to the case store at CASES_DB_URL; an exit status (0 done, 2 refused).

    The password comes from OPERATOR_PASSWORD (scripts) or is asked twice (``ask``, getpass by
    default); it is never printed."""
    env = os.environ if env is None else env
    ask = ask or getpass.getpass
    password = env.get("OPERATOR_PASSWORD", "")
    if not password:
        password = ask(f"Password for {username}: ")
        if ask("Again: ") != password:
            print("error: the passwords differ; nothing was changed", file=sys.stderr)
            return 2
    store = CaseStore(cases_db_url(env))
    try:
        store.add_operator(username, password)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(f"operator {username!r} added; they sign in at {public_url(env) or LOCAL_SITE}{QUEUE}")
    return 0
