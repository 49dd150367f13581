"""``python -m actions``: the action server (rasa-sdk) with the operations routes of this project.

rasa-sdk's own server plus ``GET /ready`` (docs/design/production.md): ready once the FAQ
content is loaded (from the database, or the files while the database is away: the store
keeps serving what it has). A calculator that does not answer is reported as ``degraded`` but
keeps the server ready, since FAQ answers do not need it and the instalment dialogue tells the
customer itself. Binds ``BIND_HOST`` (default loopback) and ``ACTION_SERVER_PORT``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from rasa_sdk.endpoint import create_app
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.dependencies import knowledge_store, tariff_client
from bot.settings import get_settings


def main() -> int:
    """Serve the actions of this package until interrupted."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    app = create_app("actions", cors_origins=None)

    @app.get("/ready")
    async def ready(_: Request) -> HTTPResponse:
        try:
            topics = len((await asyncio.to_thread(knowledge_store().knowledge)).topics)
        except Exception as exc:  # no content at all: not ready, with the reason
            return response.json(
                {"status": "unavailable", "problems": [f"content: {type(exc).__name__}"]},
                status=503,
            )
        body: dict[str, object] = {"status": "ok", "topics": topics}
        if not await asyncio.to_thread(tariff_client().health):
            body["degraded"] = ["calculator"]
        return response.json(body)

    app.run(settings.bind_host, settings.action_server_port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
