"""One content source: ``knowledge/topics`` edits reach the database the assistant answers from.

The running assistant answers from the database (the editors' content store); developers edit
``knowledge/topics/*.yml``. Before issue 17 the database was seeded once and then ignored every
file edit. Now ``make run`` and ``make run-prod`` (``bot.devserver.prepare_database``) compare
three states of each topic:

* the **file** in ``knowledge/topics``,
* the **published** document in the database,
* the **baseline**: the document as it was when files and database last agreed (recorded by each
  import, export and sync in the content setting ``knowledge_files``; for a database from
  before, the last revision imported from the files).

A topic whose file changed while the database did not is published as a new version (audited as
``imported``); a new file adds a topic, a deleted file removes an unedited one. A topic changed
in both places (an editor published it and a developer edited its file) is a conflict: nothing
is imported and the start stops with the topics and both ways out (``python -m bot knowledge
export`` or ``import``). Edits made only in the editor stay (the database is ahead of the files;
``export`` writes them to ``knowledge/``). ``facts/`` and ``utility.yml`` are read from the files
by every process and need no import.

Training follows the same published content: when an import changes questions and the database
then equals the files, the editors' earlier retrained model no longer matches and is dropped, so
Rasa starts with the model ``make`` has just trained from these files; when the database also
holds editors' changes, a retraining from the published content is queued
(``bot.content.training``), which then goes live as editors' retrainings do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, desc, select
from sqlalchemy.orm import Session

from bot.content.documents import build_knowledge, load_facts_and_utility, read_topic_files
from bot.content.markdown import markdown_problems
from bot.content.models import ContentRevision, ContentTopic
from bot.content.repository import (
    Actor,
    _bump_generation,
    audit,
    diff,
    get_setting,
    published_documents,
    questions_changed,
    request_training,
    set_setting,
)
from bot.knowledge.errors import KnowledgeError, Problem

FILES_KEY = "knowledge_files"  # content setting: topic id -> digest of the agreed document
IMPORT_NOTE = "Import aus knowledge/"  # the note of revisions written by import_knowledge
SYNC_NOTE = "Import aus knowledge/ (Start)"
LIVE_MODEL_KEY = "live_model"  # bot.content.training.LIVE_MODEL_KEY (no import: rasa-free)
ACTOR = Actor(None, "knowledge/")


class ContentConflict(Exception):
    """Files and database both changed the same topics; ``message`` says how to resolve it."""

    def __init__(self, topics: list[str], message: str) -> None:
        super().__init__(message)
        self.topics = topics
        self.message = message


@dataclass
class SyncPlan:
    """What a sync does, by topic id."""

    imported: list[str] = field(default_factory=list)  # file changed, database not: new version
    added: list[str] = field(default_factory=list)  # a new file
    removed: list[str] = field(default_factory=list)  # file deleted, database unedited
    conflicts: list[str] = field(default_factory=list)  # both changed since they last agreed
    database_only: list[str] = field(default_factory=list)  # edited in the editor only

    @property
    def changes(self) -> list[str]:
        """The topics the sync writes."""
        return [*self.imported, *self.added, *self.removed]


def _body(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A document without its version: the version counts publications, not content."""
    return None if doc is None else {k: v for k, v in doc.items() if k != "version"}


def digest(doc: Mapping[str, Any] | None) -> str | None:
    """A stable fingerprint of a document's content (``None`` for no document)."""
    body = _body(doc)
    if body is None:
        return None
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_files(session: Session, docs: Mapping[str, Mapping[str, Any]]) -> None:
    """Remember ``docs`` as the state in which ``knowledge/topics`` and the database agree."""
    set_setting(session, FILES_KEY, {topic_id: digest(doc) for topic_id, doc in docs.items()})


def _baseline(session: Session) -> dict[str, str | None]:
    recorded = get_setting(session, FILES_KEY)
    if isinstance(recorded, dict):
        return {str(k): (str(v) if v else None) for k, v in recorded.items()}
    # A database from before the setting: the last revision each topic got from the files.
    baseline: dict[str, str | None] = {}
    rows = session.execute(
        select(ContentRevision).where(ContentRevision.note == IMPORT_NOTE)
        .order_by(desc(ContentRevision.id))
    ).scalars()
    for row in rows:
        baseline.setdefault(row.topic_id, digest(row.data))
    return baseline


def plan(session: Session, knowledge_dir: Path) -> SyncPlan:
    """Compare ``knowledge_dir/topics`` with the published content (writes nothing)."""
    files = read_topic_files(knowledge_dir)
    database = published_documents(session)
    baseline = _baseline(session)
    result = SyncPlan()
    for topic_id in sorted(set(files) | set(database)):
        file_digest, db_digest = digest(files.get(topic_id)), digest(database.get(topic_id))
        if file_digest == db_digest:
            continue
        base = baseline.get(topic_id)
        file_changed, db_changed = file_digest != base, db_digest != base
        if db_digest is None:
            result.added.append(topic_id)
        elif file_digest is None and base is None:
            result.database_only.append(topic_id)  # created in the editor
        elif file_changed and db_changed:
            result.conflicts.append(topic_id)
        elif file_changed:
            (result.removed if file_digest is None else result.imported).append(topic_id)
        else:
            result.database_only.append(topic_id)
    return result


