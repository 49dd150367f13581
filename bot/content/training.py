"""Background retraining after editors change question variants (issue 5).

Publishing new question variants or a new topic queues a ``TrainingRun`` (the row is the queue:
``repository.request_training``). The web app runs one :class:`TrainingWorker` thread, which
claims queued runs one at a time and takes each through::

    queued ─▶ training ─▶ evaluating ─▶ live
                 │            ├───────▶ rejected   held-out accuracy dropped too much
                 └────────────┴───────▶ failed     any error; the old model keeps running

1. workspace (part of ``training``): ``build/training/run-<id>/`` gets the published topics
   (``export_knowledge``), ``facts/`` and ``utility.yml`` of ``KNOWLEDGE_DIR``, ``config.yml``,
   ``domain.yml`` and ``data/`` of the repository, and the FAQ training files regenerated from
   those topics (``bot.nlu.generate``), so the repository's own files are never touched;
2. training: ``rasa train`` as a niced subprocess (log ``train.log`` in the workspace, limit
   ``TRAINING_TIMEOUT_S``) into ``MODEL_DIR/content-<generation>-<run id>.tar.gz``. It runs in
   the repository root, because ``config.yml`` names the spaCy pipeline relative to it
   (``build/spacy-de``), as the Rasa server does when it loads the model;
3. evaluating: ``python -m bot eval`` on ``EVAL_QUESTIONS`` for the new model and, unless its
   accuracy is cached in ``content_settings['live_model']`` (keyed by path, fingerprint and
   question file), for the live one; :func:`gate` rejects a new model that is more than
   ``TRAINING_MAX_ACCURACY_DROP`` worse;
4. switch: ``PUT /model`` on every Rasa server in ``RASA_URL`` (comma-separated), then
   ``GET /status`` must report the new file and fingerprint; ``content_settings['live_model']``
   records the model, which ``python -m bot run`` starts with after a restart
   (:func:`live_model_path`). A server already switched when another fails is switched back.

Rasa keeps every conversation across the switch and answers while it loads the model
(``channels/server_patches.py``). Rasa reads the model file itself, so with several servers
``MODEL_DIR`` must be the same path on each of them.

Nothing happens at import time; the worker starts with :meth:`TrainingWorker.start`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.content.models import TrainingRun
from bot.content.repository import (
    claim_queued_training,
    export_knowledge,
    generation,
    get_setting,
    request_training,
    set_setting,
)
from bot.environments import bin_dir
from bot.knowledge import KnowledgeError, load_knowledge
from bot.nlu.generate import generate, write
from bot.settings import REPO_ROOT, Settings, get_settings

logger = logging.getLogger(__name__)

LIVE_MODEL_KEY: Final = "live_model"
# The model `make train` builds; live until the first retraining goes live.
DEFAULT_MODEL_NAME: Final = "assistant.tar.gz"
CONTENT_MODEL_PREFIX: Final = "content-"
# Training and evaluation import rasa: they run in the Rasa environment, whichever environment
# the web app (this worker's process) runs in.
BIN: Final = bin_dir("rasa")
# How often an idle worker looks for queued runs (s): a publish waits at most this long.
POLL_INTERVAL_S: Final = 2.0
# Niceness of `rasa train` and the evaluations: the Rasa server and the web app keep
# priority on the two cores while a model trains.
NICENESS: Final = 10
# PUT /model: the Rasa server loads the model in 4-6 s here (docs/benchmarks/content-training.md);
# a server under load or on a slow disk may take much longer, but not minutes.
SWITCH_TIMEOUT_S: Final = 120.0
STATUS_TIMEOUT_S: Final = 10.0
# Workspaces (exported content, generated data, logs) of the newest runs kept for inspection.
KEEP_WORKSPACES: Final = 5
# Accuracies come from JSON with four decimals; this keeps "exactly at the limit" accepted.
ACCURACY_EPSILON: Final = 1e-9
ACTIVE_STATES: Final = ("training", "evaluating")


class TrainingFailed(Exception):
    """A step of a retraining failed; ``message`` is German, for editors."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TrainingCancelled(Exception):
    """The worker was stopped while a subprocess ran."""


