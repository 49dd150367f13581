"""Which code runs in which Python environment, and where those environments live.

Two virtualenvs, each locked in its own constraints file (README, "Install"):

``rasa`` (``.venv``, Python 3.10, pyproject.toml + constraints.txt)
    The Rasa server and everything that imports ``rasa``: the NLU components, the custom
    channels, training, ``python -m bot eval``. Rasa 3.6, the last release of Rasa Open Source,
    pins Python < 3.11, pydantic 1, SQLAlchemy 1.4 and an old starlette; it stays behind the web
    app and is never exposed to the internet.
``app`` (``.venv-app``, Python >= 3.12, requirements-app.in + constraints-app.txt)
    The internet-facing web app, the tariff calculator and the action server (rasa-sdk's
    current line speaks the same HTTP protocol to the Rasa 3.6 server): current FastAPI,
    starlette, pydantic 2, SQLAlchemy 2.0.

Code shared by both (settings, knowledge, the database models, content) imports in both, so it
uses only what both sides have: SQLAlchemy's 2.0-style API, which 1.4 supports as well.
:data:`MODULES` lists, per package, where it must import; ``tests/test_environments.py``
imports every module under each environment listed, and ``tests/conftest.py`` collects only the
tests of the environment pytest runs in (:data:`TEST_PATHS`).

Processes of the other environment are started through :func:`python_of` (the launcher, the
web app's retraining): never ``sys.executable``, which is the caller's environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

Environment = Literal["rasa", "app"]
ENVIRONMENTS: Final[tuple[Environment, ...]] = ("rasa", "app")
REPO_ROOT: Final = Path(__file__).resolve().parent.parent

# Virtualenv directories relative to the repository root; ``RASA_VENV`` / ``APP_VENV`` point
# elsewhere (the container images install them under /opt).
_VENV_DEFAULTS: Final[dict[Environment, str]] = {"rasa": ".venv", "app": ".venv-app"}
_VENV_VARIABLES: Final[dict[Environment, str]] = {"rasa": "RASA_VENV", "app": "APP_VENV"}

_BOTH: Final[frozenset[Environment]] = frozenset(ENVIRONMENTS)
_RASA: Final[frozenset[Environment]] = frozenset({"rasa"})
_APP: Final[frozenset[Environment]] = frozenset({"app"})

# Where each module must import, by dotted prefix; the longest matching prefix wins. Every
# module of bot/, actions/ and channels/ is covered (tests/test_environments.py checks it).
MODULES: Final[dict[str, frozenset[Environment]]] = {
    # Shared: the launcher and the command line (each command imports what it needs lazily),
    # settings, content, the database, the domain logic.
    "bot": _BOTH,
    # Rasa only: what imports rasa, spaCy or TensorFlow.
    "bot.nlu.components": _RASA,
    "bot.nlu.embeddings": _RASA,
    "bot.nlu.languages": _RASA,  # py3langid, for the component above
    # Markdown rendering (nh3, markdown-it-py) and the file sync built on it: web app, launcher.
    "bot.content.markdown": _APP,
    "bot.content.sync": _APP,
    "bot.content.overview": _APP,  # the editor console's topic list and checks
    "bot.content.preview": _APP,
    "bot.nlu.spacy_pipeline": _RASA,
    "bot.evaluation": _RASA,
    # The conversation evaluation only speaks HTTP to a Rasa server (the e2e tests use it).
    "bot.evaluation.dialogues": _BOTH,
    "bot.evaluation.servers": _BOTH,
    "channels": _RASA,
    # Application only: FastAPI/pydantic 2 services and the action server (rasa-sdk).
    "bot.web": _APP,
    "bot.tariff": _APP,
    "bot.observability.asgi": _APP,
    "bot.observability.web": _APP,
    "bot.social": _APP,
    "bot.retention": _APP,  # the web app's daily job and `python -m bot retention`
    "actions": _APP,
}

# Packages only the Rasa environment has. A shared module imports them only inside the
# function of a command that runs there (``python -m bot rasa-server``, ``eval``).
RASA_ONLY_PACKAGES: Final = frozenset({"rasa", "spacy", "tensorflow", "sklearn"})

# Test files and directories (relative to tests/) and the environments that run them, longest
# prefix wins; the rest runs in the application environment. The database code shared by both
# (SQLAlchemy 1.4 there, 2.0 here) is tested in both.
TEST_PATHS: Final[dict[str, frozenset[Environment]]] = {
    "": _APP,
    "channels": _RASA,
    "nlu": _RASA,
    "evaluation": _RASA,
    "test_server_patches.py": _RASA,
    "stories": _RASA,
    "chat": _BOTH,
    "knowledge": _BOTH,
    "deploy": _BOTH,  # each environment's install against the imports of its code
    "moderation": _BOTH,  # the word-list test needs spaCy's lemma table (Rasa environment)
}


def environments_of(module: str) -> frozenset[Environment]:
    """The environments ``module`` (dotted name) must import in."""
    for prefix in sorted(MODULES, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return MODULES[prefix]
    raise KeyError(f"{module} is not listed in bot.environments.MODULES")


def environments_of_test(relative: str) -> frozenset[Environment]:
    """The environments that run the test file or directory ``relative`` (to tests/)."""
    relative = relative.strip("/")
    for prefix in sorted(TEST_PATHS, key=len, reverse=True):
        if not prefix or relative == prefix or relative.startswith(prefix + "/"):
            return TEST_PATHS[prefix]
    return _APP


def venv_dir(environment: Environment) -> Path:
    """The virtualenv of ``environment`` (``RASA_VENV`` / ``APP_VENV``, else in the repo)."""
    configured = os.environ.get(_VENV_VARIABLES[environment])
    return Path(configured) if configured else REPO_ROOT / _VENV_DEFAULTS[environment]


def bin_dir(environment: Environment) -> Path:
    """The ``bin`` directory of ``environment``'s virtualenv."""
    return venv_dir(environment) / "bin"


def python_of(environment: Environment) -> str:
    """The interpreter that runs ``environment``'s processes."""
    return str(bin_dir(environment) / "python")


def current() -> Environment:
    """The environment this interpreter belongs to (by its virtualenv, else its version)."""
    prefix = Path(sys.prefix).resolve()
    for environment in ENVIRONMENTS:
        if prefix == venv_dir(environment).resolve():
            return environment
    return "rasa" if sys.version_info < (3, 11) else "app"


def modules(packages: Iterable[str] = ("bot", "actions", "channels")) -> list[str]:
    """Every module (dotted name) of ``packages``, from the source tree, without importing."""
    names: list[str] = []
    for package in packages:
        root = REPO_ROOT / package
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).with_suffix("")
            parts = relative.parts
            if any(part.startswith((".", "__pycache__")) for part in parts):
                continue
            if "migrations" in parts and ("versions" in parts or parts[-1] == "env"):
                continue  # alembic's scripts: run by alembic, with its configuration context
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names
