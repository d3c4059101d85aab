"""The platforms' webhooks: ``POST /webhooks/<channel>`` (and the GET handshake some platforms
make when a webhook URL is set), one pair of routes per enabled platform.

Every request is read with a cap on its size, verified by its channel first (in constant time,
over the raw body), parsed, and its messages put in the gateway's inbox; the platform gets its
answer at once. A request is accepted (200), ignored with a logged reason (200, so the platform
does not retry: status callbacks, echoes, unsupported types), or rejected (400/401/403).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from channels.base import Channel, WebhookRequest
from channels.errors import Rejected
from channels.observability import log_event

if TYPE_CHECKING:
    from channels.gateway import Gateway


class WebhookRoutes:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.settings = gateway.settings

    async def _read(self, request: web.Request) -> WebhookRequest:
        limit = self.settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        body = await request.read()  # aiohttp refuses more than client_max_size with 413
        base = self.settings.public_url
        # built by hand: yarl refuses request.url's host:port form with this aiohttp
        url = f"{base or f'{request.scheme}://{request.host}'}{request.path_qs}"
        return WebhookRequest(method=request.method, url=url, headers=request.headers, body=body,
                              query=dict(request.query))

    def _rejected(self, channel: Channel, event: str, exc: Rejected) -> web.Response:
        self.gateway.metrics.rejected.labels(channel.name, str(exc.status)).inc()
        log_event(event, logging.WARNING, channel=channel.name, status=exc.status, reason=exc.reason)
        return web.json_response({"error": exc.reason}, status=exc.status)

    async def webhook(self, channel: Channel, request: web.Request) -> web.StreamResponse:
        incoming = await self._read(request)
        try:
            channel.verify(incoming)
            parsed = channel.parse(incoming)
            for reason in parsed.ignored:
                self.gateway.metrics.ignored.labels(channel.name).inc()
                log_event("webhook_ignored", channel=channel.name, reason=reason)
            for message in parsed.messages:
                await self.gateway.accept(message)  # Rejected if an ID or text cannot be stored
        except Rejected as exc:
            return self._rejected(channel, "webhook_rejected", exc)
        return channel.accepted()

    async def handshake(self, channel: Channel, request: web.Request) -> web.StreamResponse:
        incoming = await self._read(request)
        try:
            response = channel.handshake(incoming)
        except Rejected as exc:
            return self._rejected(channel, "handshake_rejected", exc)
        if response is None:
            raise web.HTTPMethodNotAllowed("GET", ["POST"])
        return response


def register(app: web.Application, gateway: Gateway) -> None:
    """Add a webhook (and its handshake) for every enabled platform; the web chat has its own routes."""
    routes = WebhookRoutes(gateway)
    for name, channel in gateway.channels.items():
        if channel.mailbox:
            continue
        app.router.add_post(f"/webhooks/{name}", functools.partial(routes.webhook, channel))
        app.router.add_get(f"/webhooks/{name}", functools.partial(routes.handshake, channel))
