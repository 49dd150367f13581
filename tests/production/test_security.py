"""Issue 15's fixes in the production profile: two web apps, two Rasa servers, two action servers
on PostgreSQL and Redis, as real processes."""

from __future__ import annotations

import re

import pytest
import requests

from tests.production.conftest import AGENT

pytestmark = pytest.mark.slow


def login(web_url: str, user: tuple[str, str, str]) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{web_url}/agent/login", timeout=10)
    for cookie in browser.cookies:  # Secure cookies over plain HTTP on loopback
        cookie.secure = False
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    username, _, password = user
    response = browser.post(f"{web_url}/agent/login", timeout=30, allow_redirects=False,
                            data={"username": username, "password": password,
                                  "csrf_token": token})
    assert response.status_code == 303, response.text
    for cookie in browser.cookies:
        cookie.secure = False
    return browser


def test_a_logout_on_one_web_app_ends_the_session_on_the_other(production):
    first, second = production.web_urls
    browser = login(first, AGENT)
    cookie = browser.cookies["agent_session"]
    other = requests.Session()
    other.cookies.set("agent_session", cookie)
    assert other.get(f"{second}/api/v1/agent/queue", timeout=10).status_code == 200
    assert other.post(f"{second}/agent/logout", timeout=10,
                      allow_redirects=False).status_code == 303
    for url in (first, second):
        replay = requests.get(f"{url}/api/v1/agent/queue", timeout=10,
                              cookies={"agent_session": cookie})
        assert replay.status_code == 401, url
    browser.close()
    other.close()


def test_rasa_and_the_action_servers_refuse_strangers(production):
    for url in production.rasa_urls:
        webhook = requests.post(f"{url}/webhooks/rest_meta/webhook", timeout=10,
                                json={"sender": "fremd", "message": "Hallo"})
        assert webhook.status_code == 401, url
        assert requests.get(f"{url}/conversations/fremd/tracker",
                            timeout=10).status_code == 401, url
        assert requests.get(f"{url}/webhooks/rest_meta/ready", timeout=10).status_code == 200
    for port in production.layout.action_ports:
        action = requests.post(f"http://127.0.0.1:{port}/webhook", timeout=10,
                               json={"next_action": "action_answer_question"})
        assert action.status_code == 401, port


def test_no_api_docs_and_no_metrics_for_the_public(production):
    ingress = production.ingress()
    for url in production.web_urls:
        for path in ("/docs", "/openapi.json"):
            assert requests.get(f"{url}{path}", timeout=10).status_code == 404, (url, path)
        # Through the ingress (even without X-Forwarded-For) /metrics is not there;
        # Prometheus scrapes the pods directly.
        assert ingress.get(f"{url}/metrics", timeout=10).status_code == 404
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 200
        page = requests.get(f"{url}/", timeout=10)
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
    ingress.close()
