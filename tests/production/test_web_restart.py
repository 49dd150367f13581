"""A web app instance restarts while customers' widgets and agents' consoles are open
(headless Chromium, Debian's package, through the real production profile).

The widget is served by the first instance, the agent console by the second; each is restarted
in turn. Widgets reconnect by themselves and show the whole transcript; agents stay logged in
(their session cookie is signed with the shared SECRET_KEY, nothing lives in the process).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.test_browser import CHROMIUM, FLAGS, ask, log, open_widget
from tests.production.conftest import AGENT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def login_agent(browser, web_url: str) -> tuple[object, Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    agent = context.new_page()
    agent.goto(f"{web_url}/agent/")
    username, _, password = AGENT
    agent.get_by_label("Benutzername").fill(username)
    agent.get_by_label("Passwort").fill(password)
    agent.get_by_role("button", name="Anmelden").click()
    expect(agent.get_by_role("heading", name=re.compile("Warteschlange"))).to_be_visible()
    return context, agent


def test_restarts_keep_widgets_and_agent_sessions(production, browser):
    customer_url, agent_url = production.web_urls
    customer_port, agent_port = production.layout.web_ports
    customer_context = browser.new_context(locale="de-DE", reduced_motion="reduce")
    page = customer_context.new_page()
    agent_context, agent = login_agent(browser, agent_url)
    try:
        open_widget(page, customer_url)
        ask(page, "Wie funktionierte die Gaspreisbremse?")
        expect(log(page)).to_contain_text("12 ct/kWh", timeout=20000)
        ask(page, "Ich möchte mit einem Menschen sprechen")
        expect(page.get_by_text(re.compile(r"Position \d+ in der Warteschlange"))).to_be_visible(
            timeout=20000)

        conversation = page.evaluate("localStorage.getItem('stadtwerk-chat-id')")

        # The customer's instance restarts; meanwhile the agent (on the other one) takes over.
        production.restart("web", customer_port)
        claim = agent.locator(f'li.q-item[data-conversation="{conversation}"]').get_by_role(
            "button", name="Übernehmen")
        expect(claim).to_be_visible(timeout=20000)
        claim.click()
        # Reaches the widget through Redis and the reconnected WebSocket (or its polling).
        expect(log(page)).to_contain_text("Sie chatten jetzt mit Paula", timeout=20000)
        agent.get_by_label("Antwort an die Kundin oder den Kunden").fill("Hallo, hier ist Paula.")
        agent.get_by_role("button", name="Senden").click()
        expect(log(page)).to_contain_text("Hallo, hier ist Paula.", timeout=20000)

        # Now the agent's instance restarts: the console keeps its session and works on.
        production.restart("web", agent_port)
        ask(page, "Mein Abschlag ist zu hoch.")
        expect(agent.get_by_role("log", name="Gesprächsverlauf")).to_contain_text(
            "Mein Abschlag ist zu hoch.", timeout=20000)
        agent.get_by_label("Antwort an die Kundin oder den Kunden").fill("Das schaue ich mir an.")
        agent.get_by_role("button", name="Senden").click()
        expect(log(page)).to_contain_text("Das schaue ich mir an.", timeout=20000)
        agent.reload()
        expect(agent.get_by_role("heading", name=re.compile("Warteschlange"))).to_be_visible()
        assert "/login" not in agent.url

        # A reload of the customer's page shows the whole conversation again.
        page.reload()
        page.locator(".swc-launcher").click()
        for text in ("Wie funktionierte die Gaspreisbremse?", "12 ct/kWh",
                     "Sie chatten jetzt mit Paula", "Hallo, hier ist Paula.",
                     "Mein Abschlag ist zu hoch.", "Das schaue ich mir an."):
            expect(log(page)).to_contain_text(text, timeout=20000)
    finally:
        agent_context.close()
        customer_context.close()


def test_the_widget_tells_the_customer_the_phone_number_while_postgresql_is_away(
        production, browser):
    import yaml

    from bot.settings import REPO_ROOT

    phone = yaml.safe_load((REPO_ROOT / "knowledge" / "utility.yml").read_text(
        encoding="utf-8"))["phone"]
    context = browser.new_context(locale="de-DE", reduced_motion="reduce")
    page = context.new_page()
    try:
        open_widget(page, production.web_urls[0])
        ask(page, "Was war die Dezember-Soforthilfe?")
        expect(log(page)).to_contain_text("Dezember", timeout=20000)
        production.postgres.cut()
        try:
            ask(page, "Gilt die Preisbremse noch?")
            notice = page.locator(".swc-notice")
            expect(notice).to_contain_text("gerade gestört", timeout=10000)
            expect(notice).to_contain_text(phone)
            retry = page.get_by_role("button", name=re.compile("Erneut|Noch einmal"))
            expect(retry).to_be_visible()
        finally:
            production.postgres.restore()
        # Back: the customer's retry goes through, nothing typed is lost.
        retry.click()
        expect(log(page)).to_contain_text("Gilt die Preisbremse noch?")
        expect(page.locator(".swc-notice")).to_be_hidden(timeout=30000)
    finally:
        context.close()
