"""The assistant's processes for an evaluation run: calculator, action server, Rasa server.

``python -m bot eval-dialogues`` without ``--rasa-url`` starts them here, on free loopback
ports, with a temporary SQLite content store seeded from ``knowledge/`` (as ``make run`` seeds
it on first start), so that a conversation is judged on the real model and the real actions.
The store is seeded by ``python -m bot knowledge import`` in the application environment, whose
content code (Markdown checks) the Rasa environment this runs in does not have.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bot.settings import REPO_ROOT

HOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` different ports the operating system has just handed out.

    All are held until each is known: one closed before the next is asked for may be handed
    out again, and two services on the same port make one of them fail to start.
    """
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@contextmanager
def local_assistant(model: Path, knowledge_dir: Path | None = None) -> Iterator[tuple[str, str]]:
    """Start the three processes; yields (Rasa URL, Rasa token); stops them on exit."""
    from bot.devserver import action_server, rasa_server, tariff_service
    from bot.environments import python_of

    knowledge = knowledge_dir or REPO_ROOT / "knowledge"
    token = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eval-dialogues-")))
        database = f"sqlite:///{work / 'content.db'}"
        subprocess.run(
            [python_of("app"), "-m", "bot", "knowledge", "import", "--dir", str(knowledge)],
            cwd=REPO_ROOT,
            env={**os.environ, "DATABASE_URL": database},
            check=True,
            capture_output=True,
            timeout=300,
        )
        tariff_port, action_port, rasa_port = free_ports(3)
        calculator = tariff_service(port=tariff_port, log_path=work / "tariff.log").start()
        stack.callback(calculator.stop)
        actions = action_server(
            port=action_port,
            log_path=work / "actions.log",
            tariff_url=f"http://{HOST}:{tariff_port}",
            extra_env={"DATABASE_URL": database, "KNOWLEDGE_DIR": str(knowledge)},
        ).start()
        stack.callback(actions.stop)
        rasa = rasa_server(
            model,
            port=rasa_port,
            action_port=action_port,
            log_path=work / "rasa.log",
            extra_env={"RASA_TOKEN": token},
        ).start()
        stack.callback(rasa.stop)
        for service in (calculator, actions, rasa):
            service.wait_ready()
        yield f"http://{HOST}:{rasa_port}", token
