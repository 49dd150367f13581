"""Grouping the inbox's open items by similarity, and reading them (issue 5).

Grouping (:func:`open_groups`): texts are normalised with ``bot.nlu.normalize`` (``fold`` and
``fold_token``: lower case, umlauts folded, hyphenated compounds joined); German function words
(``STOPWORDS``) are dropped unless nothing else is left. The similarity of two texts is the mean
of (a) the Dice overlap of their word sets, where a word also counts as shared when it is a
compound part of a word of the other text ("soforthilfe" in "dezembersoforthilfe"), and (b) the
Jaccard similarity of their character-trigram sets (trigrams of each word padded with spaces,
which catches inflections and typos). Identical normalised texts are merged first; then the
texts are clustered greedily in id order: a text joins the group whose first ``GROUP_SAMPLE``
texts it resembles most on average if that average is at least ``SIMILARITY_THRESHOLD``, else
it starts a group. Same input, same groups.

Reading: :func:`open_groups`, :func:`get_item`, :func:`excerpt` (the conversation around an
item, as stored: masked) and :func:`open_count`. :func:`worth_reviewing` (a text with a word of
content) also decides which customer messages are collected (``bot.content.inbox.collecting``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from bot.chat.models import Message
from bot.content.inbox.common import UnknownInboxItem
from bot.content.models import InboxItem
from bot.nlu.normalize import fold, fold_token

# Mean similarity (module docstring) from which two texts are one group; measured on paraphrases
# of the demo topics. Together: "Wann kommt die Soforthilfe?" with "Wann kommt denn die
# Dezember-Soforthilfe" 0.80, "Wann gibt es die Soforthilfe" 0.68, the typo "Sofothilfe" 0.61,
# "Zählerstand melden" with "Kann ich meinen Zählerstand online melden?" 0.78. Apart: the same
# question frame about another topic ("Wann kommt die Gaspreisbremse?") 0.33, "Gaspreisbremse
# beantragen" with "Strompreisbremse beantragen" 0.58. Precision over recall: a paraphrase split
# off costs the editor one more click; two topics in one group invite a wrong variant.
SIMILARITY_THRESHOLD: Final = 0.6
# An item is compared with this many distinct texts of a group (its first ones): enough for a
# stable average, and it keeps grouping linear in the number of groups.
GROUP_SAMPLE: Final = 8
# Open items grouped at once (the newest; older ones show once these are resolved). Grouping is
# quadratic in the worst case: 1000 items of 1000 different question variants of the knowledge
# base take about 0.6 s, 2000 about 2.3 s (sharing words with many groups is the worst case).
MAX_GROUPED_ITEMS: Final = 1000
# Shortest word that counts as a part of a compound ("gas" would match too much).
MIN_COMPOUND_PART: Final = 4

# German function words, greetings and fillers, folded like the texts ("für" → "fuer"):
# they make unrelated questions look alike ("Wann kommt die …?") and carry no topic.
STOPWORDS: Final = frozenset(
    """
    der die das den dem des ein eine einer einem einen eines
    ich du er sie es wir ihr man mich mir dich dir uns euch ihm ihn ihnen
    mein meine meinen meinem meiner meines dein deine deinen sein seine seinen
    ihre ihren ihrem ihrer ihres unser unsere unseren unserem euer eure
    wer wen wem wie was wann wo warum wieso weshalb welche welcher welches welchen welchem
    woher wohin wofuer womit wobei wieviel wieviele
    an am auf aus bei beim bis durch fuer gegen im in ins mit nach ohne seit ueber um unter
    von vom vor zu zum zur
    und oder aber denn dass ob wenn weil als so sondern
    bin bist ist sind seid war waren wird wirst werden wurde wurden sei
    hat habe haben hast hatte hatten kann kannst koennen koennte muss muessen darf duerfen
    soll sollen will wollen moechte moechten wuerde wuerden gibt
    auch noch schon nur mal doch ja nein nicht kein keine keinen eigentlich bitte genau
    gerade etwa eben hier da dort jetzt dann also halt
    hallo hi hey danke ok okay
    """.split()
)

_SPLIT = re.compile(r"[^\w-]+")


@dataclass(frozen=True)
class InboxEntry:
    """One item of a group, as editors see it (no conversation id: that grants access).

    Attributes:
        id: the item's id (for :func:`excerpt` and the resolving functions).
        kind: ``fallback``, ``feedback`` or ``handoff``.
        text: the masked customer message (or a topic title, see ``bot.content.inbox.collecting``).
        faq_id: the topic a thumbs down or the answer before a handoff was about, else None.
        created_at: when it was collected (aware UTC).
    """

    id: int
    kind: str
    text: str
    faq_id: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``created_at`` as ISO 8601 with ``Z``)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "faq_id": self.faq_id,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class InboxGroup:
    """Open items with similar texts.

    Attributes:
        text: the representative text (the most frequent wording, as a customer wrote it); the
            editor's starting point for a new question variant.
        count: the number of items.
        kinds: the distinct kinds among them, sorted (``("fallback", "handoff")``).
        item_ids: every item's id, ascending (pass them to the resolving functions).
        newest_at: when the newest item was collected.
        faq_ids: distinct topics named by the items (thumbs down, answer before a handoff).
        entries: the items, newest first.
    """

    text: str
    count: int
    kinds: tuple[str, ...]
    item_ids: tuple[int, ...]
    newest_at: datetime
    faq_ids: tuple[str, ...]
    entries: tuple[InboxEntry, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (times as ISO 8601 with ``Z``)."""
        return {
            "text": self.text,
            "count": self.count,
            "kinds": list(self.kinds),
            "item_ids": list(self.item_ids),
            "newest_at": _iso(self.newest_at),
            "faq_ids": list(self.faq_ids),
            "entries": [entry.as_dict() for entry in self.entries],
        }


