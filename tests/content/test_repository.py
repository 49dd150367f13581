"""The editors' content store on SQLite and PostgreSQL: import/export, publishing, four-eyes,
history, rollback, conflicts, audit, and the assistant's store picking up changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.content import repository as repo
from bot.content.documents import dump_topic, read_topic_files
from bot.content.models import AuditEntry, TrainingRun
from bot.content.store import DatabaseKnowledgeStore
from bot.settings import REPO_ROOT

NEW_ANSWER = "Neu: Der Referenzpreis beträgt {{ref}}. Fragen? [Kontakt]({{utility.contact_url}})."


@pytest.fixture
def imported(session, knowledge_dir):
    changed = repo.import_knowledge(session, knowledge_dir, actor=repo.Actor(None, "Test"))
    session.commit()
    assert changed == 1
    return knowledge_dir


def _edit(session, editor, knowledge_dir, **changes):
    doc = {**repo.published(session, "alpha").data, **changes}
    rev = repo.save_draft(session, topic_id="alpha", data=doc, actor=editor)
    return repo.submit(session, revision_id=rev.id, actor=editor, knowledge_dir=knowledge_dir)


def test_repository_knowledge_round_trip_is_lossless(session, tmp_path):
    """import(knowledge/) then export writes byte-identical files; import again changes nothing."""
    source = tmp_path / "source"
    shutil.copytree(REPO_ROOT / "knowledge", source)
    assert repo.import_knowledge(session, source, actor=repo.Actor(None, "Test")) == len(
        list((source / "topics").glob("*.yml"))
    )
    target = tmp_path / "target"
    shutil.copytree(source, target)
    shutil.rmtree(target / "topics")
    repo.export_knowledge(session, target)
    for path in sorted((source / "topics").glob("*.yml")):
        assert (target / "topics" / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        ), f"{path.name} changed in the round trip"
    assert repo.export_knowledge(session, target) == []  # nothing to write the second time
    assert repo.import_knowledge(session, target, actor=repo.Actor(None, "Test")) == 0


def test_knowledge_files_are_in_export_format():
    """knowledge/topics is written in the exporter's style, so an export shows minimal diffs."""
    for topic_id, doc in read_topic_files(REPO_ROOT / "knowledge").items():
        path = REPO_ROOT / "knowledge" / "topics" / f"{topic_id}.yml"
        assert dump_topic(doc) == path.read_text(encoding="utf-8"), (
            f"{path} is not in export format: run `python -m bot knowledge import` and "
            "`python -m bot knowledge export`"
        )


def test_import_refuses_invalid_files_and_changes_nothing(session, imported):
    (imported / "topics" / "alpha.yml").write_text("id: alpha\nversion: x\n", encoding="utf-8")
    before = repo.generation(session)
    with pytest.raises(ValueError):
        repo.import_knowledge(session, imported, actor=repo.Actor(None, "Test"))
    session.rollback()
    assert repo.generation(session) == before
    assert "Referenzpreis" in repo.published(session, "alpha").data["answer"]


def test_export_removes_files_of_deleted_topics(session, imported, tmp_path):
    stray = imported / "topics" / "weg.yml"
    stray.write_text("id: weg\n", encoding="utf-8")
    changed = repo.export_knowledge(session, imported)
    assert str(stray) in changed and not stray.exists()


def test_publish_answer_change_goes_live_without_training(session, imported, editors):
    erika, _ = editors
    gen = repo.generation(session)
    rev = _edit(session, erika, imported, answer=NEW_ANSWER)
    session.commit()
    assert rev.state == "published" and rev.version == 2
    topic = repo.published(session, "alpha")
    assert topic.version == 2 and topic.data["answer"] == NEW_ANSWER
    assert repo.generation(session) == gen + 1
    assert session.execute(select(TrainingRun)).scalars().all() == []  # answers need no model
    entry = repo.audit_log(session, target="alpha")[0]
    assert (entry.action, entry.actor_name) == ("publish", "Erika")
    assert "+answer: |" in entry.detail["diff"] or "Neu: Der Referenzpreis" in entry.detail["diff"]


def test_question_change_queues_one_training(session, imported, editors):
    erika, _ = editors
    questions = [*repo.published(session, "alpha").data["questions"], "Ganz neue Frage zu alpha?"]
    _edit(session, erika, imported, questions=questions)
    _edit(session, erika, imported, questions=[*questions, "Noch eine Frage zu alpha?"])
    session.commit()
    runs = session.execute(select(TrainingRun)).scalars().all()
    assert len(runs) == 1  # the queued run is reused and trains the newest generation
    assert runs[0].state == "queued" and runs[0].generation == repo.generation(session)


def test_invalid_draft_is_refused_with_field_problems(session, imported, editors):
    erika, _ = editors
    with pytest.raises(repo.InvalidContent) as info:
        _edit(session, erika, imported, answer="Es kostet 40 ct/kWh.", questions=["nur eine"])
    fields = {problem.field for problem in info.value.problems}
    assert {"answer", "questions"} <= fields
    assert all(problem.file is None for problem in info.value.problems)  # the edited topic's
    assert "Der Inhalt ist noch nicht gültig" in info.value.message
    assert repo.published(session, "alpha").version == 1


def test_new_topic_needs_a_valid_id(session, imported, editors):
    erika, _ = editors
    doc = {**repo.published(session, "alpha").data, "id": "Böse Id"}
    rev = repo.save_draft(session, topic_id="Böse Id", data=doc, actor=erika)
    with pytest.raises(repo.InvalidContent, match="Kleinbuchstaben"):
        repo.submit(session, revision_id=rev.id, actor=erika, knowledge_dir=imported)


