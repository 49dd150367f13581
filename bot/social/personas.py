"""Messenger personas: an agent's public alias as the sender customers see in Messenger.

Messenger shows a persona's name above every message sent with its ``persona_id``
(``bot.social.outbound.messenger_text``). Each agent with an alias gets one persona, its id in
``agents.messenger_persona_id``:

* the alias is set or changed (``PUT /api/v1/agent/profile``): :func:`set_public_profile`
  clears the stored id in the same transaction as the new alias (the old persona shows the old
  name), then, after the answer, :meth:`Personas.replace` deletes the old persona (best effort:
  a left-over persona shows nothing to anyone) and creates the new one;
* an agent's Messenger reply finds no id (the creation failed, Messenger was configured later,
  the alias dates from before): :meth:`Personas.persona_for` creates it then;
* Meta refuses a reply naming the persona (a page admin deleted it in Meta's own tools): the
  service sends the reply once more without it, with the name before the text, and when Meta
  takes that :meth:`Personas.forget` clears the id (``bot.social.service``); the agent's next
  reply creates a new persona as above;
* the agent is deleted or deactivated (``bot.web.users``): :func:`retire_persona` clears the id
  in the same transaction, and after the commit :meth:`Personas.delete_quietly` deletes the
  persona on Meta (best effort: a failure is logged, the user is gone all the same).

A failed Graph call never fails the alias change or the reply: it is logged with the error's
type and code only (no name, no token), and the reply shows the name before the text as before
(``bot.social.service.SocialService.agent_reply``). The next reply tries again once
:data:`RETRY_AFTER` has passed: a missing permission would otherwise add a failing round trip
(with its retries) to every reply. Saving the profile again tries at once.

Only an alias makes a persona: it is the name the agent chose for the public (issue 18). An
agent without one keeps the name prefix with their display name.

The persona has no picture. Meta downloads ``profile_picture_url`` itself, so it must be a
public ``https`` URL; the avatars are assets of this web app (``static/avatars/<name>.svg``)
and the app has no setting for its own public address (``website_url`` in
``knowledge/utility.yml`` is the utility's site that embeds the widget, not this app), so no
such URL can be built. The avatars are SVG besides, a format Meta's photo uploads do not list.
An avatar change therefore keeps the persona; it shows in the web widget only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.chat.models import Agent
from bot.social.graph import GraphClient, GraphError, GraphRequestError

logger = logging.getLogger(__name__)

# After a failed creation the agent's replies go out with the name prefix for this long
# before a reply tries again (saving the profile tries at once).
RETRY_AFTER: Final = timedelta(minutes=10)

# Meta's code for an invalid parameter. It refuses a send naming a persona it does not know
# (any more) with it, and other invalid parts of a body too: only a retry without the persona
# tells the two apart (``bot.social.service.SocialService._deliver``).
INVALID_PARAMETER: Final = 100

SessionFactory = Callable[[], AbstractContextManager[Session]]
# The column itself: the model's attribute is typed as the value (``str | None``).
_NO_PERSONA: Final = Agent.__table__.c.messenger_persona_id.is_(None)


def set_public_profile(agent: Agent, alias: str, avatar: str | None) -> str | None:
    """Set an agent's alias and avatar (in the caller's transaction).

    A new alias makes the stored persona stale: its id is cleared here, so that no reply is
    sent as the old name while the new persona is being made.

    Returns:
        The stale persona's id, to delete (None: nothing to delete).
    """
    stale = None
    if alias != agent.alias:
        stale, agent.messenger_persona_id = agent.messenger_persona_id, None
    agent.alias, agent.avatar = alias, avatar
    return stale


def retire_persona(agent: Agent) -> str | None:
    """An agent is deleted or deactivated: clear their persona (in the caller's transaction).

    Returns:
        The persona's id, to delete on Meta after the commit (None: the agent had none).
    """
    persona_id, agent.messenger_persona_id = agent.messenger_persona_id, None
    return persona_id


def may_be_refused_persona(error: GraphError) -> bool:
    """Whether a refused send naming a persona may have been refused for the persona."""
    return isinstance(error, GraphRequestError) and error.code == INVALID_PARAMETER


class Personas:
    """Creates, stores and replaces the agents' Messenger personas.

    Args:
        graph: the Graph client (its token is the page's).
        session: a transaction (``WebContext.session``).
        clock: the current time (for :data:`RETRY_AFTER`).
        retry_after: how long after a failed creation replies do without a persona.
    """

    def __init__(
        self,
        graph: GraphClient,
        session: SessionFactory,
        clock: Callable[[], datetime],
        *,
        retry_after: timedelta = RETRY_AFTER,
    ) -> None:
        self.graph = graph
        self._session = session
        self._clock = clock
        self._retry_after = retry_after
        # One creation per agent at a time in this process: a reply waits for the creation
        # the profile change started instead of making a second persona.
        self._locks: dict[int, asyncio.Lock] = {}
        self._failed: dict[int, datetime] = {}

    async def persona_for(self, agent_id: int, *, force: bool = False) -> str | None:
        """The agent's persona id, created now when there is none yet.

        Args:
            agent_id: the agent.
            force: try even within :data:`RETRY_AFTER` of a failure (the profile was saved).

        Returns:
            None when the agent has no alias or the persona cannot be created now: the
            message then shows the name before the text.
        """
        async with self._locks.setdefault(agent_id, asyncio.Lock()):
            found = await asyncio.to_thread(self._read, agent_id)
            if found is None:  # deleted meanwhile
                return None
            alias, persona_id = found
            if persona_id or not alias:
                return persona_id
            failed = self._failed.get(agent_id)
            if not force and failed is not None and self._clock() - failed < self._retry_after:
                return None
            return await self._create(agent_id, alias)

    async def replace(self, agent_id: int, stale: str | None) -> str | None:
        """After a profile change: delete the stale persona (best effort), create the new one."""
        if stale:
            await self.delete_quietly(stale)
        return await self.persona_for(agent_id, force=True)

    async def delete_quietly(self, persona_id: str, *, whose: str = "a stale") -> bool:
        """Delete a persona; a failure is logged and otherwise ignored. False when it failed.

        Args:
            persona_id: the persona.
            whose: for the log ("a stale", "a departed agent's"); never a name.
        """
        try:
            await self.graph.delete_persona(persona_id)
        except GraphError as error:
            logger.warning("deleting %s Messenger persona failed: %s (code %s)", whose,
                           type(error).__name__, error.code)  # fmt: skip
            return False
        return True

    async def forget(self, agent_id: int, persona_id: str) -> bool:
        """Meta refused the agent's persona (deleted in its own tools): clear the stored id.

        Only this id is cleared, not one stored since (a new alias's persona). The agent's
        next Messenger reply creates a new persona (:meth:`persona_for`).

        Returns:
            Whether the id was cleared (False: stored no more, or the database failed).
        """
        try:
            cleared = await asyncio.to_thread(self._clear, agent_id, persona_id)
        except SQLAlchemyError as error:  # the reply went out: the next refusal tries again
            logger.warning("Messenger persona of agent %d refused by Meta, not cleared: %s",
                           agent_id, type(error).__name__)  # fmt: skip
            return False
        if cleared:
            logger.warning("Messenger persona of agent %d refused by Meta (deleted in Meta's "
                           "tools?): cleared; the reply showed the name before the text",
                           agent_id)  # fmt: skip
        return cleared

    async def _create(self, agent_id: int, alias: str) -> str | None:
        try:
            persona_id = await self.graph.create_persona(alias)
        except GraphError as error:
            self._failed[agent_id] = self._clock()
            logger.warning("Messenger persona of agent %d not created: %s (code %s); replies "
                           "show the name before the text", agent_id, type(error).__name__,
                           error.code)  # fmt: skip
            return None
        self._failed.pop(agent_id, None)
        if await asyncio.to_thread(self._store, agent_id, alias, persona_id):
            logger.info("Messenger persona of agent %d created", agent_id)
            return persona_id
        # The alias changed meanwhile (its own persona is on the way) or another instance
        # stored one first: this one would show a wrong or second name.
        await self.delete_quietly(persona_id)
        return None

    def _read(self, agent_id: int) -> tuple[str | None, str | None] | None:
        with self._session() as session:
            agent = session.get(Agent, agent_id)
            return None if agent is None else (agent.alias, agent.messenger_persona_id)

    def _clear(self, agent_id: int, persona_id: str) -> bool:
        with self._session() as session:
            result = session.execute(
                update(Agent)
                .where(Agent.id == agent_id, Agent.messenger_persona_id == persona_id)
                .values(messenger_persona_id=None)
                .execution_options(synchronize_session=False)
            )
            changed: int = cast(CursorResult[Any], result).rowcount
            return changed == 1

    def _store(self, agent_id: int, alias: str, persona_id: str) -> bool:
        """Store the id only if the alias is still the persona's and no id was stored since."""
        with self._session() as session:
            result = session.execute(
                update(Agent)
                .where(Agent.id == agent_id, Agent.alias == alias, _NO_PERSONA)
                .values(messenger_persona_id=persona_id)
                .execution_options(synchronize_session=False)
            )
            changed: int = cast(CursorResult[Any], result).rowcount
            return changed == 1
