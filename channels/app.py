"""The gateway's aiohttp application, composed: the one module that knows every HTTP surface.

    POST|GET /webhooks/<channel>    the platforms (channels.webhooks)
    /chat, /chat/api/messages       the web chat, when WEBCHAT_ENABLED (channels.webchat.routes)
    /console/...                    the hotline's operator console (channels.console.routes)
    GET /healthz                    200 {"status": "ok", ...}, or 503 with the problems named
                                    (the channels and queues too, with the metrics token)
    GET /metrics                    Prometheus, with Authorization: Bearer <GATEWAY_METRICS_TOKEN>

Each surface registers its own routes; the gateway itself (inbox -> Rasa -> outbox) knows none
of them. ``main`` is what ``rights gateway`` runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from channels import http, webhooks
from channels.console import routes as console
from channels.gateway import Gateway
from channels.keys import Secret, equal
from channels.observability import log_event
from channels.registry import build_channels
from channels.settings import Settings
from channels.webchat import routes as webchat
from channels.webchat.channel import WebChat

GATEWAY_KEY = web.AppKey("gateway", Gateway)


def build_app(gateway: Gateway) -> web.Application:
    """The whole gateway as one aiohttp application; the gateway starts and stops with it."""
    # compressed bodies: refused unread, and never inflated by the parser (channels.http)
    app = web.Application(client_max_size=gateway.settings.max_body_bytes, handler_args=http.handler_args(),
                          middlewares=[http.refuse_encoded_bodies(gateway.settings.max_body_bytes)])
    app[GATEWAY_KEY] = gateway
    webhooks.register(app, gateway)
    if isinstance(gateway.channels.get(WebChat.name), WebChat):
        webchat.register(app, gateway)
    console.register(app, gateway)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(_running)
    app.on_shutdown.append(_stopping)
    return app


async def _running(app: web.Application) -> AsyncIterator[None]:
    """Loops and the HTTP client session start before the first request and stop after the last."""
    gateway = app[GATEWAY_KEY]
    await gateway.start()
    try:
        yield
    finally:
        await gateway.stop()


async def _stopping(app: object) -> None:
    """SIGTERM: the gateway stops taking work and drains (bounded) before aiohttp waits for the
    app's tasks and closes its connections, then ``_running`` closes the rest. (``object``: the
    type both aiohttp 3.9's and 3.14's annotations of on_shutdown accept.)"""
    assert isinstance(app, web.Application)
    await app[GATEWAY_KEY].shutdown()


async def healthz(request: web.Request) -> web.Response:
    """200 or 503 with the problems named, for anyone (a load balancer, ``rights run``); the
    channels, queue sizes and loops only with the metrics token (they describe the traffic)."""
    gateway = request.app[GATEWAY_KEY]
    report = await gateway.health()
    status = 200 if report["status"] == "ok" else 503
    if not _operator(request, gateway.settings.metrics_token):
        report = {"status": report["status"], "problems": report["problems"]}
    return web.json_response(report, status=status)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus, only with ``Authorization: Bearer <GATEWAY_METRICS_TOKEN>``; off (404) without one."""
    gateway = request.app[GATEWAY_KEY]
    if gateway.settings.metrics_token is None:
        raise web.HTTPNotFound()
    if not _operator(request, gateway.settings.metrics_token):
        return web.json_response({"error": "/metrics needs Authorization: Bearer <GATEWAY_METRICS_TOKEN>"},
                                 status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return web.Response(body=await gateway.metrics_text(), content_type="text/plain")


def _operator(request: web.Request, token: Secret | None) -> bool:
    """Whether the request carries the metrics token (compared in constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    return token is not None and scheme.lower() == "bearer" and equal(given.strip(), token.reveal())


class QuietAccessLogger(AbstractAccessLogger):
    """Access lines without query strings (Meta's handshake carries its verify token in one)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        log_event("http", method=request.method, path=request.path, status=response.status,
                  ms=round(time * 1000, 1))


def gateway_from_env(env: Mapping[str, str] | None = None) -> Gateway:
    """The gateway the environment configures (ConfigError names what is missing or wrong)."""
    env = os.environ if env is None else env
    settings = Settings.from_env(env)
    return Gateway(settings, build_channels(settings, env))


HANDLERS_GRACE = 1.0  # seconds, after the gateway's drain: a web chat POST is released by the drain


def main(argv: list[str] | None = None) -> int:
    """Run the gateway in the foreground (``rights gateway``); a ConfigError is the caller's to show."""
    gateway = gateway_from_env()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The gateway's own drain (GATEWAY_SHUTDOWN_SECONDS) runs first, in on_shutdown; aiohttp then
    # gives requests still open HANDLERS_GRACE (its default, 60 s, outlasts any supervisor's stop).
    web.run_app(build_app(gateway), host=gateway.settings.host, port=gateway.settings.port, print=None,
                access_log_class=QuietAccessLogger, shutdown_timeout=HANDLERS_GRACE)
    return 0
