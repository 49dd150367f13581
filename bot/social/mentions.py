"""Mentions ("Erwähnungen"): RSS/Atom feeds polled for entries about the utility or a topic.

Social care is also proactive: noticing what people write about the utility before they
call. The feeds are configured in ``knowledge/utility.yml`` (a news search, a Mastodon hashtag
feed, a local forum)::

    mention_feeds:
      interval_minutes: 15                      # how often each feed is fetched
      terms: ["Stadtwerke Musterstadt"]        # what counts as naming the utility
      feeds:
        - name: Mastodon #Musterstadt
          url: https://mastodon.example/tags/musterstadt.rss

An entry that names the utility (a term, whole words, any case) or a topic of the knowledge
base (a keyword of its title, e.g. "Gaspreisbremse") becomes a :class:`Mention` with its link,
the matched terms, a topic guess and a done state for the agents' console. Nothing is ever
posted: agents decide whether and where to answer.

Fetching is this module's (:class:`FeedFetcher`: ``httpx`` with a timeout, a size limit,
``ETag``/``Last-Modified`` so an unchanged feed costs a ``304``); parsing is feedparser's,
which reads RSS 0.9x/1.0/2.0 and Atom and sanitises embedded HTML. Titles and summaries are
stored as plain text; only http(s) links are kept.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Protocol

import feedparser
import httpx

from bot.knowledge.errors import KnowledgeError, Problem
from bot.social.events import clean_text

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL: Final = timedelta(minutes=15)
# Feeds answer in well under a second; 10 s only cuts off a hung server.
FETCH_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
# A news search feed is tens of kilobytes; 2 MB stops a runaway or hostile feed.
MAX_FEED_BYTES: Final = 2 * 1024 * 1024
MAX_TITLE: Final = 300
MAX_SUMMARY: Final = 600
# ASCII only: HTTP header values are Latin-1 at best.
USER_AGENT: Final = "Stadtwerk-Assistent/1.0 (mentions: reads RSS/Atom, posts nothing)"

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# Words of topic titles that say nothing about the topic.
_STOPWORDS: Final = frozenset(
    "und oder der die das den dem des ein eine einer für fuer mit ohne auf in im am an zu zur "
    "zum von vom bei trotz keine kein wieder volle voll gründe gruende über ueber überblick "
    "ueberblick antrag kontakt".split()
)


class MentionFeedsError(KnowledgeError):
    """``mention_feeds`` in ``knowledge/utility.yml`` is invalid; every problem names its field."""


def _fold(text: str) -> str:
    """Lowercase, umlauts folded, NFKC: how terms and entries are compared."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def plain_text(value: Any, limit: int) -> str:
    """Feed HTML as plain text: tags removed, entities decoded, spaces collapsed."""
    text = html.unescape(_TAG.sub(" ", clean_text(value, limit * 20)))
    return clean_text(_SPACE.sub(" ", text).strip(), limit)


@dataclass(frozen=True)
class Feed:
    """A configured feed: a German name for the console and its URL."""

    name: str
    url: str


@dataclass(frozen=True)
class MentionSettings:
    """``mention_feeds`` of the utility profile; no feeds: polling is off."""

    feeds: tuple[Feed, ...] = ()
    terms: tuple[str, ...] = ()
    interval: timedelta = DEFAULT_INTERVAL

    @classmethod
    def from_utility(
        cls, utility: Mapping[str, Any], *, source: str = "knowledge/utility.yml"
    ) -> MentionSettings:
        """Read and validate ``mention_feeds`` (missing: no feeds).

        ``terms`` defaults to the utility's ``name``.

        Raises:
            MentionFeedsError: listing every problem, each naming its field.
        """
        spec = utility.get("mention_feeds")
        if spec is None:
            return cls()
        problems: list[Problem] = []
        if not isinstance(spec, Mapping):
            problem = Problem.setting("mention_feeds", "expected a mapping")
            raise MentionFeedsError([replace(problem, file=source)])
        for key in spec:
            if key not in ("interval_minutes", "terms", "feeds"):
                detail = "unknown, use interval_minutes, terms and feeds"
                problems.append(Problem.setting(f"mention_feeds.{key}", detail))
        minutes = spec.get("interval_minutes", 15)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 5 <= minutes <= 1440:
            problems.append(
                Problem.setting("mention_feeds.interval_minutes", "a whole number 5 to 1440")
            )
            minutes = 15
        terms = spec.get("terms")
        if terms is None:
            name = utility.get("name")
            terms = [name] if isinstance(name, str) else []
        if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
            problems.append(
                Problem.setting("mention_feeds.terms", "a list of names, e.g. [Stadtwerke X]")
            )
            terms = []
        feeds: list[Feed] = []
        raw_feeds = spec.get("feeds", [])
        if not isinstance(raw_feeds, list):
            problems.append(Problem.setting("mention_feeds.feeds", "a list of {name, url}"))
            raw_feeds = []
        for i, item in enumerate(raw_feeds):
            where = f"mention_feeds.feeds[{i}]"
            name = item.get("name") if isinstance(item, Mapping) else None
            url = item.get("url") if isinstance(item, Mapping) else None
            if not isinstance(name, str) or not name.strip():
                problems.append(Problem.setting(f"{where}.name", "the feed's name for the console"))
            elif not isinstance(url, str) or not re.fullmatch(r"https?://[^\s/]+\S*", url):
                problems.append(Problem.setting(f"{where}.url", f"an http(s) URL, got {url!r}"))
            elif url in {f.url for f in feeds}:
                problems.append(Problem.setting(f"{where}.url", "listed twice"))
            else:
                feeds.append(Feed(name.strip(), url))
        if problems:
            raise MentionFeedsError([replace(p, file=source) for p in problems])
        return cls(tuple(feeds), tuple(t.strip() for t in terms), timedelta(minutes=minutes))


