"""The web app factory: ``create_app(settings)``; nothing happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import yaml
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as content
from bot.content.store import DatabaseKnowledgeStore
from bot.content.training import TrainingWorker
from bot.handoff.hours import OpeningHours
from bot.settings import REPO_ROOT, Settings, get_settings
from bot.web import admin_api, agent_api, chat_api, editor_api, editor_pages, faq_page, pages
from bot.web.context import WebContext
from bot.web.events import EventHub
from bot.web.rasa_relay import RasaRelay
from bot.web.ratelimit import RateLimiter
from bot.web.security import Signer, load_or_create_secret

STATIC = Path(__file__).with_name("static")
DEMO_SECRET = REPO_ROOT / "build" / "web-secret"


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
    return WebContext(
        settings=settings,
        sessions=sessions,
        relay=relay or RasaRelay(settings.rasa_url),
        hub=EventHub(),
        signer=Signer(secret),
        hours=OpeningHours.from_utility(utility),
        utility=utility,
        message_limiter=RateLimiter(settings.rate_limit_per_minute),
        conversation_limiter=RateLimiter(settings.new_conversations_per_minute),
        login_limiter=RateLimiter(5),  # failed logins per client address and minute
        knowledge=DatabaseKnowledgeStore(engine, settings.knowledge_dir),
    )


def create_app(settings: Settings | None = None, *, context: WebContext | None = None) -> FastAPI:
    """The FastAPI app of the website, chat API, agent console and editor/admin UIs."""
    ctx = context or build_context(settings or get_settings())

    # Editors' retraining runs in this process's background thread (bot/content/training.py).
    # Several web app instances may each run one: a queued run is claimed by exactly one.
    trainer = TrainingWorker(ctx.sessions, settings=ctx.settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if ctx.settings.training_worker:
            trainer.start()  # does nothing when TRAINING_ENABLED is off
        try:
            yield
        finally:
            trainer.stop()
            await ctx.relay.close()

    app = FastAPI(
        title="Stadtwerke chat web app",
        description="Chat API of the website widget (shared/contracts.md §3) and agent console.",
        lifespan=lifespan,
    )
    app.state.context = ctx
    app.include_router(chat_api.build_router(ctx))
    app.include_router(agent_api.build_router(ctx))
    app.include_router(pages.build_router(ctx))
    app.include_router(faq_page.build_router(ctx))
    app.include_router(editor_api.build_router(ctx))
    app.include_router(admin_api.build_router(ctx))
    app.include_router(editor_pages.build_router(ctx))
    app.mount("/static", StaticFiles(directory=str(STATIC), check_dir=False), name="static")
    return app