def test_four_eyes_needs_a_second_person(session, imported, editors):
    erika, emil = editors
    repo.set_four_eyes(session, enabled=True, actor=erika)
    rev = _edit(session, erika, imported, answer=NEW_ANSWER)
    assert rev.state == "pending"
    assert repo.published(session, "alpha").version == 1  # not live before approval
    with pytest.raises(repo.NotAllowed, match="Vier-Augen"):
        repo.approve(session, revision_id=rev.id, actor=erika, knowledge_dir=imported)
    approved = repo.approve(session, revision_id=rev.id, actor=emil, knowledge_dir=imported)
    assert approved.state == "published" and approved.reviewer_name == "Emil"
    assert repo.published(session, "alpha").data["answer"] == NEW_ANSWER


def test_reviewer_can_send_back_and_author_can_resubmit(session, imported, editors):
    erika, emil = editors
    repo.set_four_eyes(session, enabled=True, actor=erika)
    rev = _edit(session, erika, imported, answer=NEW_ANSWER)
    repo.reject(session, revision_id=rev.id, actor=emil, note="Bitte Quelle ergänzen")
    assert rev.state == "rejected" and rev.note == "Bitte Quelle ergänzen"
    again = repo.submit(session, revision_id=rev.id, actor=erika, knowledge_dir=imported)
    assert again.state == "pending"


def test_concurrent_edits_conflict_instead_of_overwriting(session, imported, editors):
    erika, emil = editors
    doc = repo.published(session, "alpha").data
    first = repo.save_draft(session, topic_id="alpha", data={**doc, "title": "A"}, actor=erika)
    second = repo.save_draft(session, topic_id="alpha", data={**doc, "title": "B"}, actor=emil)
    repo.submit(session, revision_id=first.id, actor=erika, knowledge_dir=imported)
    with pytest.raises(repo.EditConflict, match="inzwischen"):
        repo.submit(session, revision_id=second.id, actor=emil, knowledge_dir=imported)
    assert repo.published(session, "alpha").data["title"] == "A"


def test_rollback_republishes_an_old_version_as_a_new_one(session, imported, editors):
    erika, _ = editors
    old_answer = repo.published(session, "alpha").data["answer"]
    _edit(session, erika, imported, answer=NEW_ANSWER)
    rev = repo.rollback(session, topic_id="alpha", to_version=1, actor=erika,
                        knowledge_dir=imported)
    topic = repo.published(session, "alpha")
    assert (topic.version, rev.version) == (3, 3)
    assert topic.data["answer"] == old_answer
    assert [r.version for r in repo.history(session, "alpha")][:3] == [3, 2, 1]
    assert repo.audit_log(session, target="alpha")[0].action == "rollback"
    with pytest.raises(repo.UnknownRevision):
        repo.rollback(session, topic_id="alpha", to_version=9, actor=erika,
                      knowledge_dir=imported)


def test_diff_shows_changed_lines_only(session, imported):
    doc = repo.published(session, "alpha").data
    text = repo.diff(doc, {**doc, "title": "Neuer Titel"})
    assert "-title: Titel alpha" in text and "+title: Neuer Titel" in text
    assert "questions" not in text


def test_every_step_is_audited(session, imported, editors):
    erika, _ = editors
    _edit(session, erika, imported, answer=NEW_ANSWER)
    actions = [e.action for e in session.execute(select(AuditEntry)).scalars()]
    assert actions == ["import", "draft.save", "publish"]


def test_database_store_picks_up_a_publish_within_its_interval(engine, session, imported,
                                                               editors):
    erika, _ = editors
    clock = [0.0]
    store = DatabaseKnowledgeStore(engine, imported, check_interval_s=1.0, clock=lambda: clock[0])
    assert "Neu:" not in store.answer("alpha").text
    _edit(session, erika, imported, answer=NEW_ANSWER)
    session.commit()
    assert "Neu:" not in store.answer("alpha").text  # cached until the next check
    clock[0] = 1.5
    answer = store.answer("alpha")
    assert answer.text.startswith("Neu: Der Referenzpreis beträgt 40 ct/kWh")
    assert answer.content_version == 2


def test_database_store_answers_from_files_before_the_first_import(tmp_path, knowledge_dir):
    from bot.chat.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # not even migrated
    store = DatabaseKnowledgeStore(engine, knowledge_dir)
    assert store.answer("alpha").faq_id == "alpha"


def test_a_lasting_database_failure_is_logged_once_not_at_every_check(tmp_path, knowledge_dir,
                                                                      caplog):
    """An action server started before the web app migrated the database checks it every
    second; the failure is logged once (with its traceback), and its end once."""
    from bot.chat.db import make_engine
    from bot.chat.models import Base

    engine = make_engine(f"sqlite:///{tmp_path / 'late.db'}")  # not migrated yet
    clock = [0.0]
    store = DatabaseKnowledgeStore(engine, knowledge_dir, check_interval_s=1.0,
                                   clock=lambda: clock[0])
    with caplog.at_level("DEBUG", logger="bot.content.store"):
        for second in range(5):
            clock[0] = float(second)
            assert store.answer("alpha").faq_id == "alpha"
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].exc_info is not None
    caplog.clear()
    Base.metadata.create_all(engine)  # the web app migrated it meanwhile
    with caplog.at_level("DEBUG", logger="bot.content.store"):
        clock[0] = 10.0
        assert store.answer("alpha").faq_id == "alpha"
        clock[0] = 11.0
        store.answer("alpha")
    assert [r.getMessage() for r in caplog.records if r.levelno >= 30] == [
        "content database reachable again"
    ]


def test_ensure_content_imports_only_once(session, knowledge_dir: Path):
    assert repo.ensure_content(session, knowledge_dir) is True
    assert repo.ensure_content(session, knowledge_dir) is False
