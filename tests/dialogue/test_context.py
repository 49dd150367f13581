"""Follow-ups read against the current topic (bot.dialogue.facets, bot.dialogue.context)."""

from __future__ import annotations

import pytest

from bot.dialogue.context import (
    TopicWords,
    Vocabulary,
    announced_topic,
    covered_aspects,
    foreign_words,
    interpret,
    known_words,
    named_topic,
    resolve,
    says_unclear,
    siblings,
)
from bot.dialogue.facets import fold, read
from bot.knowledge.loader import facet_clashes


@pytest.fixture(scope="module")
def table(kb):
    return {
        t.id: {"measure": (t.measure,), **dict(t.facets)} for t in kb.topics.values() if t.facets
    }


@pytest.fixture(scope="module")
def topics(kb):
    return frozenset(kb.topics)


def test_fold_spells_umlauts_one_way():
    assert fold("FERNWÄRME  für Mieter, Größe") == "fernwaerme fuer mieter, groesse"


@pytest.mark.parametrize(
    ("text", "facet", "value"),
    [
        ("und für Fernwärme?", "energy", "waerme"),
        ("und bei fernwaerme", "energy", "waerme"),
        ("und bei Fernwärem?", "energy", "waerme"),  # one typo in a short message
        ("was ist mit Mietern?", "audience", "mieter"),
        ("und für Firmen?", "audience", "gewerbe"),
        ("wie lange galt das?", "aspect", "zeitraum"),
        ("muss ich das beantragen?", "aspect", "antrag"),
        ("wie wurde das berechnet?", "aspect", "berechnung"),
        ("und in der Jahresabrechnung?", "aspect", "jahresabrechnung"),
        ("und die Soforthilfe?", "measure", "soforthilfe"),
        ("und die 7 % auch nicht?", "measure", "mwst"),
        ("gibt es das heute noch?", "aspect", "zeitraum"),
        ("Wärmepumpe?", "energy", "heizstrom"),
        ("und lohnt sich Stromsparen dann noch?", "aspect", "sparen"),  # in a compound
        ("wie wurde das genau ausgerechnet?", "aspect", "berechnung"),
        ("wie kommt das zustande?", "aspect", "berechnung"),
        ("und wie wurde die Höhe der Hilfe festgelegt?", "aspect", "berechnung"),
        # Which consumption the relief was computed on (the grid operator's forecast).
        ("welcher Verbrauch wurde da zugrunde gelegt?", "aspect", "berechnung"),
        ("und nehmen die beim Gas auch die Prognose?", "aspect", "berechnung"),
    ],
)
def test_read_finds_the_named_facet(text, facet, value):
    mentions = read(text)
    assert mentions.facets.get(facet) == frozenset({value})
    assert mentions.follow_up_shaped


def test_a_compound_of_electricity_is_electricity():
    assert read("und für meinen normalen Haushaltsstrom?").facets == {"energy": {"strom"}}


def test_heat_pump_is_not_also_electricity_and_vat_is_not_income_tax():
    assert read("und mit Wärmepumpe?").facets["energy"] == frozenset({"heizstrom"})
    assert "aspect" not in read("und die Mehrwertsteuer?").facets


@pytest.mark.parametrize(
    ("text", "figure"),
    [("15.000 kWh", True), ("mein Abschlag ist 95 €", True), ("und für Mieter?", False)],
)
def test_read_marks_a_figure(text, figure):
    # One place decides "this message holds a figure" for the form and the context.
    assert read(text).figure is figure


@pytest.mark.parametrize(
    ("text", "points_back"),
    [
        ("wie wurde die bei Fernwärme berechnet?", True),
        ("kann ich den dann selber anpassen", True),
        ("und beim Strom gabs die nicht?", True),
        ("wie hoch ist die pro kWh", True),
        ("muss ich die beantragen?", True),
        # the article before a noun points nowhere
        ("wurde der Abschlag automatisch gesenkt?", False),
        ("Wer hat die Dezember-Soforthilfe bekommen?", False),
    ],
)
def test_der_die_den_as_a_pronoun_point_back(text, points_back):
    assert read(text).anaphor is points_back


