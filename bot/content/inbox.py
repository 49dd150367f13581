"""The editors' inbox: what the assistant did not understand, grouped for review (issue 5).

Collecting (the web app, ``bot/web/chat_api.py``, in the transaction of the triggering write,
each call wrapped in :func:`collect` so the inbox can never fail a customer's request):

* :func:`record_fallback`: the bot answered with a fallback (message metadata
  ``decision: fallback``) → the customer's message of that turn.
* :func:`record_feedback`: a thumbs down for an answer → the customer question that led to the
  newest answer of that topic in the conversation (``faq_id`` = the topic), or the topic's
  title when no such question can be found.
* :func:`record_handoff`: the conversation was handed to a person (``handoff: queued`` or
  ``offline``) → the newest customer question the bot answered before the request, if any.

Which customer message an item is about:

* Texts are the customer messages as stored, i.e. masked (``bot.privacy.mask``).
* Button clicks are never inbox texts (a message with a ``payload``, or a typed ``/intent``).
  A click on a button the bot offered just before ("Meinten Sie …?" options, "Nichts davon",
  "Mit einer Person sprechen") stands for the message the bot was answering with those buttons,
  so the chain is followed back to the typed question (at most ``BUTTON_CHAIN_STEPS`` clicks).
* A message without a word of content (``ja``, ``hallo``, ``???``: only ``STOPWORDS``) is not
  worth reviewing.
* Handoff rule: the request itself (the message of the turn that handed over, typed or clicked)
  is not an inbox text; the item is the newest earlier customer message, at most
  ``LOOKBACK_MESSAGES`` messages back, that is typed, worth reviewing and was answered by the
  bot (the next message is the bot's, so messages to an agent never count). Its ``faq_id`` is
  the topic the bot answered it with, if any. No such message: no item.
* One customer message makes at most one item, whatever the kind and state: a fallback and the
  handoff that follows count once, and a dismissed message does not come back.
* ``message_seq`` is the seq of that customer message; for a thumbs down whose question is
  unknown it is the answer's seq (so :func:`excerpt` centres on the answer).

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

Resolving (editors): :func:`add_as_variant`, :func:`start_topic`, :func:`dismiss`. Only open
items can be resolved; each step is audited. Errors are ``ContentError`` subclasses with German
messages; as with every content function the caller commits, and rolls back on an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

from sqlalchemy import desc, func, null, select, update
from sqlalchemy.orm import Session

from bot.chat.models import Message
from bot.content import repository
from bot.content.models import ContentRevision, ContentTopic, InboxItem
from bot.content.repository import Actor, ContentError, InvalidContent, NotAllowed
from bot.nlu.normalize import fold, fold_token, question_key
from bot.privacy import (
    CONTRACT_PLACEHOLDER,
    CUSTOMER_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    IBAN_PLACEHOLDER,
    METER_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    mask,
)

logger = logging.getLogger(__name__)

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
# How far back (messages) a trigger looks for the customer message it is about.
LOOKBACK_MESSAGES: Final = 30
# Shortest word that counts as a part of a compound ("gas" would match too much).
MIN_COMPOUND_PART: Final = 4
# Clicks followed back to the typed question ("Meinten Sie …?" → "Nichts davon" → …).
BUTTON_CHAIN_STEPS: Final = 3

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

# What bot.privacy.mask puts in place of personal data: never part of a learnt question.
MASK_PLACEHOLDERS: Final = (
    IBAN_PLACEHOLDER,
    EMAIL_PLACEHOLDER,
    PHONE_PLACEHOLDER,
    CUSTOMER_PLACEHOLDER,
    CONTRACT_PLACEHOLDER,
    METER_PLACEHOLDER,
)
_SPLIT = re.compile(r"[^\w-]+")
_Record = Callable[..., InboxItem | None]


class UnknownInboxItem(ContentError):
    """No inbox item with this id (or it went with its deleted conversation)."""


@dataclass(frozen=True)
class InboxEntry:
    """One item of a group, as editors see it (no conversation id: that grants access).

    Attributes:
        id: the item's id (for :func:`excerpt` and the resolving functions).
        kind: ``fallback``, ``feedback`` or ``handoff``.
        text: the masked customer message (or a topic title, see the module docstring).
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


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


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


def _representative(items: Sequence[InboxItem]) -> str:
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
                text=_representative(grouped),
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


# --- collecting ------------------------------------------------------------------------------


