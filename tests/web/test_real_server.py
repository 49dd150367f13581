"""The web app as ``make run`` and a deployment start it (``python -m bot.web``, uvicorn), over
real HTTP, with its SQLite database file (issue 15).

* Forged ``X-Forwarded-For``: from loopback a rotating header lifted the login limit and the
  new-conversation limit (uvicorn trusted 127.0.0.1 by default). Now only ``TRUSTED_PROXIES``
  are believed, read from the right; failed logins count per user name as well.
* Access lines in the text log carried full client addresses and conversation ids.
* The database files were world-readable and a deleted conversation stayed in ``-wal``.
* A 10 MB body was read in full before anything refused it.
* In production ``/docs``, ``/openapi.json`` and (through a proxy) ``/metrics`` were public.

``make run``'s web app (demo mode, trusting nobody) and a production-mode one behind a "proxy"
on loopback (``TRUSTED_PROXIES=127.0.0.1``), each with a database of its own and no Rasa.
"""

from __future__ import annotations

import re
import socket
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.devserver import web_app
from bot.web.users import set_user
from tests.slots import port

pytestmark = pytest.mark.slow

PASSWORD = "echt-geheim-1"


@dataclass
class Server:
    url: str
    database: Path
    log: Path


def start(tmp_path_factory, name: str, web_port: int, env: dict[str, str]):
    root = tmp_path_factory.mktemp(name)
    database = root / "chat.db"
    engine = make_engine(f"sqlite:///{database}")
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        for username in ("anna", "berta"):
            set_user(session=session, username=username, role="agent",
                     display_name=username.title(), password=PASSWORD)
    engine.dispose()
    log = root / "web.log"
    service = web_app(port=web_port, rasa_url="http://127.0.0.1:9", log_path=log, extra_env={
        "DATABASE_URL": f"sqlite:///{database}", "LOG_FORMAT": "text",
        "TRAINING_ENABLED": "false", **env})
    service.start()
    service.wait_ready(timeout=60)
    return service, Server(f"http://127.0.0.1:{web_port}", database, log)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``make run``'s web app: demo mode, TRUSTED_PROXIES unset."""
    service, server = start(tmp_path_factory, "demo", port(16300),
                            {"CHAT_NEW_CONVERSATIONS_PER_MINUTE": "3"})
    try:
        yield server
    finally:
        service.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """Production mode behind a proxy on loopback."""
    service, server = start(tmp_path_factory, "proxied", port(16301), {
        "APP_MODE": "production", "SECRET_KEY": uuid.uuid4().hex * 2,
        "TRUSTED_PROXIES": "127.0.0.1"})
    try:
        yield server
    finally:
        service.stop()


def login(url: str, username: str, password: str = "falsch",
          forwarded: str | None = None) -> int:
    with requests.Session() as browser:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        page = browser.get(f"{url}/agent/login", headers=headers, timeout=10)
        for cookie in browser.cookies:  # production cookies are Secure; this is plain HTTP
            cookie.secure = False
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return browser.post(f"{url}/agent/login", headers=headers, timeout=30,
                            allow_redirects=False, data={
                                "username": username, "password": password,
                                "csrf_token": token}).status_code


def rotating() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}"


def test_a_forged_forwarded_for_does_not_lift_the_login_limit(demo):
    statuses = [login(demo.url, "anna", forwarded=rotating()) for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert login(demo.url, "anna", PASSWORD, forwarded=rotating()) == 429


def test_a_forged_forwarded_for_does_not_lift_the_conversation_limit(demo):
    statuses = [requests.post(f"{demo.url}/api/v1/conversations", timeout=10,
                              headers={"X-Forwarded-For": rotating()}).status_code
                for _ in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_behind_a_trusted_proxy_the_address_it_saw_counts(proxied):
    # The client invents the left part; the proxy appends the address it saw (the right-most).
    statuses = [login(proxied.url, "anna", forwarded=f"{rotating()}, 198.51.100.7")
                for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert login(proxied.url, "anna", forwarded="198.51.100.8") == 401  # another customer


def test_failed_logins_are_limited_per_name_from_any_number_of_addresses(proxied):
    statuses = [login(proxied.url, "berta", forwarded=f"198.51.100.{20 + i}") for i in range(11)]
    assert statuses == [401] * 10 + [429]
    assert login(proxied.url, "berta", PASSWORD, forwarded="198.51.100.99") == 429
    # No global lock: another user logs in from a new address.
    assert login(proxied.url, "anna", PASSWORD, forwarded="198.51.100.100") == 303


def test_access_lines_carry_no_client_address_and_no_conversation_id(demo, proxied):
    cid = requests.post(f"{proxied.url}/api/v1/conversations", timeout=10,
                        headers={"X-Forwarded-For": "192.0.2.77"}).json()["conversation_id"]
    requests.get(f"{proxied.url}/api/v1/conversations/{cid}/messages", timeout=10,
                 headers={"X-Forwarded-For": "192.0.2.77"})
    local = requests.post(f"{demo.url}/api/v1/conversations",
                          timeout=10).json().get("conversation_id")
    time.sleep(0.5)
    proxied_log = proxied.log.read_text(encoding="utf-8")
    assert "192.0.2.77" not in proxied_log and "192.0.2.0 - " in proxied_log
    assert cid not in proxied_log and f"/conversations/{cid[:8]}…/messages" in proxied_log
    demo_access = [line for line in demo.log.read_text(encoding="utf-8").splitlines()
                   if "uvicorn.access" in line]
    assert demo_access and all(" 127.0.0.0 - " in line for line in demo_access)
    assert local is None or not any(local in line for line in demo_access)


def test_database_files_are_for_their_owner_only(demo):
    requests.post(f"{demo.url}/api/v1/conversations", timeout=10)
    files = [demo.database, Path(f"{demo.database}-wal"), Path(f"{demo.database}-shm")]
    for path in files:
        assert path.exists(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))


def test_a_deleted_conversation_leaves_no_text_in_the_database_files(proxied):
    marker = f"Geheimwort-{uuid.uuid4().hex[:12]}"
    cid = requests.post(f"{proxied.url}/api/v1/conversations",
                        timeout=10).json()["conversation_id"]
    sent = requests.post(f"{proxied.url}/api/v1/conversations/{cid}/messages", timeout=30,
                         json={"text": f"Mein {marker} bitte"})
    assert sent.status_code == 200, sent.text
    files = [proxied.database, Path(f"{proxied.database}-wal")]
    assert any(marker.encode() in path.read_bytes() for path in files if path.exists())
    assert requests.delete(f"{proxied.url}/api/v1/conversations/{cid}",
                           timeout=30).status_code == 204
    for path in files:
        if path.exists():
            assert marker.encode() not in path.read_bytes(), path


def test_a_huge_body_is_refused_without_reading_it(demo):
    host, web_port = demo.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(web_port)), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/conversations/x/messages HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n"
                     b'{"text": "')
        started = time.monotonic()
        received = b""
        while chunk := sock.recv(4096):  # the server answers and closes; the 10 MB never come
            received += chunk
        answer = received.decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert time.monotonic() - started < 5
    assert "zu groß" in answer


def test_production_serves_neither_docs_nor_metrics_through_the_proxy(proxied, demo):
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert requests.get(f"{proxied.url}{path}", timeout=10).status_code == 404, path
    # The connection comes from the trusted proxy: a request from outside, even without a header.
    assert requests.get(f"{proxied.url}/metrics", timeout=10).status_code == 404
    assert requests.get(f"{demo.url}/openapi.json", timeout=10).status_code == 200
    page = requests.get(f"{proxied.url}/", timeout=10)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
