"""The one HTTP client of the tariff calculator (``shared/contracts.md`` section 2).

The action server calls the calculator only through :class:`TariffClient`. Results are frozen
dataclasses with :class:`~decimal.Decimal` money (parsed from the JSON text, never through
``float``), not raw dicts. Every request has a timeout; connection errors, timeouts and ``5xx``
answers are retried a few times with exponential backoff, ``4xx`` answers never (the same
request would be rejected again).

Errors (all raised by the client, distinct from the engine's :mod:`bot.tariff.errors`)::

    TariffServiceError               base: catch this to answer "calculator not available"
     ├── TariffUnavailable           down, refused, timed out, 5xx (after the retries), 429,
     │                               or an unusable ``TARIFF_URL`` (no scheme, bad host)
     ├── TariffRejected              400/422: the service named the invalid field and why
     │                               (attributes ``field`` and ``reason``; see the class)
     └── TariffProtocolError         an answer the client cannot read: not JSON, fields missing
                                     or of the wrong type, or an unexpected status (e.g. 404
                                     for a wrong ``TARIFF_URL``)

The client is blocking (``requests``); async code calls it in a worker thread. A
``requests.Session`` is not guaranteed thread-safe, so use one client per thread.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import Any

import requests

from bot.observability.logs import outgoing_headers
from bot.settings import get_settings

logger = logging.getLogger(__name__)

# A chat turn must stay fast and the service answers in milliseconds on loopback, so a short
# timeout only cuts off a service that is down or hung. Connecting is local: 1 s is generous.
CONNECT_TIMEOUT_S = 1.0
# Reading the answer: the slowest calculation takes a few ms; 3 s leaves room for a loaded
# machine without letting the customer wait much longer.
READ_TIMEOUT_S = 3.0
DEFAULT_TIMEOUT = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
# Attempts per call (1 + 2 retries): enough to ride out a service restart or a dropped
# connection, few enough that a dead service is reported quickly.
RETRY_ATTEMPTS = 3
# Backoff before the 2nd and 3rd attempt: 0.1 s, then 0.2 s (doubling).
RETRY_BACKOFF_S = 0.1
# No retry starts once this much time has passed since the first attempt: a retry after a
# read timeout would double the customer's wait. Refused connections (the common failure)
# fail instantly, so all attempts fit; a hung service costs one timeout, not three.
RETRY_BUDGET_S = 4.0
# Failures a second attempt may not meet: refused or dropped connections, timeouts (Timeout
# covers ConnectTimeout and ReadTimeout), a body cut off mid-way.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# Statuses worth retrying: the service's own 503 ("unexpected error") and proxies' 502/504.
_RETRY_STATUS_MIN = 500


class TariffServiceError(Exception):
    """Base class of every error of :class:`TariffClient`."""


class TariffUnavailable(TariffServiceError):
    """The calculator cannot be reached, timed out or failed (``5xx``) on every attempt."""


class TariffRejected(TariffServiceError):
    """The calculator rejected the request (``400``/``422``).

    Attributes:
        field: the request field at fault (``detail[0].loc[-1]``); ``None`` when the service
            named no field (e.g. a body that is not JSON).
        reason: the service's reason (``detail[0].msg``): a German sentence for the rules'
            limits (household limits, no December aid for electricity), pydantic's English
            message for type and range errors.
        status_code: the HTTP status (400 or 422).
    """

    def __init__(self, field: str | None, reason: str, status_code: int = 422) -> None:
        self.field = field
        self.reason = reason
        self.status_code = status_code
        super().__init__(f"{field}: {reason}" if field else reason)


class TariffProtocolError(TariffServiceError):
    """The calculator answered something the client cannot read (body or status)."""


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentQuote:
    """Answer of ``POST /v1/instalment``; money in EUR, rounded half up to the cent.

    Attributes:
        energy: strom, gas or waerme.
        month: the month calculated, ``YYYY-MM``.
        brake_applies: whether a price brake applies in ``month``.
        working_price_gross_ct: the gross working price used, ct/kWh.
        vat_rate_percent: the VAT rate added to a net price, %; ``None`` for gross prices.
        reference_price_ct: 40, 12 or 9.5 ct/kWh; ``None`` when no brake applies.
        contingent_kwh_year: the relieved annual quantity (80 % of the contingent forecast).
        annual_relief_eur: max(working price - reference, 0) x contingent / 100.
        monthly_relief_eur: annual relief / 12.
        instalment_without_relief_eur: (forecast x working price / 100 + base) / instalments.
        instalment_with_relief_eur: max(0, without - annual relief / instalments).
        march_2023_instalment_eur: the March 2023 instalment (it also credits January and
            February); ``None`` when ``month`` is not in 2023.
        difference_to_current_eur: current instalment - instalment with relief; ``None``
            when no current instalment was sent.
        instalments_per_year: 12 or 11.
        steps: German sentences explaining the calculation with the customer's figures.
    """

    energy: str
    month: str
    brake_applies: bool
    working_price_gross_ct: Decimal
    vat_rate_percent: Decimal | None
    reference_price_ct: Decimal | None
    contingent_kwh_year: Decimal
    annual_relief_eur: Decimal
    monthly_relief_eur: Decimal
    instalment_without_relief_eur: Decimal
    instalment_with_relief_eur: Decimal
    march_2023_instalment_eur: Decimal | None
    difference_to_current_eur: Decimal | None
    instalments_per_year: int
    steps: tuple[str, ...]


@dataclass(frozen=True)
class DecemberQuote:
    """Answer of ``POST /v1/december-relief``; money in EUR, rounded half up to the cent.

    Attributes:
        energy: gas or waerme.
        relief_eur: gas: forecast / 12 x price / 100 + base / 12; heat: 1.2 x the September
            instalment.
        settlement_eur: relief - December instalment (positive: credited in the annual bill,
            negative: charged); ``None`` when no December instalment was sent.
        steps: German sentences explaining the calculation.
    """

    energy: str
    relief_eur: Decimal
    settlement_eur: Decimal | None
    steps: tuple[str, ...]


@dataclass(frozen=True)
class PriceInfo:
    """A dated gross price of a tariff.

    Attributes:
        valid_from: first day.
        valid_to: last day; ``None`` while current.
        working_price_ct: gross working price, ct/kWh.
        base_price_eur_year: gross standing charge, EUR per year.
    """

    valid_from: date
    valid_to: date | None
    working_price_ct: Decimal
    base_price_eur_year: Decimal


@dataclass(frozen=True)
class TariffInfo:
    """A product of the utility's catalogue (``GET /v1/tariffs``).

    Attributes:
        name: the product name customers know.
        energy: strom, gas or waerme.
        description: one German sentence about the product.
        prices: dated gross prices, oldest first (as the service lists them).
    """

    name: str
    energy: str
    description: str
    prices: tuple[PriceInfo, ...]


@dataclass(frozen=True)
class TariffCatalogue:
    """The whole answer of ``GET /v1/tariffs``.

    Attributes:
        utility: the utility's name.
        demo: ``True`` when the prices are fictional demo prices (say so to customers).
        tariffs: the tariffs selected.
    """

    utility: str
    demo: bool
    tariffs: tuple[TariffInfo, ...]


# --- JSON helpers -------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    """``json.loads`` hook: NaN and Infinity are not JSON and never money."""
    raise ValueError(f"not a JSON number: {name}")


def _loads(content: bytes) -> Any:
    """Parse a JSON body; fractions become ``Decimal`` straight from the text (no float)."""
    return json.loads(content, parse_float=Decimal, parse_constant=_reject_constant)


def _encode(value: object) -> Any:
    """``json.dumps`` hook for the request values ``json`` cannot write itself.

    Decimals become numbers: integral ones exactly, others through ``float``, whose shortest
    representation is the same text for any figure of up to 15 significant digits.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot send {type(value).__name__} to the tariff service")


