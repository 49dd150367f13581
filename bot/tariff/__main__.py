"""``python -m bot.tariff``: serve the tariff calculator with uvicorn on loopback.

The port comes from ``TARIFF_URL`` (default ``http://127.0.0.1:8100``), so the service listens
where the assistant's actions will call it. It binds ``BIND_HOST`` (default 127.0.0.1; 0.0.0.0
in a container, where only the cluster's network reaches it).
"""

from __future__ import annotations

import logging
import sys
from urllib.parse import urlsplit

import uvicorn

from bot.observability.logs import configure_logging, uvicorn_log_options
from bot.settings import get_settings
from bot.tariff.errors import TariffError
from bot.tariff.service import create_app

DEFAULT_PORT = 8100  # the port of the default TARIFF_URL (bot/settings.py, contracts.md § 2)


def port_from_url(url: str) -> int:
    """The port of ``url``; the default port when the URL names none.

    Raises:
        ValueError: the URL's port is not a number from 1 to 65535.
    """
    port = urlsplit(url).port
    return DEFAULT_PORT if port is None else port


def main() -> int:
    """Load the rules and catalogue, then serve until interrupted."""
    settings = get_settings()
    configure_logging("calculator", log_format=settings.log_format)
    url = settings.tariff_url
    try:
        port = port_from_url(url)
    except ValueError as exc:
        logging.getLogger("bot.tariff").error("TARIFF_URL %r has no valid port: %s", url, exc)
        return 2
    try:
        app = create_app()
    except TariffError as exc:
        logging.getLogger("bot.tariff").error("cannot start the tariff calculator: %s", exc)
        return 2
    uvicorn.run(app, host=settings.bind_host, port=port, log_level=settings.log_level,
                **uvicorn_log_options(settings.log_format))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C in `make run`: uvicorn shut down; no traceback
        sys.exit(130)
