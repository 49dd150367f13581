"""FastAPI dependencies shared by the web app's routers.

The routers are module-level (``router = APIRouter(...)`` in each ``*_api.py``); what a route
needs comes in through these dependencies, never through a closure:

* :data:`Context`: the :class:`~bot.web.context.WebContext` the app factory put on
  ``app.state.context`` (settings, database, Rasa relay, live events, limits);
* :data:`Metrics`: the app's own Prometheus registry (``app.state.metrics``);
* :data:`User` and :data:`Editor`: the logged-in user that the staff route classes of
  ``bot.web.guard`` checked before the route ran (``request.state.user``), and the same user
  as the content store's ``Actor``.

Blocking work stays off the event loop: routes that use the database are plain ``def`` (FastAPI
runs them in its thread pool); ``async def`` routes (they await Rasa or a WebSocket) hand their
database calls to a thread with :func:`in_thread`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar, cast

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request

from bot.chat.models import Agent
from bot.content.repository import Actor
from bot.observability.metrics import WebMetrics
from bot.web.context import WebContext

P = ParamSpec("P")
T = TypeVar("T")


# The dependencies are ``async def`` though they do no I/O: FastAPI runs a plain ``def``
# dependency in its thread pool, a hop per dependency and request for nothing.


async def get_context(connection: HTTPConnection) -> WebContext:
    """The web context of the app serving this request or WebSocket."""
    return cast(WebContext, connection.app.state.context)


async def get_metrics(connection: HTTPConnection) -> WebMetrics:
    """The app's metrics registry (each app has its own: tests build many apps)."""
    return cast(WebMetrics, connection.app.state.metrics)


async def get_user(request: Request) -> Agent:
    """The logged-in user the staff route class checked (``bot.web.guard.StaffRoute``)."""
    return cast(Agent, request.state.user)


async def get_actor(user: Annotated[Agent, Depends(get_user)]) -> Actor:
    """The logged-in user as the content store's ``Actor`` (audit log, drafts' author)."""
    return Actor(user.id, user.display_name)


Context = Annotated[WebContext, Depends(get_context)]
Metrics = Annotated[WebMetrics, Depends(get_metrics)]
User = Annotated[Agent, Depends(get_user)]
Editor = Annotated[Actor, Depends(get_actor)]


async def in_thread(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking call (database, Redis) in the thread pool from an ``async`` route."""
    return await run_in_threadpool(func, *args, **kwargs)