@dataclass(frozen=True)
class Entry:
    """One feed entry, as plain text."""

    feed: Feed
    entry_id: str
    link: str | None
    title: str
    summary: str
    published: datetime | None


@dataclass(frozen=True)
class Mention:
    """An entry about the utility or a topic, for the agents' console.

    Attributes:
        key: stable id of the entry (feed URL and entry id hashed): found once.
        feed_name: the feed's configured name.
        link: the entry's http(s) link.
        title: plain text.
        summary: plain text, shortened.
        published: the entry's date, if it has one (UTC).
        matched: the utility terms and topic keywords found.
        topic_id: the guessed knowledge topic, or None.
        topic_title: its title.
        found_at: when the poller found it.
        done: an agent marked it as handled.
    """

    key: str
    feed_name: str
    link: str
    title: str
    summary: str
    published: datetime | None
    matched: tuple[str, ...]
    topic_id: str | None
    topic_title: str | None
    found_at: datetime
    done: bool = False


class TopicGuesser:
    """Guesses the knowledge topic of a text from the words of the topics' titles.

    Each title word (without stopwords, five letters or more) is a keyword; a keyword shared by
    many topics ("Preisbremse") counts less than a specific one ("Gaspreisbremse"). The topic
    with the highest sum wins; inflected forms ("Preisbremsen") match.

    Args:
        topics: (topic id, title) pairs, e.g. from the knowledge base.
    """

    def __init__(self, topics: Iterable[tuple[str, str]]) -> None:
        self._titles: dict[str, str] = {}
        keywords: dict[str, set[str]] = {}
        for topic_id, title in topics:
            self._titles[topic_id] = title
            for word in _WORD.findall(_fold(title)):
                for part in word.split("-"):
                    if len(part) >= 5 and part not in _STOPWORDS:
                        keywords.setdefault(part, set()).add(topic_id)
        self._keywords = {k: frozenset(v) for k, v in keywords.items()}

    def keywords_in(self, text: str) -> dict[str, frozenset[str]]:
        """The keywords found in ``text`` (whole words, German endings allowed)."""
        found: dict[str, frozenset[str]] = {}
        words = {p for w in _WORD.findall(_fold(text)) for p in (w, *w.split("-"))}
        for word in words:
            for keyword, topics in self._keywords.items():
                if word.startswith(keyword) and len(word) - len(keyword) <= 2:
                    found[keyword] = topics
        return found

    def guess(self, text: str) -> tuple[str | None, tuple[str, ...]]:
        """Return the best topic id (None if no keyword) and the keywords found."""
        found = self.keywords_in(text)
        scores: dict[str, float] = {}
        for topics in found.values():
            for topic_id in topics:
                scores[topic_id] = scores.get(topic_id, 0.0) + 1.0 / len(topics)
        if not scores:
            return None, ()
        best = max(sorted(scores), key=lambda t: scores[t])
        return best, tuple(sorted(found))

    def title(self, topic_id: str) -> str | None:
        """The title of a topic."""
        return self._titles.get(topic_id)


def utility_terms_in(text: str, terms: Sequence[str]) -> tuple[str, ...]:
    """The utility's terms named in ``text``: whole words, case and umlauts ignored."""
    folded = _fold(text)
    found = []
    for term in terms:
        pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, _fold(term).split())) + r"(?!\w)"
        if re.search(pattern, folded):
            found.append(term)
    return tuple(found)


def to_mention(
    entry: Entry, terms: Sequence[str], guesser: TopicGuesser, now: datetime
) -> Mention | None:
    """A mention if the entry names the utility or a topic and has an http(s) link."""
    if entry.link is None:
        return None
    text = f"{entry.title}\n{entry.summary}"
    named = utility_terms_in(text, terms)
    topic_id, keywords = guesser.guess(text)
    if not named and topic_id is None:
        return None
    key = hashlib.sha256(f"{entry.feed.url}\n{entry.entry_id}".encode()).hexdigest()[:32]
    return Mention(
        key=key,
        feed_name=entry.feed.name,
        link=entry.link,
        title=entry.title,
        summary=entry.summary,
        published=entry.published,
        matched=named + keywords,
        topic_id=topic_id,
        topic_title=guesser.title(topic_id) if topic_id else None,
        found_at=now,
    )


# --- storage ------------------------------------------------------------------------------------


