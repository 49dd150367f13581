"""Log lines of every process, and the request id that follows one customer turn through them.

With ``LOG_FORMAT=json`` (the production profile) each process writes one JSON object per line::

    {"time": "2026-11-23T10:00:00.123Z", "level": "INFO", "logger": "uvicorn.access",
     "message": "…", "service": "web", "request_id": "3f2a…"}

``request_id`` is there while a request is handled (``exception`` and ``stack`` when the record
has them, as strings). Every text goes through :class:`bot.privacy.MaskingFilter` first, so no
IBAN, e-mail address or telephone number reaches a log. ``LOG_FORMAT=text`` (the default, the
demo) keeps the familiar one-line text format.

The request id: the web app takes a sane incoming ``X-Request-ID`` (:func:`valid_request_id`) or
makes one per HTTP request, answers with it, and sends it on to Rasa; Rasa sends it to the
action server, the action server to the calculator. Each process keeps the id of the request it
is handling in :data:`request_id` (a context variable: one value per asyncio task, copied into
``asyncio.to_thread``), where the log filter and :func:`outgoing_headers` find it.

Nothing here imports rasa: the web app, the calculator and both Rasa-side processes use it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime, timezone
from typing import Any, Final, TextIO

from bot.privacy import MaskingFilter
from bot.settings import get_settings

REQUEST_ID_HEADER: Final = "X-Request-ID"
MAX_REQUEST_ID_CHARS: Final = 64
# Letters, digits, ".", "_", "-": enough for UUIDs and the ids of common proxies and tracers,
# and nothing that could break a log line or a header (no spaces, quotes, control characters).
_REQUEST_ID: Final = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_REQUEST_ID_CHARS}}}")
# The demo's text format (as before this module existed).
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS: Final = ("text", "json")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it may serve as a request id (1 to 64 of ``A-Z a-z 0-9 . _ -``), else None."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    """A fresh request id (32 hex digits of a random UUID)."""
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The id of an incoming request: its sane ``X-Request-ID``, else a new one."""
    return valid_request_id(header) or new_request_id()


def current_request_id() -> str | None:
    """The id of the request this task is handling, if any."""
    return request_id.get()


def outgoing_headers() -> dict[str, str]:
    """The headers that pass the current request id on to the next service (empty without)."""
    current = request_id.get()
    return {REQUEST_ID_HEADER: current} if current else {}


def set_request_id(value: str | None) -> Token[str | None]:
    """Make ``value`` the current request id; pass the token to :func:`reset_request_id`."""
    return request_id.set(value)


def reset_request_id(token: Token[str | None]) -> None:
    """Restore the request id that was current before :func:`set_request_id`."""
    request_id.reset(token)


@contextmanager
def bound_request_id(value: str | None) -> Iterator[None]:
    """The request id is ``value`` inside the ``with`` block."""
    token = request_id.set(value)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on each record (``record.request_id``, None without)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attribute unless the record carries one already; never drops the record."""
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, service, request_id.

    Put :class:`bot.privacy.MaskingFilter` on the handler before it: the formatter writes the
    message and the traceback as the filter left them. Extra attributes of a record are not
    written (they have not been masked).
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (newlines inside values are escaped)."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        current = getattr(record, "request_id", None) or request_id.get()
        if current:
            entry["request_id"] = current
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(service: str, log_format: str, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler that masks personal data and writes ``log_format`` (text or json)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(
    service: str,
    *,
    log_format: str | None = None,
    level: int | None = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Log this process's records through one masking handler on the root logger.

    Call it first thing in a process's ``main`` (again after a framework configured logging
    itself: it is idempotent). In JSON mode the root handler becomes the only one: loggers that
    brought their own handlers (uvicorn's, Sanic's, coloredlogs') lose them and propagate to
    the root, and Python warnings become log records (``py.warnings``), so every line the
    process writes through ``logging`` is JSON.

    Args:
        service: the ``service`` field of every JSON line (``web``, ``rasa``, ``actions``,
            ``calculator``).
        log_format: ``text`` or ``json``; default ``LOG_FORMAT`` (``get_settings().log_format``).
        level: the root logger's level; default ``LOG_LEVEL`` (``get_settings().log_level``).
        stream: where to write (default ``sys.stderr``).

    Returns:
        The handler installed on the root logger.

    Raises:
        ValueError: ``log_format`` is neither ``text`` nor ``json``, or ``LOG_LEVEL`` unknown.
    """
    chosen = (log_format or get_settings().log_format).lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be text or json, not {chosen!r}")
    if level is None:
        level = log_level()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = make_handler(service, chosen, stream)
    root.addHandler(handler)
    root.setLevel(level)
    if chosen == "json":
        for logger in list(logging.Logger.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger):
                for old in list(logger.handlers):
                    logger.removeHandler(old)
                logger.propagate = True
        logging.captureWarnings(True)
    return handler


# Packages of Rasa 3.6's frozen dependency tree whose imports raise deprecation warnings about
# *their* dependencies (pyparsing's camelCase API, click 9, pkg_resources, distutils, jax): a
# screenful at every start of Rasa and the action server, nothing we could act on. Only these
# modules and only DeprecationWarning (and its subclasses such as pyparsing's): the same warning
# raised in our code still shows.
_NOISY_DEPENDENCIES: Final = (
    r"(typer|spacy|tensorflow|keras|jax|sanic_cors|sanic|rasa|rasa_sdk|pkg_resources|packaging"
    r"|matplotlib|google|tensorboard|absl|flatbuffers)(\.|$)"
)


def quiet_dependency_warnings() -> None:
    """Ignore the deprecation warnings Rasa's dependencies raise (call before importing them).

    SQLAlchemy's "2.0" warnings about Rasa's own tracker store (Rasa 3.6 is frozen on
    SQLAlchemy 1.4) are deprecation warnings raised in ``rasa`` too.
    """
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=_NOISY_DEPENDENCIES)
    try:
        # Importing sanic (Rasa's and rasa-sdk's web server) puts "once" for every
        # DeprecationWarning in front of all filters; ours goes back in front of it.
        import sanic.app  # noqa: F401
    except ImportError:  # an environment without sanic (the web app's)
        return
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=_NOISY_DEPENDENCIES)


def log_level(name: str | None = None) -> int:
    """The numeric level of ``name`` (default ``LOG_LEVEL``: debug, info, warning or error).

    Raises:
        ValueError: not one of those four.
    """
    chosen = (name or get_settings().log_level).upper()
    if chosen not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"LOG_LEVEL must be debug, info, warning or error, not {chosen.lower()!r}")
    return int(logging.getLevelName(chosen))


def uvicorn_log_options(log_format: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``: uvicorn leaves logging to :func:`configure_logging`.

    Its error and access loggers propagate to the root handler, which masks personal data: in
    access lines the client address is shortened to its network and a conversation id in the
    path to its first characters (``bot.privacy.MaskingFilter``), in the text format as in JSON
    (uvicorn's own text handler would write both in full). Access lines carry the request id:
    uvicorn writes them while the response starts, inside the request's context.
    """
    chosen = (log_format or get_settings().log_format).lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be text or json, not {chosen!r}")
    return {"log_config": None}
