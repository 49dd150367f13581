"""Editors' retraining for real: rasa train, the held-out evaluation and PUT /model on a
running Rasa server, while customers keep talking.

Own processes on ports 161xx (a copy of the trained model, a temporary SQLite content store),
so the switch does not disturb the other end-to-end tests' servers on 150xx.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import threading
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as repo
from bot.content.training import (
    LIVE_MODEL_KEY,
    TrainingWorker,
    live_model_path,
    model_fingerprint,
)
from bot.devserver import action_server, rasa_server, tariff_service
from bot.settings import REPO_ROOT, get_settings
from bot.web.rasa_relay import RasaError, RasaRelay
from tests.e2e import unknown_questions
from tests.e2e.unknown_questions import TOPIC
from tests.slots import port

pytestmark = pytest.mark.slow

RASA_PORT, ACTION_PORT, TARIFF_PORT = port(16105), port(16155), port(16100)
EDITOR = repo.Actor(None, "Erika")
LOAD_TEXTS = (
    "Wie hat die Gaspreisbremse funktioniert?",
    "Was war die Dezember-Soforthilfe?",
    "Muss ich die Preisbremse beantragen?",
    "Zählerstand melden",
    "Hallo",
)
LOAD_CONVERSATIONS = 10
# Customers keep sending this long before and after the PUT /model (s).
LOAD_AROUND_SWITCH_S = 1.5


def send(url: str, text: str, sender: str) -> list[dict]:
    response = requests.post(
        f"{url}/webhooks/rest_meta/webhook", json={"sender": sender, "message": text}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def status(url: str) -> dict:
    return requests.get(f"{url}/status", timeout=10).json()


class RelayLoad:
    """Conversations that send messages in a loop through the web app's ``RasaRelay``."""

    def __init__(self, url: str, conversations: int = LOAD_CONVERSATIONS) -> None:
        self.url = url
        self.conversations = conversations
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.unanswered = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _conversation(self, relay: RasaRelay, index: int) -> None:
        sender = f"load-{index}-{uuid.uuid4().hex}"
        turn = 0
        while not self._stopping.is_set():
            text = LOAD_TEXTS[(index + turn) % len(LOAD_TEXTS)]
            turn += 1
            started = time.perf_counter()
            try:
                messages = await relay.send(sender, text)
            except RasaError as exc:
                self.errors.append(repr(exc))
                continue
            self.latencies.append(time.perf_counter() - started)
            if not messages:
                self.unanswered += 1
            await asyncio.sleep(0.05)

    async def _main(self) -> None:
        relay = RasaRelay(self.url)
        try:
            await asyncio.gather(*(self._conversation(relay, i) for i in range(self.conversations)))
        finally:
            await relay.close()

    def __enter__(self) -> RelayLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join(60)


