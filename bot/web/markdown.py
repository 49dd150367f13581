r"""The widget's safe Markdown in Python, for pages rendered on the server (FAQ page, editor UI).

``render_markdown`` produces exactly the HTML of ``renderMarkdown`` in ``static/widget.js`` for the
same text (tests/web/test_markdown_js.py runs both over the same cases), so an answer looks the
same in the chat and on the website. It escapes everything first and then applies a small subset:
paragraphs, line breaks, "- " lists, ``**bold**``, ``_italic_`` and links to http(s) or to this
site; a ``javascript:``, ``data:`` or ``//host`` link keeps its words and loses the link.

The regular expressions are the JavaScript ones translated literally. Where the two engines
differ, the JavaScript meaning is spelled out: ``\s`` is JavaScript's whitespace set, ``.`` stops
at every JavaScript line terminator, ``$`` is the end of the text, and the ``i`` flag is written
as explicit classes (Python's ``re.IGNORECASE`` would let "ſ" match "s").

``markdown_problems`` tells editors, in German, what in an answer source would not show as meant:
raw HTML and link targets other than http(s), mailto, tel or a path on this site.
"""

from __future__ import annotations

import re

# JavaScript's WhiteSpace and LineTerminator characters: what \s matches and trim() removes.
_JS_SPACE_CHARS = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_S = f"[{_JS_SPACE_CHARS}]"
_NOT_S = f"[^{_JS_SPACE_CHARS}]"
_DOT = "[^\n\r\u2028\u2029]"  # JavaScript's "." without the s flag

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_UNESCAPES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'"}
_ESCAPED = re.compile(r"[&<>\"']")
_ENTITY = re.compile(r"&(amp|lt|gt|quot|#39);")

_UNSAFE_URL_CHAR = re.compile(f"[\\\\{_JS_SPACE_CHARS}\x00-\x1f]")
_EXTERNAL = re.compile(r"[hH][tT][tT][pP][sS]?://[^/]")
_RELATIVE = re.compile(r"/(?!/)|#|\.\.?/")

_STRONG = re.compile(f"\\*\\*(?={_NOT_S})({_DOT}+?)\\*\\*")
# [^\p{L}\p{N}_] of the JavaScript is \W in Python (str.isalnum() is letters and numbers).
_EM = re.compile(f"(^|\\W)_(?={_NOT_S})([^_\n]+?)_(?!\\w)")
_LINK = re.compile(f"\\[([^\\]\n]+)\\]\\(([^(){_JS_SPACE_CHARS}]+)\\)")
_LINK_SLOT = re.compile("\x00([0-9]+)\x00")
_BLOCK_SPLIT = re.compile("\n[ \t]*\n+")
_ITEM = re.compile(f"{_S}*[-•]{_S}+({_DOT}*)\\Z")
_NEWLINES = re.compile("\r\n?")

NEW_WINDOW = '<span class="sr-only"> (öffnet in neuem Fenster)</span>'


def escape_html(text: str) -> str:
    """Escape every character that means something in HTML (``escapeHtml``)."""
    return _ESCAPED.sub(lambda m: _ESCAPES[m.group(0)], text)


def _unescape_html(text: str) -> str:
    return _ENTITY.sub(lambda m: _UNESCAPES[m.group(1)], text)


def link_kind(url: str) -> str | None:
    r"""``external`` for http(s), ``relative`` for /x, #x, ./x, ../x; ``None`` for anything else.

    ``None`` covers ``javascript:``, ``data:``, ``//host`` and URLs with backslashes, spaces or
    control characters (browsers read "/\evil.example" as "//evil.example").
    """
    if _UNSAFE_URL_CHAR.search(url):
        return None
    if _EXTERNAL.match(url):
        return "external"
    if _RELATIVE.match(url):
        return "relative"
    return None


def _emphasis(html: str) -> str:
    html = _STRONG.sub(r"<strong>\1</strong>", html)
    return _EM.sub(r"\1<em>\2</em>", html)


def _inline(html: str) -> str:
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        label, href = match.group(1), match.group(2)
        kind = link_kind(_unescape_html(href))
        if kind is None:
            return label  # unsafe target: keep the words, drop the link
        external = kind == "external"
        attrs = ' target="_blank" rel="noopener noreferrer"' if external else ""
        links.append(
            f'<a href="{href}"{attrs}>{_emphasis(label)}{NEW_WINDOW if external else ""}</a>'
        )
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(link, html)
    return _LINK_SLOT.sub(lambda m: links[int(m.group(1))], _emphasis(text))


def render_markdown(text: str) -> str:
    """Escaped HTML for a message: paragraphs, line breaks, "- " lists, bold, italic, links."""
    src = escape_html(_NEWLINES.sub("\n", text).replace("\x00", ""))
    html_blocks: list[str] = []
    for block in _BLOCK_SPLIT.split(src):
        html = ""
        para: list[str] = []
        items: list[str] = []
        for line in block.split("\n"):
            item = _ITEM.match(line)
            if para if item else items:  # a list ends a paragraph and vice versa
                html += _flush(para, items)
                para, items = [], []
            if item:
                items.append(item.group(1))
            elif line.strip(_JS_SPACE_CHARS):
                para.append(line)
        html_blocks.append(html + _flush(para, items))
    return "".join(html_blocks)


