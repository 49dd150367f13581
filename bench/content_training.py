"""Benchmark: an editor's new question variant from publish to live, with customers talking.

→ ``docs/benchmarks/content-training.md``. Real processes (calculator, action server, Rasa)
on a temporary SQLite content store and a copy of ``models/assistant.tar.gz``; the real
``TrainingWorker`` thread (``rasa train``, two ``python -m bot eval`` runs, ``PUT /model``).

1. Publish → live: ``ROUNDS`` times an editor adds a question variant (the repository function
   the editor UI calls); the worker picks it up from the queue. Meanwhile ``CONVERSATIONS``
   customers each send a message every ``INTERVAL_S`` through Rasa's REST channel with the
   web app relay's timeout (a customer starts a new conversation after ``TURNS`` messages).
   Reported: the run's phases and the customers' latency per phase.
2. The switch alone, patched vs. stock Rasa: ``SWITCHES`` times ``PUT /model`` under the same
   load, with a probe (``GET /`` every 20 ms) measuring how long Rasa's event loop stops
   answering, and a conversation in the middle of the instalment form checked afterwards.
   "Stock" is the same server started without ``channels.rest_with_metadata``, so
   ``channels/server_patches.py`` is not installed (messages go to ``/webhooks/rest/webhook``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import requests

from bench.common import REPO_ROOT, RESULTS_DIR, machine, percentile, questions
from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as repo
from bot.content.models import TrainingRun
from bot.content.training import TrainingWorker
from bot.devserver import ServiceProcess, action_server, rasa_server, tariff_service
from bot.settings import get_settings
from bot.web.rasa_relay import TIMEOUT

TARIFF_PORT, ACTION_PORT, RASA_PORT = 16120, 16175, 16125
RASA = f"http://127.0.0.1:{RASA_PORT}"
ROUNDS = 2
CONVERSATIONS = 10
INTERVAL_S = 0.5  # per customer: 10 customers → about 20 messages/s, a quarter of capacity
TURNS = 10
BASELINE_S = 10.0
SWITCHES = 3
TOPIC = "zaehlerstand_melden"
VARIANTS = (
    "Kann ich die Ablesekarte auch online ausfüllen?",
    "Zählerstand per Postkarte schicken, geht das?",
    "Wohin mit den Zahlen von der Ablesekarte?",
)
PHASES = ("before", "training", "evaluating", "switch", "after")


@dataclasses.dataclass
class Sample:
    """One customer message: when it was sent, how long the answer took, what came back."""

    sent: float  # time.monotonic() when sent
    latency: float
    ok: bool
    answered: bool


class SteadyLoad:
    """``conversations`` customers, each sending one message every ``interval_s``."""

    def __init__(self, path: str, texts: list[str]) -> None:
        self.url = RASA + path
        self.texts = texts
        self.samples: list[Sample] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _customer(self, client: httpx.AsyncClient, index: int) -> None:
        turn = 0
        sender = uuid.uuid4().hex
        next_at = time.monotonic() + index * INTERVAL_S / CONVERSATIONS
        while not self._stopping.is_set():
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += INTERVAL_S
            if turn and turn % TURNS == 0:
                sender = uuid.uuid4().hex
            text = self.texts[(index * 7919 + turn) % len(self.texts)]
            turn += 1
            sent = time.monotonic()
            try:
                response = await client.post(self.url, json={"sender": sender, "message": text})
                ok = response.status_code == 200
                answered = ok and bool(response.json())
            except (httpx.HTTPError, ValueError):
                ok = answered = False
            self.samples.append(Sample(sent, time.monotonic() - sent, ok, answered))

    async def _main(self) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            await asyncio.gather(*(self._customer(client, i) for i in range(CONVERSATIONS)))

    def start(self) -> SteadyLoad:
        """Start the customers (in a thread with its own event loop)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Let every customer finish the message in flight, then stop."""
        self._stopping.set()
        self._thread.join(60)


class TimedWorker(TrainingWorker):
    """The real worker, noting when each step starts and ends (monotonic clock)."""

    marks: dict[str, tuple[float, float]]

    def _timed(self, name: str, step: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return step(*args, **kwargs)
        finally:
            first = self.marks.get(name, (started, 0.0))[0]
            self.marks[name] = (first, time.monotonic())

    def train(self, workspace: Path, model_path: Path) -> None:
        """``rasa train``, timed."""
        self._timed("training", super().train, workspace, model_path)

    def evaluate(self, model: Path, workspace: Path, label: str) -> float:
        """``python -m bot eval``, timed."""
        result: float = self._timed("evaluating", super().evaluate, model, workspace, label)
        return result

    def switch(self, model: Path, *, previous: Path | None) -> None:
        """``PUT /model`` and the status check, timed."""
        self._timed("switch", super().switch, model, previous=previous)


def _stats(samples: list[Sample]) -> dict[str, float]:
    ms = [s.latency * 1000 for s in samples if s.ok]
    return {
        "n": len(samples),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "max": max(ms, default=float("nan")),
        "errors": sum(not s.ok for s in samples),
        "unanswered": sum(s.ok and not s.answered for s in samples),
    }


def _phase_of(sample: Sample, marks: dict[str, tuple[float, float]]) -> str:
    # The switch phase includes the second after PUT /model returned (queued messages drain).
    if "switch" in marks and marks["switch"][0] <= sample.sent <= marks["switch"][1] + 1.0:
        return "switch"
    for phase in ("training", "evaluating"):
        if phase in marks and marks[phase][0] <= sample.sent <= marks[phase][1]:
            return phase
    if "training" in marks and sample.sent < marks["training"][0]:
        return "before"
    if "switch" in marks and sample.sent > marks["switch"][1]:
        return "after"
    return "other"  # queue wait, workspace, gate: seconds at most


def publish_to_live(sessions: Any, worker: TimedWorker, knowledge: Path, texts: list[str],
                    question: str) -> dict[str, Any]:
    """One editor change under load; returns the run's timings and latency per phase."""
    worker.marks = {}
    load = SteadyLoad("/webhooks/rest_meta/webhook", texts).start()
    time.sleep(BASELINE_S)
    published = time.monotonic()
    with sessions.begin() as session:
        repo.add_question(session, topic_id=TOPIC, question=question,
                          actor=repo.Actor(None, "Benchmark"), knowledge_dir=knowledge)
    while True:
        with sessions() as session:
            [run] = repo.training_runs(session, limit=1)
        if run.state in ("live", "rejected", "failed"):
            break
        time.sleep(0.2)
    live_after = time.monotonic() - published
    time.sleep(5.0)
    load.stop()
    phases = {phase: _stats([s for s in load.samples if _phase_of(s, worker.marks) == phase])
              for phase in PHASES}
    return {"run": run, "publish_to_live": live_after, "phases": phases,
            "all": _stats(load.samples)}


