"""Benchmark of the Rasa server (``make bench``) → ``docs/benchmarks/rasa-server.md``.

Measures, on this machine, with the trained model and the real action server:
training time (from the last ``make train``), Rasa server memory (RSS), and message latency
through the REST channel, sequentially and with 50 concurrent conversations.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import aiohttp
import psutil
import requests

from bench.common import REPO_ROOT, RESULTS_DIR, machine, questions, summary_ms
from bot.devserver import action_server, rasa_server, tariff_service

ACTION_PORT, RASA_PORT, TARIFF_PORT = 25055, 25005, 25100
URL = f"http://127.0.0.1:{RASA_PORT}/webhooks/rest_meta/webhook"
SEQUENTIAL_MESSAGES = 200
CONVERSATIONS = 50
MESSAGES_PER_CONVERSATION = 20


def _send(session: requests.Session, sender: str, text: str) -> float:
    started = time.perf_counter()
    response = session.post(URL, json={"sender": sender, "message": text}, timeout=60)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def sequential(texts: list[str]) -> dict[str, float]:
    session = requests.Session()
    latencies = [
        _send(session, f"seq-{i % 20}", text)
        for i, text in zip(range(SEQUENTIAL_MESSAGES), itertools.cycle(texts))
    ]
    return summary_ms(latencies)


def concurrent(texts: list[str]) -> tuple[dict[str, float], float, int]:
    """50 conversations at once, each sending its next message as soon as the answer is there.

    One asyncio client (aiohttp) instead of 50 threads, so the load generator takes as little
    of the two cores from the servers as possible.
    """
    latencies: list[float] = []
    errors = 0

    async def conversation(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal errors
        sender = uuid.uuid4().hex
        for j in range(MESSAGES_PER_CONVERSATION):
            text = texts[(index * MESSAGES_PER_CONVERSATION + j) % len(texts)]
            started = time.perf_counter()
            try:
                async with session.post(URL, json={"sender": sender, "message": text}) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                        continue
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    async def run_all() -> float:
        timeout = aiohttp.ClientTimeout(total=60)
        connector = aiohttp.TCPConnector(limit=CONVERSATIONS)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            started = time.perf_counter()
            await asyncio.gather(*(conversation(session, i) for i in range(CONVERSATIONS)))
            return time.perf_counter() - started

    wall = asyncio.run(run_all())
    return summary_ms(latencies), len(latencies) / wall, errors


def _rss_mb(pid: int) -> float:
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def main() -> None:
    model = REPO_ROOT / "models" / "assistant.tar.gz"
    log_dir = REPO_ROOT / "build" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    calculator = tariff_service(port=TARIFF_PORT, log_path=log_dir / "tariff.log").start()
    actions = action_server(
        port=ACTION_PORT,
        log_path=log_dir / "action-server.log",
        tariff_url=f"http://127.0.0.1:{TARIFF_PORT}",
    ).start()
    rasa = rasa_server(
        model, port=RASA_PORT, action_port=ACTION_PORT, log_path=log_dir / "rasa-server.log"
    ).start()
    try:
        started = time.perf_counter()
        actions.wait_ready()
        rasa.wait_ready()
        startup = time.perf_counter() - started
        texts = questions()
        assert rasa.process is not None
        rss_idle = _rss_mb(rasa.process.pid)
        seq = sequential(texts)
        conc, throughput, errors = concurrent(texts)
        rss_loaded = _rss_mb(rasa.process.pid)
    finally:
        rasa.stop()
        actions.stop()
        calculator.stop()

    train_time = REPO_ROOT / "build" / "train.time"
    train_line = train_time.read_text().strip() if train_time.exists() else "not measured"
    report = f"""# Rasa server benchmark

Command: `make bench` (`python -m bench.rasa_server`). Machine: {machine()}.
Model: `models/assistant.tar.gz` ({model.stat().st_size / 2**20:.1f} MiB), real action server and calculator,
messages through `POST /webhooks/rest_meta/webhook` (each answer rendered by the action server).
Questions: the held-out set's texts (a mix of FAQ, out-of-scope, clarification cases).

| measure | value | target |
|---|---|---|
| training (`make train`, last run) | {train_line} | ≤ 3 min |
| server start-up until ready | {startup:.1f} s | |
| Rasa server RSS after start / after the load | {rss_idle:.0f} MiB / {rss_loaded:.0f} MiB | ≤ 1.5 GB |
| sequential, {SEQUENTIAL_MESSAGES} messages: p50 / p95 / p99 | {seq['p50']:.0f} / {seq['p95']:.0f} / {seq['p99']:.0f} ms | |
| {CONVERSATIONS} concurrent conversations × {MESSAGES_PER_CONVERSATION} messages: p50 / p95 / p99 | {conc['p50']:.0f} / {conc['p95']:.0f} / {conc['p99']:.0f} ms | p95 < 1 s |
| throughput with {CONVERSATIONS} concurrent conversations | {throughput:.1f} messages/s | ≥ 50/s (2 × stock) |
| errors | {errors} | 0 |

Reference from the issue: stock Rasa 3.6 (the `rasa init` bot) served about 25 messages/s with
p95 above 7 s at 50 concurrent conversations on this machine type.
"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "rasa-server.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
