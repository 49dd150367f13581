"""The web app runs the editors' retraining worker for as long as it serves."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from fastapi.testclient import TestClient

from bot.web.app import create_app


def _trainer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "training-worker" and t.is_alive()]


def test_the_training_worker_runs_while_the_app_serves(ctx):
    ctx.settings = dataclasses.replace(ctx.settings, training_worker=True)
    before = len(_trainer_threads())
    with TestClient(create_app(context=ctx)) as client:
        assert client.get("/api/v1/config").status_code == 200
        assert len(_trainer_threads()) == before + 1
    assert len(_trainer_threads()) == before


@pytest.mark.parametrize("change", [{"training_worker": False},
                                    {"training_worker": True, "training_enabled": False}])
def test_no_worker_when_this_process_must_not_train(ctx, change):
    ctx.settings = dataclasses.replace(ctx.settings, **change)
    before = len(_trainer_threads())
    with TestClient(create_app(context=ctx)):
        assert len(_trainer_threads()) == before
