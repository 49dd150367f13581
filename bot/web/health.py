"""Liveness and readiness of the web app (docs/design/production.md, "Processes, ports, probes").

``GET /health`` answers while the process serves. ``GET /ready`` answers 200 only when what a
customer's turn needs works: the database, Redis (when configured) and at least one Rasa
replica; else 503 with the problems, so a load balancer sends customers to another instance.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from bot.web import deps
from bot.web.context import WebContext
from bot.web.deps import in_thread


def store_problems(ctx: WebContext) -> list[str]:
    """What is wrong with the database and Redis (blocking: run it in a worker thread)."""
    problems = []
    try:
        with ctx.session() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", with its kind
        problems.append(f"database: {type(exc).__name__}")
    if ctx.redis is not None:
        try:
            ctx.redis.ping()
        except Exception as exc:
            problems.append(f"redis: {type(exc).__name__}")
    return problems


router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The process serves."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(ctx: deps.Context) -> Any:
    """Database, Redis and a Rasa replica answer (``503`` with the problems otherwise)."""
    problems = await in_thread(store_problems, ctx)
    problems += [f"rasa {p}" for p in await ctx.relay.ready()]
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return {"status": "ok"}
