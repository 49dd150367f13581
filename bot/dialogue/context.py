"""Resolve a follow-up against the conversation's current topic (issue 16).

The conversation's current topic is the last FAQ answer given (slot ``last_faq_id``: set by
every answer, so also by a clarification pick). A follow-up names what changes ("und für
Mieter?") and leans on the rest; :func:`resolve` scores every topic with facets by how well it
keeps the current topic and takes the change, and :func:`interpret` decides whether a message
is such a follow-up at all and what becomes of it: a sibling topic, a question back with the
sibling topics as buttons, or nothing (the classifier's reading stands).

Scores (integers, so that they are easy to reason about):

* a facet the message names: +3 when the topic has one of the named values, -3 when it has
  only others, -1 when it is general there (it covers the value but is not *about* it; +2 for
  the current topic when that is about one specific aspect);
* a facet the message does not name (it is kept from the current topic): +1 when the topic
  shares a value with the current topic, -1 when it has different values or is more specific
  than the current topic, 0 when it is general there (the measure counts twice).

Plain Python; the Rasa component ``bot.nlu.components.ConversationContext`` calls it with the
tracker's slot and the classifier's ranking.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.dialogue.facets import Mentions, fold, read, words

# Topic id → facet name → values (the measure included: ``{"measure": ("preisbremsen",)}``).
FacetTable = Mapping[str, Mapping[str, Sequence[str]]]

NAMED_MATCH = 3
KEPT_MATCH = 1
# The measure is the strongest part of the context: "und für Mieter?" after the December aid
# means the December aid for tenants, not the price brakes for tenants.
KEPT_WEIGHT = {"measure": 2}
# The current topic is about a specific aspect and general in the named facet ("und beim Gas
# genauso?" after "Sparen lohnt sich weiterhin"): its answer already covers the named value,
# which counts almost like a match. So is a topic about one audience ("und beim Gas, wir haben
# rund 2 GWh?" after the rules for large customers: development set dev5.yml was answered with
# the gas brake for households). Not so for a topic that explains a measure in general ("und für
# Mieter?" after the gas brake wants the tenants' topic).
CURRENT_COVERS = 2
GENERAL_PENALTY = 1
# Only an energy is covered so: tenants and businesses have topics of their own.
COVERED_FACETS = frozenset({"energy"})
OWN_TARIFF_ENERGIES = frozenset({"heizstrom"})
GENERIC_ASPECTS = frozenset({"funktion"})
# The best sibling must reach this score: at least one named facet matched.
MIN_SCORE = NAMED_MATCH
# The classifier's probability of a topic, times this, is added to its score: it separates
# siblings the facets alone cannot ("wie hoch war das?" → berechnung, said of a brake).
CLASSIFIER_WEIGHT = 2.0
# Two candidates closer than this are both offered.
TIE_MARGIN = 0.5
# A confident classifier reading of a topic that agrees with the named facets is kept: the
# customer asked a complete new question ("Und wie war das mit der Mehrwertsteuer auf Gas?").
CONFIDENT = 0.8
# Intents a follow-up-shaped question is never taken away from when the classifier is this sure.
DIALOGUE_INTENTS = frozenset({"human_handoff", "instalment_calculation", "stop"})
DIALOGUE_CONFIDENT = 0.5
# Chit-chat intents a *question* may be misread as ("bis wann muss ich das machen?" ≠ goodbye).
CHITCHAT = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "bot_challenge",
        "affirm",
        "deny",
        "upset",
        "out_of_scope",
        "nlu_fallback",
    }
)
MAX_OPTIONS = 3
# Social turns ("danke, das wars", "nein") stay what they are unless they ask something.
SOCIAL = frozenset({"greet", "goodbye", "thanks", "affirm", "deny"})
OUT_OF_SCOPE = "out_of_scope"
# An out-of-scope reading is only believed for a follow-up-shaped question when the message
# has a word the training data knows from out-of-scope examples alone ("und wie wird das
# Wetter?"). Without one it is the catch-all reading of a short question the classifier cannot
# place ("wie lange?", "und mein Sohn mit Bafög?" read 0.94-0.99 out of scope): the context
# places it. The words: :func:`foreign_words`, learnt with the training data.
# Below this the classifier's reading of a non-dialogue intent does not place the message.
UNSURE = 0.5
# A question this short cannot be understood without the conversation.
SHORT_QUESTION = 6
# An unsure classifier whose best topics include the current one, this far down, stays on it.
CURRENT_AMONG = 3

Kind = Literal["followup", "clarify"]


@dataclass(frozen=True)
class Interpretation:
    """What a follow-up becomes.

    Attributes:
        kind: ``followup`` (answer ``topics[0]``) or ``clarify`` (offer ``topics``).
        topics: topic ids, best first.
        current: the topic the follow-up was read against.
        score: the best blended score (for logs and tuning).
    """

    kind: Kind
    topics: tuple[str, ...]
    current: str
    score: float


def resolve(
    current: Mapping[str, Sequence[str]],
    named: Mapping[str, frozenset[str]],
    table: FacetTable,
) -> list[tuple[str, int]]:
    """Every topic of ``table`` scored for "current topic + the named facets", best first."""
    facet_names = {name for facets in table.values() for name in facets} | set(named)
    scored = []
    for topic, facets in table.items():
        score = 0
        is_current = facets is current or dict(facets) == dict(current)
        aspects = set(current.get("aspect", ()))
        about_aspect = bool(aspects) and not aspects & GENERIC_ASPECTS
        # A topic about an audience covers the ordinary energies, not the heat-pump tariffs
        # (a topic of their own: "und für meine Wärmepumpe zuhause?" after large customers).
        about_audience = bool(current.get("audience")) and not named.get("energy", set()) & set(
            OWN_TARIFF_ENERGIES
        )
        covers = is_current and (about_aspect or about_audience)
        for name in facet_names:
            have = set(facets.get(name, ()))
            if name in named:
                if have & named[name]:
                    score += NAMED_MATCH
                elif not have:
                    # General in the named facet: it covers the value, but a topic about it
                    # answers better (unless it is the current one, about a specific aspect).
                    covered = covers and name in COVERED_FACETS
                    score += CURRENT_COVERS if covered else -GENERAL_PENALTY
                else:
                    score -= NAMED_MATCH
                continue
            weight = KEPT_WEIGHT.get(name, KEPT_MATCH)
            kept = set(current.get(name, ()))
            if kept and have:
                score += weight if kept & have else -weight
            elif have:
                score -= weight
        scored.append((topic, score))
    return sorted(scored, key=lambda item: (-item[1], item[0]))


# "und was heißt das für meinen Abschlag?" after an answer asks for the sibling topic's
# explanation (whose answer offers the personal calculation), not for the calculation itself:
# that is asked for with a figure or a word of calculating. "konkret" is no such word: "Was
# heißt das denn konkret für meinen Abschlag?" and "was heisst die bremse jetzt konkret für
# meinen monatlichen abschlag?" asked for the explanation (two authors of the development
# sets dev4.yml and dev6.yml; the form had started).
CALCULATION = "instalment_calculation"
_CALCULATE = re.compile(
    r"\d|ausrechn|\brechne\b|rechnen sie|berechnen sie|berechne mir|fuer mich|mein(?:em)? fall|"
    r"\bbei mir\b|wie hoch (?:waere|waer|wird|ist)(?: (?:dann|denn|jetzt|nun))? mein"
)


# The customer did not understand the last answer ("versteh ich nicht", "zu kompliziert",
# "können Sie das einfacher erklären?"): repeating it helps as little as "Das kann ich leider
# nicht beantworten"; the answer action offers other ways instead (its calculation, a person).
_UNCLEAR = re.compile(
    r"(?:versteh|kapier|check)\w* (?:(?:ich|das|es|davon|leider|immer|noch|gar|ueberhaupt) )*"
    r"(?:nicht|nix|nichts|kein wort)"
    r"|(?:nicht|kein wort|nix|nichts) (?:davon )?(?:verstanden|kapiert|gecheckt)"
    r"|(?:zu|so|viel zu|sehr|echt|ganz schoen|reichlich) (?:kompliziert|verwirrend|unverstaendlich)"
    r"|(?:einfacher|verstaendlicher|anders|nochmal|noch mal|noch einmal|leichter|simpler) "
    r"(?:\w+ )?(?:erklaer|sagen|formulier|ausdrueck|beschreib)"
    r"|in einfachen worten|fuer laien|nur bahnhof|(?<![a-z])h(?:ae)+h?(?![a-z])|wie bitte"
    r"|(?:ergibt|macht) (?:fuer mich )?(?:alles )?keinen sinn|(?<![a-z])verwirr(?:t|end)"
    r"|^was (?:soll|heisst|bedeutet) (?:das|dies)(?: (?:jetzt|denn|genau|nun|bitte|"
    r"konkret|heissen|bedeuten))*\W*$"
)
# Longer than this, a message that says it does not understand is telling its own story
# ("Ich verstehe nicht, warum mein Abschlag gestiegen ist …"): the classifier reads it.
UNCLEAR_MAX_WORDS = 10


def says_unclear(text: str, mentions: Mentions | None = None) -> bool:
    """The message says the last answer was not understood, and asks nothing new.

    A message that names a topic's facets (a measure, an energy, an audience, an aspect other
    than the generic "wie funktioniert das") is a question of its own, not a complaint about
    the answer: "das verstehe ich nicht, gilt das auch für Mieter?".
    """
    m = mentions if mentions is not None else read(text)
    if m.words > UNCLEAR_MAX_WORDS or m.figure:
        return False
    folded = fold(text)
    said = _UNCLEAR.search(folded)
    if said is None:
        return False
    # The facets of the rest: "immer noch" in "ich verstehe das immer noch nicht" is no
    # question about how long a measure lasts.
    rest = read(folded[: said.start()] + " " + folded[said.end() :])
    return not any(
        values for name, values in rest.facets.items()
        if not (name == "aspect" and values <= GENERIC_ASPECTS)
    )


def _explains(text: str, top: str, m: Mentions) -> bool:
    """A follow-up the classifier reads as the calculation that asks for an explanation."""
    return (
        top == CALCULATION
        and bool(m.facets)
        and (m.cue or m.anaphor)
        and not _CALCULATE.search(fold(text))
    )


def _consistent(
    facets: Mapping[str, Sequence[str]] | None, named: Mapping[str, frozenset[str]]
) -> bool:
    if facets is None:
        return True  # a topic without facets: nothing contradicts it
    return all(not facets.get(name) or set(facets[name]) & values for name, values in named.items())


# Words that point at the last answer's subject itself ("muss ich *da* den Zählerstand melden?",
# "*dafür* zum 31. März"); "dann" only orders the thought ("warum habt ihr dann eure Preise
# angehoben?" after the abuse ban asks why prices rose).
_POINTS_AT_IT = re.compile(r"\b(?:da|dafuer|dazu|dabei|hierfuer|hierzu|dort)\b")
# An elliptic follow-up ("und die Dezemberhilfe?", "und bei der Mehrwertsteuer?") has at most
# this many words.
ELLIPTIC_WORDS = 5
# What an elliptic follow-up that names another measure keeps of the current topic: its
# audience or its specific aspect ("und die Dezemberhilfe?" after the brakes for tenants means
# the December aid for tenants; development set dev5.yml read the December aid's overview).
MOVED_FACETS = ("audience", "aspect")


def _measure_topics(measure: Collection[str], table: FacetTable) -> list[str]:
    return [t for t, f in table.items() if set(f.get("measure", ())) & set(measure)]


def _moved_measure(
    current: Mapping[str, Sequence[str]], named: Mapping[str, frozenset[str]], table: FacetTable
) -> str | None:
    """The one topic of the named other measure that keeps the current audience or aspect."""
    measure = named.get("measure")
    if set(named) != {"measure"} or not measure or measure & set(current.get("measure", ())):
        return None
    for name in MOVED_FACETS:
        kept = set(current.get(name, ()))
        if name == "aspect" and kept & GENERIC_ASPECTS:
            return None  # a general topic: "und die Preisbremse?" wants the brakes in general
        if not kept:
            continue
        hits = [t for t in _measure_topics(measure, table) if kept & set(table[t].get(name, ()))]
        return hits[0] if len(hits) == 1 else None
    return None


def _energy_outside(
    current: Mapping[str, Sequence[str]], named: Mapping[str, frozenset[str]], table: FacetTable
) -> str | None:
    """The measure's general topic when the named energy lies outside the measure.

    "und bei Strom?" after the VAT cut: no VAT topic is about electricity, and every one is
    about gas and heat only; the general topic's answer says that electricity was not part of
    it (development set dev5.yml: the customer was asked back with the brakes' topics).
    """
    energy = named.get("energy")
    measure = named.get("measure") or frozenset(current.get("measure", ()))
    if not energy or set(named) - {"energy", "measure"} or not measure:
        return None
    same = _measure_topics(measure, table)
    if not same or any(not table[t].get("energy") for t in same):
        return None  # a topic general in the energy covers it
    if any(energy & set(table[t].get("energy", ())) for t in same):
        return None
    general = [t for t in same if "funktion" in table[t].get("aspect", ())]
    return general[0] if len(general) == 1 else None


def siblings(current: str, table: FacetTable) -> list[str]:
    """The other topics of the current topic's measure, nearest first."""
    facets = table.get(current)
    if not facets:
        return []
    ranked = resolve(facets, {}, table)
    measure = set(facets.get("measure", ()))
    return [t for t, _ in ranked if t != current and set(table[t].get("measure", ())) & measure]


def interpret(
    text: str,
    ranking: Sequence[tuple[str, float]],
    current: str | None,
    table: FacetTable,
    *,
    topics: Collection[str] = (),
    mentions: Mentions | None = None,
    foreign: frozenset[str] = frozenset(),
    covered: Mapping[str, Collection[str]] | None = None,
    vocabulary: Vocabulary | None = None,
    topic_words: TopicWords | None = None,
) -> Interpretation | None:
    """Read ``text`` as a follow-up to ``current`` if it is one.

    Args:
        text: the customer's message.
        ranking: the classifier's intents and probabilities, best first (topic intents as
            topic ids, i.e. without the ``faq_`` prefix; fallback excluded).
        current: the conversation's current topic, or None.
        table: the facets of every topic that has some.
        topics: every FAQ topic id (also those without facets).
        mentions: ``read(text)`` if the caller has it already.
        foreign: words that are evidence of an out-of-scope question (:func:`foreign_words`).
        covered: the aspects each topic without facets speaks of (:func:`covered_aspects`).
        vocabulary: the in-scope training words (:func:`known_words`); with it, a sure
            out-of-scope reading of a message with a word it does not know stands.
        topic_words: the words of each topic's examples (:class:`TopicWords`); with them, an
            out-of-scope reading of a question whose things the current topic never speaks of
            stands ("und wie teuer werden Pellets nächsten Winter?" after the 300-euro
            allowance).

    Returns:
        None when the message is not a follow-up or the classifier's reading should stand.
    """
    if not current or not ranking:
        return None
    m = mentions or read(text)
    if not m.follow_up_shaped:
        return None
    top, confidence = ranking[0]
    # A follow-up that names a facet ("und beim Gas, wir verbrauchen 200.000 kWh") stays a
    # question about the topic unless the classifier is very sure of the dialogue intent.
    # A question for one's own figure ("wie hoch wäre dann mein Abschlag?") needs no more.
    personal = bool(_CALCULATE.search(fold(text)))
    needed = CONFIDENT if m.facets and not personal else DIALOGUE_CONFIDENT
    if top in DIALOGUE_INTENTS and confidence >= needed and not _explains(text, top, m):
        return None
    if (
        top == OUT_OF_SCOPE
        and confidence >= SURE_OUT_OF_SCOPE
        and vocabulary is not None
        and vocabulary.unknown(noun_like_words(text))
    ):
        return None
    probabilities = dict(ranking)
    current_facets = table.get(current)
    if (
        _POINTS_AT_IT.search(fold(text))
        and current_facets is not None
        and top in topics
        and top not in table
        and topic_words is not None
        and topic_words.dwells_on(text, current)
    ):
        # A question that points back to the last answer about a thing that answer dwells on,
        # though a topic of its own covers that thing in general: "muss ich da den Zählerstand
        # melden?" after the VAT's end asks about the reading at the switch back (three
        # authors of the development sets expected the VAT's end; the classifier reads the
        # meter-reading topic at 1.0).
        return Interpretation("followup", (current,), current, 0.0)
    if m.facets and current_facets and m.words <= ELLIPTIC_WORDS and (m.cue or m.anaphor):
        moved = _moved_measure(current_facets, m.facets, table)
        if moved is not None:
            return Interpretation("followup", (moved,), current, float(NAMED_MATCH))
    if m.facets and current_facets:
        # The classifier's confident reading stands for a question that says what it is about
        # (it names the measure, or it does not lean on the last answer); "gilt das auch für
        # Fernwärme?" after the VAT cut cannot be read without the context.
        self_contained = "measure" in m.facets or not (m.cue or m.anaphor)
        if (
            self_contained
            and top in table
            and confidence >= CONFIDENT
            and _consistent(table[top], m.facets)
        ):
            return None
        if top in topics and top not in table and confidence >= CONFIDENT:
            # A topic without facets is no sibling of anything: the resolver cannot reach
            # it, and a confident reading of it is a new question ("und kann ich im Portal
            # auch den Abschlag anpassen?" after the VAT in the bill).
            return None
        overview = _energy_outside(current_facets, m.facets, table)
        if overview is not None:
            return Interpretation("followup", (overview,), current, float(NAMED_MATCH))
        ranked = [
            (topic, score + CLASSIFIER_WEIGHT * probabilities.get(topic, 0.0))
            for topic, score in resolve(current_facets, m.facets, table)
        ]
        ranked.sort(key=lambda item: (-item[1], item[0]))
        best, best_score = ranked[0]
        if best_score < MIN_SCORE:
            options = [t for t, s in ranked if s > 0][:MAX_OPTIONS] or siblings(current, table)
            return Interpretation("clarify", tuple(options[:MAX_OPTIONS]), current, best_score)
        close = [t for t, s in ranked[1:MAX_OPTIONS] if best_score - s < TIE_MARGIN]
        if close:
            return Interpretation("clarify", (best, *close), current, best_score)
        return Interpretation("followup", (best,), current, best_score)
    aspects = m.facets.get("aspect", frozenset())
    if (
        current_facets is None
        and current in topics
        and top in table
        and top != current
        and (m.anaphor or m.cue)
        and "measure" not in m.facets
        and (not aspects or aspects & set((covered or {}).get(current, ())))
    ):
        # The current topic stands alone (no measure, no siblings: the heating-cost subsidy,
        # the hardship funds …). "muss ich den beantragen?" after it asks about *it* when its
        # answer speaks of applying, even though the classifier reads the brakes' sibling of
        # that aspect (preisbremse_antrag).
        return Interpretation("followup", (current,), current, 0.0)
    # No facet named, or the current topic has none. A short question, or one that points back,
    # that the classifier cannot place is about the current topic ("wie lange?" after the
    # chat's privacy, "krieg ich das Geld zurück?" after the December instalment): the
    # customer gets the current answer again rather than a question back.
    points_back = m.anaphor or m.cue
    surely_elsewhere = top == OUT_OF_SCOPE and (
        bool(foreign & set(words(text)))
        or (
            confidence >= UNSURE
            and topic_words is not None
            and topic_words.unrelated(text, current)
        )
    )
    # An unsure reading of the calculation (below what the check above needs), for a question
    # that points back and asks for no figure of the customer's own: "wie viel Cent pro kWh
    # macht die denn aus?" after the gas storage levy (0.46; 0.57 with the near-miss training
    # data) started the calculation form (development set dev6.yml).
    unsure_calculation = (
        top == CALCULATION and confidence < needed and not personal and points_back
    )
    unplaced = not surely_elsewhere and (
        top in CHITCHAT
        or (top not in DIALOGUE_INTENTS and confidence < UNSURE)
        or unsure_calculation
    )
    near = current in [t for t, _ in ranking[:CURRENT_AMONG]] and top not in SOCIAL
    if top == current and confidence < UNSURE and m.question and (
        points_back or m.words <= SHORT_QUESTION
    ):
        # The classifier's unsure best reading is the current topic itself: "und samstags?"
        # after the opening hours (0.31) was asked back about that one topic (dev5.yml).
        return Interpretation("followup", (current,), current, 0.0)
    if (
        unplaced
        and top != current
        and (points_back or m.words <= SHORT_QUESTION)
        and (m.question or near)
    ):
        return Interpretation("followup", (current,), current, 0.0)
    return None


# A short follow-up-shaped question the classifier is this sure is out of scope, with a noun
# no in-scope example uses (nor one a typo away), asks about something the assistant has no
# topic for: "… an euren Ladesäulen?", "und was kostet Benzin?" (development set dev3: such
# turns were read as a question about the current topic).
SURE_OUT_OF_SCOPE = 0.9
UNKNOWN_MIN_LENGTH = 5
# Longer "words" are compared as they are ("Rückforderungsvorbehaltsregelung" has 32 letters).
LONGEST_WORD = 40


class Vocabulary:
    """The folded words of the in-scope training examples, with a one-typo lookup.

    A word is known when it or a word one edit away (insertion, deletion, substitution, swap of
    neighbours) occurs in an example of a topic or dialogue intent; the one-edit test compares
    the words with one letter deleted (symmetric deletion: ~60,000 strings for the training
    data's ~6,000 words, built when the model loads).
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        self._deletes = frozenset(
            d for w in self.words if len(w) >= UNKNOWN_MIN_LENGTH - 1 for d in self._deleted(w)
        )

    @staticmethod
    def _deleted(word: str) -> set[str]:
        return {word[:i] + word[i + 1 :] for i in range(len(word))}

    def knows(self, word: str) -> bool:
        """Whether ``word`` (folded) or a word one typo away is in-scope vocabulary."""
        if word in self.words:
            return True
        if len(word) > LONGEST_WORD:
            return False  # no typo of any word; and its deletions would cost quadratic time
        deleted = self._deleted(word)
        return word in self._deletes or bool(deleted & self.words) or bool(deleted & self._deletes)

    def unknown(self, folded_words: Iterable[str]) -> list[str]:
        """The words of at least ``UNKNOWN_MIN_LENGTH`` letters (not numbers) it does not know."""
        return [
            w
            for w in folded_words
            if len(w) >= UNKNOWN_MIN_LENGTH and not w.isdigit() and not self.knows(w)
        ]


_RAW_WORD = re.compile(r"[^\W\d_][\w-]*")


def noun_like_words(text: str) -> list[str]:
    """The folded words of ``text`` that may name a thing.

    Those are the capitalised words (German nouns), or every word when the customer writes in
    lower case only. An unknown adjective or verb ("die restlichen 20 Prozent") says nothing
    about the topic; an unknown noun ("Benzin", "Ladesäulen") does.
    """
    raw = _RAW_WORD.findall(text)
    if any(ch.isupper() for ch in text):
        raw = [w for w in raw if w[0].isupper()]
    return [w for r in raw for w in words(r)]


def known_words(examples: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The folded words of the ``(intent, text)`` examples of every intent but out of scope."""
    return frozenset(w for intent, text in examples if intent != OUT_OF_SCOPE for w in words(text))


# A word is generic when the examples of at least this share of the intents use it ("meine",
# "bekomme", "abschlag"): it names nothing a topic is about.
GENERIC_SHARE = 0.2
# Shorter words ("und", "gas", "wie") are never taken as the thing a question is about.
CONTENT_MIN_LENGTH = 4
# A word is characteristic of an intent when at least this many of its examples use it
# ("Pellets": 17 of the hardship funds', "Bürgergeld": 2 out-of-scope examples); a word one
# example happens to use ("Enkelin", "lang") is evidence of nothing.
CHARACTERISTIC_MIN = 2
# A topic dwells on a word that at least this share of its examples use: "Zählerstand" in 15 %
# of the examples of the VAT's end (the reading at the switch back), "anpassen" in 1 % of what
# the brakes did to the instalment's.
DWELL_SHARE = 0.1


class TopicWords:
    """The words each topic's training examples use, beyond the generic ones.

    A follow-up-shaped question the classifier reads as out of scope, whose things (its nouns)
    the current topic's examples never mention and one of which is characteristic of another
    intent, asks about something else: "und wie beantrage ich Bürgergeld?" after the
    heating-cost subsidy, "Und wie teuer werden Pellets nächsten Winter?" after the 300-euro
    allowance (development set dev5.yml: both were answered with the current topic again). "und
    meine Enkelin studiert, kriegt die auch was?" after the allowance names no such thing.
    """

    def __init__(
        self,
        by_topic: Mapping[str, Iterable[str]],
        generic: Iterable[str],
        characteristic: Iterable[str] = (),
        dwelt: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.by_topic = {topic: frozenset(ws) for topic, ws in by_topic.items()}
        self.generic = frozenset(generic)
        self.characteristic = frozenset(characteristic)
        self.dwelt = {topic: frozenset(ws) for topic, ws in (dwelt or {}).items()}

    @classmethod
    def learn(cls, examples: Iterable[tuple[str, str]]) -> TopicWords:
        """From ``(intent, text)`` examples; topics are the intents named ``faq_<id>``."""
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        totals: Counter[str] = Counter()
        for intent, text in examples:
            counts[intent].update(set(words(text)))
            totals[intent] += 1
        share: Counter[str] = Counter(w for c in counts.values() for w in c)
        generic = {w for w, n in share.items() if n >= GENERIC_SHARE * len(counts)}
        by_topic = {
            intent.removeprefix("faq_"): set(c) - generic
            for intent, c in counts.items()
            if intent.startswith("faq_")
        }
        characteristic = {
            w for c in counts.values() for w, n in c.items() if n >= CHARACTERISTIC_MIN
        } - generic
        dwelt = {
            intent.removeprefix("faq_"): {
                w for w, n in c.items() if n >= DWELL_SHARE * totals[intent] and w not in generic
            }
            for intent, c in counts.items()
            if intent.startswith("faq_")
        }
        return cls(by_topic, generic, characteristic, dwelt)

    def content(self, text: str) -> list[str]:
        """The nouns of ``text`` that may say what it is about (not generic, not short)."""
        return [
            w
            for w in noun_like_words(text)
            if len(w) >= CONTENT_MIN_LENGTH and not w.isdigit() and w not in self.generic
        ]

    def dwells_on(self, text: str, topic: str) -> bool:
        """Many of ``topic``'s examples use a noun of ``text`` (its answer speaks of it)."""
        return any(w in self.dwelt.get(topic, ()) for w in self.content(text))

    def unrelated(self, text: str, topic: str) -> bool:
        """``text`` names a thing characteristic of another intent, and nothing of ``topic``'s."""
        own = self.by_topic.get(topic)
        nouns = self.content(text)
        return (
            own is not None
            and any(w in self.characteristic for w in nouns)
            and not any(w in own for w in nouns)
        )


# A word counts as out-of-scope evidence when it is this long and occurs in out-of-scope
# training examples only (never in a topic's or a dialogue intent's): "wetter", "rezept", not
# "heute" or "lange", which topics use too.
FOREIGN_MIN_LENGTH = 3


def foreign_words(examples: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The folded words of out-of-scope ``(intent, text)`` examples that no other intent uses."""
    outside: set[str] = set()
    inside: set[str] = set()
    for intent, text in examples:
        (outside if intent == OUT_OF_SCOPE else inside).update(words(text))
    return frozenset(w for w in outside - inside if len(w) >= FOREIGN_MIN_LENGTH)


# A topic speaks of an aspect when at least this share of its training examples name it
# (heizkostenzuschuss: 24 % name applying; zaehlerstand_melden: 7 % the bill).
COVERED_SHARE = 0.08


def covered_aspects(
    examples: Iterable[tuple[str, str]], table: FacetTable
) -> dict[str, list[str]]:
    """The aspects each topic without facets speaks of, from its ``(topic, text)`` examples."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    for topic, text in examples:
        if topic in table:
            continue
        totals[topic] += 1
        counts[topic].update(read(text).facets.get("aspect", ()))
    return {
        topic: sorted(a for a, n in counts[topic].items() if n >= COVERED_SHARE * total)
        for topic, total in totals.items()
    }


# The calculation form is about what the price brakes mean for the monthly instalment: a
# follow-up in the middle of it ("ich bin Mieter, gilt das für mich?") is read against that
# topic when the conversation has no other.
FORM_TOPIC = "preisbremse_abschlag"

# In the calculation form, a question whose best topic reaches this is answered (and the form
# goes on): "gibt es für Heizstrom einen anderen Deckel?" is no working price.
FORM_QUESTION_MIN = 0.25


def form_question(
    text: str,
    ranking: Sequence[tuple[str, float]],
    topics: Collection[str],
    *,
    mentions: Mentions | None = None,
) -> str | None:
    """The topic a question asked in the middle of the form is about, if it clearly is one.

    A message with a figure is the form's (the validator reads it); so is one the classifier
    already gives a topic, which the generated rules answer anyway.
    """
    m = mentions or read(text)
    if not ranking or m.figure:
        return None
    top, _ = ranking[0]
    if top in topics or not (m.question or m.facets):
        return None
    best = next(((t, c) for t, c in ranking if t in topics), None)
    if best is None or best[1] < FORM_QUESTION_MIN:
        return None
    return best[0]


# A question that names a measure and one more facet says which topic it is about where the
# classifier is unsure: "Bis wann galt der ermäßigte Satz?" (the VAT's rate, until when) was read
# as the brakes' period (0.34) and asked back (development set tests/dialogues/dev6.yml). Taken
# only when the classifier's best reading is below ``UNSURE`` and disagrees with the named
# facets, every named facet matches the topic, and the next topic scores at least
# ``NAMED_MARGIN`` less.
NAMED_MARGIN = NAMED_MATCH


def named_topic(
    text: str,
    ranking: Sequence[tuple[str, float]],
    table: FacetTable,
    *,
    mentions: Mentions | None = None,
) -> str | None:
    """The one topic a question's named facets point to, if the classifier is unsure.

    The question names a measure and one more facet; the classifier's best reading is unsure
    and disagrees with them.

    Args:
        text: the customer's message.
        ranking: the classifier's (label, confidence) pairs, best first.
        table: the topics' facets.
        mentions: ``read(text)``, if already done.
    """
    m = mentions or read(text)
    named = m.facets
    if not ranking or "measure" not in named or len(named) < 2 or not m.question or m.figure:
        return None
    top, confidence = ranking[0]
    if confidence >= UNSURE or top in DIALOGUE_INTENTS:
        return None
    if top in table and _consistent(table[top], named):
        return None  # the classifier's reading agrees with what the question names
    ranked = resolve({}, named, table)
    if not ranked:
        return None
    best, score = ranked[0]
    if not all(set(table[best].get(name, ())) & values for name, values in named.items()):
        return None
    if len(ranked) > 1 and score - ranked[1][1] < NAMED_MARGIN:
        return None
    return best


# "Hallo, ich hab mal ne Frage zur Gaspreisbremse": the customer announces a topic and asks
# nothing yet. The classifier reads the greeting (0.77, the topic 0.11), the greeting reply
# sets no topic, and the question that follows ("wie viel Prozent waren gedeckelt?") had
# nothing to lean on. An announcement is answered with the announced topic: its answer gives
# the overview and the conversation's topic for what comes next.
# A request for information about a subject is such an announcement too: "Erzähl mir mehr über
# die Sache mit der Mehrwertsteuer." read as upset (0.96; the VAT topics 0.01-0.02: the classifier
# knows "mir" and imperatives from angry messages) and got the acknowledgement of anger
# (development set tests/dialogues/dev6.yml; "Sag mir mehr zur Mehrwertsteuer." alike).
_ANNOUNCEMENT = re.compile(
    r"^(?:(?:hallo|hi|hey|moin|servus|gruess gott|guten (?:tag|morgen|abend))\b[\W\s]*)?"
    r"(?:(?:(?:ich )?(?:hab|habe|haette|hatte|haett) (?:(?:da|mal|noch|nur|eine|ne|n|'ne) )*"
    r"|(?:eine |ne )?)"
    r"(?:(?:kurze|kleine|allgemeine|weitere) )?frage "
    r"(?:zu|zur|zum|zu den|wegen|bezueglich|bzgl|ueber|um|an)"
    r"|(?:bitte )?(?:erzaehl|erzaehle|erzaehlen sie|erklaer|erklaere|erklaeren sie|sag|sagen sie)"
    r" (?:mir|uns) (?:(?:bitte|mal|doch|nochmal|noch|kurz|einmal|mehr|was|etwas|alles|genaueres"
    r"|naeheres) )*(?:ueber|zu|zur|zum|zu den|von|die|den|das)"
    r"|(?:mehr )?(?:infos?|informationen) (?:bitte )?(?:zu|zur|zum|zu den|ueber))"
    r"\s+(?P<rest>[^?]+?)[\s.!:]*$"
)
# The announced subject is a name, not a question of its own ("… zur Gaspreisbremse für
# Mieter" still is; a longer rest is left to the classifier).
ANNOUNCED_MAX_WORDS = 5
# The whole announcement: a greeting, "ich hätte da mal eine kurze Frage zur", the subject.
ANNOUNCEMENT_MAX_WORDS = 16
ANNOUNCEMENT_MAX_CHARS = 200
# An announcement that names no measure ("… zur Energiepreispauschale", a topic without facets;
# "… zu meiner Gasrechnung") is answered only when the classifier gives its topic this much.
ANNOUNCED_UNNAMED_MIN = 0.3


def announced_topic(
    text: str,
    ranking: Sequence[tuple[str, float]],
    table: FacetTable,
    topics: Collection[str],
) -> str | None:
    """The topic a message announces without asking about it yet, if it is clear which.

    The classifier's best topic counts when it agrees with the measure the announcement names
    ("Frage zur Mehrwertsteuer": the VAT cut); otherwise the one topic the named facets point
    to ("zur Wärmepreisbremse"), if one leads. Without a measure named, only a sure reading.

    Args:
        text: the customer's message.
        ranking: the classifier's (label, confidence) pairs, best first.
        table: the topics' facets.
        topics: the FAQ topic labels.
    """
    if len(text.split()) > ANNOUNCEMENT_MAX_WORDS or len(text) > ANNOUNCEMENT_MAX_CHARS:
        return None  # a longer message asks something itself (and the regex stays linear)
    match = _ANNOUNCEMENT.match(" ".join(fold(text).split()))
    if match is None or len(words(match["rest"])) > ANNOUNCED_MAX_WORDS:
        return None
    named = {name: frozenset(values) for name, values in read(match["rest"]).facets.items()}
    best = next(((t, c) for t, c in ranking if t in topics), None)
    if best is None:
        return None
    if "measure" not in named:
        # "eine Frage zu meiner Gasrechnung" names no measure: only a sure reading counts.
        return best[0] if best[1] >= ANNOUNCED_UNNAMED_MIN else None
    if _consistent(table.get(best[0]), named):
        return best[0]
    ranked = resolve({}, named, table)
    if len(ranked) > 1 and ranked[0][1] > ranked[1][1] and ranked[0][1] >= MIN_SCORE:
        return ranked[0][0]
    return None
