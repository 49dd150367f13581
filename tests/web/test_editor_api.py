"""The editors' API: drafts, publishing live without retraining, four-eyes, rollback, conflicts,
validation in German, sanitised Markdown, size limits, inbox, checks, training, audit."""

from __future__ import annotations

import time

import pytest

from bot.chat import repository as chat_repo
from bot.content import repository as content
from bot.content.models import TrainingRun
from bot.web.guard import MAX_BODY_BYTES

TOPIC = "gaspreisbremse"
LIVE_WITHIN_S = 5.0  # issue 5: an answer change is live within 5 s of publishing


def published(ctx, topic_id=TOPIC):
    with ctx.session() as session:
        return dict(content.published(session, topic_id).data)


def edited(ctx, **changes):
    """The published document of TOPIC with ``changes``, as the API takes it."""
    doc = published(ctx)
    doc.pop("id"), doc.pop("version")
    return {**doc, **changes}


def save(client, body, topic_id=TOPIC):
    response = client.post(f"/api/editor/topics/{topic_id}/drafts", json=body)
    assert response.status_code == 200, response.text
    return response.json()["revision"]


def publish(client, body, topic_id=TOPIC):
    revision = save(client, body, topic_id)
    response = client.post(f"/api/editor/revisions/{revision['id']}/submit")
    assert response.status_code == 200, response.text
    return response.json()


def live_answer(ctx, topic_id=TOPIC, contains="", timeout=LIVE_WITHIN_S):
    """The assistant's answer once it contains ``contains`` (polls like the action server)."""
    deadline = time.monotonic() + timeout
    while True:
        text = ctx.knowledge.answer(topic_id).text
        if contains in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def runs(ctx):
    with ctx.session() as session:
        return [(r.state, r.generation) for r in content.training_runs(session)]


# ---- publishing ----------------------------------------------------------------------------------


def test_published_answer_is_live_within_seconds_without_retraining(ctx, editor_client):
    ctx.knowledge.answer(TOPIC)  # the store has loaded the old content
    new_answer = published(ctx)["answer"] + "\n\nNeu: Fragen Sie uns gern im [Kontakt](/kontakt)."
    started = time.monotonic()
    result = publish(editor_client, edited(ctx, answer=new_answer))
    assert result["revision"]["state"] == "published"
    assert result["revision"]["version"] == 2
    assert "veröffentlicht" in result["message"]
    assert result["retrain"] is False
    text = live_answer(ctx, contains="Neu: Fragen Sie uns gern")
    assert "Neu: Fragen Sie uns gern" in text
    assert time.monotonic() - started < LIVE_WITHIN_S
    assert ctx.knowledge.answer(TOPIC).content_version == 2
    assert runs(ctx) == []  # an answer text change never retrains


def test_new_question_variant_queues_a_training_run(ctx, editor_client):
    questions = [*published(ctx)["questions"], "Wie hoch war der Gaspreisdeckel genau?"]
    result = publish(editor_client, edited(ctx, questions=questions))
    assert result["retrain"] is True
    assert "neu trainiert" in result["message"]
    training = editor_client.get("/api/editor/training").json()
    assert training["runs"][0]["state"] == "queued"
    assert training["runs"][0]["state_label"] == "In der Warteschlange"
    assert training["active"]["requested_by"] == "Erik"


def test_training_status_shows_every_state_with_reason(ctx, editor_client):
    with ctx.session() as session:
        for state in ("live", "rejected", "failed", "evaluating"):
            session.add(
                TrainingRun(
                    state=state,
                    generation=1,
                    requested_by="Erik",
                    created_at=ctx.clock(),
                    reason="Das neue Modell ist schlechter." if state == "rejected" else None,
                    accuracy=0.93,
                    live_accuracy=0.95,
                )
            )
    data = editor_client.get("/api/editor/training").json()
    labels = {run["state"]: run["state_label"] for run in data["runs"]}
    assert labels == {
        "live": "Live",
        "rejected": "Abgelehnt",
        "failed": "Fehlgeschlagen",
        "evaluating": "Wird geprüft",
    }
    rejected = next(r for r in data["runs"] if r["state"] == "rejected")
    assert rejected["reason"] == "Das neue Modell ist schlechter."
    assert data["active"]["state"] == "evaluating"


