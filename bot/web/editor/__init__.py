"""The editors' JSON API ``/api/editor/...`` (roles ``editor`` and ``admin``).

Editors keep the FAQ current here without a developer (issue 5): find topics, edit them as
drafts with a live preview, publish (or send for review with the four-eyes rule), compare
versions, roll back, act on the inbox of unanswered questions, and watch content checks,
retraining and the audit log. The content store (``bot.content.repository``) does the work;
this package checks input, maps errors and shapes JSON: ``schemas`` (request bodies and
limits), ``shapes`` (JSON), and one module-level router per concern: ``topics``,
``revisions``, ``inbox`` and ``console`` (me, preview, placeholders, checks, training, audit).

Access, CSRF, the body size limit and the German error answers come from ``bot.web.guard``
(401 without session, 403 for agents or without ``X-CSRF-Token`` on a change, 413, 422 with
``problems`` per field, 409 for edit conflicts and steps the state or the four-eyes rule
forbids, 404 for unknown ids). Published answers go live without retraining: the assistant's
store (``ctx.knowledge``) sees the new content generation within its check interval.

Routes (all JSON; ``{topic_id}`` is a topic's id, ``{revision_id}`` a draft's id)::

    GET  /api/editor/me                            user, four-eyes switch, measures, limits
    GET  /api/editor/topics?q=&measure=&expired=&low_feedback=&many_fallbacks=
    POST /api/editor/topics                        a new topic as a draft (201)
    GET  /api/editor/topics/{topic_id}             published document, open drafts, history
    POST /api/editor/topics/{topic_id}/drafts      save a draft (new, or revision_id to update)
    GET  /api/editor/topics/{topic_id}/diff?old=&new=   diff of two published versions
    POST /api/editor/topics/{topic_id}/rollback    publish an earlier version again
    GET  /api/editor/revisions/{revision_id}       one draft with its diff to the published one
    POST /api/editor/revisions/{revision_id}/submit    publish, or send for review (four-eyes)
    POST /api/editor/revisions/{revision_id}/approve   a second person publishes it
    POST /api/editor/revisions/{revision_id}/reject    back to the author, with a note
    POST /api/editor/revisions/{revision_id}/discard   throw a draft away
    GET  /api/editor/reviews                       drafts waiting for review, with diffs
    POST /api/editor/preview                       the answer as the assistant would send it
    GET  /api/editor/placeholders                  facts and utility keys with their values
    GET  /api/editor/checks                        editorial checks of the published content
    GET  /api/editor/inbox                         open inbox groups
    GET  /api/editor/inbox/items/{item_id}/excerpt the conversation around an item
    POST /api/editor/inbox/add-variant             items → a question variant of a topic
    POST /api/editor/inbox/start-topic             items → the first question of a new topic
    POST /api/editor/inbox/dismiss                 items → dismissed
    GET  /api/editor/training                      retraining runs (queued … live/rejected)
    GET  /api/editor/audit?limit=&offset=&target=  who changed what, newest first

Filters of the topic list (``expired``, ``low_feedback``, ``many_fallbacks``):
``bot.content.overview``.
"""

from __future__ import annotations

from fastapi import APIRouter

from bot.web.editor import console, inbox, revisions, topics

router = APIRouter()
for part in (console, topics, revisions, inbox):
    router.include_router(part.router)