def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --- similarity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Features:
    words: frozenset[str]
    trigrams: frozenset[str]
    # Each word's possible compound parts, and all of them together (for ``_word_overlap``).
    affixes: dict[str, frozenset[str]]
    parts: frozenset[str]


def _words(text: str) -> list[str]:
    """Folded words, hyphenated compounds joined ("Gas-Preisbremse" → "gaspreisbremse")."""
    return [w for w in (fold_token(t).strip("-") for t in _SPLIT.split(fold(text))) if w]


def _key(text: str) -> str:
    """The normalised text: identical keys are one wording."""
    return " ".join(_words(text))


def _affixes(word: str) -> set[str]:
    """The word's proper prefixes and suffixes that can be compound parts."""
    return {part for n in range(MIN_COMPOUND_PART, len(word)) for part in (word[:n], word[-n:])}


def _content_words(text: str) -> list[str]:
    words = _words(text)
    return [w for w in words if w not in STOPWORDS and len(w) > 1] or words


def _features(text: str) -> _Features:
    words = _content_words(text)
    trigrams = {f" {w} "[i : i + 3] for w in words for i in range(len(w))}
    affixes = {w: frozenset(_affixes(w)) for w in words}
    parts = frozenset(p for a in affixes.values() for p in a)
    return _Features(frozenset(words), frozenset(trigrams), affixes, parts)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _shared_words(a: _Features, b: _Features) -> int:
    """How many words of ``a`` have a related word in ``b``.

    Related: equal, or one is a compound part of the other, a prefix or suffix of at least
    ``MIN_COMPOUND_PART`` letters ("soforthilfe" in "dezembersoforthilfe").
    """
    return sum(
        1 for x in a.words if x in b.words or x in b.parts or not a.affixes[x].isdisjoint(b.words)
    )


def _word_overlap(a: _Features, b: _Features) -> float:
    """Dice coefficient of two word sets where related words count as shared."""
    if not a.words and not b.words:
        return 1.0
    return (_shared_words(a, b) + _shared_words(b, a)) / (len(a.words) + len(b.words))


def _similarity(a: _Features, b: _Features) -> float:
    return (_word_overlap(a, b) + _jaccard(a.trigrams, b.trigrams)) / 2


def similarity(a: str, b: str) -> float:
    """How alike two customer texts are for grouping, 0..1 (see the module docstring)."""
    return _similarity(_features(a), _features(b))


def worth_reviewing(text: str) -> bool:
    """True when a text has a word of content (not only stopwords like "ja", "hallo")."""
    return any(w not in STOPWORDS and len(w) > 1 for w in _words(text))


def _cluster(keys: Sequence[str]) -> list[list[int]]:
    """Greedy average-link clustering of distinct keys, in order (indices into ``keys``).

    A group can reach the threshold only if one of its compared texts shares a related word
    with the new text (the word part of the similarity must be at least 2 × threshold - 1 > 0),
    so only such groups are scored; two indexes of the compared texts' words find them: by
    word, and by the words' compound parts.
    """
    features = [_features(k) for k in keys]
    groups: list[list[int]] = []
    by_word: dict[str, set[int]] = {}
    by_part: dict[str, set[int]] = {}
    for index, feature in enumerate(features):
        candidates: set[int] = set()
        for word in feature.words:
            candidates |= by_word.get(word, set()) | by_part.get(word, set())
            if len(word) >= MIN_COMPOUND_PART:
                for part in _affixes(word):
                    candidates |= by_word.get(part, set())
        best: int | None = None
        best_score = SIMILARITY_THRESHOLD
        for number in sorted(candidates):
            sample = groups[number][:GROUP_SAMPLE]
            score = sum(_similarity(feature, features[m]) for m in sample) / len(sample)
            # ">=" for the first candidate, then ">": on a tie the older group wins.
            if score > best_score or (best is None and score >= best_score):
                best, best_score = number, score
        if best is None:
            best = len(groups)
            groups.append([])
        groups[best].append(index)
        if len(groups[best]) <= GROUP_SAMPLE:  # only the compared texts are indexed
            for word in feature.words:
                by_word.setdefault(word, set()).add(best)
                for part in _affixes(word):
                    by_part.setdefault(part, set()).add(best)
    return groups


