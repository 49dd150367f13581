"""The widget's safe-Markdown function, run in node: everything is escaped, only a few tags appear.

The function is cut out of widget.js between its markers (agent.js holds the same copy, see
test_static.py) and run once over all cases, so this costs one node start.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

WIDGET = Path(__file__).resolve().parents[2] / "bot" / "web" / "static" / "widget.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

RUNNER = """
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map((c) => renderMarkdown(c))));
"""

# What renderMarkdown may emit besides escaped text.
ALLOWED_TAG = re.compile(
    r'<(?:/?(?:p|br|ul|li|strong|em)|/a|/span|span class="sr-only"'
    r'|a href="[^"<>]*"(?: target="_blank" rel="noopener noreferrer")?)>'
)


def render_all(cases: list[str], tmp_path: Path) -> list[str]:
    source = WIDGET.read_text(encoding="utf-8")
    block = re.search(r"// --- safe-markdown:start.*?// --- safe-markdown:end ---", source, re.S)
    assert block, "markers missing in widget.js"
    script = tmp_path / "markdown.js"
    script.write_text(block.group(0) + RUNNER, encoding="utf-8")
    done = subprocess.run(
        [NODE, str(script)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


CASES = {
    "<img src=x onerror=alert(1)>": "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
    "<script>alert('x')</script>": "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>",
    "**fett** und _kursiv_": "<p><strong>fett</strong> und <em>kursiv</em></p>",
    "**<b>x</b>**": "<p><strong>&lt;b&gt;x&lt;/b&gt;</strong></p>",
    "faq_id und preis_bremse_neu": "<p>faq_id und preis_bremse_neu</p>",
    "Zeile eins\nZeile zwei": "<p>Zeile eins<br>Zeile zwei</p>",
    "Absatz eins\n\nAbsatz zwei": "<p>Absatz eins</p><p>Absatz zwei</p>",
    "Punkte:\n- eins\n- **zwei**\n\nEnde": (
        "<p>Punkte:</p><ul><li>eins</li><li><strong>zwei</strong></li></ul><p>Ende</p>"
    ),
    "[Kontakt](/kontakt)": '<p><a href="/kontakt">Kontakt</a></p>',
    "[oben](#start) [weiter](./x) [zurück](../y)": (
        '<p><a href="#start">oben</a> <a href="./x">weiter</a> <a href="../y">zurück</a></p>'
    ),
    "[**Preisbremsen**](/preisbremsen)": (
        '<p><a href="/preisbremsen"><strong>Preisbremsen</strong></a></p>'
    ),
    "[BMWK](https://example.org/a_b_c?x=1&y=2)": (
        '<p><a href="https://example.org/a_b_c?x=1&amp;y=2" target="_blank" '
        'rel="noopener noreferrer">BMWK<span class="sr-only"> (öffnet in neuem Fenster)</span>'
        "</a></p>"
    ),
    "a\u00000\u0000b": "<p>a0b</p>",  # placeholders for links cannot be forged
    "": "",
}

UNSAFE_LINKS = [
    "[x](javascript:alert`1`)",
    "[x](JaVaScRiPt:alert`1`)",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox)",
    "[x](//evil.example/)",
    "[x](/\\evil.example/)",
    "[x](jav&#x61;script:alert`1`)",
    "[x](https:/evil.example)",
    "[x](mailto:someone@example.org)",
]


def test_rendering_of_known_cases(tmp_path):
    results = render_all(list(CASES), tmp_path)
    for (text, expected), got in zip(CASES.items(), results, strict=True):
        assert got == expected, text


def test_unsafe_link_targets_stay_text(tmp_path):
    for text, got in zip(UNSAFE_LINKS, render_all(UNSAFE_LINKS, tmp_path), strict=True):
        assert "<a" not in got, (text, got)
        assert got == "<p>x</p>", (text, got)


def test_attribute_breakout_is_escaped(tmp_path):
    cases = ['[x](/a"onmouseover="alert`1`)', "[x](/a'onmouseover='alert)", '[x" onclick="y](/k)']
    for got in render_all(cases, tmp_path):
        assert 'onmouseover="' not in got and "onmouseover='" not in got, got
        assert 'onclick="' not in got, got
        assert not re.search(r'<a href="[^"]*"[^>]*\son\w+=', got), got


def test_random_text_only_yields_allowed_tags(tmp_path):
    rng = random.Random(20261121)
    alphabet = [*"<>\"'&[]()*_-/\\:=\n ab1", "javascript:", "https://", "**", "- ", "](", "\u0000"]
    cases = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(600)]
    for text, got in zip(cases, render_all(cases, tmp_path), strict=True):
        rest = ALLOWED_TAG.sub("", got)
        assert "<" not in rest and ">" not in rest, (text, got)
        for href in re.findall(r'<a href="([^"]*)"', got):
            assert re.match(r"(https?://[^/]|/(?!/)|#|\.\.?/)", href), (text, href)
