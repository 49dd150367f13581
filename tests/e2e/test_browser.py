"""The widget and the agent console in a real headless Chromium (Debian's package, Playwright).

Runs against the real web app, Rasa server, action server and calculator (tests/e2e/conftest.py).
Screenshots for docs/screenshots/ are taken along the way.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import AGENT

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    # Reduced motion: no CSS transitions, so the accessibility check never sees a colour
    # halfway through an animation.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="de-DE", reduced_motion="reduce"
    )
    yield context
    context.close()


def watch_csp(page: Page) -> list[str]:
    """What the Content-Security-Policy blocked on ``page`` (Chromium reports it on the console)."""
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    return blocked


@pytest.fixture
def page(context):
    page = context.new_page()
    page.dialogs = []  # any alert() would be an XSS
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    blocked = watch_csp(page)
    yield page
    assert blocked == []  # every script and style of the pages is allowed by the policy


@pytest.fixture(scope="session")
def screenshots(repo_root):
    path = repo_root / "docs" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def launcher(page: Page):
    """The widget's launcher button (the demo pages may have other buttons saying "Chat")."""
    return page.locator(".swc-launcher")


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    launcher(page).click()
    accept = page.get_by_role("button", name="Verstanden")
    if accept.is_visible():
        accept.click()
    expect(page.get_by_label("Ihre Nachricht")).to_be_visible()


def ask(page: Page, text: str) -> None:
    page.get_by_label("Ihre Nachricht").fill(text)
    page.get_by_label("Ihre Nachricht").press("Enter")


def log(page: Page):
    return page.get_by_role("log", name="Chatverlauf")


def test_faq_answer_with_feedback_buttons(page, web_url, screenshots):
    open_widget(page, f"{web_url}/preisbremsen")
    ask(page, "Wie hat die Gaspreisbremse funktioniert?")
    expect(log(page)).to_contain_text("12 ct/kWh", timeout=15000)
    helpful = page.get_by_role("button", name="Hilfreich").last
    expect(helpful).to_be_visible()
    page.screenshot(path=str(screenshots / "widget-desktop.png"))
    helpful.click()
    expect(log(page)).to_contain_text("Danke für Ihr Feedback")


def test_calculation_dialogue(page, web_url):
    open_widget(page, web_url)
    ask(page, "Ich verbrauche 3000 kWh Strom und zahle 50 Cent, wie hoch ist meine Entlastung?")
    expect(log(page)).to_contain_text("Grundpreis", timeout=15000)
    ask(page, "weiß ich nicht")
    expect(log(page)).to_contain_text("aktueller monatlicher Abschlag", timeout=15000)
    page.get_by_role("button", name="Überspringen").last.click()
    expect(log(page)).to_contain_text(
        "betrug Ihr Abschlag 105 € statt 125 € im Monat", timeout=15000
    )


def test_conversation_survives_navigation_reload_and_new_tab(page, context, web_url):
    open_widget(page, web_url)
    ask(page, "Was war die Dezember-Soforthilfe?")
    # The answer's "Stand:" line (the greeting names the Dezember-Soforthilfe too): the turn is
    # stored before the page is left.
    expect(log(page)).to_contain_text("Stand:", timeout=15000)
    page.get_by_role("link", name=re.compile("Preisbremsen")).first.click()
    launcher(page).click()
    expect(log(page)).to_contain_text("Was war die Dezember-Soforthilfe?")
    page.reload()
    launcher(page).click()
    expect(log(page)).to_contain_text("Was war die Dezember-Soforthilfe?")
    second = context.new_page()
    second.goto(f"{web_url}/kontakt")
    launcher(second).click()
    expect(log(second)).to_contain_text("Was war die Dezember-Soforthilfe?")