# --- the gate ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateDecision:
    """Whether a new model may go live; ``reason`` (German) explains a rejection."""

    accepted: bool
    reason: str | None = None


def percent(fraction: float) -> str:
    """A fraction as a German percentage with one decimal: ``0.9477`` → ``"94,8 %"``."""
    return f"{fraction * 100:.1f}".replace(".", ",") + " %"


def gate(new_accuracy: float, live_accuracy: float, max_drop: float) -> GateDecision:
    """Accept the new model unless its accuracy is more than ``max_drop`` below the live one's.

    Args:
        new_accuracy: held-out accuracy of the new model (0..1).
        live_accuracy: held-out accuracy of the live model on the same questions (0..1).
        max_drop: the allowed drop (0..1; 0.01 = one percentage point; negative demands a gain).

    Returns:
        The decision; a rejection names both accuracies and the required minimum in German.
    """
    required = live_accuracy - max_drop
    if new_accuracy >= required - ACCURACY_EPSILON:
        return GateDecision(accepted=True)
    return GateDecision(
        accepted=False,
        reason=(
            f"Das neue Modell beantwortet {percent(new_accuracy)} der Testfragen richtig, das "
            f"laufende {percent(live_accuracy)}; verlangt sind mindestens {percent(required)}. "
            "Das bisherige Modell bleibt aktiv. Bitte prüfen Sie die zuletzt geänderten "
            "Fragen (ähnliche Formulierungen in verschiedenen Themen verwirren die Erkennung)."
        ),
    )


# --- helpers -------------------------------------------------------------------------------