def _flush(para: list[str], items: list[str]) -> str:
    html = ""
    if para:
        html += "<p>" + "<br>".join(_inline(line) for line in para) + "</p>"
    if items:
        html += "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>"
    return html


# ---- problems in an editor's answer source ------------------------------------------------------

# A tag with attributes ("<img src=x>"), or a bare one with an HTML element's name: "<Zähler>"
# or "<Kundennummer>" in a sentence are words in angle brackets, not HTML.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*=[^<>]*>|\s*/?>)|<!--")
_HTML_ELEMENTS = frozenset(
    "a abbr address article aside audio b base blockquote body br button canvas center code "
    "details div em embed font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr html i "
    "iframe img input label li link main marquee math meta nav noscript object ol option p "
    "picture pre s script section select small source span strong style sub summary sup svg "
    "table tbody td template textarea th title tr u ul video".split()
)
# Link targets the way an editor wrote them, up to the first ")" or blank: also those the
# renderer does not take as a link, so "[x](javascript:alert(1))" is reported too.
_LINK_TARGET = re.compile(r"\]\(\s*([^\s()]*(?:\([^\s()]*\)[^\s()]*)*)")
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_NUMERIC_ENTITY = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);?")
_DANGEROUS_SCHEMES = ("javascript", "data", "vbscript")
_ALLOWED_SCHEMES = ("http", "https", "mailto", "tel")


def _browser_view(url: str) -> str:
    """The target as a browser would judge it: entities decoded, blanks and controls dropped."""

    def decode(match: re.Match[str]) -> str:
        code = match.group(1)
        try:
            return chr(int(code[1:], 16) if code[0] in "xX" else int(code))
        except (ValueError, OverflowError):
            return ""

    url = _NUMERIC_ENTITY.sub(decode, _unescape_html(url))
    return "".join(c for c in url if c not in _JS_SPACE_CHARS and ord(c) >= 0x20)


def _target_problem(target: str) -> str | None:
    shown = target or "(leer)"
    if not target:
        return "Ein Link hat kein Ziel: Bitte zwischen die runden Klammern eine Adresse setzen."
    if _PLACEHOLDER.match(target):
        return None  # {{utility.contact_url}}: checked after rendering (python -m bot check)
    view = _browser_view(target)
    scheme_match = _SCHEME.match(view)
    scheme = scheme_match.group(1).lower() if scheme_match else None
    if scheme in _DANGEROUS_SCHEMES:
        return (
            f"Das Linkziel „{shown}“ ist nicht erlaubt: {scheme}:-Links können Schadcode "
            "ausführen. Bitte eine Adresse mit https:// oder einen Pfad wie /kontakt verwenden."
        )
    if scheme in ("http", "https"):
        if link_kind(target) != "external":
            return (
                f"Das Linkziel „{shown}“ ist keine gültige Webadresse "
                "(erwartet: https://server/pfad, ohne Leerzeichen)."
            )
        return None
    if scheme in _ALLOWED_SCHEMES:
        return None
    if scheme is not None:
        return (
            f"Das Linkziel „{shown}“ verwendet „{scheme}:“. Erlaubt sind nur https://, http://, "
            "mailto:, tel: und Pfade auf unserer Website wie /kontakt."
        )
    if target.startswith("/") and not target.startswith("//") and link_kind(target):
        return None
    if target.startswith("#") and link_kind(target):
        return None
    return (
        f"Das Linkziel „{shown}“ ist kein Pfad auf unserer Website: Bitte mit „/“ beginnen "
        "(z. B. /kontakt) oder eine vollständige Adresse mit https:// angeben."
    )


def markdown_problems(text: str) -> list[str]:
    """What in an answer source would not show as the editor meant, in German (empty: fine).

    Reports raw HTML (``<script>``, ``<img …>``, ``<a href=…>``: shown as text, never run) and
    link targets other than http(s), mailto, tel or a path on this site (``javascript:``,
    ``data:``, ``vbscript:`` and other schemes, ``//host``, relative paths). Each problem once.
    """
    problems: list[str] = []

    def add(problem: str) -> None:
        if problem not in problems:
            problems.append(problem)

    for match in _TAG.finditer(text):
        tag = match.group(0)
        if tag == "<!--":
            add("HTML-Kommentare („<!-- … -->“) werden nicht versteckt, sondern als Text gezeigt.")
            continue
        name = match.group(2).lower()
        if "=" not in match.group(3) and name not in _HTML_ELEMENTS:
            continue
        add(  # "<b>" and "</b>" give the same problem, reported once
            f"HTML wird nicht ausgeführt, sondern als Text angezeigt: „<{name}>“. "
            "Bitte Markdown verwenden: **fett**, _kursiv_, [Linktext](/seite), Listen mit „- “."
        )
    # "{{ utility.contact_url }}" may contain blanks: one token, so the target is not cut there.
    for match in _LINK_TARGET.finditer(_PLACEHOLDER.sub("{{placeholder}}", text)):
        problem = _target_problem(match.group(1))
        if problem:
            add(problem)
    return problems
