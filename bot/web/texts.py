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
TALK_TO_PERSON = "Mit einer Person chatten"
# The web app's own handoff while the assistant is disturbed (the bot's texts: domain.yml).
HANDOFF_QUEUED_DIRECT = (
    "Ich verbinde Sie mit unserem Kundenservice. Einen Moment bitte – hier sehen Sie Ihre "
    "Position in der Warteschlange."
)
HANDOFF_OFFLINE_DIRECT = (
    "Unser Kundenservice ist gerade nicht im Chat erreichbar ({hours}). Hinterlassen Sie gern "
    "Ihren Namen, Ihre Telefonnummer oder E-Mail-Adresse und Ihr Anliegen – wir melden uns "
    "{next_opening}. Telefonisch erreichen Sie uns unter {phone}."
)
# A store of the web app (database, Redis) is away: every request fails fast with this.
SERVICE_DISTURBED = (
    "Unser Chat ist gerade gestört. Bitte versuchen Sie es in einigen Minuten noch einmal oder "
    "rufen Sie uns an: {phone}."
)
AGENT_JOINED = "Sie chatten jetzt mit {name} vom Kundenservice."
BACK_TO_BOT = "Sie chatten wieder mit dem digitalen Assistenten. Wie kann ich Ihnen helfen?"
CLOSED_BY_AGENT = "{name} hat den Chat beendet. Vielen Dank für Ihre Nachricht!"
# Never with the customer's name or any other text of theirs: a system message speaks for us.
TICKET_CONFIRMED = "Danke! Ihr Anliegen ist bei uns angekommen. Wir melden uns {when} bei Ihnen."
TICKET_ALREADY_OPEN = (
    "Ihr Rückrufwunsch liegt uns schon vor. Wir melden uns bei Ihnen; ergänzen Sie gern hier im "
    "Chat, was noch wichtig ist."
)
TOO_MANY_CALLBACKS = (
    "Von hier kamen gerade sehr viele Rückrufwünsche. Bitte versuchen Sie es später noch einmal "
    "oder rufen Sie uns an."
)
FEEDBACK_UNKNOWN_ANSWER = "Zu dieser Antwort gibt es in diesem Chat nichts zu bewerten."
FEEDBACK_TWICE = "Diese Antwort haben Sie schon bewertet. Vielen Dank!"
TOO_MANY_RATINGS = "Zu viele Bewertungen – bitte warten Sie einen Moment."
TICKET_WHEN_NEXT = "{when}"
TICKET_WHEN_SOON = "so bald wie möglich"
LOGIN_FAILED = "Benutzername oder Passwort ist falsch."
LOGIN_TOO_MANY = (
    "Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie einige Minuten und versuchen Sie "
    "es dann noch einmal."
)
LOGIN_DISABLED = "Ihr Zugang ist gesperrt. Bitte wenden Sie sich an die Administration."
NOT_ALLOWED = "Dafür fehlt Ihnen die Berechtigung."
CSRF_FAILED = "Die Sitzung ist abgelaufen. Bitte laden Sie die Seite neu."
ALREADY_CLAIMED = "Diese Unterhaltung hat bereits jemand anderes übernommen."
NOT_IN_YOUR_HANDS = (
    "Diese Unterhaltung wartet nicht in der Warteschlange und liegt nicht bei Ihnen; sie kann "
    "hier nicht beendet oder zurückgegeben werden."
)

# ---- editors' and admins' consoles (/editor/, /admin/, /api/editor, /api/admin) ----------------
LOGIN_REQUIRED = "Bitte melden Sie sich an."
EDITOR_ONLY = "Dieser Bereich ist für die Redaktion. Dafür fehlt Ihnen die Berechtigung."
ADMIN_ONLY = "Dieser Bereich ist für Administratorinnen und Administratoren."
BAD_ADDRESS = "Die Adresse enthält unzulässige Zeichen."
REQUEST_TOO_LARGE = "Die Anfrage ist zu groß (höchstens {kb} KB). Bitte kürzen Sie die Texte."
INVALID_INPUT = "Bitte prüfen Sie Ihre Eingaben."
INVALID_CONTENT = "Das Thema kann so noch nicht veröffentlicht werden. Bitte prüfen Sie die Felder."
UNKNOWN_TOPIC = "Das Thema „{topic_id}“ gibt es nicht."
TOPIC_EXISTS = "Ein Thema mit der Kennung „{topic_id}“ gibt es schon. Bitte wählen Sie eine andere."
STALE_TOPIC = (
    "Das Thema wurde inzwischen von jemand anderem in Version {version} veröffentlicht. "
    "Bitte laden Sie es neu und übernehmen Sie Ihre Änderungen."
)
NOT_YOUR_DRAFT = (
    "Diesen Entwurf hat {name} angelegt. Bitte legen Sie einen eigenen Entwurf an; "
    "Entwürfe anderer können Sie nur freigeben oder zurückweisen."
)
UNKNOWN_VERSION = "Version {version} von „{topic_id}“ gibt es nicht."
UNKNOWN_USER = "Diesen Benutzer gibt es nicht (mehr)."
USERNAME_TAKEN = "Den Benutzernamen „{username}“ gibt es schon."
CANNOT_DELETE_SELF = "Sie können sich nicht selbst löschen."
CANNOT_DEACTIVATE_SELF = "Sie können Ihren eigenen Zugang nicht sperren."
CANNOT_DEMOTE_SELF = (
    "Sie können Ihre eigene Rolle nicht ändern, sonst fehlt Ihnen gleich der Zugang. "
    "Bitten Sie eine andere Administratorin oder einen anderen Administrator."
)
LAST_ADMIN = "Es muss mindestens eine Administratorin oder ein Administrator bleiben."
USER_HAS_CHATS = (
    "{name} betreut gerade noch Gespräche. Bitte erst die Gespräche beenden oder zurückgeben."
)