def collect(session: Session, record: _Record, /, **kwargs: Any) -> InboxItem | None:
    """Run one ``record_*`` function so that it can never fail the customer's request.

    It runs in a SAVEPOINT of the caller's transaction: on any error only the inbox work is
    rolled back and logged (without texts), and the caller's writes go on.

    Args:
        session: the caller's session, inside its transaction and after its own writes
            (pysqlite begins a transaction only at the first write; a SAVEPOINT before it
            would commit on release).
        record: :func:`record_fallback`, :func:`record_feedback` or :func:`record_handoff`.
        **kwargs: the keyword arguments of ``record``.

    Returns:
        The new item, or None (nothing worth collecting, or an error).
    """
    try:
        with session.begin_nested():
            return record(session, **kwargs)
    except Exception as exc:  # the inbox is a by-product: never break a chat for it
        logger.warning(
            "inbox: %s failed (%s); the chat goes on without it",
            getattr(record, "__name__", "record"),
            type(exc).__name__,
        )
        logger.debug("inbox failure", exc_info=True)
        return None


def _click(message: Message) -> str | None:
    """The payload if the message is a button click (or a typed ``/intent``), else None."""
    payload = (message.meta or {}).get("payload")
    if isinstance(payload, str) and payload:
        return payload
    return message.text if message.text.startswith("/") else None


def _history(session: Session, conversation_id: str, up_to: int) -> list[Message]:
    """The messages with seq in (up_to - LOOKBACK_MESSAGES, up_to], oldest first."""
    statement = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.seq > up_to - LOOKBACK_MESSAGES,
            Message.seq <= up_to,
        )
        .order_by(Message.seq)
    )
    return list(session.execute(statement).scalars())


def _last_customer(messages: Sequence[Message], before: int) -> int | None:
    """Index of the last customer message before index ``before``."""
    for index in range(before - 1, -1, -1):
        if messages[index].sender == "customer":
            return index
    return None


def _question_behind(messages: Sequence[Message], index: int) -> Message | None:
    """The typed customer message that ``messages[index]`` (a customer message) stands for.

    A click on a button of the bot messages right before it stands for the customer message
    those bot messages answered; any other click stands for nothing.
    """
    for _ in range(BUTTON_CHAIN_STEPS + 1):
        message = messages[index]
        payload = _click(message)
        if payload is None:
            return message if worth_reviewing(message.text) else None
        offered: set[str] = set()
        previous = index - 1
        while previous >= 0 and messages[previous].sender == "bot":
            offered.update(str(b.get("payload")) for b in messages[previous].buttons or [])
            previous -= 1
        if payload not in offered:
            return None
        found = _last_customer(messages, previous + 1)
        if found is None:
            return None
        index = found
    return None


def _known(
    session: Session, conversation_id: str, message_seq: int | None, kind: str, faq_id: str | None
) -> bool:
    """True when the conversation has an item for this message already (any kind and state).

    Without a message (a thumbs down for a topic never answered here): an item of the same
    kind and topic.
    """
    statement = select(InboxItem.id).where(InboxItem.conversation_id == conversation_id)
    if message_seq is not None:
        statement = statement.where(InboxItem.message_seq == message_seq)
    else:
        statement = statement.where(
            InboxItem.message_seq == null(), InboxItem.kind == kind, InboxItem.faq_id == faq_id
        )
    return session.execute(statement.limit(1)).first() is not None


def _add(
    session: Session,
    *,
    conversation_id: str,
    kind: str,
    text: str,
    message_seq: int | None,
    faq_id: str | None = None,
    now: datetime | None = None,
) -> InboxItem | None:
    if _known(session, conversation_id, message_seq, kind, faq_id):
        return None
    item = InboxItem(
        conversation_id=conversation_id,
        message_seq=message_seq,
        kind=kind,
        text=text,
        faq_id=faq_id,
        created_at=_now(now),
        state="open",
    )
    session.add(item)
    session.flush()
    return item


def record_fallback(
    session: Session, *, conversation_id: str, message_seq: int, now: datetime | None = None
) -> InboxItem | None:
    """Collect the customer message the bot answered with a fallback.

    Args:
        session: the open session.
        conversation_id: the conversation.
        message_seq: the seq of the customer message of that turn.
        now: the time of collection.

    Returns:
        The new item, or None (a click that stands for no typed question, nothing worth
        reviewing, or the message is already in the inbox).
    """
    messages = _history(session, conversation_id, message_seq)
    if not messages or messages[-1].seq != message_seq or messages[-1].sender != "customer":
        return None
    question = _question_behind(messages, len(messages) - 1)
    if question is None:
        return None
    return _add(
        session,
        conversation_id=conversation_id,
        kind="fallback",
        text=question.text,
        message_seq=question.seq,
        now=now,
    )


