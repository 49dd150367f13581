"""The widget's safe-Markdown function, run in node: everything is escaped, only a few tags appear.

The function is cut out of widget.js between its markers (agent.js holds the same copy, see
test_static.py) and run once per test over all cases, so this costs one node start per test.
bot/web/markdown.py must give exactly the same HTML for the same text (the FAQ page renders
answers on the server): ``test_python_renders_exactly_like_the_widget``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.web.markdown import render_markdown

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


# Inputs where a literal translation of the JavaScript could go wrong: Unicode whitespace and
# line terminators (JS \s, ".", trim()), case folding ("ſ" is not "s" for the JS i flag),
# letters and digits around "_", astral characters, entities, CRLF, nested brackets.
TRICKY = [
    "Grüße aus Köln: **Größe** und _Maß_ – Straße",
    "ä_b_c und _ä_ und x_y_ und _1_ und __doppelt__",
    "**a**b** c **d** **\n**",
    "**[x](/a)** und _[y](/b)_ und [_z_](/c) und [**w** _v_](https://example.org/w_v)",
    "[a [b](/c)](/d) [](/leer) [x]() [x](/a b) [x](/a(b))",
    "[x](httpſ://evil.example) [x](HTTPS://EXAMPLE.ORG/A) [x](http://) [x](https://ſ.example)",
    "[x](/a\u2028b) [x](/a\u00a0b) [x](/a\ufeffb) [x](/a\u001cb) [x](/a\u007fb)",
    "[x](&quot;/a) [x](/a&quot;b) [x](/&#39;x) [x](&#106;avascript:alert(1))",
    "Text &amp; mehr &lt;b&gt;kein Tag&lt;/b&gt; &#x3C;script&#x3E;",
    "Zeile\r\nZeile\rZeile\n\r\n\nAbsatz",
    "\u00a0- eins\n\u3000• zwei\n-drei\n- \n-  vier",
    "\u001c- kein Punkt (\\x1c ist für Python Leerraum, für JS nicht)\n\u000b- Punkt",
    "\u2028- Trenner\nText\u2029mehr\n\ufeff\n\u001c\nEnde",
    "Absatz\n \t \nzwei\n\n\n\n- Liste\n\nText\n- direkt\nwieder Text",
    "Emoji 😀 **😀** _😀_ [😀](/😀) 𝔘𝔫𝔦𝔠𝔬𝔡𝔢_𝔵_",
    "_kursiv\nüber Zeilen_ und **fett\nüber Zeilen**",
    '<a href="javascript:alert(1)">x</a> <svg/onload=alert(1)> <iframe src=//evil>',
    '[<img src=x onerror=alert(1)>](/a) [x](/a"><script>alert(1)</script>)',
    "\u0000**\u0000**[x](/y)\u00000\u0000",
    "Mail: [Schreiben Sie uns](mailto:service@example.org) [Tel](tel:08001234567)",
    "_Stand: 21.11.2026 · Diese Regelung ist am 31.12.2023 ausgelaufen._",
]


def test_python_renders_exactly_like_the_widget(tmp_path):
    rng = random.Random(20261122)
    alphabet = [
        *"<>\"'&[]()*_-/\\:=#.\n\r\t ab1äß",
        "javascript:",
        "https://",
        "**",
        "- ",
        "• ",
        "](",
        "\u0000",
        "\u00a0",
        "\u2028",
        "\ufeff",
        "\u001c",
        "ſ",
        "😀",
        "&amp;",
        "&#39;",
    ]
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80))) for _ in range(800)]
    cases = [*CASES, *UNSAFE_LINKS, *TRICKY, *randoms]
    for text, js in zip(cases, render_all(cases, tmp_path), strict=True):
        assert render_markdown(text) == js, text
