"""Benchmark of the web app → ``docs/benchmarks/web-app.md``.

1. The latency the web app adds over Rasa: the same questions sent sequentially to Rasa's
   ``rest_meta`` channel directly and through ``POST /api/v1/conversations/{id}/messages``
   (which stores both messages in SQLite and relays); the difference of the medians.
2. 100 concurrent conversations over WebSocket for 60 s: each creates a conversation, opens
   its WebSocket, and sends a question every 3-6 s; every message the POST answer returned must
   also arrive over the WebSocket (none lost), and no request may fail.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import requests

from bench.common import REPO_ROOT, RESULTS_DIR, machine, questions, summary_ms
from bot.devserver import action_server, rasa_server, tariff_service, web_app

TARIFF_PORT, ACTION_PORT, RASA_PORT, WEB_PORT = 29100, 29055, 29005, 29000
RASA = f"http://127.0.0.1:{RASA_PORT}"
WEB = f"http://127.0.0.1:{WEB_PORT}"
SEQUENTIAL = 150
CONVERSATIONS = 100
DURATION_S = 60


def _overhead(texts: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Both paths get the same conversations: 10 messages each, then a new one.

    (A Rasa tracker grows with its conversation, so the comparison must not mix long and
    short conversations.)
    """
    session = requests.Session()
    direct, through = [], []
    cid = ""
    for i in range(SEQUENTIAL):
        if i % 10 == 0:
            cid = session.post(f"{WEB}/api/v1/conversations", timeout=10).json()[
                "conversation_id"
            ]
        text = texts[i % len(texts)]
        started = time.perf_counter()
        session.post(
            f"{RASA}/webhooks/rest_meta/webhook",
            timeout=30,
            json={"sender": f"direct-{i // 10}", "message": text},
        ).raise_for_status()
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        session.post(
            f"{WEB}/api/v1/conversations/{cid}/messages", timeout=30, json={"text": text}
        ).raise_for_status()
        through.append(time.perf_counter() - started)
    return summary_ms(direct), summary_ms(through)


async def _websocket_load(texts: list[str]) -> dict[str, float]:
    stats = {"sent": 0, "answered": 0, "lost": 0, "errors": 0, "latency": []}
    deadline = time.monotonic() + DURATION_S

    async def conversation(http: aiohttp.ClientSession, index: int) -> None:
        rnd = random.Random(index)
        async with http.post(f"{WEB}/api/v1/conversations") as response:
            cid = (await response.json())["conversation_id"]
        seen: set[int] = set()
        expected: set[int] = set()
        async with http.ws_connect(
            f"{WEB.replace('http', 'ws')}/api/v1/conversations/{cid}/ws"
        ) as ws:

            async def reader() -> None:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    event = json.loads(msg.data)
                    if event.get("type") == "message":
                        seen.add(event["message"]["seq"])

            task = asyncio.create_task(reader())
            await asyncio.sleep(rnd.uniform(0, 3))
            while time.monotonic() < deadline:
                text = texts[rnd.randrange(len(texts))]
                started = time.perf_counter()
                try:
                    async with http.post(
                        f"{WEB}/api/v1/conversations/{cid}/messages", json={"text": text}
                    ) as response:
                        body = await response.json()
                        if response.status != 200:
                            stats["errors"] += 1
                            continue
                except aiohttp.ClientError:
                    stats["errors"] += 1
                    continue
                stats["latency"].append(time.perf_counter() - started)
                stats["sent"] += 1
                expected.update(m["seq"] for m in body["messages"])
                await asyncio.sleep(rnd.uniform(3, 6))
            await asyncio.sleep(2)  # let the last events arrive
            task.cancel()
        stats["answered"] += len(expected & seen)
        stats["lost"] += len(expected - seen)

    timeout = aiohttp.ClientTimeout(total=DURATION_S + 60)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
    ) as http:
        await asyncio.gather(*(conversation(http, i) for i in range(CONVERSATIONS)))
    latency = stats.pop("latency")
    return {**stats, **{f"post_{k}": v for k, v in summary_ms(latency).items()}}


def main() -> None:
    log_dir = REPO_ROOT / "build" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    database = Path(tempfile.mkdtemp()) / "bench.db"
    calculator = tariff_service(port=TARIFF_PORT, log_path=log_dir / "web-tariff.log").start()
    actions = action_server(
        port=ACTION_PORT,
        log_path=log_dir / "web-actions.log",
        tariff_url=f"http://127.0.0.1:{TARIFF_PORT}",
    )
    actions.env["DATABASE_URL"] = f"sqlite:///{database}"  # the content store the web app seeds
    actions.start()
    rasa = rasa_server(
        REPO_ROOT / "models" / "assistant.tar.gz",
        port=RASA_PORT,
        action_port=ACTION_PORT,
        log_path=log_dir / "web-rasa.log",
    ).start()
    web = web_app(
        port=WEB_PORT,
        rasa_url=RASA,
        log_path=log_dir / "web.log",
        extra_env={
            "DATABASE_URL": f"sqlite:///{database}",
            # one client address plays 100 customers here
            "CHAT_RATE_LIMIT_PER_MINUTE": "1000",
            "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "1000",
        },
    ).start()
    try:
        for service in (calculator, actions, rasa, web):
            service.wait_ready()
        texts = [t for t in questions() if "mensch" not in t.lower()]
        direct, through = _overhead(texts)
        load = asyncio.run(_websocket_load(texts))
    finally:
        for service in (web, rasa, actions, calculator):
            service.stop()

    added = through["p50"] - direct["p50"]
    report = f"""# Web app benchmark

Command: `make bench` (`python -m bench.web_app`). Machine: {machine()}.
All services on this machine: web app (SQLite store), Rasa server, action server, calculator;
the load generator (aiohttp) runs on the same 2 cores. Run id {uuid.uuid4().hex[:8]}.

## Latency the web app adds over Rasa

{SEQUENTIAL} questions, sequentially, once straight to Rasa's `rest_meta` channel and once
through the chat API (validation, masking, storing both messages, relaying, answering):

| path | p50 | p95 | p99 |
|---|---|---|---|
| Rasa directly | {direct['p50']:.1f} ms | {direct['p95']:.1f} ms | {direct['p99']:.1f} ms |
| through the web app | {through['p50']:.1f} ms | {through['p95']:.1f} ms | {through['p99']:.1f} ms |

Added by the web app (median): **{added:.1f} ms** (target ≤ 10 ms).

## {CONVERSATIONS} concurrent conversations over WebSocket, {DURATION_S} s

Each conversation keeps its WebSocket open and sends a question every 3–6 s.

| measure | value |
|---|---|
| customer messages sent | {load['sent']} |
| bot messages expected / received over WebSocket | {load['answered'] + load['lost']} / {load['answered']} |
| lost messages | {load['lost']} |
| failed requests | {load['errors']} |
| POST latency p50 / p95 / p99 | {load['post_p50']:.0f} / {load['post_p95']:.0f} / {load['post_p99']:.0f} ms |

Target: no error and no lost message.
"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "web-app.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