def model_fingerprint(path: Path) -> str | None:
    """The ``model_id`` of a Rasa model archive (what ``GET /status`` reports), or ``None``."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name.lstrip("/") == "metadata.json":
                    stream = archive.extractfile(member)
                    if stream is None:
                        return None
                    model_id = json.load(stream).get("model_id")
                    return str(model_id) if model_id else None
    except (OSError, tarfile.TarError, ValueError):
        return None
    return None


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def live_model_path(session: Session) -> Path | None:
    """The model the last retraining put live, if its file still exists.

    ``None`` means no retraining went live yet (or its file is gone): Rasa runs the model of
    ``make train`` (``MODEL_DIR/assistant.tar.gz``).
    """
    live = get_setting(session, LIVE_MODEL_KEY)
    if not isinstance(live, dict) or not live.get("path"):
        return None
    path = Path(str(live["path"]))
    return path if path.is_file() else None


def build_workspace(
    session: Session, workspace: Path, *, repo_root: Path, knowledge_dir: Path
) -> int:
    """Fill ``workspace`` with everything ``rasa train`` needs, from the published content.

    Args:
        session: to read the published topics.
        workspace: created (an old one of the same name is replaced).
        repo_root: where ``config.yml``, ``domain.yml`` and ``data/`` come from.
        knowledge_dir: where ``facts/`` and ``utility.yml`` come from.

    Returns:
        The content generation that was exported.

    Raises:
        KnowledgeError: the exported content does not validate.
    """
    if workspace.exists():
        shutil.rmtree(workspace)
    knowledge = workspace / "knowledge"
    knowledge.mkdir(parents=True)
    exported = generation(session)
    export_knowledge(session, knowledge)
    shutil.copytree(knowledge_dir / "facts", knowledge / "facts")
    shutil.copy2(knowledge_dir / "utility.yml", knowledge / "utility.yml")
    for name in ("config.yml", "domain.yml"):
        shutil.copy2(repo_root / name, workspace / name)
    shutil.copytree(repo_root / "data", workspace / "data")
    write(generate(load_knowledge(knowledge), workspace), workspace)
    return exported


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _active() -> Any:
    """The SQL condition "run is being trained or evaluated"."""
    # The models annotate columns with their Python types, which have no ``in_``.
    return TrainingRun.state.in_(ACTIVE_STATES)  # type: ignore[attr-defined]


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {phase: round(seconds, 2) for phase, seconds in timings.items()}


# --- the worker ----------------------------------------------------------------------------


class TrainingWorker:
    """Takes queued training runs through training, evaluation and the model switch.

    One daemon thread (:meth:`start`, :meth:`stop`); :meth:`run_once` processes one run in the
    calling thread (tests, benchmarks). The steps :meth:`train`, :meth:`evaluate` and
    :meth:`switch` run the real subprocesses and HTTP calls; a subclass may replace them.
    """

    def __init__(
        self,
        sessions: sessionmaker,
        *,
        settings: Settings | None = None,
        repo_root: Path = REPO_ROOT,
        work_dir: Path | None = None,
        model_dir: Path | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        """Create an idle worker.

        Args:
            sessions: session factory of the web app's database.
            settings: defaults to the process settings.
            repo_root: source of config, domain and training data; working directory of Rasa.
            work_dir: parent of the run workspaces (default ``TRAINING_WORK_DIR``).
            model_dir: where new models are written (default ``MODEL_DIR``).
            poll_interval_s: pause between looks at the queue while idle.
        """
        self.sessions = sessions
        self.settings = settings or get_settings()
        self.repo_root = repo_root
        self.work_dir = work_dir or self.settings.training_work_dir
        self.model_dir = model_dir or self.settings.model_dir
        self.poll_interval_s = poll_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the thread; does nothing (returns False) when ``TRAINING_ENABLED`` is off."""
        if not self.settings.training_enabled:
            logger.info("retraining disabled (TRAINING_ENABLED)")
            return False
        if self._thread is not None and self._thread.is_alive():
            return True
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="training-worker", daemon=True)
        self._thread.start()
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread; a running subprocess is terminated and its run queued again."""
        self._stop.set()
        self._terminate()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() is not None
            except Exception:  # the thread must survive a database outage
                logger.exception("training worker: polling the queue failed")
                busy = False
            if not busy:
                self._stop.wait(self.poll_interval_s)

    # --- the queue -------------------------------------------------------------------------

    @property
    def stale_after_s(self) -> float:
        """A run active longer than this was interrupted (training and two evaluations)."""
        return 3 * self.settings.training_timeout_s + 2 * SWITCH_TIMEOUT_S

    def _recover_stale(self, session: Session) -> None:
        """Fail runs a killed process left active, and queue their content again."""
        now = _now()
        active = session.execute(
            select(TrainingRun).where(_active())
        ).scalars()
        for run in active:
            started = run.started_at or run.created_at
            if (now - started).total_seconds() > self.stale_after_s:
                run.state = "failed"
                run.finished_at = now
                run.reason = (
                    "Abgebrochen: Die Web-App wurde während des Trainings beendet. "
                    "Ein neuer Lauf ist eingeplant."
                )
                request_training(session, generation=run.generation,
                                 requested_by=run.requested_by, now=now)

    def run_once(self) -> TrainingRun | None:
        """Claim the oldest queued run and process it to its end.

        Returns:
            The finished run, or ``None`` when nothing was queued (or another worker is busy).
        """
        with self.sessions.begin() as session:
            self._recover_stale(session)
            busy = session.execute(select(TrainingRun.id).where(_active())).first()
            if busy is not None:
                return None
            run = session.execute(
                select(TrainingRun).where(TrainingRun.state == "queued").order_by(TrainingRun.id)
            ).scalars().first()
            if run is None or not claim_queued_training(session, run.id):
                return None
            run_id = run.id
        self._process_run(run_id)
        with self.sessions() as session:
            finished: TrainingRun | None = session.get(TrainingRun, run_id)
            return finished

    def _update(self, run_id: int, **values: Any) -> None:
        with self.sessions.begin() as session:
            run = session.get(TrainingRun, run_id)
            if run is not None:
                for key, value in values.items():
                    setattr(run, key, value)

    def _process_run(self, run_id: int) -> None:
        timings: dict[str, float] = {}
        model_path: Path | None = None
        switched = False  # from here on Rasa serves the new model: its file must stay
        workspace = self.work_dir / f"run-{run_id}"
        try:
            started = time.monotonic()
            with self.sessions.begin() as session:
                run = session.get(TrainingRun, run_id)
                assert run is not None
                if run.started_at is not None:
                    timings["queued"] = (run.started_at - run.created_at).total_seconds()
                exported = build_workspace(session, workspace, repo_root=self.repo_root,
                                           knowledge_dir=self.settings.knowledge_dir)
                run.generation = max(run.generation, exported)
                name = f"{CONTENT_MODEL_PREFIX}{run.generation}-{run_id}.tar.gz"
                model_path = self.model_dir / name
                run.model_path = str(model_path)
            timings["workspace"] = time.monotonic() - started
            logger.info("training run %s: training %s", run_id, model_path.name)

            started = time.monotonic()
            self.train(workspace, model_path)
            timings["training"] = time.monotonic() - started
            self._update(run_id, state="evaluating", timings=_rounded(timings))

            started = time.monotonic()
            accuracy = self.evaluate(model_path, workspace, "new")
            live_path, live_accuracy = self._live_accuracy(workspace)
            timings["evaluating"] = time.monotonic() - started
            decision = gate(accuracy, live_accuracy, self.settings.training_max_accuracy_drop)
            if not decision.accepted:
                model_path.unlink(missing_ok=True)
                self._update(run_id, state="rejected", reason=decision.reason, accuracy=accuracy,
                             live_accuracy=live_accuracy, finished_at=_now(),
                             timings=_rounded(timings))
                logger.info("training run %s rejected: %.4f < %.4f", run_id, accuracy,
                            live_accuracy)
                return

            started = time.monotonic()
            self.switch(model_path, previous=live_path)
            switched = True
            timings["switching"] = time.monotonic() - started
            with self.sessions.begin() as session:
                set_setting(session, LIVE_MODEL_KEY, {
                    "path": str(model_path.resolve()),
                    "model_id": model_fingerprint(model_path),
                    "accuracy": accuracy,
                    "questions": str(self.settings.eval_questions),
                    "questions_sha256": _file_digest(self.settings.eval_questions),
                    "run_id": run_id,
                    "since": _now().isoformat(),
                })
                run = session.get(TrainingRun, run_id)
                assert run is not None
                run.state = "live"
                run.accuracy = accuracy
                run.live_accuracy = live_accuracy
                run.finished_at = _now()
                run.timings = _rounded(timings)
            logger.info("training run %s live: %s (accuracy %.4f)", run_id, model_path.name,
                        accuracy)
            self._prune(keep={model_path.resolve(), live_path.resolve()})
        except TrainingCancelled:
            self._cancelled(run_id, model_path, timings)
        except Exception as exc:
            logger.exception("training run %s failed", run_id)
            if isinstance(exc, TrainingFailed):
                reason = exc.message
            elif isinstance(exc, KnowledgeError):
                reason = (
                    "Die veröffentlichten Inhalte ließen sich nicht für das Training aufbereiten: "
                    f"{'; '.join(map(str, exc.problems))}. Das bisherige Modell bleibt aktiv."
                )
            else:
                reason = (
                    f"Unerwarteter Fehler ({type(exc).__name__}: {exc}). Das bisherige Modell "
                    "bleibt aktiv."
                )
            if model_path is not None and not switched:
                model_path.unlink(missing_ok=True)
            self._update(run_id, state="failed", reason=reason[:2000], finished_at=_now(),
                         timings=_rounded(timings))
        finally:
            self._prune_workspaces()

    def _cancelled(self, run_id: int, model_path: Path | None, timings: dict[str, float]) -> None:
        if model_path is not None:
            model_path.unlink(missing_ok=True)
        with self.sessions.begin() as session:
            run = session.get(TrainingRun, run_id)
            if run is None:
                return
            run.state = "failed"
            run.finished_at = _now()
            run.timings = _rounded(timings)
            run.reason = (
                "Abgebrochen, weil die Web-App beendet wurde. Ein neuer Lauf ist eingeplant."
            )
            request_training(session, generation=run.generation, requested_by=run.requested_by)

    def _live_accuracy(self, workspace: Path) -> tuple[Path, float]:
        """The live model and its held-out accuracy (cached in ``content_settings``)."""
        questions = self.settings.eval_questions
        with self.sessions() as session:
            live = live_model_path(session) or self.model_dir / DEFAULT_MODEL_NAME
            cached = get_setting(session, LIVE_MODEL_KEY)
        if not live.is_file():
            live = self.settings.model_dir / DEFAULT_MODEL_NAME
        if not live.is_file():
            raise TrainingFailed(
                f"Das laufende Modell ({live}) wurde nicht gefunden; ohne Vergleich geht kein "
                "neues Modell live."
            )
        fingerprint = model_fingerprint(live)
        digest = _file_digest(questions)
        if (
            isinstance(cached, dict)
            and cached.get("path") == str(live.resolve())
            and cached.get("model_id") == fingerprint
            and cached.get("questions_sha256") == digest
            and isinstance(cached.get("accuracy"), int | float)
        ):
            return live, float(cached["accuracy"])
        accuracy = self.evaluate(live, workspace, "live")
        with self.sessions.begin() as session:
            set_setting(session, LIVE_MODEL_KEY, {
                "path": str(live.resolve()),
                "model_id": fingerprint,
                "accuracy": accuracy,
                "questions": str(questions),
                "questions_sha256": digest,
            })
        return live, accuracy

    # --- the steps -------------------------------------------------------------------------

    def _run(self, command: Sequence[str], *, stdout: Path, stderr: Path | None = None) -> None:
        """Run a niced subprocess in the repository root, killed on timeout or stop.

        Raises:
            TrainingFailed: it exited with an error or took longer than the limit.
            TrainingCancelled: the worker was stopped.
        """
        nice = ["nice", "-n", str(NICENESS)] if shutil.which("nice") else []
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
        timeout = self.settings.training_timeout_s
        with ExitStack() as files:
            out = files.enter_context(stdout.open("wb"))
            err = files.enter_context(stderr.open("wb")) if stderr else subprocess.STDOUT
            process = subprocess.Popen(
                [*nice, *command],
                cwd=self.repo_root,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: a timeout kills its children
            )
            self._process = process
            try:
                deadline = time.monotonic() + timeout
                while process.poll() is None:
                    if self._stop.is_set():
                        self._terminate()
                        raise TrainingCancelled()
                    if time.monotonic() > deadline:
                        self._terminate()
                        raise TrainingFailed(
                            f"Abgebrochen nach {timeout:.0f} s (TRAINING_TIMEOUT_S). Das "
                            f"bisherige Modell bleibt aktiv. Protokoll: {stdout}"
                        )
                    time.sleep(0.2)
            finally:
                self._process = None
        if self._stop.is_set():  # stop() may have terminated it before the loop noticed
            raise TrainingCancelled()
        if process.returncode != 0:
            raise TrainingFailed(
                f"Der Schritt ist mit Fehler {process.returncode} beendet worden. Das bisherige "
                f"Modell bleibt aktiv. Protokoll: {stderr or stdout}"
            )

    def _terminate(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        except ProcessLookupError:
            pass

    def train(self, workspace: Path, model_path: Path) -> None:
        """Train ``model_path`` from the workspace with ``rasa train``.

        Raises:
            TrainingFailed: training failed, took too long or wrote no model.
        """
        model_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(BIN / "rasa"), "train", "--force",
            "--config", str(workspace / "config.yml"),
            "--domain", str(workspace / "domain.yml"),
            "--data", str(workspace / "data"),
            "--out", str(model_path.parent),
            "--fixed-model-name", model_path.name.removesuffix(".tar.gz"),
        ]
        try:
            self._run(command, stdout=workspace / "train.log")
        except TrainingFailed as exc:
            raise TrainingFailed(f"Das Training ist fehlgeschlagen. {exc.message}") from exc
        if not model_path.is_file():
            raise TrainingFailed(
                f"Das Training hat kein Modell erzeugt. Protokoll: {workspace / 'train.log'}"
            )

    def evaluate(self, model: Path, workspace: Path, label: str) -> float:
        """Held-out accuracy of ``model`` on ``EVAL_QUESTIONS`` (``python -m bot eval``).

        Raises:
            TrainingFailed: the evaluation failed or printed no result.
        """
        out = workspace / f"eval-{label}.jsonl"
        log = workspace / f"eval-{label}.log"
        command = [
            str(BIN / "python"), "-m", "bot", "eval",
            "--questions", str(self.settings.eval_questions),
            "--model", str(model),
        ]
        try:
            self._run(command, stdout=out, stderr=log)
            lines = [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
            return float(json.loads(lines[-1])["accuracy"])
        except TrainingFailed as exc:
            raise TrainingFailed(
                f"Die Auswertung des Modells {model.name} ist fehlgeschlagen. {exc.message}"
            ) from exc
        except (OSError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise TrainingFailed(
                f"Die Auswertung des Modells {model.name} lieferte kein Ergebnis. "
                f"Protokoll: {log}"
            ) from exc

    def switch(self, model: Path, *, previous: Path | None) -> None:
        """Load ``model`` on every Rasa server and check each reports it.

        Raises:
            TrainingFailed: a server did not switch; those already switched are switched back
                to ``previous``.
        """
        fingerprint = model_fingerprint(model)
        switched: list[str] = []
        try:
            for url in self.settings.rasa_urls:
                self._put_model(url, model, self._token)
                switched.append(url)
                self._check_status(url, model, fingerprint, self._token)
        except TrainingFailed:
            self._switch_back(switched, previous)
            raise

    @property
    def _token(self) -> dict[str, str]:
        """Query parameters for Rasa's HTTP API (``RASA_TOKEN``, when Rasa requires one)."""
        return {"token": self.settings.rasa_token} if self.settings.rasa_token else {}

    @staticmethod
    def _put_model(url: str, model: Path, token: dict[str, str]) -> None:
        try:
            response = requests.put(
                f"{url}/model", json={"model_file": str(model.resolve())}, params=token,
                timeout=SWITCH_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise TrainingFailed(
                f"Der Rasa-Server {url} war nicht erreichbar ({type(exc).__name__}). Das "
                "bisherige Modell bleibt aktiv."
            ) from exc
        if response.status_code != 204:
            raise TrainingFailed(
                f"Der Rasa-Server {url} hat das neue Modell nicht geladen (HTTP "
                f"{response.status_code}: {response.text[:300]}). Das bisherige Modell bleibt "
                "aktiv."
            )

    @staticmethod
    def _check_status(
        url: str, model: Path, fingerprint: str | None, token: dict[str, str]
    ) -> None:
        try:
            status = requests.get(f"{url}/status", params=token, timeout=STATUS_TIMEOUT_S).json()
        except (requests.RequestException, ValueError) as exc:
            raise TrainingFailed(
                f"Der Rasa-Server {url} meldet keinen Status ({type(exc).__name__})."
            ) from exc
        if status.get("model_file") != model.name or (
            fingerprint is not None and status.get("model_id") != fingerprint
        ):
            raise TrainingFailed(
                f"Der Rasa-Server {url} meldet nach dem Wechsel das Modell "
                f"{status.get('model_file')!r} statt {model.name!r}."
            )

    def _switch_back(self, urls: list[str], previous: Path | None) -> None:
        if previous is None:
            return
        for url in urls:
            try:
                self._put_model(url, previous, self._token)
            except TrainingFailed:
                logger.exception("switching %s back to %s failed", url, previous)

    # --- housekeeping ----------------------------------------------------------------------

    def _prune(self, keep: set[Path]) -> None:
        """Delete retrained models other than ``keep`` and those of active runs."""
        try:
            with self.sessions() as session:
                active = session.execute(
                    select(TrainingRun.model_path).where(_active())
                ).scalars()
                keep = keep | {Path(p).resolve() for p in active if p}
            for path in self.model_dir.glob(f"{CONTENT_MODEL_PREFIX}*.tar.gz"):
                if path.resolve() not in keep:
                    path.unlink(missing_ok=True)
        except Exception:  # housekeeping must not turn a live run into a failed one
            logger.exception("pruning old models failed")

    def _prune_workspaces(self) -> None:
        runs = sorted(
            (p for p in self.work_dir.glob("run-*") if p.name[4:].isdigit()),
            key=lambda p: int(p.name[4:]),
        )
        for old in runs[:-KEEP_WORKSPACES]:
            shutil.rmtree(old, ignore_errors=True)