def test_preview_renders_like_the_assistant(ctx, editor_client):
    doc = published(ctx)
    response = editor_client.post(
        "/api/editor/preview",
        json={
            "answer": doc["answer"],
            "stand": doc["stand"],
            "valid_from": doc["valid_from"],
            "valid_to": doc["valid_to"],
            "offers_calculation": True,
        },
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["text"] == ctx.knowledge.answer(TOPIC, today=ctx.clock().date()).text
    assert "ausgelaufen" in data["text"]  # the dated note of an ended measure
    assert data["buttons"] == [
        {"title": "Meinen Abschlag berechnen", "payload": "/instalment_calculation"}
    ]
    assert data["problems"] == []


def test_preview_lists_problems_but_still_renders(editor_client):
    data = editor_client.post(
        "/api/editor/preview",
        json={"answer": "Preis {{gas_referenzpreis}}, {{gibtsnicht}}, 12 Cent <script>x</script>"},
    ).json()
    assert "12 ct/kWh" in data["text"]
    assert "«unbekannter Platzhalter gibtsnicht»" in data["text"]
    problems = " ".join(data["problems"])
    assert "{{gibtsnicht}}" in problems
    assert "„12“" in problems
    assert "„<script>“" in problems
    assert "Der Stand fehlt" in problems


def test_placeholders_list_facts_and_utility_with_values(editor_client):
    data = editor_client.get("/api/editor/placeholders").json()
    facts = {f["name"]: f for f in data["facts"]}
    assert facts["gas_referenzpreis"]["placeholder"] == "{{gas_referenzpreis}}"
    assert facts["gas_referenzpreis"]["value"] == "12 ct/kWh"
    assert {"placeholder": "{{preisbremsen_ende:long}}", "value": "31. Dezember 2023"} in facts[
        "preisbremsen_ende"
    ]["formats"]
    utility = {u["key"]: u for u in data["utility"]}
    assert utility["phone"]["placeholder"] == "{{utility.phone}}"
    assert "colors" not in utility  # mappings cannot be placeholders


# ---- four-eyes -----------------------------------------------------------------------------------


@pytest.fixture
def four_eyes(ctx):
    with ctx.session() as session:
        content.set_four_eyes(session, enabled=True, actor=content.Actor(None, "Test"))


def test_four_eyes_author_cannot_approve_second_editor_can(ctx, four_eyes, editor_client, login_as):
    ctx.knowledge.answer(TOPIC)
    marker = "Vier-Augen-Änderung"
    result = publish(editor_client, edited(ctx, answer=published(ctx)["answer"] + f"\n\n{marker}"))
    revision = result["revision"]
    assert revision["state"] == "pending"
    assert "Freigabe" in result["message"]
    assert editor_client.get("/api/editor/me").json()["reviews_pending"] == 1

    time.sleep(1.2)  # longer than the store's check interval: pending is not live
    assert marker not in ctx.knowledge.answer(TOPIC).text
    assert published(ctx)["version"] == 1

    own = editor_client.post(f"/api/editor/revisions/{revision['id']}/approve")
    assert own.status_code == 409
    assert "Vier-Augen-Prinzip" in own.json()["detail"]
    reviews = editor_client.get("/api/editor/reviews").json()["reviews"]
    assert [r["own"] for r in reviews] == [True]

    eva = login_as("eva", "editor", "Eva")
    listed = eva.get("/api/editor/reviews").json()["reviews"]
    assert listed[0]["id"] == revision["id"] and listed[0]["own"] is False
    assert f"+  {marker}" in listed[0]["diff"]
    approved = eva.post(f"/api/editor/revisions/{revision['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["revision"]["version"] == 2
    assert approved.json()["revision"]["reviewer"] == "Eva"
    assert marker in live_answer(ctx, contains=marker)


def test_four_eyes_reject_sends_the_draft_back_with_the_note(
    ctx, four_eyes, editor_client, login_as
):
    revision = publish(editor_client, edited(ctx, title="Gaspreisbremse (neu)"))["revision"]
    eva = login_as("eva", "editor", "Eva")
    empty = eva.post(f"/api/editor/revisions/{revision['id']}/reject", json={"note": "  "})
    assert empty.status_code == 422
    assert empty.json()["problems"][0]["field"] == "note"
    rejected = eva.post(
        f"/api/editor/revisions/{revision['id']}/reject", json={"note": "Titel bitte lassen."}
    )
    assert rejected.status_code == 200, rejected.text
    topic = editor_client.get(f"/api/editor/topics/{TOPIC}").json()
    draft = topic["drafts"][0]
    assert (draft["state"], draft["note"], draft["own"]) == (
        "rejected",
        "Titel bitte lassen.",
        True,
    )
    # The author reworks and sends it again.
    body = edited(ctx, title="Gaspreisbremse", revision_id=revision["id"])
    again = save(editor_client, body)
    assert again["state"] == "draft"
    submitted = editor_client.post(f"/api/editor/revisions/{revision['id']}/submit")
    assert submitted.json()["revision"]["state"] == "pending"


def test_only_the_author_changes_or_submits_a_draft(ctx, editor_client, login_as, admin_client):
    revision = save(editor_client, edited(ctx, title="Entwurf von Erik"))
    eva = login_as("eva", "editor", "Eva")
    body = edited(ctx, title="Von Eva überschrieben", revision_id=revision["id"])
    for response in (
        eva.post(f"/api/editor/topics/{TOPIC}/drafts", json=body),
        eva.post(f"/api/editor/revisions/{revision['id']}/submit"),
        eva.post(f"/api/editor/revisions/{revision['id']}/discard"),
    ):
        assert response.status_code == 409, response.text
        assert "Erik" in response.json()["detail"]
    # An admin may clean up a forgotten draft.
    discarded = admin_client.post(f"/api/editor/revisions/{revision['id']}/discard")
    assert discarded.status_code == 200
    assert discarded.json()["revision"]["state"] == "discarded"


# ---- history, diff, rollback, conflicts ----------------------------------------------------------


def test_rollback_restores_the_old_text_as_a_new_version(ctx, editor_client):
    old_answer = published(ctx)["answer"]
    publish(editor_client, edited(ctx, answer="Ganz neue Antwort ohne Zahlen."))
    assert "Ganz neue Antwort" in live_answer(ctx, contains="Ganz neue Antwort")

    diff = editor_client.get(f"/api/editor/topics/{TOPIC}/diff?old=1&new=2").json()["diff"]
    assert "+  Ganz neue Antwort ohne Zahlen." in diff
    assert diff.startswith("--- Version 1\n+++ Version 2\n")

    response = editor_client.post(f"/api/editor/topics/{TOPIC}/rollback", json={"version": 1})
    assert response.status_code == 200, response.text
    assert response.json()["revision"]["version"] == 3
    assert "Version 1" in response.json()["message"]
    assert published(ctx)["answer"] == old_answer
    assert published(ctx)["version"] == 3
    text = live_answer(ctx, contains="Die Gaspreisbremse galt vom")
    assert text.startswith("Die Gaspreisbremse galt vom") and "Ganz neue Antwort" not in text

    history = editor_client.get(f"/api/editor/topics/{TOPIC}").json()["history"]
    assert history[0]["note"] == "Zurückgesetzt auf Version 1"
    assert [h["version"] for h in history if h["state"] == "published"] == [3, 2, 1]
    missing = editor_client.post(f"/api/editor/topics/{TOPIC}/rollback", json={"version": 99})
    assert missing.status_code == 404
    assert "Version 99" in missing.json()["detail"]


def test_edit_conflict_when_someone_else_published_first(ctx, editor_client, login_as):
    mine = save(editor_client, edited(ctx, title="Meine Fassung"))
    eva = login_as("eva", "editor", "Eva")
    publish(eva, {**edited(ctx, title="Evas Fassung"), "base_version": 1})
    response = editor_client.post(f"/api/editor/revisions/{mine['id']}/submit")
    assert response.status_code == 409
    assert "inzwischen" in response.json()["detail"]
    assert published(ctx)["title"] == "Evas Fassung"
    # A new draft based on what the editor saw (version 1) is refused as well.
    stale = editor_client.post(
        f"/api/editor/topics/{TOPIC}/drafts", json={**edited(ctx), "base_version": 1}
    )
    assert stale.status_code == 409
    assert "Version 2" in stale.json()["detail"]


# ---- validation ----------------------------------------------------------------------------------


def problems_of(response):
    assert response.status_code == 422, response.text
    data = response.json()
    assert isinstance(data["detail"], str)
    problems = {}
    for problem in data["problems"]:
        problems[problem["field"]] = " ".join(
            filter(None, [problems.get(problem["field"]), problem["message"]])
        )
    return problems


def test_invalid_content_is_refused_with_german_problems_per_field(ctx, editor_client):
    body = edited(
        ctx,
        questions=["Was ist die Gaspreisbremse?", "Gaspreisbremse erklärt"],
        answer="Die Bremse galt bis 2023 für {{gibtsnicht}}.",
        related=["gibtsnicht"],
    )
    revision = save(editor_client, body)  # drafts may be incomplete
    problems = problems_of(editor_client.post(f"/api/editor/revisions/{revision['id']}/submit"))
    assert "nötig sind mindestens 12" in problems["questions"]
    assert "{{gibtsnicht}}" in problems["answer"] and "„2023“" in problems["answer"]
    assert "„gibtsnicht“ gibt es nicht" in problems["related"]
    # Missing fields are reported first (the loader checks the rest once they are there).
    body = {**edited(ctx, stand=None, title=" "), "revision_id": revision["id"]}
    save(editor_client, body)
    problems = problems_of(editor_client.post(f"/api/editor/revisions/{revision['id']}/submit"))
    assert problems == {
        "stand": "Bitte das Datum angeben, an dem die Antwort zuletzt geprüft wurde.",
        "title": "Bitte einen Titel angeben.",
    }
    assert published(ctx)["version"] == 1


def test_request_validation_speaks_german(ctx, editor_client):
    problems = problems_of(
        editor_client.post(
            f"/api/editor/topics/{TOPIC}/drafts",
            json=edited(ctx, measure="wetter", stand="31.12.2023", title=5, related=["A B"]),
        )
    )
    assert problems["measure"] == "Bitte einen Bereich aus der Liste wählen."
    assert problems["stand"] == "Bitte ein gültiges Datum angeben (JJJJ-MM-TT)."
    assert problems["title"] == "Bitte einen Text angeben."
    assert problems["related"] == "Eintrag 1: Das ist keine Themenkennung."


def test_question_in_another_topic_is_named(ctx, editor_client):
    other = published(ctx, "preisbremse_mieter")["questions"][0]
    revision = save(editor_client, edited(ctx, questions=[*published(ctx)["questions"], other]))
    problems = problems_of(editor_client.post(f"/api/editor/revisions/{revision['id']}/submit"))
    assert f"„{other}“ gehört schon zum Thema „Preisbremsen für Mieter“" in problems["questions"]


@pytest.mark.parametrize(
    "answer",
    [
        "Hallo <script>alert(1)</script>",
        "Klicken Sie [hier](javascript:alert(1)).",
        "Bild: <img src=x onerror=alert(1)>",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
    ],
)
def test_unsafe_markdown_is_refused(ctx, editor_client, answer):
    problems = problems_of(
        editor_client.post(f"/api/editor/topics/{TOPIC}/drafts", json=edited(ctx, answer=answer))
    )
    assert "answer" in problems
    assert "HTML" in problems["answer"] or "nicht erlaubt" in problems["answer"]


def test_unsafe_markdown_never_publishes_by_any_path(ctx, editor_client):
    """A draft written around the API (CLI, import, a bug) is still refused on publish."""
    doc = published(ctx)
    with ctx.session() as session:
        revision = content.save_draft(
            session,
            topic_id=TOPIC,
            data={**doc, "answer": "[Klick](javascript:alert(1))"},
            actor=content.Actor(None, "Skript"),
        )
        revision_id = revision.id
    with ctx.session() as session, pytest.raises(content.InvalidContent) as caught:
        content.submit(
            session,
            revision_id=revision_id,
            actor=content.Actor(None, "Skript"),
            knowledge_dir=ctx.settings.knowledge_dir,
        )
    problem = caught.value.problems[0]
    assert problem.field == "answer" and "javascript:" in problem.params["message"]
    assert published(ctx)["version"] == 1


def test_size_limits_have_clear_messages(ctx, editor_client):
    problems = problems_of(
        editor_client.post(
            f"/api/editor/topics/{TOPIC}/drafts",
            json=edited(
                ctx,
                answer="a" * 6001,
                title="t" * 201,
                questions=[f"Frage {i}?" for i in range(301)],
                sources=[{"title": "x" * 301, "url": "https://example.org"}],
            ),
        )
    )
    assert problems["answer"] == "Höchstens 6000 Zeichen sind erlaubt."
    assert problems["title"] == "Höchstens 200 Zeichen sind erlaubt."
    assert problems["questions"] == "Höchstens 300 Einträge sind erlaubt."
    assert problems["sources"] == "Quelle 1, Titel: Höchstens 300 Zeichen sind erlaubt."
    long_question = problems_of(
        editor_client.post(
            f"/api/editor/topics/{TOPIC}/drafts", json=edited(ctx, questions=["f" * 301])
        )
    )
    assert long_question["questions"] == "Frage 1: Höchstens 300 Zeichen je Frage."
    huge = editor_client.post(
        f"/api/editor/topics/{TOPIC}/drafts",
        content=b'{"answer": "' + b"a" * MAX_BODY_BYTES + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert "zu groß" in huge.json()["detail"]


BAD_BODIES = [
    b"kein json",
    b"[]",
    b"null",
    b'{"answer": 5, "sources": "x", "related": [1], "questions": [null]}',
    b'{"sources": [{"title": [], "url": {}}], "offers_calculation": "ja"}',
    b'{"valid_from": "2023-02-30", "valid_to": "9999-99-99", "revision_id": -1}',
    b'{"revision_id": 100000000000000000000000000000}',
    b'{"answer": "\\u0000\\ud800"}',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_never_fail_with_500(editor_client, body):
    headers = {"Content-Type": "application/json"}
    for path in (
        f"/api/editor/topics/{TOPIC}/drafts",
        "/api/editor/topics",
        "/api/editor/preview",
        "/api/editor/inbox/add-variant",
        "/api/editor/inbox/dismiss",
        f"/api/editor/topics/{TOPIC}/rollback",
        "/api/editor/revisions/1/reject",
    ):
        response = editor_client.post(path, content=body, headers=headers)
        assert response.status_code < 500, (path, response.text)
        if response.status_code == 422:
            assert response.json()["problems"], (path, response.text)


@pytest.mark.parametrize(
    "path",
    [
        "/api/editor/revisions/99999999999999999999999",
        "/api/editor/revisions/abc",
        "/api/editor/inbox/items/-1/excerpt",
        f"/api/editor/topics/{'x' * 500}",
        "/api/editor/topics/%00",
        f"/api/editor/topics/{TOPIC}/diff?old=abc",
        f"/api/editor/topics/{TOPIC}/diff?old=1&new=99999999999999999999",
        "/api/editor/topics?q=" + "x" * 300,
        "/api/editor/topics?expired=vielleicht",
        "/api/editor/audit?limit=0",
        "/api/editor/inbox?limit=100000",
    ],
)
def test_bad_paths_and_queries_never_fail_with_500(editor_client, path):
    response = editor_client.get(path)
    # 400: a NUL in the address (bot/web/request_limits.py)
    assert response.status_code in (400, 404, 422), response.text
    assert isinstance(response.json()["detail"], str)


# ---- topics: list, filters, new topics -----------------------------------------------------------


def ids(response):
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["topics"]]


def test_topic_list_search_and_filters(ctx, editor_client):
    everything = ids(editor_client.get("/api/editor/topics"))
    assert TOPIC in everything and len(everything) >= 30
    assert TOPIC in ids(editor_client.get("/api/editor/topics?q=gaspreisdeckel"))  # a question
    assert ids(editor_client.get("/api/editor/topics?q=Gaspreisdeckel+zzzz")) == []
    preisbremsen = ids(editor_client.get("/api/editor/topics?measure=preisbremsen"))
    assert TOPIC in preisbremsen and "kontakt_oeffnungszeiten" not in preisbremsen
    expired = ids(editor_client.get("/api/editor/topics?expired=true"))
    assert TOPIC in expired and "kontakt_oeffnungszeiten" not in expired
    assert ids(editor_client.get("/api/editor/topics?low_feedback=true")) == []
    assert ids(editor_client.get("/api/editor/topics?many_fallbacks=true")) == []


def test_low_feedback_counts_thumbs_down_on_the_current_version(ctx, client, editor_client):
    conversation = client.post("/api/v1/conversations", json={}).json()["conversation_id"]
    with ctx.session() as session:
        for helpful, version in ((False, 1), (False, 1), (True, 1), (False, 0)):
            chat_repo.add_message(session=session, conversation_id=conversation, sender="bot",
                                  text="Antwort", faq_id=TOPIC, content_version=version)
            chat_repo.add_feedback(
                session=session,
                conversation_id=conversation,
                faq_id=TOPIC,
                content_version=version,
                helpful=helpful,
            )
    topics = editor_client.get("/api/editor/topics?low_feedback=true").json()["topics"]
    assert [t["id"] for t in topics] == [TOPIC]
    assert topics[0]["feedback"] == {"up": 1, "down": 2, "share_down": 2 / 3}
    # A new version starts without votes: the old complaints are about the old text.
    publish(editor_client, edited(ctx, title="Gaspreisbremse 2023"))
    assert ids(editor_client.get("/api/editor/topics?low_feedback=true")) == []


def test_many_fallbacks_counts_inbox_items_after_the_topics_answer(ctx, client, editor_client):
    for _ in range(3):
        conversation = client.post("/api/v1/conversations", json={}).json()["conversation_id"]
        url = f"/api/v1/conversations/{conversation}/messages"
        client.post(url, json={"text": "Was ist die Gaspreisbremse?"})  # answered: gaspreisbremse
        client.post(url, json={"text": "Und was ist mit dem Wetter im Winter?"})  # fallback
    topics = editor_client.get("/api/editor/topics?many_fallbacks=true").json()["topics"]
    assert [(t["id"], t["inbox"]) for t in topics] == [(TOPIC, 3)]


VALID_NEW = {
    "id": "waermepumpe_tarif",
    "title": "Wärmepumpentarif",
    "measure": "abschlag_rechnung",
    "stand": "2026-11-20",
    "answer": "Für Wärmepumpen bieten wir einen eigenen Tarif an. Mehr im [Kontakt](/kontakt).",
    "sources": [{"title": "Preisblatt", "url": "https://www.stadtwerke-musterstadt.de/preise"}],
    "questions": [
        "Gibt es einen Wärmepumpentarif?",
        "Wärmepumpe Tarif",
        "Welchen Stromtarif für die Wärmepumpe?",
        "Habt ihr Wärmepumpenstrom?",
        "Was kostet Strom für meine Wärmepumpe?",
        "Wärmepumpenstrom Preis",
        "Tarif für Heizstrom Wärmepumpe",
        "Wie melde ich meine Wärmepumpe an?",
        "Brauche ich einen zweiten Zähler für die Wärmepumpe?",
        "Günstiger Strom für Wärmepumpe",
        "Wärmepumpe Sondertarif Stadtwerke",
        "Lohnt sich ein Wärmepumpentarif?",
    ],
}


def test_new_topic_from_draft_to_published(ctx, editor_client):
    created = editor_client.post("/api/editor/topics", json=VALID_NEW)
    assert created.status_code == 201, created.text
    revision = created.json()["revision"]
    listed = editor_client.get("/api/editor/topics?q=waermepumpe_tarif").json()["topics"]
    assert [(t["id"], t["published"], t["drafts"]) for t in listed] == [
        ("waermepumpe_tarif", False, 1)
    ]
    again = editor_client.post("/api/editor/topics", json=VALID_NEW)
    assert again.status_code == 409
    assert "waermepumpe_tarif" in again.json()["detail"]
    result = editor_client.post(f"/api/editor/revisions/{revision['id']}/submit").json()
    assert result["revision"]["version"] == 1 and result["retrain"] is True
    assert "Wärmepumpen" in live_answer(ctx, "waermepumpe_tarif", contains="Wärmepumpen")
    assert runs(ctx)[0][0] == "queued"


@pytest.mark.parametrize("bad_id", ["Wärme", "ab", "1abc", "a b c", "x" * 65, ""])
def test_new_topic_id_rules(editor_client, bad_id):
    problems = problems_of(
        editor_client.post("/api/editor/topics", json={**VALID_NEW, "id": bad_id})
    )
    assert "id" in problems


def test_unknown_topic_is_404_in_german(editor_client):
    response = editor_client.get("/api/editor/topics/gibtsnicht")
    assert response.status_code == 404
    assert response.json()["detail"] == "Das Thema „gibtsnicht“ gibt es nicht."
    response = editor_client.post("/api/editor/topics/gibtsnicht/drafts", json={})
    assert response.status_code == 404


def test_topic_detail_offers_own_draft_and_history(ctx, editor_client, login_as):
    mine = save(editor_client, edited(ctx, title="Eriks Entwurf"))
    eva = login_as("eva", "editor", "Eva")
    data = eva.get(f"/api/editor/topics/{TOPIC}").json()
    assert data["version"] == 1 and data["published"]["title"] == "Gaspreisbremse"
    assert [(d["id"], d["own"], d["author"]) for d in data["drafts"]] == [
        (mine["id"], False, "Erik")
    ]
    assert data["drafts"][0]["data"]["title"] == "Eriks Entwurf"
    revision = editor_client.get(f"/api/editor/revisions/{mine['id']}").json()
    assert "\n-title: Gaspreisbremse\n" in revision["diff"]
    assert "\n+title: Eriks Entwurf\n" in revision["diff"]


# ---- inbox ---------------------------------------------------------------------------------------


def fallback_items(client, texts):
    for text in texts:
        conversation = client.post("/api/v1/conversations", json={}).json()["conversation_id"]
        response = client.post(
            f"/api/v1/conversations/{conversation}/messages", json={"text": text}
        )
        assert response.status_code == 200, response.text


def test_inbox_groups_excerpt_and_add_as_variant(ctx, client, editor_client):
    fallback_items(
        client,
        [
            "Wie wird das Wetter morgen?",
            "wie wird das wetter morgen",
            "Kündigung wegen Wetterschaden am Gasvertrag",
        ],
    )
    data = editor_client.get("/api/editor/inbox").json()
    assert data["open"] == 3
    group = data["groups"][0]
    assert (group["count"], group["kinds"], group["kind_labels"]) == (
        2,
        ["fallback"],
        ["Nicht verstanden"],
    )
    excerpt = editor_client.get(f"/api/editor/inbox/items/{group['item_ids'][0]}/excerpt").json()
    assert [m["sender"] for m in excerpt["messages"]] == ["customer", "bot"]
    assert excerpt["messages"][0]["is_item"] is True

    added = editor_client.post(
        "/api/editor/inbox/add-variant",
        json={"item_ids": group["item_ids"], "topic_id": TOPIC, "text": " Wird das Wetter  kalt? "},
    )
    assert added.status_code == 200, added.text
    assert added.json()["revision"]["state"] == "published"
    assert "„Wird das Wetter kalt?“ ist jetzt eine Fragevariante" in added.json()["message"]
    assert "Wird das Wetter kalt?" in published(ctx)["questions"]
    assert runs(ctx)[0][0] == "queued"
    assert editor_client.get("/api/editor/inbox").json()["open"] == 1
    twice = editor_client.post(
        "/api/editor/inbox/add-variant",
        json={"item_ids": group["item_ids"], "topic_id": TOPIC, "text": "Noch eine Frage?"},
    )
    assert twice.status_code == 409
    assert "schon bearbeitet" in twice.json()["detail"]


def test_inbox_add_variant_refuses_bad_input(ctx, client, editor_client):
    fallback_items(client, ["Wie wird das Wetter morgen?"])
    item_ids = editor_client.get("/api/editor/inbox").json()["groups"][0]["item_ids"]
    existing = published(ctx)["questions"][0]
    cases = [
        ({"topic_id": "gibtsnicht", "text": "Frage?"}, 404),
        ({"topic_id": TOPIC, "text": existing}, 422),
        ({"topic_id": TOPIC, "text": "/intent"}, 422),
        ({"topic_id": TOPIC, "text": "   "}, 422),
        ({"topic_id": TOPIC, "text": "f" * 301}, 422),
    ]
    for body, status in cases:
        response = editor_client.post(
            "/api/editor/inbox/add-variant", json={"item_ids": item_ids, **body}
        )
        assert response.status_code == status, (body, response.text)
    unknown = editor_client.post(
        "/api/editor/inbox/add-variant",
        json={"item_ids": [999999], "topic_id": TOPIC, "text": "x?"},
    )
    assert unknown.status_code == 404
    assert editor_client.get("/api/editor/inbox").json()["open"] == 1  # nothing changed


def test_inbox_start_topic_and_dismiss(ctx, client, editor_client):
    fallback_items(
        client, ["Wie wird das Wetter morgen?", "Kündigung wegen Wetterschaden am Gasvertrag"]
    )
    groups = editor_client.get("/api/editor/inbox").json()["groups"]
    first, second = groups
    started = editor_client.post(
        "/api/editor/inbox/start-topic", json={"item_ids": first["item_ids"]}
    )
    assert started.status_code == 200
    assert started.json()["question"] == first["text"]
    dismissed = editor_client.post(
        "/api/editor/inbox/dismiss", json={"item_ids": second["item_ids"]}
    )
    assert dismissed.json()["dismissed"] == 1
    assert editor_client.get("/api/editor/inbox").json() == {"groups": [], "open": 0}
    empty = editor_client.post("/api/editor/inbox/dismiss", json={"item_ids": []})
    assert empty.status_code == 422
    actions = [e["action"] for e in editor_client.get("/api/editor/audit").json()["entries"]]
    assert actions[:2] == ["inbox.dismiss", "inbox.new_topic"]


# ---- checks and audit ----------------------------------------------------------------------------


def test_checks_report_problems_of_the_published_content(ctx, editor_client):
    clean = editor_client.get("/api/editor/checks").json()
    assert clean["errors"] == 0
    publish(
        editor_client,
        edited(
            ctx,
            answer=published(ctx)["answer"] + " Siehe [Tarife](/gibtsnicht).",
            stand="2020-01-01",
        ),
    )
    data = editor_client.get("/api/editor/checks").json()
    mine = [
        (r["code"], r["severity"], r["field"]) for r in data["results"] if r["topic_id"] == TOPIC
    ]
    assert ("broken_link", "error", "answer") in mine
    assert ("stand_outdated", "warning", "stand") in mine
    assert data["errors"] >= 1 and data["warnings"] >= 1
    result = next(r for r in data["results"] if r["code"] == "broken_link")
    assert result["title"] == "Gaspreisbremse"
    assert "/gibtsnicht" in result["message"]


def test_audit_log_records_who_did_what(ctx, editor_client):
    publish(editor_client, edited(ctx, title="Gaspreisbremse 2023"))
    entries = editor_client.get(f"/api/editor/audit?target={TOPIC}").json()["entries"]
    assert [(e["action"], e["actor"]) for e in entries[:2]] == [
        ("publish", "Erik"),
        ("draft.save", "Erik"),
    ]
    assert entries[0]["action_label"] == "Veröffentlicht"
    assert entries[0]["has_diff"] is True and "diff" not in entries[0]["detail"]
    assert entries[0]["detail"]["version"] == 2


def test_id_of_a_discarded_new_topic_is_free_again(editor_client):
    first = editor_client.post("/api/editor/topics", json=VALID_NEW).json()["revision"]
    assert editor_client.post(f"/api/editor/revisions/{first['id']}/discard").status_code == 200
    assert editor_client.post("/api/editor/topics", json=VALID_NEW).status_code == 201


# ---- facets (issue 16) ---------------------------------------------------------------------------


def test_editors_see_and_change_facets(ctx, editor_client):
    me = editor_client.get("/api/editor/me").json()
    energy = next(f for f in me["facets"] if f["id"] == "energy")
    assert energy["label"] == "Energie"
    assert {"id": "waerme", "label": "Fernwärme"} in energy["values"]
    assert published(ctx)["facets"] == {"aspect": ["funktion"], "energy": ["gas"]}
    publish(editor_client, edited(ctx, facets={"energy": ["gas", "strom"], "aspect": ["funktion"]}))
    assert published(ctx)["facets"] == {"aspect": ["funktion"], "energy": ["gas", "strom"]}


def test_unknown_facets_are_refused_in_german(ctx, editor_client):
    response = editor_client.post(
        f"/api/editor/topics/{TOPIC}/drafts", json=edited(ctx, facets={"energy": ["kohle"]})
    )
    assert "„kohle“ ist kein Wert der Facette „Energie“" in problems_of(response)["facets"]


def test_facets_a_follow_up_could_not_tell_apart_are_refused(ctx, editor_client):
    # The tenants' topic of the price brakes has {audience: mieter}; the gas brake copies it.
    body = edited(ctx, facets={"audience": ["mieter"]})
    revision = save(editor_client, body)
    problems = problems_of(editor_client.post(f"/api/editor/revisions/{revision['id']}/submit"))
    assert "dieselben Facetten" in problems["facets"]
    assert published(ctx)["facets"] == {"aspect": ["funktion"], "energy": ["gas"]}
