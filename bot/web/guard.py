"""Role checks, CSRF and German error answers of the web app's APIs.

Every route of ``/api/editor`` and ``/api/admin`` is built with :func:`guarded_route`, a route
class that checks, *before* the request body or any parameter is parsed:

1. a valid session cookie, else ``401`` (JSON, German ``detail``);
2. the user's role, else ``403`` (an agent never reaches an editor route);
3. for ``POST``, ``PUT``, ``PATCH`` and ``DELETE`` the CSRF token in ``X-CSRF-Token``, else ``403``;
4. JSON texts with NUL or lone surrogates, or nested too deeply, get ``422`` (PostgreSQL and
   UTF-8 cannot store such texts; ``bot.web.validation``).

So an anonymous request never learns more than "log in", whatever it sends (only a body larger
than :data:`MAX_BODY_BYTES` is refused with ``413`` before, by ``bot.web.request_limits``, which
caps every request's body before anything reads it). The chat API and the agents' API use
:func:`validated_route`: step 4 and the German answers below, without 1-3 (the agents' routes
check the session themselves). Afterwards the route's own errors are turned into German JSON
answers, never a ``500``:

* invalid parameters or body → ``422`` ``{"detail": str, "problems": [{"field", "path",
  "message"}]}`` (pydantic's English messages translated, :func:`german_problems`);
* ``InvalidContent`` → ``422`` in the same shape (the loader's problems named by field);
* ``EditConflict`` → ``409``; ``NotAllowed`` (a state or the four-eyes rule) → ``409``, so that
  ``403`` always means a missing role or CSRF token; ``UnknownTopic``, ``UnknownRevision``,
  ``UnknownInboxItem``, ``NotFound`` → ``404``; any other ``ContentError`` → ``400``.

The logged-in user is in ``request.state.user`` (:func:`user_of`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from typing import Any, cast

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from bot.chat.models import Agent
from bot.content.inbox import UnknownInboxItem
from bot.content.repository import (
    Actor,
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
from bot.web.request_limits import MAX_BODY_BYTES as MAX_BODY_BYTES  # the staff APIs' cap
from bot.web.sessions import SESSION_COOKIE, current_user
from bot.web.validation import body_problem

CSRF_HEADER = "X-CSRF-Token"
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


def user_of(request: Request) -> Agent:
    """The logged-in user that the guard put on the request."""
    return cast(Agent, request.state.user)


def actor_of(request: Request) -> Actor:
    """The logged-in user as the content store's ``Actor``."""
    user = user_of(request)
    return Actor(user.id, user.display_name)


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


# ---- the loader's problems (English, for developers) in German, named by field ----------------

_LOADER_PROBLEM = re.compile(
    r"^(?:(?P<where>[^\s:]*?(?P<stem>[a-z0-9_]+)\.yml): )?"
    r"(?:field|Feld) '(?P<field>[a-z_]+)(?:\[(?P<index>[0-9]+)\])?'(?P<rest>.*)$",
    re.S,
)
_REST_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), message)
    for pattern, message in (
        (r"^ is missing$", "Diese Angabe fehlt."),
        (r"^ is .* but must equal the file name$", "Die Kennung passt nicht zu diesem Thema."),
        (r"^ must be a positive integer$", "Bitte eine positive ganze Zahl angeben."),
        (r"^ must be one of (?P<choices>.*)$", "Bitte einen Bereich aus der Liste wählen."),
        (
            r"^ must list at least one source$",
            "Bitte mindestens eine Quelle mit Titel und Adresse angeben.",
        ),
        (r"^ needs 'title' and 'url'$", "Quelle {number} braucht einen Titel und eine Adresse."),
        (r"^ must be a list of topic ids$", "Bitte nur Themen aus der Liste wählen."),
        (
            r"^ must be a list of non-empty texts$",
            "Bitte nur ausgefüllte Fragen angeben (eine pro Zeile).",
        ),
        (r"^: expected a date YYYY-MM-DD, got .*$", "Bitte ein gültiges Datum angeben."),
        (r"^ is before 'valid_from'$", "„Gültig bis“ liegt vor „Gültig ab“."),
        (r"^ must be true or false$", "Bitte ja oder nein wählen."),
        (r"^: must be a non-empty text$", "Bitte ausfüllen."),
        (
            r"^ has (?P<count>[0-9]+) variants, at least (?P<minimum>[0-9]+) are required$",
            "Das Thema hat {count} {variants}, nötig sind mindestens {minimum}. Bitte "
            "ergänzen Sie Formulierungen, wie Kunden sie schreiben würden.",
        ),
        (
            r"^ lists (?P<question>.+) twice$",
            "Die Frage „{question}“ steht zweimal in der Liste.",
        ),
        (
            r"^: (?P<question>.+) is also a question of topic '(?P<other>[a-z0-9_]+)' .*$",
            "Die Frage „{question}“ gehört schon zum Thema „{owner}“. Jede Frage darf nur zu "
            "einem Thema gehören, sonst kann der Assistent sie nicht zuordnen.",
        ),
        (
            r"^: unknown placeholder (?P<placeholder>.+)$",
            "Den Platzhalter {placeholder} gibt es nicht. Bitte einen Platzhalter aus der "
            "Liste einfügen.",
        ),
        (
            r"^: figure (?P<figure>.+) must come from knowledge/facts as a placeholder$",
            "Die Zahl „{figure}“ muss als Platzhalter eingefügt werden (Liste „Platzhalter“), "
            "damit jede Zahl an einer Stelle gepflegt und geprüft wird.",
        ),
        (
            r"^: unknown facet .*$",
            "Diese Facette gibt es nicht. Bitte nur Facetten aus der Liste wählen.",
        ),
        (
            r"^: facet '(?P<facet>[a-z]+)' takes values from .*$",
            "Bitte nur Werte aus der Liste wählen.",
        ),
        (
            r"^ must map facet names .*$",
            "Bitte die Facetten als Auswahl aus der Liste angeben.",
        ),
        (
            r"^ is the same as in topic '(?P<other>[a-z0-9_]+)' .*$",
            "Das Thema „{other_title}“ hat genau dieselben Facetten. Eine Anschlussfrage wie „und "
            "für Mieter?“ könnte die beiden nicht unterscheiden: bitte eine Facette ändern.",
        ),
        (
            r"^: unknown topic '(?P<topic>.+)'$",
            "Das verwandte Thema „{topic}“ gibt es nicht (mehr).",
        ),
    )
)


