"""Conversations of issue 16 through the real web app, Rasa server and action server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.evaluation import dialogues
from tests.e2e.conftest import RASA_TOKEN
from tests.e2e.test_web import say, start

pytestmark = pytest.mark.slow

# The smoke set is small and fixed; below this share of strict turns something broke.
SMOKE_FLOOR = 0.9


def test_smoke_conversations_reach_the_floor(rasa_url, repo_root):
    conversations = dialogues.load(repo_root / "tests" / "dialogues" / "smoke.yml")
    results = dialogues.run(conversations, dialogues.RasaClient(rasa_url, RASA_TOKEN))
    report = dialogues.summary(results, len(conversations))
    misses = [dialogues.describe(r) for r in results if not r.strict]
    assert report["strict"] >= SMOKE_FLOOR, "\n".join(misses)


def test_follow_ups_lean_on_the_last_answer_also_inside_the_form(rasa_url):
    # "die"/"den" as pronouns point back like "das" does; a tenant's question in the middle of
    # the calculation is read against what the form is about (the brakes and the instalment).
    turn = dialogues.Turn
    conversations = [
        dialogues.Conversation(
            "pronoun",
            (
                turn("Wer hat die Dezember-Soforthilfe bekommen?", "soforthilfe_ueberblick"),
                turn("und wie wurde die bei Fernwärme berechnet?", "soforthilfe_berechnung"),
            ),
        ),
        dialogues.Conversation(
            # A topic without siblings keeps a follow-up on an aspect it speaks of (the model
            # learnt which), though the classifier reads the brakes' "nothing to apply for".
            "standalone",
            (
                turn("Gibt es einen Heizkostenzuschuss bei Wohngeld?", "heizkostenzuschuss"),
                turn("und muss ich den irgendwo beantragen?", "heizkostenzuschuss"),
            ),
        ),
        dialogues.Conversation(
            "form",
            (
                turn("Rechnen Sie mir bitte meinen Gas-Abschlag aus", "form:consumption_kwh"),
                turn("ich wohne zur Miete, gilt das für mich?", "preisbremse_mieter"),
                turn("9000 kWh", "form:working_price_ct"),
            ),
        ),
    ]
    results = dialogues.run(conversations, dialogues.RasaClient(rasa_url, RASA_TOKEN))
    misses = [dialogues.describe(r) for r in results if not r.strict]
    assert not misses, "\n".join(misses)


def test_an_off_topic_noun_falls_back_and_a_foreign_question_is_answered(rasa_url):
    # Through the real servers: the mark of a noun known only from out-of-scope examples
    # travels in the parse data to the action server's decision (the energy words around the
    # balcony solar plant made applying for the brakes look likely); an English question is
    # answered by the dense side's sharpened reading instead of asked back about.
    turn = dialogues.Turn
    conversations = [
        dialogues.Conversation(
            "off_topic_noun",
            (turn("Lohnt sich ein Balkonkraftwerk und muss ich das irgendwo anmelden?",
                  "out_of_scope"),),
        ),
        dialogues.Conversation(
            "english",
            (turn("I rent my flat, does the heat price brake reach me through my landlord?",
                  "preisbremse_mieter"),),
        ),
    ]  # fmt: skip
    results = dialogues.run(conversations, dialogues.RasaClient(rasa_url, RASA_TOKEN))
    misses = [dialogues.describe(r) for r in results if not r.strict]
    assert not misses, "\n".join(misses)


# Vague questions on the electricity brake; which of them the model asks back about ("Meinten
# Sie …?" with the brake first) moves with training data, so the first that it does is used.
VAGUE_ABOUT_THE_ELECTRICITY_BRAKE = (
    "Strombremse Menge?",
    "Hallo, ich hab ne Frage zur Strompreisbremse. Für welche Menge gilt die 40 Cent Grenze "
    "eigentlich?",
    "strompreisbremse menge",
    "Strom 40 Cent Grenze?",
)


def test_elliptic_follow_ups_keep_what_the_last_answer_was_about(rasa_url):
    # Another measure keeps the audience; an energy outside the measure gets the measure's own
    # answer (it says what the measure covered); a topic about one audience covers every
    # ordinary energy; a question about a thing the current topic never names is no follow-up.
    turn = dialogues.Turn
    conversations = [
        dialogues.Conversation(
            "measure",
            (
                turn("Ich wohne zur Miete, wie kommt die Gaspreisbremse bei mir an?",
                     "preisbremse_mieter"),  # fmt: skip
                turn("und die Dezemberhilfe?", "soforthilfe_mieter"),
            ),
        ),
        dialogues.Conversation(
            "energy",
            (
                turn("Was war die Mehrwertsteuersenkung auf Gas?", "mwst_senkung"),
                turn("und bei Strom?", "mwst_senkung"),
            ),
        ),
        dialogues.Conversation(
            "audience",
            (
                turn("Welche Preisbremse galt für Großkunden?", "preisbremse_gewerbe"),
                turn("und beim Gas, wir haben rund 2 GWh?", "preisbremse_gewerbe"),
            ),
        ),
        dialogues.Conversation(
            "elsewhere",
            (
                turn("Wer bekommt den Heizkostenzuschuss?", "heizkostenzuschuss"),
                turn("und wie beantrage ich Bürgergeld?", "out_of_scope"),
            ),
        ),
        dialogues.Conversation(
            # A longer question opening with "und" goes on from the last answer (read as out
            # of scope, 0.99, on its own); a request for information is no complaint.
            "continues",
            (
                turn("Was ist eigentlich die Gaspreisbremse?", "gaspreisbremse"),
                turn("Und wenn man zur Miete wohnt und die Heizung im Keller fürs ganze Haus "
                     "läuft?", "preisbremse_mieter"),  # fmt: skip
                turn("Erzähl mir mehr über die Sache mit der Mehrwertsteuer.", "mwst_senkung"),
                turn("Bis wann galt der ermäßigte Satz?", "mwst_ende"),
            ),
        ),
        dialogues.Conversation(
            # Above the household limit the large customers' rules applied, whatever brake the
            # question names (bot/dialogue/consumption.py).
            "large",
            (
                turn("Wir sind eine kleine Bäckerei mit ca. 60.000 kWh Strom im Jahr. Wie greift "
                     "die Strompreisbremse bei uns?", "preisbremse_gewerbe"),  # fmt: skip
            ),
        ),
        dialogues.Conversation(
            # The levy's cost in ct/kWh, not the customer's instalment.
            "levy",
            (
                turn("Was ist die Gasspeicherumlage?", "gasspeicherumlage"),
                turn("wie viel Cent pro kWh macht die denn aus?", "gasspeicherumlage"),
            ),
        ),
        dialogues.Conversation(
            # The meter reading at the VAT's switch back, which that answer dwells on, not
            # meter readings in general (read at 1.0 by the classifier).
            "dwells_on",
            (
                turn("Wann endete die ermäßigte Mehrwertsteuer auf Gas?", "mwst_ende"),
                turn("muss ich da den Zählerstand melden?", "mwst_ende"),
            ),
        ),
    ]
    results = dialogues.run(conversations, dialogues.RasaClient(rasa_url, RASA_TOKEN))
    misses = [dialogues.describe(r) for r in results if not r.strict]
    assert not misses, "\n".join(misses)


def test_a_typed_follow_up_to_a_question_back_leans_on_the_first_topic_offered(rasa_url):
    # The first message gets "Meinten Sie …?" with the electricity brake first; the customer
    # types instead of clicking.
    turn = dialogues.Turn
    client = dialogues.RasaClient(rasa_url, RASA_TOKEN)
    for vague in VAGUE_ABOUT_THE_ELECTRICITY_BRAKE:
        conversation = dialogues.Conversation(
            "asked back",
            (turn(vague, "strompreisbremse"), turn("und für Firmen?", "preisbremse_gewerbe")),
        )
        first, second = dialogues.run([conversation], client)
        if not first.seen.answered and first.seen.offered[:1] == ["strompreisbremse"]:
            break
    else:
        pytest.fail("none of the vague questions was asked back about")
    assert second.strict, dialogues.describe(second)


def test_eval_dialogues_cli_prints_the_summary_as_last_line(rasa_url, repo_root, tmp_path):
    conversation = tmp_path / "one.yml"
    conversation.write_text(
        "conversations:\n"
        "  - id: x\n"
        "    turns:\n"
        "      - user: Wie hat die Gaspreisbremse funktioniert?\n"
        "        expect: gaspreisbremse\n"
        "      - user: und für Fernwärme?\n"
        "        expect: waermepreisbremse\n"
        "      - user: Wer gewinnt die Bundesliga?\n"
        "        expect: waermepreisbremse\n",  # wrong on purpose: a miss must count
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "eval-dialogues",
            str(conversation),
            "--rasa-url",
            rasa_url,
            "--token",
            RASA_TOKEN,
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["turns"] == 3 and summary["conversations"] == 1
    assert summary["strict"] == pytest.approx(2 / 3, abs=0.001)
    assert "Bundesliga" in result.stdout  # the miss is listed


def test_web_conversation_with_follow_ups_and_two_questions(web_url):
    cid = start(web_url)
    first = say(web_url, cid, "Wie hat die Gaspreisbremse funktioniert?")
    assert first["messages"][0]["faq_id"] == "gaspreisbremse"
    # Follow-ups that name only what changes.
    energy = say(web_url, cid, "und für Fernwärme?")
    assert energy["messages"][0]["faq_id"] == "waermepreisbremse"
    audience = say(web_url, cid, "und was ist mit Mietern?")
    assert audience["messages"][0]["faq_id"] == "preisbremse_mieter"
    # Two questions in one short message: both answered in the order asked, each with its
    # own id and version.
    both = say(
        web_url,
        cid,
        "Wie lange galten die Preisbremsen? Und muss man die Dezember-Soforthilfe versteuern?",
    )
    answers = [m for m in both["messages"] if m.get("faq_id")]
    assert [m["faq_id"] for m in answers] == ["preisbremse_zeitraum", "soforthilfe_steuer"]
    assert all(m["content_version"] >= 1 for m in answers)
    assert "Und zu Ihrer zweiten Frage:" in [m["text"] for m in both["messages"]]


def test_an_announced_topic_is_answered_and_the_next_question_leans_on_it(web_url):
    """"Hallo, ich hab mal ne Frage zur Gaspreisbremse" reads as a greeting (0.77); it gets the
    topic's answer, and an elliptic follow-up then has a topic to lean on."""
    cid = start(web_url)
    first = say(web_url, cid, "Hallo, ich hab mal ne Frage zur Gaspreisbremse")
    assert first["messages"][0]["faq_id"] == "gaspreisbremse", first["messages"]
    follow_up = say(web_url, cid, "und für Fernwärme?")
    assert follow_up["messages"][0]["faq_id"] == "waermepreisbremse"


