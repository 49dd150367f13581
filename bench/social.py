"""Benchmark of the WhatsApp channel → ``docs/benchmarks/social.md``.

50 concurrent WhatsApp customers each ask ``QUESTIONS`` questions, one after the other: every
question is a signed webhook POST (as Meta sends it) to a web app process configured with
``META_*``, which answers through the real Rasa server, action server and model and sends the
answer to the fake Graph API (``tests/social/fake_graph.py``, real HTTP, in this process).

Measured per question:

* **webhook acknowledgement**: the POST's answer time (Meta's limit: 2 seconds);
* **webhook → Graph send**: from the POST until the fake Graph API received the answer.

Beside the widget's figures (``docs/benchmarks/web-app.md``), which pass the same Rasa.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from bench.common import REPO_ROOT, RESULTS_DIR, machine, questions, summary_ms
from bot.devserver import action_server, rasa_server, tariff_service, web_app
from tests.social.fake_graph import FakeGraph, serve
from tests.social.payloads import wa_text

TARIFF_PORT, ACTION_PORT, RASA_PORT, WEB_PORT = 30100, 30055, 30005, 30000
WEB = f"http://127.0.0.1:{WEB_PORT}"
CUSTOMERS = 50
QUESTIONS = 4
ANSWER_TIMEOUT_S = 60.0


def wall_clock() -> datetime:
    """The fake Graph API's clock here: real time, so each send records when it arrived."""
    return datetime.now(timezone.utc)


class Recorder:
    """The fake Graph API's sends per recipient, indexed as they arrive."""

    def __init__(self, fake: FakeGraph) -> None:
        self.fake = fake
        self.seen = 0
        self.by_recipient: dict[str, list[datetime]] = {}

    def arrivals(self, recipient: str) -> list[datetime]:
        """When the fake accepted each message for ``recipient`` so far."""
        sent = self.fake.sent
        while self.seen < len(sent):
            item = sent[self.seen]
            self.by_recipient.setdefault(item.recipient, []).append(item.at)
            self.seen += 1
        return self.by_recipient.get(recipient, [])


async def _customer(session: aiohttp.ClientSession, fake: FakeGraph, recorder: Recorder,
                    wa_id: str, texts: list[str], acks: list[float], sends: list[float],
                    failures: list[str]) -> None:  # fmt: skip
    for index, text in enumerate(texts):
        body = wa_text(wa_id, text, ts=int(time.time()), msg_id=f"wamid.BENCH{wa_id}{index}")
        raw = json.dumps(body, separators=(",", ":")).encode()
        # Posted here, not through fake.deliver: tell the fake that the customer wrote (its
        # 24-hour window check).
        fake.customer_wrote("whatsapp", wa_id, fake.clock())
        before = len(recorder.arrivals(wa_id))
        posted = datetime.now(timezone.utc)
        started = time.perf_counter()
        async with session.post(f"{WEB}/webhooks/meta", data=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": fake.signature(raw),
        }) as response:
            await response.read()
            status = response.status
        acks.append(time.perf_counter() - started)
        if status != 200:
            failures.append(f"HTTP {status}")
            continue
        # Polled gently (the load generator shares the cores); the time is the fake's own
        # record of the send, not when this loop noticed it.
        while len(recorder.arrivals(wa_id)) <= before:
            if time.perf_counter() - started > ANSWER_TIMEOUT_S:
                failures.append("no answer")
                break
            await asyncio.sleep(0.05)
        else:
            sends.append((recorder.arrivals(wa_id)[before] - posted).total_seconds())


async def _run(fake: FakeGraph, texts: list[str]) -> tuple[list[float], list[float], list[str],
                                                           float]:  # fmt: skip
    acks: list[float] = []
    sends: list[float] = []
    failures: list[str] = []
    recorder = Recorder(fake)
    connector = aiohttp.TCPConnector(limit=CUSTOMERS * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(
            _customer(session, fake, recorder, f"49151{i:08d}",
                      [texts[(i * QUESTIONS + q) % len(texts)] for q in range(QUESTIONS)],
                      acks, sends, failures)
            for i in range(CUSTOMERS)
        ))  # fmt: skip
        elapsed = time.perf_counter() - started
    return acks, sends, failures, elapsed


