"""Whether a message shows anger or distress: the complaint acknowledgement needs a sign of it.

The classifier's ``upset`` intent is learnt from angry and desperate messages, but a short
statement about one's situation reads the same to it: "Ich bin Mieter." (0.45), "Ich heize mit
Öl." (0.34), "Meine Tochter ist ausgezogen, wir sind nur noch zu zweit." (0.99). Answering those
with an acknowledgement of anger and a person on offer is presumptuous (development sets: 111
messages flagged as complaints by an ``upset`` reading of the whole or of a part, many of them
matter-of-fact). So a complaint must also *show* a feeling, by one of:

- a word of anger or distress (:data:`FEELING_WORDS`, folded: "wütend", "Frechheit",
  "Abzocke", "verzweifelt", "Angst", "kann ich nicht bezahlen" …);
- shouting: at least :data:`SHOUTED_WORDS` words of three or more letters in capitals;
- emphatic punctuation: "!!", "??", "?!", "!?";
- an insult or a vulgar word the agents' abuse filter knows (:mod:`bot.moderation.abuse`).

Pure functions, no Rasa.
"""

from __future__ import annotations

import re

from bot.moderation.abuse import assess
from bot.nlu.normalize import fold

# Stems and phrases on folded text (lower case, ä → ae, ß → ss); a stem matches word starts
# ("wuetend" also "wuetende"), so "sauer" is a whole word only ("Sauerstoff" is no feeling).
FEELING_WORDS = (
    r"wuet(?:end|e\b)", r"\bwut\b", r"\bsauer\b", r"saueres?i", r"\baerger", r"\bveraerger",
    r"frechheit", r"unverschaemt", r"unverschamt", r"abzock", r"\bbetrug", r"betrueger",
    r"ungerecht", r"\bunfair", r"\bskandal", r"zumutung", r"laecherlich", r"\bunmoeglich",
    r"\bnutzlos", r"\bgenervt", r"\bnervt\b", r"enttaeusch", r"verarsch", r"\bfrech\b",
    r"reicht (?:es )?mir", r"kein(?:en)? schritt weiter", r"kein service",
    r"\bverzweifel", r"\bangst\b", r"\bpanik", r"\bschaeme\b", r"\bschaem", r"ueberfordert",
    r"\bsorgen? (?:mach|hab)", r"\b(?:bin|sind)\b[\w ]{0,25}\bam ende\b", r"\bkaum noch\b",
    r"nicht machbar", r"in die (?:eigene )?tasche", r"versteht doch kein",
    r"(?:dreimal|viermal|zigmal|x-mal|mehrmals|mehrfach) (?:\w+ )?"
    r"(?:versucht|angerufen|geschrieben)",
    r"weiss (?:echt |wirklich )?nicht,? wie ich",
    r"nicht (?:mehr )?(?:bezahlen|leisten|aufbringen)",
    r"kann doch nicht (?:sein|rechtens|wahr)", r"das (?:darf|kann) doch nicht",
    r"explodier", r"\bkatastroph", r"\bschlimm", r"\bhorror", r"\bwahnsinn",
)
_FEELING = re.compile("|".join(FEELING_WORDS))
# "ICH ZAHLE JETZT 190 EURO": capitals in this many words of three or more letters shout.
SHOUTED_WORDS = 3
_SHOUTED = re.compile(r"\b[A-ZÄÖÜ]{3,}\b")
_EMPHATIC = re.compile(r"[!?]\s*[!?]")


def shows_feeling(text: str) -> bool:
    """Whether ``text`` shows anger or distress (see the module docstring for the signs)."""
    if _EMPHATIC.search(text) or len(_SHOUTED.findall(text)) >= SHOUTED_WORDS:
        return True
    if _FEELING.search(" ".join(fold(text).split())):
        return True
    return bool(assess(text).hits)  # an insult or a vulgar word
