"""Messenger personas (bot.social.personas) against the fake Graph API over real HTTP and a
real SQLite database: made from the alias (never the login name), stored once, replaced when
the alias changes, a failure leaves the agent's replies with the name prefix, a persona Meta
refuses is forgotten, and a departing agent's is cleared."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest
from sqlalchemy.orm import sessionmaker

from bot.chat.db import make_engine
from bot.chat.models import Agent, Base
from bot.social.graph import GraphAuthError, GraphRequestError, WindowClosed
from bot.social.personas import (
    RETRY_AFTER,
    Personas,
    may_be_refused_persona,
    retire_persona,
    set_public_profile,
)

TOKEN_IN_LOGS = "test-access-token"


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    @contextmanager
    def session():
        with factory.begin() as s:
            yield s

    yield session
    engine.dispose()


def add_agent(db, fake, *, alias: str | None = "Mara", persona: str | None = None) -> int:
    with db() as session:
        agent = Agent(
            username="anna.sommer",
            password_hash="x",
            display_name="Anna Sommer",
            role="agent",
            created_at=fake.clock(),
            alias=alias,
            messenger_persona_id=persona,
        )
        session.add(agent)
        session.flush()
        return agent.id


def stored(db, agent_id: int) -> tuple[str | None, str | None]:
    with db() as session:
        agent = session.get(Agent, agent_id)
        return agent.alias, agent.messenger_persona_id


@pytest.fixture
def personas(client, db, fake):
    return Personas(client, db, fake.clock)


def test_a_new_alias_makes_the_stored_persona_stale_an_avatar_does_not():
    agent = Agent(alias="Mara", avatar="blatt", messenger_persona_id="111")
    assert set_public_profile(agent, "Mara", "welle") is None
    assert (agent.avatar, agent.messenger_persona_id) == ("welle", "111")
    assert set_public_profile(agent, "Marlene", "welle") == "111"
    assert (agent.alias, agent.messenger_persona_id) == ("Marlene", None)
    assert set_public_profile(agent, "Jo", None) is None  # nothing left to delete


async def test_the_persona_is_made_from_the_alias_once_and_stored(personas, db, fake):
    agent_id = add_agent(db, fake)
    persona_id = await personas.persona_for(agent_id)
    assert persona_id is not None and persona_id in fake.personas
    assert fake.persona_requests == [{"name": "Mara"}]
    assert "anna" not in str(fake.persona_requests).lower()  # never the login name
    assert stored(db, agent_id) == ("Mara", persona_id)
    assert await personas.persona_for(agent_id) == persona_id
    assert len(fake.persona_requests) == 1


async def test_concurrent_replies_make_one_persona(personas, db, fake):
    agent_id = add_agent(db, fake)
    ids = await asyncio.gather(*(personas.persona_for(agent_id) for _ in range(4)))
    assert len(set(ids)) == 1 and ids[0] is not None
    assert len(fake.persona_requests) == 1


async def test_no_alias_no_persona(personas, db, fake):
    agent_id = add_agent(db, fake, alias=None)
    assert await personas.persona_for(agent_id) is None
    assert await personas.persona_for(agent_id + 1) is None  # deleted meanwhile
    assert fake.requests == []


async def test_a_failed_creation_is_logged_without_names_and_tried_again_later(
    personas, db, fake, caplog
):
    caplog.set_level("INFO")
    agent_id = add_agent(db, fake)
    fake.fail_next(403, 200, "(#200) Requires pages_messaging permission for Mara")
    assert await personas.persona_for(agent_id) is None
    assert stored(db, agent_id) == ("Mara", None)
    assert "not created: GraphAuthError (code 200)" in caplog.text
    assert "Mara" not in caplog.text and TOKEN_IN_LOGS not in caplog.text
    # The next replies do without a persona (no call to Meta) until RETRY_AFTER has passed.
    fake.clock.advance(seconds=RETRY_AFTER.total_seconds() - 1)
    assert await personas.persona_for(agent_id) is None
    assert len(fake.requests) == 1
    fake.clock.advance(seconds=1)
    persona_id = await personas.persona_for(agent_id)
    assert persona_id is not None and stored(db, agent_id) == ("Mara", persona_id)


async def test_saving_the_profile_tries_again_at_once(personas, db, fake):
    agent_id = add_agent(db, fake)
    fake.fail_next(500, 2, "Service temporarily unavailable", times=3)
    assert await personas.persona_for(agent_id) is None
    assert await personas.replace(agent_id, None) is not None
    assert [p["name"] for p in fake.personas.values()] == ["Mara"]


async def test_a_new_alias_replaces_the_persona(personas, db, fake):
    agent_id = add_agent(db, fake)
    old = await personas.persona_for(agent_id)
    with db() as session:
        stale = set_public_profile(session.get(Agent, agent_id), "Marlene", None)
    assert stale == old
    new = await personas.replace(agent_id, stale)
    assert new != old
    assert fake.personas == {new: {"name": "Marlene", "profile_picture_url": None}}
    assert ("DELETE", f"/v24.0/{old}", 200) in fake.requests
    assert stored(db, agent_id) == ("Marlene", new)


async def test_a_failed_delete_does_not_stop_the_new_persona(personas, db, fake, caplog):
    agent_id = add_agent(db, fake, alias="Marlene")
    new = await personas.replace(agent_id, "123456789")  # Meta does not know it (any more)
    assert new is not None and stored(db, agent_id) == ("Marlene", new)
    assert "deleting a stale Messenger persona failed: GraphRequestError (code 100)" in (
        caplog.text
    )


async def test_a_persona_of_an_alias_changed_meanwhile_is_not_stored(personas, db, fake, client):
    agent_id = add_agent(db, fake)
    create = client.create_persona

    async def slow_create(name, picture_url=None):
        persona_id = await create(name, picture_url)
        with db() as session:  # the agent saved a new alias while Meta was answering
            set_public_profile(session.get(Agent, agent_id), "Marlene", None)
        return persona_id

    client.create_persona = slow_create
    assert await personas.persona_for(agent_id) is None
    assert stored(db, agent_id) == ("Marlene", None)
    assert fake.personas == {}  # the persona showing "Mara" was deleted again
    client.create_persona = create
    persona_id = await personas.persona_for(agent_id)
    assert fake.personas == {persona_id: {"name": "Marlene", "profile_picture_url": None}}


def test_a_departing_agent_leaves_their_persona_id_to_delete():
    agent = Agent(alias="Mara", messenger_persona_id="111")
    assert retire_persona(agent) == "111"
    assert (agent.alias, agent.messenger_persona_id) == ("Mara", None)  # the alias stays
    assert retire_persona(agent) is None


def test_only_an_invalid_parameter_may_be_a_refused_persona():
    assert may_be_refused_persona(GraphRequestError("x", status=400, code=100))
    assert not may_be_refused_persona(GraphRequestError("x", status=400, code=131009))
    assert not may_be_refused_persona(WindowClosed("x", status=400, code=10, subcode=2018278))
    assert not may_be_refused_persona(GraphAuthError("x", status=403, code=200))


async def test_a_refused_persona_is_forgotten_and_a_new_one_made(personas, db, fake, caplog):
    caplog.set_level("INFO")
    agent_id = add_agent(db, fake)
    old = await personas.persona_for(agent_id)
    assert await personas.forget(agent_id, "999999") is False  # not the stored one: kept
    assert stored(db, agent_id) == ("Mara", old)
    assert await personas.forget(agent_id, old) is True
    assert stored(db, agent_id) == ("Mara", None)
    assert "persona of agent" in caplog.text and "refused by Meta" in caplog.text
    assert "Mara" not in caplog.text and TOKEN_IN_LOGS not in caplog.text
    new = await personas.persona_for(agent_id)
    assert new not in (None, old) and stored(db, agent_id) == ("Mara", new)
    # A late second refusal of the old persona does not clear the new one.
    assert await personas.forget(agent_id, old) is False
    assert stored(db, agent_id) == ("Mara", new)


async def test_a_departed_agents_persona_is_deleted_quietly(personas, db, fake, caplog):
    agent_id = add_agent(db, fake)
    persona_id = await personas.persona_for(agent_id)
    with db() as session:
        retired = retire_persona(session.get(Agent, agent_id))
    assert await personas.delete_quietly(retired, whose="a departed agent's") is True
    assert fake.personas == {}
    assert await personas.delete_quietly(persona_id, whose="a departed agent's") is False
    assert "deleting a departed agent's Messenger persona failed: GraphRequestError (code 100)" in (
        caplog.text
    )
