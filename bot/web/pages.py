"""HTML pages: the demo website (widget embedded), the login shared by all roles, the console.

After login agents go to ``/agent/``, editors to ``/editor/`` and admins to ``/admin/``
(``HOME_BY_ROLE``); those two pages are served by ``editor_pages.py``.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.chat import repository as repo
from bot.web import sessions, texts
from bot.web.agent_api import AGENT_ROLES
from bot.web.context import WebContext
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


def build_router(ctx: WebContext) -> APIRouter:
    """The page routes bound to ``ctx``."""
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    secure = not ctx.settings.demo  # the demo runs on plain http://127.0.0.1
    dummy_hash()  # made now, so that the first unknown name does not take twice as long

    def variables(request: Request, page: str, **extra: Any) -> dict[str, Any]:
        colors = ctx.utility.get("colors") or {}
        return {
            "request": request,
            "utility": ctx.utility,
            "hours": ctx.hours.describe(),
            "brand_color": colors.get("primary", "#00558c"),
            "page": page,
            **extra,
        }

    def site_page(template: str, page: str) -> Any:
        async def render(request: Request) -> Response:
            return templates.TemplateResponse(request, template, variables(request, page))

        return render

    colour = str((ctx.utility.get("colors") or {}).get("primary", DEFAULT_BRAND))
    brand_css = f":root {{ --brand: {colour if _COLOUR.match(colour) else DEFAULT_BRAND}; }}\n"

    @router.get("/brand.css")
    async def brand() -> Response:
        # The utility's colour (knowledge/utility.yml) for every page; a file, because the
        # Content-Security-Policy allows no inline style (bot/web/headers.py).
        return Response(brand_css, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=300"})

    for path, (template, page) in SITE_PAGES.items():
        router.add_api_route(
            path, site_page(template, page), methods=["GET"], response_class=HTMLResponse
        )

    def login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        nonce = secrets.token_urlsafe(16)
        response = templates.TemplateResponse(
            request,
            "login.html",
            variables(request, "login", csrf_token=ctx.signer.csrf_token(nonce), error=error),
            status_code=status,
        )
        response.set_cookie(
            LOGIN_NONCE_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, max_age=3600
        )
        return response

    @router.get("/agent/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return login_page(request)

    @router.post("/agent/login")
    async def login(
        request: Request,
        username: str = Form("", max_length=64),
        password: str = Form("", max_length=256),
        csrf_token: str = Form("", max_length=200),
    ) -> Response:
        client = client_address(request)
        if not ctx.signer.check_csrf(request.cookies.get(LOGIN_NONCE_COOKIE), csrf_token):
            return login_page(request, texts.CSRF_FAILED, 403)
        name = username.strip()
        # Failed attempts are limited per client address and per user name (any name, known or
        # not, so the limit tells nothing); a correct password after the limit is refused too,
        # so guessing stays slow even from many addresses (README, "Security").
        if ctx.login_limiter.exceeded(client) or ctx.login_name_limiter.exceeded(name.lower()):
            return login_page(request, texts.LOGIN_TOO_MANY, 429)
        with ctx.session() as session:
            agent = (
                repo.agent_by_username(session=session, username=name)
                if name and not bad_text(name)
                else None
            )
            # An unknown name is checked against a dummy hash: as slow as a wrong password.
            ok = verify_password(agent.password_hash if agent else dummy_hash(), password)
            if agent is None or not ok:
                ctx.login_limiter.hit(client)
                ctx.login_name_limiter.hit(name.lower())
                return login_page(request, texts.LOGIN_FAILED, 401)
            if not agent.active:
                return login_page(request, texts.LOGIN_DISABLED, 403)
            token = sessions.start(session=session, agent_id=agent.id, now=ctx.clock())
            role = agent.role
        response = RedirectResponse(HOME_BY_ROLE.get(role, "/agent/"), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=secure,
            max_age=sessions.SESSION_TTL_S,
        )
        response.delete_cookie(LOGIN_NONCE_COOKIE)
        return response

    @router.post("/agent/logout")
    async def logout(request: Request) -> Response:
        # Ends the session on the server, not only the cookie in this browser. No CSRF token:
        # the cookie is SameSite=strict, and a forged logout could only log someone out.
        with ctx.session() as session:
            sessions.end(session=session, token=request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/agent/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/agent/", response_class=HTMLResponse)
    async def console(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        agent = current_user(ctx, token)
        if agent is None or agent.role not in AGENT_ROLES:
            return RedirectResponse("/agent/login", status_code=303)
        return templates.TemplateResponse(
            request,
            "agent.html",
            variables(
                request,
                "agent",
                csrf_token=ctx.signer.csrf_token(token or ""),
                agent={"display_name": agent.display_name, "username": agent.username},
            ),
        )

    @router.get("/agent")
    async def console_slash() -> Response:
        return RedirectResponse("/agent/", status_code=307)

    return router
