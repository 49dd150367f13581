from datetime import datetime, timedelta, timezone

import pytest

from bot.social.events import Channel
from bot.social.windows import Alternative, Sender, window

LAST = datetime(2026, 12, 23, 13, 32, tzinfo=timezone.utc)  # 14:32 in Berlin


@pytest.mark.parametrize("sender", [Sender.ASSISTANT, Sender.AGENT])
def test_whatsapp_open_for_24_hours_for_everyone(sender):
    inside = window(Channel.WHATSAPP, LAST, LAST + timedelta(hours=23, minutes=59), sender)
    assert inside.open and inside.closes_at == LAST + timedelta(hours=24) and inside.tag is None
    closed = window(Channel.WHATSAPP, LAST, LAST + timedelta(hours=24), sender)
    assert not closed.open
    assert closed.alternatives == (Alternative.TEMPLATE, Alternative.CALLBACK)


def test_messenger_agent_may_answer_for_seven_days_with_the_tag():
    now = LAST + timedelta(days=3)
    assert not window(Channel.MESSENGER, LAST, now, Sender.ASSISTANT).open
    agent = window(Channel.MESSENGER, LAST, now, Sender.AGENT)
    assert agent.open and agent.tag == "HUMAN_AGENT"
    assert agent.closes_at == LAST + timedelta(days=7)
    late = window(Channel.MESSENGER, LAST, LAST + timedelta(days=7), Sender.AGENT)
    assert not late.open and late.alternatives == (Alternative.CALLBACK,)


def test_messenger_within_24_hours_needs_no_tag():
    state = window(Channel.MESSENGER, LAST, LAST + timedelta(hours=1), Sender.AGENT)
    assert state.open and state.tag is None


def test_web_is_always_open_and_no_customer_message_is_closed():
    assert window(Channel.WEB, None, LAST).open
    assert not window(Channel.WHATSAPP, None, LAST).open


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        window(Channel.WHATSAPP, LAST.replace(tzinfo=None), LAST)


def test_console_texts_in_german_local_time():
    now = LAST + timedelta(hours=20, minutes=55)
    assert window(Channel.WHATSAPP, LAST, now).describe(now) == (
        "Antwort möglich bis 14:32 Uhr (noch 3 Std. 5 Min.)"
    )
    agent_now = LAST + timedelta(days=2)
    assert window(Channel.MESSENGER, LAST, agent_now, Sender.AGENT).describe(agent_now) == (
        "Antwort möglich (als persönliche Antwort) bis 30.12., 14:32 Uhr (noch 5 Tage)"
    )
    soon = LAST + timedelta(days=5, hours=20, minutes=10)
    assert "(noch 1 Tag 3 Std.)" in window(Channel.MESSENGER, LAST, soon, Sender.AGENT).describe(
        soon
    )
    last_minutes = LAST + timedelta(hours=23, minutes=35)
    assert (
        window(Channel.WHATSAPP, LAST, last_minutes)
        .describe(last_minutes)
        .endswith("(noch 25 Min.)")
    )
    later = LAST + timedelta(days=2)
    assert window(Channel.WHATSAPP, LAST, later).describe(later) == (
        "Antwortfenster geschlossen seit 24.12. 14:32 Uhr – möglich: eine freigegebene Vorlage "
        "senden oder einen Rückruf anlegen"
    )