def test_long_messages_are_not_follow_up_shaped():
    text = (
        "Ich habe gestern meine Jahresabrechnung bekommen und verstehe nicht, warum die "
        "Entlastung so niedrig ist, obwohl ich doch sparsam war und alles pünktlich bezahlt habe"
    )
    assert not read(text).follow_up_shaped


def test_a_longer_message_that_opens_with_und_goes_on_from_the_last_answer():
    text = "Und wenn man zur Miete wohnt und die Heizung im Keller fürs ganze Haus läuft?"
    assert read(text).follow_up_shaped
    assert not read(text.removeprefix("Und ")).follow_up_shaped  # no "und"
    assert not read("und " + " ".join(["Heizung"] * 20) + "?").follow_up_shaped  # too long


@pytest.mark.parametrize(
    ("current", "text", "expected"),
    [
        ("gaspreisbremse", "und für Fernwärme?", "waermepreisbremse"),
        ("gaspreisbremse", "und beim Strom?", "strompreisbremse"),
        ("gaspreisbremse", "und was ist mit Mietern?", "preisbremse_mieter"),
        ("gaspreisbremse", "und für Firmen?", "preisbremse_gewerbe"),
        ("gaspreisbremse", "wie lange galt das?", "preisbremse_zeitraum"),
        ("gaspreisbremse", "muss ich das beantragen?", "preisbremse_antrag"),
        ("gaspreisbremse", "was heißt das für meinen Abschlag?", "preisbremse_abschlag"),
        ("strompreisbremse", "und in der Jahresabrechnung?", "preisbremse_jahresabrechnung"),
        ("soforthilfe_ueberblick", "und für Mieter?", "soforthilfe_mieter"),
        ("soforthilfe_ueberblick", "wie wurde das berechnet?", "soforthilfe_berechnung"),
        ("soforthilfe_ueberblick", "und bei Strom?", "soforthilfe_strom"),
        ("preisbremse_mieter", "und bei der Soforthilfe?", "soforthilfe_mieter"),
        ("mwst_senkung", "und in der Jahresabrechnung?", "mwst_abrechnung"),
        ("mwst_senkung", "bis wann galt das?", "mwst_ende"),
        ("soforthilfe_dezemberabschlag", "und wo sehe ich das in der Abrechnung?",
         "soforthilfe_dezemberabschlag"),
        ("preisbremse_heizstrom", "ab wann?", "preisbremse_heizstrom"),
        ("gaspreisbremse", "ab wann?", "preisbremse_zeitraum"),
        ("waermepreisbremse", "welcher Verbrauch wurde da zugrunde gelegt?",
         "entlastungskontingent"),
        ("strompreisbremse", "welchen Verbrauch habt ihr da herangezogen?",
         "entlastungskontingent"),
        # A topic about one audience covers every ordinary energy for it, not heat pumps.
        ("preisbremse_gewerbe", "und beim Gas, wir haben rund 2 GWh?", "preisbremse_gewerbe"),
        ("preisbremse_gewerbe", "und für meine Wärmepumpe zuhause?", "preisbremse_heizstrom"),
        ("soforthilfe_dezemberabschlag", "und wie wurde die Höhe der Hilfe festgelegt?",
         "soforthilfe_berechnung"),
        ("gaspreisbremse",
         "Und wenn man zur Miete wohnt und die Heizung im Keller fürs ganze Haus läuft?",
         "preisbremse_mieter"),
    ],
)
def test_follow_up_resolves_to_the_sibling(table, topics, current, text, expected):
    # The classifier's reading is chit-chat, as it was for such turns before issue 16.
    result = interpret(text, [("bot_challenge", 0.6)], current, table, topics=topics)
    assert result is not None
    assert (result.kind, result.topics[0]) == ("followup", expected)


# Against a sure reading of the overview (a measure named) or an unsure one of the electricity
# topics (an energy named).
_SURE_OVERVIEW = [("soforthilfe_ueberblick", 0.97), ("mwst_senkung", 0.02)]
_UNSURE_ELECTRICITY = [("strompreisbremse", 0.4), ("soforthilfe_strom", 0.3)]