def record_feedback(
    session: Session, *, conversation_id: str, faq_id: str, now: datetime | None = None
) -> InboxItem | None:
    """Collect the question behind a thumbs-down answer of topic ``faq_id``.

    The answer is the newest bot message of that topic in the conversation; the question the
    last customer message before it (a click is followed back, see the module docstring).
    Without one, the text is the topic's title.

    Returns:
        The new item, or None (an unknown topic never answered here, or already collected).
    """
    answer_seq = session.execute(
        select(func.max(Message.seq)).where(
            Message.conversation_id == conversation_id,
            Message.sender == "bot",
            Message.faq_id == faq_id,
        )
    ).scalar_one_or_none()
    question: Message | None = None
    if answer_seq is not None:
        messages = _history(session, conversation_id, answer_seq)
        index = _last_customer(messages, len(messages) - 1)
        question = _question_behind(messages, index) if index is not None else None
    if question is not None:
        return _add(
            session,
            conversation_id=conversation_id,
            kind="feedback",
            text=question.text,
            message_seq=question.seq,
            faq_id=faq_id,
            now=now,
        )
    topic = session.get(ContentTopic, faq_id)
    if topic is None and answer_seq is None:
        return None
    title = str((topic.data if topic else {}).get("title") or faq_id)
    return _add(
        session,
        conversation_id=conversation_id,
        kind="feedback",
        text=title,
        message_seq=answer_seq,
        faq_id=faq_id,
        now=now,
    )


def record_handoff(
    session: Session, *, conversation_id: str, request_seq: int, now: datetime | None = None
) -> InboxItem | None:
    """Collect the newest question the bot answered before a request for a person.

    Args:
        session: the open session.
        conversation_id: the conversation.
        request_seq: the seq of the customer message that asked for a person (not collected).
        now: the time of collection.

    Returns:
        The new item, or None (see the handoff rule in the module docstring).
    """
    messages = _history(session, conversation_id, request_seq)
    for index in range(len(messages) - 2, -1, -1):
        message = messages[index]
        if message.seq >= request_seq or message.sender != "customer":
            continue
        if _click(message) or not worth_reviewing(message.text):
            continue
        following = messages[index + 1]
        if following.sender != "bot":
            continue
        answered = next((m.faq_id for m in _bot_run(messages, index + 1) if m.faq_id), None)
        return _add(
            session,
            conversation_id=conversation_id,
            kind="handoff",
            text=message.text,
            message_seq=message.seq,
            faq_id=answered,
            now=now,
        )
    return None


def _bot_run(messages: Sequence[Message], start: int) -> list[Message]:
    """The bot messages from index ``start`` up to the next message of someone else."""
    run = []
    for message in messages[start:]:
        if message.sender != "bot":
            break
        run.append(message)
    return run


# --- resolving -------------------------------------------------------------------------------


