"""Editorial content checks: one finding and one clean case per check, the real content, the CLI."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot import cli
from bot.content.checks import CheckResult, run_checks
from bot.knowledge.model import MIN_QUESTIONS, Fact, KnowledgeBase, Source, Topic
from bot.settings import get_settings
from bot.web.site import site_paths

TODAY = date(2026, 11, 21)
SITE = frozenset({"/", "/kontakt", "/preisbremsen", "/faq"})
UTILITY = {
    "name": "Stadtwerke Musterstadt",
    "website_url": "https://www.stadtwerke-musterstadt.example",
    "contact_url": "/kontakt",
    "portal_url": "/kundenportal",
}
FACTS = {
    "ref": Fact(
        name="ref", value=Decimal("40"), unit="ct/kWh", check="40 ct/kWh", source="https://x.org"
    )
}


def topic(topic_id: str = "alpha", **changes) -> Topic:
    fields: dict[str, Any] = {
        "id": topic_id,
        "version": 1,
        "title": f"Titel {topic_id}",
        "measure": "preisbremsen",
        "valid_from": date(2023, 1, 1),
        "valid_to": None,
        "stand": date(2026, 11, 1),
        "answer": "Der Preis lag bei {{ref}}. Mehr unter [Kontakt]({{utility.contact_url}}).",
        "sources": (Source("Gesetz", "https://www.gesetze-im-internet.de/ewpbg/"),),
        "related": (),
        "questions": tuple(f"Frage {i} zu {topic_id}?" for i in range(MIN_QUESTIONS)),
    }
    fields.update(changes)
    return Topic(**fields)


def check(*topics: Topic, today: date = TODAY, max_age: int = 365) -> list[CheckResult]:
    kb = KnowledgeBase(topics={t.id: t for t in topics}, facts=FACTS, utility=UTILITY)
    return run_checks(kb, today=today, max_stand_age_days=max_age, site_paths=SITE)


def codes(results: list[CheckResult]) -> list[tuple[str, str, str]]:
    return [(r.code, r.severity, r.field) for r in results]


def test_clean_topic_has_no_findings():
    assert check(topic()) == []


# ---- (a) ended measures -------------------------------------------------------------------------


def test_ended_measure_checked_before_its_end_is_a_warning():
    results = check(topic(valid_to=date(2023, 12, 31), stand=date(2023, 6, 1)), max_age=9999)
    assert codes(results) == [("ended_unconfirmed", "warning", "valid_to")]
    assert "31.12.2023 ausgelaufen" in results[0].message
    assert "01.06.2023" in results[0].message


def test_ended_measure_confirmed_after_its_end_is_fine():
    assert check(topic(valid_to=date(2023, 12, 31), stand=date(2026, 2, 1))) == []
    # Not ended yet: nothing to confirm.
    assert check(topic(valid_to=date(2027, 3, 31), stand=date(2026, 2, 1))) == []


# ---- (b) sources --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ((), "missing_source"),
        ((Source("", "https://example.org"),), "missing_source"),
        ((Source("Gesetz", "  "),), "missing_source"),
        ((Source("Gesetz", "www.gesetze-im-internet.de"),), "invalid_source"),
        ((Source("Gesetz", "javascript:alert(1)"),), "invalid_source"),
    ],
)
def test_missing_or_unusable_source_is_an_error(sources, expected):
    results = check(topic(sources=sources))
    assert codes(results) == [(expected, "error", "sources")]


def test_sources_on_the_web_or_the_site_are_fine():
    sources = (Source("Gesetz", "http://www.gesetze-im-internet.de/"), Source("Seite", "/kontakt"))
    assert check(topic(sources=sources)) == []


# ---- (c) age of the stand -----------------------------------------------------------------------


def test_stand_older_than_the_limit_is_a_warning():
    results = check(topic(stand=date(2025, 11, 20)))
    assert codes(results) == [("stand_outdated", "warning", "stand")]
    assert "vor 366 Tagen" in results[0].message and "365 Tage" in results[0].message
    assert codes(check(topic(stand=date(2026, 10, 1)), max_age=30)) == [
        ("stand_outdated", "warning", "stand")
    ]


def test_stand_within_the_limit_is_fine_and_a_future_stand_is_reported():
    assert check(topic(stand=date(2025, 11, 21))) == []  # exactly 365 days
    assert codes(check(topic(stand=date(2026, 12, 1)))) == [("stand_in_future", "warning", "stand")]


# ---- (d) question variants ----------------------------------------------------------------------


def test_too_few_question_variants_is_an_error():
    few = topic(questions=tuple(f"Frage {i}?" for i in range(MIN_QUESTIONS - 1)))
    results = check(few)
    assert codes(results) == [("too_few_questions", "error", "questions")]
    assert f"{MIN_QUESTIONS - 1} verschiedene" in results[0].message


def test_variants_are_counted_after_normalisation():
    base = tuple(f"Frage {i}?" for i in range(MIN_QUESTIONS - 1))
    # The twelfth question only differs in case and punctuation: still eleven variants.
    results = check(topic(questions=(*base, "FRAGE 0")))
    assert ("too_few_questions", "error", "questions") in codes(results)
    assert check(topic(questions=(*base, "Eine ganz andere Frage?"))) == []


# ---- (e) duplicates -----------------------------------------------------------------------------


def test_same_question_in_two_topics_is_an_error():
    alpha = topic("alpha")
    beta = topic("beta", questions=(*topic("beta").questions, "Frage 3 zu alpha?"))
    results = check(alpha, beta)
    assert [(r.topic_id, r.code, r.severity) for r in results] == [
        ("beta", "duplicate_question", "error")
    ]
    assert "„Frage 3 zu alpha?“" in results[0].message and "(alpha)" in results[0].message


def test_near_duplicate_that_normalises_to_the_same_key_is_an_error():
    alpha = topic("alpha", questions=(*topic("alpha").questions, "Wie hoch ist die Größe?"))
    beta = topic("beta", questions=(*topic("beta").questions, "wie hoch ist die groesse"))
    results = check(alpha, beta)
    assert [(r.topic_id, r.code) for r in results] == [("beta", "similar_question")]
    assert "„Wie hoch ist die Größe?“" in results[0].message


def test_question_twice_in_one_topic_is_an_error():
    alpha = topic("alpha", questions=(*topic("alpha").questions, "Frage 1 zu alpha?"))
    results = check(alpha)
    assert codes(results) == [("duplicate_question", "error", "questions")]
    assert "zweimal in diesem Thema" in results[0].message


def test_different_questions_in_two_topics_are_fine():
    assert check(topic("alpha"), topic("beta")) == []


# ---- (f) links ----------------------------------------------------------------------------------


def test_link_to_a_page_that_does_not_exist_is_an_error():
    answer = "Im [Kundenportal]({{utility.portal_url}}) oder [hier](/gibtsnicht#x)."
    results = check(topic(answer=answer))
    assert codes(results) == [("broken_link", "error", "answer")] * 2
    portal = next(r for r in results if "/kundenportal" in r.message)
    assert "{{utility.portal_url}}" in portal.message  # the editor learns where to fix it


def test_absolute_link_to_the_own_site_is_checked_too():
    for host in ("www.stadtwerke-musterstadt.example", "STADTWERKE-MUSTERSTADT.example"):
        results = check(topic(answer=f"Siehe [Preise](https://{host}/preise?x=1)."))
        assert codes(results) == [("broken_link", "error", "answer")], host


def test_source_on_the_own_site_must_exist():
    sources = (
        Source("Portal", "/kundenportal"),
        Source("Preise", "https://www.stadtwerke-musterstadt.example/preise"),
    )
    results = check(topic(sources=sources))
    assert codes(results) == [("broken_link", "error", "sources")] * 2


def test_links_to_existing_pages_and_other_sites_are_fine():
    answer = (
        "Siehe [Kontakt]({{utility.contact_url}}), [FAQ](/faq#alpha), [Start](/), "
        "[Preisbremsen](https://www.stadtwerke-musterstadt.example/preisbremsen), "
        "[Gesetz](https://www.gesetze-im-internet.de/kundenportal) und [oben](#x)."
    )
    assert check(topic(answer=answer)) == []


def test_unknown_placeholder_is_reported_not_raised():
    results = check(topic(answer="Preis: {{gibt_es_nicht}}."))
    assert codes(results) == [("render_failed", "error", "answer")]


# ---- the real content and the CLI ---------------------------------------------------------------


def test_real_content_has_no_errors(kb):
    results = run_checks(
        kb,
        today=TODAY,
        max_stand_age_days=get_settings().content_max_stand_age_days,
        site_paths=site_paths(),
    )
    assert [r for r in results if r.severity == "error"] == []


def test_site_paths_include_the_faq_and_the_pages_answers_link_to(kb):
    paths = site_paths()
    assert "/faq" in paths and "/" in paths
    for key in ("contact_url", "portal_url", "prices_url", "meter_reading_url", "privacy_url"):
        assert kb.utility[key] in paths, key


def test_cli_check_passes_on_the_real_content(capsys):
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_cli_check_fails_on_errors_and_prints_warnings(tmp_path, monkeypatch, capsys):
    import shutil

    knowledge = tmp_path / "knowledge"
    shutil.copytree(get_settings().knowledge_dir, knowledge)
    path = knowledge / "topics" / "kontakt_oeffnungszeiten.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "answer: |\n", "answer: |\n  Siehe [Shop](/shop) und <b>fett</b>.\n", 1
        ).replace("stand: 2026-11-21", "stand: 2020-01-01"),
        encoding="utf-8",
    )
    settings = dataclasses.replace(get_settings(), knowledge_dir=knowledge)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    assert cli.main(["check"]) == 1
    out, err = capsys.readouterr()
    assert (
        "warning: " in out and "kontakt_oeffnungszeiten.yml field 'stand' [stand_outdated]" in out
    )
    assert f"error: {path} field 'answer' [broken_link]: Der Link „Shop“ führt zu /shop" in err
    assert "[markdown]" in err and "„<b>“" in err
    assert "failed: 2 errors, 1 warnings" in err
