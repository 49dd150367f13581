"""The admins' pages in a real headless Chromium (Debian's package, Playwright), on the real
web app of the end-to-end fixtures: the operations dashboard draws its charts from real turns,
and a conversation is found, exported and deleted on the data protection page."""

from __future__ import annotations

import json
import re

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN
from tests.e2e.test_browser import (
    browser,  # noqa: F401 - the module's Chromium fixture
    watch_csp,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def admin(browser, web_url):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE",
                                  accept_downloads=True)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    blocked = watch_csp(page)
    page.goto(f"{web_url}/agent/login")
    username, _, password = ADMIN
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    yield page
    assert errors == [] and page.dialogs == []  # no script error, no alert()
    assert blocked == []  # nothing the Content-Security-Policy had to block
    context.close()


def customer_turns(web_url: str) -> str:
    cid = requests.post(f"{web_url}/api/v1/conversations", timeout=10).json()["conversation_id"]
    for text in ("Wie funktionierte die Gaspreisbremse?", "Wie wird das Wetter morgen?"):
        response = requests.post(f"{web_url}/api/v1/conversations/{cid}/messages",
                                 json={"text": text}, timeout=30)
        assert response.status_code == 200, response.text
    return str(cid)


def test_the_dashboard_draws_the_figures_of_real_turns(admin, web_url):
    customer_turns(web_url)
    admin.reload()
    expect(admin.get_by_role("heading", name="Betrieb")).to_be_visible()
    charts = admin.locator('[data-testid="ops-chart"]')
    expect(charts).to_have_count(5, timeout=15000)
    messages = admin.locator('[data-testid="ops-chart"][data-chart="messages"]')
    expect(messages.locator('svg[role="img"]')).to_be_visible()
    expect(messages.locator('[data-testid="ops-table"]')).to_contain_text(re.compile(r"\d"))
    admin.locator("#ops-period").select_option(index=1)  # the week
    expect(charts).to_have_count(5, timeout=15000)
    expect(admin.get_by_test_id("ops-training")).not_to_have_text("–")


def test_a_conversation_is_found_exported_and_deleted(admin, web_url):
    cid = customer_turns(web_url)
    admin.get_by_role("link", name="Datenschutz").click()
    expect(admin).to_have_url(re.compile(r"/admin/datenschutz$"))
    admin.locator("#find-query").fill(cid[:8])
    admin.locator("#find-submit").click()
    row = admin.get_by_test_id("conversation-row")
    expect(row).to_have_count(1, timeout=15000)
    with admin.expect_download() as download:
        row.get_by_test_id("conversation-export").click()
    exported = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert cid in json.dumps(exported)
    assert "Gaspreisbremse" in json.dumps(exported, ensure_ascii=False)
    row.get_by_test_id("conversation-delete").click()
    admin.locator("#confirm-ok").click()
    expect(admin.locator("#privacy-status")).to_contain_text("gelöscht", timeout=15000)
    gone = requests.get(f"{web_url}/api/v1/conversations/{cid}/messages", timeout=10)
    assert gone.status_code == 404