@pytest.mark.parametrize(
    ("current", "text", "ranking", "expected"),
    [
        # Another measure keeps the audience or the specific aspect.
        ("preisbremse_mieter", "und die Dezemberhilfe?", _SURE_OVERVIEW, "soforthilfe_mieter"),
        ("preisbremse_zeitraum", "und bei der Mehrwertsteuer?", _SURE_OVERVIEW, "mwst_ende"),
        ("preisbremse_jahresabrechnung", "und bei der Mehrwertsteuer?", _SURE_OVERVIEW,
         "mwst_abrechnung"),
        # No VAT topic is about electricity: the VAT cut's own answer says it was not part of it.
        ("mwst_senkung", "und bei Strom?", _UNSURE_ELECTRICITY, "mwst_senkung"),
        ("mwst_ende", "und beim Strom?", _UNSURE_ELECTRICITY, "mwst_senkung"),
        ("soforthilfe_berechnung", "und bei Heizstrom?", _UNSURE_ELECTRICITY,
         "soforthilfe_ueberblick"),
        # ... but the December aid has a topic of its own for electricity customers.
        ("soforthilfe_ueberblick", "und bei Strom?", _UNSURE_ELECTRICITY, "soforthilfe_strom"),
    ],
)  # fmt: skip
def test_an_elliptic_change_of_measure_or_energy(table, topics, current, text, ranking, expected):
    result = interpret(text, ranking, current, table, topics=topics)
    assert result is not None
    assert (result.kind, result.topics[0]) == ("followup", expected)


def test_an_elliptic_other_measure_after_a_general_topic_is_the_classifiers(table, topics):
    # "und die Dezemberhilfe?" after the gas brake (about how it works, in general): the
    # December aid in general, as read.
    ranking = [("soforthilfe_ueberblick", 0.97)]
    result = interpret("und die Dezemberhilfe?", ranking, "gaspreisbremse", table, topics=topics)
    assert result is None


def test_topic_words_leave_out_what_many_intents_say():
    examples = [
        ("faq_energiepreispauschale", "Wann bekomme ich die Energiepreispauschale als Rentner?"),
        ("faq_energiepreispauschale", "Bekomme ich als Rentner die Pauschale?"),
        ("faq_haertefallhilfen", "Wann bekomme ich Hilfe für Pellets und Heizöl?"),
        ("faq_haertefallhilfen", "Pellets sind so teuer geworden, gibt es Hilfe?"),
        ("faq_heizkostenzuschuss", "Wann bekomme ich den Heizkostenzuschuss mit Bafög?"),
        ("out_of_scope", "Wie wird das Wetter im Winter?"),
        ("out_of_scope", "Kommt ein kalter Winter?"),
        ("greet", "Hallo"),
        ("goodbye", "Tschüss"),
        ("thanks", "Danke schön"),
    ]
    words = TopicWords.learn(examples)  # generic: in 2 of the 7 intents (share 0.2) or more
    assert "bekomme" in words.generic and "pellets" not in words.generic
    assert words.by_topic["haertefallhilfen"] >= {"pellets", "heizoel"}
    # Characteristic: used by two examples of one intent.
    assert {"pellets", "winter", "rentner"} <= words.characteristic
    assert "bafoeg" not in words.characteristic
    text = "Und wie teuer werden Pellets nächsten Winter?"
    assert words.content(text) == ["pellets", "winter"]
    assert words.unrelated(text, "energiepreispauschale")
    assert not words.unrelated("und mit Pellets?", "haertefallhilfen")  # its own thing
    assert not words.unrelated("und wo?", "energiepreispauschale")  # names nothing
    # A thing no intent's examples dwell on is no evidence of another subject.
    assert not words.unrelated("und meine Enkelin mit Bafög?", "energiepreispauschale")


def test_an_out_of_scope_question_about_things_the_topic_never_names_is_not_a_follow_up(
    table, topics
):
    words = TopicWords(
        {"heizkostenzuschuss": {"heizkostenzuschuss", "wohngeld", "bafoeg", "sohn"}},
        {"und"},
        {"buergergeld", "wohngeld"},
    )
    ranking = [("out_of_scope", 0.99), ("preisbremse_antrag", 0.003)]
    kwargs = {"topics": topics, "topic_words": words}
    text = "und wie beantrage ich Bürgergeld?"
    assert interpret(text, ranking, "heizkostenzuschuss", table, **kwargs) is None
    # A thing the topic does speak of: the context places the question.
    result = interpret("und mein Sohn mit Bafög?", ranking, "heizkostenzuschuss", table, **kwargs)
    assert result is not None and result.topics == ("heizkostenzuschuss",)


