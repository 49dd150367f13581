"""WhatsApp and Messenger in the web app: webhooks in, the assistant's and agents' replies out.

The webhook route (``bot.web.social_api``) checks the signature, parses the batch and hands it
to :meth:`SocialService.submit`, which only queues it: Meta gets its ``200`` at once. Worker
tasks then handle the events, one contact at a time (a lock per ``(channel, contact_id)``), in
the order the customer sent them::

    InboundMessage ─ claim id (once) ─ conversation of the contact (found or started)
        ─ stored (masked, Meta's id, abusive flag) ─ blocked? stop ─ queued/agent? to the console
        ─ words: Rasa, as the widget's messages ─ media: a polite answer with a person on offer
        ─ answers stored, sent through the Graph client, Meta's ids stored as ``sent``
    StatusUpdate ─ the message's delivery state (only forward), Messenger watermarks
    Echo ─ ours (known id): nothing; else a message a person wrote in Meta's inbox

A message whose handling failed is not marked done: a redelivery after
``bot.social.dedupe.STALE_AFTER`` is answered. Contact ids appear in logs masked only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.chat import repository as repo
from bot.chat.models import SOCIAL_PROCESSED_MESSAGES, Agent, Message
from bot.content import inbox
from bot.moderation.abuse import assess
from bot.privacy import mask
from bot.social import store
from bot.social import texts as social_texts
from bot.social.dedupe import ProcessedMessages, SqlProcessedMessages
from bot.social.events import (
    Batch,
    Channel,
    DeliveryState,
    Echo,
    Event,
    InboundMessage,
    StatusUpdate,
    mask_contact,
)
from bot.social.graph import GraphClient, GraphError, WindowClosed
from bot.social.outbound import Button, reply_messages, whatsapp_template
from bot.social.personas import Personas, may_be_refused_persona
from bot.social.settings import MetaSettings
from bot.social.windows import HUMAN_AGENT_TAG, Sender, Window, window
from bot.web import texts
from bot.web.context import WebContext, message_out
from bot.web.events import AGENTS, agent_channel
from bot.web.rasa_relay import BotMessage, RasaError

logger = logging.getLogger(__name__)

HANDOFF_PAYLOAD: Final = "/human_handoff"
STORED_META: Final = ("handoff", "calculation", "decision")
# Batches waiting for a worker; beyond this the webhook answers 503 and Meta delivers again.
QUEUE_SIZE: Final = 10_000
WORKERS: Final = 8


class WindowClosedError(Exception):
    """An agent's free-form reply is not allowed any more; ``window`` says what still is."""

    def __init__(self, window: Window, text: str) -> None:
        super().__init__(text)
        self.window = window
        self.text = text


class DeliveryFailed(Exception):
    """Meta refused or could not take a message (stored anyway, state ``failed``)."""

    def __init__(self, text: str, message: dict[str, Any]) -> None:
        super().__init__(text)
        self.text = text
        self.message = message


@dataclass(frozen=True)
class AsPersona:
    """An agent's Messenger reply sent as their persona, and the same reply without it.

    ``plain`` (the name before the text) goes out instead when Meta refuses the persona.
    """

    agent_id: int
    persona_id: str
    plain: str


@dataclass
class Stored:
    """A customer message as stored, and what its conversation looked like then."""

    conversation_id: str
    seq: int
    out: dict[str, Any]
    state: str
    holder: int | None
    blocked: bool


def is_upset(metadata: dict[str, Any]) -> bool:
    """Whether the assistant answered a message as upset (its ``utter_upset`` response)."""
    return metadata.get("utter_action") == "utter_upset" or metadata.get(
        "handoff_reason") == "upset"


def mark_abusive(session: Any, conversation_id: str, seq: int) -> None:
    """Flag a stored customer message as abusive (blurred in the console, counted weekly)."""
    session.execute(
        update(Message)
        .where(Message.conversation_id == conversation_id, Message.seq == seq)
        .values(abusive=True)
        .execution_options(synchronize_session=False)
    )