def representative(items: Sequence[InboxItem]) -> str:
    """The most frequent wording; on a tie the one most like the others, then the oldest.

    "The others" are the group's first ``GROUP_SAMPLE`` wordings, as in the clustering.
    """
    by_key: dict[str, list[InboxItem]] = {}
    for item in sorted(items, key=lambda i: i.id):
        by_key.setdefault(_key(item.text), []).append(item)
    features = {key: _features(key) for key in by_key}
    sample = list(by_key)[:GROUP_SAMPLE]

    def rank(key: str) -> tuple[int, float]:
        others = [features[k] for k in sample if k != key]
        mean = sum(_similarity(features[key], o) for o in others) / len(others) if others else 0
        return len(by_key[key]), mean

    best = max(by_key, key=rank)  # max keeps the first (oldest) key among equals
    return by_key[best][0].text


# --- reading ---------------------------------------------------------------------------------


def open_groups(session: Session, *, limit: int = 50) -> list[InboxGroup]:
    """The open items grouped by similarity, the largest groups first.

    Args:
        session: the open session.
        limit: at most this many groups (ordered by count, then newest item, then oldest id).

    Returns:
        The groups; at most ``MAX_GROUPED_ITEMS`` of the newest open items are grouped.
    """
    newest = (
        select(InboxItem)
        .where(InboxItem.state == "open")
        .order_by(desc(InboxItem.id))
        .limit(MAX_GROUPED_ITEMS)
    )
    items = sorted(session.execute(newest).scalars(), key=lambda i: i.id)
    by_key: dict[str, list[InboxItem]] = {}
    for item in items:
        by_key.setdefault(_key(item.text), []).append(item)
    keys = list(by_key)
    groups = []
    for members in _cluster(keys):
        grouped = sorted((i for m in members for i in by_key[keys[m]]), key=lambda i: i.id)
        groups.append(
            InboxGroup(
                text=representative(grouped),
                count=len(grouped),
                kinds=tuple(sorted({i.kind for i in grouped})),
                item_ids=tuple(i.id for i in grouped),
                newest_at=max(i.created_at for i in grouped),
                faq_ids=tuple(sorted({i.faq_id for i in grouped if i.faq_id})),
                entries=tuple(
                    InboxEntry(i.id, i.kind, i.text, i.faq_id, i.created_at)
                    for i in reversed(grouped)
                ),
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.newest_at.timestamp(), g.item_ids[0]))
    return groups[: max(limit, 0)]


def get_item(session: Session, item_id: int) -> InboxItem:
    """One inbox item.

    Raises:
        UnknownInboxItem: no such item.
    """
    item: InboxItem | None = session.get(InboxItem, item_id)
    if item is None:
        raise UnknownInboxItem(f"Den Eintrag {item_id} gibt es nicht (mehr).")
    return item


def excerpt(
    session: Session, item_id: int, *, before: int = 4, after: int = 2
) -> list[dict[str, Any]]:
    """The conversation around an item, as stored (masked texts), oldest first.

    Args:
        session: the open session.
        item_id: the inbox item.
        before: messages before the item's message.
        after: messages after it (usually the bot's answer).

    Returns:
        One dict per message: ``seq`` (int), ``sender`` (``customer``/``bot``/``agent``/
        ``system``), ``text`` (str, masked), ``buttons`` (list of button titles), ``faq_id``
        (str or None), ``created_at`` (ISO 8601 with ``Z``) and ``is_item`` (True for the
        message the item is about).

    Raises:
        UnknownInboxItem: no such item.
    """
    item = get_item(session, item_id)
    center = item.message_seq
    if center is None:  # a thumbs down without a question in the chat: the time it came
        center = (
            session.execute(
                select(func.max(Message.seq)).where(
                    Message.conversation_id == item.conversation_id,
                    Message.created_at <= item.created_at,
                )
            ).scalar_one_or_none()
            or 0
        )
    statement = (
        select(Message)
        .where(
            Message.conversation_id == item.conversation_id,
            Message.seq >= center - max(before, 0),
            Message.seq <= center + max(after, 0),
        )
        .order_by(Message.seq)
    )
    return [
        {
            "seq": m.seq,
            "sender": m.sender,
            "text": m.text,
            "buttons": [str(b.get("title", "")) for b in m.buttons or []],
            "faq_id": m.faq_id,
            "created_at": _iso(m.created_at),
            "is_item": m.seq == item.message_seq,
        }
        for m in session.execute(statement).scalars()
    ]


def open_count(session: Session) -> int:
    """The number of open items (e.g. for a badge in the editors' navigation)."""
    return int(
        session.execute(
            select(func.count()).select_from(InboxItem).where(InboxItem.state == "open")
        ).scalar_one()
    )
