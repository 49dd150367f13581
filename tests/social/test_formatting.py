import pytest

from bot.social.formatting import Style, to_channel_text

SITE = "https://www.stadtwerke-musterstadt.example"
WA, PLAIN = Style.WHATSAPP, Style.PLAIN


@pytest.mark.parametrize(
    ("markdown", "whatsapp", "plain"),
    [
        ("**fett** und _kursiv_", "*fett* und _kursiv_", "fett und kursiv"),
        ("**Strom und Gas**", "*Strom und Gas*", "Strom und Gas"),
        ("** fett **", "** fett **", "** fett **"),  # not emphasis in Markdown: left as typed
        ("Zeile eins\nZeile zwei", "Zeile eins\nZeile zwei", "Zeile eins\nZeile zwei"),
        ("Absatz eins\n\nAbsatz zwei", "Absatz eins\n\nAbsatz zwei", "Absatz eins\n\nAbsatz zwei"),
        ("- eins\n- zwei", "• eins\n• zwei", "• eins\n• zwei"),
        ("1. eins\n2. zwei", "1. eins\n2. zwei", "1. eins\n2. zwei"),
        (
            "Text\n\n- eins\n  - tiefer\n\nEnde",
            "Text\n\n• eins\n  • tiefer\n\nEnde",
            "Text\n\n• eins\n  • tiefer\n\nEnde",
        ),
        ("# Titel", "*Titel*", "Titel"),
        ("<b>nicht HTML</b>", "<b>nicht HTML</b>", "<b>nicht HTML</b>"),
        ("`Code`", "Code", "Code"),
    ],
)
def test_markup(markdown, whatsapp, plain):
    assert to_channel_text(markdown, WA, site_url=SITE) == whatsapp
    assert to_channel_text(markdown, PLAIN, site_url=SITE) == plain


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("im [Kundenportal](/kundenportal).", f"im Kundenportal ({SITE}/kundenportal)."),
        ("[Quelle](https://example.org/a?b=1)", "Quelle (https://example.org/a?b=1)"),
        ("[https://example.org](https://example.org)", "https://example.org"),
        ("[example.org](https://example.org/)", "https://example.org/"),
        (
            "[Mail](mailto:kundenservice@stadtwerke.example)",
            "Mail (kundenservice@stadtwerke.example)",
        ),
        ("[0800 1234567](tel:08001234567)", "0800 1234567"),
        ("[Hotline](tel:08001234567)", "Hotline (08001234567)"),
        ("[klick](javascript:alert(1))", "klick"),
        ("[klick](data:text/html;base64,PHNjcmlwdD4=)", "klick"),
        ("[klick](//evil.example/x)", "klick"),
        # markdown-it percent-encodes the backslash: a path on our own site, not another host
        ("[klick](/\\evil.example)", f"klick ({SITE}/%5Cevil.example)"),
        ("[**fett**](https://example.org)", "*fett* (https://example.org)"),
    ],
)
def test_links(markdown, expected):
    assert to_channel_text(markdown, WA, site_url=SITE) == expected


def test_site_links_without_a_site_keep_their_words():
    assert to_channel_text("im [Kundenportal](/kundenportal)", WA) == "im Kundenportal"


def test_a_real_answer(kb):
    from bot.knowledge.render import render  # the assistant's own placeholder rendering

    markdown = render(kb.topics["abschlag_aendern"].answer, kb.facts, kb.utility)
    text = to_channel_text(markdown, WA, site_url=kb.utility["website_url"])
    assert f"Kundenportal ({kb.utility['website_url']}/kundenportal)" in text
    assert "](" not in text and "{{" not in text


def test_hostile_input_does_not_raise():
    for markdown in ("[" * 10_000, "*" * 10_000 + "x", "\ud800 **a\x00b**", "> " * 500 + "x", ""):
        assert isinstance(to_channel_text(markdown, WA, site_url=SITE), str)