async def _warm_up(fake: FakeGraph, texts: list[str]) -> None:
    acks: list[float] = []
    sends: list[float] = []
    failures: list[str] = []
    async with aiohttp.ClientSession() as session:
        await _customer(session, fake, Recorder(fake), "4916000000000", texts[:5], acks, sends,
                        failures)  # fmt: skip


def main() -> None:
    texts = questions()
    fake = FakeGraph(clock=wall_clock)  # type: ignore[arg-type]
    logs = REPO_ROOT / "build" / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    model = REPO_ROOT / "models" / "assistant.tar.gz"
    with serve(fake.app()) as graph, tempfile.TemporaryDirectory() as tmp:
        fake.base_url = graph.url
        database = f"sqlite:///{Path(tmp) / 'chat.db'}"
        tariff = tariff_service(port=TARIFF_PORT, log_path=logs / "social-tariff.log").start()
        actions = action_server(port=ACTION_PORT, log_path=logs / "social-actions.log",
                                tariff_url=f"http://127.0.0.1:{TARIFF_PORT}")  # fmt: skip
        actions.env["DATABASE_URL"] = database  # the content store the web app seeds
        actions.start()
        rasa = rasa_server(model, port=RASA_PORT, action_port=ACTION_PORT,
                           log_path=logs / "social-rasa.log").start()  # fmt: skip
        web = web_app(port=WEB_PORT, rasa_url=f"http://127.0.0.1:{RASA_PORT}",
                      log_path=logs / "social-web.log", extra_env={
                          "DATABASE_URL": database,
                          "TRAINING_WORKER": "false",
                          "META_APP_SECRET": fake.app_secret,
                          "META_VERIFY_TOKEN": "bench",
                          "META_ACCESS_TOKEN": fake.access_token,
                          "GRAPH_API_URL": fake.api_url,
                          "WHATSAPP_PHONE_NUMBER_ID": fake.phone_number_id,
                      })  # fmt: skip
        web.start()
        try:
            for service in (tariff, actions, rasa, web):
                service.wait_ready()
            # Warm-up: Rasa's first turns load lazily (the widget's benchmark warms up too).
            asyncio.run(_warm_up(fake, texts))
            load_before = os.getloadavg()[0]
            acks, sends, failures, elapsed = asyncio.run(_run(fake, texts))
            load_after = os.getloadavg()[0]
        finally:
            for service in (web, rasa, actions, tariff):
                service.stop()
    ack, send = summary_ms(acks), summary_ms(sends)
    total = CUSTOMERS * QUESTIONS
    lines = [
        "# WhatsApp channel: webhook acknowledgement and webhook → Graph send",
        "",
        f"Measured by `bench/social.py` (`make bench`) on {machine()}.",
        "",
        f"{CUSTOMERS} concurrent WhatsApp customers, {QUESTIONS} questions each (held-out "
        "questions, one after the other per customer: the next is sent once the answer arrived). "
        "Every question is a signed webhook POST to the web app (SQLite), which acknowledges "
        "it, then relays it to the real Rasa server (one replica, with action server) and sends "
        "the answer to the fake Graph API over HTTP.",
        "",
        "| | p50 | p95 | p99 | mean |",
        "|---|---|---|---|---|",
        f"| webhook acknowledgement (ms) | {ack['p50']:.1f} | {ack['p95']:.1f} | "
        f"{ack['p99']:.1f} | {ack['mean']:.1f} |",
        f"| webhook → Graph send (ms) | {send['p50']:.0f} | {send['p95']:.0f} | "
        f"{send['p99']:.0f} | {send['mean']:.0f} |",
        "",
        f"{len(sends)} of {total} questions answered, {len(failures)} failures "
        f"({', '.join(sorted(set(failures))) or 'none'}); {total / elapsed:.1f} questions/s "
        f"over {elapsed:.0f} s. Load average of the machine (shared with other work) "
        f"{load_before:.1f} before, {load_after:.1f} after the run.",
        "",
        "Meta requires the acknowledgement within 2 seconds: the web app answers before any "
        "work (the batch goes to worker tasks), so the acknowledgement does not depend on Rasa. "
        "The time to the send is the widget's turn (`web-app.md`) plus the Graph API call; with "
        "50 customers at once it is dominated by Rasa's queue on a shared 2-core machine.",
        "",
    ]
    (RESULTS_DIR / "social.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
