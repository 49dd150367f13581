"""Mentions from RSS/Atom feeds served by a local HTTP server (real HTTP, real feedparser)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.social.mentions import (
    Feed,
    FeedFetcher,
    MemoryMentionStore,
    MentionFeedsError,
    MentionSettings,
    TopicGuesser,
    parse_feed,
    poll_once,
    utility_terms_in,
)
from tests.social.fake_graph import FakeClock, serve

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Nachrichten</title><link>https://news.example/</link>
<item><guid>n1</guid><title>Stadtwerke Musterstadt erhöhen den Grundpreis</title>
  <link>https://news.example/a/1</link><pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>
  <description>&lt;p&gt;Die &lt;b&gt;Stadtwerke&lt;/b&gt; Musterstadt
  teilten mit …&lt;/p&gt;</description></item>
<item><guid>n2</guid><title>Wie lange gilt die Gaspreisbremse noch?</title>
  <link>https://news.example/a/2</link><description>Verbraucher fragen nach.</description></item>
<item><guid>n3</guid><title>Stadtfest am Wochenende</title><link>https://news.example/a/3</link>
  <description>Musik und Essen auf dem Marktplatz.</description></item>
<item><guid>n4</guid><title>SW Musterstadt: Störung behoben</title>
  <link>javascript:alert(1)</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>#Musterstadt</title><id>urn:x</id>
<updated>2026-11-23T09:00:00Z</updated>
<entry><id>tag:social.example,2026:1</id><title>Post von @erika</title>
  <link href="https://social.example/@erika/1"/><updated>2026-11-23T09:00:00Z</updated>
  <summary type="html">Meine Abschlagszahlung bei den #Stadtwerke Musterstadt ist zu hoch
  &lt;script&gt;x()&lt;/script&gt;</summary></entry>
<entry><id>tag:social.example,2026:2</id><title>Post von @max</title>
  <link href="https://social.example/@max/2"/><updated>2026-11-23T09:05:00Z</updated>
  <summary>Schönes Wetter heute</summary></entry>
</feed>"""


class FeedServer:
    def __init__(self):
        self.hits: dict[str, int] = {}
        self.bodies = {
            "/news.rss": RSS,
            "/tags.atom": ATOM,
            "/broken": "<html>kein Feed",
            "/big": "x" * 3_000_000,
        }

    async def endpoint(self, request: Request) -> Response:
        path = request.url.path
        self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/down":
            return Response("error", status_code=503)
        body = self.bodies[path]
        etag = f'"{hash(body) & 0xFFFF:x}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304)
        return Response(body, media_type="application/xml", headers={"ETag": etag})

    def app(self):
        return Starlette(routes=[Route("/{name:path}", self.endpoint)])


@pytest.fixture
def feeds():
    server = FeedServer()
    with serve(server.app()) as served:
        server.url = served.url
        yield server


@pytest.fixture
def guesser(kb):
    return TopicGuesser((t.id, t.title) for t in kb.topics.values())


def settings(server, *paths):
    return MentionSettings(
        feeds=tuple(Feed(p.strip("/"), f"{server.url}{p}") for p in paths),
        terms=("Stadtwerke Musterstadt", "SW Musterstadt"),
    )


async def test_entries_naming_the_utility_or_a_topic_become_mentions(feeds, guesser):
    store, clock, fetcher = MemoryMentionStore(), FakeClock(), FeedFetcher()
    try:
        report = await poll_once(
            settings(feeds, "/news.rss", "/tags.atom"), fetcher, store, guesser, clock
        )
    finally:
        await fetcher.aclose()
    by_link = {m.link: m for m in report.new}
    assert set(by_link) == {
        "https://news.example/a/1",  # names the utility (and a topic word: Grundpreis)
        "https://news.example/a/2",  # a topic: Gaspreisbremse
        "https://social.example/@erika/1",  # the utility, in an Atom summary
    }  # not the town festival, not the weather, not the javascript: link
    grundpreis = by_link["https://news.example/a/1"]
    assert grundpreis.title == "Stadtwerke Musterstadt erhöhen den Grundpreis"
    assert grundpreis.summary == "Die Stadtwerke Musterstadt teilten mit …"  # HTML removed
    assert grundpreis.published == datetime(2026, 11, 23, 8, tzinfo=timezone.utc)
    assert "Stadtwerke Musterstadt" in grundpreis.matched
    assert grundpreis.topic_id == "preisbremse_grundpreis"
    gas = by_link["https://news.example/a/2"]
    assert (gas.topic_id, gas.topic_title) == ("gaspreisbremse", "Gaspreisbremse")
    erika = by_link["https://social.example/@erika/1"]
    # feedparser drops the script, the tags go: plain text for the console.
    assert erika.summary == "Meine Abschlagszahlung bei den #Stadtwerke Musterstadt ist zu hoch"
    assert erika.matched[0] == "Stadtwerke Musterstadt"
    assert erika.feed_name == "tags.atom" and not erika.done
    assert len(store.open_mentions()) == 3


