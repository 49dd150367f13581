"""The editors' actions on inbox items (issue 5): resolving what the assistant did not understand.

:func:`add_as_variant` (the items' question becomes a question variant of a topic),
:func:`start_topic` (the items start a new topic), :func:`dismiss` (nothing to learn). Only open
items can be resolved; each step is audited. Errors are ``ContentError`` subclasses with German
messages; as with every content function the caller commits, and rolls back on an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.content import repository
from bot.content.inbox.common import UnknownInboxItem, current_time
from bot.content.inbox.grouping import representative
from bot.content.models import ContentRevision, InboxItem
from bot.content.repository import Actor, InvalidContent, NotAllowed
from bot.knowledge.errors import Problem
from bot.nlu.normalize import question_key
from bot.privacy import (
    CONTRACT_PLACEHOLDER,
    CUSTOMER_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    METER_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    mask,
)

# What bot.privacy.mask puts in place of personal data: never part of a learnt question.
MASK_PLACEHOLDERS: Final = (
    IBAN_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    CUSTOMER_PLACEHOLDER,
    CONTRACT_PLACEHOLDER,
    METER_PLACEHOLDER,
)


def _open_items(session: Session, item_ids: Iterable[int]) -> list[InboxItem]:
    """The items, all of which must exist and be open.

    Raises:
        NotAllowed: no item given, or one is already resolved.
        UnknownInboxItem: an id names no item.
    """
    ids = sorted(set(item_ids))
    if not ids:
        raise NotAllowed("Bitte wählen Sie mindestens einen Eintrag aus.")
    statement = select(InboxItem).where(InboxItem.id.in_(ids))  # type: ignore[attr-defined]
    rows = session.execute(statement).scalars().all()
    found = {row.id: row for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownInboxItem(
            f"Den Eintrag {missing[0]} gibt es nicht (mehr)."
            if len(missing) == 1
            else f"Die Einträge {', '.join(map(str, missing))} gibt es nicht (mehr)."
        )
    if any(found[i].state != "open" for i in ids):
        raise NotAllowed(
            "Mindestens ein Eintrag wurde schon bearbeitet. Bitte laden Sie den Posteingang neu."
        )
    return [found[i] for i in ids]


def _resolve(
    session: Session,
    items: Sequence[InboxItem],
    *,
    state: str,
    actor: Actor,
    now: datetime,
    topic_id: str | None = None,
) -> None:
    """Mark open items resolved; conditional on ``open``, so of two editors only one wins.

    Raises:
        NotAllowed: another editor resolved one of them in the meantime.
    """
    ids = [item.id for item in items]
    result = session.execute(
        update(InboxItem)
        .where(InboxItem.id.in_(ids), InboxItem.state == "open")  # type: ignore[attr-defined]
        .values(state=state, resolved_by=actor.name, resolved_at=now, resolved_topic=topic_id)
        .execution_options(synchronize_session="evaluate")
    )
    if result.rowcount != len(ids):
        raise NotAllowed(
            "Jemand anderes hat diese Einträge gerade bearbeitet. Bitte laden Sie neu."
        )


def add_as_variant(
    session: Session,
    *,
    item_ids: Iterable[int],
    topic_id: str,
    text: str,
    actor: Actor,
    knowledge_dir: Path,
    now: datetime | None = None,
) -> ContentRevision:
    """Add ``text`` (the editor's wording of the items) as a question variant of a topic.

    Publishes the topic with the new question and queues a retraining, or with the four-eyes
    rule on sends it for review (``repository.add_question``); the items become ``added`` with
    ``resolved_topic`` either way.

    Args:
        session: the open session.
        item_ids: the open items the question stands for (e.g. a group's ``item_ids``).
        topic_id: the topic that answers them.
        text: the question as it should be learnt (edited, without personal data).
        actor: the editor.
        knowledge_dir: the knowledge directory (facts, utility profile) for validation.
        now: the time of the change.

    Returns:
        The revision: ``published``, or ``pending`` with the four-eyes rule.

    Raises:
        NotAllowed: no items, or one is no longer open.
        UnknownInboxItem: an id names no item.
        UnknownTopic: no such topic.
        InvalidContent: the question is empty, a button value, still has a placeholder of
            masked personal data ("[IBAN]"), is already a question of a topic, or the topic
            does not validate with it.
    """
    when = current_time(now)
    items = _open_items(session, item_ids)
    question = " ".join(text.split())
    if not question_key(question):
        raise InvalidContent([Problem.text("questions", "Die Frage ist leer.")])
    if question.startswith("/"):
        raise InvalidContent([Problem.text("questions", "Ein Button-Wert ist keine Frage.")])
    for placeholder in MASK_PLACEHOLDERS:
        if placeholder in question:
            raise InvalidContent([Problem.text(
                "questions",
                f"Bitte ersetzen Sie den Platzhalter {placeholder} durch eine allgemeine "
                "Formulierung.",
            )])
    if mask(question) != question:
        # The editor typed personal data (an IBAN, a phone number, an e-mail address) into
        # the question: it would go into the content, the training data and the audit log.
        raise InvalidContent([Problem.text(
            "questions",
            "Die Frage enthält persönliche Daten (IBAN, Telefonnummer oder E-Mail-Adresse). "
            "Bitte formulieren Sie sie allgemein.",
        )])
    repository.published(session, topic_id)  # UnknownTopic before anything else
    key = question_key(question)
    for other_id, doc in repository.published_documents(session).items():
        if any(question_key(str(q)) == key for q in doc.get("questions") or []):
            title = doc.get("title") or other_id
            raise InvalidContent([Problem.text(
                "questions", f"„{question}“ ist schon eine Frage des Themas „{title}“."
            )])
    revision = repository.add_question(
        session,
        topic_id=topic_id,
        question=question,
        actor=actor,
        knowledge_dir=knowledge_dir,
        now=when,
    )
    _resolve(session, items, state="added", actor=actor, now=when, topic_id=topic_id)
    repository.audit(
        session,
        actor=actor,
        action="inbox.add",
        target=topic_id,
        now=when,
        detail={
            "items": [i.id for i in items],
            "question": question,
            "revision": revision.id,
            "state": revision.state,
        },
    )
    return revision


def start_topic(
    session: Session, *, item_ids: Iterable[int], actor: Actor, now: datetime | None = None
) -> str:
    """Mark items as the start of a new topic; return the text for its first question.

    The new topic itself is created by the editor (a draft); the items are ``new_topic``.

    Returns:
        The representative text of the items (the same rule as a group's ``text``).

    Raises:
        NotAllowed: no items, or one is no longer open.
        UnknownInboxItem: an id names no item.
    """
    when = current_time(now)
    items = _open_items(session, item_ids)
    prefill = representative(items)
    _resolve(session, items, state="new_topic", actor=actor, now=when)
    repository.audit(
        session,
        actor=actor,
        action="inbox.new_topic",
        target="inbox",
        now=when,
        detail={"items": [i.id for i in items]},
    )
    return prefill


def dismiss(
    session: Session, *, item_ids: Iterable[int], actor: Actor, now: datetime | None = None
) -> int:
    """Dismiss items (nothing to learn from them).

    Returns:
        How many items were dismissed.

    Raises:
        NotAllowed: no items, or one is no longer open.
        UnknownInboxItem: an id names no item.
    """
    when = current_time(now)
    items = _open_items(session, item_ids)
    _resolve(session, items, state="dismissed", actor=actor, now=when)
    repository.audit(
        session,
        actor=actor,
        action="inbox.dismiss",
        target="inbox",
        now=when,
        detail={"items": [i.id for i in items]},
    )
    return len(items)

