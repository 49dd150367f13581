"""The public pages of the demo website: one place for the routes and the content checks.

``SITE_PAGES`` maps a path to its template and page name (the widget's ``data-page``, which
chooses the chat's start topics); ``pages.py`` serves them. The FAQ page has its own router
(``faq_page.py``). ``site_paths()`` is what ``python -m bot check`` accepts as a link target on
this site, so a link in an answer to a page that does not exist fails the content check.
"""

from __future__ import annotations

SITE_PAGES = {
    "/": ("index.html", "start"),
    "/preisbremsen": ("preisbremsen.html", "preisbremsen"),
    "/kontakt": ("kontakt.html", "kontakt"),
    "/datenschutz": ("datenschutz.html", "datenschutz"),
    "/kundenportal": ("kundenportal.html", "kundenportal"),
    "/preise": ("preise.html", "preise"),
    "/zaehlerstand": ("zaehlerstand.html", "zaehlerstand"),
}
FAQ_PATH = "/faq"


def site_paths() -> frozenset[str]:
    """Every public path of the demo website (pages and the FAQ page)."""
    return frozenset([*SITE_PAGES, FAQ_PATH])
