"""Benchmark of the Rasa server against stock Rasa 3.6 (``make bench``) → ``docs/benchmarks/rasa-server.md``.

One run, on this machine, measures two servers with the same load:

* **ours**: the trained model (``models/assistant.tar.gz``) with the real action server and the
  calculator, messages through our ``rest_meta`` channel, with ``RASA_TOKEN`` required as in
  ``make run`` and production (the action server takes calls only with its own token);
* **stock**: the ``rasa init`` bot (moodbot), created and trained by this benchmark into a
  temporary directory with Rasa's default pipeline and policies, served with
  ``rasa run --enable-api`` through the stock ``rest`` channel (it needs no action server).

The load, the same for both: a short warm-up (not counted), a sequential series, and
``CONVERSATIONS`` closed-loop conversations at once (each sends its next message as soon as the
previous answer arrived). The concurrent load alternates between the two servers for
``ROUNDS`` rounds, so a busy spell of this shared machine hits both rather than one; the
results pool the rounds. Also measured: our training time (from the last ``make train``), the
stock bot's ``rasa init`` time, start-up until ready, and the Rasa servers' memory (RSS).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from bench.common import REPO_ROOT, RESULTS_DIR, machine, questions, summary_ms
from bot.devserver import RASA_BIN, ServiceProcess, action_server, rasa_server, tariff_service

ACTION_PORT, RASA_PORT, TARIFF_PORT, STOCK_PORT = 25055, 25005, 25100, 25006
SEQUENTIAL_MESSAGES = 200
WARMUP_MESSAGES = 10
CONVERSATIONS = 50
MESSAGES_PER_CONVERSATION = 20
ROUNDS = 2
# rasa init trains DIET, TED and UnexpecTED for 100 epochs each: minutes on two busy cores.
INIT_TIMEOUT_S = 1800
TARGET_RATIO = 2.5
TARGET_P95_MS = 1000.0
TARGET_SEQUENTIAL_P95_MS = 50.0

# The moodbot's own kind of texts (greetings, moods, goodbyes, bot challenges, yes/no), written
# for this benchmark, not taken from its training data.
MOODBOT_TEXTS = [
    "hi there",
    "good morning to you",
    "hey, how are you doing?",
    "hello bot",
    "I'm feeling fantastic today",
    "everything is wonderful",
    "really great, thanks",
    "I feel awful",
    "today was a terrible day",
    "I'm a bit down",
    "not so great honestly",
    "yes, it did",
    "no, not at all",
    "yeah sure",
    "nope",
    "are you a real person?",
    "am I talking to a machine?",
    "is this a human or a bot?",
    "bye for now",
    "see you tomorrow",
    "goodbye and thanks",
]


@dataclass
class Target:
    """One server under load: where to post, with which texts, and what it got."""

    name: str
    url: str
    texts: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    sequential: list[float] = field(default_factory=list)
    sequential_errors: int = 0
    concurrent: list[float] = field(default_factory=list)
    concurrent_errors: int = 0
    concurrent_wall: float = 0.0
    empty_answers: int = 0
    # Per round of the concurrent load: messages/s and the 1-min load average before it.
    rounds: list[tuple[float, float]] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Answered messages per second of the concurrent load, over all rounds."""
        return len(self.concurrent) / self.concurrent_wall if self.concurrent_wall else 0.0


async def _post(session: aiohttp.ClientSession, target: Target, sender: str,
                text: str) -> float | None:
    """Send one message; its latency in seconds, or ``None`` for an error.

    An error: no HTTP 200, a transport failure or a timeout. An answer without any bot
    message counts as answered but is noted: the moodbot sometimes just listens after an
    out-of-context yes/no, which costs its server less than an answer.
    """
    started = time.perf_counter()
    try:
        async with session.post(target.url, json={"sender": sender, "message": text},
                                headers=target.headers) as response:
            body = await response.json(content_type=None) if response.status == 200 else None
            if response.status != 200:
                await response.read()
                return None
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return None
    elapsed = time.perf_counter() - started
    if not body:
        target.empty_answers += 1
    return elapsed


def _session(limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                 connector=aiohttp.TCPConnector(limit=limit))


