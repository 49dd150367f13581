"""schemathesis against the web app's APIs over HTTP: chat, agent, editor and admin (issue 15).

The real web app process (``python -m bot.web``) on a PostgreSQL database of its own (PostgreSQL
refuses NUL in texts, so a NUL that reached a query would be a ``500`` here) with Redis, as in
the production profile, and no Rasa (turns take the web app's own way without it). The
schemathesis CLI of ``build/fuzz-venv`` (see ``tests/tariff/test_schemathesis.py``) reads the
app's ``/openapi.json`` and runs its examples, coverage and fuzzing phases against every
operation of ``/api/v1`` (chat and agent) and ``/api/editor`` and ``/api/admin``, logged in as an
admin (who may use all of them) with the CSRF token. ``tests/web/fuzz_hooks.py`` adds lone
surrogates, NUL, huge integers and deep nesting to every body, query and path, and real
conversation ids. The check: no answer is a ``5xx`` (``not_a_server_error``).

Left out: resetting the admin's own password (``POST /api/admin/users/{id}/password`` with
their id) would end the session the run uses; that route's only input is the id in the path,
checked by FastAPI (``tests/web/test_admin_api.py`` covers it).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.devserver import web_app
from bot.web.users import set_user
from tests.slots import port
from tests.tariff.test_schemathesis import _schemathesis_cli
from tests.web.conftest import postgres_database
from tests.web.test_redis_sharing import REDIS_URL

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 40  # per operation in the fuzzing phase (the coverage phase adds its own)
SEED = 20221201
RUN_TIMEOUT_S = 900  # hard bound; the run takes about 100 s here (2 shared cores)
PASSWORD = "fuzz-geheim-1"
EXCLUDED = r"^/api/admin/users/\{user_id\}/password$"


@pytest.fixture(scope="module")
def target(repo_root):
    """A web app on its own PostgreSQL database, an admin session and a few conversations."""
    with postgres_database() as database_url:
        yield from _serve(repo_root, database_url)


def _serve(repo_root, database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        set_user(session=session, username="fuzzadmin", role="admin", display_name="Fuzz",
                 password=PASSWORD)
    engine.dispose()
    web_port = port(16310)
    log_dir = repo_root / "build" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    service = web_app(port=web_port, rasa_url="http://127.0.0.1:9",
                      log_path=log_dir / "web-schemathesis.log", extra_env={
                          "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
                          "TRAINING_ENABLED": "false", "LOG_FORMAT": "text",
                          # The fuzzer is one client sending thousands of requests a minute.
                          "CHAT_RATE_LIMIT_PER_MINUTE": "1000000",
                          "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "1000000",
                          "CHAT_CALLBACKS_PER_HOUR": "1000000",
                          "CHAT_FEEDBACK_PER_MINUTE": "1000000",
                      })
    service.start()
    try:
        service.wait_ready(timeout=60)
        url = f"http://127.0.0.1:{web_port}"
        with requests.Session() as browser:
            page = browser.get(f"{url}/agent/login", timeout=10)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            response = browser.post(f"{url}/agent/login", timeout=30, allow_redirects=False,
                                    data={"username": "fuzzadmin", "password": PASSWORD,
                                          "csrf_token": token})
            assert response.status_code == 303, response.text
            admin_page = browser.get(f"{url}/admin/", timeout=10)
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', admin_page.text).group(1)
            session_cookie = browser.cookies["agent_session"]
        conversations = []
        for text in ("Wie funktionierte die Gaspreisbremse?", "Mit einem Menschen sprechen"):
            cid = requests.post(f"{url}/api/v1/conversations", timeout=10).json()[
                "conversation_id"]
            requests.post(f"{url}/api/v1/conversations/{cid}/messages", json={"text": text},
                          timeout=30)
            conversations.append(cid)
        requests.post(f"{url}/api/v1/conversations/{conversations[1]}/messages",
                      json={"payload": "/human_handoff"}, timeout=30)  # into the queue
        yield {"url": url, "cookie": session_cookie, "csrf": csrf,
               "conversations": conversations}
    finally:
        service.stop()


def test_schemathesis_finds_no_server_error_in_the_web_app(repo_root, tmp_path, target):
    schemathesis = _schemathesis_cli(repo_root)
    out_dir = repo_root / "build" / "schemathesis-web"
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = out_dir / "junit.xml"
    junit.unlink(missing_ok=True)
    command = [
        str(schemathesis), "run", f"{target['url']}/openapi.json",
        "--checks", "not_a_server_error",
        "--include-path-regex", r"^/api/(v1|editor|admin)/",
        "--exclude-path-regex", EXCLUDED,
        # No stateful phase: the schema has no links between operations to follow.
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "-H", f"Cookie: agent_session={target['cookie']}",
        "-H", f"X-CSRF-Token: {target['csrf']}",
        "--report", "junit", "--report-junit-path", str(junit),
        "--no-color",
    ]
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(PYTHONNOUSERSITE="1", NO_COLOR="1", COLUMNS="120",
               SCHEMATHESIS_HOOKS=str(repo_root / "tests" / "web" / "fuzz_hooks.py"),
               FUZZ_CONVERSATIONS=",".join(target["conversations"]))
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT_S} s", pytrace=False)
    output = result.stdout + result.stderr
    (out_dir / "output.txt").write_text(
        f"{output}\n(run took {time.monotonic() - started:.0f} s)\n", encoding="utf-8")

    assert result.returncode == 0, (
        f"schemathesis failed (build/schemathesis-web/output.txt):\n{output}")
    tested = re.search(r"Tested:\s+(\d+)\b", output)
    assert tested and int(tested.group(1)) >= 40, output  # every operation of the four APIs
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated and int(generated.group(1)) > 1000, output
    assert generated.group(1) == generated.group(2), output
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and suite.get("errors") == "0", output
    # Still logged in at the end: the run exercised the routes, not the login page.
    me = requests.get(f"{target['url']}/api/admin/users", timeout=10,
                      headers={"Cookie": f"agent_session={target['cookie']}"})
    assert me.status_code == 200
