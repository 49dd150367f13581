"""The process factories of bot/devserver.py: what they wait for before a service counts as up."""

from __future__ import annotations

from pathlib import Path

from bot.devserver import rasa_server


def test_rasa_server_waits_for_the_readiness_route_of_the_rest_meta_channel() -> None:
    service = rasa_server(Path("models/assistant.tar.gz"), port=15999, action_port=15998)

    assert service.health_url == "http://127.0.0.1:15999/webhooks/rest_meta/ready"


def test_stock_rasa_without_the_rest_meta_channel_is_ready_when_it_answers(tmp_path: Path) -> None:
    # The content-training benchmark compares with stock Rasa (credentials: only "rest"),
    # which has no readiness route; waiting for it would time out after 180 s.
    credentials = tmp_path / "credentials-stock.yml"
    credentials.write_text("rest:\n", encoding="utf-8")

    service = rasa_server(Path("models/assistant.tar.gz"), port=15999, action_port=15998,
                          credentials=credentials)

    assert service.health_url == "http://127.0.0.1:15999/"
