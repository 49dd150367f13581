"""Role checks, CSRF and German error answers of the web app's APIs.

Every route of ``/api/editor`` and ``/api/admin`` uses a :class:`StaffRoute` (``EditorRoute``,
``AdminRoute``), a route class that checks, *before* the request body or any parameter is parsed:

1. a valid session cookie, else ``401`` (JSON, German ``detail``);
2. the user's role, else ``403`` (an agent never reaches an editor route);
3. for ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` the CSRF token in ``X-CSRF-Token``, else ``403``;
4. JSON texts with NUL or lone surrogates, or nested too deeply, get ``422`` (PostgreSQL and
   UTF-8 cannot store such texts; ``bot.web.validation``).

So an anonymous request never learns more than "log in", whatever it sends (only a body larger
than :data:`MAX_BODY_BYTES` is refused with ``413`` before, by ``bot.web.request_limits``, which
caps every request's body before anything reads it). The chat API and the agents' API use
:class:`ValidatedRoute`: step 4 and the German answers below, without 1-3 (the agents' routes
check the session themselves). Afterwards the route's own errors are turned into German JSON
answers, never a ``500``:

* invalid parameters or body → ``422`` ``{"detail": str, "problems": [{"field", "path",
  "message"}]}`` (pydantic's English messages translated, :func:`german_problems`);
* ``InvalidContent`` → ``422`` in the same shape (its problems in German, named by field:
  ``bot.web.problems``);
* ``EditConflict`` → ``409``; ``NotAllowed`` (a state or the four-eyes rule) → ``409``, so that
  ``403`` always means a missing role or CSRF token; ``UnknownTopic``, ``UnknownRevision``,
  ``UnknownInboxItem``, ``NotFound`` → ``404``; any other ``ContentError`` → ``400``.

The logged-in user is in ``request.state.user`` (``bot.web.deps.User``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar, Final, cast

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from bot.content.inbox import UnknownInboxItem
from bot.content.repository import (
    ContentError,
    EditConflict,
    InvalidContent,
    NotAllowed,
    UnknownRevision,
    UnknownTopic,
    published_documents,
)
from bot.web import texts
from bot.web.context import WebContext
from bot.web.problems import content_problems
from bot.web.request_limits import MAX_BODY_BYTES as MAX_BODY_BYTES  # the staff APIs' cap
from bot.web.sessions import SESSION_COOKIE, current_user
from bot.web.validation import body_problem

CSRF_HEADER = "X-CSRF-Token"
# Who may use which staff API (the agents' console checks AGENT_ROLES itself).
EDITOR_ROLES: Final = frozenset({"editor", "admin"})
ADMIN_ROLES: Final = frozenset({"admin"})
AGENT_ROLES: Final = frozenset({"agent", "admin"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# German names of the fields editors and admins fill in (for messages naming the field).
FIELD_LABELS = {
    "id": "Kennung",
    "title": "Titel",
    "measure": "Bereich",
    "valid_from": "Gültig ab",
    "valid_to": "Gültig bis",
    "stand": "Stand",
    "answer": "Antwort",
    "sources": "Quellen",
    "related": "Verwandte Themen",
    "offers_calculation": "Berechnung anbieten",
    "facets": "Facetten",
    "questions": "Fragevarianten",
    "version": "Version",
    "base_version": "Ausgangsversion",
    "revision_id": "Entwurf",
    "note": "Begründung",
    "text": "Text",
    "item_ids": "Einträge",
    "topic_id": "Thema",
    "username": "Benutzername",
    "display_name": "Anzeigename",
    "role": "Rolle",
    "enabled": "Schalter",
    "limit": "Anzahl",
    "offset": "Versatz",
    "q": "Suche",
    "old": "ältere Version",
    "new": "neuere Version",
    "user_id": "Benutzer",
    "item_id": "Eintrag",
    "data": "Inhalt",
    # the chat API
    "payload": "Button",
    "faq_id": "Thema",
    "content_version": "Version",
    "helpful": "Bewertung",
    "seq": "Nachricht",
    "name": "Name",
    "contact": "Kontakt",
    "concern": "Anliegen",
    "page": "Seite",
    "after": "ab Nachricht",
}
# Problems of the whole body (a validator of several fields): the message alone says it.
UNNAMED_FIELDS = frozenset({"body"})
_SUBFIELD_LABELS = {"title": "Titel", "url": "Adresse"}


class NotFound(ContentError):
    """Something the route looked up does not exist (``404`` with the German ``message``)."""


def problem(field: str, message: str, path: str | None = None) -> dict[str, str]:
    """One problem as the API reports it."""
    return {"field": field, "path": path or field, "message": message}


def invalid(problems: Sequence[dict[str, str]], detail: str = texts.INVALID_INPUT) -> JSONResponse:
    """A ``422`` answer listing ``problems``."""
    summary = " ".join(
        p["message"]
        if p["field"] in UNNAMED_FIELDS
        else f"{FIELD_LABELS.get(p['field'], p['field'])}: {p['message']}"
        for p in problems
    )
    return JSONResponse(
        {"detail": f"{detail} {summary}".strip(), "problems": list(problems)}, status_code=422
    )


def _german(error: dict[str, Any]) -> str:
    """Pydantic 2's English message of one error in German (our own validators: as they are)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "Diese Angabe fehlt."
    if kind == "string_too_long":
        return f"Höchstens {ctx.get('max_length')} Zeichen sind erlaubt."
    if kind == "string_too_short":
        limit = ctx.get("min_length")
        return "Bitte ausfüllen." if limit == 1 else f"Mindestens {limit} Zeichen sind nötig."
    if kind == "too_long":
        return f"Höchstens {ctx.get('max_length')} Einträge sind erlaubt."
    if kind == "too_short":
        return f"Mindestens {ctx.get('min_length')} Einträge sind nötig."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Die Zahl ist zu klein (mindestens {ctx.get('ge', ctx.get('gt'))})."
    if kind in ("less_than_equal", "less_than"):
        return f"Die Zahl ist zu groß (höchstens {ctx.get('le', ctx.get('lt'))})."
    if kind in ("string_type", "none_required"):
        return "Bitte einen Text angeben."
    if kind.startswith("int_"):
        return "Bitte eine ganze Zahl angeben."
    if kind.startswith("bool_"):
        return "Bitte ja oder nein (true/false) angeben."
    if kind in ("list_type", "tuple_type"):
        return "Bitte eine Liste angeben."
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "Bitte ein Objekt mit Feldern angeben."
    if kind == "extra_forbidden":
        return "Dieses Feld gibt es nicht."
    if kind == "json_invalid":
        return "Die Anfrage ist kein gültiges JSON."
    if kind in ("enum", "literal_error"):
        return "Dieser Wert ist nicht erlaubt."
    if kind in ("value_error", "assertion_error"):
        # Our validators speak German; pydantic prefixes their message ("Value error, ...").
        cause = ctx.get("error")
        return str(cause) if cause is not None else str(error.get("msg", "Ungültige Angabe."))
    return "Diese Angabe ist ungültig."


