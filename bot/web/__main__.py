"""``python -m bot.web``: serve the web app with uvicorn on ``BIND_HOST`` (port ``WEB_PORT``).

In demo mode (the default) it (re)creates one demo user per role and prints the user names
and their newly generated passwords once.
"""

from __future__ import annotations

import sys

import uvicorn

from bot.observability.logs import configure_logging, uvicorn_log_options
from bot.settings import get_settings
from bot.web.app import build_context, create_app
from bot.web.users import create_demo_users


def main() -> int:
    """Build the app and serve it until interrupted."""
    settings = get_settings()
    configure_logging("web", log_format=settings.log_format)
    context = build_context(settings)
    if settings.demo:
        with context.session() as session:
            users = create_demo_users(session)
        lines = [f"  {u.role:<7} {u.username:<8} password: {u.password}" for u in users]
        print("Demo users (passwords are new at every start):\n" + "\n".join(lines), flush=True)
    # Open WebSockets would hold a graceful shutdown forever; widgets reconnect by themselves.
    # uvicorn's proxy headers are off: it would believe X-Forwarded-For from 127.0.0.1 (any
    # local process) and, with FORWARDED_ALLOW_IPS="*", take the client's own left-most entry.
    # The app reads them from TRUSTED_PROXIES only (bot/web/proxy.py).
    uvicorn.run(
        create_app(context=context),
        host=settings.bind_host,
        port=settings.web_port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=5,
        proxy_headers=False,
        **uvicorn_log_options(settings.log_format),
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C in `make run`: uvicorn shut down; no traceback
        sys.exit(130)
