"""Fixtures of the tariff calculator tests: rules from the real knowledge, the demo catalogue,
the app and a TestClient."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.tariff.catalogue import Catalogue, load_catalogue
from bot.tariff.rules import ReliefRules


@pytest.fixture(scope="session")
def rules(kb) -> ReliefRules:
    return ReliefRules.from_knowledge(kb)


@pytest.fixture(scope="session")
def catalogue(repo_root) -> Catalogue:
    return load_catalogue(repo_root / "knowledge" / "tariffs.yml")


@pytest.fixture(scope="session")
def app(rules, catalogue):
    from bot.tariff.service import create_app

    return create_app(rules=rules, catalogue=catalogue)


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app) as test_client:
        yield test_client
