"""Real processes for end-to-end tests: calculator, action server, Rasa server (trained model),
web app. Ports differ from `make run`'s so tests can run while a demo is up.

The processes answer from a copy of knowledge/ whose chat opening hours tests can switch
(`chat_hours`): the action server notices a changed file within a second. Web app and action
server share one temporary SQLite database (`database_url`), the running content store, seeded
from that copy, so an answer an editor publishes through the web app is what the bot sends.
Rasa runs a copy of the trained model in a temporary `MODEL_DIR` (`model_dir`), which is also the
web app's, so a retraining the web app might start never writes into the repository's models/.
As with `make run`, Rasa requires a token (`RASA_TOKEN`, sent by the web app; tests calling Rasa
directly send `RASA_AUTH`) and the action server takes calls only with Rasa's token.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
import yaml

from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.content.repository import ensure_content
from bot.devserver import action_server, rasa_server, tariff_service, web_app
from bot.web.users import set_user
from tests.slots import port

ACTION_PORT = port(15055)
RASA_PORT = port(15005)
TARIFF_PORT = port(15100)
WEB_PORT = port(15000)
AGENT = ("testagent", "Tessa", "e2e-geheim-1")  # username, display name, password
EDITOR = ("testeditor", "Edda", "e2e-geheim-2")  # role editor: /editor/ and /api/editor/
ADMIN = ("testadmin", "Ada", "e2e-geheim-3")  # role admin: /admin/, /admin/datenschutz
ALWAYS = {day: ["00:00", "24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
RASA_TOKEN = f"e2e-{uuid.uuid4().hex}"
RASA_AUTH = {"Authorization": f"Bearer {RASA_TOKEN}"}


@pytest.fixture(scope="session")
def log_dir(repo_root):
    path = repo_root / "build" / "test-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def knowledge_copy(repo_root, tmp_path_factory):
    target = tmp_path_factory.mktemp("e2e") / "knowledge"
    shutil.copytree(repo_root / "knowledge", target)
    return target


class ChatHours:
    """Switch the chat's opening hours of the running processes."""

    def __init__(self, knowledge):
        self.path = knowledge / "utility.yml"

    def set(self, weekly):
        data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        data["opening_hours"]["weekly"] = weekly
        # Always means always: a run on a holiday (Christmas, Buß- und Bettag) too.
        data["opening_hours"].pop("public_holidays", None)
        data["opening_hours"].pop("special_days", None)
        self.path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    def open(self):
        self.set(ALWAYS)

    def closed(self):
        self.set({})


@pytest.fixture(scope="session")
def chat_hours(knowledge_copy):
    hours = ChatHours(knowledge_copy)
    hours.open()
    return hours


@pytest.fixture(scope="session")
def calculator(log_dir):
    service = tariff_service(port=TARIFF_PORT, log_path=log_dir / "tariff.log").start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def model_dir(model_path, tmp_path_factory):
    """A temporary ``MODEL_DIR`` with a copy of the trained model (Rasa's and the web app's)."""
    target = tmp_path_factory.mktemp("models")
    shutil.copy2(model_path, target / model_path.name)
    return target


@pytest.fixture(scope="session")
def database_url(knowledge_copy, tmp_path_factory):
    """The web app's and action server's database: schema, the e2e agent and editor, content."""
    database = f"sqlite:///{tmp_path_factory.mktemp('web') / f'chat-{uuid.uuid4().hex}.db'}"
    engine = make_engine(database)
    create_schema(engine)
    with make_sessionmaker(engine)() as session:
        username, display_name, password = AGENT
        set_user(
            session=session,
            username=username,
            role="agent",
            display_name=display_name,
            password=password,
        )
        for (username, display_name, password), role in ((EDITOR, "editor"), (ADMIN, "admin")):
            set_user(
                session=session,
                username=username,
                role=role,
                display_name=display_name,
                password=password,
            )
        ensure_content(session, knowledge_copy)
        session.commit()
    engine.dispose()
    return database


@pytest.fixture(scope="session")
def rasa_url(model_dir, model_path, log_dir, calculator, knowledge_copy, chat_hours, database_url):
    actions = action_server(
        port=ACTION_PORT,
        log_path=log_dir / "action-server.log",
        tariff_url=f"http://127.0.0.1:{TARIFF_PORT}",
    )
    actions.env["KNOWLEDGE_DIR"] = str(knowledge_copy)
    actions.env["DATABASE_URL"] = database_url
    actions.start()
    rasa = rasa_server(
        model_dir / model_path.name,
        port=RASA_PORT,
        action_port=ACTION_PORT,
        log_path=log_dir / "rasa-server.log",
        extra_env={"RASA_TOKEN": RASA_TOKEN},
    ).start()
    try:
        actions.wait_ready()
        rasa.wait_ready()
        yield f"http://127.0.0.1:{RASA_PORT}"
    finally:
        rasa.stop()
        actions.stop()


@pytest.fixture(scope="session")
def web_url(rasa_url, log_dir, knowledge_copy, database_url, model_dir):
    web = web_app(
        port=WEB_PORT,
        rasa_url=rasa_url,
        log_path=log_dir / "web.log",
        extra_env={
            "DATABASE_URL": database_url,
            "KNOWLEDGE_DIR": str(knowledge_copy),
            "MODEL_DIR": str(model_dir),
            "TRAINING_WORK_DIR": str(model_dir.parent / "training"),
            "RASA_TOKEN": RASA_TOKEN,
            # Every test is one client (127.0.0.1); the limits have tests of their own.
            "CHAT_CALLBACKS_PER_HOUR": "1000",
            "CHAT_FEEDBACK_PER_MINUTE": "1000",
            # Each test starts its own conversations; 30 a minute (the default) ran out once the
            # end-to-end tests grew (tests/web/test_real_server.py tests that limit).
            "CHAT_NEW_CONVERSATIONS_PER_MINUTE": "1000",
        },
    ).start()
    try:
        web.wait_ready()
        yield f"http://127.0.0.1:{WEB_PORT}"
    finally:
        web.stop()