async def warm_up(target: Target) -> None:
    """A few messages before measuring (first turns build TensorFlow graphs); not counted."""
    async with _session(1) as session:
        for i in range(WARMUP_MESSAGES):
            await _post(session, target, "warmup", target.texts[i % len(target.texts)])
    target.empty_answers = 0


async def sequential(target: Target) -> None:
    """``SEQUENTIAL_MESSAGES`` one after another over one connection, 20 conversations."""
    async with _session(1) as session:
        for i in range(SEQUENTIAL_MESSAGES):
            text = target.texts[i % len(target.texts)]
            latency = await _post(session, target, f"seq-{i % 20}-{target.name}", text)
            if latency is None:
                target.sequential_errors += 1
            else:
                target.sequential.append(latency)


async def concurrent(target: Target) -> None:
    """``CONVERSATIONS`` conversations at once, each sending its next message on the answer.

    One asyncio client (aiohttp) instead of 50 threads, so the load generator takes as little
    of the two cores from the servers as possible.
    """

    async def conversation(session: aiohttp.ClientSession, index: int) -> None:
        sender = uuid.uuid4().hex
        for j in range(MESSAGES_PER_CONVERSATION):
            text = target.texts[(index * MESSAGES_PER_CONVERSATION + j) % len(target.texts)]
            latency = await _post(session, target, sender, text)
            if latency is None:
                target.concurrent_errors += 1
            else:
                target.concurrent.append(latency)

    load = os.getloadavg()[0]
    answered = len(target.concurrent)
    async with _session(CONVERSATIONS) as session:
        started = time.perf_counter()
        await asyncio.gather(*(conversation(session, i) for i in range(CONVERSATIONS)))
        wall = time.perf_counter() - started
    target.concurrent_wall += wall
    target.rounds.append(((len(target.concurrent) - answered) / wall, load))


def _rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    processes = [process, *process.children(recursive=True)]
    return float(sum(p.memory_info().rss for p in processes)) / 2**20


