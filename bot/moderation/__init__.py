"""Moderation of customer messages on every channel: abusive words (``abuse``)."""

from bot.moderation.abuse import AbuseDetector, Assessment, Hit, assess

__all__ = ["AbuseDetector", "Assessment", "Hit", "assess"]
