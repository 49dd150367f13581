"""The web app's chat store: conversations, messages, feedback, handoffs, tickets, agents.

``models`` defines the tables, ``db`` makes the engine and sessions (SQLite by default,
PostgreSQL via ``DATABASE_URL``), ``repository`` holds the typed functions the web app calls.
Importing the package connects to nothing.
"""
