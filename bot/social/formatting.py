"""The answers' Markdown as WhatsApp and Messenger text.

Answers are written in the small Markdown of the chat widget (``knowledge/README.md``):
paragraphs, line breaks, ``- `` lists, ``**bold**``, ``_italic_`` and links. The web app
renders it as HTML; the social channels show text:

* **WhatsApp** has its own markers: ``*bold*``, ``_italic_``; a link becomes its words with
  the full URL behind them in brackets (WhatsApp makes URLs clickable itself); a link to a page
  of our website (``/kundenportal``) gets the site's address in front.
* **Messenger** shows plain text: markers are dropped, links as for WhatsApp.

Parsing is markdown-it-py's (CommonMark), the parser the web app renders with (issue 17),
with single line breaks kept as breaks as in the widget. Its token stream is walked here;
raw HTML is not interpreted. A link to anything but http(s), a page of the site, ``mailto:``
or ``tel:`` keeps its words and loses its target (``javascript:``, ``data:``, ``//host``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

_BLANK_LINES = re.compile(r"\n{3,}")
_SPACE_BEFORE_NEWLINE = re.compile(r"[ \t]+\n")


class Style(str, Enum):
    """The text style of a channel."""

    WHATSAPP = "whatsapp"
    PLAIN = "plain"  # Messenger, SMS, e-mail text


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"breaks": True, "html": False})
    # Keep every link as a link token; _target() decides what to show (markdown-it's own
    # check would leave an unsafe link as raw "[words](javascript:...)" text).
    parser.validateLink = lambda url: True  # type: ignore[method-assign]
    return parser


def _target(href: str, site_url: str | None) -> str | None:
    """What a customer can open: an absolute URL, an e-mail address or a phone number."""
    lowered = href.lower()
    if lowered.startswith(("https://", "http://")) and len(href) > len("https://"):
        return href
    if lowered.startswith("mailto:"):
        return href[len("mailto:") :] or None
    if lowered.startswith("tel:"):
        return href[len("tel:") :] or None
    if href.startswith("/") and not href.startswith("//") and "\\" not in href and site_url:
        return site_url.rstrip("/") + href
    return None


@dataclass
class _Span:
    """Inline text being collected: the whole line, or the inside of a marker or link."""

    kind: str  # "root", "strong", "em", "link"
    href: str = ""
    parts: list[str] = field(default_factory=list)


class _Renderer:
    def __init__(self, style: Style, site_url: str | None) -> None:
        self.style = style
        self.site_url = site_url

    def _wrap(self, content: str, marker: str) -> str:
        # WhatsApp shows *x* as bold only when the markers touch the words: move spaces out.
        core = content.strip()
        if not core or not marker:
            return content
        start = content.index(core[0])
        end = start + len(core)
        return f"{content[:start]}{marker}{core}{marker}{content[end:]}"

    def _link(self, words: str, href: str) -> str:
        target = _target(href, self.site_url)
        if target is None:
            return words
        plain = words.strip().strip("*_")
        bare = target.split("://", 1)[-1].rstrip("/")
        if not plain or plain in (target, bare, target.rstrip("/")):
            return target
        digits = [c for c in plain if c.isdigit()]
        if href.lower().startswith("tel:") and digits == [c for c in target if c.isdigit()]:
            return words  # "0800 1234567" linked to tel:08001234567: the number once
        return f"{words} ({target})"

    def inline(self, children: Sequence[Token]) -> str:
        stack = [_Span("root")]
        markers = {"strong": "*", "em": "_"} if self.style is Style.WHATSAPP else {}
        for child in children:
            kind = child.type
            if kind == "text" or kind == "code_inline":
                stack[-1].parts.append(child.content)
            elif kind in ("softbreak", "hardbreak"):
                stack[-1].parts.append("\n")
            elif kind in ("strong_open", "em_open"):
                stack.append(_Span(kind[:-5]))
            elif kind == "link_open":
                stack.append(_Span("link", href=str(child.attrGet("href") or "")))
            elif kind in ("strong_close", "em_close", "link_close") and len(stack) > 1:
                span = stack.pop()
                content = "".join(span.parts)
                if span.kind == "link":
                    stack[-1].parts.append(self._link(content, span.href))
                else:
                    stack[-1].parts.append(self._wrap(content, markers.get(span.kind, "")))
            elif kind == "image":
                alt = child.content or "Bild"
                stack[-1].parts.append(self._link(alt, str(child.attrGet("src") or "")))
        while len(stack) > 1:  # unbalanced (cannot happen with markdown-it): keep the words
            span = stack.pop()
            stack[-1].parts.append("".join(span.parts))
        return "".join(stack[0].parts)

    def render(self, tokens: Sequence[Token]) -> str:
        blocks: list[str] = []
        lists: list[int | None] = []  # per open list: None (bullets) or the next number
        lines: list[str] = []  # the lines of the outermost open list
        prefix = ""
        heading = False
        for token in tokens:
            kind = token.type
            if kind == "bullet_list_open":
                lists.append(None)
            elif kind == "ordered_list_open":
                start = token.attrGet("start")
                lists.append(
                    int(start) if isinstance(start, (int, str)) and str(start).isdigit() else 1
                )
            elif kind in ("bullet_list_close", "ordered_list_close"):
                lists.pop()
                if not lists:
                    blocks.append("\n".join(lines))
                    lines = []
            elif kind == "list_item_open" and lists:
                number = lists[-1]
                if number is None:
                    marker = "•"
                else:
                    marker = f"{number}."
                    lists[-1] = number + 1
                prefix = "  " * (len(lists) - 1) + marker + " "
            elif kind == "heading_open":
                heading = True
            elif kind == "heading_close":
                heading = False
            elif kind == "inline":
                text = self.inline(token.children or [])
                if heading and self.style is Style.WHATSAPP:
                    text = self._wrap(text, "*")
                if lists:
                    indent = "  " * len(lists)
                    text = text.replace("\n", "\n" + indent)
                    lines.append((prefix or indent) + text)
                    prefix = ""
                else:
                    blocks.append(text)
            elif kind in ("fence", "code_block"):
                code = token.content.rstrip("\n")
                (lines if lists else blocks).append(code)
        text = "\n\n".join(block for block in blocks if block.strip())
        text = _SPACE_BEFORE_NEWLINE.sub("\n", text)
        return _BLANK_LINES.sub("\n\n", text).strip()


def to_channel_text(markdown: str, style: Style, *, site_url: str | None = None) -> str:
    """Convert an answer's Markdown to the text a channel shows.

    Args:
        markdown: the answer as the assistant or an agent wrote it.
        style: WHATSAPP (``*bold*``, ``_italic_``) or PLAIN (Messenger).
        site_url: the utility's website (``website_url`` of ``knowledge/utility.yml``); links
            to its pages (``/kundenportal``) become absolute. None: such links keep only
            their words.

    Returns:
        The text, paragraphs separated by a blank line, list items as ``• item``/``1. item``.
    """
    return _Renderer(style, site_url).render(_parser().parse(markdown))
