"""The retraining pipeline without Rasa: the gate, the workspace, the worker's states.

The worker's steps that run ``rasa train``, ``python -m bot eval`` and ``PUT /model`` are
replaced by fakes here; tests/e2e/test_model_switch.py runs them for real.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as repo
from bot.content.models import TrainingRun
from bot.content.training import (
    LIVE_MODEL_KEY,
    TrainingCancelled,
    TrainingFailed,
    TrainingWorker,
    build_workspace,
    gate,
    live_model_path,
    model_fingerprint,
    percent,
)
from bot.settings import REPO_ROOT, get_settings

EDITOR = repo.Actor(None, "Erika")
NEW_QUESTION = "Kann ich die Ablesekarte auch online ausfüllen?"


# --- the gate --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "live", "drop", "accepted"),
    [
        (0.948, 0.948, 0.01, True),   # equal
        (0.960, 0.948, 0.01, True),   # better
        (0.938, 0.948, 0.01, True),   # exactly the allowed drop
        (0.9379, 0.948, 0.01, False),  # just below
        (0.900, 0.948, 0.01, False),
        (0.948, 0.948, 0.0, True),    # no drop allowed, none happened
        (0.951, 0.948, -0.01, False),  # a negative drop demands a gain
    ],
)
def test_gate_rejects_a_drop_beyond_the_limit(new, live, drop, accepted):
    decision = gate(new, live, drop)
    assert decision.accepted is accepted
    assert (decision.reason is None) is accepted


def test_gate_reason_names_both_accuracies_in_german():
    decision = gate(0.9302, 0.9477, 0.01)
    assert not decision.accepted
    assert decision.reason is not None
    assert "93,0 %" in decision.reason
    assert "94,8 %" in decision.reason
    assert "mindestens 93,8 %" in decision.reason
    assert "bisherige Modell bleibt aktiv" in decision.reason


def test_percent_and_rasa_urls():
    assert percent(0.9477) == "94,8 %"
    assert percent(1.0) == "100,0 %"
    one = dataclasses.replace(get_settings(), rasa_url="http://127.0.0.1:5005")
    assert one.rasa_urls == ["http://127.0.0.1:5005"]
    two = dataclasses.replace(get_settings(), rasa_url=" http://a:5005/, http://b:5005 ,")
    assert two.rasa_urls == ["http://a:5005", "http://b:5005"]


def test_model_fingerprint_reads_the_model_id(tmp_path, model_path):
    assert model_fingerprint(model_path)  # what Rasa's GET /status reports as model_id
    (tmp_path / "broken.tar.gz").write_bytes(b"no archive")
    assert model_fingerprint(tmp_path / "broken.tar.gz") is None
    assert model_fingerprint(tmp_path / "missing.tar.gz") is None


# --- database, workspace ----------------------------------------------------------------------


@pytest.fixture
def knowledge(tmp_path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", target)
    return target


@pytest.fixture
def sessions(tmp_path, knowledge):
    engine = make_engine(f"sqlite:///{tmp_path / 'content.db'}")
    create_schema(engine)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        repo.ensure_content(session, knowledge)
    yield factory
    engine.dispose()


def _add_question(sessions, knowledge, question=NEW_QUESTION, topic="zaehlerstand_melden"):
    with sessions.begin() as session:
        repo.add_question(session, topic_id=topic, question=question, actor=EDITOR,
                          knowledge_dir=knowledge)


def test_workspace_has_the_new_question_and_the_facts(tmp_path, sessions, knowledge):
    _add_question(sessions, knowledge)
    workspace = tmp_path / "run-1"
    with sessions() as session:
        exported = build_workspace(session, workspace, repo_root=REPO_ROOT, knowledge_dir=knowledge)
        assert exported == repo.generation(session)

    nlu = yaml.safe_load((workspace / "data" / "nlu" / "faq.yml").read_text(encoding="utf-8"))
    [block] = [i for i in nlu["nlu"] if i["intent"] == "faq_zaehlerstand_melden"]
    assert f"- {NEW_QUESTION}" in block["examples"].splitlines()
    # The repository's own training data is untouched.
    assert NEW_QUESTION not in (REPO_ROOT / "data" / "nlu" / "faq.yml").read_text(encoding="utf-8")
    assert sorted(p.name for p in (workspace / "knowledge" / "facts").glob("*.yml")) == sorted(
        p.name for p in (knowledge / "facts").glob("*.yml")
    )
    assert (workspace / "knowledge" / "utility.yml").is_file()
    assert (workspace / "knowledge" / "topics" / "zaehlerstand_melden.yml").is_file()
    for name in ("config.yml", "domain.yml", "data/stories/faq.yml", "data/nlu/dialogue.yml"):
        assert (workspace / name).is_file(), name


def test_workspace_with_a_new_topic_has_its_intent_in_the_domain(tmp_path, sessions, knowledge):
    from tests.conftest import topic_yaml

    doc = yaml.safe_load(topic_yaml("testthema_neu", answer="Eine Antwort ohne Platzhalter."))
    with sessions.begin() as session:
        rev = repo.save_draft(session, topic_id="testthema_neu", data=doc, actor=EDITOR)
        repo.submit(session, revision_id=rev.id, actor=EDITOR, knowledge_dir=knowledge)
    with sessions() as session:
        build_workspace(session, tmp_path / "ws", repo_root=REPO_ROOT, knowledge_dir=knowledge)
    domain = yaml.safe_load((tmp_path / "ws" / "domain.yml").read_text(encoding="utf-8"))
    assert "faq_testthema_neu" in domain["intents"]
    assert "faq_testthema_neu" in (tmp_path / "ws" / "data" / "stories" / "faq.yml").read_text(
        encoding="utf-8"
    )


def test_live_model_path(tmp_path, sessions):
    with sessions.begin() as session:
        assert live_model_path(session) is None
        model = tmp_path / "content-2-1.tar.gz"
        repo.set_setting(session, LIVE_MODEL_KEY, {"path": str(model), "accuracy": 0.95})
        assert live_model_path(session) is None  # the file is gone
        model.write_bytes(b"x")
        assert live_model_path(session) == model


# --- the worker with fake steps ---------------------------------------------------------------


class FakeWorker(TrainingWorker):
    """Real queue, workspace and bookkeeping; fake training, evaluation and switch."""

    def __init__(self, *args, accuracies=None, fail_in=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.accuracies = accuracies or {"new": 0.95, "live": 0.948}
        self.fail_in = fail_in
        self.calls: list[str] = []

    def train(self, workspace, model_path):
        self.calls.append("train")
        if self.fail_in == "train":
            raise TrainingFailed("Das Training ist fehlgeschlagen.")
        model_path.parent.mkdir(parents=True, exist_ok=True)
        model_path.write_bytes(b"model")

    def evaluate(self, model, workspace, label):
        self.calls.append(f"evaluate {label}")
        return self.accuracies[label]

    def switch(self, model, *, previous):
        self.calls.append(f"switch {model.name} from {previous.name}")
        if self.fail_in == "switch":
            raise TrainingFailed("Der Rasa-Server war nicht erreichbar.")


@pytest.fixture
def settings(tmp_path, knowledge):
    models = tmp_path / "models"
    models.mkdir()
    (models / "assistant.tar.gz").write_bytes(b"the model of make train")
    return dataclasses.replace(
        get_settings(), knowledge_dir=knowledge, model_dir=models,
        rasa_url="http://127.0.0.1:9", training_max_accuracy_drop=0.01,
    )


def _worker(sessions, settings, tmp_path, **kwargs):
    return FakeWorker(sessions, settings=settings, work_dir=tmp_path / "training", **kwargs)


def test_nothing_queued_does_nothing(sessions, settings, tmp_path):
    worker = _worker(sessions, settings, tmp_path)
    assert worker.run_once() is None
    assert worker.calls == []


def test_a_better_model_goes_live_and_is_recorded(sessions, settings, knowledge, tmp_path):
    _add_question(sessions, knowledge)
    worker = _worker(sessions, settings, tmp_path)
    run = worker.run_once()
    assert run is not None
    assert run.state == "live", run.reason
    model = Path(run.model_path)
    assert model.name == f"content-{run.generation}-{run.id}.tar.gz"
    assert model.parent == settings.model_dir
    assert worker.calls == ["train", "evaluate new", "evaluate live",
                            f"switch {model.name} from assistant.tar.gz"]
    assert (run.accuracy, run.live_accuracy) == (0.95, 0.948)
    assert set(run.timings) == {"queued", "workspace", "training", "evaluating", "switching"}
    with sessions() as session:
        assert live_model_path(session) == model
        assert repo.get_setting(session, LIVE_MODEL_KEY)["accuracy"] == 0.95
        assert repo.generation(session) == run.generation

    # The next change is compared with the new live model, whose accuracy is known.
    _add_question(sessions, knowledge, "Zählerstand per Postkarte schicken, geht das?")
    worker.calls.clear()
    second = worker.run_once()
    assert second.state == "live"
    assert worker.calls == ["train", "evaluate new",
                            f"switch {Path(second.model_path).name} from {model.name}"]
    assert second.live_accuracy == 0.95
    # The previous live model stays for a rollback, older retrained ones are deleted.
    assert model.is_file() and Path(second.model_path).is_file()
    _add_question(sessions, knowledge, "Wohin mit den Zahlen von der Ablesekarte?")
    third = worker.run_once()
    assert third.state == "live"
    assert not model.exists()
    assert Path(second.model_path).is_file() and Path(third.model_path).is_file()
    assert (settings.model_dir / "assistant.tar.gz").is_file()  # never deleted


def test_a_worse_model_is_rejected_and_the_live_model_stays(sessions, settings, knowledge,
                                                            tmp_path):
    _add_question(sessions, knowledge)
    worker = _worker(sessions, settings, tmp_path, accuracies={"new": 0.90, "live": 0.948})
    run = worker.run_once()
    assert run.state == "rejected"
    assert "90,0 %" in run.reason and "94,8 %" in run.reason
    assert not any(c.startswith("switch") for c in worker.calls)
    assert not Path(run.model_path).exists()  # rejected models are deleted
    assert run.finished_at is not None
    with sessions() as session:
        assert live_model_path(session) == settings.model_dir / "assistant.tar.gz"


@pytest.mark.parametrize("step", ["train", "switch"])
def test_a_failing_step_fails_the_run_with_a_german_reason(sessions, settings, knowledge,
                                                           tmp_path, step):
    _add_question(sessions, knowledge)
    worker = _worker(sessions, settings, tmp_path, fail_in=step)
    run = worker.run_once()
    assert run.state == "failed"
    assert run.reason in ("Das Training ist fehlgeschlagen.",
                          "Der Rasa-Server war nicht erreichbar.")
    assert not Path(run.model_path).exists()
    with sessions() as session:
        live = repo.get_setting(session, LIVE_MODEL_KEY)
        assert live is None or live["path"].endswith("assistant.tar.gz")


def test_invalid_exported_content_fails_the_run(sessions, settings, knowledge, tmp_path):
    _add_question(sessions, knowledge)
    (knowledge / "utility.yml").write_text("- not a mapping\n", encoding="utf-8")
    run = _worker(sessions, settings, tmp_path).run_once()
    assert run.state == "failed"
    assert run.reason.startswith("Die veröffentlichten Inhalte ließen sich nicht")
    assert "utility.yml" in run.reason


def test_a_run_left_active_by_a_killed_process_is_failed_and_queued_again(
    sessions, settings, tmp_path
):
    long_ago = datetime.now(timezone.utc) - timedelta(days=1)
    with sessions.begin() as session:
        session.add(TrainingRun(state="training", generation=1, requested_by="Erika",
                                created_at=long_ago, started_at=long_ago))
    worker = _worker(sessions, settings, tmp_path)
    run = worker.run_once()  # recovers the stale run, then processes the queued one
    assert run is not None and run.state == "live"
    with sessions() as session:
        runs = session.execute(select(TrainingRun).order_by(TrainingRun.id)).scalars().all()
    assert [r.state for r in runs] == ["failed", "live"]
    assert "neuer Lauf ist eingeplant" in runs[0].reason


def test_an_active_run_of_another_worker_blocks_a_second_one(sessions, settings, knowledge,
                                                             tmp_path):
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:
        session.add(TrainingRun(state="training", generation=1, requested_by="Erika",
                                created_at=now, started_at=now))
    _add_question(sessions, knowledge)
    worker = _worker(sessions, settings, tmp_path)
    assert worker.run_once() is None
    assert worker.calls == []


def test_disabled_worker_does_not_start(sessions, settings, tmp_path):
    worker = _worker(sessions, dataclasses.replace(settings, training_enabled=False), tmp_path)
    assert worker.start() is False


def test_the_thread_processes_a_published_change(sessions, settings, knowledge, tmp_path):
    worker = _worker(sessions, settings, tmp_path, poll_interval_s=0.05)
    assert worker.start()
    try:
        _add_question(sessions, knowledge)
        for _ in range(200):
            with sessions() as session:
                states = [r.state for r in repo.training_runs(session)]
            if states == ["live"]:
                break
            threading.Event().wait(0.05)
        assert states == ["live"]
    finally:
        worker.stop()


# --- subprocesses -----------------------------------------------------------------------------


def test_a_subprocess_over_the_time_limit_is_killed(sessions, settings, tmp_path):
    quick = dataclasses.replace(settings, training_timeout_s=0.5)
    worker = TrainingWorker(sessions, settings=quick)
    started = datetime.now(timezone.utc)
    with pytest.raises(TrainingFailed, match="Abgebrochen nach"):
        worker._run(["sleep", "30"], stdout=tmp_path / "sleep.log")
    assert (datetime.now(timezone.utc) - started).total_seconds() < 10


def test_stopping_the_worker_cancels_a_running_subprocess(sessions, settings, tmp_path):
    worker = TrainingWorker(sessions, settings=settings)
    threading.Timer(0.5, worker.stop).start()
    with pytest.raises(TrainingCancelled):
        worker._run(["sleep", "30"], stdout=tmp_path / "sleep.log")


def test_a_failing_subprocess_names_its_log(sessions, settings, tmp_path):
    worker = TrainingWorker(sessions, settings=settings)
    with pytest.raises(TrainingFailed, match="Fehler 3") as info:
        worker._run(["sh", "-c", "exit 3"], stdout=tmp_path / "exit.log")
    assert str(tmp_path / "exit.log") in info.value.message