def test_a_topic_dwells_on_the_words_a_tenth_of_its_examples_use():
    examples = [("faq_mwst_ende", f"Frage {i} zur Umsatzsteuer") for i in range(8)]
    examples += [("faq_mwst_ende", "Muss ich zum 31.3. den Zählerstand melden?")] * 2
    examples += [("faq_zaehlerstand_melden", "Wie melde ich den Zählerstand?")]
    examples += [(f"other{i}", f"wort{i}") for i in range(9)]  # 11 intents: generic from 3 on
    words = TopicWords.learn(examples)
    assert "zaehlerstand" in words.dwelt["mwst_ende"]  # 2 of 10 examples
    assert words.dwells_on("muss ich da den Zählerstand melden?", "mwst_ende")
    assert not words.dwells_on("und die Rechnung?", "mwst_ende")


def test_pointing_back_at_a_thing_the_last_answer_dwells_on_stays_on_it(table, topics):
    own = {"mwst_ende": {"zaehlerstand"}}
    words = TopicWords(own, {"und"}, (), own)
    ranking = [("zaehlerstand_melden", 1.0)]
    kwargs = {"topics": topics, "topic_words": words}
    result = interpret("muss ich da den Zählerstand melden?", ranking, "mwst_ende", table, **kwargs)
    assert result is not None and result.topics == ("mwst_ende",)
    # Without pointing back it is a new question about meter readings.
    text = "Wie melde ich einen Zählerstand?"
    assert interpret(text, ranking, "mwst_ende", table, **kwargs) is None
    # "dann" orders the thought, it does not point at the last answer's subject.
    own = {"preisbremse_missbrauch": {"preise"}}
    kwargs["topic_words"] = TopicWords(own, {"und"}, (), own)
    text = "Warum habt ihr dann eure Preise angehoben?"
    ranking = [("preisanpassung_gruende", 0.9)]
    assert interpret(text, ranking, "preisbremse_missbrauch", table, **kwargs) is None


def test_confident_classifier_on_a_consistent_topic_stands(table, topics):
    ranking = [("mwst_senkung", 0.93), ("mwst_ende", 0.03)]
    text = "und wie war das mit der Mehrwertsteuer?"
    assert interpret(text, ranking, "gaspreisbremse", table, topics=topics) is None


def test_no_context_no_follow_up(table, topics):
    assert interpret("und für Mieter?", [("out_of_scope", 0.7)], None, table, topics=topics) is None


def test_dialogue_intents_are_not_taken_away(table, topics):
    ranking = [("human_handoff", 0.8)]
    assert (
        interpret("und jetzt einen Menschen bitte", ranking, "gaspreisbremse", table, topics=topics)
        is None
    )


def test_thanks_stays_thanks(table, topics):
    assert (
        interpret("danke, das wars", [("thanks", 0.9)], "gaspreisbremse", table, topics=topics)
        is None
    )


def test_a_question_the_classifier_cannot_place_stays_on_the_current_topic(table, topics):
    result = interpret(
        "bis wann muss ich das machen?",
        [("goodbye", 0.5)],
        "zaehlerstand_melden",
        table,
        topics=topics,
    )
    assert result is not None
    assert (result.kind, result.topics) == ("followup", ("zaehlerstand_melden",))


def test_an_unsure_reading_of_the_current_topic_itself_answers_it(table, topics):
    ranking = [("kontakt_oeffnungszeiten", 0.31), ("out_of_scope", 0.2), ("greet", 0.1)]
    result = interpret("und samstags?", ranking, "kontakt_oeffnungszeiten", table, topics=topics)
    assert result is not None
    assert (result.kind, result.topics) == ("followup", ("kontakt_oeffnungszeiten",))
    # Not a statement that happens to read as the topic.
    text = "ok"
    assert interpret(text, ranking, "kontakt_oeffnungszeiten", table, topics=topics) is None


def test_an_out_of_scope_question_with_out_of_scope_words_is_not_a_follow_up(table, topics):
    ranking = [("out_of_scope", 0.95)]
    foreign = frozenset({"wetter"})
    result = interpret(
        "und wie wird das Wetter?", ranking, "gaspreisbremse", table, topics=topics,
        foreign=foreign,
    )  # fmt: skip
    assert result is None