def init_stock_bot(directory: Path, log_path: Path) -> tuple[Path, float]:
    """``rasa init --no-prompt`` into ``directory`` (creates and trains the moodbot).

    Rasa's training cache goes into the directory too, so every run trains from scratch.

    Returns:
        The trained model and the seconds ``rasa init`` took.
    """
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_CACHE_DIRECTORY": str(directory / ".rasa-cache")}
    started = time.perf_counter()
    with log_path.open("wb") as log:
        subprocess.run([str(RASA_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(directory)],
                       cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT, check=True,
                       timeout=INIT_TIMEOUT_S)
    took = time.perf_counter() - started
    models = sorted((directory / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError(f"rasa init trained no model (log: {log_path})")
    return models[-1], took


def _ready(services: list[ServiceProcess]) -> float:
    """Wait until every service answers its health URL; seconds since the call."""
    started = time.perf_counter()
    for service in services:
        service.wait_ready()
    return time.perf_counter() - started


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"


def _row(latencies: list[float]) -> str:
    s = summary_ms(latencies)
    return f"{s['p50']:.0f} / {s['p95']:.0f} / {s['p99']:.0f} ms"


def main() -> None:
    run_started = time.perf_counter()
    load_at_start = os.getloadavg()
    started_at = machine()
    model = REPO_ROOT / "models" / "assistant.tar.gz"
    log_dir = REPO_ROOT / "build" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    # Tokens as `make run` has them: the channel and Rasa's API require RASA_TOKEN, the action
    # server ACTION_SERVER_TOKEN. Fresh for this run, so no other process's token is needed.
    rasa_token = secrets.token_urlsafe(32)
    action_token = secrets.token_urlsafe(32)
    auth = {"Authorization": f"Bearer {rasa_token}"}
    # devserver reads the action token from the environment (else it writes build/action-token).
    os.environ["ACTION_SERVER_TOKEN"] = action_token

    with tempfile.TemporaryDirectory(prefix="bench-stock-rasa-") as tmp:
        stock_dir = Path(tmp)
        print(f"rasa init into {stock_dir} (log: {log_dir / 'stock-rasa-init.log'}) …", flush=True)
        stock_model, stock_init_s = init_stock_bot(stock_dir, log_dir / "stock-rasa-init.log")

        calculator = tariff_service(port=TARIFF_PORT, log_path=log_dir / "tariff.log").start()
        actions = action_server(
            port=ACTION_PORT,
            log_path=log_dir / "action-server.log",
            tariff_url=f"http://127.0.0.1:{TARIFF_PORT}",
            extra_env={"ACTION_SERVER_TOKEN": action_token},
        ).start()
        ours = rasa_server(
            model, port=RASA_PORT, action_port=ACTION_PORT, log_path=log_dir / "rasa-server.log",
            extra_env={"RASA_TOKEN": rasa_token, "ACTION_SERVER_TOKEN": action_token},
        )
        # Stock: its own credentials (`rest:` and the `rasa:` channel) and endpoints (no
        # action server, in-memory stores). The same --auth-token; the stock `rest` channel
        # does not check it, so the header is sent to both and changes nothing there.
        stock = rasa_server(
            stock_model, port=STOCK_PORT, log_path=log_dir / "stock-rasa-server.log",
            credentials=stock_dir / "credentials.yml", endpoints=stock_dir / "endpoints.yml",
            extra_env={"RASA_TOKEN": rasa_token, "RASA_TELEMETRY_ENABLED": "false"},
        )
        try:
            # One after the other, so neither start-up competes with the other for the cores.
            ours.start()
            startup_ours = _ready([actions, ours])
            stock.start()
            startup_stock = _ready([stock])
            calculator.wait_ready()
            assert ours.process is not None and stock.process is not None
            rss_idle = {"ours": _rss_mb(ours.process.pid), "stock": _rss_mb(stock.process.pid)}

            targets = {
                "ours": Target("ours", f"http://127.0.0.1:{RASA_PORT}/webhooks/rest_meta/webhook",
                               questions(), auth),
                "stock": Target("stock", f"http://127.0.0.1:{STOCK_PORT}/webhooks/rest/webhook",
                                MOODBOT_TEXTS, auth),
            }
            for target in targets.values():
                print(f"{target.name}: warm-up and {SEQUENTIAL_MESSAGES} sequential …", flush=True)
                asyncio.run(warm_up(target))
                asyncio.run(sequential(target))
            for round_ in range(ROUNDS):
                for target in targets.values():
                    print(f"round {round_ + 1}/{ROUNDS}: {target.name}, {CONVERSATIONS} "
                          "concurrent conversations …", flush=True)
                    asyncio.run(concurrent(target))
            rss_loaded = {"ours": _rss_mb(ours.process.pid), "stock": _rss_mb(stock.process.pid)}
        finally:
            stock.stop()
            ours.stop()
            actions.stop()
            calculator.stop()

    load_at_end = os.getloadavg()
    took_min = (time.perf_counter() - run_started) / 60
    o, s = targets["ours"], targets["stock"]
    ratio = o.throughput / s.throughput if s.throughput else float("inf")
    ours_p95 = summary_ms(o.concurrent)["p95"]
    ours_seq_p95 = summary_ms(o.sequential)["p95"]
    train_time = REPO_ROOT / "build" / "train.time"
    train_line = train_time.read_text().strip() if train_time.exists() else "not measured"
    messages = CONVERSATIONS * MESSAGES_PER_CONVERSATION * ROUNDS

    def fmt_load(load: tuple[float, float, float]) -> str:
        return " / ".join(f"{x:.2f}" for x in load)

    def fmt_rounds(target: Target) -> str:
        return ", ".join(f"{rate:.1f} (load {load:.1f})" for rate, load in target.rounds)

    report = f"""# Rasa server benchmark: our assistant vs. stock Rasa 3.6

Command: `make bench` (`python -m bench.rasa_server`), one run, both servers on the same machine.
Machine: {started_at}.
Load average (1 / 5 / 15 min) at the start: {fmt_load(load_at_start)}; at the end:
{fmt_load(load_at_end)} ({os.cpu_count()} cores, shared with other work: the numbers vary from
run to run, the ratio less than the absolute values). The whole run took {took_min:.1f} min.

- **ours**: `models/assistant.tar.gz` ({model.stat().st_size / 2**20:.1f} MiB), real action
  server and calculator, `POST /webhooks/rest_meta/webhook` with `RASA_TOKEN` required (each
  answer rendered by the action server, which requires its own token), the demo's
  `endpoints.yml` (conversations in memory as event objects, `channels/tracker_store.py`;
  Rasa's in-memory store re-encodes them as JSON every turn). Texts: the held-out
  set's questions (`tests/nlu/heldout.tsv`: FAQ, out-of-scope, clarification cases).
- **stock**: the `rasa init` bot (moodbot, Rasa's default pipeline and policies), created and
  trained by this run in a temporary directory, `rasa run --enable-api`, the stock `rest`
  channel `POST /webhooks/rest/webhook`, in-memory stores, no action server needed. Texts:
  {len(MOODBOT_TEXTS)} greetings, moods, yes/no, bot challenges and goodbyes written for the
  benchmark (`MOODBOT_TEXTS`).
- Load, the same for both: {WARMUP_MESSAGES} warm-up messages (not counted); {SEQUENTIAL_MESSAGES}
  sequential messages; {CONVERSATIONS} concurrent closed-loop conversations × {MESSAGES_PER_CONVERSATION}
  messages (each sends its next message as soon as the answer arrived; one aiohttp client),
  {ROUNDS} rounds alternating ours / stock ({messages} messages per server). An error is a
  request without HTTP 200 (or a timeout after 60 s). An answer without any bot message counts
  as answered and is shown separately (the moodbot sometimes just listens after an
  out-of-context yes/no: less work for its server, so it flatters stock).

## Targets (issue 16, "Speed stays")

| target | measured | verdict |
|---|---|---|
| throughput ours / stock ≥ {TARGET_RATIO}× | {o.throughput:.1f} / {s.throughput:.1f} messages/s = **{ratio:.2f}×** | {_verdict(ratio >= TARGET_RATIO)} |
| ours: p95 with {CONVERSATIONS} concurrent conversations < {TARGET_P95_MS / 1000:.0f} s | {ours_p95:.0f} ms | {_verdict(ours_p95 < TARGET_P95_MS)} |
| ours: sequential p95 ≤ {TARGET_SEQUENTIAL_P95_MS:.0f} ms | {ours_seq_p95:.0f} ms | {_verdict(ours_seq_p95 <= TARGET_SEQUENTIAL_P95_MS)} |
| errors (ours) | {o.sequential_errors + o.concurrent_errors} | {_verdict(o.sequential_errors + o.concurrent_errors == 0)} |

## Both servers

| measure | ours | stock `rasa init` bot |
|---|---|---|
| {CONVERSATIONS} concurrent conversations: throughput | {o.throughput:.1f} messages/s | {s.throughput:.1f} messages/s |
| {CONVERSATIONS} concurrent conversations: p50 / p95 / p99 | {_row(o.concurrent)} | {_row(s.concurrent)} |
| {CONVERSATIONS} concurrent conversations: errors / answered | {o.concurrent_errors} / {len(o.concurrent)} | {s.concurrent_errors} / {len(s.concurrent)} |
| throughput per round, messages/s (1-min load average before it) | {fmt_rounds(o)} | {fmt_rounds(s)} |
| sequential, {SEQUENTIAL_MESSAGES} messages: p50 / p95 / p99 | {_row(o.sequential)} | {_row(s.sequential)} |
| sequential: errors | {o.sequential_errors} | {s.sequential_errors} |
| answers without any bot message | {o.empty_answers} | {s.empty_answers} |
| training | {train_line} (last `make train`) | {stock_init_s:.0f} s (`rasa init --no-prompt`, incl. creating the project) |
| server start-up until ready | {startup_ours:.1f} s (with the action server) | {startup_stock:.1f} s |
| Rasa server RSS after start / after the load | {rss_idle['ours']:.0f} MiB / {rss_loaded['ours']:.0f} MiB | {rss_idle['stock']:.0f} MiB / {rss_loaded['stock']:.0f} MiB |

Other targets: our training ≤ 3 min, our Rasa server RSS ≤ 1.5 GB. Logs of the run:
`build/bench-logs/` (`rasa-server.log`, `action-server.log`, `stock-rasa-init.log`,
`stock-rasa-server.log`).
"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "rasa-server.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