def conflict_message(conflicts: list[str], knowledge_dir: Path, database: str) -> str:
    """What a developer reads when ``make run`` stops on a conflict."""
    lines = [
        f"{len(conflicts)} topic(s) changed both in {knowledge_dir / 'topics'} and in the content "
        f"database ({database}) since they last agreed:",
        *(f"  {topic_id}  ({knowledge_dir / 'topics' / (topic_id + '.yml')})"
          for topic_id in conflicts),
        "Nothing was imported. Decide which version wins, then start again:",
        "  python -m bot knowledge export   # the database's (the editors') versions overwrite "
        "knowledge/topics; review with git diff",
        "  python -m bot knowledge import   # knowledge/ overwrites the database; the editors' "
        "versions stay in each topic's history",
    ]
    return "\n".join(lines)


def sync_knowledge(
    session: Session,
    knowledge_dir: Path,
    *,
    database: str = "the database",
    now: datetime | None = None,
) -> SyncPlan:
    """Import what changed in ``knowledge_dir/topics`` since files and database last agreed.

    Returns:
        What was done.

    Raises:
        ContentConflict: a topic changed in both places; nothing was written.
        KnowledgeError: the content with the files' changes does not validate; nothing written.
    """
    when = now or datetime.now(timezone.utc)
    baseline = _baseline(session)
    result = plan(session, knowledge_dir)
    if result.conflicts:
        raise ContentConflict(result.conflicts,
                              conflict_message(result.conflicts, knowledge_dir, database))
    files = read_topic_files(knowledge_dir)
    current = {row.id: row for row in session.execute(select(ContentTopic)).scalars()}
    if result.changes:
        _check(current, files, result, knowledge_dir)
        retrain = _apply(session, current, files, result, when)
        gen = _bump_generation(session)
        if retrain and result.database_only:
            request_training(session, generation=gen, requested_by=ACTOR.name, now=when)
        elif retrain:
            # The database now holds exactly the files, from which `make` trained the model:
            # an earlier retrained model would answer from older questions.
            set_setting(session, LIVE_MODEL_KEY, None)
    # Files and database now agree on every topic except those edited in the editor only, whose
    # files are behind (not changed): they keep their old baseline.
    agreed = {topic_id: digest(doc) for topic_id, doc in files.items()
              if topic_id not in result.database_only}
    for topic_id in result.database_only:
        if baseline.get(topic_id):
            agreed[topic_id] = baseline[topic_id]
    set_setting(session, FILES_KEY, agreed)
    session.flush()
    return result


def _check(current: dict[str, ContentTopic], files: dict[str, dict[str, Any]],
           result: SyncPlan, knowledge_dir: Path) -> None:
    docs = {topic_id: dict(row.data) for topic_id, row in current.items()}
    for topic_id in [*result.imported, *result.added]:
        docs[topic_id] = files[topic_id]
    for topic_id in result.removed:
        docs.pop(topic_id, None)
    facts, utility = load_facts_and_utility(knowledge_dir)
    build_knowledge(docs, facts, utility)  # raises KnowledgeError
    topics = knowledge_dir / "topics"
    problems = [Problem.text("answer", problem, file=str(topics / f"{topic_id}.yml"))
                for topic_id in [*result.imported, *result.added]
                for problem in markdown_problems(str(files[topic_id].get("answer", "")))]
    if problems:
        raise KnowledgeError(problems)


def _apply(session: Session, current: dict[str, ContentTopic], files: dict[str, dict[str, Any]],
           result: SyncPlan, when: datetime) -> bool:
    """Write the plan; True when questions changed (the model must follow)."""
    retrain = False
    for topic_id in [*result.imported, *result.added]:
        row = current.get(topic_id)
        old = dict(row.data) if row is not None else None
        doc = dict(files[topic_id])
        doc["version"] = row.version + 1 if row is not None else int(doc.get("version") or 1)
        if row is None:
            session.add(ContentTopic(id=topic_id, version=doc["version"], data=doc,
                                     published_at=when, published_by=None))
        else:
            row.version, row.data, row.published_at, row.published_by = (
                doc["version"], doc, when, None)
        revision = ContentRevision(
            topic_id=topic_id, base_version=row.version - 1 if row is not None else None,
            version=doc["version"], data=doc, state="published", note=SYNC_NOTE,
            author_id=None, author_name=ACTOR.name, created_at=when, updated_at=when,
            published_at=when)
        session.add(revision)
        changed_questions = questions_changed(old, doc)
        retrain = retrain or changed_questions
        audit(session, actor=ACTOR, action="imported", target=topic_id,
              detail={"version": doc["version"], "file": f"topics/{topic_id}.yml",
                      "retrain": changed_questions, "diff": diff(old, doc)[:20000]}, now=when)
    for topic_id in result.removed:
        row = current[topic_id]
        session.execute(delete(ContentTopic).where(ContentTopic.id == topic_id))
        retrain = True
        audit(session, actor=ACTOR, action="imported", target=topic_id,
              detail={"removed": True, "version": row.version, "file": f"topics/{topic_id}.yml"},
              now=when)
    return retrain