def _open_items(session: Session, item_ids: Iterable[int]) -> list[InboxItem]:
    """The items, all of which must exist and be open.

    Raises:
        NotAllowed: no item given, or one is already resolved.
        UnknownInboxItem: an id names no item.
    """
    ids = sorted(set(item_ids))
    if not ids:
        raise NotAllowed("Bitte wählen Sie mindestens einen Eintrag aus.")
    statement = select(InboxItem).where(InboxItem.id.in_(ids))  # type: ignore[attr-defined]
    rows = session.execute(statement).scalars().all()
    found = {row.id: row for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownInboxItem(
            f"Den Eintrag {missing[0]} gibt es nicht (mehr)."
            if len(missing) == 1
            else f"Die Einträge {', '.join(map(str, missing))} gibt es nicht (mehr)."
        )
    if any(found[i].state != "open" for i in ids):
        raise NotAllowed(
            "Mindestens ein Eintrag wurde schon bearbeitet. Bitte laden Sie den Posteingang neu."
        )
    return [found[i] for i in ids]


def _resolve(
    session: Session,
    items: Sequence[InboxItem],
    *,
    state: str,
    actor: Actor,
    now: datetime,
    topic_id: str | None = None,
) -> None:
    """Mark open items resolved; conditional on ``open``, so of two editors only one wins.

    Raises:
        NotAllowed: another editor resolved one of them in the meantime.
    """
    ids = [item.id for item in items]
    result = session.execute(
        update(InboxItem)
        .where(InboxItem.id.in_(ids), InboxItem.state == "open")  # type: ignore[attr-defined]
        .values(state=state, resolved_by=actor.name, resolved_at=now, resolved_topic=topic_id)
        .execution_options(synchronize_session="evaluate")
    )
    if result.rowcount != len(ids):
        raise NotAllowed(
            "Jemand anderes hat diese Einträge gerade bearbeitet. Bitte laden Sie neu."
        )


def add_as_variant(
    session: Session,
    *,
    item_ids: Iterable[int],
    topic_id: str,
    text: str,
    actor: Actor,
    knowledge_dir: Path,
    now: datetime | None = None,
) -> ContentRevision:
    """Add ``text`` (the editor's wording of the items) as a question variant of a topic.

    Publishes the topic with the new question and queues a retraining, or with the four-eyes
    rule on sends it for review (``repository.add_question``); the items become ``added`` with
    ``resolved_topic`` either way.

    Args:
        session: the open session.
        item_ids: the open items the question stands for (e.g. a group's ``item_ids``).
        topic_id: the topic that answers them.
        text: the question as it should be learnt (edited, without personal data).
        actor: the editor.
        knowledge_dir: the knowledge directory (facts, utility profile) for validation.
        now: the time of the change.

    Returns:
        The revision: ``published``, or ``pending`` with the four-eyes rule.

    Raises:
        NotAllowed: no items, or one is no longer open.
        UnknownInboxItem: an id names no item.
        UnknownTopic: no such topic.
        InvalidContent: the question is empty, a button value, still has a placeholder of
            masked personal data ("[IBAN]"), is already a question of a topic, or the topic
            does not validate with it.
    """
    when = _now(now)
    items = _open_items(session, item_ids)
    question = " ".join(text.split())
    if not question_key(question):
        raise InvalidContent(["Feld 'questions': Die Frage ist leer."])
    if question.startswith("/"):
        raise InvalidContent(["Feld 'questions': Ein Button-Wert ist keine Frage."])
    for placeholder in MASK_PLACEHOLDERS:
        if placeholder in question:
            raise InvalidContent(
                [
                    f"Feld 'questions': Bitte ersetzen Sie den Platzhalter {placeholder} "
                    "durch eine allgemeine Formulierung."
                ]
            )
    if mask(question) != question:
        # The editor typed personal data (an IBAN, a phone number, an e-mail address) into
        # the question: it would go into the content, the training data and the audit log.
        raise InvalidContent(
            ["Feld 'questions': Die Frage enthält persönliche Daten (IBAN, Telefonnummer oder "
             "E-Mail-Adresse). Bitte formulieren Sie sie allgemein."]
        )
    repository.published(session, topic_id)  # UnknownTopic before anything else
    key = question_key(question)
    for other_id, doc in repository.published_documents(session).items():
        if any(question_key(str(q)) == key for q in doc.get("questions") or []):
            title = doc.get("title") or other_id
            raise InvalidContent(
                [f"Feld 'questions': „{question}“ ist schon eine Frage des Themas „{title}“."]
            )
    revision = repository.add_question(
        session,
        topic_id=topic_id,
        question=question,
        actor=actor,
        knowledge_dir=knowledge_dir,
        now=when,
    )
    _resolve(session, items, state="added", actor=actor, now=when, topic_id=topic_id)
    repository.audit(
        session,
        actor=actor,
        action="inbox.add",
        target=topic_id,
        now=when,
        detail={
            "items": [i.id for i in items],
            "question": question,
            "revision": revision.id,
            "state": revision.state,
        },
    )
    return revision


def start_topic(
    session: Session, *, item_ids: Iterable[int], actor: Actor, now: datetime | None = None
) -> str:
    """Mark items as the start of a new topic; return the text for its first question.

    The new topic itself is created by the editor (a draft); the items are ``new_topic``.

    Returns:
        The representative text of the items (the same rule as a group's ``text``).

    Raises:
        NotAllowed: no items, or one is no longer open.
        UnknownInboxItem: an id names no item.
    """
    when = _now(now)
    items = _open_items(session, item_ids)
    prefill = _representative(items)
    _resolve(session, items, state="new_topic", actor=actor, now=when)
    repository.audit(
        session,
        actor=actor,
        action="inbox.new_topic",
        target="inbox",
        now=when,
        detail={"items": [i.id for i in items]},
    )
    return prefill


def dismiss(
    session: Session, *, item_ids: Iterable[int], actor: Actor, now: datetime | None = None
) -> int:
    """Dismiss items (nothing to learn from them).

    Returns:
        How many items were dismissed.

    Raises:
        NotAllowed: no items, or one is no longer open.
        UnknownInboxItem: an id names no item.
    """
    when = _now(now)
    items = _open_items(session, item_ids)
    _resolve(session, items, state="dismissed", actor=actor, now=when)
    repository.audit(
        session,
        actor=actor,
        action="inbox.dismiss",
        target="inbox",
        now=when,
        detail={"items": [i.id for i in items]},
    )
    return len(items)


def open_count(session: Session) -> int:
    """The number of open items (e.g. for a badge in the editors' navigation)."""
    return int(
        session.execute(
            select(func.count()).select_from(InboxItem).where(InboxItem.state == "open")
        ).scalar_one()
    )
