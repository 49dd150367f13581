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


def test_make_run_gives_rasa_and_the_action_server_tokens(tmp_path: Path, monkeypatch) -> None:
    """Issue 15: in `make run` Rasa's HTTP API and the action server were open to anyone."""
    import stat

    from bot import devserver

    monkeypatch.delenv("RASA_TOKEN", raising=False)
    monkeypatch.delenv("ACTION_SERVER_TOKEN", raising=False)
    monkeypatch.setattr(devserver, "RASA_TOKEN_FILE", tmp_path / "rasa-token")
    monkeypatch.setattr(devserver, "ACTION_TOKEN_FILE", tmp_path / "action-token")
    services = {s.name.split(" :")[0]: s for s in
                devserver.demo_services(Path("models/assistant.tar.gz"))}

    rasa_token = (tmp_path / "rasa-token").read_text(encoding="utf-8")
    action_token = (tmp_path / "action-token").read_text(encoding="utf-8")
    assert len(rasa_token) >= 32 and len(action_token) >= 32 and rasa_token != action_token
    for token_file in ("rasa-token", "action-token"):  # like the secret key: owner only
        assert stat.S_IMODE((tmp_path / token_file).stat().st_mode) == 0o600
    rasa = services["rasa server"]
    # python -m bot rasa-server starts Rasa with --auth-token $RASA_TOKEN (tests/e2e/test_tokens)
    assert list(rasa.command)[1:4] == ["-m", "bot", "rasa-server"]
    assert rasa.env["RASA_TOKEN"] == rasa_token
    assert rasa.env["ACTION_SERVER_TOKEN"] == action_token  # endpoints.yml sends it
    assert services["web app"].env["RASA_TOKEN"] == rasa_token
    assert services["action server"].env["ACTION_SERVER_TOKEN"] == action_token
    # A second start keeps the tokens (running clients keep working).
    again = {s.name.split(" :")[0]: s for s in
             devserver.demo_services(Path("models/assistant.tar.gz"))}
    assert again["web app"].env["RASA_TOKEN"] == rasa_token


def test_the_production_profiles_tokens_come_from_its_secret() -> None:
    from bot.devserver import ProductionLayout, production_services, profile_tokens

    tokens = profile_tokens("geheim")
    assert tokens == profile_tokens("geheim") != profile_tokens("anders")
    assert tokens["RASA_TOKEN"] != tokens["ACTION_SERVER_TOKEN"]
    for service in production_services(ProductionLayout(), Path("m.tar.gz"), "geheim"):
        kind = service.name.split(" :")[0]
        if kind in ("rasa server", "web app"):
            assert service.env["RASA_TOKEN"] == tokens["RASA_TOKEN"], kind
        if kind in ("rasa server", "action server"):
            assert service.env["ACTION_SERVER_TOKEN"] == tokens["ACTION_SERVER_TOKEN"], kind
