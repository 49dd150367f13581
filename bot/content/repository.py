"""The editors' content store: drafts, review, publishing, history, rollback, audit, import/export.

Plain functions over a SQLAlchemy ``Session`` (2.0 style); the caller commits. Every change an
editor makes is written to ``audit_log`` in the same transaction. Publishing validates the whole
content with the new topic in place (the loader's checks: fields, placeholders, figures, a
question in two topics, related ids), so nothing invalid ever reaches customers.

Errors raised to the web layer carry German messages for editors:

* ``ContentError``: base class; ``message`` is shown to the editor.
* ``InvalidContent``: the document does not validate; ``problems`` lists each field's problem
  as a ``bot.knowledge.errors.Problem`` (a code, worded in German by the web tier).
* ``EditConflict``: someone published the topic since the draft was started.
* ``ReviewRequired`` / ``NotAllowed``: the four-eyes rule or a state forbids the step.
* ``UnknownTopic`` / ``UnknownRevision``: no such id.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, desc, func, select, update
from sqlalchemy.orm import Session

from bot.content.documents import (
    build_knowledge,
    dump_topic,
    load_facts_and_utility,
    normalize,
    read_topic_files,
)
from bot.content.models import (
    AuditEntry,
    ContentRevision,
    ContentSetting,
    ContentTopic,
    TrainingRun,
)
from bot.knowledge.errors import KnowledgeError, Problem
from bot.knowledge.model import KnowledgeBase

TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
SYSTEM_ACTOR = "System"


class ContentError(Exception):
    """A content operation that cannot be done; ``message`` is German, for editors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidContent(ContentError):
    """The topic does not validate; ``problems`` names each field.

    The problems of the topic being validated have no ``file``; problems of other topics (a
    question both have) keep theirs.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("Der Inhalt ist noch nicht gültig: " + "; ".join(map(str, problems)))
        self.problems = list(problems)


class EditConflict(ContentError):
    """The topic was published by someone else since this draft was started."""


class NotAllowed(ContentError):
    """The step is not allowed in the current state or for this person."""


class UnknownTopic(ContentError):
    """No topic with this id."""


class UnknownRevision(ContentError):
    """No revision with this id."""


@dataclass(frozen=True)
class Actor:
    """Who does something: the logged-in user (``id`` None for the CLI and the system)."""

    id: int | None
    name: str


def _now(now: datetime | None = None) -> datetime:
    return now or datetime.now(timezone.utc)


# --- settings ------------------------------------------------------------------------------


def get_setting(session: Session, key: str, default: Any = None) -> Any:
    """A content setting's value, or ``default``."""
    row = session.get(ContentSetting, key)
    return default if row is None else row.value


def set_setting(session: Session, key: str, value: Any) -> None:
    """Create or replace a content setting."""
    row = session.get(ContentSetting, key)
    if row is None:
        session.add(ContentSetting(key=key, value=value))
    else:
        row.value = value


def generation(session: Session) -> int:
    """The content generation: grows by one with every publish, import or rollback."""
    return int(get_setting(session, "generation", 0))


def _bump_generation(session: Session) -> int:
    new = generation(session) + 1
    set_setting(session, "generation", new)
    return new


def four_eyes(session: Session) -> bool:
    """True when publishing needs a second person's approval (default off for the demo)."""
    return bool(get_setting(session, "four_eyes", False))


def set_four_eyes(session: Session, *, enabled: bool, actor: Actor) -> None:
    """Switch the four-eyes rule on or off (admins)."""
    set_setting(session, "four_eyes", bool(enabled))
    audit(session, actor=actor, action="settings.four_eyes", target="four_eyes",
          detail={"enabled": bool(enabled)})


# --- audit ---------------------------------------------------------------------------------


def audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Record who did what to which target."""
    entry = AuditEntry(
        at=_now(now), actor_id=actor.id, actor_name=actor.name, action=action,
        target=target, detail=detail,
    )
    session.add(entry)
    return entry


def audit_log(
    session: Session, *, limit: int = 100, offset: int = 0, target: str | None = None
) -> list[AuditEntry]:
    """The newest audit entries first."""
    query = select(AuditEntry).order_by(desc(AuditEntry.id)).limit(limit).offset(offset)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    return list(session.execute(query).scalars())


# --- reading -------------------------------------------------------------------------------


def published_documents(session: Session) -> dict[str, dict[str, Any]]:
    """The published document of every topic, by id."""
    rows = session.execute(select(ContentTopic).order_by(ContentTopic.id)).scalars()
    return {row.id: dict(row.data) for row in rows}


def published(session: Session, topic_id: str) -> ContentTopic:
    """The published row of a topic.

    Raises:
        UnknownTopic: no such topic.
    """
    row: ContentTopic | None = session.get(ContentTopic, topic_id)
    if row is None:
        raise UnknownTopic(f"Das Thema {topic_id!r} gibt es nicht.")
    return row


def knowledge_base(session: Session, knowledge_dir: Path) -> KnowledgeBase:
    """The published content with the facts and utility profile of ``knowledge_dir``."""
    facts, utility = load_facts_and_utility(knowledge_dir)
    return build_knowledge(published_documents(session), facts, utility)


def revision(session: Session, revision_id: int) -> ContentRevision:
    """One revision.

    Raises:
        UnknownRevision: no such revision.
    """
    row: ContentRevision | None = session.get(ContentRevision, revision_id)
    if row is None:
        raise UnknownRevision(f"Den Entwurf {revision_id} gibt es nicht.")
    return row


def history(session: Session, topic_id: str) -> list[ContentRevision]:
    """Every revision of a topic, newest first."""
    query = (
        select(ContentRevision)
        .where(ContentRevision.topic_id == topic_id)
        .order_by(desc(ContentRevision.id))
    )
    return list(session.execute(query).scalars())


def open_revisions(session: Session, topic_id: str | None = None) -> list[ContentRevision]:
    """Drafts and revisions waiting for review (of one topic, or all)."""
    query = select(ContentRevision).where(ContentRevision.state.in_(("draft", "pending")))  # type: ignore[attr-defined]
    if topic_id is not None:
        query = query.where(ContentRevision.topic_id == topic_id)
    return list(session.execute(query.order_by(ContentRevision.id)).scalars())


def diff(old: dict[str, Any] | None, new: dict[str, Any], *, old_label: str = "vorher",
         new_label: str = "nachher") -> str:
    """A unified diff of two documents as YAML (what git would show after an export)."""
    before = dump_topic(old).splitlines(keepends=True) if old else []
    after = dump_topic(new).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, old_label, new_label))


def questions_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """True when the model must be retrained: a new topic or different question variants."""
    if old is None:
        return True
    return list(old.get("questions") or []) != list(new.get("questions") or [])


# --- editing -------------------------------------------------------------------------------


def _validate(
    session: Session, knowledge_dir: Path, doc: dict[str, Any], *, removing: str | None = None
) -> None:
    """Validate ``doc`` in the context of all other published topics.

    Raises:
        InvalidContent: with each problem of this topic, or of another one naming it (a
            question both have), else every problem (a broken fact file).
    """
    topic_id = doc.get("id")
    if not isinstance(topic_id, str) or not TOPIC_ID.match(topic_id):
        raise InvalidContent(
            [Problem.text("id", "nur Kleinbuchstaben, Ziffern und _, 3 bis 64 Zeichen, "
                                "beginnend mit einem Buchstaben")]
        )
    # Raw HTML and javascript:/data: links never reach customers, whichever path publishes
    # (editor API, inbox, rollback, CLI): bot.content.markdown.
    from bot.content.markdown import markdown_problems

    answer = doc.get("answer")
    unsafe = (
        [Problem.text("answer", p) for p in markdown_problems(answer)]
        if isinstance(answer, str)
        else []
    )
    docs = published_documents(session)
    if removing:
        docs.pop(removing, None)
    docs[topic_id] = doc
    try:
        facts, utility = load_facts_and_utility(knowledge_dir)
        build_knowledge(docs, facts, utility)
    except KnowledgeError as exc:
        own = f"topics/{topic_id}.yml"  # the file name bot.content.documents validates under
        mine = [
            p for p in exc.problems if p.file == own or p.params.get("other") == topic_id
        ] or exc.problems
        problems = [dataclasses.replace(p, file=None) if p.file == own else p for p in mine]
        raise InvalidContent([*unsafe, *problems]) from exc
    if unsafe:
        raise InvalidContent(unsafe)


def save_draft(
    session: Session,
    *,
    topic_id: str,
    data: dict[str, Any],
    actor: Actor,
    revision_id: int | None = None,
    now: datetime | None = None,
) -> ContentRevision:
    """Create or update a draft of ``topic_id`` (drafts may be incomplete; publishing checks).

    Raises:
        NotAllowed: the revision is not an open draft of this topic.
    """
    when = _now(now)
    current = session.get(ContentTopic, topic_id)
    doc = normalize({**data, "id": topic_id})
    doc["version"] = (current.version + 1) if current else 1
    if revision_id is not None:
        rev = revision(session, revision_id)
        if rev.topic_id != topic_id or rev.state not in ("draft", "rejected"):
            raise NotAllowed("Dieser Entwurf kann nicht mehr geändert werden.")
        rev.data = doc
        rev.state = "draft"
        rev.updated_at = when
    else:
        rev = ContentRevision(
            topic_id=topic_id,
            base_version=current.version if current else None,
            data=doc,
            state="draft",
            author_id=actor.id,
            author_name=actor.name,
            created_at=when,
            updated_at=when,
        )
        session.add(rev)
    session.flush()
    audit(session, actor=actor, action="draft.save", target=topic_id,
          detail={"revision": rev.id}, now=when)
    return rev


def _publish(
    session: Session,
    rev: ContentRevision,
    *,
    actor: Actor,
    knowledge_dir: Path,
    reviewer: Actor | None,
    now: datetime,
    action: str = "publish",
) -> ContentRevision:
    current = session.get(ContentTopic, rev.topic_id)
    current_version = current.version if current else None
    if rev.base_version != current_version:
        raise EditConflict(
            f"Das Thema wurde inzwischen in Version {current_version} veröffentlicht. "
            "Bitte öffnen Sie es neu und übernehmen Sie Ihre Änderungen."
        )
    doc = dict(rev.data)
    doc["version"] = (current_version or 0) + 1
    _validate(session, knowledge_dir, doc)
    old = dict(current.data) if current else None
    if current is None:
        session.add(
            ContentTopic(id=rev.topic_id, version=doc["version"], data=doc, published_at=now,
                         published_by=actor.id)
        )
    else:
        current.version = doc["version"]
        current.data = doc
        current.published_at = now
        current.published_by = actor.id
    rev.data = doc
    rev.version = doc["version"]
    rev.state = "published"
    rev.published_at = now
    rev.updated_at = now
    if reviewer is not None:
        rev.reviewer_id = reviewer.id
        rev.reviewer_name = reviewer.name
        rev.reviewed_at = now
    gen = _bump_generation(session)
    retrain = questions_changed(old, doc)
    audit(session, actor=reviewer or actor, action=action, target=rev.topic_id,
          detail={"revision": rev.id, "version": doc["version"], "retrain": retrain,
                  "diff": diff(old, doc)[:20000]}, now=now)
    if retrain:
        request_training(session, generation=gen, requested_by=(reviewer or actor).name, now=now)
    session.flush()
    return rev


def submit(
    session: Session,
    *,
    revision_id: int,
    actor: Actor,
    knowledge_dir: Path,
    now: datetime | None = None,
) -> ContentRevision:
    """Publish a draft, or with the four-eyes rule on, send it for review.

    Validation runs in both cases, so reviewers only see drafts that could go live.

    Raises:
        InvalidContent, EditConflict, NotAllowed.
    """
    when = _now(now)
    rev = revision(session, revision_id)
    if rev.state not in ("draft", "rejected"):
        raise NotAllowed("Nur Entwürfe können veröffentlicht werden.")
    if four_eyes(session):
        current = session.get(ContentTopic, rev.topic_id)
        if rev.base_version != (current.version if current else None):
            raise EditConflict(
                "Das Thema wurde inzwischen neu veröffentlicht. Bitte öffnen Sie es neu."
            )
        _validate(session, knowledge_dir, {**rev.data, "version": rev.data.get("version", 1)})
        rev.state = "pending"
        rev.updated_at = when
        audit(session, actor=actor, action="review.request", target=rev.topic_id,
              detail={"revision": rev.id}, now=when)
        return rev
    return _publish(session, rev, actor=actor, knowledge_dir=knowledge_dir, reviewer=None,
                    now=when)


def approve(
    session: Session,
    *,
    revision_id: int,
    actor: Actor,
    knowledge_dir: Path,
    now: datetime | None = None,
) -> ContentRevision:
    """A second person approves a pending revision, which publishes it.

    Raises:
        NotAllowed: not pending, or the reviewer is the author (four-eyes rule).
    """
    rev = revision(session, revision_id)
    if rev.state != "pending":
        raise NotAllowed("Dieser Entwurf wartet nicht auf Freigabe.")
    if rev.author_id is not None and rev.author_id == actor.id:
        raise NotAllowed("Vier-Augen-Prinzip: Eigene Änderungen muss eine zweite Person freigeben.")
    return _publish(session, rev, actor=actor, knowledge_dir=knowledge_dir, reviewer=actor,
                    now=_now(now), action="review.approve")


def reject(
    session: Session,
    *,
    revision_id: int,
    actor: Actor,
    note: str,
    now: datetime | None = None,
) -> ContentRevision:
    """A reviewer sends a pending revision back to its author with a note."""
    when = _now(now)
    rev = revision(session, revision_id)
    if rev.state != "pending":
        raise NotAllowed("Dieser Entwurf wartet nicht auf Freigabe.")
    if rev.author_id is not None and rev.author_id == actor.id:
        raise NotAllowed("Vier-Augen-Prinzip: Eigene Änderungen prüft eine zweite Person.")
    rev.state = "rejected"
    rev.note = note[:500]
    rev.reviewer_id = actor.id
    rev.reviewer_name = actor.name
    rev.reviewed_at = when
    rev.updated_at = when
    audit(session, actor=actor, action="review.reject", target=rev.topic_id,
          detail={"revision": rev.id, "note": note[:500]}, now=when)
    return rev


def discard(
    session: Session, *, revision_id: int, actor: Actor, now: datetime | None = None
) -> ContentRevision:
    """Throw a draft away (kept in the history as ``discarded``)."""
    when = _now(now)
    rev = revision(session, revision_id)
    if rev.state not in ("draft", "rejected", "pending"):
        raise NotAllowed("Nur offene Entwürfe können verworfen werden.")
    rev.state = "discarded"
    rev.updated_at = when
    audit(session, actor=actor, action="draft.discard", target=rev.topic_id,
          detail={"revision": rev.id}, now=when)
    return rev


def rollback(
    session: Session,
    *,
    topic_id: str,
    to_version: int,
    actor: Actor,
    knowledge_dir: Path,
    now: datetime | None = None,
) -> ContentRevision:
    """Publish the content of an earlier version again, as a new version (one click).

    A rollback is an emergency brake, so it does not wait for a review even with the four-eyes
    rule on; the audit log records it.

    Raises:
        UnknownRevision: that version was never published.
    """
    when = _now(now)
    current = published(session, topic_id)
    old = session.execute(
        select(ContentRevision).where(
            ContentRevision.topic_id == topic_id,
            ContentRevision.state == "published",
            ContentRevision.version == to_version,
        )
    ).scalar_one_or_none()
    if old is None:
        raise UnknownRevision(f"Version {to_version} von {topic_id!r} gibt es nicht.")
    rev = ContentRevision(
        topic_id=topic_id,
        base_version=current.version,
        data=dict(old.data),
        state="draft",
        note=f"Zurückgesetzt auf Version {to_version}",
        author_id=actor.id,
        author_name=actor.name,
        created_at=when,
        updated_at=when,
    )
    session.add(rev)
    session.flush()
    return _publish(session, rev, actor=actor, knowledge_dir=knowledge_dir, reviewer=None,
                    now=when, action="rollback")


def add_question(
    session: Session,
    *,
    topic_id: str,
    question: str,
    actor: Actor,
    knowledge_dir: Path,
    now: datetime | None = None,
) -> ContentRevision:
    """Add one question variant to a topic (from the inbox) as a draft and submit it."""
    current = published(session, topic_id)
    doc = dict(current.data)
    doc["questions"] = [*doc.get("questions", []), question.strip()]
    rev = save_draft(session, topic_id=topic_id, data=doc, actor=actor, now=now)
    return submit(session, revision_id=rev.id, actor=actor, knowledge_dir=knowledge_dir, now=now)


# --- training queue ------------------------------------------------------------------------


def request_training(
    session: Session, *, generation: int, requested_by: str, now: datetime | None = None
) -> TrainingRun:
    """Queue a retraining for content ``generation``; a queued run is reused (one at a time)."""
    queued = session.execute(
        select(TrainingRun).where(TrainingRun.state == "queued").order_by(TrainingRun.id)
    ).scalars().first()
    if isinstance(queued, TrainingRun):
        queued.generation = max(queued.generation, generation)
        return queued
    run = TrainingRun(state="queued", generation=generation, requested_by=requested_by,
                      created_at=_now(now))
    session.add(run)
    return run


def training_runs(session: Session, *, limit: int = 20) -> list[TrainingRun]:
    """The newest training runs first."""
    query = select(TrainingRun).order_by(desc(TrainingRun.id)).limit(limit)
    return list(session.execute(query).scalars())


# --- import / export -------------------------------------------------------------------------


def import_knowledge(
    session: Session, knowledge_dir: Path, *, actor: Actor, now: datetime | None = None
) -> int:
    """Load ``knowledge/topics`` into the database, replacing the published content.

    Every topic whose document differs from the database gets a new published revision with
    the file's version; topics missing from the files are removed. The files are validated
    first, so a broken file changes nothing.

    Returns:
        The number of topics that changed.

    Raises:
        KnowledgeError: the files do not validate.
    """
    when = _now(now)
    docs = read_topic_files(knowledge_dir)
    facts, utility = load_facts_and_utility(knowledge_dir)
    build_knowledge(docs, facts, utility)
    current = {row.id: row for row in session.execute(select(ContentTopic)).scalars()}
    changed = 0
    for topic_id, doc in docs.items():
        row = current.get(topic_id)
        if row is not None and row.data == doc:
            continue
        changed += 1
        if row is None:
            session.add(ContentTopic(id=topic_id, version=doc["version"], data=doc,
                                     published_at=when, published_by=actor.id))
        else:
            row.version, row.data, row.published_at = doc["version"], doc, when
            row.published_by = actor.id
        session.add(
            ContentRevision(topic_id=topic_id, base_version=None, version=doc["version"],
                            data=doc, state="published", note="Import aus knowledge/",
                            author_id=actor.id, author_name=actor.name, created_at=when,
                            updated_at=when, published_at=when)
        )
    for topic_id in set(current) - set(docs):
        changed += 1
        session.execute(delete(ContentTopic).where(ContentTopic.id == topic_id))
    if changed:
        _bump_generation(session)
        audit(session, actor=actor, action="import", target="knowledge/",
              detail={"changed": changed}, now=when)
    from bot.content.sync import record_files  # (sync builds on this module)

    record_files(session, docs)  # files and database agree now (bot.content.sync)
    session.flush()
    return changed


def export_knowledge(session: Session, knowledge_dir: Path) -> list[str]:
    """Write the published topics to ``knowledge_dir/topics`` as YAML; return changed files.

    Unchanged files are not touched (their mtime stays, so ``make`` does not retrain), files
    of topics that no longer exist are deleted.
    """
    target = knowledge_dir / "topics"
    target.mkdir(parents=True, exist_ok=True)
    docs = published_documents(session)
    changed = []
    for topic_id, doc in docs.items():
        path = target / f"{topic_id}.yml"
        text = dump_topic(doc)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(str(path))
    for path in sorted(target.glob("*.yml")):
        if path.stem not in docs:
            path.unlink()
            changed.append(str(path))
    return changed


def ensure_content(session: Session, knowledge_dir: Path) -> bool:
    """Import ``knowledge/`` when the database holds no content yet (first start).

    Returns:
        True when it imported.
    """
    count = session.execute(select(func.count()).select_from(ContentTopic)).scalar_one()
    if count:
        return False
    import_knowledge(session, knowledge_dir, actor=Actor(None, SYSTEM_ACTOR))
    return True


def claim_queued_training(session: Session, run_id: int, now: datetime | None = None) -> bool:
    """Atomically move a queued run to ``training`` (only one worker wins)."""
    result = session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.state == "queued")
        .values(state="training", started_at=_now(now))
    )
    return bool(result.rowcount)
