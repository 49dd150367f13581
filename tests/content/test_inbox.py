"""The editors' inbox (bot.content.inbox): collecting, grouping, excerpts and resolving."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.chat import repository as chat
from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import inbox
from bot.content import repository as content
from bot.content.models import AuditEntry, ContentTopic, InboxItem, TrainingRun
from bot.content.repository import Actor, InvalidContent, NotAllowed, UnknownTopic
from tests.conftest import REPO_ROOT

KNOWLEDGE = REPO_ROOT / "knowledge"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
EDITOR = Actor(None, "Erika")
CLARIFY = [
    {"title": "MwSt-Senkung", "payload": "/faq_mwst_senkung"},
    {"title": "Nichts davon", "payload": "/out_of_scope"},
]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the published content of knowledge/, built once."""
    path = tmp_path_factory.mktemp("inbox") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        content.ensure_content(session, KNOWLEDGE)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, template_db: Path, tmp_path: Path) -> Iterator[Session]:
    """A session on a fresh database with content: a copy of the SQLite template, or a new
    PostgreSQL schema (``pg_engine`` of tests/content/conftest.py; skipped without a server).
    """
    if request.param == "sqlite":
        path = tmp_path / "inbox.db"
        shutil.copy(template_db, path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = request.getfixturevalue("pg_engine")
        create_schema(engine)
        with make_sessionmaker(engine).begin() as session:
            content.ensure_content(session, KNOWLEDGE)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


class Chat:
    """A conversation written the way the web app writes it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.id = chat.create_conversation(session=session, now=T0).id
        self.clock = T0

    def _now(self) -> datetime:
        self.clock += timedelta(seconds=10)
        return self.clock

    def customer(self, text: str, payload: str | None = None) -> int:
        return chat.add_message(
            session=self.session,
            conversation_id=self.id,
            sender="customer",
            text=text,
            meta={"payload": payload} if payload else None,
            now=self._now(),
        ).seq

    def bot(self, text: str = "…", faq_id: str | None = None, buttons=None, **meta) -> int:
        return chat.add_message(
            session=self.session,
            conversation_id=self.id,
            sender="bot",
            text=text,
            buttons=buttons,
            faq_id=faq_id,
            meta=meta or None,
            now=self._now(),
        ).seq

    def fallback(self, question: str) -> InboxItem | None:
        seq = self.customer(question)
        self.bot("Das kann ich leider nicht beantworten.", decision="fallback")
        return inbox.record_fallback(
            self.session, conversation_id=self.id, message_seq=seq, now=self._now()
        )


def open_items(session: Session) -> list[InboxItem]:
    statement = select(InboxItem).where(InboxItem.state == "open").order_by(InboxItem.id)
    return list(session.execute(statement).scalars())


# --- similarity and grouping -------------------------------------------------------------------

SOFORTHILFE = [
    "Wann kommt die Soforthilfe?",
    "wann kommt die soforthilfe",
    "Wann kommt denn die Dezember-Soforthilfe",
]


@pytest.mark.parametrize(
    "other", ["wann kommt die soforthilfe", "Wann kommt denn die Dezember-Soforthilfe"]
)
def test_paraphrases_are_similar(other):
    assert inbox.similarity("Wann kommt die Soforthilfe?", other) >= inbox.SIMILARITY_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Wann kommt die Soforthilfe?", "Wann kommt die Gaspreisbremse?"),  # same frame
        ("Wann kommt die Soforthilfe?", "Wie wird das Wetter morgen?"),
        ("Gaspreisbremse?", "Strompreisbremse?"),
        ("Gaspreisbremse beantragen", "Strompreisbremse beantragen"),
    ],
)
def test_unrelated_questions_are_not(a, b):
    assert inbox.similarity(a, b) < inbox.SIMILARITY_THRESHOLD


def test_spelling_variants_are_identical():
    assert inbox.similarity("Gas-Preisbremse für Mieter", "gaspreisbremse fuer MIETER!") == 1.0


def test_grouping_puts_paraphrases_together_and_is_deterministic(db):
    conversation = Chat(db)
    for question in [
        SOFORTHILFE[0],
        "Wie wird das Wetter morgen?",
        SOFORTHILFE[1],
        "Wann kommt die Gaspreisbremse?",
        SOFORTHILFE[2],
    ]:
        assert conversation.fallback(question) is not None
    groups = inbox.open_groups(db)
    assert inbox.open_groups(db) == groups  # same input, same groups
    first, *rest = groups
    assert first.count == 3 and first.kinds == ("fallback",)
    assert first.text == SOFORTHILFE[0]  # the most frequent wording, as first written
    assert sorted(e.text for e in first.entries) == sorted(SOFORTHILFE)
    assert first.item_ids == tuple(sorted(first.item_ids))
    assert [e.id for e in first.entries] == sorted(first.item_ids, reverse=True)  # newest first
    assert first.newest_at == max(e.created_at for e in first.entries)
    assert sorted(g.text for g in rest) == [
        "Wann kommt die Gaspreisbremse?",
        "Wie wird das Wetter morgen?",
    ]
    assert all(g.count == 1 for g in rest)
    json = first.as_dict()
    assert json["count"] == 3 and json["newest_at"].endswith("Z")
    assert set(json["entries"][0]) == {"id", "kind", "text", "faq_id", "created_at"}
    assert inbox.open_count(db) == 5
    assert len(inbox.open_groups(db, limit=1)) == 1


def test_groups_of_real_question_variants_rarely_mix_topics(db, kb):
    topics = ("soforthilfe_ueberblick", "gaspreisbremse", "strompreisbremse", "zaehlerstand_melden")
    topic_of = {q: t for t in topics for q in kb.topics[t].questions}
    conversation = Chat(db)
    db.add_all(
        InboxItem(conversation_id=conversation.id, kind="fallback", text=q, created_at=T0)
        for q in topic_of
    )
    groups = inbox.open_groups(db, limit=1000)
    assert sum(g.count for g in groups) == len(topic_of)
    assert len(groups) < 0.8 * len(topic_of)  # it does group
    majority = sum(
        Counter(topic_of[e.text] for e in g.entries).most_common(1)[0][1] for g in groups
    )
    assert majority / len(topic_of) >= 0.95


def test_groups_mix_kinds_and_name_topics(db):
    one, two = Chat(db), Chat(db)
    one.fallback("Wann kommt die Soforthilfe?")
    seq = two.customer("wann kommt die Soforthilfe")
    two.bot("Die Soforthilfe …", faq_id="soforthilfe_ueberblick")
    item = inbox.record_feedback(db, conversation_id=two.id, faq_id="soforthilfe_ueberblick")
    assert item is not None and item.message_seq == seq
    [group] = inbox.open_groups(db)
    assert group.kinds == ("fallback", "feedback")
    assert group.faq_ids == ("soforthilfe_ueberblick",)


# --- collecting --------------------------------------------------------------------------------


def test_a_message_is_collected_once(db):
    conversation = Chat(db)
    question = conversation.customer("Wie wird das Wetter?")
    conversation.bot("Das kann ich leider nicht beantworten.", decision="fallback")
    request = conversation.customer("Mit einer Person sprechen", payload="/human_handoff")
    conversation.bot("Gern verbinde ich Sie …", handoff="queued")
    assert inbox.record_fallback(db, conversation_id=conversation.id, message_seq=question)
    assert inbox.record_fallback(db, conversation_id=conversation.id, message_seq=question) is None
    # The handoff would be about the same question: it is in the inbox already.
    assert inbox.record_handoff(db, conversation_id=conversation.id, request_seq=request) is None
    assert len(open_items(db)) == 1


def test_none_of_these_stands_for_the_question_asked_back_about(db):
    conversation = Chat(db)
    conversation.customer("Mehrwertsteuer?")
    conversation.bot("Meinten Sie …?", buttons=CLARIFY)
    click = conversation.customer("Nichts davon", payload="/out_of_scope")
    conversation.bot("Das kann ich leider nicht beantworten.", decision="fallback")
    item = inbox.record_fallback(db, conversation_id=conversation.id, message_seq=click)
    assert item is not None and (item.text, item.message_seq) == ("Mehrwertsteuer?", 1)


def test_clicks_on_buttons_the_bot_did_not_offer_are_never_inbox_texts(db):
    conversation = Chat(db)
    click = conversation.customer("Preisbremsen", payload="/faq_preisbremsen_ueberblick")
    conversation.bot("Das kann ich leider nicht beantworten.", decision="fallback")
    typed = conversation.customer("/out_of_scope")  # a payload typed by hand
    conversation.bot("Das kann ich leider nicht beantworten.", decision="fallback")
    for seq in (click, typed):
        assert inbox.record_fallback(db, conversation_id=conversation.id, message_seq=seq) is None
    assert open_items(db) == []


def test_nothing_worth_reviewing_is_not_collected(db):
    assert Chat(db).fallback("Hallo?") is None
    assert Chat(db).fallback("???") is None


def test_thumbs_down_after_a_clarification_files_the_typed_question(db):
    conversation = Chat(db)
    conversation.customer("Mehrwertsteuer?")
    conversation.bot("Meinten Sie …?", buttons=CLARIFY)
    conversation.customer("MwSt-Senkung", payload="/faq_mwst_senkung")
    conversation.bot("Die Senkung …", faq_id="mwst_senkung")
    item = inbox.record_feedback(db, conversation_id=conversation.id, faq_id="mwst_senkung")
    assert item is not None
    assert (item.kind, item.text, item.faq_id) == ("feedback", "Mehrwertsteuer?", "mwst_senkung")


def test_thumbs_down_without_a_question_files_the_topic_title(db):
    conversation = Chat(db)
    conversation.customer("Preisbremsen", payload="/faq_gaspreisbremse")  # a start topic
    answer = conversation.bot("Die Gaspreisbremse …", faq_id="gaspreisbremse")
    item = inbox.record_feedback(db, conversation_id=conversation.id, faq_id="gaspreisbremse")
    title = db.get(ContentTopic, "gaspreisbremse").data["title"]
    assert item is not None and (item.text, item.message_seq) == (title, answer)
    # An unknown topic the bot never answered here is nothing to review.
    assert (
        inbox.record_feedback(db, conversation_id=conversation.id, faq_id="gibt_es_nicht") is None
    )


def test_handoff_files_the_newest_question_the_bot_answered(db):
    conversation = Chat(db)
    conversation.customer("Wann kommt die Soforthilfe?")
    conversation.bot("Die Soforthilfe …", faq_id="soforthilfe_ueberblick")
    conversation.customer("ok")  # not worth reviewing
    conversation.bot("Gern.")
    request = conversation.customer("Ich möchte mit einem Menschen sprechen")
    conversation.bot("Gern verbinde ich Sie …", handoff="queued")
    item = inbox.record_handoff(db, conversation_id=conversation.id, request_seq=request)
    assert item is not None
    assert (item.kind, item.text, item.message_seq, item.faq_id) == (
        "handoff",
        "Wann kommt die Soforthilfe?",
        1,
        "soforthilfe_ueberblick",
    )


def test_handoff_skips_what_the_customer_told_an_agent(db):
    conversation = Chat(db)
    conversation.customer("Meine Rechnung ist falsch")  # written while an agent chatted
    chat.add_message(session=db, conversation_id=conversation.id, sender="agent", text="Gern.")
    request = conversation.customer("Ich möchte mit einem Menschen sprechen")
    conversation.bot("Gern verbinde ich Sie …", handoff="queued")
    assert inbox.record_handoff(db, conversation_id=conversation.id, request_seq=request) is None


def test_collect_never_raises_and_keeps_the_callers_writes(db):
    conversation = Chat(db)
    seq = conversation.customer("Wie wird das Wetter?")

    def broken(session: Session, **kwargs: object) -> None:
        session.add(InboxItem(conversation_id="nope", kind="fallback", text="x", created_at=T0))
        session.flush()  # foreign key violation inside the savepoint

    assert inbox.collect(db, broken, conversation_id=conversation.id) is None
    item = inbox.collect(
        db, inbox.record_fallback, conversation_id=conversation.id, message_seq=seq
    )
    assert item is not None
    db.commit()
    assert db.execute(text("select count(*) from messages")).scalar() == 1
    assert [i.text for i in open_items(db)] == ["Wie wird das Wetter?"]


# --- excerpt -----------------------------------------------------------------------------------


def test_excerpt_shows_the_conversation_around_the_item_masked(db):
    conversation = Chat(db)
    for number in range(1, 4):
        conversation.customer(f"Frage {number} zur Gaspreisbremse")
        conversation.bot("Die Gaspreisbremse …", faq_id="gaspreisbremse")
    item = conversation.fallback("Meine IBAN DE89 3704 0044 0532 0130 00 – wann kommt Geld?")
    conversation.customer("Hallo?")
    conversation.bot("Wie kann ich helfen?")
    assert item is not None and item.message_seq == 7
    lines = inbox.excerpt(db, item.id, before=2, after=1)
    assert [(m["seq"], m["sender"], m["is_item"]) for m in lines] == [
        (5, "customer", False),
        (6, "bot", False),
        (7, "customer", True),
        (8, "bot", False),
    ]
    assert "[IBAN]" in lines[2]["text"] and "DE89" not in lines[2]["text"]
    assert item.text == lines[2]["text"]
    assert lines[1]["faq_id"] == "gaspreisbremse" and lines[1]["buttons"] == []
    assert set(lines[0]) == {"seq", "sender", "text", "buttons", "faq_id", "created_at", "is_item"}
    assert [m["seq"] for m in inbox.excerpt(db, item.id)] == [3, 4, 5, 6, 7, 8, 9]


def test_excerpt_of_an_unknown_item(db):
    with pytest.raises(inbox.UnknownInboxItem, match="gibt es nicht"):
        inbox.excerpt(db, 999)


# --- resolving ---------------------------------------------------------------------------------


def test_add_as_variant_publishes_the_question_and_queues_training(db):
    items = [Chat(db).fallback(q) for q in SOFORTHILFE]
    ids = [i.id for i in items if i is not None]
    before = content.generation(db)
    revision = inbox.add_as_variant(
        db,
        item_ids=ids,
        topic_id="soforthilfe_ueberblick",
        text="  Wann kommt denn die   Dezember-Soforthilfe? ",
        actor=EDITOR,
        knowledge_dir=KNOWLEDGE,
        now=T0,
    )
    db.commit()
    assert revision.state == "published"
    questions = db.get(ContentTopic, "soforthilfe_ueberblick").data["questions"]
    assert questions[-1] == "Wann kommt denn die Dezember-Soforthilfe?"
    assert content.generation(db) == before + 1
    [run] = db.execute(select(TrainingRun)).scalars().all()
    assert run.state == "queued" and run.generation == before + 1
    resolved = db.execute(select(InboxItem).where(InboxItem.id.in_(ids))).scalars().all()
    assert {(i.state, i.resolved_topic, i.resolved_by) for i in resolved} == {
        ("added", "soforthilfe_ueberblick", "Erika")
    }
    assert inbox.open_groups(db) == []
    actions = db.execute(select(AuditEntry.action)).scalars().all()
    assert "inbox.add" in actions and "publish" in actions


def test_add_as_variant_with_four_eyes_waits_for_review(db):
    content.set_four_eyes(db, enabled=True, actor=EDITOR)
    item = Chat(db).fallback("Wann kommt die Soforthilfe?")
    assert item is not None
    revision = inbox.add_as_variant(
        db,
        item_ids=[item.id],
        topic_id="soforthilfe_ueberblick",
        text=item.text,
        actor=EDITOR,
        knowledge_dir=KNOWLEDGE,
    )
    assert revision.state == "pending"
    assert item.state == "added"
    assert db.execute(select(TrainingRun)).first() is None  # only after the approval


@pytest.mark.parametrize(
    ("topic_id", "question", "error", "message"),
    [
        ("soforthilfe_ueberblick", "   ", InvalidContent, "leer"),
        ("soforthilfe_ueberblick", "/faq_x", InvalidContent, "Button"),
        ("soforthilfe_ueberblick", "Wann kommt Geld auf [IBAN]?", InvalidContent, r"\[IBAN\]"),
        ("soforthilfe_ueberblick", "Geld auf DE89 3704 0044 0532 0130 00?", InvalidContent,
         "persönliche Daten"),
        ("soforthilfe_ueberblick", "Rufen Sie 0171 2345678 an?", InvalidContent,
         "persönliche Daten"),
        ("gibt_es_nicht", "Wann kommt die Soforthilfe?", UnknownTopic, "gibt es nicht"),
    ],
)
def test_add_as_variant_refuses_bad_input(db, topic_id, question, error, message):
    item = Chat(db).fallback("Wann kommt die Soforthilfe?")
    assert item is not None
    with pytest.raises(error, match=message):
        inbox.add_as_variant(
            db,
            item_ids=[item.id],
            topic_id=topic_id,
            text=question,
            actor=EDITOR,
            knowledge_dir=KNOWLEDGE,
        )
    assert item.state == "open"


def test_add_as_variant_refuses_a_question_a_topic_has_already(db):
    existing = db.get(ContentTopic, "gaspreisbremse").data["questions"][0]
    item = Chat(db).fallback(existing)
    assert item is not None
    with pytest.raises(InvalidContent, match="schon eine Frage des Themas"):
        inbox.add_as_variant(
            db,
            item_ids=[item.id],
            topic_id="mwst_ende",
            text=existing.upper(),
            actor=EDITOR,
            knowledge_dir=KNOWLEDGE,
        )


def test_start_topic_returns_the_text_for_the_first_question(db):
    items = [Chat(db).fallback(q) for q in ("Gibt es einen Bonus für E-Autos?",) * 2]
    ids = [i.id for i in items if i is not None]
    assert inbox.start_topic(db, item_ids=ids, actor=EDITOR) == "Gibt es einen Bonus für E-Autos?"
    assert {i.state for i in items if i is not None} == {"new_topic"}
    assert db.execute(select(AuditEntry.action)).scalars().all()[-1] == "inbox.new_topic"


def test_dismiss_and_resolving_twice_fails(db):
    item = Chat(db).fallback("Wie wird das Wetter?")
    assert item is not None
    assert inbox.dismiss(db, item_ids=[item.id], actor=EDITOR) == 1
    assert item.state == "dismissed" and item.resolved_by == "Erika"
    assert inbox.open_groups(db) == []
    with pytest.raises(NotAllowed, match="schon bearbeitet"):
        inbox.dismiss(db, item_ids=[item.id], actor=EDITOR)
    with pytest.raises(NotAllowed, match="schon bearbeitet"):
        inbox.start_topic(db, item_ids=[item.id], actor=EDITOR)
    with pytest.raises(NotAllowed, match="schon bearbeitet"):
        inbox.add_as_variant(
            db,
            item_ids=[item.id],
            topic_id="soforthilfe_ueberblick",
            text="Wie wird das Wetter?",
            actor=EDITOR,
            knowledge_dir=KNOWLEDGE,
        )


def test_resolving_needs_existing_items(db):
    with pytest.raises(NotAllowed, match="mindestens einen"):
        inbox.dismiss(db, item_ids=[], actor=EDITOR)
    with pytest.raises(inbox.UnknownInboxItem, match="42"):
        inbox.dismiss(db, item_ids=[42], actor=EDITOR)


# --- deleting ----------------------------------------------------------------------------------


def test_deleting_a_conversation_deletes_its_items(db):
    kept, deleted, cascaded = Chat(db), Chat(db), Chat(db)
    for conversation in (kept, deleted, cascaded):
        conversation.fallback("Wie wird das Wetter?")
    db.commit()
    chat.delete_conversation(session=db, conversation_id=deleted.id)
    # Also without the repository: the foreign key's ON DELETE CASCADE.
    db.execute(text("delete from messages where conversation_id = :c"), {"c": cascaded.id})
    db.execute(text("delete from conversations where id = :c"), {"c": cascaded.id})
    db.commit()
    assert [i.conversation_id for i in open_items(db)] == [kept.id]
