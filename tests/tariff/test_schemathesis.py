"""schemathesis against the real service process (``python -m bot.tariff``) over HTTP.

schemathesis does not install into the project's pinned environment (see
``tools/fuzz-requirements.txt``), so it lives in its own virtualenv, ``build/fuzz-venv``, which
``make test`` builds (``make fuzz-venv`` alone). This test starts the service on a free port and
runs the schemathesis CLI against its ``/openapi.json``: the schema's examples, the coverage phase
(boundary and invalid values) and the fuzzing phase, positive and negative, 100 examples per
operation with a fixed seed. Every check runs except ``positive_data_acceptance``: the domain rules
(household limits, gas needs its price, no December aid for electricity) are not in the schema and
answer schema-valid bodies with the documented ``422``. So: no 5xx; every status code, content
type, header and body as documented; schema-invalid input rejected; answers within 5 s.

The home-grown fuzzer in ``tests/tariff/test_fuzz.py`` stays: it runs in-process and fast.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import xml.etree.ElementTree as ET

import pytest

from bot.devserver import tariff_service

FUZZ_VENV = "build/fuzz-venv"
OPERATIONS = {"GET /health", "GET /ready", "POST /v1/instalment", "POST /v1/december-relief",
              "GET /v1/tariffs"}
MAX_EXAMPLES = 100  # per operation and phase
SEED = 20230301
ANSWER_WITHIN_S = 5  # "every request is answered within its timeout" (contracts.md section 2)
RUN_TIMEOUT_S = 240  # hard bound; the run takes ~5 s
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pinned_version(repo_root) -> str:
    requirements = (repo_root / "tools" / "fuzz-requirements.txt").read_text(encoding="utf-8")
    match = re.search(r"^schemathesis==(\S+)$", requirements, re.MULTILINE)
    assert match, "tools/fuzz-requirements.txt pins no schemathesis version"
    return match.group(1)


def _schemathesis_cli(repo_root):
    """The schemathesis CLI of build/fuzz-venv, at the pinned version; else the test fails."""
    cli = repo_root / FUZZ_VENV / "bin" / "schemathesis"
    if not cli.exists():
        pytest.fail(
            f"{FUZZ_VENV} is missing: run `make test` (or `make fuzz-venv`) to build it from "
            "tools/fuzz-requirements.txt",
            pytrace=False,
        )
    version = subprocess.run(
        [str(cli), "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    pinned = _pinned_version(repo_root)
    if pinned not in version.split():
        pytest.fail(
            f"{FUZZ_VENV} has {version.strip()!r}, tools/fuzz-requirements.txt pins {pinned}: "
            "run `make test` (or `make fuzz-venv`) to rebuild it",
            pytrace=False,
        )
    return cli


@pytest.mark.slow
def test_schemathesis_finds_no_problem_in_the_service(repo_root, tmp_path):
    schemathesis = _schemathesis_cli(repo_root)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    out_dir = repo_root / "build" / "schemathesis"
    out_dir.mkdir(parents=True, exist_ok=True)
    junit = out_dir / "junit.xml"
    junit.unlink(missing_ok=True)
    log_dir = repo_root / "build" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(schemathesis),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--max-response-time",
        str(ANSWER_WITHIN_S),
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
    ]
    # The tool's own interpreter and packages only: nothing of the project's venv leaks in.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(PYTHONNOUSERSITE="1", NO_COLOR="1", COLUMNS="120")

    service = tariff_service(port=port, log_path=log_dir / "tariff-schemathesis.log").start()
    try:
        service.wait_ready(timeout=START_TIMEOUT_S)
        try:
            result = subprocess.run(
                command,
                cwd=tmp_path,  # its .hypothesis/ and .schemathesis/ caches stay out of the repo
                env=env,
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"schemathesis did not finish within {RUN_TIMEOUT_S} s", pytrace=False)
    finally:
        service.stop()
    output = result.stdout + result.stderr
    (out_dir / "output.txt").write_text(output, encoding="utf-8")

    assert result.returncode == 0, f"schemathesis failed (build/schemathesis/output.txt):\n{output}"
    assert re.search(rf"Tested:\s+{len(OPERATIONS)}\b", output), output
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated and int(generated.group(1)) > MAX_EXAMPLES, output
    assert generated.group(1) == generated.group(2), output
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and suite.get("errors") == "0", output
    assert suite.get("skipped") == "0", output
    assert {case.get("name") for case in suite.iter("testcase")} == OPERATIONS
