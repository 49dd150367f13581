"""REST channel that returns each bot message with its metadata (``faq_id``, ``content_version``).

Rasa's stock REST channel drops message metadata and splits texts at blank lines, so a client
cannot tell which FAQ answer it got. This channel keeps one entry per bot message:

    POST /webhooks/rest_meta/webhook  {"sender": "...", "message": "...", "metadata": {...}}
    200 [{"recipient_id": "...", "text": "...", "buttons": [...], "metadata": {"faq_id": ...}}]

Bad requests get ``400`` with a reason; a failure while handling the message ``503``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels import server_patches

logger = logging.getLogger(__name__)

# Longest customer message accepted (characters); the web app enforces the same limit (contract).
MAX_MESSAGE_CHARS = 1000
_CONTENT_KEYS = ("text", "buttons", "image", "attachment", "custom", "quick_replies", "elements")
_DROPPED_KEYS = frozenset({"timestamp", "recipient_id"})


class MetadataCollectingOutputChannel(CollectingOutputChannel):
    """Collects bot messages whole, with their metadata."""

    @classmethod
    def name(cls) -> str:
        """Name of the channel."""
        return "rest_meta"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Store one entry per bot message (no splitting at blank lines)."""
        entry: dict[str, Any] = {"recipient_id": recipient_id}
        for key in _CONTENT_KEYS:
            if message.get(key) is not None:
                entry[key] = message[key]
        entry["metadata"] = {
            k: v
            for k, v in message.items()
            if k not in _CONTENT_KEYS and k not in _DROPPED_KEYS and v is not None
        }
        await self._persist_message(entry)


class RestWithMetadataInput(InputChannel):
    """``POST /webhooks/rest_meta/webhook``: a message in, the bot's messages with metadata out."""

    @classmethod
    def name(cls) -> str:
        """Name of the channel (the URL prefix ``/webhooks/rest_meta``)."""
        return "rest_meta"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Create the channel when the server starts; installs the server's performance fixes."""
        server_patches.install()
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The channel's routes."""
        hook = Blueprint("rest_meta_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises InvalidUsage on malformed JSON
                return response.json({"error": "body is not valid JSON"}, status=400)
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            sender = body.get("sender")
            text = body.get("message")
            metadata = body.get("metadata") or {}
            if not isinstance(sender, str) or not sender.strip():
                return response.json({"error": "'sender' must be a non-empty string"}, status=400)
            if not isinstance(text, str) or not text.strip():
                return response.json({"error": "'message' must be a non-empty string"}, status=400)
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json(
                    {"error": f"'message' is longer than {MAX_MESSAGE_CHARS} characters"},
                    status=400,
                )
            if not isinstance(metadata, dict):
                return response.json({"error": "'metadata' must be an object"}, status=400)
            collector = MetadataCollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:
                logger.exception("rest_meta: handling a message failed (sender %s)", sender)
                return response.json(
                    {"error": "the message could not be processed", "messages": collector.messages},
                    status=503,
                )
            return response.json(collector.messages)

        return hook
