"""Editorial checks of the FAQ content: what editors must fix (errors) or look at (warnings).

The loader (``bot.knowledge.loader``) refuses content that cannot be served at all; these checks
keep valid content *current* and its links working (issue 5, "Editors keep the FAQ current"):

====================  ========  ==============================================================
code                  severity  finding
====================  ========  ==============================================================
ended_unconfirmed     warning   the measure ended (``valid_to``) after the answer was last
                                checked (``stand``): customers get the dated note "ausgelaufen"
                                automatically, but the text may still speak of it as running
missing_source        error     no source, or a source without title or URL
invalid_source        error     a source URL that is neither http(s) nor a path on the site
stand_outdated        warning   ``stand`` is older than ``max_stand_age_days``
stand_in_future       warning   ``stand`` lies after ``today``
too_few_questions     error     fewer than ``MIN_QUESTIONS`` different question variants
duplicate_question    error     the same question in two topics (or twice in one)
similar_question      error     two questions that differ only in case, umlauts, punctuation
                                or spaces (the same ``question_key``): the model cannot tell
                                them apart either
broken_link           error     a link in an answer (placeholders rendered) or a source URL on
                                the utility's own site that is not a page of the site
render_failed         error     the answer cannot be rendered (unknown placeholder)
====================  ========  ==============================================================

An ended measure stops being reported once an editor has re-read the answer and moved ``stand``
past ``valid_to`` (the confirmation); archiving the topic removes it too. Plain Python without
web imports: ``python -m bot check`` passes the site's paths (``bot.web.site.site_paths``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.knowledge.model import MIN_QUESTIONS, Fact, KnowledgeBase, Topic
from bot.knowledge.render import PLACEHOLDER, format_date, render
from bot.nlu.normalize import question_key

Severity = Literal["error", "warning"]

# Markdown links as the chat renders them (bot/content/markdown.py).
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\(([^()\s]+)\)")


@dataclass(frozen=True)
class CheckResult:
    """One finding: ``message`` is German, for editors; ``field`` names the topic field."""

    code: str
    severity: Severity
    topic_id: str
    message: str
    field: str


def run_checks(
    kb: KnowledgeBase,
    *,
    today: date,
    max_stand_age_days: int,
    site_paths: Collection[str],
) -> list[CheckResult]:
    """Check every topic of ``kb``; results sorted by topic, errors before warnings.

    Args:
        kb: the content (files or the editors' database).
        today: the date the validity and age of answers are judged on.
        max_stand_age_days: a ``stand`` older than this many days is a warning.
        site_paths: every path of the website (``/kontakt``); links to the site must be one.
    """
    hosts = _own_hosts(kb.utility)
    results: list[CheckResult] = []
    for topic in kb.topics.values():
        results.extend(_check_validity(topic, today, max_stand_age_days))
        results.extend(_check_sources(topic, hosts, site_paths))
        results.extend(_check_answer_links(topic, kb.facts, kb.utility, hosts, site_paths))
        results.extend(_check_question_count(topic))
    results.extend(_check_duplicates(kb.topics))
    order = {"error": 0, "warning": 1}
    return sorted(results, key=lambda r: (r.topic_id, order[r.severity], r.code, r.field))


# ---- (a) ended measures, (c) age of the stand ----------------------------------------------------


def _check_validity(topic: Topic, today: date, max_age: int) -> Iterator[CheckResult]:
    if topic.has_ended(today) and topic.valid_to is not None and topic.stand <= topic.valid_to:
        ended = format_date(topic.valid_to)
        yield CheckResult(
            "ended_unconfirmed",
            "warning",
            topic.id,
            f"Die Regelung ist am {ended} ausgelaufen, die Antwort wurde zuletzt am "
            f"{format_date(topic.stand)} geprüft. Kunden sehen automatisch den Hinweis „Diese "
            f"Regelung ist am {ended} ausgelaufen.“ Bitte prüfen Sie, ob der Text noch so "
            "klingt, als gelte die Regelung weiter: Dann anpassen und den Stand aktualisieren "
            "(das bestätigt die Antwort) oder das Thema archivieren.",
            "valid_to",
        )
    age = (today - topic.stand).days
    if age > max_age:
        yield CheckResult(
            "stand_outdated",
            "warning",
            topic.id,
            f"Die Antwort wurde zuletzt am {format_date(topic.stand)} geprüft, vor {age} Tagen "
            f"(Grenze: {max_age} Tage). Bitte mit den Quellen abgleichen und den Stand "
            "aktualisieren.",
            "stand",
        )
    elif age < 0:
        yield CheckResult(
            "stand_in_future",
            "warning",
            topic.id,
            f"Der Stand {format_date(topic.stand)} liegt in der Zukunft. Bitte das Datum "
            "eintragen, an dem die Antwort geprüft wurde.",
            "stand",
        )


# ---- (b) sources -------------------------------------------------------------------------------


def _check_sources(
    topic: Topic, hosts: frozenset[str], site_paths: Collection[str]
) -> Iterator[CheckResult]:
    if not topic.sources:
        yield CheckResult(
            "missing_source",
            "error",
            topic.id,
            "Die Antwort nennt keine Quelle. Bitte mindestens eine Quelle mit Titel und "
            "Adresse angeben (Gesetz, Behörde oder Fachartikel), auf die sich die Antwort stützt.",
            "sources",
        )
        return
    for i, source in enumerate(topic.sources, start=1):
        title, url = source.title.strip(), source.url.strip()
        if not title or not url:
            missing = "den Titel" if not title else "die Adresse (URL)"
            yield CheckResult(
                "missing_source",
                "error",
                topic.id,
                f"Bei Quelle {i} fehlt {missing}.",
                "sources",
            )
            continue
        split = urlsplit(url)
        site_relative = url.startswith("/") and not url.startswith("//")
        web = split.scheme in ("http", "https") and bool(split.netloc)
        if not site_relative and not web:
            yield CheckResult(
                "invalid_source",
                "error",
                topic.id,
                f"Die Adresse der Quelle {i} („{title}“) ist keine Webadresse: „{url}“. "
                "Bitte eine vollständige Adresse mit https:// angeben.",
                "sources",
            )
            continue
        path = _site_path(url, hosts)
        if path is not None and path not in site_paths:
            yield CheckResult(
                "broken_link",
                "error",
                topic.id,
                f"Die Quelle {i} („{title}“) verweist auf {path}, diese Seite gibt es auf unserer "
                "Website nicht. Bitte die Adresse korrigieren oder die Seite anlegen.",
                "sources",
            )


# ---- (f) links in answers ------------------------------------------------------------------------


def _own_hosts(utility: Mapping[str, Any]) -> frozenset[str]:
    """The utility's website host (``website_url`` in utility.yml), with and without "www."."""
    host = (urlsplit(str(utility.get("website_url") or "")).hostname or "").lower()
    if not host:
        return frozenset()
    bare = host.removeprefix("www.")
    return frozenset({bare, f"www.{bare}"})


def _site_path(url: str, hosts: frozenset[str]) -> str | None:
    """The path of a link to this site (``/x`` or ``https://own-host/x``); ``None`` otherwise."""
    if url.startswith("/") and not url.startswith("//"):
        return urlsplit(url).path
    split = urlsplit(url)
    if split.scheme.lower() in ("http", "https") and (split.hostname or "").lower() in hosts:
        return split.path or "/"
    return None


def _check_answer_links(
    topic: Topic,
    facts: Mapping[str, Fact],
    utility: Mapping[str, Any],
    hosts: frozenset[str],
    site_paths: Collection[str],
) -> Iterator[CheckResult]:
    try:
        text = render(topic.answer, facts, utility)
    except (KeyError, ValueError) as exc:
        yield CheckResult(
            "render_failed",
            "error",
            topic.id,
            f"Die Antwort lässt sich nicht darstellen: {exc}. Bitte den Platzhalter korrigieren.",
            "answer",
        )
        return
    # Which placeholder produced a target, so the editor knows the fix is in utility.yml.
    origins: dict[str, str] = {}
    for match in _MARKDOWN_LINK.finditer(topic.answer):
        target = match.group(2)
        if PLACEHOLDER.fullmatch(target):
            with suppress(KeyError, ValueError):
                origins[render(target, facts, utility)] = target
    reported: set[str] = set()
    for match in _MARKDOWN_LINK.finditer(text):
        label, target = match.group(1), match.group(2)
        path = _site_path(target, hosts)
        if path is None or path in site_paths or target in reported:
            continue
        reported.add(target)
        origin = origins.get(target)
        where = f" (aus {origin} in knowledge/utility.yml)" if origin else ""
        yield CheckResult(
            "broken_link",
            "error",
            topic.id,
            f"Der Link „{label}“ führt zu {target}{where}, diese Seite gibt es auf unserer "
            "Website nicht. Bitte den Link ändern oder die Seite anlegen.",
            "answer",
        )


# ---- (d) question variants, (e) duplicates ------------------------------------------------------


def _check_question_count(topic: Topic) -> Iterator[CheckResult]:
    variants = len({question_key(q) for q in topic.questions})
    if variants < MIN_QUESTIONS:
        yield CheckResult(
            "too_few_questions",
            "error",
            topic.id,
            f"Das Thema hat {variants} verschiedene Fragevarianten, nötig sind mindestens "
            f"{MIN_QUESTIONS} (besser 25 oder mehr): Bitte weitere Formulierungen ergänzen, "
            "wie Kunden sie schreiben würden, auch kurz, umgangssprachlich und ohne Umlaute.",
            "questions",
        )


def _check_duplicates(topics: Mapping[str, Topic]) -> Iterator[CheckResult]:
    owner: dict[str, tuple[Topic, str]] = {}
    for topic_id in sorted(topics):
        topic = topics[topic_id]
        for question in topic.questions:
            key = question_key(question)
            if not key:
                continue
            if key not in owner:
                owner[key] = (topic, question)
                continue
            other, first = owner[key]
            where = (
                "in diesem Thema"
                if other.id == topic.id
                else f"im Thema „{other.title}“ ({other.id})"
            )
            if first.strip() == question.strip():
                twice = "zweimal in diesem Thema" if other.id == topic.id else f"auch {where}"
                yield CheckResult(
                    "duplicate_question",
                    "error",
                    topic.id,
                    f"Die Frage „{question}“ steht {twice}. Jede Frage darf nur einmal "
                    "vorkommen, sonst kann der Assistent die Themen nicht unterscheiden.",
                    "questions",
                )
            else:
                yield CheckResult(
                    "similar_question",
                    "error",
                    topic.id,
                    f"Die Frage „{question}“ ist praktisch gleich „{first}“ {where}: Sie "
                    "unterscheiden sich nur in Groß- und Kleinschreibung, Umlauten, Satzzeichen "
                    "oder Leerzeichen. Bitte eine der beiden streichen oder umformulieren.",
                    "questions",
                )