def public_name(agent: Agent) -> str:
    """The name customers see: the agent's alias, else their display name (never the login)."""
    return agent.alias or agent.display_name


class SocialService:
    """The social channels of one web app process (built by ``bot.web.social_api``).

    Args:
        ctx: the web app's context (database, Rasa relay, live events, clock).
        meta: the ``META_*`` settings.
        graph: the Graph client (default: one for ``meta``).
        claims: "processed once" (default: the database table, shared by every instance).
        workers: concurrent worker tasks (each handles one contact at a time).
    """

    def __init__(
        self,
        ctx: WebContext,
        meta: MetaSettings,
        *,
        graph: GraphClient | None = None,
        claims: ProcessedMessages | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.ctx = ctx
        self.meta = meta
        self.graph = graph or GraphClient(
            meta.graph_api_url,
            meta.access_token,
            whatsapp_phone_number_id=meta.whatsapp_phone_number_id,
        )
        self.claims = claims or SqlProcessedMessages(
            ctx.sessions.kw["bind"], SOCIAL_PROCESSED_MESSAGES, clock=ctx.clock
        )
        self.site_url = str(ctx.utility.get("website_url") or "") or None
        # The agents' Messenger personas (their aliases as sender); None without Messenger.
        self.personas = (
            Personas(self.graph, ctx.session, lambda: self.ctx.clock())
            if meta.messenger_page_id else None
        )  # fmt: skip
        self._workers = workers
        self._queue: asyncio.Queue[list[Event]] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._tasks: list[asyncio.Task[None]] = []
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._users: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._pending = 0
        self._background: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker tasks (on the running loop)."""
        self._idle = asyncio.Event()
        if not self._pending:
            self._idle.set()
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]

    async def stop(self) -> None:
        """Stop the workers and close the Graph client.

        Queued work is dropped: its ids were not marked done, so a redelivery is answered.
        Background sends and persona changes still running are cancelled (a persona left
        missing is made on the agent's next Messenger reply).
        """
        tasks = [*self._tasks, *self._background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.graph.aclose()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every submitted event was handled (tests, benchmark)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    # --- intake ---------------------------------------------------------------------------------

    def submit(self, batch: Batch) -> bool:
        """Queue a batch's events per contact, oldest first; False when the queue is full."""
        groups: dict[tuple[str, str], list[Event]] = {}
        for event in batch.events:
            groups.setdefault((event.channel.value, event.contact_id), []).append(event)
        if self._queue.qsize() + len(groups) > QUEUE_SIZE:
            return False
        for events in groups.values():
            events.sort(key=lambda e: e.timestamp)
            self._pending += 1
            self._idle.clear()
            self._queue.put_nowait(events)
        for line in batch.skipped:
            logger.info("webhook: skipped %s", line)
        return True

    async def _work(self) -> None:
        while True:
            events = await self._queue.get()
            key = (events[0].channel.value, events[0].contact_id)
            self._users[key] += 1
            lock = self._locks.setdefault(key, asyncio.Lock())
            try:
                async with lock:
                    for event in events:
                        try:
                            await self.handle(event)
                        except Exception as error:
                            # The type only: a database error's text carries the statement's
                            # parameters (the wa_id, the message). Details at DEBUG.
                            logger.error("webhook: handling a %s event of %s failed: %s",
                                         key[0], mask_contact(key[1]), type(error).__name__)
                            logger.debug("webhook: failure details", exc_info=True)
            finally:
                self._users[key] -= 1
                if not self._users[key]:
                    del self._users[key]
                    self._locks.pop(key, None)
                self._pending -= 1
                if not self._pending:
                    self._idle.set()

    async def handle(self, event: Event) -> None:
        """Handle one event (the workers call this in order per contact)."""
        if isinstance(event, InboundMessage):
            await self._inbound(event)
        elif isinstance(event, StatusUpdate):
            await asyncio.to_thread(self._status, event)
        elif isinstance(event, Echo):
            await asyncio.to_thread(self._echo, event)

    # --- customer messages ----------------------------------------------------------------------

    async def _inbound(self, message: InboundMessage) -> None:
        channel = message.channel.value
        if not await asyncio.to_thread(self.claims.claim, channel, message.message_id):
            logger.info("webhook: %s message of %s seen before", channel,
                        mask_contact(message.contact_id))  # fmt: skip
            return
        stored = await asyncio.to_thread(self._store_customer, message)
        if stored is not None:
            self._publish(stored.conversation_id, [stored.out], stored.state, stored.holder)
            if not stored.blocked and stored.state == "bot":
                await self._answer(message, stored)
        await asyncio.to_thread(self.claims.done, channel, message.message_id)

    def _store_customer(self, message: InboundMessage) -> Stored | None:
        ctx = self.ctx
        now = ctx.clock()
        channel = message.channel.value
        label = social_texts.MEDIA_LABEL.get(message.kind.value, "")
        shown = message.text or label or "…"
        if message.kind.is_media and message.text:
            shown = f"{label} {message.text}"
        meta: dict[str, Any] = {"kind": message.kind.value}
        if message.payload:
            meta["payload"] = message.payload
        if message.media and message.media[0].media_id:
            meta["media_id"] = message.media[0].media_id
            meta["mime_type"] = message.media[0].mime_type
        abusive = bool(message.text) and assess(message.text).abusive
        for attempt in range(2):
            try:
                with ctx.session() as session:
                    if store.message_by_external_id(
                        session=session, external_id=message.message_id
                    ):
                        return None  # stored before a crash: not twice
                    conversation = store.open_conversation(
                        session=session, channel=channel, contact_id=message.contact_id
                    )
                    if conversation is None:
                        conversation = store.start_conversation(
                            session=session, channel=channel, contact_id=message.contact_id,
                            contact_name=message.contact_name, now=now,
                        )  # fmt: skip
                    conversation_id = conversation.id
                    state, holder = conversation.state, conversation.agent_id
                    stored = repo.add_message(
                        session=session, conversation_id=conversation_id, sender="customer",
                        text=shown, meta=meta, public=ctx.public_numbers, now=now,
                    )  # fmt: skip
                    store.mark_message(session=session, message=stored,
                                       external_id=message.message_id, abusive=abusive)
                    store.customer_wrote(session=session, conversation_id=conversation_id,
                                         at=message.timestamp, contact_name=message.contact_name)
                    blocked = store.blocked_until(session=session, channel=channel,
                                                  contact_id=message.contact_id, now=now)
                    out = message_out(stored)
                    out["abusive"] = abusive
                    return Stored(conversation_id, stored.seq, out, state, holder,
                                  blocked is not None)  # fmt: skip
            except IntegrityError:
                if attempt:  # another instance stored this very message
                    return None
                # Another instance started the contact's conversation a moment ago: use it.
        return None

    async def _answer(self, message: InboundMessage, stored: Stored) -> None:
        words = message.words
        if words is None:
            text = social_texts.MEDIA_ANSWER.get(message.kind.value, social_texts.MEDIA_DEFAULT)
            await self.system_reply(stored.conversation_id, text + social_texts.MEDIA_OFFER,
                                    [{"title": texts.TALK_TO_PERSON, "payload": HANDOFF_PAYLOAD}])
            return
        ctx = self.ctx
        self.ctx.hub.publish(stored.conversation_id, {"type": "typing", "sender": "bot"})
        relayed = message.payload or mask(words, public=ctx.public_numbers)
        try:
            answers = await ctx.relay.send(
                stored.conversation_id, relayed,
                message_id=f"{stored.conversation_id}:{stored.seq}",
            )  # fmt: skip
        except RasaError:
            logger.exception("relaying a %s message to Rasa failed", message.channel.value)
            answers = []
        if not answers:
            await self._assistant_trouble(stored, wants_person=message.payload == HANDOFF_PAYLOAD)
            return
        rows = await asyncio.to_thread(self._store_answers, stored, answers)
        for row_id, answer in zip(rows, answers, strict=True):
            # A refused send is recorded as failed (the console shows it) and logged; the
            # message counts as handled: Meta does not deliver it again after our 200.
            if not await self._deliver_quietly(row_id, answer.text, answer.buttons):
                break

    def _store_answers(self, stored: Stored, answers: Sequence[BotMessage]) -> list[int]:
        ctx = self.ctx
        conversation_id = stored.conversation_id
        out: list[dict[str, Any]] = []
        ids: list[int] = []
        handoff: str | None = None
        fallback = False
        with ctx.session() as session:
            now = ctx.clock()
            for answer in answers:
                meta = answer.metadata
                handoff = meta.get("handoff") or handoff
                fallback = fallback or meta.get("decision") == "fallback"
                row = repo.add_message(
                    session=session, conversation_id=conversation_id, sender="bot",
                    text=answer.text, buttons=answer.buttons, faq_id=meta.get("faq_id"),
                    content_version=meta.get("content_version"),
                    meta={k: v for k, v in meta.items() if k in STORED_META},
                    public=ctx.public_numbers, now=now,
                )  # fmt: skip
                ids.append(row.id)
                out.append(message_out(row))
            if any(is_upset(answer.metadata) for answer in answers):
                # Hostile without a listed word ("Abzocker"): the assistant's upset intent.
                mark_abusive(session, conversation_id, stored.seq)
            if handoff == "queued":
                repo.enqueue(session=session, conversation_id=conversation_id,
                             reason=str(answers[-1].metadata.get("handoff_reason") or "asked"),
                             now=now)  # fmt: skip
            if fallback:
                inbox.collect(session, inbox.record_fallback, conversation_id=conversation_id,
                              message_seq=stored.seq, now=now)  # fmt: skip
            if handoff in ("queued", "offline"):
                inbox.collect(session, inbox.record_handoff, conversation_id=conversation_id,
                              request_seq=stored.seq, now=now)  # fmt: skip
            unclear = inbox.unclear_topic(answer.metadata for answer in answers)
            if unclear is not None:
                inbox.collect(session, inbox.record_feedback, conversation_id=conversation_id,
                              faq_id=unclear, now=now)  # fmt: skip
        self._publish(conversation_id, out)
        if handoff == "queued":
            self._publish_queue()
        return ids

    async def _assistant_trouble(self, stored: Stored, *, wants_person: bool) -> None:
        """Rasa away or silent: as on the web, a notice and a way to a person without Rasa."""
        ctx = self.ctx
        now = ctx.clock()
        phone = str(ctx.utility.get("phone", ""))
        if not wants_person:
            await self.system_reply(
                stored.conversation_id, texts.ASSISTANT_UNAVAILABLE.format(phone=phone),
                [{"title": texts.TALK_TO_PERSON, "payload": HANDOFF_PAYLOAD}],
            )  # fmt: skip
            return
        if ctx.hours.is_open(now):
            await self.system_reply(stored.conversation_id, texts.HANDOFF_QUEUED_DIRECT, [],
                                    enqueue="assistant_unavailable")
            return
        opening = ctx.hours.describe_next_opening(now) or texts.TICKET_WHEN_SOON
        text = texts.HANDOFF_OFFLINE_DIRECT.format(
            hours=ctx.hours.describe(), next_opening=opening, phone=phone
        )
        await self.system_reply(stored.conversation_id, text, [])

    async def system_reply(
        self,
        conversation_id: str,
        text: str,
        buttons: list[dict[str, str]],
        *,
        enqueue: str | None = None,
    ) -> None:
        """Store a message of the web app itself (sender ``system``) and send it."""

        def write() -> int:
            with self.ctx.session() as session:
                row = repo.add_message(
                    session=session, conversation_id=conversation_id, sender="system",
                    text=text, buttons=buttons, meta={"handoff": "queued"} if enqueue else None,
                    public=self.ctx.public_numbers, now=self.ctx.clock(),
                )  # fmt: skip
                if enqueue:
                    repo.enqueue(session=session, conversation_id=conversation_id,
                                 reason=enqueue, now=self.ctx.clock())  # fmt: skip
                out = message_out(row)
                row_id = row.id
            self._publish(conversation_id, [out])
            if enqueue:
                self._publish_queue()
            return row_id

        row_id = await asyncio.to_thread(write)
        await self._deliver_quietly(row_id, text, buttons)

    # --- sending --------------------------------------------------------------------------------

    def _target(self, message_id: int) -> tuple[Channel, str]:
        with self.ctx.session() as session:
            row = session.get(Message, message_id)
            if row is None:
                raise repo.UnknownConversation("?")
            conversation = repo.get_conversation(
                session=session, conversation_id=row.conversation_id
            )
            if conversation.contact_id is None:
                raise ValueError("not a social conversation")
            return Channel(conversation.channel), conversation.contact_id

    async def _deliver(
        self,
        message_id: int,
        markdown: str,
        buttons: Sequence[dict[str, str]] | None,
        *,
        human_agent: bool = False,
        persona: AsPersona | None = None,
    ) -> None:
        """Send a stored message through the Graph client; record Meta's id or the failure.

        Sent as an agent's ``persona``, a refusal that may be the persona's (an invalid
        parameter: Meta no longer knows it, a page admin deleted it in Meta's own tools) is
        followed by the reply once more without it (``persona.plain``). If Meta takes that,
        the persona was the cause and its stored id is cleared (``Personas.forget``); if not,
        the refusal counts as before. Only while nothing of the reply went out: the customer
        never reads a part twice.

        Raises:
            GraphError: Meta refused it (recorded as ``failed`` first).
        """
        channel, contact_id = await asyncio.to_thread(self._target, message_id)
        choices = [Button(str(b.get("title", "")), str(b.get("payload", "")))
                   for b in buttons or () if b.get("title") and b.get("payload")]  # fmt: skip
        sent: list[str] = []

        async def send(text: str, persona_id: str | None) -> None:
            for item in reply_messages(channel, contact_id, text, choices, site_url=self.site_url,
                                       human_agent=human_agent, persona_id=persona_id):  # fmt: skip
                sent.append((await self.graph.send(item)).message_id)

        refused_persona = False
        try:
            try:
                await send(markdown, persona.persona_id if persona else None)
            except GraphError as error:
                if persona is None or sent or not may_be_refused_persona(error):
                    raise
                await send(persona.plain, None)
                refused_persona = True
        except GraphError as error:
            logger.warning("sending to %s %s failed: %s (code %s)", channel.value,
                           mask_contact(contact_id), type(error).__name__, error.code)  # fmt: skip
            await asyncio.to_thread(self._record_sent, message_id, sent, error.code or 0)
            raise
        await asyncio.to_thread(self._record_sent, message_id, sent, None)
        if refused_persona and persona is not None and self.personas is not None:
            await self.personas.forget(persona.agent_id, persona.persona_id)

    def _record_sent(self, message_id: int, sent: list[str], error: int | None) -> None:
        with self.ctx.session() as session:
            row = session.get(Message, message_id)
            if row is None:  # deleted meanwhile
                return
            if sent:
                store.mark_message(session=session, message=row, external_id=sent[0],
                                   delivery_state=DeliveryState.SENT.value)  # fmt: skip
                if len(sent) > 1:
                    row.meta = {**(row.meta or {}), "external_ids": sent[1:]}
            if error is not None:
                store.mark_message(session=session, message=row,
                                   delivery_state=DeliveryState.FAILED.value,
                                   delivery_error=error)  # fmt: skip

    async def _deliver_quietly(self, *args: Any, **kwargs: Any) -> bool:
        """:meth:`_deliver`; a refusal is recorded and logged there. False when refused."""
        try:
            await self._deliver(*args, **kwargs)
        except GraphError:
            return False
        return True

    # --- statuses and echoes --------------------------------------------------------------------

    def _status(self, status: StatusUpdate) -> None:
        with self.ctx.session() as session:
            if status.message_id is not None:
                error = status.errors[0].code if status.errors else None
                store.record_status(session=session, external_id=status.message_id,
                                    state=status.state, error=error)  # fmt: skip
            elif status.watermark is not None:
                store.record_watermark(session=session, channel=status.channel.value,
                                       contact_id=status.contact_id, state=status.state,
                                       watermark=status.watermark)  # fmt: skip

    def _echo(self, echo: Echo) -> None:
        with self.ctx.session() as session:
            if store.message_by_external_id(session=session, external_id=echo.message_id):
                return  # our own send
            conversation = store.open_conversation(
                session=session, channel=echo.channel.value, contact_id=echo.contact_id
            )
            if conversation is None or not echo.text:
                return
            row = repo.add_message(
                session=session, conversation_id=conversation.id, sender="agent",
                text=echo.text, meta={"agent_name": "Meta Business Suite"},
                public=self.ctx.public_numbers, now=self.ctx.clock(),
            )  # fmt: skip
            store.mark_message(session=session, message=row, external_id=echo.message_id,
                               delivery_state=DeliveryState.SENT.value)  # fmt: skip
            out, state, holder = message_out(row), conversation.state, conversation.agent_id
        self._publish(conversation.id, [out], state, holder)

    def forward_later(self, conversation_id: str, message_id: int) -> None:
        """Send a stored message of the web app to the customer if the conversation is social."""

        def social() -> tuple[str, list[dict[str, str]]] | None:
            with self.ctx.session() as session:
                conversation = repo.get_conversation(session=session,
                                                     conversation_id=conversation_id)
                row = session.get(Message, message_id)
                if conversation.contact_id is None or row is None:
                    return None
                return row.text, list(row.buttons or [])

        async def send() -> None:
            try:
                found = await asyncio.to_thread(social)
                if found is not None:
                    await self._deliver_quietly(message_id, found[0], found[1])
            except Exception:
                logger.exception("forwarding a system message failed")

        self._later(send())

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` on the event loop after the current request (kept until done)."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def persona_later(self, agent_id: int, stale: str | None) -> None:
        """After an agent's alias changed: replace their Messenger persona in the background.

        The profile's answer does not wait for Meta; until the persona exists the agent's
        Messenger replies show the name before the text (``bot.social.personas``).
        """
        personas = self.personas
        if personas is None:
            return

        async def replace() -> None:
            try:
                await personas.replace(agent_id, stale)
            except Exception:  # the database, say: the next reply tries again
                logger.exception("replacing a Messenger persona failed")

        self._later(replace())

    def persona_retired_later(self, persona_id: str) -> None:
        """After an agent was deleted or deactivated: delete their persona on Meta (background).

        Best effort (``bot.social.personas.retire_persona``): a failure is logged; a persona
        left over shows nothing to anyone.
        """
        personas = self.personas
        if personas is None:
            return

        async def delete() -> None:
            try:
                await personas.delete_quietly(persona_id, whose="a departed agent's")
            except Exception:  # anything but Meta's refusal (that one is logged there)
                logger.exception("deleting a departed agent's Messenger persona failed")

        self._later(delete())

    # --- agents ---------------------------------------------------------------------------------

    def agent_window(self, conversation_id: str) -> Window:
        """The window for an agent's reply in a social conversation now."""
        with self.ctx.session() as session:
            conversation = repo.get_conversation(session=session,
                                                 conversation_id=conversation_id)
            channel, last = Channel(conversation.channel), conversation.last_customer_message_at
        return window(channel, last, self.ctx.clock(), Sender.AGENT)

    async def agent_reply(self, conversation_id: str, agent: Agent, text: str) -> dict[str, Any]:
        """Store and send an agent's message to a WhatsApp or Messenger customer.

        WhatsApp shows the agent's public name in bold above the text; Messenger shows their
        persona (created now if the agent has an alias but no persona yet), else the name
        before the text (also when Meta refuses the persona: see :meth:`_deliver`). Between
        24 hours and 7 days after the customer's last message Messenger needs the HUMAN_AGENT
        tag.

        Returns:
            The stored message (JSON).

        Raises:
            WindowClosedError: no free-form message is allowed any more (nothing stored).
            DeliveryFailed: Meta refused the message (stored, state ``failed``).
        """
        now = self.ctx.clock()
        current = await asyncio.to_thread(self.agent_window, conversation_id)
        channel_name = social_texts.CHANNEL_NAMES[current.channel.value]
        if not current.open:
            raise WindowClosedError(current, social_texts.WINDOW_CLOSED.format(
                channel=channel_name, window=current.describe(now)))
        name = public_name(agent)

        def write() -> tuple[int, dict[str, Any]]:
            with self.ctx.session() as session:
                row = repo.add_message(
                    session=session, conversation_id=conversation_id, sender="agent", text=text,
                    meta={"agent_id": agent.id, "agent_name": name, "avatar": agent.avatar},
                    public=self.ctx.public_numbers, now=now,
                )  # fmt: skip
                return row.id, message_out(row)

        row_id, out = await asyncio.to_thread(write)
        persona_id = None
        if current.channel is Channel.MESSENGER and self.personas is not None:
            persona_id = await self.personas.persona_for(agent.id)
        persona = AsPersona(agent.id, persona_id, f"{name}: {text}") if persona_id else None
        if current.channel is Channel.WHATSAPP:
            shown = f"**{name}**\n{text}"
        elif persona is not None:
            shown = text
        else:
            shown = f"{name}: {text}"
        try:
            await self._deliver(row_id, shown, None, human_agent=current.tag == HUMAN_AGENT_TAG,
                                persona=persona)  # fmt: skip
        except WindowClosed as error:
            out["delivery_state"] = DeliveryState.FAILED.value
            raise DeliveryFailed(social_texts.SEND_FAILED.format(
                channel=channel_name, reason="Antwortfenster geschlossen"), out) from error
        except GraphError as error:
            out["delivery_state"] = DeliveryState.FAILED.value
            raise DeliveryFailed(social_texts.SEND_FAILED.format(
                channel=channel_name, reason=f"Fehler {error.code or error.status}"),
                out) from error
        out["delivery_state"] = DeliveryState.SENT.value
        return out

    async def send_template(self, conversation_id: str, agent: Agent, name: str,
                            language: str) -> dict[str, Any]:  # fmt: skip
        """Send an approved WhatsApp template (allowed outside the window)."""
        with self.ctx.session() as session:
            conversation = repo.get_conversation(session=session,
                                                 conversation_id=conversation_id)
            contact_id = conversation.contact_id or ""
            row = repo.add_message(
                session=session, conversation_id=conversation_id, sender="agent",
                text=social_texts.TEMPLATE_SENT.format(name=name),
                meta={"agent_id": agent.id, "agent_name": public_name(agent), "template": name},
                public=self.ctx.public_numbers, now=self.ctx.clock(),
            )  # fmt: skip
            row_id, out = row.id, message_out(row)
        try:
            sent = await self.graph.send(whatsapp_template(contact_id, name, language=language))
        except GraphError as error:
            await asyncio.to_thread(self._record_sent, row_id, [], error.code or 0)
            raise DeliveryFailed(social_texts.SEND_FAILED.format(
                channel="WhatsApp", reason=f"Fehler {error.code or error.status}"), out) from error
        await asyncio.to_thread(self._record_sent, row_id, [sent.message_id], None)
        return out

    # --- live events ----------------------------------------------------------------------------

    def _publish(self, conversation_id: str, messages: list[dict[str, Any]], state: str = "bot",
                 holder: int | None = None) -> None:  # fmt: skip
        hub = self.ctx.hub
        for message in messages:
            hub.publish(conversation_id, {"type": "message", "message": message})
        if state == "agent" and holder is not None:
            for message in messages:
                hub.publish(agent_channel(holder), {
                    "type": "message", "conversation_id": conversation_id, "message": message})
        elif state == "queued":
            self._publish_queue()

    def _publish_queue(self) -> None:
        from bot.web.agent_api import queue_json  # the console's queue shape

        self.ctx.hub.publish(AGENTS, {"type": "queue", "queue": queue_json(self.ctx)})


def closes_in(window_: Window, now: datetime) -> float | None:
    """Seconds until the window closes (None: closed or no end)."""
    left = window_.remaining(now)
    return None if left is None else left.total_seconds()