def german_problems(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic's errors as German problems with the field they belong to.

    ``loc`` is like ``("body", "sources", 0, "url")``: the field is ``sources``, the path
    ``sources.0.url`` and the message says "Quelle 1, Adresse: …".
    """
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        field = loc[0] if loc else "body"
        message = _german(error)
        if len(loc) >= 2 and loc[1].isdigit():
            number = int(loc[1]) + 1
            what = {"sources": "Quelle", "questions": "Frage", "related": "Eintrag"}.get(
                field, "Eintrag"
            )
            sub = f", {_SUBFIELD_LABELS.get(loc[2], loc[2])}" if len(loc) >= 3 else ""
            message = f"{what} {number}{sub}: {message}"
        if field == "body" and error.get("type") == "missing":
            message = "Die Anfrage braucht einen Inhalt (JSON)."
        result.append(problem(field, message, ".".join(loc) or field))
    return result


def content_error_response(
    exc: ContentError, titles: Mapping[str, str] | None = None
) -> JSONResponse:
    """The JSON answer to a content store error (see the module docstring)."""
    if isinstance(exc, InvalidContent):
        return invalid(content_problems(exc.problems, titles), texts.INVALID_CONTENT)
    if isinstance(exc, (EditConflict, NotAllowed)):
        status = 409
    elif isinstance(exc, (UnknownTopic, UnknownRevision, UnknownInboxItem, NotFound)):
        status = 404
    else:
        status = 400
    return JSONResponse({"detail": exc.message}, status_code=status)


def _body_refused(body: bytes) -> JSONResponse | None:
    """A ``422`` for a JSON body with NUL, lone surrogates or deep nesting (``validation``)."""
    found = body_problem(body)
    if found is None:
        return None  # fine, or not JSON at all: FastAPI answers with its (translated) error
    path, message = found
    field = path[0] if path else "body"
    return invalid([problem(field, message, ".".join(path) or field)])


def _titles(ctx: WebContext) -> dict[str, str]:
    """Topic id → title of the published topics (to name them in problems)."""
    with ctx.session() as session:
        docs = published_documents(session)
    return {topic_id: str(doc.get("title") or topic_id) for topic_id, doc in docs.items()}


class StaffRoute(APIRoute):
    """Route class of the staff APIs (``APIRouter(route_class=...)``): admits only :attr:`roles`.

    Subclasses name the roles and the German ``detail`` of the ``403`` for other roles. The
    web context comes from the app (``app.state.context``); the session lookup runs in the
    thread pool, never on the event loop.
    """

    roles: ClassVar[frozenset[str]] = frozenset()
    forbidden: ClassVar[str] = texts.NOT_ALLOWED

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, wrapped in the checks of the module docstring."""
        handler = super().get_route_handler()
        roles, forbidden = self.roles, self.forbidden

        async def guarded(request: Request) -> Response:
            ctx = cast(WebContext, request.app.state.context)
            token = request.cookies.get(SESSION_COOKIE)
            user = await run_in_threadpool(current_user, ctx, token)
            if user is None:
                return JSONResponse({"detail": texts.LOGIN_REQUIRED}, status_code=401)
            if user.role not in roles:
                return JSONResponse({"detail": forbidden}, status_code=403)
            if request.method not in SAFE_METHODS:
                if not ctx.signer.check_csrf(token, request.headers.get(CSRF_HEADER)):
                    return JSONResponse({"detail": texts.CSRF_FAILED}, status_code=403)
                # The body is in memory already, capped in size (bot/web/request_limits.py).
                refused = _body_refused(await request.body())
                if refused is not None:
                    return refused
            request.state.user = user
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return invalid(german_problems(exc.errors()))
            except InvalidContent as exc:
                return content_error_response(exc, await run_in_threadpool(_titles, ctx))
            except ContentError as exc:
                return content_error_response(exc)

        return guarded


class EditorRoute(StaffRoute):
    """``/api/editor``: editors and admins."""

    roles = EDITOR_ROLES
    forbidden = texts.EDITOR_ONLY


class AdminRoute(StaffRoute):
    """``/api/admin``: admins only."""

    roles = ADMIN_ROLES
    forbidden = texts.ADMIN_ONLY


class ValidatedRoute(APIRoute):
    """Route class of the public and agent APIs: German ``422`` answers, hostile bodies refused.

    A JSON body with NUL, lone surrogates or deep nesting gets ``422`` before the route reads it
    (its size was capped before: ``bot.web.request_limits``); invalid parameters or bodies get
    the German ``422`` of :func:`invalid` instead of pydantic's English list.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, wrapped in the body check and the German ``422`` answers."""
        handler = super().get_route_handler()

        async def validated(request: Request) -> Response:
            if request.method not in SAFE_METHODS:
                refused = _body_refused(await request.body())
                if refused is not None:
                    return refused
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return invalid(german_problems(exc.errors()))

        return validated
