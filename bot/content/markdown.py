"""The answers' Markdown as safe HTML: the one renderer of the web app, widget and consoles.

Answers, agent messages and the editor's preview are written in a small Markdown
(``knowledge/README.md``): paragraphs, single line breaks, ``- `` lists, ``**bold**``,
``_italic_`` and links. They are rendered here, once, on the server; the chat API, the agent API,
the live events and the editor's preview send the result as ``html`` and the browser code
inserts it as it is (issue 17: before, four hand-written copies of a renderer had to agree).

Two maintained libraries do the work:

* **markdown-it-py** parses (CommonMark, the parser the social channels use too,
  ``bot.social.formatting``) with only the rules of that small Markdown enabled, so an indented
  line does not become a code block and ``# x`` stays text; raw HTML is never interpreted
  (``html: False``: ``<script>`` shows as text). A link whose target is not http(s), mailto, tel
  or a path on this site keeps its words and loses the link (``javascript:``, ``data:``,
  ``//host``). External links open in a new window, with a note for screen readers.
* **nh3** (ammonia) then sanitises the HTML against an allow-list of tags, attributes, classes
  and URL schemes, and puts ``rel="noopener noreferrer"`` on every link: whatever the parser
  might let through, only these elements reach a browser.

``markdown_problems`` tells editors, in German, what in an answer source would not show as they
meant: raw HTML and link targets other than http(s), mailto, tel or a path on this site.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

NEW_WINDOW: Final = '<span class="sr-only"> (öffnet in neuem Fenster)</span>'

# What the sanitiser lets through: exactly what the renderer produces.
_TAGS: Final = {"p", "br", "ul", "ol", "li", "strong", "em", "a", "span"}
_ATTRIBUTES: Final = {"a": {"href", "target"}, "ol": {"start"}}
_CLASSES: Final = {"span": {"sr-only"}}
_SCHEMES: Final = {"http", "https", "mailto", "tel"}
# Blanks, controls and backslashes in a target: browsers read "/\evil.example" as
# "//evil.example", and "java\tscript:" as "javascript:".
_UNSAFE_URL_CHAR: Final = re.compile(r"[\\\s\x00-\x1f\x7f]")
_EXTERNAL: Final = re.compile(r"https?://[^/]", re.IGNORECASE)
_RELATIVE: Final = re.compile(r"/(?!/)|#|\.\.?/")
_CONTACT: Final = re.compile(r"(mailto|tel):[^/]", re.IGNORECASE)


def link_kind(url: str) -> str | None:
    """``external`` for http(s), ``contact`` for mailto/tel, ``relative`` for /x, #x, ./x, ../x.

    ``None`` for anything else: ``javascript:``, ``data:``, ``//host`` and targets with
    backslashes, blanks or control characters.
    """
    if _UNSAFE_URL_CHAR.search(url):
        return None
    if _EXTERNAL.match(url):
        return "external"
    if _CONTACT.match(url):
        return "contact"
    if _RELATIVE.match(url):
        return "relative"
    return None


def _links(state: StateCore) -> None:
    """Unsafe links lose their target (the words stay); external ones open in a new window."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        dropped: list[bool] = []  # per open link: was it dropped?
        for token in block.children:
            if token.type == "link_open":
                kind = link_kind(str(token.attrGet("href") or ""))
                dropped.append(kind is None)
                if kind is None:
                    continue
                if kind == "external":
                    token.attrSet("target", "_blank")
                    token.meta["external"] = True
                children.append(token)
            elif token.type == "link_close":
                if dropped and dropped.pop():
                    continue
                opener = next((t for t in reversed(children) if t.type == "link_open"), None)
                if opener is not None and opener.meta.get("external"):
                    note = Token("html_inline", "", 0)
                    note.content = NEW_WINDOW
                    children.append(note)
                children.append(token)
            else:
                children.append(token)
        block.children = children


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "zero" has no rules; enable only those of the answers' Markdown (knowledge/README.md).
    parser = MarkdownIt("zero", {"breaks": True, "html": False})
    parser.enable(["list", "emphasis", "link", "newline", "escape", "entity"])
    # Keep every link as a link token: _links() decides (markdown-it's own check would leave an
    # unsafe link as the raw "[words](javascript:...)" text).
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    parser.core.ruler.push("stadtwerk_links", _links)
    return parser


def render_markdown(text: str) -> str:
    """Sanitised HTML for a message or an answer (empty text: empty string)."""
    # Lone surrogates (possible in JSON) cannot go to nh3 (UTF-8): each becomes U+FFFD.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    html = _parser().render(text.replace("\x00", ""))
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        allowed_classes=_CLASSES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


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
_NAMED_ENTITY = re.compile(r"&(amp|lt|gt|quot|#39);")
_UNESCAPES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'"}
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

    url = _NAMED_ENTITY.sub(lambda m: _UNESCAPES[m.group(1)], url)
    url = _NUMERIC_ENTITY.sub(decode, url)
    return "".join(c for c in url if not c.isspace() and ord(c) >= 0x20)


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
