"""German texts of the web app for customers and agents (the bot's own texts: domain.yml)."""

from __future__ import annotations

UNKNOWN_CONVERSATION = "Unbekannte Unterhaltung."
CONVERSATION_CLOSED = (
    "Dieser Chat wurde beendet. Starten Sie gern einen neuen Chat, wenn Sie noch Fragen haben."
)
TOO_MANY_MESSAGES = "Zu viele Nachrichten – bitte warten Sie einen Moment."
ASSISTANT_UNAVAILABLE = (
    "Der digitale Assistent ist gerade gestört. Bitte versuchen Sie es in einigen Minuten noch "
    "einmal oder rufen Sie uns an: {phone}."
)
AGENT_JOINED = "Sie chatten jetzt mit {name} vom Kundenservice."
BACK_TO_BOT = "Sie chatten wieder mit dem digitalen Assistenten. Wie kann ich Ihnen helfen?"
CLOSED_BY_AGENT = "{name} hat den Chat beendet. Vielen Dank für Ihre Nachricht!"
TICKET_CONFIRMED = (
    "Danke, {name}! Ihr Anliegen ist bei uns angekommen. Wir melden uns {when} bei Ihnen."
)
TICKET_WHEN_NEXT = "{when}"
TICKET_WHEN_SOON = "so bald wie möglich"
LOGIN_FAILED = "Benutzername oder Passwort ist falsch."
LOGIN_TOO_MANY = "Zu viele Anmeldeversuche. Bitte warten Sie eine Minute."
NOT_ALLOWED = "Dafür fehlt Ihnen die Berechtigung."
CSRF_FAILED = "Die Sitzung ist abgelaufen. Bitte laden Sie die Seite neu."
ALREADY_CLAIMED = "Diese Unterhaltung hat bereits jemand anderes übernommen."