def _unquote(text: str) -> str:
    """A Python repr of a string (``'x'`` or ``"x"``) as the text itself."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def content_problems(
    problems: Sequence[str], titles: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """The content store's and the loader's problems as German problems named by field.

    Messages that are German already (``Feld 'answer': …``) keep their text; the loader's
    English ones (``topics/x.yml: field 'questions' has 5 variants, …``) are translated.
    Anything else (a broken fact file) is reported as it is, under the field ``content``.
    Topics are named by their title from ``titles`` (topic id → title) where known.
    """
    titles = titles or {}
    result = []
    for text in problems:
        match = _LOADER_PROBLEM.match(text)
        if match is None:
            result.append(problem("content", text))
            continue
        field, rest = match.group("field"), match.group("rest")
        index = match.group("index")
        path = f"{field}.{index}" if index is not None else field
        if text.startswith("Feld "):  # the content store's own German messages
            result.append(problem(field, rest.removeprefix(":").strip(), path))
            continue
        for pattern, template in _REST_PATTERNS:
            found = pattern.match(rest)
            if found:
                values = {k: _unquote(v) for k, v in found.groupdict().items()}
                # "topics/a.yml: … is also a question of topic 'b'": the problem is reported
                # for both topics; the one that is not being edited (no path: ours) owns it.
                owner = match.group("stem") or values.get("other", "")
                values["owner"] = titles.get(owner, owner)
                values["other_title"] = titles.get(values.get("other", ""), values.get("other", ""))
                values["number"] = str(int(index) + 1) if index is not None else ""
                one = values.get("count") == "1"
                values["variants"] = "Fragevariante" if one else "Fragevarianten"
                result.append(problem(field, template.format(**values), path))
                break
        else:
            result.append(problem(field, rest.removeprefix(":").strip() or text, path))
    return result


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


def guarded_route(ctx: WebContext, roles: Collection[str], forbidden: str) -> type[APIRoute]:
    """A route class for ``APIRouter(route_class=...)`` that admits only ``roles``.

    Args:
        ctx: the web context (session cookies, CSRF tokens, database).
        roles: the roles allowed on every route of the router.
        forbidden: the German ``detail`` of the ``403`` for other roles.
    """

    class GuardedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                token = request.cookies.get(SESSION_COOKIE)
                user = current_user(ctx, token)
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
                    return content_error_response(exc, _titles(ctx))
                except ContentError as exc:
                    return content_error_response(exc)

            return guarded

    return GuardedRoute


def validated_route() -> type[APIRoute]:
    """A route class for the public and agent APIs: German ``422`` answers, hostile bodies refused.

    A JSON body with NUL, lone surrogates or deep nesting gets ``422`` before the route reads it
    (its size was capped before: ``bot.web.request_limits``); invalid parameters or bodies get
    the German ``422`` of :func:`invalid` instead of pydantic's English list.
    """

    class ValidatedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
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

    return ValidatedRoute