def test_an_out_of_scope_reading_without_such_words_is_read_in_context(table, topics):
    # "wie lange?" after the chat's privacy: out of scope 0.99 by the classifier alone, but
    # nothing in it belongs elsewhere.
    ranking = [("out_of_scope", 0.99), ("deny", 0.005)]
    result = interpret(
        "wie lange?", ranking, "datenschutz_chat", table, topics=topics,
        foreign=frozenset({"wetter"}),
    )  # fmt: skip
    assert result is not None
    assert (result.kind, result.topics) == ("followup", ("datenschutz_chat",))


def test_a_question_starting_with_bis_wann_is_a_question(table, topics):
    ranking = [("goodbye", 0.57), ("out_of_scope", 0.22), ("preisbremse_zeitraum", 0.05)]
    result = interpret("bis wann muss das raus", ranking, "preiserhoehung_kuendigung", table,
                       topics=topics)  # fmt: skip
    assert result is not None
    assert result.topics == ("preiserhoehung_kuendigung",)


def test_the_vocabulary_knows_its_words_and_their_typos():
    examples = [
        ("faq_preisbremse_mieter", "Was gilt für Mieter?"),
        ("faq_heizkostenzuschuss", "Zuschuss mit BAföG"),
        ("out_of_scope", "Wie spielt der FC Bayern?"),
    ]
    vocabulary = Vocabulary(known_words(examples))
    assert vocabulary.knows("mieter") and vocabulary.knows("bafoeg")
    assert all(vocabulary.knows(typo) for typo in ("mietr", "mietern", "meiter"))
    assert not vocabulary.knows("bayern")  # only an out-of-scope example uses it
    assert vocabulary.unknown(["und", "bayern", "2023", "zuschuss"]) == ["bayern"]
    assert not vocabulary.knows("mieter" * 2000)  # a 12,000-letter "word" is simply unknown


@pytest.mark.parametrize(
    ("text", "current"),
    [
        ("hod da FC Bayern gestern gwunna?", "preisbremse_zeitraum"),
        ("und was kostet Benzin gerade?", "gaspreisbremse"),
        ("und wie wird das Laden vom E-Auto abgerechnet?", "preisbremse_heizstrom"),
    ],
)
def test_a_sure_out_of_scope_reading_with_an_unknown_word_stands(table, topics, text, current):
    vocabulary = Vocabulary(["und", "was", "kostet", "gerade", "wie", "wird", "das", "vom",
                             "abgerechnet", "gestern", "da"])  # fmt: skip
    ranking = [("out_of_scope", 0.97), ("deny", 0.01)]
    assert interpret(text, ranking, current, table, topics=topics, vocabulary=vocabulary) is None
    # Unsure, or without the vocabulary, the context still reads it (the rule is this narrow).
    unsure = [("out_of_scope", 0.6), ("deny", 0.01)]
    assert interpret(text, unsure, current, table, topics=topics, vocabulary=vocabulary)
    assert interpret(text, ranking, current, table, topics=topics)


def test_a_follow_up_with_only_known_words_is_still_read_in_context(table, topics):
    vocabulary = Vocabulary(["wie", "lange", "und", "mein", "sohn", "mit", "bafoeg"])
    ranking = [("out_of_scope", 0.97)]
    result = interpret("wie lange?", ranking, "datenschutz_chat", table, topics=topics,
                       vocabulary=vocabulary)  # fmt: skip
    assert result is not None and result.topics == ("datenschutz_chat",)


def test_foreign_words_are_those_only_out_of_scope_examples_use():
    examples = [
        ("out_of_scope", "Wie wird das Wetter heute?"),
        ("out_of_scope", "Rezept für Käsekuchen"),
        ("faq_preisbremse_zeitraum", "Gilt die Bremse heute noch?"),
        ("greet", "hallo"),
    ]
    found = foreign_words(examples)
    assert {"wetter", "rezept", "kaesekuchen"} <= found
    assert "heute" not in found  # a topic uses it too
    assert not {w for w in found if len(w) < 3}


