"""The action server: builds the services once, registers one instance of each action with
rasa-sdk's executor, and serves rasa-sdk's three routes (``/health``, ``/webhook``, ``/actions``)
on the loopback or internal address Rasa calls.

rasa-sdk's own entry point (``python -m rasa_sdk --actions actions``) imports every module of
the package and builds each action class without arguments; this one passes the services in,
and imports only what the actions need.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import zlib
from collections.abc import Mapping

from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.actions import ACTIONS
from actions.services import Services
from knowledge.errors import KnowledgeError
from knowledge.settings import Settings

DEFAULT_PORT = 5055
DAY_SECONDS = 24 * 3600

logger = logging.getLogger("actions.server")


def build_executor(services: Services) -> ActionExecutor:
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(services))
    return executor


def create_app(executor: ActionExecutor) -> Sanic:
    """rasa-sdk's routes, answering as ``rasa_sdk.endpoint.create_app`` does."""
    app = Sanic("actions", configure_logging=False)

    @app.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        if request.headers.get("Content-Encoding") == "deflate":
            action_call = json.loads(zlib.decompress(request.body))
        else:
            action_call = request.json
        if action_call is None:
            return response.json({"error": "Invalid body request"}, status=400)
        utils.check_version_compatibility(action_call.get("version"))
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as exc:
            return response.json({"error": exc.message, "action_name": exc.action_name}, status=400)
        except ActionNotFoundException as exc:
            logger.error("%s", exc)
            return response.json({"error": exc.message, "action_name": exc.action_name}, status=404)
        return response.json(result, status=200)

    @app.get("/actions")
    async def actions(_request: Request) -> HTTPResponse:
        return response.json([{"name": name} for name in executor.actions])

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        # logged without the request body: it holds the person's messages
        logger.error("action call failed: %s", type(exception).__name__, exc_info=exception)
        return response.json({"error": type(exception).__name__}, status=500)

    return app


def retention_days(env: Mapping[str, str]) -> float:
    raw = env.get("RETENTION_DAYS", "").strip() or "30"
    try:
        days = float(raw)
    except ValueError:
        raise KnowledgeError(f"RETENTION_DAYS must be a number of days, not {raw!r}") from None
    if days <= 0:
        raise KnowledgeError(f"RETENTION_DAYS must be more than 0, not {raw!r}")
    return days


def purge_feedback(services: Services, days: float, stop: threading.Event) -> None:
    """Delete feedback votes older than RETENTION_DAYS now and once a day, as the gateway does
    for its own records (README, "Privacy")."""
    while True:
        try:
            removed = services.feedback.purge_older_than(int(days * DAY_SECONDS))
            if removed:
                logger.info("feedback retention: %d votes older than %g days deleted", removed, days)
        except Exception as exc:  # a locked database must not end retention for good
            logger.error("feedback retention failed (%s); trying again in an hour", type(exc).__name__)
            if stop.wait(3600):
                return
            continue
        if stop.wait(DAY_SECONDS):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT") or DEFAULT_PORT))
    parser.add_argument("--host", default=os.environ.get("SANIC_HOST", "127.0.0.1"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        days = retention_days(os.environ)
        services = Services.build(Settings.from_env())
    except KnowledgeError as exc:
        logger.error("%s", exc)
        return 2
    if services.hotlines.has_examples:
        logger.warning("the hotline directory still holds the shipped example entries; replace them with "
                       "real, checked numbers before people use this (knowledge/content/data/hotlines.yaml)")
    stop = threading.Event()
    threading.Thread(target=purge_feedback, args=(services, days, stop), name="feedback-retention",
                     daemon=True).start()
    app = create_app(build_executor(services))
    logger.info("action server on http://%s:%d", args.host, args.port)
    try:
        app.run(args.host, args.port, workers=1, access_log=False, motd=False)
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
