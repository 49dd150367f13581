"""Start the assistant's processes on loopback (``make run`` → ``python -m bot run``).

Each service is its own process, as in production: the tariff calculator (port 8100), the
action server (rasa-sdk, port 5055) and the Rasa server (port 5005). The tests start the same
commands through :class:`ServiceProcess`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import requests

from bot.settings import REPO_ROOT, Settings, get_settings

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
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


def tariff_service(port: int = 8100, log_path: Path | None = None) -> ServiceProcess:
    """The tariff calculator service (``python -m bot.tariff``)."""
    return ServiceProcess(
        name="tariff calculator",
        command=[str(BIN / "python"), "-m", "bot.tariff"],
        health_url=f"http://{HOST}:{port}/health",
        env={"TARIFF_URL": f"http://{HOST}:{port}"},
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
        name="web app",
        command=[str(BIN / "python"), "-m", "bot.web"],
        health_url=f"http://{HOST}:{port}/api/v1/config",
        env={"WEB_PORT": str(port), "RASA_URL": rasa_url, **(extra_env or {})},
        log_path=log_path,
    )


def action_server(
    port: int | None = None, log_path: Path | None = None, tariff_url: str | None = None
) -> ServiceProcess:
    """The rasa-sdk action server serving the ``actions`` package."""
    port = port or get_settings().action_server_port
    return ServiceProcess(
        name="action server",
        command=[
            str(BIN / "python"),
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(port),
        ],
        health_url=f"http://{HOST}:{port}/health",
        env={"SANIC_HOST": HOST, "TARIFF_URL": tariff_url or get_settings().tariff_url},
        log_path=log_path,
    )


def rasa_server(
    model: Path,
    port: int = 5005,
    action_port: int | None = None,
    log_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
    credentials: Path | str = "credentials.yml",
) -> ServiceProcess:
    """The Rasa server with the REST channels and the HTTP API, bound to loopback.

    ``credentials`` names the input channels (the benchmark compares stock Rasa with one
    without ``channels.rest_with_metadata``, which installs the server patches).
    """
    action_port = action_port or get_settings().action_server_port
    return ServiceProcess(
        name="rasa server",
        command=[
            str(BIN / "rasa"),
            "run",
            "--enable-api",
            "--interface",
            HOST,
            "--port",
            str(port),
            "--model",
            str(model),
            "--credentials",
            str(credentials),
            "--endpoints",
            "endpoints.yml",
        ],
        health_url=f"http://{HOST}:{port}/status",
        env={
            "ACTION_ENDPOINT_URL": f"http://{HOST}:{action_port}/webhook",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **(extra_env or {}),
        },
        log_path=log_path,
    )


def prepare_database(settings: Settings) -> Path | None:
    """Migrate the database and seed the content store from ``knowledge/`` on first start.

    Done once here, before the web app and the action server open the same database.

    Returns:
        The model the editors' last retraining put live, if it still exists (else ``None``:
        the model built by ``make train``).
    """
    from bot.chat.db import create_schema, make_engine, make_sessionmaker
    from bot.content import repository as content

    engine = make_engine(settings.database_url)
    try:
        create_schema(engine)
        with make_sessionmaker(engine).begin() as session:
            if content.ensure_content(session, settings.knowledge_dir):
                print(f"content store seeded from {settings.knowledge_dir}", flush=True)
            live = content.get_setting(session, "live_model")
    finally:
        engine.dispose()
    path = Path(live["path"]) if isinstance(live, dict) and live.get("path") else None
    return path if path is not None and path.exists() else None


def run_all(with_web: bool = True) -> int:
    """Start every service, print how to talk to the assistant, stop all on Ctrl-C.

    The web app prints the demo users' names and passwords when it starts.
    """
    settings = get_settings()
    model = prepare_database(settings) or settings.model_dir / "assistant.tar.gz"
    if not model.exists():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 2
    services = [tariff_service(), action_server(), rasa_server(model)]
    if with_web:
        services.append(web_app())
    stopping = False

    def _stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for service in services:
            service.start()
        for service in services:
            print(f"waiting for {service.name} ({service.health_url}) …", flush=True)
            service.wait_ready()
        print(
            "\nThe assistant is running on loopback:\n"
            "  website + chat widget  http://127.0.0.1:8000/  (agent console: /agent/)\n"
            "  Rasa REST channel   POST http://127.0.0.1:5005/webhooks/rest/webhook\n"
            "  with metadata       POST http://127.0.0.1:5005/webhooks/rest_meta/webhook\n"
            "  action server       http://127.0.0.1:5055/health\n"
            "  tariff calculator   http://127.0.0.1:8100/docs (OpenAPI: /openapi.json)\n"
            "Try:  curl -s -XPOST localhost:5005/webhooks/rest_meta/webhook "
            '-d \'{"sender":"demo","message":"Wie funktionierte die Gaspreisbremse?"}\'\n'
            "Stop with Ctrl-C.",
            flush=True,
        )
        while not stopping:
            for service in services:
                if service.process is not None and service.process.poll() is not None:
                    print(f"{service.name} stopped unexpectedly", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
    finally:
        for service in reversed(services):
            service.stop()
    return 0
