"""The editors' page ``/editor/`` and the admins' pages ``/admin/`` and ``/admin/datenschutz``.

Both are static skeletons (``templates/editor.html``, ``templates/admin.html``) that
``static/editor.js`` and ``static/admin.js`` fill from ``/api/editor`` and ``/api/admin``.
Anonymous visitors are sent to the login page (303, shared/contracts.md §4); a logged-in user
without the role gets a German ``403`` page, never the page. The CSRF token for the APIs is in
``<meta name="csrf-token">``, as on the agent console. The routes are plain ``def``: the
session lookup runs in FastAPI's thread pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.web import deps, texts
from bot.web.context import WebContext
from bot.web.guard import ADMIN_ROLES, AGENT_ROLES, EDITOR_ROLES
from bot.web.pages import page_variables, templates
from bot.web.sessions import SESSION_COOKIE, current_user

LOGIN_PATH = "/agent/login"


def staff_page(
    ctx: WebContext, request: Request, template: str, page: str, roles: Collection[str],
    forbidden: str,
) -> Response:
    """``template`` for a user with one of ``roles``: else the login page or a German ``403``."""
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
            page_variables(ctx, request, "forbidden", message=forbidden, user=shown),
            status_code=403,
        )
    else:
        response = templates.TemplateResponse(
            request,
            template,
            page_variables(ctx, request, page, csrf_token=ctx.signer.csrf_token(token),
                           user=shown),
        )
    response.headers["Cache-Control"] = "no-store"  # a logged-in page, never from a cache
    return response


router = APIRouter(include_in_schema=False)


@router.get("/editor/", response_class=HTMLResponse)
def editor(request: Request, ctx: deps.Context) -> Response:
    """The editors' console."""
    return staff_page(ctx, request, "editor.html", "editor", EDITOR_ROLES, texts.EDITOR_ONLY)


@router.get("/admin/", response_class=HTMLResponse)
def admin(request: Request, ctx: deps.Context) -> Response:
    """The admins' console."""
    return staff_page(ctx, request, "admin.html", "admin", ADMIN_ROLES, texts.ADMIN_ONLY)


@router.get("/admin/datenschutz", response_class=HTMLResponse)
def admin_privacy(request: Request, ctx: deps.Context) -> Response:
    """Find, export and delete a conversation (bot/web/privacy_api.py)."""
    return staff_page(
        ctx, request, "admin_privacy.html", "admin-privacy", ADMIN_ROLES, texts.ADMIN_ONLY
    )
