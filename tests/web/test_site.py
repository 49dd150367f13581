"""Every path of the demo website answers with a German page (the content check relies on it)."""

from __future__ import annotations

import pytest

from bot.web.site import FAQ_PATH, SITE_PAGES, site_paths


def test_site_paths_are_the_pages_and_the_faq():
    assert site_paths() == {*SITE_PAGES, FAQ_PATH}


@pytest.mark.parametrize("path", sorted(site_paths()))
def test_every_site_path_is_a_page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="de"' in response.text
    assert response.text.count("<h1") == 1
    assert 'src="/static/widget.js"' in response.text