class _Body:
    """Typed access to a JSON object; a missing or mistyped field is a protocol error."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, dict):
            raise TariffProtocolError(f"{what}: expected a JSON object")
        self._data: dict[str, Any] = data
        self._what = what

    def _get(self, name: str) -> object:
        if name not in self._data:
            raise TariffProtocolError(f"{self._what}: field {name!r} is missing")
        return self._data[name]

    def _wrong(self, name: str, expected: str) -> TariffProtocolError:
        return TariffProtocolError(f"{self._what}: field {name!r} is not {expected}")

    def decimal(self, name: str) -> Decimal:
        value = self._get(name)
        # bool is an int subclass: true is not a price.
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise self._wrong(name, "a number")
        return Decimal(value)

    def optional_decimal(self, name: str) -> Decimal | None:
        return None if self._get(name) is None else self.decimal(name)

    def integer(self, name: str) -> int:
        value = self._get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(name, "an integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise self._wrong(name, "true or false")
        return value

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise self._wrong(name, "a string")
        return value

    def day(self, name: str) -> date:
        try:
            return date.fromisoformat(self.text(name))
        except ValueError:
            raise self._wrong(name, "a date YYYY-MM-DD") from None

    def optional_day(self, name: str) -> date | None:
        return None if self._get(name) is None else self.day(name)

    def texts(self, name: str) -> tuple[str, ...]:
        value = self._get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._wrong(name, "a list of strings")
        return tuple(value)

    def objects(self, name: str) -> list[_Body]:
        value = self._get(name)
        if not isinstance(value, list):
            raise self._wrong(name, "a list")
        return [_Body(item, f"{self._what}.{name}[{i}]") for i, item in enumerate(value)]


def _instalment_quote(body: _Body) -> InstalmentQuote:
    return InstalmentQuote(
        energy=body.text("energy"),
        month=body.text("month"),
        brake_applies=body.boolean("brake_applies"),
        working_price_gross_ct=body.decimal("working_price_gross_ct"),
        vat_rate_percent=body.optional_decimal("vat_rate_percent"),
        reference_price_ct=body.optional_decimal("reference_price_ct"),
        contingent_kwh_year=body.decimal("contingent_kwh_year"),
        annual_relief_eur=body.decimal("annual_relief_eur"),
        monthly_relief_eur=body.decimal("monthly_relief_eur"),
        instalment_without_relief_eur=body.decimal("instalment_without_relief_eur"),
        instalment_with_relief_eur=body.decimal("instalment_with_relief_eur"),
        march_2023_instalment_eur=body.optional_decimal("march_2023_instalment_eur"),
        difference_to_current_eur=body.optional_decimal("difference_to_current_eur"),
        instalments_per_year=body.integer("instalments_per_year"),
        steps=body.texts("steps"),
    )


def _december_quote(body: _Body) -> DecemberQuote:
    return DecemberQuote(
        energy=body.text("energy"),
        relief_eur=body.decimal("relief_eur"),
        settlement_eur=body.optional_decimal("settlement_eur"),
        steps=body.texts("steps"),
    )


def _tariff_info(body: _Body) -> TariffInfo:
    return TariffInfo(
        name=body.text("name"),
        energy=body.text("energy"),
        description=body.text("description"),
        prices=tuple(
            PriceInfo(
                valid_from=p.day("valid_from"),
                valid_to=p.optional_day("valid_to"),
                working_price_ct=p.decimal("working_price_ct"),
                base_price_eur_year=p.decimal("base_price_eur_year"),
            )
            for p in body.objects("prices")
        ),
    )


def _catalogue(body: _Body) -> TariffCatalogue:
    return TariffCatalogue(
        utility=body.text("utility"),
        demo=body.boolean("demo"),
        tariffs=tuple(_tariff_info(t) for t in body.objects("tariffs")),
    )


def _rejection(response: requests.Response) -> TariffRejected:
    """The :class:`TariffRejected` of a ``400``/``422`` answer.

    Raises:
        TariffProtocolError: the body is not ``{"detail": [{"loc": [...], "msg": "..."}]}``.
    """
    try:
        detail = _loads(response.content)["detail"]
        first = detail[0]
        loc, msg = first["loc"], first["msg"]
    except (ValueError, TypeError, KeyError, IndexError):
        raise TariffProtocolError(
            f"HTTP {response.status_code} without a readable reason: {response.text[:200]!r}"
        ) from None
    if not isinstance(msg, str) or not isinstance(loc, list):
        raise TariffProtocolError(f"HTTP {response.status_code}: unexpected detail {first!r}")
    # ["body", "forecast_kwh"] names a field; ["body"] alone (a body that is not JSON) does not.
    last = loc[-1] if len(loc) > 1 else None
    field = last if isinstance(last, str) else None
    return TariffRejected(field, msg, response.status_code)


# --- the client ---------------------------------------------------------------------------------


class TariffClient:
    """Client of the tariff calculator's HTTP API.

    Example::

        with TariffClient() as client:
            quote = client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
            quote.instalment_with_relief_eur  # Decimal('105.00')
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        attempts: int = RETRY_ATTEMPTS,
        backoff_s: float = RETRY_BACKOFF_S,
        retry_budget_s: float = RETRY_BUDGET_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create a client; no connection is made until the first call.

        Args:
            base_url: the service's URL; default ``TARIFF_URL`` (``get_settings().tariff_url``).
            session: a session to use (the caller keeps ownership: :meth:`close` leaves it
                open); default: a new one, closed by :meth:`close`.
            timeout: (connect, read) timeout in seconds, passed on every request.
            attempts: attempts per call (at least 1); retries only on connection errors,
                timeouts and ``5xx``.
            backoff_s: wait before the first retry; doubled before each further one.
            retry_budget_s: no retry starts after this many seconds since the first attempt.
            sleep: the wait function (tests pass a recorder instead of sleeping).
        """
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        url = base_url if base_url is not None else get_settings().tariff_url
        self.base_url = url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.retry_budget_s = retry_budget_s
        self._sleep = sleep
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    # --- lifecycle

    def close(self) -> None:
        """Close the connections of a session this client created."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> TariffClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the API

    def health(self) -> bool:
        """Whether the service is up (``GET /health`` answers ``{"status": "ok"}``).

        One attempt, no retries: a health probe should report the state now, quickly.

        Returns:
            ``True`` when healthy; ``False`` when down, failing or answering anything else.
        """
        try:
            body = self._request("GET", "/health", attempts=1)
        except TariffServiceError:
            return False
        return isinstance(body, dict) and body.get("status") == "ok"

    def instalment(self, **fields: object) -> InstalmentQuote:
        """The monthly instalment with and without the price brake (``POST /v1/instalment``).

        Args:
            **fields: the request fields of the contract (``energy``, ``forecast_kwh``,
                ``working_price_ct``, optional ``contingent_forecast_kwh``,
                ``base_price_eur_year``, ``price_basis``, ``instalments_per_year``, ``month``,
                ``current_instalment_eur``). Numbers may be int, float or Decimal; fields whose
                value is ``None`` are left out (the service's default applies).

        Returns:
            The quote, money as Decimal.

        Raises:
            TariffRejected: a field is invalid or outside the rules (e.g. above the household
                limit); ``field`` names it.
            TariffUnavailable: the service is down, too slow or failing.
            TariffProtocolError: the answer cannot be read.
            ValueError: a number is NaN or infinite.
            TypeError: a value cannot be written as JSON.
        """
        body = self._request("POST", "/v1/instalment", json_body=fields)
        return _instalment_quote(_Body(body, "instalment"))

    def december_relief(self, **fields: object) -> DecemberQuote:
        """The December 2022 emergency aid for gas and heat (``POST /v1/december-relief``).

        Args:
            **fields: the request fields of the contract (``energy``; gas:
                ``forecast_kwh_sept_2022``, ``working_price_ct_dec_2022``,
                ``base_price_eur_year``; heat: ``september_instalment_eur``; optional
                ``december_instalment_eur``). ``None`` values are left out.

        Returns:
            The relief, money as Decimal.

        Raises:
            TariffRejected: a field is invalid, missing for the energy, or the energy is
                ``strom`` (there was no December aid for electricity).
            TariffUnavailable: the service is down, too slow or failing.
            TariffProtocolError: the answer cannot be read.
            ValueError: a number is NaN or infinite.
            TypeError: a value cannot be written as JSON.
        """
        body = self._request("POST", "/v1/december-relief", json_body=fields)
        return _december_quote(_Body(body, "december-relief"))

    def catalogue(
        self, energy: str | None = None, *, name: str | None = None, on: date | None = None
    ) -> TariffCatalogue:
        """The utility's tariff catalogue (``GET /v1/tariffs``).

        Args:
            energy: only tariffs of this energy (strom, gas, waerme).
            name: only the tariff of this name (case and umlauts do not matter).
            on: only prices valid on this day; tariffs without one are left out.

        Returns:
            The catalogue with the utility's name and the demo flag.

        Raises:
            TariffRejected: a parameter is invalid (e.g. an unknown energy).
            TariffUnavailable: the service is down, too slow or failing.
            TariffProtocolError: the answer cannot be read.
        """
        params = {
            "energy": energy,
            "name": name,
            "on": on.isoformat() if on is not None else None,
        }
        body = self._request("GET", "/v1/tariffs", params=params)
        return _catalogue(_Body(body, "tariffs"))

    def tariffs(self, energy: str | None = None) -> list[TariffInfo]:
        """The tariffs of the catalogue, optionally of one energy.

        Args:
            energy: only tariffs of this energy (strom, gas, waerme).

        Returns:
            The tariffs with their dated gross prices.

        Raises:
            TariffRejected: the energy is unknown.
            TariffUnavailable: the service is down, too slow or failing.
            TariffProtocolError: the answer cannot be read.
        """
        return list(self.catalogue(energy).tariffs)

    # --- transport

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Mapping[str, object] | None = None,
        params: Mapping[str, str | None] | None = None,
        attempts: int | None = None,
    ) -> Any:
        """Send one request (with retries) and return its parsed JSON body.

        Raises:
            TariffUnavailable, TariffRejected, TariffProtocolError: see the module docstring.
        """
        data: str | None = None
        # The id of the customer turn being handled, so the calculator logs it too.
        headers: dict[str, str] = {"Accept": "application/json", **outgoing_headers()}
        if json_body is not None:
            # None means "not given": the service applies its default (and rejects an explicit
            # null for required fields).
            present = {k: v for k, v in json_body.items() if v is not None}
            data = json.dumps(present, default=_encode, allow_nan=False)
            headers["Content-Type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.base_url + path
        response = self._send_with_retries(
            method,
            url,
            attempts=attempts or self.attempts,
            data=data,
            params=query or None,
            headers=headers,
        )
        status = response.status_code
        if status in (400, 422):
            raise _rejection(response)
        if status == 429:
            raise TariffUnavailable(f"{method} {path}: the service is busy (HTTP 429)")
        if status != 200:
            raise TariffProtocolError(f"{method} {url}: unexpected HTTP {status}")
        try:
            return _loads(response.content)
        except ValueError as exc:
            raise TariffProtocolError(f"{method} {path}: the answer is not JSON: {exc}") from exc

    def _send_with_retries(
        self, method: str, url: str, *, attempts: int, **kwargs: Any
    ) -> requests.Response:
        """Send until an answer below 500 arrives, the attempts run out or the budget is spent.

        Raises:
            TariffUnavailable: no attempt got an answer below 500.
        """
        started = time.monotonic()
        problem = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except _TRANSIENT as exc:
                problem = f"{type(exc).__name__}: {exc}"
                cause: BaseException | None = exc
            except requests.RequestException as exc:
                # An invalid URL or similar: the same request would fail again.
                raise TariffUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code < _RETRY_STATUS_MIN:
                    return response
                problem = f"HTTP {response.status_code}"
                cause = None
            wait = self.backoff_s * 2 ** (attempt - 1)
            elapsed = time.monotonic() - started
            if attempt == attempts or elapsed + wait > self.retry_budget_s:
                raise TariffUnavailable(
                    f"{method} {url}: {problem} (attempt {attempt} of {attempts})"
                ) from cause
            logger.warning(
                "tariff service %s %s: %s; retrying in %.1f s", method, url, problem, wait
            )
            self._sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
