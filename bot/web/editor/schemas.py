"""Request bodies of the editors' API, with their limits and German validation messages.

The limits are the editor console's too (``GET /api/editor/me`` sends them): the form counts
characters against the same numbers the API enforces.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Final

from fastapi import Path
from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictStr, field_validator

from bot.content import inbox
from bot.content import repository as content
from bot.content.markdown import markdown_problems
from bot.knowledge.model import FACETS, MEASURES

# Where the editors' API lives (every router of this package carries the full prefix).
PREFIX: Final = "/api/editor"

# ---- size limits (the longest answer in knowledge/ has about 1,200 characters, the longest
# question 170, the largest topic 50 questions; the limits leave room and stop abuse) ----------
MAX_TITLE: Final = 200
MAX_ANSWER: Final = 6000
MAX_QUESTION: Final = 300
MAX_QUESTIONS: Final = 300
MAX_SOURCES: Final = 20
MAX_SOURCE_TITLE: Final = 300
MAX_URL: Final = 1000
MAX_RELATED: Final = 20
MAX_NOTE: Final = 500
MAX_QUERY: Final = 200
MAX_TOPIC_ID: Final = 64
MAX_ITEM_IDS: Final = inbox.MAX_GROUPED_ITEMS
MAX_ID: Final = 2**31 - 1  # ids and versions: larger numbers overflow the database's integers
MAX_HISTORY: Final = 200
_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TOPIC_ID: Final = content.TOPIC_ID


# ---- request bodies ------------------------------------------------------------------------------


def _date_or_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("Bitte ein gültiges Datum angeben (JJJJ-MM-TT).") from None
    return value


def _related_id(value: str) -> str:
    if len(value) > MAX_TOPIC_ID or not _TOPIC_ID.match(value):
        raise ValueError("Das ist keine Themenkennung.")
    return value


def _question(value: str) -> str:
    if len(value.strip()) > MAX_QUESTION:
        raise ValueError(f"Höchstens {MAX_QUESTION} Zeichen je Frage.")
    return " ".join(value.split())


def _item_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise ValueError("Das ist keine Eintragsnummer.")
    return value


# German names of the facets and their values (issue 16: follow-ups), for the editor console.
FACET_LABELS = {"energy": "Energie", "audience": "Zielgruppe", "aspect": "Aspekt"}
FACET_VALUE_LABELS = {
    "strom": "Strom",
    "gas": "Gas",
    "waerme": "Fernwärme",
    "heizstrom": "Heizstrom/Wärmepumpe",
    "haushalt": "Haushalte",
    "mieter": "Mieter",
    "gewerbe": "Gewerbe/Firmen",
    "funktion": "Wie es funktioniert",
    "berechnung": "Berechnung",
    "zeitraum": "Zeitraum",
    "antrag": "Antrag",
    "abschlag": "Abschlag",
    "jahresabrechnung": "Jahresabrechnung",
    "steuer": "Steuer",
    "sparen": "Sparen",
    "grundpreis": "Grundpreis",
    "umzug": "Umzug/Wechsel",
    "missbrauch": "Missbrauch",
}

# List items checked one by one (a problem names the item: "Frage 3: ...").
RelatedId = Annotated[StrictStr, AfterValidator(_related_id)]
Question = Annotated[StrictStr, AfterValidator(_question)]
ItemId = Annotated[int, AfterValidator(_item_id)]


class SourceIn(BaseModel):
    """A source of an answer: title and address."""

    title: StrictStr = Field("", max_length=MAX_SOURCE_TITLE)
    url: StrictStr = Field("", max_length=MAX_URL)

    @field_validator("title", "url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class TopicIn(BaseModel):
    """A topic's content as editors write it (drafts may be incomplete; publishing checks)."""

    title: StrictStr = Field("", max_length=MAX_TITLE)
    measure: StrictStr = Field("", max_length=40)
    valid_from: StrictStr | None = Field(None, max_length=10)
    valid_to: StrictStr | None = Field(None, max_length=10)
    stand: StrictStr | None = Field(None, max_length=10)
    answer: StrictStr = Field("", max_length=MAX_ANSWER)
    sources: list[SourceIn] = Field(default_factory=list, max_length=MAX_SOURCES)
    related: list[RelatedId] = Field(default_factory=list, max_length=MAX_RELATED)
    offers_calculation: StrictBool = False
    facets: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict, max_length=len(FACETS))
    questions: list[Question] = Field(default_factory=list, max_length=MAX_QUESTIONS)

    @field_validator("valid_from", "valid_to", "stand")
    @classmethod
    def _dates(cls, value: str | None) -> str | None:
        return _date_or_none(value)

    @field_validator("facets")
    @classmethod
    def _facets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Known facets with known values only; empty facets are dropped (general)."""
        cleaned = {}
        for name, values in value.items():
            if name not in FACETS:
                raise ValueError(f"Die Facette „{name}“ gibt es nicht.")
            unknown = [v for v in values if v not in FACETS[name]]
            if unknown:
                raise ValueError(
                    f"„{unknown[0]}“ ist kein Wert der Facette „{FACET_LABELS[name]}“."
                )
            if values:
                cleaned[name] = sorted(set(values))
        return cleaned

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str) -> str:
        value = value.strip()
        if value and value not in MEASURES:
            raise ValueError("Bitte einen Bereich aus der Liste wählen.")
        return value

    @field_validator("answer")
    @classmethod
    def _safe_markdown(cls, value: str) -> str:
        problems = markdown_problems(value)
        if problems:
            raise ValueError(" ".join(problems))
        return value.strip()

    @field_validator("questions")
    @classmethod
    def _drop_empty(cls, value: list[str]) -> list[str]:
        return [q for q in value if q]

    def document(self) -> dict[str, Any]:
        """The topic document (``bot.content.documents``) without id and version."""
        return {
            "title": self.title.strip(),
            "measure": self.measure,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "stand": self.stand,
            "answer": self.answer,
            "sources": [{"title": s.title, "url": s.url} for s in self.sources],
            "related": list(dict.fromkeys(self.related)),
            "offers_calculation": self.offers_calculation,
            "facets": self.facets,
            "questions": self.questions,
        }


class DraftIn(TopicIn):
    """Save a draft: a new one, or ``revision_id`` to update one's own open draft.

    ``base_version`` is the published version the editor started from; when it is given and
    the topic has been published since, the save is refused (409) instead of silently basing
    the draft on content the editor never saw.
    """

    revision_id: int | None = Field(None, ge=1, le=MAX_ID)
    base_version: int | None = Field(None, ge=1, le=MAX_ID)


class NewTopicIn(TopicIn):
    """A new topic: its id (the permanent key of answers and training data) and content."""

    id: StrictStr = Field(..., min_length=1, max_length=MAX_TOPIC_ID)

    @field_validator("id")
    @classmethod
    def _topic_id(cls, value: str) -> str:
        value = value.strip()
        if not _TOPIC_ID.match(value):
            raise ValueError(
                "Nur Kleinbuchstaben ohne Umlaute, Ziffern und _, 3 bis 64 Zeichen, am Anfang "
                "ein Buchstabe (z. B. waermepumpe_tarif)."
            )
        return value


class RejectIn(BaseModel):
    """Send a pending draft back, saying why."""

    note: StrictStr = Field(..., min_length=1, max_length=MAX_NOTE)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Bitte schreiben Sie kurz, was geändert werden soll.")
        return value.strip()


class RollbackIn(BaseModel):
    """The published version to go back to."""

    version: int = Field(..., ge=1, le=MAX_ID)


class PreviewIn(BaseModel):
    """What the preview needs: the answer and the dates of the dated note."""

    answer: StrictStr = Field("", max_length=MAX_ANSWER)
    stand: StrictStr | None = Field(None, max_length=10)
    valid_from: StrictStr | None = Field(None, max_length=10)
    valid_to: StrictStr | None = Field(None, max_length=10)
    offers_calculation: StrictBool = False

    @field_validator("valid_from", "valid_to", "stand")
    @classmethod
    def _dates(cls, value: str | None) -> str | None:
        return _date_or_none(value)


class ItemsIn(BaseModel):
    """Inbox items to act on (usually a group's ``item_ids``)."""

    item_ids: list[ItemId] = Field(..., min_length=1, max_length=MAX_ITEM_IDS)


class AddVariantIn(ItemsIn):
    """Inbox items → a question variant of ``topic_id`` in the editor's wording ``text``."""

    topic_id: StrictStr = Field(..., min_length=1, max_length=MAX_TOPIC_ID)
    text: StrictStr = Field(..., min_length=1, max_length=MAX_QUESTION)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Bitte geben Sie die Frage ein.")
        return value.strip()


# Path parameters of the editors' routes.
TopicId = Annotated[str, Path(min_length=1, max_length=MAX_TOPIC_ID)]
RevisionId = Annotated[int, Path(ge=1, le=MAX_ID)]
ItemPathId = Annotated[int, Path(ge=1, le=MAX_ID)]
