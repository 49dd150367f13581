"""The editors' inbox: what the assistant did not understand, grouped for review (issue 5).

* ``collecting``: recording items from the conversations (fallbacks, thumbs down, handoffs),
  and which customer message an item is about.
* ``grouping``: the similarity of texts, the grouping of the open items and the read side
  (groups, single items, conversation excerpts, the open count).
* ``actions``: the editors' actions on open items (add as a question variant, start a topic,
  dismiss).
* ``common``: what they share (:class:`UnknownInboxItem`, the clock).
"""

from bot.content.inbox.actions import add_as_variant, dismiss, start_topic
from bot.content.inbox.collecting import (
    collect,
    record_fallback,
    record_feedback,
    record_handoff,
    unclear_topic,
)
from bot.content.inbox.common import UnknownInboxItem
from bot.content.inbox.grouping import (
    MAX_GROUPED_ITEMS,
    SIMILARITY_THRESHOLD,
    InboxEntry,
    InboxGroup,
    excerpt,
    get_item,
    open_count,
    open_groups,
    similarity,
    worth_reviewing,
)

__all__ = [
    "MAX_GROUPED_ITEMS",
    "SIMILARITY_THRESHOLD",
    "InboxEntry",
    "InboxGroup",
    "UnknownInboxItem",
    "add_as_variant",
    "collect",
    "dismiss",
    "excerpt",
    "get_item",
    "open_count",
    "open_groups",
    "record_fallback",
    "record_feedback",
    "record_handoff",
    "similarity",
    "start_topic",
    "unclear_topic",
    "worth_reviewing",
]