def login_agent(browser, web_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    agent = context.new_page()
    agent.dialogs = []
    agent.on("dialog", lambda dialog: (agent.dialogs.append(dialog.message), dialog.dismiss()))
    agent.goto(f"{web_url}/agent/")
    username, _, password = AGENT
    agent.get_by_label("Benutzername").fill(username)
    agent.get_by_label("Passwort").fill(password)
    agent.get_by_role("button", name="Anmelden").click()
    expect(agent.get_by_role("heading", name=re.compile("Warteschlange"))).to_be_visible()
    return context, agent


def test_handoff_to_an_agent_and_back(page, browser, web_url, screenshots):
    open_widget(page, web_url)
    ask(page, "Wie funktionierte die Strompreisbremse?")
    expect(log(page)).to_contain_text("40 ct/kWh", timeout=15000)
    ask(page, "Ich möchte mit einem Menschen sprechen")
    expect(page.get_by_text(re.compile("Position \\d+ in der Warteschlange"))).to_be_visible(
        timeout=15000
    )
    agent_context, agent = login_agent(browser, web_url)
    try:
        claim = agent.get_by_role("button", name="Übernehmen").first
        expect(claim).to_be_visible(timeout=15000)
        agent.screenshot(path=str(screenshots / "agent-console-queue.png"))
        claim.click()
        expect(log(page)).to_contain_text("Sie chatten jetzt mit Tessa", timeout=15000)
        agent.get_by_label("Antwort an die Kundin oder den Kunden").fill(
            "Guten Tag, hier ist Tessa. Wie kann ich helfen?"
        )
        agent.get_by_role("button", name="Senden").click()
        expect(log(page)).to_contain_text("Wie kann ich helfen?", timeout=15000)
        ask(page, "Mein Abschlag ist zu hoch.")
        expect(agent.get_by_role("log", name="Gesprächsverlauf")).to_contain_text(
            "Mein Abschlag ist zu hoch.", timeout=15000
        )
        agent.screenshot(path=str(screenshots / "agent-console-chat.png"))
        agent.get_by_role("button", name="An Assistenten zurückgeben").click()
        expect(log(page)).to_contain_text("wieder mit dem digitalen Assistenten", timeout=15000)
        ask(page, "Muss ich die Preisbremse beantragen?")
        expect(log(page)).to_contain_text("automatisch", timeout=15000)
    finally:
        agent_context.close()


def test_out_of_hours_callback_request(page, browser, web_url, chat_hours):
    chat_hours.closed()
    try:
        time.sleep(1.5)  # the action server re-reads knowledge/ at most once a second
        open_widget(page, web_url)
        ask(page, "Kann mich jemand vom Kundenservice zurückrufen?")
        page.get_by_label("Ihr Name").fill("Eva Beispiel")
        page.get_by_label("Telefonnummer oder E-Mail-Adresse").fill("eva@example.org")
        page.get_by_label("Ihr Anliegen").fill("Bitte Abschlag prüfen")
        page.get_by_role("button", name="Anfrage senden").click()
        expect(log(page)).to_contain_text("Ihr Anliegen ist bei uns angekommen", timeout=15000)
        # The system's words only: the name the customer typed is not among them.
        confirmation = log(page).locator(".swc-msg--system").last
        expect(confirmation).to_contain_text("Danke!")
        expect(confirmation).not_to_contain_text("Eva")
    finally:
        chat_hours.open()
        time.sleep(1.5)
    agent_context, agent = login_agent(browser, web_url)
    try:
        expect(agent.get_by_role("table")).to_contain_text("Bitte Abschlag prüfen", timeout=15000)
    finally:
        agent_context.close()


def test_html_in_messages_is_shown_as_text(page, browser, web_url):
    open_widget(page, web_url)
    ask(page, "<img src=x onerror=alert(1)>")
    ask(page, "<script>alert(2)</script>")
    expect(log(page)).to_contain_text("<img src=x onerror=alert(1)>", timeout=15000)
    expect(log(page)).to_contain_text("<script>alert(2)</script>")
    assert page.locator(".swc-log img").count() == 0
    ask(page, "Ich will einen Mitarbeiter")
    agent_context, agent = login_agent(browser, web_url)
    try:
        agent.get_by_role("button", name="Übernehmen").first.click()
        expect(agent.get_by_role("log", name="Gesprächsverlauf")).to_contain_text(
            "<img src=x onerror=alert(1)>", timeout=15000
        )
        assert agent.locator("#chat-log img").count() == 0
        time.sleep(0.5)
        assert agent.dialogs == []
    finally:
        agent_context.close()
    assert page.dialogs == []


def test_keyboard_only(page, web_url):
    page.goto(web_url)
    button = launcher(page)
    for _ in range(40):  # Tab through the page until the launcher has the focus
        page.keyboard.press("Tab")
        if button.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    accept = page.get_by_role("button", name="Verstanden")
    if accept.is_visible():
        accept.focus()
        page.keyboard.press("Enter")
    field = page.get_by_label("Ihre Nachricht")
    field.focus()
    page.keyboard.type("Zählerstand melden")
    page.keyboard.press("Enter")
    expect(log(page)).to_contain_text("Zählerstand", timeout=15000)
    page.keyboard.press("Escape")
    assert button.evaluate("el => el === document.activeElement")
    assert button.get_attribute("aria-expanded") == "false"


def test_accessibility_check_finds_no_serious_violations(page, web_url, repo_root, screenshots):
    axe = repo_root / "build" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
    assert axe.exists(), "run `make test` (it installs axe-core from npm into build/browser)"
    for url in (web_url, f"{web_url}/preisbremsen"):
        open_widget(page, url)
        ask(page, "Wie funktionierte die Wärmepreisbremse?")
        expect(log(page)).to_contain_text("9,5 ct/kWh", timeout=15000)
        # Evaluated by the browser's devtools protocol: a <script> tag of it would be inline
        # code, which the page's Content-Security-Policy rightly blocks.
        page.evaluate(axe.read_text(encoding="utf-8"))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            (v["id"], v["impact"], [(n["target"], n.get("failureSummary", "")) for n in v["nodes"]])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], serious


def test_phone_width_and_zoom(browser, web_url, screenshots):
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        locale="de-DE",
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    try:
        open_widget(page, web_url)
        ask(page, "Was war die Dezember-Soforthilfe?")
        expect(log(page)).to_contain_text("Dezember", timeout=15000)
        panel = page.get_by_role("dialog")
        box = panel.bounding_box()
        assert box is not None and box["width"] <= 360 and box["x"] >= 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(screenshots / "widget-phone.png"))
    finally:
        context.close()
    zoomed = browser.new_context(viewport={"width": 640, "height": 400}, locale="de-DE")
    page = zoomed.new_page()  # 1280x800 at 200 % zoom has the layout viewport of 640x400
    try:
        open_widget(page, web_url)
        field = page.get_by_label("Ihre Nachricht")
        expect(field).to_be_in_viewport()
        expect(page.get_by_role("button", name="Senden")).to_be_in_viewport()
    finally:
        zoomed.close()