class WorkerUnderLoad(TrainingWorker):
    """The real worker; customers talk to Rasa while it switches the model."""

    load: RelayLoad | None = None
    switch_s: float | None = None

    def switch(self, model: Path, *, previous: Path | None) -> None:
        with RelayLoad(self.settings.rasa_url) as load:
            time.sleep(LOAD_AROUND_SWITCH_S)
            started = time.perf_counter()
            super().switch(model, previous=previous)
            self.switch_s = time.perf_counter() - started
            time.sleep(LOAD_AROUND_SWITCH_S)
        self.load = load


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Calculator, action server and Rasa server on a temporary content store."""
    root = tmp_path_factory.mktemp("model-switch")
    logs = REPO_ROOT / "build" / "test-logs"
    logs.mkdir(parents=True, exist_ok=True)
    knowledge = root / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", knowledge)
    models = root / "models"
    models.mkdir()
    shutil.copy2(REPO_ROOT / "models" / "assistant.tar.gz", models / "assistant.tar.gz")
    database_url = f"sqlite:///{root / 'content.db'}"
    engine = make_engine(database_url)
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        repo.ensure_content(session, knowledge)

    calculator = tariff_service(port=TARIFF_PORT, log_path=logs / "switch-tariff.log")
    actions = action_server(port=ACTION_PORT, log_path=logs / "switch-actions.log",
                            tariff_url=f"http://127.0.0.1:{TARIFF_PORT}")
    actions.env.update({"KNOWLEDGE_DIR": str(knowledge), "DATABASE_URL": database_url})
    rasa = rasa_server(models / "assistant.tar.gz", port=RASA_PORT, action_port=ACTION_PORT,
                       log_path=logs / "switch-rasa.log")
    services = [calculator, actions, rasa]
    try:
        for service in services:
            service.start()
        for service in services:
            service.wait_ready()
        url = f"http://127.0.0.1:{RASA_PORT}"
        settings = dataclasses.replace(
            get_settings(), rasa_url=url, database_url=database_url, knowledge_dir=knowledge,
            model_dir=models, training_timeout_s=600.0,
        )
        yield SimpleNamespace(url=url, sessions=sessions, settings=settings, root=root,
                              models=models, knowledge=knowledge)
    finally:
        for service in reversed(services):
            service.stop()
        engine.dispose()


def _publish_question(stack, question: str) -> None:
    with stack.sessions.begin() as session:
        repo.add_question(session, topic_id=TOPIC, question=question, actor=EDITOR,
                          knowledge_dir=stack.knowledge)


def test_published_question_goes_live_and_conversations_survive_the_switch(stack):
    # A question the live model does not answer with the topic yet.
    new_question = unknown_questions.first_missed(
        lambda q: all(
            m.get("metadata", {}).get("faq_id") != TOPIC
            for m in send(stack.url, q, uuid.uuid4().hex)
        )
    )

    # A customer in the middle of the instalment calculation.
    customer = f"form-{uuid.uuid4().hex}"
    send(stack.url, "Ich möchte meinen Abschlag berechnen", customer)
    send(stack.url, "Gas", customer)
    ask_price = send(stack.url, "15.000 kWh", customer)
    assert "Arbeitspreis" in ask_price[-1]["text"]

    _publish_question(stack, new_question)
    worker = WorkerUnderLoad(stack.sessions, settings=stack.settings,
                             work_dir=stack.root / "training")
    run = worker.run_once()

    assert run is not None
    assert run.state == "live", run.reason
    model = Path(run.model_path)
    assert model.is_file()
    assert status(stack.url) == {
        "model_file": model.name, "model_id": model_fingerprint(model),
        "num_active_training_jobs": 0,
    }
    assert set(run.timings) >= {"training", "evaluating", "switching"}
    assert run.accuracy >= run.live_accuracy - stack.settings.training_max_accuracy_drop
    with stack.sessions() as session:
        assert live_model_path(session) == model.resolve()
        assert repo.get_setting(session, LIVE_MODEL_KEY)["accuracy"] == run.accuracy

    # The new question variant is answered with its topic.
    after = send(stack.url, new_question, uuid.uuid4().hex)
    assert after[0]["metadata"].get("faq_id") == TOPIC, after

    # The calculation started before the switch goes on where it was.
    tracker = requests.get(f"{stack.url}/conversations/{customer}/tracker", timeout=10).json()
    assert tracker["slots"]["energy"] == "gas"
    assert tracker["slots"]["consumption_kwh"] == 15000.0
    assert tracker["active_loop"]["name"] == "instalment_form"
    send(stack.url, "22 Cent", customer)
    send(stack.url, "weiß nicht", customer)
    [result] = send(stack.url, "100 Euro", customer)
    assert "betrug Ihr Abschlag 175 € statt 275 € im Monat" in result["text"]

    # Customers talking during the switch got every answer, in time for the web app's relay.
    load = worker.load
    assert load is not None
    assert load.errors == []
    assert load.unanswered == 0
    assert len(load.latencies) >= 2 * LOAD_CONVERSATIONS
    print(f"switch {worker.switch_s:.2f} s; {len(load.latencies)} messages during it, "
          f"max latency {max(load.latencies):.2f} s; timings {run.timings}")


def test_a_worse_model_is_rejected_and_the_live_model_keeps_running(stack):
    """The gate with a demanded gain of 50 points: the same model cannot reach it."""
    live_before = status(stack.url)
    with stack.sessions() as session:
        setting_before = repo.get_setting(session, LIVE_MODEL_KEY)

    class CopyingWorker(TrainingWorker):
        def train(self, workspace: Path, model_path: Path) -> None:
            # Stands in for a second minute of `rasa train`: any model will do here.
            shutil.copy2(stack.models / "assistant.tar.gz", model_path)

    _publish_question(stack, "Zählerstand per Postkarte schicken, geht das?")
    strict = dataclasses.replace(stack.settings, training_max_accuracy_drop=-0.5)
    worker = CopyingWorker(stack.sessions, settings=strict, work_dir=stack.root / "training")
    run = worker.run_once()

    assert run is not None
    assert run.state == "rejected", run.reason
    assert "der Testfragen richtig" in run.reason
    assert "bisherige Modell bleibt aktiv" in run.reason
    assert run.accuracy is not None and run.live_accuracy is not None
    assert not Path(run.model_path).exists()
    assert status(stack.url) == live_before
    with stack.sessions() as session:
        assert repo.get_setting(session, LIVE_MODEL_KEY) == setting_before