def test_the_calculation_leans_on_the_conversation_and_reads_named_figures(web_url):
    """The form calculates for the energy just talked about and says so; a list of figures
    fills every amount it names ("Abschlag bisher 100" without a euro sign)."""
    cid = start(web_url)
    say(web_url, cid, "Wie hat die Gaspreisbremse funktioniert?")
    start_form = say(web_url, cid, "Was heißt das konkret für meinen Abschlag? Rechnen Sie mal.")
    texts = [m["text"] for m in start_form["messages"]]
    assert texts[0].startswith("Ich rechne für Gas"), texts
    assert "Jahresverbrauch" in texts[-1]
    say(web_url, cid, "15000 kWh und 22 ct")
    result = say(web_url, cid, "Grundpreis 120 Euro im Jahr, Abschlag bisher 100")
    text = "\n".join(m["text"] for m in result["messages"])
    assert "Rechenweg" in text and "100 €" in text, text


def test_a_second_question_leaning_on_the_first_is_answered_too(web_url):
    cid = start(web_url)
    body = say(web_url, cid, "Muss ich die Gaspreisbremse beantragen und bis wann galt sie?")
    answers = [m["faq_id"] for m in body["messages"] if m.get("faq_id")]
    assert answers == ["preisbremse_antrag", "preisbremse_zeitraum"], body


