"""A WhatsApp number (wa_id) and a Messenger PSID are personal data: admins find a conversation by
them, the export holds them, deletion and the retention run remove them with their blocks, and
the claims of message ids are purged after Meta's redelivery period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bot import retention
from bot.chat import repository as repo
from bot.chat.models import SOCIAL_PROCESSED_MESSAGES, BlockedContact, Conversation
from bot.social import store
from tests.web.conftest import OPEN
from tests.web.test_privacy_api import rasa  # noqa: F401 - the fixture

WA = "4915112345678"


def whatsapp_conversation(ctx, *, wa_id=WA, blocked_hours=None, at=OPEN) -> str:
    with ctx.session() as session:
        conversation = store.start_conversation(session=session, channel="whatsapp",
                                                contact_id=wa_id, contact_name="Erika", now=at)
        repo.add_message(session=session, conversation_id=conversation.id, sender="customer",
                         text="Hallo", now=at)
        store.customer_wrote(session=session, conversation_id=conversation.id, at=at,
                             contact_name="Erika")
        if blocked_hours:
            store.block(session=session, channel="whatsapp", contact_id=wa_id,
                        hours=blocked_hours, agent_id=None, now=at)
        return conversation.id


def count(ctx, model) -> int:
    with ctx.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_admins_find_and_export_a_whatsapp_conversation_by_its_number(ctx, admin_client, rasa):  # noqa: F811
    cid = whatsapp_conversation(ctx, blocked_hours=24)
    for query in (WA, f"+{WA[:2]} {WA[2:5]} {WA[5:]}"):
        found = admin_client.get("/api/admin/conversations", params={"q": query}).json()
        assert [c["id"] for c in found["conversations"]] == [cid], query
    data = admin_client.get(f"/api/admin/conversations/{cid}/export").json()
    assert data["conversation"]["channel"] == "whatsapp"
    assert data["conversation"]["contact_id"] == WA
    assert data["conversation"]["contact_name"] == "Erika"
    assert data["blocked"][0]["channel"] == "whatsapp"


def test_deleting_the_last_conversation_of_a_contact_removes_its_block(ctx, admin_client, rasa):  # noqa: F811
    cid = whatsapp_conversation(ctx, blocked_hours=24)
    assert admin_client.delete(f"/api/admin/conversations/{cid}").status_code == 204
    assert count(ctx, Conversation) == 0 and count(ctx, BlockedContact) == 0


async def test_the_retention_run_removes_old_conversations_ended_blocks_and_old_claims(ctx):
    old = whatsapp_conversation(ctx, at=OPEN - timedelta(days=100))
    whatsapp_conversation(ctx, wa_id="4917000000009", blocked_hours=1)
    with ctx.session() as session:
        session.execute(insert(SOCIAL_PROCESSED_MESSAGES), [
            {"channel": "whatsapp", "message_id": "wamid.OLD",
             "claimed_at": (OPEN - timedelta(days=9)).replace(tzinfo=None)},
            {"channel": "whatsapp", "message_id": "wamid.NEW",
             "claimed_at": (OPEN - timedelta(days=1)).replace(tzinfo=None)},
        ])
    await retention.run_retention(ctx.sessions, None, days=90, now=OPEN + timedelta(hours=2))
    with ctx.session() as session:
        ids = list(session.execute(select(Conversation.id)).scalars())
        claims = list(session.execute(
            select(SOCIAL_PROCESSED_MESSAGES.c.message_id)).scalars())
    assert old not in ids and len(ids) == 1
    assert count(ctx, BlockedContact) == 0  # its hour is over
    assert claims == ["wamid.NEW"]


@pytest.mark.parametrize("database", ["ctx", "pg_ctx"])
def test_one_open_conversation_per_contact(request, database):
    """Migration 0006's partial unique index (SQLite and PostgreSQL): a second open conversation
    of the same wa_id is refused (two workers cannot start two); after closing the first, a new
    one is fine."""
    pg_ctx = request.getfixturevalue(database)

    first = whatsapp_conversation(pg_ctx)
    with pytest.raises(IntegrityError):
        whatsapp_conversation(pg_ctx)
    with pg_ctx.session() as session:
        repo.close(session=session, conversation_id=first, now=OPEN)
    second = whatsapp_conversation(pg_ctx)
    with pg_ctx.session() as session:
        found = store.open_conversation(session=session, channel="whatsapp", contact_id=WA)
        assert found is not None and found.id == second
        assert found.channel == "whatsapp" and found.contact_name == "Erika"
