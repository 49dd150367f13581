"""The editors' and admins' pages without a browser: served to the right roles, semantic German
HTML, every element the scripts use is in the template, every control has a label."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "bot" / "web" / "static"
PAGES = {"/editor/": "editor.js", "/admin/": "admin.js"}


def source(name):
    return (STATIC / name).read_text(encoding="utf-8")


@pytest.fixture
def pages(admin_client):
    return {path: admin_client.get(path).text for path in PAGES}


@pytest.mark.parametrize("path", PAGES)
def test_page_is_semantic_german_html_without_the_widget(pages, path):
    html = pages[path]
    assert '<html lang="de"' in html
    assert '<a class="skip-link" href="#inhalt">' in html
    assert '<main id="inhalt"' in html
    assert html.count("<h1") == 1
    assert "/static/widget.js" not in html  # no customer chat on staff pages
    assert f'<script src="/static/{PAGES[path]}" defer></script>' in html
    assert 'href="/static/editor.css"' in html
    assert "Angemeldet als <strong>Alex</strong>" in html
    assert 'role="status"' in html and 'role="alert"' in html


@pytest.mark.parametrize("path", PAGES)
def test_every_element_the_script_uses_is_in_the_page(pages, path):
    html = pages[path]
    ids = set(re.findall(r'\bid="([^"{}]+)"', html))
    used = set(re.findall(r"\$\('([\w-]+)'\)", source(PAGES[path])))
    assert used, "no $('id') calls found"
    assert used <= ids, sorted(used - ids)


@pytest.mark.parametrize("path", PAGES)
def test_every_control_has_a_label(pages, path):
    html = pages[path]
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    # Controls wrapped in their label ("<label><input …> Text</label>") are labelled too.
    wrapped = set(re.findall(r"<label>\s*<input[^>]*\bid=\"([^\"]+)\"", html))
    for control in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        attrs = control.group(2)
        if 'type="hidden"' in attrs:
            continue
        match = re.search(r'\bid="([^"]+)"', attrs)
        assert match, control.group(0)
        assert match.group(1) in labelled | wrapped, control.group(0)
    for target in labelled:
        assert f'id="{target}"' in html, target


def test_editor_page_has_the_hooks_of_the_browser_test(pages):
    html = pages["/editor/"]
    for hook in (
        'id="topic-search"',
        'id="topic-list"',
        'id="field-answer"',
        'data-testid="preview"',
        'id="btn-publish"',
        'id="btn-save-draft"',
        'id="editor-status"',
        'id="nav-inbox"',
        'id="variant-dialog"',
        'id="variant-topic"',
        'id="variant-text"',
        'id="variant-confirm"',
        'id="nav-training"',
        'id="training-body"',
        'id="history-body"',
        'class="swc-root preview-frame"',  # the widget's own bubble styles
    ):
        assert hook in html, hook
    assert 'href="/static/widget.css"' in html


def test_scripts_write_no_html_of_their_own():
    for name in ("admin.js", "admin_privacy.js", "staff.js"):
        assert "innerHTML" not in source(name)
        assert "eval(" not in source(name) and "new Function" not in source(name)
    # editor.js writes HTML only in setServerHtml (tests/web/test_static.py).
    # Every staff script calls its API through staff.js, which sends cookie and CSRF token.
    staff = source("staff.js")
    assert "credentials: 'same-origin'" in staff and "'X-CSRF-Token': csrf" in staff
    for name in ("editor.js", "admin.js", "admin_privacy.js"):
        text = source(name)
        assert "window.StaffPage" in text and "fetch(" not in text, name


def test_staff_pages_load_the_shared_script_before_their_own(ctx, login_as):
    admin = login_as("ada", "admin")
    for path, own in (("/editor/", "editor.js"), ("/admin/", "admin.js"),
                      ("/admin/datenschutz", "admin_privacy.js")):
        html = admin.get(path).text
        assert html.index("/static/staff.js") < html.index(f"/static/{own}"), path


def test_editor_links_and_names_are_escaped(ctx, login_as):
    client = login_as("mallory", "editor", "<img src=x onerror=alert(1)>")
    html = client.get("/editor/").text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="/admin/"' not in html  # editors see no link to the admin area


def test_wrong_role_gets_a_german_403_page(agent_client):
    for path in PAGES:
        response = agent_client.get(path)
        assert response.status_code == 403
        assert "Keine Berechtigung" in response.text
        assert "<script" not in response.text.split("</main>")[0].split("<main")[1]