def _form_customer(path: str) -> str:
    sender = f"form-{uuid.uuid4().hex}"
    for text in ("Ich möchte meinen Abschlag berechnen", "Gas", "15.000 kWh"):
        response = requests.post(f"{RASA}{path}", json={"sender": sender, "message": text},
                                 timeout=30)
        response.raise_for_status()
    return sender


def _slots(sender: str) -> tuple[Any, Any]:
    tracker = requests.get(f"{RASA}/conversations/{sender}/tracker", timeout=10).json()
    return tracker["slots"].get("energy"), (tracker.get("active_loop") or {}).get("name")


def switches(path: str, models: list[Path], texts: list[str]) -> dict[str, Any]:
    """``SWITCHES`` model switches under load: loop pause, latencies, a form conversation."""
    customer = _form_customer(path)
    slots_before = _slots(customer)
    load = SteadyLoad(path, texts).start()
    pauses, durations = [], []
    time.sleep(3.0)
    for index in range(SWITCHES):
        model = models[index % len(models)]
        gaps: list[float] = []
        done = threading.Event()

        def probe(gaps: list[float] = gaps, done: threading.Event = done) -> None:
            with requests.Session() as http:
                while not done.is_set():
                    started = time.monotonic()
                    http.get(f"{RASA}/", timeout=60)
                    gaps.append(time.monotonic() - started)
                    time.sleep(0.02)

        prober = threading.Thread(target=probe)
        prober.start()
        time.sleep(1.0)
        started = time.monotonic()
        response = requests.put(f"{RASA}/model", json={"model_file": str(model)}, timeout=120)
        durations.append(time.monotonic() - started)
        assert response.status_code == 204, response.text
        time.sleep(2.0)
        done.set()
        prober.join()
        pauses.append(max(gaps))
        time.sleep(2.0)
    load.stop()
    slots_after = _slots(customer)
    return {"pause_max": max(pauses), "pauses": pauses, "put": durations,
            "load": _stats(load.samples), "slots_before": slots_before,
            "slots_after": slots_after}