def test_no_stays_no(table, topics):
    ranking = [("deny", 0.6), ("gaspreisbremse", 0.2)]
    assert interpret("nein", ranking, "gaspreisbremse", table, topics=topics) is None


def test_resolve_scores_named_facets_over_kept_ones(table):
    ranked = dict(resolve(table["gaspreisbremse"], {"audience": frozenset({"mieter"})}, table))
    assert ranked["preisbremse_mieter"] > max(
        ranked["soforthilfe_mieter"], ranked["gaspreisbremse"]
    )


def test_a_topic_about_one_aspect_covers_every_energy(table):
    ranked = resolve(table["preisbremse_sparen"], {"energy": frozenset({"gas"})}, table)
    assert ranked[0][0] == "preisbremse_sparen"


def test_siblings_stay_in_the_measure(table):
    found = siblings("soforthilfe_ueberblick", table)
    assert found and all(t.startswith("soforthilfe_") for t in found)


def test_every_faceted_topic_is_reachable_by_a_follow_up(table):
    # The content check refuses identical facets; the shipped content passes it.
    assert facet_clashes({}) == []
    assert len(
        {(f["measure"], tuple(sorted((k, tuple(v)) for k, v in f.items()))) for f in table.values()}
    ) == len(table)


def test_what_it_means_for_my_instalment_is_the_sibling_topic(table, topics):
    # The classifier reads it as the calculation; after an answer it asks for the explanation,
    # whose answer offers the calculation.
    ranking = [("instalment_calculation", 0.87), ("upset", 0.12), ("preisbremse_abschlag", 0.01)]
    result = interpret("und was heißt das für meinen abschlag", ranking, "gaspreisbremse", table,
                       topics=topics)  # fmt: skip
    assert result is not None
    assert result.topics[0] == "preisbremse_abschlag"


def test_asking_to_calculate_stays_the_calculation(table, topics):
    ranking = [("instalment_calculation", 0.9), ("preisbremse_abschlag", 0.05)]
    for text in ("und was heißt das für meinen abschlag, rechne mir das aus",
                 "und der abschlag bei 12000 kwh?"):  # fmt: skip
        assert interpret(text, ranking, "gaspreisbremse", table, topics=topics) is None


def test_asking_for_ones_own_figure_stays_the_calculation_when_fairly_sure(table, topics):
    # 0.76 for the calculation: not sure enough to take a question that names facets away
    # from the context, unless it asks for the customer's own figure.
    ranking = [("instalment_calculation", 0.76), ("abschlag_aendern", 0.19)]
    text = "wie hoch wäre dann mein Abschlag?"
    assert interpret(text, ranking, "waermepreisbremse", table, topics=topics) is None
    result = interpret("und wie hoch war der Abschlag?", ranking, "waermepreisbremse", table,
                       topics=topics)  # fmt: skip
    assert result is not None and "preisbremse_abschlag" in result.topics  # the explanation


def test_a_rate_is_not_found_inside_another_number():
    assert "measure" not in read("ich zahle 17 % mehr als letztes jahr").facets


def test_a_confident_topic_without_facets_is_a_new_question(table, topics):
    assert "abschlag_aendern" in topics and "abschlag_aendern" not in table
    ranking = [("abschlag_aendern", 0.99), ("zaehlerstand_melden", 0.005)]
    text = "und kann ich im portal auch den abschlag anpassen"
    assert interpret(text, ranking, "mwst_abrechnung", table, topics=topics) is None


def test_a_follow_up_to_a_topic_without_siblings_stays_on_it(table, topics):
    # After the heating-cost subsidy, "muss ich den beantragen?" asks about the subsidy; the
    # classifier's reading (the brakes' "nothing to apply for") is another measure's topic.
    covered = {"heizkostenzuschuss": ["antrag"], "zaehlerstand_melden": ["zeitraum"]}
    ranking = [("preisbremse_antrag", 0.96)]
    result = interpret(
        "muss ich den beantragen?",
        ranking,
        "heizkostenzuschuss",
        table,
        topics=topics,
        covered=covered,
    )
    assert result is not None
    assert (result.kind, result.topics) == ("followup", ("heizkostenzuschuss",))
    # The same aspect after a topic that does not speak of it: the classifier's reading stands.
    assert (
        interpret(
            "muss ich das beantragen?",
            ranking,
            "zaehlerstand_melden",
            table,
            topics=topics,
            covered=covered,
        )
        is None
    )
    # A question that names a measure is a new question.
    assert (
        interpret(
            "und muss ich die Preisbremse beantragen?",
            ranking,
            "heizkostenzuschuss",
            table,
            topics=topics,
            covered=covered,
        )
        is None
    )


