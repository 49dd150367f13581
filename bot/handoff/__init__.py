"""Handoff to people: when the chat is staffed (``hours``), what agents see of the queue.

``queue``: each waiting conversation with a summary for the agent console.

The handoff itself (queue, claim, hand-back) lives in the web app's store, ``bot.chat``.
"""

from bot.handoff.hours import OpeningHours, OpeningHoursError, Period, SpecialDay

__all__ = ["OpeningHours", "OpeningHoursError", "Period", "SpecialDay"]
