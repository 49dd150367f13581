"""Liveness and readiness of the web app (docs/design/production.md, "Processes, ports, probes").

``GET /health`` answers while the process serves. ``GET /ready`` answers 200 only when what a
customer's turn needs works: the database, Redis (when configured) and at least one Rasa
replica; else 503 with the problems, so a load balancer sends customers to another instance.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.web.context import WebContext


def build_router(ctx: WebContext) -> APIRouter:
    """The two probe routes bound to ``ctx``."""
    router = APIRouter(tags=["operations"])

    def database_problem() -> str | None:
        try:
            with ctx.session() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", with its kind
            return f"database: {type(exc).__name__}"
        return None

    async def redis_problem() -> str | None:
        if ctx.redis is None:
            return None
        try:
            await asyncio.to_thread(ctx.redis.ping)
        except Exception as exc:
            return f"redis: {type(exc).__name__}"
        return None

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready")
    async def ready() -> Any:
        problems = [p for p in (await asyncio.to_thread(database_problem), await redis_problem())
                    if p]
        problems += [f"rasa {p}" for p in await ctx.relay.ready()]
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
        return {"status": "ok"}

    return router