def test_covered_aspects_are_those_a_share_of_the_examples_name(table):
    examples = [("heizkostenzuschuss", "Muss ich den Zuschuss beantragen?")] + [
        ("heizkostenzuschuss", "Wer bekommt den Heizkostenzuschuss?")
    ] * 9
    examples += [("gaspreisbremse", "Muss ich die Gaspreisbremse beantragen?")]
    covered = covered_aspects(examples, table)
    assert covered["heizkostenzuschuss"] == ["antrag"]
    assert "gaspreisbremse" not in covered  # a topic with facets has its siblings instead


@pytest.mark.parametrize(
    "text",
    [
        "versteh ich nicht",
        "Das verstehe ich nicht.",
        "Hä?",
        "hää",
        "wie bitte?",
        "Können Sie das einfacher erklären?",
        "kannst du das nochmal anders erklären",
        "Das ist mir zu kompliziert",
        "ich versteh nur bahnhof",
        "Was soll das heißen?",
        "nicht verstanden",
        "Ich verstehe das immer noch nicht",  # "immer noch" is no question about a period
        "jetzt bin ich verwirrt",
    ],
)
def test_saying_the_answer_was_not_understood(text):
    assert says_unclear(text)


@pytest.mark.parametrize(
    "text",
    [
        "was heißt das für meinen Abschlag?",  # a question of its own
        "Ich verstehe nicht, warum mein Abschlag so gestiegen ist",
        "das verstehe ich nicht, gilt das auch für Mieter?",
        "ich verstehe die gaspreisbremse nicht",
        "versteh ich nicht, bei 12000 kWh?",  # a figure: the calculation's business
        "wie bitte soll ich 300 Euro mehr im Monat bezahlen, das ist doch Wahnsinn, echt jetzt",
        "Was soll das? Ihr zockt uns ab!",
        "ok danke",
        "und für Fernwärme?",
    ],
)
def test_a_question_or_story_is_not_taken_for_not_understanding(text):
    assert not says_unclear(text)


def test_charging_a_car_is_no_business_but_a_shop_owner_is():
    assert "audience" not in read("was kostet das Laden vom E-Auto?").facets
    assert read("und als Ladenbesitzer?").facets["audience"] == {"gewerbe"}


# What the classifier gives a greeting that announces a topic: the greeting, the topic far
# behind ("Hallo, ich hab mal ne Frage zur Gaspreisbremse": greet 0.77, the topic 0.11).
GREETING_FIRST = [("greet", 0.77), ("gaspreisbremse", 0.11), ("preisbremse_antrag", 0.05)]
# ... and a request for information that the classifier reads as upset ("Erzähl mir mehr über
# die Sache mit der Mehrwertsteuer.": upset 0.96, the VAT topics 0.01-0.02).
ANGRY_FIRST = [("upset", 0.96), ("mwst_senkung", 0.015), ("mwst_ende", 0.013)]


