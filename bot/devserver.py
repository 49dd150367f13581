"""Start the assistant's processes on loopback (``make run`` / ``make run-prod``).

Each service is its own process, as in production: the tariff calculator (port 8100), the
action server (rasa-sdk, port 5055), the Rasa server (port 5005) and the web app (port 8000).
``run_all`` is the embedded demo (SQLite, Rasa's in-memory stores); ``run_production`` the
production profile on this machine (docs/design/production.md): PostgreSQL, Redis, two Rasa
servers, two action servers and two web app instances. The tests start the same commands
through :class:`ServiceProcess`.

Nothing listens without a token: ``make run`` generates Rasa's token (``build/rasa-token``, like
the web app's secret key) and the action server's (``build/action-token``) once, and hands them
to the processes that need them (``RASA_TOKEN``: Rasa's ``--auth-token`` and our channel, the web
app sends it; ``ACTION_SERVER_TOKEN``: Rasa sends it, the action server requires it). Values in
the environment win; the production profile keeps its own (``ProductionLayout``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import requests
import yaml

from bot.environments import bin_dir
from bot.settings import REPO_ROOT, Settings, get_settings

# Each service runs in its own environment (bot/environments.py), whichever one runs this
# launcher: Rasa in .venv (Python 3.10); the web app, the calculator and the action server
# (rasa-sdk's current line, which speaks the same webhook protocol) in .venv-app (Python 3.12).
RASA_BIN = bin_dir("rasa")
APP_BIN = bin_dir("app")

# One Rasa process serves many conversations at once: its few matrix products (the multilingual
# embedding of an unfamiliar message, bot/nlu/embeddings.py) gain nothing from a thread pool,
# and idle OpenMP/OpenBLAS threads spin. Measured on the held-out texts: 4.0 ms CPU per parse
# with the default pools, 3.1 ms with one thread (docs/benchmarks/nlu-classifier-choice.md).
SINGLE_THREADED_MATH: Final = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

HOST = "127.0.0.1"
RASA_TOKEN_FILE = REPO_ROOT / "build" / "rasa-token"
ACTION_TOKEN_FILE = REPO_ROOT / "build" / "action-token"
# A Rasa server needs ~20-40 s to load TensorFlow and the model on this 2-core machine.
START_TIMEOUT_S = 180.0


@dataclass
class ServiceProcess:
    """A child process with a health URL to wait for."""

    name: str
    command: Sequence[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        """Start the process (output to ``log_path`` if given, else inherited)."""
        env = {**os.environ, **self.env}
        out = self.log_path.open("ab") if self.log_path else None
        self.process = subprocess.Popen(
            list(self.command),
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
        )
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Poll the health URL until it answers 200.

        Raises:
            RuntimeError: the process exited or did not become healthy in time.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                if requests.get(self.health_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s ({self.health_url})")

    def returncode(self) -> int | None:
        """The exit code once the process has ended (negative: killed by that signal)."""
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = 20.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def local_token(variable: str, path: Path) -> str:
    """``variable`` from the environment, else a token generated once into ``path`` (0600)."""
    from bot.secretfile import load_or_create_secret

    return os.environ.get(variable) or load_or_create_secret(path)


def tariff_service(
    port: int = 8100, log_path: Path | None = None, extra_env: dict[str, str] | None = None
) -> ServiceProcess:
    """The tariff calculator service (``python -m bot.tariff``)."""
    return ServiceProcess(
        name="tariff calculator",
        command=[str(APP_BIN / "python"), "-m", "bot.tariff"],
        health_url=f"http://{HOST}:{port}/health",
        env={"TARIFF_URL": f"http://{HOST}:{port}", "BIND_HOST": HOST, **(extra_env or {})},
        log_path=log_path,
    )


def web_app(
    port: int = 8000,
    rasa_url: str = "http://127.0.0.1:5005",
    log_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """The web app: demo website with the widget, chat API, agent console."""
    return ServiceProcess(
        name=f"web app :{port}",
        command=[str(APP_BIN / "python"), "-m", "bot.web"],
        health_url=f"http://{HOST}:{port}/health",
        env={"WEB_PORT": str(port), "RASA_URL": rasa_url, "BIND_HOST": HOST,
             **(extra_env or {})},
        log_path=log_path,
    )


def action_server(
    port: int | None = None,
    log_path: Path | None = None,
    tariff_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """The action server serving the ``actions`` package (``python -m actions``)."""
    port = port or get_settings().action_server_port
    return ServiceProcess(
        name=f"action server :{port}",
        command=[str(APP_BIN / "python"), "-m", "actions"],
        health_url=f"http://{HOST}:{port}/health",
        env={
            "ACTION_SERVER_PORT": str(port),
            "BIND_HOST": HOST,
            "TARIFF_URL": tariff_url or get_settings().tariff_url,
            # The same token as the Rasa servers started here send (rasa_server).
            "ACTION_SERVER_TOKEN": local_token("ACTION_SERVER_TOKEN", ACTION_TOKEN_FILE),
            **(extra_env or {}),
        },
        log_path=log_path,
    )


def rasa_server(
    model: Path,
    port: int = 5005,
    action_port: int | None = None,
    log_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
    credentials: Path | str = "credentials.yml",
    endpoints: Path | str = "endpoints.yml",
    action_url: str | None = None,
    via_cli: bool = False,
) -> ServiceProcess:
    """The Rasa server with the REST channels and the HTTP API, bound to loopback.

    ``credentials`` names the input channels (the benchmark compares stock Rasa with one
    without ``channels.rest_with_metadata``, which installs the server patches);
    ``endpoints`` its stores (``endpoints.production.yml``: PostgreSQL and Redis, whose
    settings come from ``extra_env``); ``action_url`` one or several comma-separated action
    servers (default: the one on ``action_port``); ``via_cli`` starts it as production does,
    through ``python -m bot rasa-server`` (JSON logs from the first line when ``LOG_FORMAT`` is
    json; bind address and token from the environment).
    """
    action_port = action_port or get_settings().action_server_port
    # Rasa's HTTP API requires the token when one is set (RASA_TOKEN).
    token = (extra_env or {}).get("RASA_TOKEN") or os.environ.get("RASA_TOKEN")
    if via_cli:
        command = [str(RASA_BIN / "python"), "-m", "bot", "rasa-server", "--model", str(model),
                   "--port", str(port), "--credentials", str(credentials),
                   "--endpoints", str(endpoints)]
    else:
        command = [str(RASA_BIN / "rasa"), "run", "--enable-api", "--interface", HOST,
                   "--port", str(port), "--model", str(model), "--credentials", str(credentials),
                   "--endpoints", str(endpoints), *(["--auth-token", token] if token else [])]
    # The readiness route (model loaded, tracker store reachable) belongs to the rest_meta
    # channel; stock Rasa without it only has "/", which answers once the model is loaded
    # (Rasa loads it before the server accepts connections).
    channels = yaml.safe_load(Path(REPO_ROOT, credentials).read_text(encoding="utf-8")) or {}
    with_meta = "channels.rest_with_metadata.RestWithMetadataInput" in channels
    health_path = "/webhooks/rest_meta/ready" if with_meta else "/"
    return ServiceProcess(
        name=f"rasa server :{port}",
        command=command,
        health_url=f"http://{HOST}:{port}{health_path}",
        env={
            "ACTION_ENDPOINT_URL": action_url or f"http://{HOST}:{action_port}/webhook",
            "ACTION_SERVER_TOKEN": local_token("ACTION_SERVER_TOKEN", ACTION_TOKEN_FILE),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **SINGLE_THREADED_MATH,
            **(extra_env or {}),
        },
        log_path=log_path,
    )


def prepare_database(settings: Settings) -> Path | None:
    """Migrate the database and bring ``knowledge/`` into the content store.

    Done once here, before the web app and the action server open the same database. The first
    start seeds the store; later starts import the topic files changed since (as new published
    versions, audited as "imported"; ``bot.content.sync``).

    Returns:
        The model the editors' last retraining put live, if it still exists (else ``None``:
        the model built by ``make train``).

    Raises:
        ContentConflict: a topic changed both in its file and in the database (nothing imported;
            the message says how to resolve it).
        KnowledgeError: the changed files do not validate (nothing imported).
    """
    from sqlalchemy.engine import make_url

    from bot.chat.db import create_schema, make_engine, make_sessionmaker
    from bot.content import repository as content
    from bot.content.sync import sync_knowledge

    engine = make_engine(settings.database_url)
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        create_schema(engine)
        with make_sessionmaker(engine).begin() as session:
            if content.ensure_content(session, settings.knowledge_dir):
                print(f"content store seeded from {settings.knowledge_dir}", file=sys.stderr)
            result = sync_knowledge(session, settings.knowledge_dir, database=database)
            live = content.get_setting(session, "live_model")
    finally:
        engine.dispose()
    topics = settings.knowledge_dir / "topics"
    for label, ids in (("imported changed", result.imported), ("added", result.added),
                       ("removed", result.removed)):
        if ids:
            print(f"{topics}: {label} {len(ids)} topic(s) as new published versions: "
                  f"{', '.join(ids)}", file=sys.stderr)
    if result.database_only:
        print(f"{len(result.database_only)} topic(s) were changed in the editor and are ahead of "
              f"{topics} ({', '.join(result.database_only)}); `python -m bot knowledge export` "
              "writes them there", file=sys.stderr)
    path = Path(live["path"]) if isinstance(live, dict) and live.get("path") else None
    return path if path is not None and path.exists() else None


def supervise(services: Sequence[ServiceProcess], banner: str) -> int:
    """Start ``services``, print ``banner`` when all are ready, restart crashed ones, stop on ^C.

    See :mod:`bot.supervisor`: a process that dies is started again with exponential backoff
    while the others keep serving. Returns 1 when a service did not start, else 0.
    """
    from bot.supervisor import run_supervised

    return run_supervised(services, banner)


def _port(url: str, default: int) -> int:
    from urllib.parse import urlsplit

    return urlsplit(url).port or default


def demo_services(
    model: Path, *, with_web: bool = True, log_dir: Path | None = None
) -> list[ServiceProcess]:
    """The processes of ``make run``; Rasa and the web app share a token.

    Ports from the settings (``WEB_PORT``, the first of ``RASA_URL``, ``ACTION_SERVER_PORT``,
    ``TARIFF_URL``; defaults 8000, 5005, 5055, 8100). Rasa's HTTP API and our channel require
    ``RASA_TOKEN`` (``--auth-token``); the web app sends it. The action server token is passed
    by ``action_server`` and ``rasa_server`` themselves.

    With ``log_dir`` the calculator, the action server and Rasa write to ``calculator.log``,
    ``actions.log`` and ``rasa.log`` there, and the web app logs only warnings and errors to the
    terminal (issue 17: the terminal shows the URLs, the demo users and real problems, not
    TensorFlow's start-up chatter); the supervisor shows the end of a log when its process dies.
    """
    settings = get_settings()
    rasa_token = {"RASA_TOKEN": local_token("RASA_TOKEN", RASA_TOKEN_FILE)}
    tariff_port = _port(settings.tariff_url, 8100)
    rasa_port = _port(settings.rasa_urls[0], 5005)

    def log(name: str) -> Path | None:
        return log_dir / f"{name}.log" if log_dir else None

    services = [
        tariff_service(tariff_port, log("calculator")),
        action_server(settings.action_server_port, log("actions"),
                      f"http://{HOST}:{tariff_port}"),
        # Through `python -m bot rasa-server`, which quiets the dependencies' warnings before
        # Rasa is imported; it passes RASA_TOKEN on as --auth-token.
        rasa_server(model, rasa_port, settings.action_server_port, log("rasa"),
                    extra_env=rasa_token, via_cli=True),
    ]
    if with_web:
        quiet = {"LOG_LEVEL": "warning"} if log_dir else {}
        services.append(web_app(settings.web_port, f"http://{HOST}:{rasa_port}",
                                extra_env={**rasa_token, **quiet}))
    return services


def run_all(with_web: bool = True, log_dir: Path | None = REPO_ROOT / "build") -> int:
    """Start every service of the demo, print how to talk to the assistant, stop on Ctrl-C.

    The web app prints the demo users' names and passwords when it starts.
    """
    from bot.content.sync import ContentConflict
    from bot.knowledge import KnowledgeError

    settings = get_settings()
    try:
        model = prepare_database(settings) or settings.model_dir / "assistant.tar.gz"
    except (ContentConflict, KnowledgeError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not model.exists():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 2
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
    services = demo_services(model, with_web=with_web, log_dir=log_dir)
    web, rasa = settings.web_port, _port(settings.rasa_urls[0], 5005)
    actions, tariff = settings.action_server_port, _port(settings.tariff_url, 8100)
    logs = (f"Logs: {log_dir}/rasa.log, actions.log, calculator.log "
            "(the web app's warnings and errors show here).\n") if log_dir else ""
    return supervise(
        services,
        "\nThe assistant is running on loopback:\n"
        f"  website + chat widget  http://127.0.0.1:{web}/  (agent console: /agent/, "
        "editor: /editor/, admin: /admin/)\n"
        f"  Rasa (token: build/rasa-token)  POST http://127.0.0.1:{rasa}"
        "/webhooks/rest_meta/webhook\n"
        f"  action server       http://127.0.0.1:{actions}/health (calls only from Rasa)\n"
        f"  tariff calculator   http://127.0.0.1:{tariff}/docs (OpenAPI: /openapi.json)\n"
        + logs
        + f"Try:  curl -s -XPOST localhost:{rasa}/webhooks/rest_meta/webhook "
        '-H "Authorization: Bearer $(cat build/rasa-token)" '
        '-d \'{"sender":"demo","message":"Wie funktionierte die Gaspreisbremse?"}\'\n'
        "Stop with Ctrl-C.",
    )


# --- the production profile on this machine ------------------------------------------------


@dataclass(frozen=True)
class ProductionLayout:
    """Where the production profile's processes listen and what they share.

    Defaults: this machine's PostgreSQL (trust authentication) and Redis, the ports of
    docs/design/production.md. Tests use other ports and a database of their own.
    """

    database: str = "stadtwerk"
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0  # web app: live events, rate limits
    lock_db: int = 1  # Rasa's lock store
    calculator_port: int = 8100
    action_ports: tuple[int, ...] = (5055, 5056)
    rasa_ports: tuple[int, ...] = (5005, 5006)
    web_ports: tuple[int, ...] = (8000, 8001)
    model_dir: Path = REPO_ROOT / "models"
    secret_file: Path = REPO_ROOT / "build" / "prod-secret"
    log_dir: Path | None = None

    @property
    def database_url(self) -> str:
        """The web app's, action servers' and Rasa's PostgreSQL database."""
        return (f"postgresql://{self.postgres_user}@{self.postgres_host}:{self.postgres_port}/"
                f"{self.database}")

    @property
    def redis_url(self) -> str:
        """The web app's Redis."""
        return f"redis://{self.redis_host}:{self.redis_port}/{self.redis_db}"

    @property
    def rasa_url(self) -> str:
        """Every Rasa replica, as the web app's ``RASA_URL``."""
        return ",".join(f"http://{HOST}:{port}" for port in self.rasa_ports)

    @property
    def action_url(self) -> str:
        """Every action server, as Rasa's ``ACTION_ENDPOINT_URL``."""
        return ",".join(f"http://{HOST}:{port}/webhook" for port in self.action_ports)

    def log(self, name: str) -> Path | None:
        """The log file of one process (``None``: the terminal)."""
        return self.log_dir / f"{name}.log" if self.log_dir else None


def create_database(layout: ProductionLayout) -> bool:
    """Create the PostgreSQL database if it does not exist; True if it was created."""
    from sqlalchemy import create_engine, text

    admin = create_engine(
        f"postgresql://{layout.postgres_user}@{layout.postgres_host}:{layout.postgres_port}/"
        "postgres",
        isolation_level="AUTOCOMMIT",
        future=True,
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": layout.database}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{layout.database}"'))
                return True
            return False
    finally:
        admin.dispose()


def profile_tokens(secret: str) -> dict[str, str]:
    """``RASA_TOKEN`` and ``ACTION_SERVER_TOKEN`` of the production profile on this machine.

    HMAC-SHA256 of the profile's secret key: stable across restarts, different from each other
    and from the key, and no further file to keep.
    """
    import base64
    import hashlib
    import hmac

    def derive(purpose: str) -> str:
        digest = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    return {"RASA_TOKEN": derive("rasa-token"), "ACTION_SERVER_TOKEN": derive("action-token")}


def production_services(
    layout: ProductionLayout, model: Path, secret: str, extra_env: dict[str, str] | None = None
) -> list[ServiceProcess]:
    """The processes of the production profile, in start order.

    Rasa's and the action servers' tokens are derived from the secret key (:func:`profile_tokens`);
    a cluster keeps them as separate secrets (deploy/k8s/secret.example.yaml).
    """
    shared = {
        "APP_MODE": "production",
        "DATABASE_URL": layout.database_url,
        "MODEL_DIR": str(layout.model_dir),
        "LOG_FORMAT": "json",
        **profile_tokens(secret),
        **(extra_env or {}),
    }
    tariff_url = f"http://{HOST}:{layout.calculator_port}"
    rasa_env = {
        **shared,
        "TRACKER_DB_HOST": layout.postgres_host,
        "TRACKER_DB_PORT": str(layout.postgres_port),
        "TRACKER_DB_NAME": layout.database,
        "TRACKER_DB_USER": layout.postgres_user,
        "TRACKER_DB_PASSWORD": "",
        "LOCK_STORE_HOST": layout.redis_host,
        "LOCK_STORE_PORT": str(layout.redis_port),
        "LOCK_STORE_DB": str(layout.lock_db),
        "BIND_HOST": HOST,
    }
    web_env = {**shared, "SECRET_KEY": secret, "REDIS_URL": layout.redis_url}
    return [
        tariff_service(layout.calculator_port, layout.log("calculator"), extra_env=shared),
        *(
            action_server(port, layout.log(f"actions-{port}"), tariff_url, extra_env=shared)
            for port in layout.action_ports
        ),
        *(
            rasa_server(model, port, log_path=layout.log(f"rasa-{port}"), extra_env=rasa_env,
                        endpoints="endpoints.production.yml", action_url=layout.action_url,
                        via_cli=True)
            for port in layout.rasa_ports
        ),
        *(
            web_app(port, layout.rasa_url, layout.log(f"web-{port}"), extra_env=web_env)
            for port in layout.web_ports
        ),
    ]


def prepare_production(layout: ProductionLayout) -> tuple[Path, str, list[str]]:
    """Database, schema, content, users and secret of the production profile.

    Returns:
        The model to start Rasa with, the web app's secret key, and the lines announcing the
        console users created on this first start (empty when users existed already).
    """
    import dataclasses

    from sqlalchemy import select

    from bot.chat.db import make_engine, make_sessionmaker
    from bot.chat.models import Agent
    from bot.secretfile import load_or_create_secret
    from bot.web.users import create_demo_users

    if create_database(layout):
        print(f"created PostgreSQL database {layout.database}", flush=True)
    settings = dataclasses.replace(get_settings(), database_url=layout.database_url,
                                   model_dir=layout.model_dir)
    model = prepare_database(settings) or layout.model_dir / "assistant.tar.gz"
    lines: list[str] = []
    engine = make_engine(layout.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            if session.execute(select(Agent.id).limit(1)).first() is None:
                # Outside demo mode nobody exists yet: one user per role, passwords shown
                # once (later: `python -m bot users create`).
                lines = [f"  {u.role:<7} {u.username:<8} password: {u.password}"
                         for u in create_demo_users(session)]
    finally:
        engine.dispose()
    return model, load_or_create_secret(layout.secret_file), lines


def run_production(layout: ProductionLayout | None = None) -> int:
    """Start the production profile on this machine (``make run-prod``) until Ctrl-C."""
    from bot.content.sync import ContentConflict
    from bot.knowledge import KnowledgeError

    layout = layout or ProductionLayout()
    try:
        model, secret, users = prepare_production(layout)
    except (ContentConflict, KnowledgeError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not model.exists():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 2
    web = "  ".join(f"http://127.0.0.1:{port}/" for port in layout.web_ports)
    banner = (
        "\nThe production profile is running on loopback:\n"
        f"  web app instances   {web}  (each with /agent/, /editor/, /admin/)\n"
        f"  Rasa replicas       {layout.rasa_url}\n"
        f"  action servers      {layout.action_url}\n"
        f"  tariff calculator   http://127.0.0.1:{layout.calculator_port}/docs\n"
        f"  PostgreSQL          {layout.database_url}\n"
        f"  Redis               {layout.redis_url} (locks: db {layout.lock_db})\n"
        "  probes: /health and /ready on every web app, calculator and action server;\n"
        "          Rasa: / and /webhooks/rest_meta/ready\n"
        + (("Console users (passwords are shown only now):\n" + "\n".join(users) + "\n")
           if users else "Console users: as created before (python -m bot users create …)\n")
        + "Stop with Ctrl-C."
    )
    return supervise(production_services(layout, model, secret), banner)