def _start(services: list[ServiceProcess]) -> None:
    for service in services:
        service.start()
    for service in services:
        service.wait_ready()


def _row(name: str, s: dict[str, float]) -> str:
    return (f"| {name} | {s['n']:.0f} | {s['p50']:.0f} | {s['p95']:.0f} | {s['max']:.0f} | "
            f"{s['errors']:.0f} | {s['unanswered']:.0f} |")


def main() -> None:
    log_dir = REPO_ROOT / "build" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="content-training-"))
    knowledge = root / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", knowledge)
    models = root / "models"
    models.mkdir()
    for name in ("assistant.tar.gz", "copy.tar.gz"):
        shutil.copy2(REPO_ROOT / "models" / "assistant.tar.gz", models / name)
    database = f"sqlite:///{root / 'content.db'}"
    engine = make_engine(database)
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        repo.ensure_content(session, knowledge)
    texts = questions()

    calculator = tariff_service(port=TARIFF_PORT, log_path=log_dir / "training-tariff.log")
    actions = action_server(port=ACTION_PORT, log_path=log_dir / "training-actions.log",
                            tariff_url=f"http://127.0.0.1:{TARIFF_PORT}")
    actions.env.update({"DATABASE_URL": database, "KNOWLEDGE_DIR": str(knowledge)})

    def rasa(credentials: Path | str = "credentials.yml") -> ServiceProcess:
        return rasa_server(models / "assistant.tar.gz", port=RASA_PORT, action_port=ACTION_PORT,
                           log_path=log_dir / "training-rasa.log", credentials=credentials)

    patched = rasa()
    settings = dataclasses.replace(
        get_settings(), rasa_url=RASA, database_url=database, knowledge_dir=knowledge,
        model_dir=models,
    )
    worker = TimedWorker(sessions, settings=settings, work_dir=root / "training")
    rounds: list[dict[str, Any]] = []
    try:
        _start([calculator, actions, patched])
        worker.start()
        for index in range(ROUNDS):
            rounds.append(publish_to_live(sessions, worker, knowledge, texts, VARIANTS[index]))
        worker.stop()
        with sessions() as session:
            live = Path(repo.get_setting(session, "live_model")["path"])
        switch_models = [models / "copy.tar.gz", live]
        with_patch = switches("/webhooks/rest_meta/webhook", switch_models, texts)
        patched.stop()
        stock_credentials = root / "credentials-stock.yml"
        stock_credentials.write_text("rest:\n", encoding="utf-8")
        stock = rasa(stock_credentials)
        try:  # stopped also when it never becomes ready
            _start([stock])
            without_patch = switches("/webhooks/rest/webhook", switch_models, texts)
        finally:
            stock.stop()
    finally:
        worker.stop()
        patched.stop()
        actions.stop()
        calculator.stop()
        engine.dispose()

    load_average = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    run_rows: list[str] = []
    latency_rows: list[str] = []
    for index, result in enumerate(rounds, start=1):
        run: TrainingRun = result["run"]
        t = run.timings or {}
        run_rows.append(
            f"| {index} | {run.state} | {result['publish_to_live']:.1f} s | "
            f"{t.get('queued', 0):.1f} s | {t.get('workspace', 0):.1f} s | "
            f"{t.get('training', 0):.1f} s | {t.get('evaluating', 0):.1f} s | "
            f"{t.get('switching', 0):.1f} s | {run.accuracy:.4f} / {run.live_accuracy:.4f} |"
        )
        latency_rows.extend(_row(f"round {index}: {phase}", result["phases"][phase])
                            for phase in PHASES)
    newline = "\n"
    report = f"""# Retraining after an editor's change: publish → live

Command: `python -m bench.content_training` (about 5 minutes). Machine: {machine()}.

Real processes on loopback: calculator, action server, Rasa server (`rasa run --enable-api`),
a temporary SQLite content store seeded from `knowledge/`, the real `TrainingWorker` thread
(`bot/content/training.py`) polling every 2 s. Each round an editor adds one question variant
to `{TOPIC}` (`repository.add_question`, as the editor UI does). Meanwhile {CONVERSATIONS}
customers each send a held-out question every {INTERVAL_S} s (about {CONVERSATIONS / INTERVAL_S:.0f}
messages/s, a quarter of the server's capacity; a new conversation every {TURNS} messages)
through `POST /webhooks/rest_meta/webhook`, with the web app relay's timeout
({TIMEOUT.read:.0f} s; `bot/web/rasa_relay.py`).

The machine's load average (1 / 5 / 15 min) at the end was {load_average}. It includes
whatever else ran on the machine meanwhile; the benchmark alone keeps both cores busy while
it trains and evaluates, so other work shows directly in the training time and the tails.

## Publish → live

| round | result | publish → live | queued | workspace | training | evaluating | switching | accuracy new / live |
|---|---|---|---|---|---|---|---|---|
{newline.join(run_rows)}

`training` is `rasa train --force` at nice 10; `evaluating` is `python -m bot eval` on the
held-out set for the new model and, in round 1 only, the live model (its accuracy is then
cached in `content_settings['live_model']`); `switching` is `PUT /model` plus the check of
`GET /status`. "publish → live" is measured from the editor's commit to the run row
showing `live`, including the wait for the worker's next poll.

## Customers' latency during the rounds (ms)

| phase | messages | p50 | p95 | max | errors | no answer |
|---|---|---|---|---|---|---|
{newline.join(latency_rows)}

"switch" covers the messages sent from the start of `PUT /model` until one second after it
returned.

## The switch alone: patched vs. stock Rasa 3.6

{SWITCHES} × `PUT /model` under the same load; the probe sends `GET /` every 20 ms and
records the longest answer time (how long the event loop stood still). A customer who had
entered „Abschlag berechnen“, „Gas“, „15.000 kWh“ before the switches is looked up afterwards.

| | patched (`channels/server_patches.py`) | stock |
|---|---|---|
| `PUT /model` duration | {' / '.join(f'{d:.1f}' for d in with_patch['put'])} s | {' / '.join(f'{d:.1f}' for d in without_patch['put'])} s |
| event loop stood still (probe, max per switch) | {' / '.join(f'{p:.2f}' for p in with_patch['pauses'])} s | {' / '.join(f'{p:.2f}' for p in without_patch['pauses'])} s |
| customers' messages during the switches | {with_patch['load']['n']:.0f} | {without_patch['load']['n']:.0f} |
| latency p50 / p95 / max | {with_patch['load']['p50']:.0f} / {with_patch['load']['p95']:.0f} / {with_patch['load']['max']:.0f} ms | {without_patch['load']['p50']:.0f} / {without_patch['load']['p95']:.0f} / {without_patch['load']['max']:.0f} ms |
| errors / without answer | {with_patch['load']['errors']:.0f} / {with_patch['load']['unanswered']:.0f} | {without_patch['load']['errors']:.0f} / {without_patch['load']['unanswered']:.0f} |
| form conversation: energy slot, active form before → after | {with_patch['slots_before']} → {with_patch['slots_after']} | {without_patch['slots_before']} → {without_patch['slots_after']} |

Stock Rasa builds a new tracker store for the new model, so every conversation starts over
(here: the instalment form is forgotten), and it loads the model on its event loop, so no
request is answered meanwhile. The patch keeps the tracker and lock stores and loads the
model in a worker thread with the garbage collection of older objects paused (each full
collection the load triggers otherwise walks the whole heap for ~0.4 s with the GIL held).
What remains of the pause is C code holding the GIL (msgpack decoding of spaCy's lookup
tables) and the threads competing for it. Either way the longest wait stays far below the
web app relay's {TIMEOUT.read:.0f} s timeout, which therefore stays as it is.
"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "content-training.md").write_text(report, encoding="utf-8")
    print(report)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