async def test_a_second_poll_finds_nothing_new_and_uses_the_etag(feeds, guesser):
    store, clock, fetcher = MemoryMentionStore(), FakeClock(), FeedFetcher()
    config = settings(feeds, "/news.rss")
    try:
        first = await poll_once(config, fetcher, store, guesser, clock)
        second = await poll_once(config, fetcher, store, guesser, clock)
        fetcher.states[config.feeds[0].url].etag = None  # a server without ETag support
        third = await poll_once(config, fetcher, store, guesser, clock)
    finally:
        await fetcher.aclose()
    assert len(first.new) == 2
    assert second.new == [] and second.unchanged == ["news.rss"]
    assert third.new == []  # fetched again, but every entry is known
    assert feeds.hits["/news.rss"] == 3


async def test_done_state(feeds, guesser):
    store, fetcher = MemoryMentionStore(), FeedFetcher()
    try:
        report = await poll_once(settings(feeds, "/news.rss"), fetcher, store, guesser, FakeClock())
    finally:
        await fetcher.aclose()
    key = report.new[0].key
    assert store.mark_done(key)
    assert [m.key for m in store.open_mentions()] == [report.new[1].key]
    assert store.mark_done(key, done=False) and len(store.open_mentions()) == 2
    assert not store.mark_done("unknown")


async def test_failing_feeds_are_reported_and_do_not_stop_the_others(feeds, guesser):
    store, fetcher = MemoryMentionStore(), FeedFetcher(max_bytes=1_000_000)
    config = settings(feeds, "/down", "/broken", "/big", "/news.rss")
    try:
        report = await poll_once(config, fetcher, store, guesser, FakeClock())
    finally:
        await fetcher.aclose()
    assert report.failed == {
        "down": "HTTP 503",
        "broken": report.failed["broken"],
        "big": "larger than 1000000 bytes",
    }
    assert report.failed["broken"].startswith("not a readable feed")
    assert len(report.new) == 2
    assert fetcher.states[config.feeds[0].url].last_error == "HTTP 503"


async def test_an_unreachable_feed(guesser):
    fetcher = FeedFetcher()
    try:
        report = await poll_once(
            MentionSettings(feeds=(Feed("weg", "http://127.0.0.1:9/feed"),), terms=("X",)),
            fetcher,
            MemoryMentionStore(),
            guesser,
            FakeClock(),
        )
    finally:
        await fetcher.aclose()
    assert report.failed == {"weg": "ConnectError"}


def test_parse_feed_without_links_or_ids_skips_them():
    feed = Feed("f", "https://f.example/rss")
    rss = (
        b"<rss version='2.0'><channel><item><description>ohne alles</description></item>"
        b"</channel></rss>"
    )
    assert parse_feed(feed, rss) == []


def test_utility_terms_are_whole_words_in_any_case():
    terms = ("Stadtwerke Musterstadt",)
    assert utility_terms_in("bei den STADTWERKE  musterstadt", terms) == terms
    assert utility_terms_in("Stadtwerke Musterstadtbahn", terms) == ()


def test_topic_guess_prefers_specific_keywords(guesser):
    assert guesser.guess("Die Strompreisbremse endet")[0] == "strompreisbremse"
    assert guesser.guess("Wann endet die Laufzeit der Preisbremsen?")[0] == "preisbremse_zeitraum"
    assert guesser.guess("Schönes Wetter")[0] is None


def test_settings_from_the_real_profile(kb):
    config = MentionSettings.from_utility(kb.utility)
    assert len(config.feeds) == 2 and "Stadtwerke Musterstadt" in config.terms
    assert config.interval.total_seconds() == 900


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x", "expected a mapping"),
        ({"feeds": [{"name": "a", "url": "ftp://x"}]}, "feeds[0].url"),
        ({"feeds": [{"url": "https://x.example"}]}, "feeds[0].name"),
        (
            {
                "feeds": [
                    {"name": "a", "url": "https://x.example"},
                    {"name": "b", "url": "https://x.example"},
                ]
            },
            "listed twice",
        ),
        ({"interval_minutes": 1}, "interval_minutes"),
        ({"terms": "Stadtwerke"}, "mention_feeds.terms"),
        ({"every": 5}, "mention_feeds.every"),
    ],
)
def test_invalid_settings_name_their_field(spec, message):
    with pytest.raises(MentionFeedsError) as info:
        MentionSettings.from_utility({"name": "SW", "mention_feeds": spec})
    assert any(message in str(p) for p in info.value.problems), info.value.problems


def test_no_mention_feeds_means_off():
    assert MentionSettings.from_utility({"name": "SW"}).feeds == ()
