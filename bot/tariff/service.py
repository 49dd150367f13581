"""The tariff calculator's HTTP API (``shared/contracts.md`` section 2), a FastAPI app factory.

``create_app()`` builds the app; nothing happens at import time. Without arguments it reads the
rules from ``knowledge/facts`` and the catalogue from ``knowledge/tariffs.yml`` (both under
``KNOWLEDGE_DIR``) and fails at start-up if either is invalid, never at request time.

Answers: ``200`` with the result; ``422`` with ``{"detail": [{"loc", "msg", "type"}]}`` for any
invalid input – wrong type, out of range, malformed JSON, an unknown field, and the domain
errors of the engine (household limits, electricity in the December aid); ``404`` for unknown
paths. An unexpected error is logged and answered with ``503`` and a reason, never ``500``.

Operations, outside the contract's OpenAPI: ``GET /metrics`` (Prometheus: requests by route and
status, durations), and every answer carries the request's ``X-Request-ID`` (the action server
sends the customer turn's), which is in every log line of the request.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.knowledge.errors import Problem
from bot.knowledge.loader import load_facts
from bot.observability.asgi import instrument
from bot.observability.metrics import CalculatorMetrics
from bot.settings import get_settings
from bot.tariff.catalogue import Catalogue, Tariff, load_catalogue, tariff_key
from bot.tariff.engine import (
    DecemberReliefRequest,
    DecemberReliefResult,
    InstalmentRequest,
    InstalmentResult,
    PriceBasis,
    december_relief,
    instalment,
    parse_month,
)
from bot.tariff.errors import InputError, RulesError
from bot.tariff.rules import Energy, ReliefRules

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"
# Contract defaults (shared/contracts.md section 2).
DEFAULT_MONTH = "2023-06"
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Upper bounds that keep every calculation small and exact (see bot.tariff.engine). They are far
# above any household (the household limits of 30,000 kWh / 1.5 GWh answer with 422 anyway) and
# only stop absurd or malicious values.
MAX_KWH = Decimal(1_000_000_000)
MAX_PRICE_CT = Decimal(1000)
MAX_EUR = Decimal(1_000_000)

def _json_number(value: Any) -> Any:
    """Accept JSON numbers only: pydantic's lax mode would also turn ``"48"`` into one."""
    if value is None or (isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError("type_error.number", "must be a JSON number")


def _number_out(value: Decimal) -> int | float:
    """A result as a JSON number, as the contract shows it (pydantic 2 would write a string)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _number_schema(**bounds: Decimal) -> WithJsonSchema:
    """``type: number`` with ``bounds`` (``gt``/``ge``/``le``) as the JSON schema of an input.

    pydantic 2 would also document (and accept) a numeric string, which the contract does not.
    """
    schema: dict[str, Any] = {"type": "number"}
    keywords = {"gt": "exclusiveMinimum", "ge": "minimum", "le": "maximum"}
    for name, bound in bounds.items():
        schema[keywords[name]] = int(bound)
    return WithJsonSchema(schema)


# Decimal inputs: JSON numbers within bounds that keep every calculation small and exact.
Kwh = Annotated[
    Decimal, BeforeValidator(_json_number), Field(gt=0, le=MAX_KWH),
    _number_schema(gt=Decimal(0), le=MAX_KWH),
]
PriceCt = Annotated[
    Decimal, BeforeValidator(_json_number), Field(gt=0, le=MAX_PRICE_CT),
    _number_schema(gt=Decimal(0), le=MAX_PRICE_CT),
]
Eur = Annotated[
    Decimal, BeforeValidator(_json_number), Field(ge=0, le=MAX_EUR),
    _number_schema(ge=Decimal(0), le=MAX_EUR),
]
PositiveEur = Annotated[
    Decimal, BeforeValidator(_json_number), Field(gt=0, le=MAX_EUR),
    _number_schema(gt=Decimal(0), le=MAX_EUR),
]
# A result in the answers: a decimal, written as a JSON number.
Number = Annotated[
    Decimal, PlainSerializer(_number_out, return_type=float), WithJsonSchema({"type": "number"})
]


def _iso_date(value: Any) -> date:
    """The day ``value`` names, only if it is a real ``YYYY-MM-DD`` day.

    pydantic's ``date`` also takes a number as a Unix timestamp, so ``?on=20230601`` or
    ``?on=0.5`` silently meant a day in 1970; the contract wants ``422`` for invalid input.
    """
    if isinstance(value, date):
        return value
    if isinstance(value, str) and DATE_PATTERN.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("value_error.date", "invalid date format, expected YYYY-MM-DD")


# A day written ``YYYY-MM-DD`` (OpenAPI ``format: date``), and nothing else.
IsoDate = Annotated[
    date, PlainValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})
]


class _Model(BaseModel):
    """Base of the API's bodies."""


# --- request and response bodies ----------------------------------------------------------------


class InstalmentIn(_Model):
    """Body of ``POST /v1/instalment``."""

    # Unknown fields are errors: a misspelt optional field must not be silently ignored.
    model_config = ConfigDict(
        extra="forbid",
        # Worked example S1 with a current instalment.
        json_schema_extra={
            "example": {
                "energy": "strom",
                "forecast_kwh": 4500,
                "working_price_ct": 50,
                "base_price_eur_year": 84,
                "month": "2023-06",
                "current_instalment_eur": 120,
            }
        },
    )

    energy: Energy = Field(..., description="strom, gas or waerme")
    forecast_kwh: Kwh = Field(
        ..., description="annual consumption forecast used for the instalment, kWh"
    )
    contingent_forecast_kwh: Kwh | None = Field(
        None,
        description="forecast the relief contingent is based on (gas/heat: the supplier's "
        "September 2022 forecast), kWh; default forecast_kwh",
    )
    working_price_ct: PriceCt = Field(
        ..., description="working price, ct/kWh (gross unless price_basis is net)"
    )
    base_price_eur_year: Eur = Field(
        Decimal(0), description="standing charge, EUR per year"
    )
    price_basis: PriceBasis = Field(
        PriceBasis.GROSS,
        description="net: the service adds the VAT rate in force in month (gas and heat 7 % "
        "from 2022-10 to 2024-03, else 19 %)",
    )
    instalments_per_year: Literal[12, 11] = Field(12, description="12 or 11")
    month: str = Field(
        DEFAULT_MONTH, pattern=MONTH_PATTERN, description="the month the instalment is for, YYYY-MM"
    )
    current_instalment_eur: Eur | None = Field(
        None, description="the customer's present instalment, for a comparison, EUR"
    )

    @field_validator("month")
    @classmethod
    def _valid_month(cls, value: str) -> str:
        parse_month(value)
        return value


class InstalmentOut(_Model):
    """Answer of ``POST /v1/instalment`` (money in EUR, rounded half up to the cent)."""

    energy: Energy
    month: str = Field(..., description="YYYY-MM")
    brake_applies: bool = Field(..., description="whether a price brake applies in month")
    working_price_gross_ct: Number = Field(..., description="gross working price used, ct/kWh")
    vat_rate_percent: Number | None = Field(
        None, description="VAT rate added to a net price, %; null for gross prices"
    )
    reference_price_ct: Number | None = Field(
        ..., description="40, 12 or 9.5 ct/kWh; null when no brake applies in month"
    )
    contingent_kwh_year: Number = Field(
        ..., description="80 % of the contingent forecast, kWh; 0 when no brake applies"
    )
    annual_relief_eur: Number = Field(
        ..., description="max(working price - reference, 0) x contingent / 100"
    )
    monthly_relief_eur: Number = Field(..., description="annual relief / 12")
    instalment_without_relief_eur: Number = Field(
        ..., description="(forecast x working price / 100 + base price) / instalments"
    )
    instalment_with_relief_eur: Number = Field(
        ..., description="max(0, without - annual relief / instalments)"
    )
    march_2023_instalment_eur: Number | None = Field(
        ...,
        description="the March 2023 instalment, which also credits January and February "
        "(2 x monthly relief), never below 0; null when month is not in 2023",
    )
    difference_to_current_eur: Number | None = Field(
        ...,
        description="current instalment - instalment with relief (positive: the present "
        "instalment is higher than needed); null without current_instalment_eur",
    )
    instalments_per_year: int
    steps: list[str] = Field(..., description="German sentences explaining the calculation")


class DecemberReliefIn(_Model):
    """Body of ``POST /v1/december-relief``."""

    # Unknown fields are errors: a misspelt optional field must not be silently ignored.
    model_config = ConfigDict(
        extra="forbid",
        # Worked example D3.
        json_schema_extra={
            "example": {
                "energy": "gas",
                "forecast_kwh_sept_2022": 21600,
                "working_price_ct_dec_2022": 10,
                "base_price_eur_year": 120,
                "december_instalment_eur": 180,
            }
        },
    )

    energy: Energy = Field(
        ..., description="gas or waerme; strom gets 422: there was no December aid for it"
    )
    forecast_kwh_sept_2022: Kwh | None = Field(
        None, description="gas: the supplier's September-2022 annual forecast, kWh"
    )
    working_price_ct_dec_2022: PriceCt | None = Field(
        None, description="gas: gross working price on 1 December 2022, ct/kWh"
    )
    base_price_eur_year: Eur = Field(
        Decimal(0), description="gas: annual gross standing charge in December 2022, EUR"
    )
    september_instalment_eur: PositiveEur | None = Field(
        None, description="heat: the September-2022 instalment, EUR"
    )
    december_instalment_eur: Eur | None = Field(
        None, description="the December 2022 instalment that was not debited, EUR"
    )


class DecemberReliefOut(_Model):
    """Answer of ``POST /v1/december-relief`` (money in EUR, rounded half up to the cent)."""

    energy: Energy
    relief_eur: Number = Field(
        ...,
        description="gas: forecast / 12 x price / 100 + base / 12; heat: 1.2 x September "
        "instalment",
    )
    settlement_eur: Number | None = Field(
        ...,
        description="relief - December instalment: credited (positive) or charged (negative) "
        "in the annual bill; null without december_instalment_eur",
    )
    steps: list[str] = Field(..., description="German sentences explaining the calculation")


class PricePeriodOut(_Model):
    """A dated gross price of a tariff."""

    valid_from: date
    valid_to: date | None = Field(..., description="last day; null while current")
    working_price_ct: Number = Field(..., description="gross working price, ct/kWh")
    base_price_eur_year: Number = Field(..., description="gross standing charge, EUR/year")


class TariffOut(_Model):
    """A product of the catalogue."""

    name: str
    energy: Energy
    description: str
    prices: list[PricePeriodOut]


class TariffsOut(_Model):
    """Answer of ``GET /v1/tariffs``."""

    utility: str
    demo: bool = Field(..., description="true: fictional demo prices")
    tariffs: list[TariffOut]


class HealthOut(_Model):
    """Answer of ``GET /health``."""

    status: str


# Query parameters of GET /v1/tariffs (module-level: FastAPI reads them as defaults).
_ENERGY_QUERY = Query(None, description="only tariffs of this energy")
_NAME_QUERY = Query(
    None,
    max_length=200,
    description="only the tariff of this name (case and umlauts do not matter)",
)
_ON_QUERY = Query(
    None,
    description="only prices valid on this day (YYYY-MM-DD); tariffs without a price that day "
    "are left out",
)


# --- conversions --------------------------------------------------------------------------------


def _instalment_out(result: InstalmentResult) -> InstalmentOut:
    return InstalmentOut(
        energy=result.energy,
        month=f"{result.month:%Y-%m}",
        brake_applies=result.brake_applies,
        working_price_gross_ct=result.working_price_gross_ct,
        vat_rate_percent=result.vat_rate_percent,
        reference_price_ct=result.reference_price_ct,
        contingent_kwh_year=result.contingent_kwh_year,
        annual_relief_eur=result.annual_relief_eur,
        monthly_relief_eur=result.monthly_relief_eur,
        instalment_without_relief_eur=result.instalment_without_relief_eur,
        instalment_with_relief_eur=result.instalment_with_relief_eur,
        march_2023_instalment_eur=result.march_2023_instalment_eur,
        difference_to_current_eur=result.difference_to_current_eur,
        instalments_per_year=result.instalments_per_year,
        steps=list(result.steps),
    )


def _december_out(result: DecemberReliefResult) -> DecemberReliefOut:
    return DecemberReliefOut(
        energy=result.energy,
        relief_eur=result.relief_eur,
        settlement_eur=result.settlement_eur,
        steps=list(result.steps),
    )


def _tariff_out(tariff: Tariff, on: date | None) -> TariffOut:
    periods = [p for p in tariff.prices if on is None or p.covers(on)]
    return TariffOut(
        name=tariff.name,
        energy=tariff.energy,
        description=tariff.description,
        prices=[
            PricePeriodOut(
                valid_from=p.valid_from,
                valid_to=p.valid_to,
                working_price_ct=p.working_price_ct,
                base_price_eur_year=p.base_price_eur_year,
            )
            for p in periods
        ],
    )


def _unprocessable(loc: list[str | int], msg: str, kind: str) -> JSONResponse:
    return JSONResponse(
        status_code=422, content={"detail": [{"loc": loc, "msg": msg, "type": kind}]}
    )


class _AnswerUnexpectedWith503:
    """ASGI middleware: an exception no handler took is logged and answered with ``503``.

    Such an exception is a bug, not an input problem. The contract forbids ``500``; ``503``
    with a reason tells clients to retry later or hand over to a person. (A FastAPI handler for
    ``Exception`` would also answer, but Starlette re-raises the exception after it.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def _send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, _send)
        except Exception:
            logger.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = JSONResponse(
                status_code=503,
                content={"detail": "Der Tarifrechner ist gerade nicht verfügbar."},
            )
            await response(scope, receive, send)


# --- the app ------------------------------------------------------------------------------------


def load_default_rules() -> ReliefRules:
    """The rules from ``KNOWLEDGE_DIR/facts``.

    Only the facts are loaded: a broken FAQ topic must not stop the calculator.

    Raises:
        RulesError: a fact is invalid or missing.
    """
    problems: list[Problem] = []
    facts_dir = get_settings().knowledge_dir / "facts"
    facts = load_facts(facts_dir.glob("*.yml"), problems)
    if problems:
        raise RulesError("invalid facts:\n" + "\n".join(f"  - {p}" for p in problems))
    return ReliefRules.from_facts(facts)


def load_default_catalogue() -> Catalogue:
    """The catalogue ``KNOWLEDGE_DIR/tariffs.yml``.

    Raises:
        CatalogueError: the file is missing or invalid.
    """
    return load_catalogue(get_settings().knowledge_dir / "tariffs.yml")


def create_app(rules: ReliefRules | None = None, catalogue: Catalogue | None = None) -> FastAPI:
    """Build the tariff calculator app.

    Args:
        rules: the relief rules; default: built from ``KNOWLEDGE_DIR/facts``.
        catalogue: the tariff catalogue; default: ``KNOWLEDGE_DIR/tariffs.yml``.

    Returns:
        The FastAPI app (OpenAPI at ``/openapi.json``, docs at ``/docs``).

    Raises:
        RulesError: the default rules cannot be built.
        CatalogueError: the default catalogue is invalid.
    """
    rules = rules if rules is not None else load_default_rules()
    catalogue = catalogue if catalogue is not None else load_default_catalogue()
    app = FastAPI(
        title="Tarifrechner Stadtwerke",
        version=API_VERSION,
        description=(
            "Abschlag mit und ohne Preisbremse, Dezember-Soforthilfe 2022 und Tarifkatalog "
            "(shared/contracts.md section 2). Money in EUR rounded half up to the cent; prices "
            "in ct/kWh gross unless price_basis says otherwise."
        ),
    )
    app.state.rules = rules
    app.state.catalogue = catalogue
    app.add_middleware(_AnswerUnexpectedWith503)

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return _unprocessable(["body", exc.field], exc.reason, exc.kind)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422, but without echoing the request body back (pydantic 2 puts the
        # offending value into "input" and "ctx").
        detail = [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(detail)})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers a body it cannot decode (invalid UTF-8, an integer with thousands of
        # digits) with 400; the contract wants 422 for every invalid input.
        if exc.status_code == 400:
            return _unprocessable(["body"], "the body is not valid JSON", "value_error.json")
        return await http_exception_handler(request, exc)

    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health() -> HealthOut:
        """Liveness: the app is up and its rules and catalogue are loaded."""
        return HealthOut(status="ok")

    @app.get("/ready", response_model=HealthOut, tags=["service"])
    def ready() -> HealthOut:
        """Readiness: the calculator has no dependencies beyond the rules loaded at start."""
        return HealthOut(status="ok")

    @app.post("/v1/instalment", response_model=InstalmentOut, tags=["calculator"])
    def post_instalment(body: InstalmentIn) -> InstalmentOut:
        """The monthly instalment (Abschlag) with and without the price brake."""
        result = instalment(
            InstalmentRequest(
                energy=body.energy,
                forecast_kwh=body.forecast_kwh,
                contingent_forecast_kwh=body.contingent_forecast_kwh,
                working_price_ct=body.working_price_ct,
                base_price_eur_year=body.base_price_eur_year,
                price_basis=body.price_basis,
                instalments_per_year=body.instalments_per_year,
                month=parse_month(body.month),
                current_instalment_eur=body.current_instalment_eur,
            ),
            app.state.rules,
        )
        return _instalment_out(result)

    @app.post("/v1/december-relief", response_model=DecemberReliefOut, tags=["calculator"])
    def post_december_relief(body: DecemberReliefIn) -> DecemberReliefOut:
        """The December 2022 emergency aid (Dezember-Soforthilfe, EWSG) for gas and heat."""
        result = december_relief(
            DecemberReliefRequest(
                energy=body.energy,
                forecast_kwh_sept_2022=body.forecast_kwh_sept_2022,
                working_price_ct_dec_2022=body.working_price_ct_dec_2022,
                base_price_eur_year=body.base_price_eur_year,
                september_instalment_eur=body.september_instalment_eur,
                december_instalment_eur=body.december_instalment_eur,
            ),
            app.state.rules,
        )
        return _december_out(result)

    @app.get("/v1/tariffs", response_model=TariffsOut, tags=["catalogue"])
    def get_tariffs(
        energy: Energy | None = _ENERGY_QUERY,
        name: str | None = _NAME_QUERY,
        on: IsoDate | None = _ON_QUERY,
    ) -> TariffsOut:
        """The utility's tariff catalogue: names, energy, dated gross prices."""
        cat: Catalogue = app.state.catalogue
        selected = [
            t
            for t in cat.tariffs
            if (energy is None or t.energy is energy)
            and (name is None or tariff_key(t.name) == tariff_key(name))
        ]
        tariffs = [_tariff_out(t, on) for t in selected]
        return TariffsOut(
            utility=cat.utility,
            demo=cat.demo,
            tariffs=[t for t in tariffs if t.prices],
        )

    # Request ids (X-Request-ID from the action server, in every log line of the request),
    # requests by route and status, GET /metrics (not part of the contract's OpenAPI).
    metrics = CalculatorMetrics()
    instrument(app, metrics.http, metrics.registry)
    app.state.metrics = metrics
    return app
