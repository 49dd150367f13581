"""Benchmark: time from publishing an answer change to the first customer who gets it.

→ ``docs/benchmarks/content-publish.md``. Real processes (calculator, action server, Rasa,
web app) share one SQLite content store. Each round publishes a changed answer (a new version,
through the same repository function the editor UI's "Veröffentlichen" calls, committed like
the web app does) and then asks the question through the chat API every 100 ms until the
answer carries the new text. No retraining is involved: answers are looked up at reply time;
the action server's store checks the content generation at most once per second.
"""

from __future__ import annotations

import random
import string
import tempfile
import time
from pathlib import Path

import requests

from bench.common import REPO_ROOT, RESULTS_DIR, machine, summary_ms
from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content import repository as repo
from bot.devserver import action_server, rasa_server, tariff_service, web_app

TARIFF_PORT, ACTION_PORT, RASA_PORT, WEB_PORT = 29300, 29355, 29305, 29301
WEB = f"http://127.0.0.1:{WEB_PORT}"
ROUNDS = 20
POLL_S = 0.1
TOPIC = "zaehlerstand_melden"
QUESTION = "Wie kann ich meinen Zählerstand melden?"


def _ask(http: requests.Session, cid: str) -> dict:
    response = http.post(
        f"{WEB}/api/v1/conversations/{cid}/messages", json={"text": QUESTION}, timeout=30
    )
    response.raise_for_status()
    return response.json()["messages"][0]


def main() -> None:
    log_dir = REPO_ROOT / "build" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    database = f"sqlite:///{Path(tempfile.mkdtemp()) / 'content-bench.db'}"
    knowledge = REPO_ROOT / "knowledge"
    engine = make_engine(database)
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        repo.ensure_content(session, knowledge)
    env = {"DATABASE_URL": database, "CHAT_RATE_LIMIT_PER_MINUTE": "10000",
           "TRAINING_ENABLED": "false"}  # answer changes only: nothing to retrain
    calculator = tariff_service(port=TARIFF_PORT, log_path=log_dir / "content-tariff.log")
    actions = action_server(port=ACTION_PORT, log_path=log_dir / "content-actions.log",
                            tariff_url=f"http://127.0.0.1:{TARIFF_PORT}")
    actions.env.update(env)
    rasa = rasa_server(REPO_ROOT / "models" / "assistant.tar.gz", port=RASA_PORT,
                       action_port=ACTION_PORT, log_path=log_dir / "content-rasa.log")
    web = web_app(port=WEB_PORT, rasa_url=f"http://127.0.0.1:{RASA_PORT}",
                  log_path=log_dir / "content-web.log", extra_env=env)
    services = [calculator, actions, rasa, web]
    editor = repo.Actor(None, "Benchmark")
    took: list[float] = []
    polls: list[int] = []
    try:
        for service in services:
            service.start()
        for service in services:
            service.wait_ready()
        http = requests.Session()
        with sessions() as session:
            original = repo.published(session, TOPIC).data["answer"]
        for round_no in range(ROUNDS):
            # no digits: every figure in an answer must come from knowledge/facts
            tag = "".join(random.choice(string.ascii_lowercase) for _ in range(8))
            marker = f"Hinweis {tag}: Zählerstände auch im Chat."
            cid = http.post(f"{WEB}/api/v1/conversations", timeout=10).json()["conversation_id"]
            time.sleep(0.05 + (round_no % 10) / 10)  # publish at different points of the cycle
            with sessions.begin() as session:
                doc = {**repo.published(session, TOPIC).data, "answer": f"{marker}\n{original}"}
                rev = repo.save_draft(session, topic_id=TOPIC, data=doc, actor=editor)
                repo.submit(session, revision_id=rev.id, actor=editor, knowledge_dir=knowledge)
            published = time.monotonic()
            count = 0
            while True:
                count += 1
                if marker in _ask(http, cid)["text"]:
                    took.append(time.monotonic() - published)
                    polls.append(count)
                    break
                if time.monotonic() - published > 30:
                    raise RuntimeError("the published answer did not arrive within 30 s")
                time.sleep(POLL_S)
    finally:
        for service in reversed(services):
            service.stop()
        engine.dispose()
    stats = summary_ms(took)
    report = f"""# Publish → live for an answer change

Command: `make bench` (`python -m bench.content_publish`). Machine: {machine()}.

{ROUNDS} rounds. Each publishes a changed answer of `{TOPIC}` (a new version, through
`bot.content.repository.submit`, the function behind the editor UI's "Veröffentlichen") into the
SQLite content store the running web app and action server share, then asks "{QUESTION}" through
the chat API (web app → Rasa → action server) every {POLL_S * 1000:.0f} ms until the answer
carries the new text. No retraining: the action server's `DatabaseKnowledgeStore` checks the
content generation at most once per second and reloads the topics when it grew.

| measure | value |
|---|---|
| publish → first customer answer with the new text, p50 | {stats['p50']:.0f} ms |
| p95 | {stats['p95']:.0f} ms |
| max | {max(took) * 1000:.0f} ms |
| chat requests per round until new text (mean) | {sum(polls) / len(polls):.1f} |

Target (issue 5): live within 5 s of publishing. The bound by design is the check interval
(1 s) plus one chat turn.
"""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "content-publish.md").write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
