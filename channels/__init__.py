"""Rasa input channels of this project (loaded by ``credentials.yml``)."""
