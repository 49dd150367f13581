"""Abusive messages: a German word list, matched on normalised words.

Agents are attacked during the crisis (``shared/context/customer-service-interview.txt``).
A message with an insult, a slur, sexual harassment or a threat is *abusive*: the console
flags it and blurs it until clicked, the assistant stays calm. Swearing about the situation
("Scheiße, schon wieder eine Nachzahlung") is *vulgar*: recorded, not flagged.

The word list is ``abusive_words_de.txt`` beside this module (sources and licences in its
header). Messages and list entries are normalised the same way, so these all match
"Arschloch": ``ARSCHLOCH``, ``Arschlöcher`` (inflection), ``4rschl0ch`` (leetspeak),
``a r s c h l o c h`` and ``a.r.s.c.h.l.o.c.h`` (spaced or dotted letters),
``Arschloooch`` (a stretched letter), ``Riesenarschloch`` (a compound, for entries marked ``*``).

Whole words only: "Barsch", "Marsch", "Arschkälte", "schlampig" and "idiotensicher" are not
flagged. Normalisation, in order: Unicode NFKC and case folding; in-word separators removed
(``a.r-s*c_h``); leetspeak digits and symbols inside words (0→o, 1→i or l, 3→e, 4→a, 5→s,
7→t, @→a, $→s, €→e, !→i); umlauts folded (ä, ae → a; ö, oe → o; ü, ue → u; ß → ss); a
letter stretched to three or more read as one or two.

This is a list, not an understanding of language: irony, new coinages and insults without
listed words pass, so the assistant's ``upset`` intent is the second signal (phase 2).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

WORD_LIST: Final = Path(__file__).with_name("abusive_words_de.txt")
ABUSIVE_CATEGORIES: Final = frozenset({"insult", "slur", "sexual", "threat"})
# "allow": words never flagged although a listed term matches them ("verschlampen").
ALLOW: Final = "allow"
CATEGORIES: Final = ABUSIVE_CATEGORIES | {"vulgar", ALLOW}
# German inflection endings matched after every listed word (base forms only in the list).
_ENDINGS: Final = ("", "e", "en", "n", "s", "er", "es", "in", "innen")
# Longer messages are cut: Meta's texts have at most 4,096 characters, the widget's fewer.
MAX_CHARS: Final = 20_000

_LEET: Final = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "€": "e",
        "!": "i",
    }  # fmt: skip
)
_LEET_L: Final = str.maketrans({"1": "l"})
_UMLAUTS: Final = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_DIGRAPHS = re.compile(r"ae|oe|ue")
_STRETCHED = re.compile(r"(.)\1{2,}")
# A token: letters, digits, leet symbols and in-word separators.
_TOKEN = re.compile(r"[\w@$€!*.'’\-]+")
_SEPARATORS = re.compile(r"[_*.'’\-]")
_EDGES: Final = "!*.'’-_"
_SENTENCE_END = re.compile(r"[.?!;:]")


class WordListError(ValueError):
    """A line of the word list is malformed (the message names the line)."""


@dataclass(frozen=True)
class Entry:
    """One entry of the word list: its words as written, category and compound flag."""

    term: str
    category: str
    compound: bool = False


@dataclass(frozen=True)
class Hit:
    """A listed term found in a message.

    Attributes:
        term: the entry as listed (not the customer's spelling).
        category: insult, slur, sexual, threat or vulgar.
    """

    term: str
    category: str


@dataclass(frozen=True)
class Assessment:
    """What the word list finds in one message.

    Attributes:
        abusive: an insult, slur, sexual term or threat was found (flag and blur).
        hits: every listed term found, vulgar ones included, each once.
    """

    abusive: bool
    hits: tuple[Hit, ...] = ()

    @property
    def categories(self) -> frozenset[str]:
        """The categories found."""
        return frozenset(hit.category for hit in self.hits)


def _fold(word: str) -> str:
    """Umlauts and their digraphs folded (ä, ae -> a; ö, oe -> o; ü, ue -> u; ß -> ss)."""
    return _DIGRAPHS.sub(lambda m: m.group(0)[0], word.translate(_UMLAUTS))


def _variants(token: str) -> tuple[str, ...]:
    """The folded readings of one message token.

    "1" may be an "i" or an "l"; a letter stretched to three or more ("Idiooot") may stand
    for one or two ("Trotttel"). Doubles are kept: squeezing them would make "Moose" (moss)
    read as "Möse" and "spaßt" as "Spast".
    """
    if not any(c.isalpha() for c in token):
        return ()
    leet = {token.translate(_LEET)}
    if "1" in token:
        leet.add(token.translate(_LEET_L).translate(_LEET))
    readings = set()
    for reading in leet:
        folded = _fold(reading)
        readings.add(_STRETCHED.sub(r"\1", folded))
        readings.add(_STRETCHED.sub(r"\1\1", folded))
    return tuple(sorted(readings))


def _words(text: str) -> list[tuple[str, ...] | None]:
    """The message as a list of tokens' readings; None marks a sentence end or a number."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    raw: list[tuple[int, int, str]] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0).strip(_EDGES)
        if token:
            raw.append((match.start(), match.end(), token))
    # "a r s c h": three or more single letters with at most two characters between them.
    merged: list[tuple[int, int, str]] = []
    run: list[tuple[int, int, str]] = []

    def flush() -> None:
        if len(run) >= 3:
            merged.append((run[0][0], run[-1][1], "".join(t for _, _, t in run)))
        else:
            merged.extend(run)
        run.clear()

    for item in raw:
        single = len(item[2]) == 1 and not item[2].isdigit()
        if single and (not run or item[0] - run[-1][1] <= 2):
            run.append(item)
            continue
        flush()
        if single:
            run.append(item)
        else:
            merged.append(item)
    flush()
    words: list[tuple[str, ...] | None] = []
    previous_end = 0
    for start, end, token in merged:
        if _SENTENCE_END.search(text, previous_end, start):
            words.append(None)
        previous_end = end
        readings = _variants(_SEPARATORS.sub("", token))
        words.append(readings or None)
    return words


def parse_word_list(lines: Iterable[str]) -> list[Entry]:
    """Read the word list format (see the file's header).

    Raises:
        WordListError: an unknown category or a line without a term.
    """
    entries: list[Entry] = []
    for number, line in enumerate(lines, 1):
        line = line.split("[", 1)[0].strip()  # the source marker is documentation
        if not line or line.startswith("#"):
            continue
        category, _, term = line.partition(" ")
        term = " ".join(term.split())
        if category not in CATEGORIES or not term:
            raise WordListError(f"line {number}: expected '<category> <term>', got {line!r}")
        compound = term.startswith("*")
        entries.append(Entry(term.lstrip("*"), category, compound))
    return entries


class AbuseDetector:
    """Finds listed terms in messages.

    Args:
        entries: the word list (:func:`parse_word_list`).
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._exact: dict[str, list[Entry]] = {}
        self._compound: list[tuple[tuple[str, ...], Entry]] = []
        self._phrases: list[tuple[tuple[frozenset[str], ...], Entry]] = []
        self._allowed: set[str] = set()
        for entry in entries:
            words = [_fold(w) for w in entry.term.casefold().split()]
            endings = tuple(words[-1] + e for e in _ENDINGS)
            if entry.category == ALLOW:
                self._allowed.update(endings)
            elif len(words) > 1:
                head = tuple(frozenset({w}) for w in words[:-1])
                self._phrases.append((head + (frozenset(endings),), entry))
            elif entry.compound:
                self._compound.append((endings, entry))
            else:
                for form in endings:
                    self._exact.setdefault(form, []).append(entry)

    @classmethod
    def from_file(cls, path: Path = WORD_LIST) -> AbuseDetector:
        """Load a word list file (UTF-8)."""
        return cls(parse_word_list(path.read_text(encoding="utf-8").splitlines()))

    def assess(self, text: str) -> Assessment:
        """Find listed terms in ``text``; ``abusive`` if any is not merely vulgar."""
        words = _words(text)
        found: dict[Entry, None] = {}
        for readings in words:
            if readings and any(r in self._allowed for r in readings):
                continue
            for reading in readings or ():
                for entry in self._exact.get(reading, ()):
                    found[entry] = None
                for endings, entry in self._compound:
                    if any(reading.endswith(e) for e in endings):
                        found[entry] = None
        for pattern, entry in self._phrases:
            size = len(pattern)
            for i in range(len(words) - size + 1):
                window = words[i : i + size]
                if all(
                    w is not None and any(r in p for r in w)
                    for w, p in zip(window, pattern, strict=True)
                ):
                    found[entry] = None
                    break
        hits = tuple(Hit(e.term, e.category) for e in found)
        return Assessment(any(h.category in ABUSIVE_CATEGORIES for h in hits), hits)


@lru_cache(maxsize=1)
def default_detector() -> AbuseDetector:
    """The detector of the shipped German word list (loaded on first use)."""
    return AbuseDetector.from_file()


def assess(text: str) -> Assessment:
    """Assess ``text`` with the shipped German word list."""
    return default_detector().assess(text)
