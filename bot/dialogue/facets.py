"""Read facet mentions and follow-up cues from one customer message (issue 16).

A follow-up such as "und für Fernwärme?" or "wie lange galt das?" names only what changes
against the last answer: an energy, an audience, an aspect or a measure (the facets of
``bot.knowledge.model.FACETS``). This module finds those words; ``bot.dialogue.context`` maps
"current topic + change" onto the sibling topic. Plain Python, no Rasa.

Matching works on a folded form of the text (lower case, umlauts as ae/oe/ue, ß as ss), so
"Fernwaerme", "fernwärme" and "FERNWÄRME" are the same word. Short messages (the follow-ups)
also tolerate one typo per word of six or more letters ("Fernwärem", "Mietr"); long messages
are not scanned for typos: there every facet is named many times, and the scan would cost
time on every turn for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Words of each facet value, as folded stems matched at the start of a word ("mieter" also
# matches "mietern", "mieterin"). Longer, more specific stems are listed for values that share
# words with others ("heizstrom" before "strom"; "mehrwertsteuer" is the measure, not the
# aspect "steuer").
FACET_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "measure": {
        "preisbremsen": (
            "preisbremse",
            "preisdeckel",
            "bremse",
            "deckel",
            "gedeckelt",
            "strompreisbremse",
            "gaspreisbremse",
            "waermepreisbremse",
            "energiepreisbremse",
        ),
        "soforthilfe": (
            "soforthilfe",
            "dezemberhilfe",
            "dezember-soforthilfe",
            "dezembersoforthilfe",
            "dezemberabschlag",
            "einmalentlastung",
            "ewsg",
        ),
        # "7 %" is the reduced VAT rate here (the brakes speak of 80 % and 40/12/9,5 ct).
        "mwst": (
            "mwst",
            "mehrwertsteuer",
            "umsatzsteuer",
            "ust",
            "ermaessigt",
            "7 %",
            "7%",
            "7 prozent",
            "sieben prozent",
        ),
    },
    "energy": {
        "heizstrom": (
            "heizstrom",
            "waermepumpe",
            "nachtspeicher",
            "speicherheizung",
            "wp-tarif",
            "nachtstrom",
        ),
        # Compounds end in their head word: "Haushaltsstrom" is electricity, and stems match
        # at the start of a word only (development set dev5.yml: "und für meinen normalen
        # Haushaltsstrom?" after the heat-pump tariffs named nothing).
        "strom": ("strom", "elektri", "haushaltsstrom", "normalstrom", "oekostrom", "hausstrom"),
        "gas": ("gas", "erdgas"),
        "waerme": ("fernwaerme", "waerme", "nahwaerme", "fernheizung"),
    },
    "audience": {
        "mieter": (
            "mieter",
            "vermieter",
            "miete",
            "mietwohnung",
            "nebenkosten",
            "betriebskosten",
            "hausverwaltung",
            "wohnung gemietet",
        ),
        "gewerbe": (
            "gewerbe",
            "firma",
            "firmen",
            "betrieb",
            "unternehmen",
            "industrie",
            "geschaeftskund",
            "selbststaendig",
            "grosskund",
            "praxis",
            # Not "laden": customers charge cars ("das Laden vom E-Auto") more often than they
            # call their shop one.
            "ladenbesitz",
            "ladeninhab",
            "ladengeschaeft",
            "einzelhandel",
            "gastronomie",
        ),
        "haushalt": ("privathaushalt", "privatkund", "haushaltskund"),
    },
    "aspect": {
        "berechnung": (
            "berechnet",
            "berechnung",
            "berechnen",
            # How a figure came about, in the past tense (an explanation, not a calculation
            # request: "rechnen Sie mir das aus" is bot/dialogue/context.py's _CALCULATE).
            "ausgerechnet",
            "errechnet",
            "ermittelt",
            "zustande",
            # "wie wurde die Höhe der Hilfe festgelegt?" after the December instalment asked how
            # the aid was computed (development set tests/dialogues/dev6.yml: no aspect read).
            "festgelegt",
            "festgesetzt",
            "bemessen",
            "rechnet man",
            "formel",
            "wie viel",
            "wieviel",
            "wie hoch",
            "kontingent",
            # Which consumption a relief was computed on: the grid operator's forecast
            # (Verbrauchsprognose) for the brakes' quota (development sets: "welcher Verbrauch
            # wurde da zugrunde gelegt?" after a brake was read as the annual bill).
            "welcher verbrauch",
            "welchen verbrauch",
            "zugrunde",
            "herangezogen",
            "prognose",
            "verbrauchsprognose",
            "80 prozent",
            "80 %",
            "80%",
        ),
        "zeitraum": (
            "ab wann",
            "bis wann",
            "seit wann",
            "wie lange",
            "wann",
            "zeitraum",
            "laufzeit",
            "verlaengert",
            "noch gueltig",
            "heute noch",
            "noch heute",
            "noch aktuell",
            "aktuell noch",
            "noch in kraft",
            "gibt es das noch",
            "gibts das noch",
            "gibt es die noch",
            "gibts die noch",
            "gilt das noch",
            "gilt die noch",
            "noch immer",
            "immer noch",
            "vorbei",
            "ausgelaufen",
            "endet",
            "beendet",
            "zu ende",
        ),
        "antrag": (
            "beantrag",
            "antrag",
            "anmelden",
            "automatisch",
            "muss ich was tun",
            "muss ich etwas tun",
            "muss ich da was",
            "muss ich dafuer",
            "muessen wir dafuer",
            "einreich",
            "selbst kuemmern",
        ),
        "abschlag": (
            "abschlag",
            "abschlaege",
            "monatlich",
            "monatsrate",
            "rate",
            "vorauszahlung",
            "abbuchung",
            "abgebucht",
        ),
        "jahresabrechnung": (
            "jahresabrechnung",
            "abrechnung",
            "endabrechnung",
            "schlussrechnung",
            "jahresrechnung",
            "rechnung",
        ),
        "steuer": (
            "versteuer",
            "steuerpflichtig",
            "einkommensteuer",
            "steuererklaerung",
            "finanzamt",
        ),
        # Compounds too ("lohnt sich Stromsparen noch?"): stems match at a word's start only.
        "sparen": (
            "sparen",
            "spare",
            "weniger verbrauch",
            "einsparen",
            "sparsam",
            "stromspar",
            "gasspar",
            "energiespar",
            "heizkostenspar",
            "waermespar",
        ),
        "grundpreis": ("grundpreis", "grundgebuehr", "grundkosten"),
        "umzug": (
            "umzug",
            "umziehen",
            "umziehe",
            "ziehe um",
            "neue wohnung",
            "wechsel",
            "wechseln",
            "anbieterwechsel",
            "versorgerwechsel",
        ),
        "missbrauch": ("missbrauch", "ausnutzen", "abzocke", "kartellamt", "bereichern"),
        # The generic aspect: only named when no other aspect is (see ``read``).
        "funktion": (
            "wie funktioniert",
            "wie funktionierte",
            "wie geht das",
            "erklaer",
            "was genau",
            "worum geht",
        ),
    },
}

# Words that open a follow-up ("und für Strom?", "was ist mit Mietern?", "gilt das auch …").
_CUE = re.compile(
    r"^(?:und|aber|auch|sowie|plus|dann|ok(?:ay)?|gut|aha|ach so|achso|hm+|und was|"
    r"und wie|und wann|und bei|und fuer|was ist mit|was ist denn mit|wie ist (?:es|das) "
    r"(?:mit|bei)|wie sieht (?:es|das) (?:mit|bei)|gilt das|galt das|gibt es das|gab es das|"
    r"betrifft das|bei|fuer|zum|zur)\b"
)
# Words that point back to the last answer. "sie" and "es" are not among them: customers
# address the assistant and say "es gibt …" far more often than they refer back with them.
_ANAPHOR = re.compile(
    r"\b(?:das|dies|diese|dieser|dieses|da|dabei|dafuer|davon|dazu|damit|darauf|dann|sowas|"
    r"so was|so etwas|solche[nsmr]?|dasselbe|dieselbe|denselben)\b"
    # "der/die/den/dem" as a demonstrative pronoun ("wie wurde die bei Fernwärme berechnet?",
    # "kann ich den dann selber anpassen?", "gab's die beim Strom nicht?"): the article
    # followed by a preposition, a particle or the end of the sentence, not by a noun.
    r"|\b(?:der|die|den|dem)(?=\s*(?:[?!.,]|$)|\s+(?:bei|beim|fuer|im|in|auf|mit|von|vom|"
    r"nach|zum|zur|pro|dann|denn|auch|noch|eigentlich|ueberhaupt|ja|nicht|nie|nur|genau|jetzt|"
    r"so|schon|wirklich|automatisch|selber|selbst|wieder|einfach|trotzdem|ueberall|"
    r"irgendwann|irgendwo|wo|wann|wie|bekommen|beantragen|zurueck|aus|aktuell|derzeit|"
    r"zurzeit|momentan|heute|gerade|nochmal|ueberhaupt)\b)"
)
_QUESTION = re.compile(
    r"\?|^(?:und |aber |ok |)(?:bis |ab |seit |)"
    r"(?:was|wie|wann|wo|warum|wieso|weshalb|wer|welche[rsmn]?|"
    r"muss|muessen|kann|koennen|darf|duerfen|soll|sollen|gilt|galt|gelten|gibt|gab|"
    r"bekomme|bekommen|bekam|krieg|kriege|kriegen|habe|hab|haben|ist|sind|war|waren|"
    r"wird|werden|wurde|wurden|brauche|brauchen)\b"
)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Messages up to this many words are read as possible follow-ups and scanned for typos.
SHORT_WORDS = 12
# A message that opens with "und" or "aber" goes on from the last answer even when it is longer
# than that: "Und wenn man zur Miete wohnt und die Heizung im Keller fürs ganze Haus läuft?"
# (15 words) after the gas brake asks for the tenants' topic (development set
# tests/dialogues/dev6.yml: read as out of scope, 0.99). Up to this many words.
CONTINUED_WORDS = 18
_CONTINUES = re.compile(r"^(?:und|aber)\b")
_TYPO_MIN_LENGTH = 6


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    return _WORD.findall(fold(text))


def fold(text: str) -> str:
    """Lower case, umlauts as ae/oe/ue, ß as ss, whitespace collapsed."""
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    return " ".join(text.split())


@dataclass(frozen=True)
class Mentions:
    """What one message names.

    Attributes:
        facets: facet name → the values the message names.
        cue: the message opens like a follow-up ("und …", "was ist mit …").
        anaphor: the message points back ("das", "dafür", …).
        question: the message asks something (a question mark or an opening question word).
        words: the number of words.
        figure: the message holds a digit (a consumption, a price, a date: the calculation
            form's business, never a bare topic question).
        continues: the message opens with "und" or "aber": it goes on from the last answer.
    """

    facets: dict[str, frozenset[str]]
    cue: bool
    anaphor: bool
    question: bool
    words: int
    figure: bool = False
    continues: bool = False

    @property
    def short(self) -> bool:
        """Short enough to be an elliptic follow-up."""
        return self.words <= SHORT_WORDS

    @property
    def follow_up_shaped(self) -> bool:
        """Short, and opens like a follow-up, points back, or names only facets.

        A little longer message that opens with "und"/"aber" too (:data:`CONTINUED_WORDS`).
        """
        if self.continues and self.words <= CONTINUED_WORDS:
            return True
        return self.short and (self.cue or self.anaphor or self.words <= 4)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    # A stem starts a word: "7 %" is not found in "17 %", "gas" not in "abgas"... (but in
    # "gasheizung").
    patterns = []
    for facet, values in FACET_WORDS.items():
        for value, stems in values.items():
            alternatives = "|".join(re.escape(s) for s in sorted(stems, key=len, reverse=True))
            patterns.append((facet, value, re.compile(rf"(?<![a-z0-9])(?:{alternatives})")))
    return patterns


@lru_cache(maxsize=1)
def _single_word_stems() -> list[tuple[str, str, str]]:
    return [
        (facet, value, stem)
        for facet, values in FACET_WORDS.items()
        for value, stems in values.items()
        for stem in stems
        if " " not in stem and len(stem) >= _TYPO_MIN_LENGTH
    ]


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _typo_mentions(words: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for word in words:
        if len(word) < _TYPO_MIN_LENGTH:
            continue
        for facet, value, stem in _single_word_stems():
            # Compare the word with the stem, allowing a short ending ("mieter[n]"); a longer
            # word only shares a beginning ("vorbehalt" is not "vorbei").
            if len(word) - len(stem) > 2:
                continue
            if _one_edit(word[: len(stem)], stem) or _one_edit(word[: len(stem) + 1], stem):
                found.setdefault(facet, set()).add(value)
    return found


def read(text: str) -> Mentions:
    """The facets, follow-up cue and anaphora of one message."""
    folded = fold(text)
    tokens = _WORD.findall(folded)
    found: dict[str, set[str]] = {}
    for facet, value, pattern in _patterns():
        if pattern.search(folded):
            found.setdefault(facet, set()).add(value)
    if len(tokens) <= SHORT_WORDS:
        for facet, values in _typo_mentions(tokens).items():
            found.setdefault(facet, set()).update(values)
    energy = found.get("energy", set())
    if "heizstrom" in energy:
        # "Heizstrom"/"Wärmepumpe" also match "strom"/"wärme": the specific value wins.
        energy.difference_update({"strom", "waerme"})
    aspects = found.get("aspect", set())
    if len(aspects) > 1:
        aspects.discard("funktion")
    if "mwst" in found.get("measure", set()):
        found.get("aspect", set()).discard("steuer")
    return Mentions(
        facets={k: frozenset(v) for k, v in found.items() if v},
        cue=bool(_CUE.match(folded)),
        continues=bool(_CONTINUES.match(folded)),
        anaphor=bool(_ANAPHOR.search(folded)),
        question=bool(_QUESTION.search(folded)),
        words=len(tokens),
        figure=any(ch.isdigit() for ch in text),
    )
