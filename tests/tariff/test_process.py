"""The real service process: ``python -m bot.tariff`` on a free port, called over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import requests

from bot.devserver import tariff_service
from bot.tariff.__main__ import DEFAULT_PORT, port_from_url

START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://127.0.0.1:8100", 8100),
        ("http://127.0.0.1:18100/", 18100),
        ("http://localhost", DEFAULT_PORT),
    ],
)
def test_port_from_url(url, port):
    assert port_from_url(url) == port


def test_invalid_port_in_tariff_url_exits_with_an_error(repo_root):
    result = subprocess.run(
        [sys.executable, "-m", "bot.tariff"],
        cwd=repo_root,
        env={**os.environ, "TARIFF_URL": "http://127.0.0.1:notaport"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TARIFF_URL" in result.stderr


@pytest.mark.slow
def test_service_process_answers_over_http(repo_root):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_dir = repo_root / "build" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    service = tariff_service(port=port, log_path=log_dir / "tariff-service.log").start()
    try:
        service.wait_ready(timeout=START_TIMEOUT_S)
        assert requests.get(f"{url}/health", timeout=REQUEST_TIMEOUT_S).json() == {"status": "ok"}
        response = requests.post(
            f"{url}/v1/instalment",
            json={"energy": "gas", "forecast_kwh": 15000, "working_price_ct": 22},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200
        assert response.json()["instalment_with_relief_eur"] == 175
        response = requests.post(
            f"{url}/v1/december-relief",
            json={"energy": "strom", "forecast_kwh_sept_2022": 3000},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "energy"]
        response = requests.post(
            f"{url}/v1/instalment",
            data=b"{not json",
            headers={"content-type": "application/json"},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 422
        assert requests.get(f"{url}/nope", timeout=REQUEST_TIMEOUT_S).status_code == 404
        assert requests.get(f"{url}/v1/tariffs", timeout=REQUEST_TIMEOUT_S).json()["demo"] is True
    finally:
        service.stop()
    assert service.process is not None and service.process.poll() is not None
