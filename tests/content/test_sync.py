"""One content source (issue 17, item 4): ``make run`` imports changed ``knowledge/topics`` files
into the database the assistant answers from, or stops with a clear message when an editor
changed the same topic (bot/content/sync.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from sqlalchemy import select

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as repo
from bot.content.models import ContentRevision, TrainingRun
from bot.content.sync import ContentConflict, plan, sync_knowledge
from bot.knowledge import KnowledgeError
from bot.settings import REPO_ROOT
from tests.conftest import topic_yaml
from tests.content.test_repository import NEW_ANSWER, _edit

FILE_ANSWER = "Aus der Datei: Der Referenzpreis lag bei {{ref}}."


@pytest.fixture
def imported(session, knowledge_dir):
    """The knowledge directory, imported into the database (as the first start does)."""
    repo.import_knowledge(session, knowledge_dir, actor=repo.Actor(None, "Test"))
    session.commit()
    return knowledge_dir


def _edit_file(knowledge_dir, topic_id="alpha", **changes):
    path = knowledge_dir / "topics" / f"{topic_id}.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**doc, **changes}, allow_unicode=True), encoding="utf-8")


def test_a_changed_file_becomes_a_new_published_version_audited_as_imported(session, imported):
    _edit_file(imported, answer=FILE_ANSWER)

    result = sync_knowledge(session, imported)
    session.commit()

    assert result.imported == ["alpha"] and not result.conflicts
    topic = repo.published(session, "alpha")
    assert topic.version == 2 and topic.data["answer"] == FILE_ANSWER
    entry = repo.audit_log(session, target="alpha")[0]
    assert entry.action == "imported" and entry.detail["version"] == 2
    assert "Aus der Datei" in entry.detail["diff"]
    history = repo.history(session, "alpha")
    assert [r.version for r in history][:2] == [2, 1]
    # Nothing changed since: the next start imports nothing.
    assert sync_knowledge(session, imported).changes == []


def test_new_and_deleted_files_add_and_remove_topics(session, imported):
    (imported / "topics" / "beta.yml").write_text(topic_yaml("beta"), encoding="utf-8")
    assert sync_knowledge(session, imported).added == ["beta"]
    session.commit()
    assert repo.published(session, "beta").version == 1
    (imported / "topics" / "beta.yml").unlink()
    assert sync_knowledge(session, imported).removed == ["beta"]
    session.commit()
    assert "beta" not in repo.published_documents(session)


def test_an_editors_change_stays_and_the_files_are_reported_behind(session, imported, editors):
    erika, _ = editors
    _edit(session, erika, imported, answer=NEW_ANSWER)
    session.commit()

    result = sync_knowledge(session, imported)

    assert result.database_only == ["alpha"] and result.changes == []
    assert repo.published(session, "alpha").data["answer"] == NEW_ANSWER
    # Still behind at the next start, not a conflict.
    assert plan(session, imported).database_only == ["alpha"]


def test_a_topic_changed_in_both_places_stops_the_start_and_changes_nothing(
    session, imported, editors
):
    erika, _ = editors
    _edit(session, erika, imported, answer=NEW_ANSWER)
    session.commit()
    _edit_file(imported, answer=FILE_ANSWER)
    revisions = session.execute(select(ContentRevision)).scalars().all()

    with pytest.raises(ContentConflict) as info:
        sync_knowledge(session, imported, database="sqlite:///chat.db")

    assert info.value.topics == ["alpha"]
    message = info.value.message
    assert "alpha" in message and "sqlite:///chat.db" in message
    assert "python -m bot knowledge export" in message
    assert "python -m bot knowledge import" in message
    assert repo.published(session, "alpha").data["answer"] == NEW_ANSWER
    assert session.execute(select(ContentRevision)).scalars().all() == revisions

    # Resolved by exporting the editors' version: files and database agree again, and a later
    # editor change is the database being ahead, not a conflict.
    repo.export_knowledge(session, imported)
    from bot.content.sync import record_files

    record_files(session, repo.published_documents(session))
    assert plan(session, imported).conflicts == []
    _edit(session, erika, imported, answer=NEW_ANSWER + " Nachtrag.")
    assert plan(session, imported).database_only == ["alpha"]


def test_an_invalid_file_changes_nothing(session, imported):
    _edit_file(imported, answer="Es kostet 40 ct/kWh, <script>alert(1)</script>")
    with pytest.raises(KnowledgeError):
        sync_knowledge(session, imported)
    assert repo.published(session, "alpha").version == 1


def test_training_follows_the_published_content(session, imported, editors):
    # Only the files changed questions: the database equals them, so the model `make` trained
    # from the files is the right one and an earlier retrained model is dropped.
    repo.set_setting(session, "live_model", {"path": "/models/old.tar.gz"})
    questions = repo.published(session, "alpha").data["questions"]
    _edit_file(imported, questions=[*questions, "Eine ganz neue Frage zu alpha?"])
    sync_knowledge(session, imported)
    session.commit()
    assert repo.get_setting(session, "live_model") is None
    assert session.execute(select(TrainingRun)).scalars().all() == []

    # With an editor's change in the database too, a retraining from the published content
    # (files' and editors' changes together) is queued.
    (imported / "topics" / "beta.yml").write_text(topic_yaml("beta"), encoding="utf-8")
    sync_knowledge(session, imported)
    erika, _ = editors
    _edit(session, erika, imported, answer=NEW_ANSWER)
    (imported / "topics" / "beta.yml").write_text(
        topic_yaml("beta", questions=[f"Neue Frage {i} zu beta?" for i in range(12)]),
        encoding="utf-8")
    result = sync_knowledge(session, imported)
    session.commit()
    assert result.imported == ["beta"] and result.database_only == ["alpha"]
    [run] = session.execute(select(TrainingRun)).scalars().all()
    assert run.state == "queued" and run.generation == repo.generation(session)


def test_make_run_stops_with_the_message_before_starting_anything(tmp_path, knowledge_dir):
    """``python -m bot run`` as a process: a conflict ends it before any server starts."""
    database = f"sqlite:///{tmp_path / 'chat.db'}"
    engine = make_engine(database)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        repo.import_knowledge(session, knowledge_dir, actor=repo.Actor(None, "Test"))
    with make_sessionmaker(engine).begin() as session:
        doc = {**repo.published(session, "alpha").data, "answer": NEW_ANSWER}
        rev = repo.save_draft(session, topic_id="alpha", data=doc, actor=repo.Actor(None, "Erika"))
        repo.submit(session, revision_id=rev.id, actor=repo.Actor(None, "Erika"),
                    knowledge_dir=knowledge_dir)
    engine.dispose()
    _edit_file(knowledge_dir, answer=FILE_ANSWER)
    env = {**os.environ, "DATABASE_URL": database, "KNOWLEDGE_DIR": str(knowledge_dir),
           "WEB_PORT": "1", "RASA_URL": "http://127.0.0.1:1"}

    done = subprocess.run([sys.executable, "-m", "bot", "run", "--log-dir", str(tmp_path)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "changed both in" in done.stderr and "alpha" in done.stderr
    assert "python -m bot knowledge export" in done.stderr
    assert "waiting for" not in done.stdout + done.stderr  # nothing was started
