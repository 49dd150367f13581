"""A typed "ja" takes the offer of the assistant's last message (bot.dialogue.affirm)."""

from __future__ import annotations

from bot.dialogue.affirm import Agreement, last_offer

PERSON = {"title": "Mit einer Person sprechen", "payload": "/human_handoff"}
CALCULATION = {"title": "Meinen Abschlag berechnen", "payload": "/instalment_calculation"}


def user(text):
    return {"event": "user", "text": text}


def bot(text, *buttons):
    return {"event": "bot", "text": text, "data": {"buttons": list(buttons)}}


def test_the_one_offer_of_the_last_message_is_taken():
    events = [user("Abzocke!"), bot("Ich verstehe, dass Sie das belastet …", PERSON), user("ja")]
    assert last_offer(events) == Agreement("take", payload="/human_handoff")


def test_the_last_message_of_the_turn_counts():
    events = [
        user("Wie lange galt die Gaspreisbremse? Ich will jemanden sprechen."),
        bot("Die Preisbremsen galten …", CALCULATION),
        bot("Wenn Sie das lieber mit einem Menschen klären möchten …", PERSON),
        user("ja bitte"),
    ]
    assert last_offer(events).payload == "/human_handoff"


def test_several_offers_are_to_choose_from_without_none_of_these():
    none = {"title": "Nichts davon", "payload": "/out_of_scope"}
    topic = {"title": "Mehrwertsteuer", "payload": "/faq_mwst_senkung"}
    events = [user("mwst?"), bot("Meinten Sie …", topic, CALCULATION, none), user("ja")]
    assert last_offer(events) == Agreement("choose", buttons=(topic, CALCULATION))


def test_nothing_offered_or_an_older_offer_is_nothing_to_agree_to():
    assert last_offer([user("ja")]) == Agreement("nothing")
    assert last_offer([]) == Agreement("nothing")
    older = [bot("…", PERSON), user("hallo"), bot("Hallo!"), user("ja")]
    assert last_offer(older) == Agreement("nothing")
    links = [user("x"), bot("…", {"title": "Portal", "payload": "https://example.org"}), user("ja")]
    assert last_offer(links) == Agreement("nothing")


def test_a_button_beside_an_answer_is_taken_only_when_the_answer_asks_about_it():
    def answer(text):
        return {**bot(text, CALCULATION), "metadata": {"faq_id": "t"}}

    plain = [user("Gaspreisbremse?"), answer("Die Gaspreisbremse galt …"), user("ja")]
    assert last_offer(plain) == Agreement("choose", buttons=(CALCULATION,))
    asking = answer("… Wenn Sie möchten, rechne ich Ihnen hier gleich einen Richtwert aus.")
    assert last_offer([user("Abschlag ändern?"), asking, user("ja")]).kind == "take"
