"""Dialogue logic that does not depend on Rasa: the answer/clarify/fallback decision."""
