"""JSON log lines, the request id and ``configure_logging`` (``bot.observability.logs``)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import warnings

import pytest

from bot.observability import logs


@pytest.fixture
def restore_logging():
    """Put every logger's handlers, propagation and level and warnings capture back."""
    loggers = [logging.getLogger(), logging.getLogger("tests.own_handler")] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, list(logger.handlers), logger.propagate, logger.level) for logger in loggers]
    yield
    logging.captureWarnings(False)
    for logger, handlers, propagate, level in saved:
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def capture(service="web", log_format="json"):
    stream = io.StringIO()
    logger = logging.getLogger(f"tests.capture.{service}")
    logger.handlers[:] = [logs.make_handler(service, log_format, stream)]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize(
    "value", ["abc", "A-1.b_2", "0" * 64, "3f2a9c1e-7d5b-4a1e-9b0f-1c2d3e4f5a6b"]
)
def test_sane_request_ids_are_kept(value):
    assert logs.valid_request_id(value) == value
    assert logs.request_id_from(value) == value


@pytest.mark.parametrize(
    "value", [None, "", "0" * 65, "mit leerzeichen", "a\nb", 'x"y', "ä", "a/b", "a;b", "<x>"]
)
def test_other_request_ids_are_replaced(value):
    assert logs.valid_request_id(value) is None
    fresh = logs.request_id_from(value)
    assert fresh != value and logs.valid_request_id(fresh) == fresh and len(fresh) == 32


def test_outgoing_headers_carry_the_current_id():
    assert logs.outgoing_headers() == {}
    with logs.bound_request_id("turn-1"):
        assert logs.current_request_id() == "turn-1"
        assert logs.outgoing_headers() == {"X-Request-ID": "turn-1"}
    assert logs.current_request_id() is None


async def test_each_task_has_its_own_id_and_threads_inherit_it():
    async def turn(name):
        with logs.bound_request_id(name):
            await asyncio.sleep(0.01)
            in_thread = await asyncio.to_thread(logs.current_request_id)
            return logs.current_request_id(), in_thread

    assert await asyncio.gather(turn("a"), turn("b")) == [("a", "a"), ("b", "b")]


def test_a_json_line_has_the_fields_and_the_request_id():
    logger, stream = capture("calculator")
    logger.info("ohne Anfrage")
    with logs.bound_request_id("r-42"):
        logger.warning("Abschlag für %s berechnet", "Gas")
    first, second = lines(stream)
    assert set(first) == {"time", "level", "logger", "message", "service"}
    assert first["service"] == "calculator" and first["logger"] == "tests.capture.calculator"
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["level"] == "WARNING"
    assert second["message"] == "Abschlag für Gas berechnet"  # umlauts as they are
    assert second["request_id"] == "r-42"


def test_personal_data_is_masked_in_messages_and_tracebacks():
    logger, stream = capture()
    logger.info("Kunde schreibt: IBAN DE89 3704 0044 0532 0130 00, Mail %s", "max@example.org")
    try:
        raise ValueError("Rückruf an 0171 1234567")
    except ValueError:
        logger.exception("Fehler für %s", "max@example.org")
    first, second = lines(stream)
    assert "DE89" not in first["message"] and "[IBAN]" in first["message"]
    assert "max@example.org" not in first["message"] and "[E-Mail]" in first["message"]
    assert second["message"] == "Fehler für [E-Mail]"
    assert "Traceback" in second["exception"] and "ValueError" in second["exception"]
    assert "1234567" not in second["exception"] and "[Telefon]" in second["exception"]


def test_a_multiline_message_stays_one_line():
    logger, stream = capture()
    logger.info("eins\nzwei")
    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["message"] == "eins\nzwei"


def test_the_text_format_is_the_old_one():
    logger, stream = capture(log_format="text")
    logger.info("Hallo %s", "0171 1234567")
    assert stream.getvalue().rstrip().endswith("INFO tests.capture.web: Hallo [Telefon]")


def test_configure_logging_json_takes_over_every_handler(restore_logging):
    stream = io.StringIO()
    own = logging.getLogger("tests.own_handler")
    own.addHandler(logging.StreamHandler(io.StringIO()))  # like uvicorn's or Sanic's
    own.propagate = False
    handler = logs.configure_logging("rasa", log_format="json", stream=stream)
    assert logging.getLogger().handlers == [handler]
    assert own.handlers == [] and own.propagate
    own.warning("über den Root-Handler")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("veraltet", DeprecationWarning, stacklevel=1)
    records = lines(stream)
    assert records[0]["message"] == "über den Root-Handler" and records[0]["service"] == "rasa"
    assert records[1]["logger"] == "py.warnings" and "veraltet" in records[1]["message"]
    # Idempotent: a second call leaves one handler.
    logs.configure_logging("rasa", log_format="json", stream=stream)
    assert len(logging.getLogger().handlers) == 1


def test_configure_logging_text_leaves_other_loggers_alone(restore_logging):
    own = logging.getLogger("tests.own_handler")
    mine = logging.StreamHandler(io.StringIO())
    own.addHandler(mine)
    logs.configure_logging("web", log_format="text", stream=io.StringIO())
    assert mine in own.handlers


def test_an_unknown_format_is_refused(restore_logging):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.configure_logging("web", log_format="xml")


def test_uvicorn_leaves_logging_to_us_in_both_modes():
    # In text mode too: uvicorn's own handler would write addresses and ids unmasked.
    assert logs.uvicorn_log_options("json") == {"log_config": None}
    assert logs.uvicorn_log_options("text") == {"log_config": None}
