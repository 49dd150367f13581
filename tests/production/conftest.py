"""The production profile as real processes on loopback: PostgreSQL, Redis, two Rasa servers,
two action servers, two web app instances, the calculator (``bot.devserver``).

Each test session gets a database of its own (dropped afterwards), its own Redis databases and
ports 17xxx, so it runs beside ``make run``/``make run-prod`` and the other end-to-end tests.
Every process reaches PostgreSQL and Redis through a :class:`TcpProxy`, which the fault tests cut
and restore. Logs go to ``build/test-logs/production/``.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
import yaml
from requests.adapters import HTTPAdapter
from sqlalchemy import create_engine, text

from bot.chat.db import make_engine, make_sessionmaker
from bot.devserver import (
    ProductionLayout,
    ServiceProcess,
    prepare_production,
    production_services,
    profile_tokens,
)
from bot.settings import REPO_ROOT
from bot.web.users import set_user
from tests.production.proxy import TcpProxy
from tests.slots import port, redis_db

AGENT = ("prodagent", "Paula", "prod-geheim-1")  # username, display name, password
INGRESS_ADDRESS = "127.0.0.2"  # where the tests' "ingress" connects from (TRUSTED_PROXIES)
ADMIN = ("prodadmin", "Piet", "prod-geheim-2")


@dataclasses.dataclass
class Profile:
    """The running profile: its layout, processes by name, and helpers for tests."""

    layout: ProductionLayout
    services: dict[str, ServiceProcess]
    postgres: TcpProxy
    redis: TcpProxy
    tokens: dict[str, str]  # RASA_TOKEN and ACTION_SERVER_TOKEN of this profile

    def ingress(self) -> requests.Session:
        """A client connecting from the ingress's address: its X-Forwarded-For is believed."""
        session = requests.Session()
        adapter = SourceAddressAdapter(INGRESS_ADDRESS)
        session.mount("http://", adapter)
        return session

    @property
    def rasa_auth(self) -> dict[str, str]:
        """The header that lets a test talk to Rasa directly (as the web apps do)."""
        return {"Authorization": f"Bearer {self.tokens['RASA_TOKEN']}"}

    @property
    def web_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.layout.web_ports]

    @property
    def rasa_urls(self) -> list[str]:
        return self.layout.rasa_url.split(",")

    def service(self, kind: str, port: int) -> ServiceProcess:
        return self.services[f"{kind}:{port}"]

    def restart(self, kind: str, port: int) -> None:
        """Start a stopped or killed process again and wait until it is healthy."""
        service = self.service(kind, port)
        service.stop()
        service.start()
        service.wait_ready()

    def database(self):
        engine = make_engine(self.layout.database_url)
        return engine, make_sessionmaker(engine)


class SourceAddressAdapter(HTTPAdapter):
    """Connections from a given local address (another loopback address than 127.0.0.1)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _key(service: ServiceProcess) -> str:
    """``rasa:17005``, ``actions:17055``, ``web:17000``, ``calculator:17100``."""
    kind = {"rasa server": "rasa", "action server": "actions", "web app": "web",
            "tariff calculator": "calculator"}[service.name.split(" :")[0]]
    port = service.health_url.split(":")[2].split("/")[0]
    return f"{kind}:{port}"


@pytest.fixture(scope="session")
def production(tmp_path_factory) -> Iterator[Profile]:
    """The whole profile, started once per test session."""
    root = tmp_path_factory.mktemp("production")
    models = root / "models"
    models.mkdir()
    # The chat is always open in this profile, so handoffs queue whatever the time of day.
    knowledge = root / "knowledge"
    shutil.copytree(REPO_ROOT / "knowledge", knowledge)
    utility_file = knowledge / "utility.yml"
    utility = yaml.safe_load(utility_file.read_text(encoding="utf-8"))
    utility["opening_hours"]["weekly"] = dict.fromkeys(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), ["00:00", "24:00"])
    # Also on holidays (a run on Christmas Day or Buß- und Bettag).
    utility["opening_hours"].pop("public_holidays", None)
    utility["opening_hours"].pop("special_days", None)
    utility_file.write_text(yaml.safe_dump(utility, allow_unicode=True), encoding="utf-8")
    shutil.copy2(REPO_ROOT / "models" / "assistant.tar.gz", models / "assistant.tar.gz")
    log_dir = REPO_ROOT / "build" / "test-logs" / "production"
    if log_dir.exists():
        shutil.rmtree(log_dir)
    log_dir.mkdir(parents=True)
    postgres = TcpProxy(5432).start()
    red_proxy = TcpProxy(6379).start()
    layout = ProductionLayout(
        database=f"prodtest_{uuid.uuid4().hex[:10]}",
        postgres_port=postgres.port,
        redis_port=red_proxy.port,
        redis_db=redis_db(11),
        lock_db=redis_db(12),
        calculator_port=port(17100),
        action_ports=(port(17055), port(17056)),
        rasa_ports=(port(17005), port(17006)),
        web_ports=(port(17000), port(17001)),
        model_dir=models,
        secret_file=root / "secret",
        log_dir=log_dir,
    )
    model, secret, _ = prepare_production(layout)
    engine = make_engine(layout.database_url)
    with make_sessionmaker(engine).begin() as session:
        for username, display_name, password in (AGENT, ADMIN):
            role = "agent" if (username, display_name, password) == AGENT else "admin"
            set_user(session=session, username=username, role=role,
                     display_name=display_name, password=password)
    engine.dispose()
    env = {
        # Load tests send far more than one customer would.
        "CHAT_RATE_LIMIT_PER_MINUTE": "100000",
        "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "100000",
        "CHAT_CALLBACKS_PER_HOUR": "100000",
        "CHAT_FEEDBACK_PER_MINUTE": "100000",
        "TRAINING_ENABLED": "false",
        "KNOWLEDGE_DIR": str(knowledge),
        # The tests play the ingress from 127.0.0.2 (Profile.ingress): X-Forwarded-For from
        # there is believed; 127.0.0.1 is inside the cluster (Prometheus, the pods).
        "TRUSTED_PROXIES": INGRESS_ADDRESS,
    }
    services = production_services(layout, model, secret, extra_env=env)
    profile = Profile(layout, {_key(s): s for s in services}, postgres, red_proxy,
                      profile_tokens(secret))
    try:
        for service in services:
            service.start()
        for service in services:
            service.wait_ready()
        yield profile
    finally:
        for service in reversed(services):
            service.stop()
        postgres.stop()
        red_proxy.stop()
        red = redis.Redis(host=layout.redis_host, port=6379)
        for db in (layout.redis_db, layout.lock_db):
            red.execute_command("SELECT", db)
            red.flushdb()
        red.close()
        admin = create_engine(
            f"postgresql://{layout.postgres_user}@{layout.postgres_host}:5432/postgres",
            isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{layout.database}" '
                                    "WITH (FORCE)"))
        admin.dispose()


def chat(web_url: str, conversation_id: str, text_: str, timeout: float = 30) -> dict:
    """One customer turn through the chat API; the JSON answer (asserts 200)."""
    response = requests.post(f"{web_url}/api/v1/conversations/{conversation_id}/messages",
                             json={"text": text_}, timeout=timeout)
    assert response.status_code == 200, response.text
    return response.json()


def new_conversation(web_url: str) -> str:
    response = requests.post(f"{web_url}/api/v1/conversations", timeout=10)
    assert response.status_code == 201, response.text
    return str(response.json()["conversation_id"])


def log_files() -> list[Path]:
    return sorted((REPO_ROOT / "build" / "test-logs" / "production").glob("*.log"))
