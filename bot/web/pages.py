"""HTML pages: the demo website (widget embedded), the login shared by all roles, the console.

After login agents go to ``/agent/``, editors to ``/editor/`` and admins to ``/admin/``
(``HOME_BY_ROLE``); those two pages are served by ``editor_pages.py``. :data:`templates` and
:func:`page_variables` serve every HTML page of the app.

The login (Argon2, the database), the logout and the console (the session) are plain ``def``
routes: FastAPI runs them in its thread pool, never on the event loop.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.chat import repository as repo
from bot.web import deps, sessions, texts
from bot.web.context import WebContext
from bot.web.guard import AGENT_ROLES
from bot.web.proxy import client_address
from bot.web.security import dummy_hash, verify_password
from bot.web.sessions import SESSION_COOKIE, current_user
from bot.web.site import SITE_PAGES
from bot.web.validation import bad_text

TEMPLATES = Path(__file__).with_name("templates")
LOGIN_NONCE_COOKIE = "login_nonce"
HOME_BY_ROLE = {"agent": "/agent/", "editor": "/editor/", "admin": "/admin/"}
DEFAULT_BRAND = "#00558c"
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{3,8}$")


templates = Jinja2Templates(directory=str(TEMPLATES))


def page_variables(ctx: WebContext, request: Request, page: str, **extra: Any) -> dict[str, Any]:
    """What every page's template needs (utility, opening hours, brand colour) and ``extra``."""
    colors = ctx.utility.get("colors") or {}
    return {
        "request": request,
        "utility": ctx.utility,
        "hours": ctx.hours.describe(),
        "brand_color": colors.get("primary", DEFAULT_BRAND),
        "page": page,
        **extra,
    }


def brand_css(utility: dict[str, Any]) -> str:
    """The utility's colour as a CSS variable (the default for a value that is not a colour)."""
    colour = str((utility.get("colors") or {}).get("primary", DEFAULT_BRAND))
    return f":root {{ --brand: {colour if _COLOUR.match(colour) else DEFAULT_BRAND}; }}\n"


def _secure(ctx: WebContext) -> bool:
    """Cookies only over HTTPS, except in the demo (plain http://127.0.0.1)."""
    return not ctx.settings.demo


def login_page(
    ctx: WebContext, request: Request, error: str | None = None, status: int = 200
) -> Response:
    """The login form with a fresh CSRF nonce (cookie) and ``error`` above it."""
    nonce = secrets.token_urlsafe(16)
    response = templates.TemplateResponse(
        request,
        "login.html",
        page_variables(ctx, request, "login", csrf_token=ctx.signer.csrf_token(nonce),
                       error=error),
        status_code=status,
    )
    response.set_cookie(
        LOGIN_NONCE_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(ctx),
        max_age=3600,
    )
    return response


router = APIRouter(include_in_schema=False)


@router.get("/brand.css")
async def brand(ctx: deps.Context) -> Response:
    """The utility's colour (knowledge/utility.yml) for every page.

    A file, because the Content-Security-Policy allows no inline style (bot/web/headers.py).
    """
    return Response(brand_css(ctx.utility), media_type="text/css",
                    headers={"Cache-Control": "public, max-age=300"})


def site_page(template: str, page: str) -> Callable[[Request, WebContext], Awaitable[Response]]:
    """The route of one page of the demo website."""

    async def render(request: Request, ctx: deps.Context) -> Response:
        return templates.TemplateResponse(request, template, page_variables(ctx, request, page))

    return render


for _path, (_template, _page) in SITE_PAGES.items():
    router.add_api_route(
        _path, site_page(_template, _page), methods=["GET"], response_class=HTMLResponse
    )


@router.get("/agent/login", response_class=HTMLResponse)
async def login_form(request: Request, ctx: deps.Context) -> Response:
    """The login form shared by agents, editors and admins."""
    return login_page(ctx, request)


@router.post("/agent/login")
def login(
    request: Request,
    ctx: deps.Context,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
    csrf_token: str = Form("", max_length=200),
) -> Response:
    """Check the password (a worker thread: Argon2 and the database) and start a session."""
    client = client_address(request)
    if not ctx.signer.check_csrf(request.cookies.get(LOGIN_NONCE_COOKIE), csrf_token):
        return login_page(ctx, request, texts.CSRF_FAILED, 403)
    name = username.strip()
    # Failed attempts are limited per client address and per user name (any name, known or
    # not, so the limit tells nothing); a correct password after the limit is refused too,
    # so guessing stays slow even from many addresses (README, "Security").
    if ctx.login_limiter.exceeded(client) or ctx.login_name_limiter.exceeded(name.lower()):
        return login_page(ctx, request, texts.LOGIN_TOO_MANY, 429)
    # Made before the lookup (once per process): an unknown name is never slower than a known.
    unknown_hash = dummy_hash()
    with ctx.session() as session:
        agent = (
            repo.agent_by_username(session=session, username=name)
            if name and not bad_text(name)
            else None
        )
        # An unknown name is checked against a dummy hash: as slow as a wrong password.
        ok = verify_password(agent.password_hash if agent else unknown_hash, password)
        if agent is None or not ok:
            ctx.login_limiter.hit(client)
            ctx.login_name_limiter.hit(name.lower())
            return login_page(ctx, request, texts.LOGIN_FAILED, 401)
        if not agent.active:
            return login_page(ctx, request, texts.LOGIN_DISABLED, 403)
        token = sessions.start(session=session, agent_id=agent.id, now=ctx.clock())
        role = agent.role
    response = RedirectResponse(HOME_BY_ROLE.get(role, "/agent/"), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(ctx),
        max_age=sessions.SESSION_TTL_S,
    )
    response.delete_cookie(LOGIN_NONCE_COOKIE)
    return response


@router.post("/agent/logout")
def logout(request: Request, ctx: deps.Context) -> Response:
    """End the session on the server, not only the cookie in this browser.

    No CSRF token: the cookie is SameSite=strict, and a forged logout could only log someone
    out.
    """
    with ctx.session() as session:
        sessions.end(session=session, token=request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/agent/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/agent/", response_class=HTMLResponse)
def console(request: Request, ctx: deps.Context) -> Response:
    """The agents' console (agents and admins; others to the login page)."""
    token = request.cookies.get(SESSION_COOKIE)
    agent = current_user(ctx, token)
    if agent is None or agent.role not in AGENT_ROLES:
        return RedirectResponse("/agent/login", status_code=303)
    return templates.TemplateResponse(
        request,
        "agent.html",
        page_variables(
            ctx,
            request,
            "agent",
            csrf_token=ctx.signer.csrf_token(token or ""),
            agent={"display_name": agent.display_name, "username": agent.username},
        ),
    )


@router.get("/agent")
async def console_slash() -> Response:
    """``/agent`` without the slash."""
    return RedirectResponse("/agent/", status_code=307)
