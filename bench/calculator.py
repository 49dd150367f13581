"""Benchmark of the tariff calculator and the instalment form → ``docs/benchmarks/calculator.md``.

1. The calculator service alone: an open-loop load of ``RATE`` requests/s for ``DURATION_S``
   seconds (aiohttp client, one process), then as fast as ``CONCURRENCY`` clients can go;
   latency p50/p99 and throughput.
2. The form's cost in a conversation: turn latency of form turns (validation action + next
   question), of the final calculation turn (validation + calculator call), and of plain FAQ
   turns, through the Rasa server, sequentially.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import aiohttp
import requests

from bench.common import REPO_ROOT, RESULTS_DIR, machine, summary_ms
from bot.devserver import action_server, rasa_server, tariff_service

TARIFF_PORT, ACTION_PORT, RASA_PORT = 28100, 28055, 28005
RATE = 200  # requests per second, the target load
DURATION_S = 15
CONCURRENCY = 32
BODIES = [
    {"energy": "strom", "forecast_kwh": 3500, "working_price_ct": 48.5, "base_price_eur_year": 150},
    {"energy": "gas", "forecast_kwh": 15000, "working_price_ct": 22, "current_instalment_eur": 180},
    {"energy": "waerme", "forecast_kwh": 12000, "working_price_ct": 21, "month": "2023-03"},
]


async def _fixed_rate(url: str) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0

    async def one(session: aiohttp.ClientSession, body: dict) -> None:
        nonlocal errors
        started = time.perf_counter()
        try:
            async with session.post(url, json=body) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
                    return
        except aiohttp.ClientError:
            errors += 1
            return
        latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = []
        started = time.perf_counter()
        for i in range(RATE * DURATION_S):
            target = started + i / RATE
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(session, BODIES[i % len(BODIES)])))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
    return latencies, errors, wall


async def _closed_loop(url: str, total: int = 6000) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in counter:
            started = time.perf_counter()
            async with session.post(url, json=BODIES[i % len(BODIES)]) as response:
                await response.read()
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as s:
        started = time.perf_counter()
        await asyncio.gather(*(worker(s) for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
    return latencies, len(latencies) / wall


def _turns(rasa: str) -> dict[str, list[float]]:
    url = f"{rasa}/webhooks/rest_meta/webhook"
    timings: dict[str, list[float]] = {"faq": [], "form": [], "calculation": []}
    session = requests.Session()

    def send(sender: str, text: str) -> float:
        started = time.perf_counter()
        session.post(url, json={"sender": sender, "message": text}, timeout=30).raise_for_status()
        return time.perf_counter() - started

    for i in range(30):
        sender = uuid.uuid4().hex
        timings["faq"].append(send(sender, "Wie hat die Gaspreisbremse funktioniert?"))
        timings["faq"].append(send(sender, "Muss ich die Preisbremse beantragen?"))
        timings["form"].append(send(sender, "Ich möchte meinen Abschlag berechnen"))
        timings["form"].append(send(sender, "Gas"))
        timings["form"].append(send(sender, f"{12000 + i * 100} kWh"))
        timings["form"].append(send(sender, "22 Cent"))
        timings["form"].append(send(sender, "weiß ich nicht"))
        timings["calculation"].append(send(sender, "überspringen"))
    return timings


def main() -> None:
    log_dir = REPO_ROOT / "build" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    calculator = tariff_service(port=TARIFF_PORT, log_path=log_dir / "tariff.log").start()
    try:
        calculator.wait_ready()
        url = f"http://127.0.0.1:{TARIFF_PORT}/v1/instalment"
        fixed, errors, wall = asyncio.run(_fixed_rate(url))
        closed, max_rps = asyncio.run(_closed_loop(url))
        actions = action_server(
            port=ACTION_PORT,
            log_path=log_dir / "actions.log",
            tariff_url=f"http://127.0.0.1:{TARIFF_PORT}",
        ).start()
        rasa = rasa_server(
            REPO_ROOT / "models" / "assistant.tar.gz",
            port=RASA_PORT,
            action_port=ACTION_PORT,
            log_path=log_dir / "rasa.log",
        ).start()
        try:
            actions.wait_ready()
            rasa.wait_ready()
            turns = _turns(f"http://127.0.0.1:{RASA_PORT}")
        finally:
            rasa.stop()
            actions.stop()
    finally:
        calculator.stop()

    fixed_ms, closed_ms = summary_ms(fixed), summary_ms(closed)
    med = {k: statistics.median(v) * 1000 for k, v in turns.items()}
    report = f"""# Tariff calculator benchmark

Command: `make bench` (`python -m bench.calculator`). Machine: {machine()}.
Service: `python -m bot.tariff` (uvicorn, one worker), `POST /v1/instalment` with three request
shapes (electricity/gas/heat); the load generator (aiohttp) runs on the same 2 cores.

## Calculator under load

| load | requests | p50 | p99 | throughput | errors |
|---|---|---|---|---|---|
| open loop, {RATE} requests/s for {DURATION_S} s | {len(fixed)} | {fixed_ms['p50']:.1f} ms | {fixed_ms['p99']:.1f} ms | {len(fixed) / wall:.0f}/s | {errors} |
| closed loop, {CONCURRENCY} concurrent clients | {len(closed)} | {closed_ms['p50']:.1f} ms | {closed_ms['p99']:.1f} ms | {max_rps:.0f}/s (maximum) | 0 |

Target: p99 ≤ 20 ms at 200 requests/s.

## What the form adds to a conversation turn

Median latency through the Rasa server (REST channel, real action server and calculator),
30 conversations, sequential:

| turn | median | p95 |
|---|---|---|
| FAQ answer | {med['faq']:.0f} ms | {summary_ms(turns['faq'])['p95']:.0f} ms |
| form turn (slot validation + next question) | {med['form']:.0f} ms | {summary_ms(turns['form'])['p95']:.0f} ms |
| final turn (validation + calculator + Rechenweg) | {med['calculation']:.0f} ms | {summary_ms(turns['calculation'])['p95']:.0f} ms |

Extra latency of a form turn over a FAQ turn: {med['form'] - med['faq']:.0f} ms (median); of the
calculation turn: {med['calculation'] - med['faq']:.0f} ms.
"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "calculator.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
