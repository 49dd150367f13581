"""Every module of bot/, actions/ and channels/ imports in each environment it belongs to.

bot/environments.py lists where each package runs; here each environment's own interpreter
(a subprocess, whichever environment pytest runs in) imports all of its modules.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot import environments
from bot.environments import ENVIRONMENTS, Environment

# Imports every module named on stdin (JSON) and prints the failures as JSON.
IMPORT_ALL = """
import importlib, json, sys, traceback
failures = {}
for name in json.load(sys.stdin):
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps(failures))
"""


def test_every_module_is_assigned() -> None:
    modules = environments.modules()
    assert "bot.web.app" in modules and "actions" in modules and "channels.lock_store" in modules
    for name in modules:
        assert environments.environments_of(name), name


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_modules_import(environment: Environment, repo_root) -> None:
    python = environments.python_of(environment)
    # Entry points (__main__) run on import; the tests of each service start them.
    wanted = [m for m in environments.modules()
              if environment in environments.environments_of(m) and not m.endswith("__main__")]
    assert len(wanted) > 20
    result = subprocess.run(
        [python, "-c", IMPORT_ALL], input=json.dumps(wanted), capture_output=True, text=True,
        cwd=repo_root, timeout=600,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(repo_root)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n".join(f"{k}:\n{v}" for k, v in failures.items())


@pytest.mark.parametrize(
    ("environment", "major_minor"), [("rasa", (3, 10)), ("app", (3, 12))]
)
def test_interpreters(environment: Environment, major_minor: tuple[int, int], repo_root) -> None:
    result = subprocess.run(
        [environments.python_of(environment), "-c",
         "import sys, json; print(json.dumps(list(sys.version_info[:2])))"],
        capture_output=True, text=True, check=True, cwd=repo_root,
    )
    assert tuple(json.loads(result.stdout)) >= major_minor
    if environment == "rasa":
        assert tuple(json.loads(result.stdout)) < (3, 11)


def test_current_environment() -> None:
    expected = "rasa" if sys.version_info < (3, 11) else "app"
    assert environments.current() == expected


def test_test_paths() -> None:
    assert environments.environments_of_test("channels/test_replicas.py") == {"rasa"}
    assert environments.environments_of_test("web/test_chat_api.py") == {"app"}
    assert environments.environments_of_test("test_environments.py") == {"app"}
    assert environments.environments_of_test("chat/test_kpis.py") == {"rasa", "app"}