class MentionStore(Protocol):
    """Where mentions are kept (phase 2: a table of the web app's database)."""

    def add(self, mention: Mention) -> bool:
        """Store a mention; False if its key is known already (nothing changes)."""
        ...

    def open_mentions(self) -> list[Mention]:
        """Mentions not done yet, newest first."""
        ...

    def mark_done(self, key: str, done: bool = True) -> bool:
        """Set the done state; False for an unknown key."""
        ...


class MemoryMentionStore:
    """Mentions in memory (one process; tests)."""

    def __init__(self) -> None:
        self._items: dict[str, Mention] = {}
        self._lock = threading.Lock()

    def add(self, mention: Mention) -> bool:
        """Store a mention; False if its key is known already (nothing changes)."""
        with self._lock:
            if mention.key in self._items:
                return False
            self._items[mention.key] = mention
            return True

    def open_mentions(self) -> list[Mention]:
        """Mentions not done yet, newest first."""
        with self._lock:
            items = [m for m in self._items.values() if not m.done]
        return sorted(items, key=lambda m: m.published or m.found_at, reverse=True)

    def mark_done(self, key: str, done: bool = True) -> bool:
        """Set the done state; False for an unknown key."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return False
            self._items[key] = replace(found, done=done)
            return True


# --- fetching -----------------------------------------------------------------------------------


@dataclass
class FeedState:
    """What the fetcher remembers per feed between polls."""

    etag: str | None = None
    modified: str | None = None
    last_error: str | None = None
    last_success: datetime | None = None


class FeedError(Exception):
    """A feed could not be fetched or read (the message says why, in English, for the log)."""


def _published(item: Mapping[str, Any]) -> datetime | None:
    parsed = item.get("published_parsed") or item.get("updated_parsed")
    try:
        if not parsed:
            return None
        year, month, day, hour, minute, second = (int(v) for v in parsed[:6])
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def parse_feed(feed: Feed, content: bytes) -> list[Entry]:
    """Read RSS or Atom bytes with feedparser.

    Raises:
        FeedError: the bytes are not a feed feedparser can read.
    """
    parsed = feedparser.parse(content)
    if parsed.bozo and not parsed.entries:
        raise FeedError(f"not a readable feed: {type(parsed.get('bozo_exception')).__name__}")
    entries: list[Entry] = []
    for item in parsed.entries:
        link = item.get("link")
        link = link if isinstance(link, str) and re.match(r"https?://[^\s/]", link) else None
        entry_id = item.get("id") or link or item.get("title")
        if not isinstance(entry_id, str) or not entry_id:
            continue
        entries.append(
            Entry(
                feed=feed,
                entry_id=clean_text(entry_id, 1000),
                link=clean_text(link, 2000) if link else None,
                title=plain_text(item.get("title"), MAX_TITLE),
                summary=plain_text(item.get("summary"), MAX_SUMMARY),
                published=_published(item),
            )
        )
    return entries


class FeedFetcher:
    """Fetches feeds with one HTTP client, conditional requests and a size limit."""

    def __init__(
        self, *, timeout: httpx.Timeout = FETCH_TIMEOUT, max_bytes: int = MAX_FEED_BYTES
    ) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._http = httpx.AsyncClient(
            timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )
        self.states: dict[str, FeedState] = {}

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def fetch(self, feed: Feed) -> list[Entry] | None:
        """Fetch and parse one feed; None when unchanged since the last fetch (``304``).

        Raises:
            FeedError: unreachable, timed out, an error status, too large or unreadable.
        """
        state = self.states.setdefault(feed.url, FeedState())
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        try:
            async with self._http.stream(
                "GET", feed.url, headers=headers, timeout=self._timeout
            ) as response:
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise FeedError(f"HTTP {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise FeedError(f"larger than {self._max_bytes} bytes")
                    chunks.append(chunk)
                etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        except httpx.HTTPError as error:
            raise FeedError(f"{type(error).__name__}") from None
        entries = parse_feed(feed, b"".join(chunks))
        state.etag, state.modified = etag, modified
        return entries


@dataclass
class PollReport:
    """What one poll did: new mentions, and the feeds that failed with the reason."""

    new: list[Mention] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def poll_once(
    settings: MentionSettings,
    fetcher: FeedFetcher,
    store: MentionStore,
    guesser: TopicGuesser,
    clock: Callable[[], datetime],
) -> PollReport:
    """Fetch every configured feed once and store the new mentions.

    One failing feed does not stop the others; its reason is in the report and in the
    fetcher's :class:`FeedState` (for the console's feed status in phase 2).
    """
    report = PollReport()
    for feed in settings.feeds:
        state = fetcher.states.setdefault(feed.url, FeedState())
        try:
            entries = await fetcher.fetch(feed)
        except FeedError as error:
            state.last_error = str(error)
            report.failed[feed.name] = str(error)
            logger.warning("mention feed %r failed: %s", feed.name, error)
            continue
        state.last_error, state.last_success = None, clock()
        if entries is None:
            report.unchanged.append(feed.name)
            continue
        for entry in entries:
            mention = to_mention(entry, settings.terms, guesser, clock())
            if mention is not None and store.add(mention):
                report.new.append(mention)
    return report
