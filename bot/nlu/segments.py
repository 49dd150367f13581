"""Split a customer message into the questions it asks (issue 16).

"Wie lange galt die Gaspreisbremse? Und muss ich die Soforthilfe versteuern?" asks two things;
so does a long letter that tells a story and asks at its end. The classifier scores each part
(``bot.nlu.components.TunableLogisticRegressionClassifier``), and the decision answers the best
one and offers the others (``bot.dialogue.decision``).

Parts are sentences (``.``, ``?``, ``!``, ``;``, line breaks) and, inside a sentence, clauses
opened by "und"/"außerdem"/"zudem"/"sowie" followed by a question word ("… und wie lange galt
das?"). "und" between two nouns ("Gas und Strom") does not split. Parts of fewer than
``MIN_WORDS`` words are joined to the part before, so that "Danke. Und bei Strom?" stays one
question about electricity and a greeting does not become a question of its own.
"""

from __future__ import annotations

import re

MIN_WORDS = 3
# At most this many parts are scored; a longer letter keeps its last parts joined to the last.
MAX_SEGMENTS = 8

# A full stop after an abbreviation ("ca. 18.000 kWh", "z. B.", "bzw.") ends no sentence.
_ABBREVIATIONS = (
    "ca", "bzw", "ggf", "evtl", "inkl", "zzgl", "usw", "etc", "nr", "str", "tel", "vgl", "mind",
    "max", "min", "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez",
    "z", "b", "d", "h", "u", "a", "o", "s",
)
_SENTENCE_END = re.compile(
    # The cheap look-behind first: the abbreviations are only tried after a full stop.
    r"(?<=[.?!;])" + "".join(rf"(?<!\b{a}\.)" for a in _ABBREVIATIONS) + r"\s+|\n+",
    re.IGNORECASE,
)
_CLAUSE = re.compile(
    r",?\s+(?=(?:und|außerdem|ausserdem|zudem|sowie|plus|oder)\s+"
    # "… und bis wann gilt sie?", "… und ab wann?"
    r"(?:(?:bis|ab|seit)\s+)?"
    r"(?:was|wie|wann|wo|warum|wieso|weshalb|wer|welche[rsmn]?|muss|kann|gilt|galt|gibt|gab|"
    r"bekomme|bekam|ist|sind|war|wird|wurde|habe|hab|soll|darf|noch|"
    # yes/no questions open with the verb: "… und werden meine Daten gespeichert?"
    r"werden|wurden|waren|müssen|muessen|können|koennen|bekommen|kriege|krieg|kriegen|"
    r"brauche|brauchen|gelten|lief|läuft|laeuft|"
    # ... and in the past: "… und musste man die versteuern?"
    r"musste|mussten|konnte|konnten|durfte|durften|sollte|sollten|hatte|hatten|bekamen|kam)\b)",
    re.IGNORECASE,
)
_STANDALONE = re.compile(
    r"\s*(?:außerdem|ausserdem|zudem|noch eine frage|weitere frage)\s*:?\s+"
    # Enumerated questions: "Erstens …, zweitens, ob …", "zum einen …, zum anderen …".
    r"|,?\s+(?=(?:und\s+)?(?:zweitens|drittens|viertens|zum anderen|zum zweiten)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        if match.start() > cursor:
            spans.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        spans.append((cursor, end))
    return spans


def split(text: str) -> list[tuple[int, int]]:
    """Character spans of the message's parts, in order (one span for a single question)."""
    parts: list[tuple[int, int]] = []
    for s_start, s_end in _spans(text, _SENTENCE_END, 0, len(text)):
        for c_start, c_end in _spans(text, _STANDALONE, s_start, s_end):
            parts.extend(_spans(text, _CLAUSE, c_start, c_end))
    merged: list[tuple[int, int]] = []
    for start, end in parts:
        if not text[start:end].strip():
            continue
        short = len(_WORD.findall(text[start:end])) < MIN_WORDS
        if merged and (short or len(merged) >= MAX_SEGMENTS):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    # A short first part ("Hallo!") belongs to the next one.
    if len(merged) > 1 and len(_WORD.findall(text[merged[0][0] : merged[0][1]])) < MIN_WORDS:
        merged[1] = (merged[0][0], merged[1][1])
        merged.pop(0)
    return merged or [(0, len(text))]


# A part asks something: a question mark, a question word anywhere ("ich möchte wissen, wie …",
# "zweitens, ob …") or a verb first ("Muss ich …", "Gilt das …"). "Ich bin bis 17 Uhr
# erreichbar." or "Abschlag aktuell 175 Euro." tell, and are not offered as questions; a demand
# ("ich will den Abschlag wieder runter haben") asks too.
_ASKS = re.compile(
    r"\?|\b(?:ob|was|wie|wieviel|wann|wo|woher|wohin|warum|wieso|weshalb|weswegen|wer|wem|wen|"
    r"welche[rsmn]?|will|möchte|moechte|hätte gern|haette gern|bitte)\b"
    r"|^\W*(?:und\s+|aber\s+|zweitens,?\s+|drittens,?\s+)?"
    r"(?:muss|müssen|muessen|kann|können|koennen|darf|dürfen|duerfen|soll|sollen|gilt|galt|"
    r"gelten|gibt|gab|bekomme|bekommen|krieg|kriege|kriegen|ist|sind|war|waren|wird|werden|"
    r"wurde|wurden|brauche|brauchen|zählt|zaehlt|lohnt|stimmt|hab|habe|haben|hat|"
    r"musste|mussten|konnte|konnten|durfte|durften|sollte|sollten|hatte|hatten|bekamen|kam)\b",
    re.IGNORECASE,
)


# A part that is put as a question: it ends with a question mark, or it opens with a question
# word or a verb ("Wie funktioniert …", "und gilt das auch …"). Stricter than _ASKS, where a
# "wie" inside a story ("… genau so hoch wie im Brief") counts as asking.
_OPENS_QUESTION = re.compile(
    r"^\W*(?:(?:und|aber|au(?:ß|ss)erdem|erstens|zweitens|drittens|also|dann)\W+)*"
    r"(?:(?:bis|ab|seit|für|fuer|an|von|bei|mit)\s+(?:wann|wem|wen|was|welche[rsmn]?)|"
    r"wo(?:für|fuer|mit|zu|von|rauf|ran|durch|nach)|inwiefern|"
    r"ob|was|wie|wieviel|wann|wo|woher|wohin|warum|wieso|weshalb|weswegen|wer|wem|wen|"
    r"welche[rsmn]?|muss|müssen|muessen|kann|können|koennen|darf|dürfen|duerfen|soll|sollen|"
    r"gilt|galt|gelten|gibt|gab|bekomme|bekommen|krieg|kriege|kriegen|ist|sind|war|waren|wird|"
    r"werden|wurde|wurden|brauche|brauchen|zählt|zaehlt|lohnt|stimmt|habe|haben|hat|"
    r"musste|mussten|konnte|konnten|durfte|durften|sollte|sollten|hatte|hatten|bekamen|kam)\b",
    re.IGNORECASE,
)


def is_put_as_question(part: str) -> bool:
    """Whether a part is put as a question (see ``_OPENS_QUESTION``), not only mentions one."""
    return part.rstrip().endswith("?") or bool(_OPENS_QUESTION.search(part))


def asks(part: str) -> bool:
    """Whether a part of a message asks something (and is no statement of the story)."""
    return bool(_ASKS.search(part))


def texts(text: str) -> list[str]:
    """The parts as strings (for tests and logs)."""
    return [text[a:b].strip() for a, b in split(text)]
