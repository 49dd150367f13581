"""The handoff action on a public holiday: closed, and it says which holiday it is."""

from __future__ import annotations

from datetime import datetime, timezone

from actions.dependencies import set_clock
from actions.handoff import ActionRequestHandoff
from tests.actions.conftest import make_tracker


async def test_christmas_day_offers_a_callback_and_names_the_holiday(dispatcher, domain, kb):
    set_clock(lambda: datetime(2026, 12, 25, 9, 0, tzinfo=timezone.utc))  # Friday, 10:00 local
    try:
        await ActionRequestHandoff().run(dispatcher, make_tracker("human_handoff", 0.9), domain)
    finally:
        set_clock(None)
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_offline"
    assert message["handoff"] == "offline"
    assert message["hours"] == (
        "heute geschlossen, Erster Weihnachtstag; sonst Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"
    )
    assert message["next_opening"] == "am Montag ab 8 Uhr"
    # The customer reads it in the domain's German sentence.
    [template] = domain["responses"]["utter_handoff_offline"]
    text = template["text"].format(**{k: message[k] for k in ("hours", "next_opening", "phone")})
    assert "nicht im Chat erreichbar (heute geschlossen, Erster Weihnachtstag;" in text
