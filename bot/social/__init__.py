"""Social care: WhatsApp and Messenger through Meta's webhooks and Graph API, mentions from feeds.

Plain modules without Rasa imports, importable with SQLAlchemy 1.4 and 2.0 and pydantic 1 and 2
(they use dataclasses, not pydantic):

* :mod:`~bot.social.settings`: the ``META_*`` and ``GRAPH_API_URL`` settings (contract 5);
* :mod:`~bot.social.signature`: the webhook's ``X-Hub-Signature-256`` check and the
  verification challenge;
* :mod:`~bot.social.events`: Meta's webhook payloads as one normalized event model;
* :mod:`~bot.social.dedupe`: each message id processed once (Meta delivers at least once);
* :mod:`~bot.social.graph`: the one Graph API client (sends, media) and its error tree;
* :mod:`~bot.social.outbound`: the send payloads (text, reply buttons, lists, quick replies);
* :mod:`~bot.social.formatting`: the answers' Markdown as WhatsApp and Messenger text;
* :mod:`~bot.social.windows`: the messaging windows (24 hours, Messenger's HUMAN_AGENT tag);
* :mod:`~bot.social.mentions`: RSS/Atom feeds polled for mentions of the utility.
"""