def test_in_a_long_story_the_first_question_is_answered_and_the_second_offered(web_url):
    cid = start(web_url)
    story = (
        "Wir heizen seit Jahren mit Gas in einem alten Einfamilienhaus am Stadtrand, zu viert, "
        "und der Verbrauch liegt so bei 20.000 kWh im Jahr, die Kinder duschen lange und die "
        "Fenster sind alt. Muss ich die Gaspreisbremse beantragen? Und bis wann galt sie "
        "eigentlich?"
    )
    body = say(web_url, cid, story)
    answers = [m["faq_id"] for m in body["messages"] if m.get("faq_id")]
    offered = [b["payload"] for m in body["messages"] for b in m.get("buttons") or []]
    assert answers == ["preisbremse_antrag"], body
    assert "/faq_preisbremse_zeitraum" in offered, body


def test_a_question_in_english_gets_a_german_answer_with_a_line_in_english(web_url):
    """Issue 16, item 5: the multilingual dense side reads it, the answer says it is German."""
    cid = start(web_url)
    body = say(web_url, cid, "Do I have to pay income tax on the December emergency aid?")
    texts = [m["text"] for m in body["messages"]]
    assert texts[0] == "Please note: I can only reply in German.", texts
    answer = body["messages"][1]
    # The topic, or a "Meinten Sie …?" offering it: the answer itself stays German.
    offered = [b["payload"] for b in answer["buttons"]]
    assert answer["faq_id"] == "soforthilfe_steuer" or "/faq_soforthilfe_steuer" in offered, body


