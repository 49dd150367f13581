"""The editors' page ``/editor/`` and the admins' pages ``/admin/`` and ``/admin/datenschutz``.

Both are static skeletons (``templates/editor.html``, ``templates/admin.html``) that
``static/editor.js`` and ``static/admin.js`` fill from ``/api/editor`` and ``/api/admin``.
Anonymous visitors are sent to the login page (303, shared/contracts.md §4); a logged-in user
without the role gets a German ``403`` page, never the page. The CSRF token for the APIs is in
``<meta name="csrf-token">``, as on the agent console.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.web import texts
from bot.web.admin_api import ADMIN_ROLES
from bot.web.agent_api import AGENT_ROLES
from bot.web.context import WebContext
from bot.web.editor_api import EDITOR_ROLES
from bot.web.sessions import SESSION_COOKIE, current_user

TEMPLATES = Path(__file__).with_name("templates")
LOGIN_PATH = "/agent/login"


def build_router(ctx: WebContext) -> APIRouter:
    """The two page routes bound to ``ctx``."""
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(TEMPLATES))

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

    def staff_page(
        request: Request, template: str, page: str, roles: Collection[str], forbidden: str
    ) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        user = current_user(ctx, token)
        if user is None or token is None:
            return RedirectResponse(LOGIN_PATH, status_code=303)
        shown = {
            "display_name": user.display_name,
            "username": user.username,
            "role": user.role,
            # Links in the header: the areas this user may open.
            "editor": user.role in EDITOR_ROLES,
            "admin": user.role in ADMIN_ROLES,
            "agent": user.role in AGENT_ROLES,
        }
        if user.role not in roles:
            response = templates.TemplateResponse(
                request,
                "forbidden.html",
                variables(request, "forbidden", message=forbidden, user=shown),
                status_code=403,
            )
        else:
            response = templates.TemplateResponse(
                request,
                template,
                variables(request, page, csrf_token=ctx.signer.csrf_token(token), user=shown),
            )
        response.headers["Cache-Control"] = "no-store"  # a logged-in page, never from a cache
        return response

    @router.get("/editor/", response_class=HTMLResponse)
    async def editor(request: Request) -> Response:
        return staff_page(request, "editor.html", "editor", EDITOR_ROLES, texts.EDITOR_ONLY)

    @router.get("/admin/", response_class=HTMLResponse)
    async def admin(request: Request) -> Response:
        return staff_page(request, "admin.html", "admin", ADMIN_ROLES, texts.ADMIN_ONLY)

    @router.get("/admin/datenschutz", response_class=HTMLResponse)
    async def admin_privacy(request: Request) -> Response:
        # Find, export and delete a conversation (bot/web/privacy_api.py).
        return staff_page(
            request, "admin_privacy.html", "admin-privacy", ADMIN_ROLES, texts.ADMIN_ONLY
        )

    return router
