"""HTML pages: the demo website (widget embedded), the login shared by all roles, the console.

After login agents go to ``/agent/``, editors to ``/editor/`` and admins to ``/admin/``
(``HOME_BY_ROLE``); those two pages are served by ``editor_pages.py``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.chat import repository as repo
from bot.web import texts
from bot.web.agent_api import AGENT_ROLES, SESSION_COOKIE, current_agent
from bot.web.context import WebContext
from bot.web.security import SESSION_TTL_S, verify_password
from bot.web.site import SITE_PAGES

TEMPLATES = Path(__file__).with_name("templates")
LOGIN_NONCE_COOKIE = "login_nonce"
HOME_BY_ROLE = {"agent": "/agent/", "editor": "/editor/", "admin": "/admin/"}


def build_router(ctx: WebContext) -> APIRouter:
    """The page routes bound to ``ctx``."""
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(TEMPLATES))
    secure = not ctx.settings.demo  # the demo runs on plain http://127.0.0.1

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
            return templates.TemplateResponse(template, variables(request, page))

        return render

    for path, (template, page) in SITE_PAGES.items():
        router.add_api_route(
            path, site_page(template, page), methods=["GET"], response_class=HTMLResponse
        )

    def login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        nonce = secrets.token_urlsafe(16)
        response = templates.TemplateResponse(
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
        client = request.client.host if request.client else "unknown"
        if not ctx.signer.check_csrf(request.cookies.get(LOGIN_NONCE_COOKIE), csrf_token):
            return login_page(request, texts.CSRF_FAILED, 403)
        # Failed attempts per address are limited; a correct password after the limit is
        # refused too, so guessing stays slow.
        if ctx.login_limiter.exceeded(client):
            return login_page(request, texts.LOGIN_TOO_MANY, 429)
        with ctx.session() as session:
            agent = repo.agent_by_username(session=session, username=username.strip())
            agent_id = agent.id if agent else None
            role = agent.role if agent else ""
            ok = agent is not None and verify_password(agent.password_hash, password)
        if not ok or agent_id is None:
            ctx.login_limiter.hit(client)
            return login_page(request, texts.LOGIN_FAILED, 401)
        response = RedirectResponse(HOME_BY_ROLE.get(role, "/agent/"), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            ctx.signer.session_token(agent_id),
            httponly=True,
            samesite="strict",
            secure=secure,
            max_age=SESSION_TTL_S,
        )
        response.delete_cookie(LOGIN_NONCE_COOKIE)
        return response

    @router.post("/agent/logout")
    async def logout() -> Response:
        response = RedirectResponse("/agent/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/agent/", response_class=HTMLResponse)
    async def console(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        agent = current_agent(ctx, token)
        if agent is None or agent.role not in AGENT_ROLES:
            return RedirectResponse("/agent/login", status_code=303)
        return templates.TemplateResponse(
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
