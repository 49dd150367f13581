"""The web app factory: ``create_app(settings)``; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

import redis
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as content
from bot.content.store import DatabaseKnowledgeStore
from bot.content.training import TrainingWorker
from bot.handoff.hours import OpeningHours
from bot.observability.metrics import WebMetrics
from bot.observability.web import instrument_web_app
from bot.settings import REPO_ROOT, Settings, get_settings
from bot.social.settings import get_meta_settings
from bot.web import (
    admin_api,
    agent_api,
    chat_api,
    editor,
    editor_pages,
    faq_page,
    health,
    pages,
    privacy_api,
    social_api,
    texts,
)
from bot.web.context import WebContext
from bot.web.events import EventHub, RedisEventHub
from bot.web.headers import SecurityHeaders
from bot.web.proxy import TrustedProxies, parse_networks
from bot.web.rasa_relay import RasaRelay
from bot.web.ratelimit import RateLimiter, RedisRateLimiter
from bot.web.request_limits import RequestLimits
from bot.web.security import Signer, load_or_create_secret

logger = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
DEMO_SECRET = REPO_ROOT / "build" / "web-secret"
# Redis on the same network answers in well under a millisecond: after this long it is away and
# the request goes on without it (limits in process) or fails fast (s).
REDIS_TIMEOUT_S: Final = 0.5
# How long a client should wait before retrying when a store is away (s, Retry-After).
RETRY_AFTER_S: Final = 10


def load_utility(settings: Settings) -> dict[str, object]:
    """The utility profile (``knowledge/utility.yml``)."""
    path = settings.knowledge_dir / "utility.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def build_context(settings: Settings, relay: RasaRelay | None = None) -> WebContext:
    """Everything the routes need (database schema created if missing)."""
    if settings.secret_key:
        secret = settings.secret_key
    elif settings.demo:
        secret = load_or_create_secret(DEMO_SECRET)
    else:
        raise ValueError("SECRET_KEY must be set outside demo mode (APP_MODE != demo)")
    engine = make_engine(settings.database_url)
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        # First start: the database becomes the running content store, seeded from knowledge/.
        content.ensure_content(session, settings.knowledge_dir)
    utility = load_utility(settings)
    # (events, window in seconds) per key; README, "Security".
    limits = {
        "messages": (settings.rate_limit_per_minute, 60.0),  # per conversation
        "conversations": (settings.new_conversations_per_minute, 60.0),  # per client address
        "logins": (5, 60.0),  # failed logins per client address
        # Failed logins per user name (known or not): with addresses to spare an attacker gets
        # at most 10 guesses per 15 minutes and name, and the name's owner waits at most 15
        # minutes after the attack stops; no other name is affected (no global lock).
        "login_names": (10, 900.0),
        "callbacks": (settings.callbacks_per_hour, 3600.0),  # per client address
        "feedback": (settings.feedback_per_minute, 60.0),  # per client address
    }
    red = None
    if settings.redis_url:
        red = redis.Redis.from_url(settings.redis_url, socket_timeout=REDIS_TIMEOUT_S,
                                   socket_connect_timeout=REDIS_TIMEOUT_S)
        limiters: dict[str, RateLimiter] = {
            name: RedisRateLimiter(red, name, limit, window, key_secret=secret.encode("utf-8"))
            for name, (limit, window) in limits.items()
        }
        hub: EventHub = RedisEventHub(settings.redis_url)
    else:
        limiters = {name: RateLimiter(limit, window) for name, (limit, window) in limits.items()}
        hub = EventHub()
    return WebContext(
        settings=settings,
        sessions=sessions,
        relay=relay or RasaRelay(settings.rasa_url, token=settings.rasa_token),
        hub=hub,
        signer=Signer(secret),
        hours=OpeningHours.from_utility(utility),
        utility=utility,
        message_limiter=limiters["messages"],
        conversation_limiter=limiters["conversations"],
        login_limiter=limiters["logins"],
        login_name_limiter=limiters["login_names"],
        callback_limiter=limiters["callbacks"],
        feedback_limiter=limiters["feedback"],
        knowledge=DatabaseKnowledgeStore(engine, settings.knowledge_dir),
        redis=red,
        meta=get_meta_settings(),
    )


def create_app(settings: Settings | None = None, *, context: WebContext | None = None) -> FastAPI:
    """The FastAPI app of the website, chat API, agent console and editor/admin UIs."""
    ctx = context or build_context(settings or get_settings())

    # Editors' retraining runs in this process's background thread (bot/content/training.py).
    # Several web app instances may each run one: a queued run is claimed by exactly one.
    trainer = TrainingWorker(ctx.sessions, settings=ctx.settings)
    # Pending Rasa tracker deletions every minute, the retention run daily (bot/retention.py);
    # several instances may each run it: every delete is idempotent.
    privacy = privacy_api.build_worker(ctx)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if isinstance(ctx.hub, RedisEventHub):
            await ctx.hub.start()
        if ctx.settings.training_worker:
            trainer.start()  # does nothing when TRAINING_ENABLED is off
        privacy.start()
        await social_api.startup(app)  # WhatsApp/Messenger workers, mention polling
        try:
            yield
        finally:
            await social_api.shutdown(app)
            trainer.stop()
            await privacy.stop()
            if isinstance(ctx.hub, RedisEventHub):
                await ctx.hub.stop()
            await ctx.relay.close()

    # The API documentation is for developers: served in demo mode only, never to the public.
    docs = ctx.settings.demo
    app = FastAPI(
        title="Stadtwerke chat web app",
        description="Chat API of the website widget (shared/contracts.md §3) and agent console.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.context = ctx

    async def store_unavailable(request: Request, exc: Exception) -> Response:
        """The database or Redis is away: fail fast with a German notice, never a 500."""
        logger.warning("%s %s: a store is unavailable (%s)", request.method, request.url.path,
                       type(exc).__name__)
        notice = texts.SERVICE_DISTURBED.format(phone=ctx.utility.get("phone", ""))
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": notice}, status_code=503, headers=headers)
        return PlainTextResponse(notice, status_code=503, headers=headers)

    for error in (DBAPIError, PoolTimeout, redis.RedisError):
        app.add_exception_handler(error, store_unavailable)
    metrics = WebMetrics()  # this app's own registry (tests build many apps): app.state.metrics
    # Module-level routers; what their routes need comes from bot.web.deps (app.state).
    app.include_router(health.router)
    app.include_router(chat_api.router)
    app.include_router(agent_api.router)
    app.include_router(pages.router)
    app.include_router(faq_page.router)
    app.include_router(editor.router)
    app.include_router(admin_api.router)
    app.include_router(privacy_api.router)
    app.include_router(editor_pages.router)
    social_api.install(app, ctx)  # WhatsApp and Messenger (off while META_APP_SECRET is unset)
    app.mount("/static", StaticFiles(directory=str(STATIC), check_dir=False), name="static")
    # Innermost first: bodies capped before any route reads them, security headers on every
    # answer, request ids and metrics (bot/observability/web.py, with GET /metrics), and
    # outermost the client address behind trusted proxies, which everything else uses.
    app.add_middleware(RequestLimits)
    app.add_middleware(SecurityHeaders, https=not ctx.settings.demo, docs=docs)
    instrument_web_app(app, ctx, metrics)
    app.add_middleware(TrustedProxies, trusted=parse_networks(ctx.settings.trusted_proxies))
    return app
