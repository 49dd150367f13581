"""deploy/systemd: the production profile on one VM, one unit per process type.

Checked offline with this machine's systemd tools (no systemd needed as PID 1): each unit parses
(``systemd-analyze verify``, with the VM's paths pointed at this checkout), restarts on failure,
is hardened (``systemd-analyze security --offline`` rates it "OK" or better), and starts the
same command as the launcher's production profile (``bot.devserver.production_services``).
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.devserver import ProductionLayout, production_services

REPO_ROOT = Path(__file__).resolve().parents[2]
UNITS = REPO_ROOT / "deploy" / "systemd"
# Two environments (bot/environments.py): Rasa on Python 3.10, the rest on 3.12.
VM_PYTHON = "/opt/stadtwerk/venv/bin/python"
VM_APP_PYTHON = "/opt/stadtwerk/venv-app/bin/python"
UNIT_PYTHON = {
    "stadtwerk-calculator.service": VM_APP_PYTHON,
    "stadtwerk-actions@.service": VM_APP_PYTHON,
    "stadtwerk-rasa@.service": VM_PYTHON,
    "stadtwerk-web@.service": VM_APP_PYTHON,
}
# Unit → how the launcher names the process (ServiceProcess.name before " :").
PROCESSES = {
    "stadtwerk-calculator.service": "tariff calculator",
    "stadtwerk-actions@.service": "action server",
    "stadtwerk-rasa@.service": "rasa server",
    "stadtwerk-web@.service": "web app",
}
MAX_EXPOSURE = 3.0  # systemd-analyze security: below 3.0 is "OK"; unhardened units score ~9.6
# systemd < 254 does not know these (ignored with a warning, deploy/systemd/README.md).
NEWER_KEYS = re.compile(r"Unknown key '(RestartSteps|RestartMaxDelaySec)'")


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def _local_copies(tmp_path: Path) -> Path:
    """The units with the VM's paths replaced by this checkout's, runnable by this user."""
    env = tmp_path / "stadtwerk.env"
    env.write_text((UNITS / "stadtwerk.env.example").read_text(encoding="utf-8"))
    for path in UNITS.iterdir():
        if path.suffix in (".service", ".target"):
            text = (path.read_text(encoding="utf-8")
                    .replace(VM_APP_PYTHON, sys.executable)
                    .replace(VM_PYTHON, sys.executable)
                    .replace("/opt/stadtwerk/app", str(REPO_ROOT))
                    .replace("/etc/stadtwerk/stadtwerk.env", str(env))
                    .replace("User=stadtwerk", "User=root")
                    .replace("Group=stadtwerk", "Group=root"))
            (tmp_path / path.name).write_text(text, encoding="utf-8")
    return tmp_path


def test_every_process_type_of_the_production_profile_has_a_unit_with_its_command():
    launcher = {}
    for service in production_services(ProductionLayout(), Path("m.tar.gz"), "secret"):
        launcher[service.name.split(" :")[0]] = list(service.command)[1:]  # without the python
    for name, process in PROCESSES.items():
        command = _unit(name)["Service"]["ExecStart"].split()
        assert command[0] == UNIT_PYTHON[name], name
        expected = launcher[process]
        if process == "rasa server":  # the launcher names the model and files; the VM: defaults
            expected = [*expected[:3], "--port", "%i"]
        assert command[1:] == expected, name
    assert set(launcher) == set(PROCESSES.values())
    target = (UNITS / "stadtwerk.target").read_text(encoding="utf-8")
    for name in PROCESSES:
        assert name.replace("@.service", "@") in target, name


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_units_restart_on_failure_with_backoff_and_are_hardened(name):
    service = _unit(name)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartSec"] and service["RestartSteps"] and service["RestartMaxDelaySec"]
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                       ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("User", "stadtwerk"),
                       ("CapabilityBoundingSet", "")):
        assert service[key] == value, (name, key)
    assert "EnvironmentFile" in service
    assert "BIND_HOST=127.0.0.1" in (UNITS / name).read_text(encoding="utf-8")  # behind a proxy


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_analyze_verifies_the_units_and_rates_them_ok(tmp_path):
    units = _local_copies(tmp_path)
    names = [*PROCESSES, "stadtwerk.target"]
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=units,
                            capture_output=True, text=True, timeout=120)
    problems = [line for line in (verify.stdout + verify.stderr).splitlines()
                if line.strip() and not NEWER_KEYS.search(line)]
    assert verify.returncode == 0 and problems == [], "\n".join(problems)
    for name in PROCESSES:
        instance = name.replace("@.service", "@5000.service")
        if instance != name:
            shutil.copy(units / name, units / instance)
        rating = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", "--no-pager", instance],
            cwd=units, capture_output=True, text=True, timeout=120)
        match = re.search(r"Overall exposure level for \S+: ([\d.]+)", rating.stdout)
        assert match, rating.stdout + rating.stderr
        # The copies run as root (User=root, to verify here): the VM's user lowers it further.
        assert float(match.group(1)) < MAX_EXPOSURE, (name, rating.stdout)