@pytest.mark.parametrize(
    ("text", "ranking", "expected"),
    [
        ("Hallo, ich hab mal ne Frage zur Gaspreisbremse", GREETING_FIRST, "gaspreisbremse"),
        # the classifier's topic disagrees with the named measure: the facets decide
        ("Guten Tag, ich hätte eine kurze Frage zur Wärmepreisbremse.", GREETING_FIRST,
         "waermepreisbremse"),
        ("Frage zur Strompreisbremse für Mieter", GREETING_FIRST, "preisbremse_mieter"),
        ("Hallo! Frage zur Mehrwertsteuer", [("greet", 0.75), ("mwst_senkung", 0.13)],
         "mwst_senkung"),
        # no measure named: only a sure reading
        ("Hallo, ich habe eine Frage zu meiner Gasrechnung", GREETING_FIRST, None),
        ("Ich habe eine Frage zur Energiepreispauschale",
         [("energiepreispauschale", 0.62), ("greet", 0.2)], "energiepreispauschale"),
        # a question of its own, or more than a name: the classifier's business
        ("ich habe eine Frage zur Gaspreisbremse: wie lange galt die?", GREETING_FIRST, None),
        ("ich hab eine frage zu den preisbremsen und zwar wegen meiner Nachzahlung im Januar",
         GREETING_FIRST, None),
        ("Hallo", [("greet", 0.99)], None),
        # a request for information about a subject (read as upset: "mir" and the imperative)
        ("Erzähl mir mehr über die Sache mit der Mehrwertsteuer.", ANGRY_FIRST, "mwst_senkung"),
        ("Sag mir mehr zur Mehrwertsteuer.", ANGRY_FIRST, "mwst_senkung"),
        ("Erklären Sie mir bitte mal die Gaspreisbremse", GREETING_FIRST, "gaspreisbremse"),
        ("Infos zur Wärmepreisbremse", GREETING_FIRST, "waermepreisbremse"),
        ("erzähl mir was Lustiges", [("out_of_scope", 0.9), ("gaspreisbremse", 0.05)], None),
        ("Erzähl mir " + "mehr " * 3000 + "über die Gaspreisbremse", GREETING_FIRST, None),
        # hostile length: no announcement (and no quadratic regex work)
        ("Frage zur Gaspreisbremse" + "." * 5000, GREETING_FIRST, None),
    ],
)  # fmt: skip
def test_an_announced_topic_is_the_topic(table, topics, text, ranking, expected):
    assert announced_topic(text, ranking, table, topics) == expected


@pytest.mark.parametrize(
    ("text", "ranking", "expected"),
    [
        # the VAT's rate, until when: the classifier's unsure reading names another measure
        ("Bis wann galt der ermäßigte Satz?",
         [("preisbremse_zeitraum", 0.34), ("out_of_scope", 0.27)], "mwst_ende"),
        # the classifier is sure, or agrees with what the question names: its reading stands
        ("Bis wann galt der ermäßigte Satz?", [("preisbremse_zeitraum", 0.9)], None),
        ("Bis wann galt der ermäßigte Satz?", [("mwst_ende", 0.3)], None),
        # a measure alone, a figure, a dialogue intent, no question: not enough to go on
        ("Was war die Mehrwertsteuersenkung?", [("preisbremse_zeitraum", 0.3)], None),
        ("Bis wann galt der Satz von 7 %?", [("preisbremse_zeitraum", 0.3)], None),
        ("Bis wann galt der ermäßigte Satz?", [("instalment_calculation", 0.45)], None),
        ("ermäßigter Satz bis wann", [("preisbremse_zeitraum", 0.3)], None),
    ],
)  # fmt: skip
def test_an_unsure_question_that_names_a_measure_and_an_aspect_gets_their_topic(
    table, text, ranking, expected
):
    assert named_topic(text, ranking, table) == expected


def test_an_unsure_calculation_reading_of_a_question_about_the_topic_stays_on_it(topics, table):
    text = "wie viel Cent pro kWh macht die denn aus?"
    for confidence in (0.46, 0.57):
        ranking = [("instalment_calculation", confidence), ("out_of_scope", 0.2)]
        result = interpret(text, ranking, "gasspeicherumlage", table, topics=topics)
        assert result is not None and result.topics == ("gasspeicherumlage",)
    # asked for the customer's own figure, or read surely: the calculation
    mine = "wie viel macht die denn bei mir aus?"
    assert interpret(mine, ranking, "gasspeicherumlage", table, topics=topics) is None
    sure = [("instalment_calculation", 0.85), ("out_of_scope", 0.1)]
    assert interpret(text, sure, "gasspeicherumlage", table, topics=topics) is None


def test_what_it_means_concretely_for_the_instalment_is_explained_not_calculated(topics, table):
    calculation = [("instalment_calculation", 0.7), ("preisbremse_abschlag", 0.2)]
    text = "Was heißt das denn konkret für meinen Abschlag?"
    result = interpret(text, calculation, "gaspreisbremse", table, topics=topics)
    assert result is not None and result.topics == ("preisbremse_abschlag",)
    # asked for one's own figure: the calculation stands
    mine = "wie hoch wäre dann mein Abschlag?"
    assert interpret(mine, calculation, "gaspreisbremse", table, topics=topics) is None