def test_an_angry_question_gets_the_substance_and_a_person_offered(web_url):
    """Issue 16, item 3: one short acknowledgement, then the answer, and a person on offer."""
    cid = start(web_url)
    body = say(
        web_url,
        cid,
        "Seit Wochen warte ich auf Antwort, unverschämt! "
        "Wie hat die Wärmepreisbremse funktioniert?",
    )
    messages = body["messages"]
    answers = [i for i, m in enumerate(messages) if m.get("faq_id")]
    assert answers and messages[answers[0]]["faq_id"] == "waermepreisbremse", messages
    # The acknowledgement comes first and is not the whole reply.
    assert answers[0] >= 1 and not messages[0].get("faq_id")
    offered = [b["payload"] for m in messages[answers[0] + 1 :] for b in m.get("buttons") or []]
    assert "/human_handoff" in offered, messages


def test_an_answer_not_understood_gets_other_ways_and_the_topic_stays(web_url):
    """"versteh ich nicht" after an answer: not "Das kann ich leider nicht beantworten", not the
    same text again, but its calculation and a person; the next follow-up still leans on it."""
    cid = start(web_url)
    first = say(web_url, cid, "Wie hat die Gaspreisbremse funktioniert?")
    assert first["messages"][0]["faq_id"] == "gaspreisbremse"
    unclear = say(web_url, cid, "Das verstehe ich nicht.")
    (reply,) = unclear["messages"]
    assert not reply.get("faq_id") and reply["text"].startswith("Das tut mir leid")
    assert [b["payload"] for b in reply["buttons"]] == ["/instalment_calculation", "/human_handoff"]
    follow_up = say(web_url, cid, "und für Fernwärme?")
    assert follow_up["messages"][0]["faq_id"] == "waermepreisbremse"


def test_a_typed_yes_takes_the_offer_just_made(web_url):
    """ "ja" instead of the button: a person after the offer of one, the calculation after an
    answer that asks about it (not "Gern. Was möchten Sie wissen?")."""
    cid = start(web_url)
    angry = say(web_url, cid, "Ihr seid doch alle Abzocker, unverschämt ist das!")
    offered = [b["payload"] for b in angry["messages"][-1].get("buttons") or []]
    assert offered == ["/human_handoff"], angry
    body = say(web_url, cid, "ja bitte")
    assert body["state"] == "queued", body

    cid = start(web_url)
    answer = say(web_url, cid, "Wie kann ich meinen Abschlag ändern?")
    assert answer["messages"][-1]["faq_id"] == "abschlag_aendern"  # "Wenn Sie möchten, rechne …"
    body = say(web_url, cid, "ja gerne")
    assert "Um welche Energie geht es?" in body["messages"][0]["text"], body

    # Beside an answer that does not ask, "ja" is more likely "ok": the offer is asked about.
    cid = start(web_url)
    say(web_url, cid, "Wie hat die Gaspreisbremse funktioniert?")
    body = say(web_url, cid, "ja")
    (reply,) = body["messages"]
    assert [b["payload"] for b in reply["buttons"]] == ["/instalment_calculation"], body


def test_a_gas_smell_gets_the_safety_steps_and_the_fault_number_even_in_the_form(web_url, kb):
    cid = start(web_url)
    body = say(web_url, cid, "Hilfe, bei uns im Keller riecht es total nach Gas!!")
    [answer] = [m for m in body["messages"] if m.get("faq_id")]
    assert answer["faq_id"] == "stoerung_notfall"
    # The 24-hour number stays readable (public contact data is never masked).
    assert kb.utility["emergency_phone"] in answer["text"]
    assert "Verlassen Sie bitte sofort das Haus" in answer["text"]
    # In the middle of the calculation, where a figure is expected, it is the same.
    say(web_url, cid, "Ich möchte meinen Gasabschlag berechnen")
    during = say(web_url, cid, "moment, es riecht hier nach gas")
    assert [m["faq_id"] for m in during["messages"] if m.get("faq_id")] == ["stoerung_notfall"]
