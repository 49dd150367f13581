"""Logs, request ids and metrics of every process (docs/design/production.md, "Observability").

``logs``: JSON log lines with the turn's request id (no rasa imports); ``metrics``: the
Prometheus metrics of each service; ``asgi``: the web app's and the calculator's middleware;
``web``: the web app's turn metrics and the gauges read from its database at scrape time.
"""
