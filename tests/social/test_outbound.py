import pytest

from bot.social.events import Channel
from bot.social.outbound import (
    Button,
    messenger_text,
    reply_messages,
    shorten,
    split_text,
    whatsapp_choices,
    whatsapp_template,
    whatsapp_text,
)

WA = "4915112345678"
PSID = "6543210987654321"
SITE = "https://www.stadtwerke-musterstadt.example"


def buttons(n, title="Thema {}"):
    return [Button(title.format(i), f"/payload_{i}") for i in range(1, n + 1)]


def test_whatsapp_text_payload_follows_the_contract():
    out = whatsapp_text(WA, "Hallo")
    assert out.channel is Channel.WHATSAPP and out.contact_id == WA
    assert out.payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA,
        "type": "text",
        "text": {"body": "Hallo", "preview_url": False},
    }


def test_up_to_three_choices_are_reply_buttons():
    out = whatsapp_choices(WA, "Worum geht es?", buttons(3))
    interactive = out.payload["interactive"]
    assert out.payload["type"] == "interactive" and interactive["type"] == "button"
    assert interactive["body"] == {"text": "Worum geht es?"}
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": "/payload_1", "title": "Thema 1"},
        {"id": "/payload_2", "title": "Thema 2"},
        {"id": "/payload_3", "title": "Thema 3"},
    ]
    assert all(b["type"] == "reply" for b in interactive["action"]["buttons"])


def test_long_button_titles_are_cut_to_twenty_characters_and_kept_unique():
    out = whatsapp_choices(
        WA,
        "?",
        [
            Button("Wie funktionierte die Strompreisbremse?", "/a"),
            Button("Wie funktionierte die Gaspreisbremse?", "/b"),
        ],
    )
    titles = [b["reply"]["title"] for b in out.payload["interactive"]["action"]["buttons"]]
    assert all(len(t) <= 20 for t in titles)
    assert titles[0] == "Wie funktionierte…"
    assert len(set(titles)) == 2 and titles[1].endswith("(2)")


def test_four_to_ten_choices_become_a_list_and_more_are_left_out():
    out = whatsapp_choices(WA, "Bitte wählen", buttons(12, "Eine recht lange Frage Nummer {}"))
    interactive = out.payload["interactive"]
    assert interactive["type"] == "list"
    assert len(interactive["action"]["button"]) <= 20
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert all(len(r["title"]) <= 24 for r in rows)
    # The whole title stays readable in the description (at most 72 characters).
    assert rows[0]["description"] == "Eine recht lange Frage Nummer 1"
    assert rows[9]["id"] == "/payload_10"


def test_short_list_rows_have_no_description():
    out = whatsapp_choices(WA, "?", buttons(4))
    rows = out.payload["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": "/payload_1", "title": "Thema 1"}


def test_whatsapp_template():
    out = whatsapp_template(WA, "rueckmeldung_kundenservice", parameters=["Anna"])
    assert out.payload["type"] == "template"
    assert out.payload["template"] == {
        "name": "rueckmeldung_kundenservice",
        "language": {"code": "de"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Anna"}]}],
    }


def test_messenger_text_within_the_window_is_a_response():
    out = messenger_text(PSID, "Hallo")
    assert out.payload == {
        "recipient": {"id": PSID},
        "message": {"text": "Hallo"},
        "messaging_type": "RESPONSE",
    }


def test_messenger_human_agent_tag_and_persona():
    out = messenger_text(PSID, "Hier ist Anna", human_agent=True, persona_id="2223334445")
    assert out.payload["messaging_type"] == "MESSAGE_TAG"
    assert out.payload["tag"] == "HUMAN_AGENT"
    assert out.payload["persona_id"] == "2223334445"


def test_messenger_quick_replies_at_most_thirteen_titles_twenty():
    out = messenger_text(PSID, "Wählen Sie", buttons=buttons(15, "Ein sehr langer Titel {}"))
    replies = out.payload["message"]["quick_replies"]
    assert len(replies) == 13
    assert all(r["content_type"] == "text" and len(r["title"]) <= 20 for r in replies)
    assert replies[0]["payload"] == "/payload_1"
    assert len({r["title"] for r in replies}) == 13


def test_shorten_and_split():
    assert shorten("kurz", 20) == "kurz"
    assert shorten("Wie funktionierte die Gaspreisbremse", 20) == "Wie funktionierte…"
    assert len(shorten("x" * 50, 20)) == 20
    text = "Satz eins. " * 500
    parts = split_text(text, 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert " ".join(parts).split() == text.split()
    assert split_text("a" * 2500, 1000) == ["a" * 1000, "a" * 1000, "a" * 500]


def test_reply_whatsapp_answer_with_two_buttons_is_one_interactive_message():
    out = reply_messages(
        Channel.WHATSAPP, WA, "Mehr im [Kundenportal](/kundenportal).", buttons(2), site_url=SITE
    )
    assert len(out) == 1
    body = out[0].payload["interactive"]["body"]["text"]
    assert body == f"Mehr im Kundenportal ({SITE}/kundenportal)."


def test_reply_whatsapp_long_answer_goes_first_as_text():
    long = "\n\n".join(["Ein **langer** Absatz über die Preisbremse." * 10] * 5)
    out = reply_messages(Channel.WHATSAPP, WA, long, buttons(5))
    assert [o.payload["type"] for o in out][-1] == "interactive"
    assert out[-1].payload["interactive"]["type"] == "list"
    assert all(len(o.payload.get("text", {}).get("body", "")) <= 4096 for o in out)
    assert "*langer*" in out[0].payload["text"]["body"]


def test_reply_messenger_plain_text_with_quick_replies_on_the_last_part():
    out = reply_messages(
        Channel.MESSENGER, PSID, "**A** " + "b " * 1500, buttons(2), human_agent=True
    )
    assert len(out) == 2
    assert "quick_replies" not in out[0].payload["message"]
    assert out[1].payload["message"]["quick_replies"][1]["payload"] == "/payload_2"
    assert out[0].payload["message"]["text"].startswith("A b")
    assert all(o.payload["tag"] == "HUMAN_AGENT" for o in out)


def test_reply_buttons_without_text_get_a_prompt():
    out = reply_messages(Channel.MESSENGER, PSID, "", buttons(1))
    assert out[0].payload["message"]["text"] == "Bitte wählen Sie:"


def test_reply_web_is_not_a_meta_channel():
    with pytest.raises(ValueError):
        reply_messages(Channel.WEB, "x", "Hallo")
