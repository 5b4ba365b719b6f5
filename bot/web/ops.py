"""The operators' endpoints: ``/readyz`` (may this replica take traffic?) and
``/metrics`` (Prometheus). ``/healthz`` (alive) stays in :mod:`bot.app`.

``/readyz`` answers 200 when the database answers, its schema is at the migrations'
head and every configured platform adapter has booted; otherwise 503, its JSON naming
the checks that failed. ``/metrics`` asks for ``Authorization: Bearer <METRICS_TOKEN>``
when the token is set, and answers only loopback clients when it is not.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from storage.ops import OpsSnapshot, head_revisions, ping, read_snapshot, schema_revision

if TYPE_CHECKING:
    from bot.app import Bot

log = logging.getLogger(__name__)
# A database that does not answer within this many seconds is down, for a probe.
CHECK_TIMEOUT = 5.0
OK = "ok"


class OpsPages:
    """``/readyz`` and ``/metrics`` for one bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def routes(self) -> list[BaseRoute]:
        return [Route("/readyz", self.readyz), Route("/metrics", self.metrics)]

    async def readyz(self, _request: Request) -> Response:
        checks = {"database": OK, "migrations": OK, "adapters": OK}
        db = self.bot.deps.db
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await ping(db)
                revision = await schema_revision(db)
        except Exception as exc:  # any failure to answer means "not ready"
            log.warning("readiness: database not answering", extra={"error": type(exc).__name__})
            checks["database"] = "not answering"
            checks["migrations"] = "unknown"
        else:
            if revision not in head_revisions():
                checks["migrations"] = f"behind: at {revision or 'none'}, code at " + ",".join(
                    sorted(head_revisions())
                )
        waiting = [
            name
            for name, adapter in (
                ("telegram", self.bot.telegram),
                ("slack", self.bot.slack),
                # Meta calls its webhook: booted once its client is built (no call at start).
                ("whatsapp", self.bot.whatsapp),
            )
            if adapter is not None and not adapter.booted
        ]
        if waiting:
            checks["adapters"] = "not started: " + ",".join(waiting)
        failed = sorted(name for name, state in checks.items() if state != OK)
        if failed:
            return JSONResponse(
                {"status": "unavailable", "failed": failed, "checks": checks}, status_code=503
            )
        return JSONResponse({"status": "ready", "checks": checks})

    async def metrics(self, request: Request) -> Response:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        snapshot: OpsSnapshot | None
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                snapshot = await read_snapshot(self.bot.deps.db)
        except Exception as exc:  # the in-process numbers are still worth showing
            log.warning("metrics: database not answering", extra={"error": type(exc).__name__})
            snapshot = None
        body = self.bot.core.metrics.exposition(snapshot)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"})

    def _refusal(self, request: Request) -> Response | None:
        """None when the request may read the metrics, else the answer refusing it."""
        token = self.bot.settings.metrics_token
        expected = token.get_secret_value() if token is not None else ""
        if expected:
            scheme, _space, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), expected.encode()
            ):
                return None
            return JSONResponse(
                {"error": "a bearer token is required"},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        if _loopback(request.client.host if request.client is not None else ""):
            return None
        return JSONResponse(
            {"error": "metrics answer loopback only (set METRICS_TOKEN)"}, status_code=403
        )


def _loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
