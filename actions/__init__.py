"""Custom actions: thin rasa-sdk adapters, one module per concern.

The action server (``python -m actions``, rasa-sdk's server plus a readiness route) imports
every module of this package and registers each non-abstract ``Action`` subclass. The logic they
call lives in ``bot/``.
"""

from bot.observability.logs import quiet_dependency_warnings

# Before rasa-sdk and sanic are imported (python -m actions imports this package first).
quiet_dependency_warnings()

