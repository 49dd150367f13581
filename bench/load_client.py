"""Human-paced customers for the load benchmark (``bench/load.py``), in a process of its own.

``python -m bench.load_client --web URL[,URL] --conversations N --warmup S --measure S``

Keeps ``N`` conversations going at once through the web app's chat API, as customers in the
widget would: each conversation follows a script (FAQ questions from the held-out set, an
instalment calculation, a request for a person, small talk), one message every 5-15 s
(uniformly random think time after each answer), and when a script ends its customer leaves and
a new one arrives. Conversations start spread over the warm-up, so no thundering herd. Only
messages sent during the measurement window count. The last stdout line is a JSON summary.

An error is a request that is not answered 200, or an answer that is the web app's "disturbed"
notice, or no answer while the bot owns the conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field

import httpx

from bench.common import questions, summary_ms

THINK_S = (5.0, 15.0)
CALCULATION = [
    "Ich verbrauche 3500 kWh Strom und zahle 48 Cent, wie hoch ist meine Entlastung?",
    "weiß ich nicht",
    "überspringen",
]
SMALL_TALK = ["Hallo", "Danke, das hilft mir.", "Tschüss"]
HANDOFF = "Ich möchte mit einem Menschen sprechen"


def script(rng: random.Random, pool: list[str]) -> list[str]:
    """One customer's messages."""
    kind = rng.random()
    if kind < 0.70:  # FAQ questions
        return rng.sample(pool, rng.randint(2, 5))
    if kind < 0.90:  # a personal calculation, sometimes after a question
        return ([rng.choice(pool)] if rng.random() < 0.5 else []) + CALCULATION
    if kind < 0.95:  # does not get on with the bot
        return [rng.choice(pool), HANDOFF]
    return [SMALL_TALK[0], rng.choice(pool), SMALL_TALK[1]]


@dataclass
class Stats:
    """What the measurement window saw."""

    started: float
    measure_from: float
    measure_to: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conversations: int = 0
    handoffs: int = 0

    def counts(self, at: float) -> bool:
        """Whether a message sent at ``at`` falls in the measurement window."""
        return self.measure_from <= at < self.measure_to


async def customer(
    client: httpx.AsyncClient, web: str, stats: Stats, rng: random.Random, pool: list[str],
    first_delay: float,
) -> None:
    """Customers one after another in this slot until the measurement ends."""
    await asyncio.sleep(first_delay)
    while time.monotonic() < stats.measure_to:
        try:
            created = await client.post(f"{web}/api/v1/conversations")
            created.raise_for_status()
            cid = created.json()["conversation_id"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            if stats.counts(time.monotonic()):
                stats.errors.append(f"create: {exc!r}")
            await asyncio.sleep(rng.uniform(*THINK_S))
            continue
        stats.conversations += 1
        for text in script(rng, pool):
            if time.monotonic() >= stats.measure_to:
                return
            sent = time.monotonic()
            problem = None
            body: dict = {}
            try:
                response = await client.post(
                    f"{web}/api/v1/conversations/{cid}/messages", json={"text": text}
                )
                took = time.monotonic() - sent
                body = response.json() if response.status_code == 200 else {}
                messages = body.get("messages") or []
                if response.status_code != 200:
                    problem = f"HTTP {response.status_code}: {response.text[:120]}"
                elif any(m.get("sender") == "system" and "gestört" in m.get("text", "")
                         for m in messages):
                    problem = "disturbed notice"
                elif not messages and body.get("state") == "bot":
                    problem = "no answer"
                if any(m.get("handoff") in ("queued", "offline") for m in messages):
                    stats.handoffs += 1  # to the queue, or the callback offer after hours
            except (httpx.HTTPError, ValueError) as exc:
                took = time.monotonic() - sent
                problem = repr(exc)
            if stats.counts(sent):
                stats.latencies.append(took)
                if problem:
                    stats.errors.append(problem)
            if body.get("state") not in (None, "bot"):
                break  # waits for a person: this customer stops talking to the bot
            await asyncio.sleep(rng.uniform(*THINK_S))


async def run(webs: list[str], conversations: int, warmup: float, measure: float,
              seed: int) -> dict:
    rng = random.Random(seed)
    pool = questions()
    now = time.monotonic()
    stats = Stats(started=now, measure_from=now + warmup, measure_to=now + warmup + measure)
    limits = httpx.Limits(max_connections=conversations + 10,
                          max_keepalive_connections=conversations + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), limits=limits) as client:
        await asyncio.gather(*(
            customer(client, webs[i % len(webs)], stats, random.Random(rng.random()), pool,
                     first_delay=rng.uniform(0, warmup))
            for i in range(conversations)
        ))
    messages = len(stats.latencies)
    return {
        "conversations": conversations,
        "messages": messages,
        "throughput_per_s": messages / measure,
        "latency_ms": summary_ms(stats.latencies),
        "max_ms": max(stats.latencies) * 1000 if stats.latencies else None,
        "errors": len(stats.errors),
        "error_examples": sorted(set(stats.errors))[:5],
        "customers_started": stats.conversations,
        "handoffs": stats.handoffs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--web", required=True, help="web app URL(s), comma-separated")
    parser.add_argument("--conversations", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--measure", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    webs = [w.strip().rstrip("/") for w in args.web.split(",") if w.strip()]
    result = asyncio.run(run(webs, args.conversations, args.warmup, args.measure, args.seed))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
