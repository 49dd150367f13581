"""German texts of the social channels for customers and agents (the bot's texts: domain.yml)."""

from __future__ import annotations

from typing import Final

# A picture, voice message, video, file or sticker: the assistant reads words only. The media
# URL expires within minutes and is never fetched for the assistant; an agent can open it.
MEDIA_ANSWER: Final = {
    "image": "Danke für Ihr Bild! Bilder kann ich als digitaler Assistent leider nicht ansehen.",
    "audio": "Danke für Ihre Sprachnachricht! Anhören kann ich sie als digitaler Assistent "
    "leider nicht.",
    "voice": "Danke für Ihre Sprachnachricht! Anhören kann ich sie als digitaler Assistent "
    "leider nicht.",
    "video": "Danke für Ihr Video! Ansehen kann ich es als digitaler Assistent leider nicht.",
    "document": "Danke für Ihre Datei! Öffnen kann ich sie als digitaler Assistent leider nicht.",
    "sticker": "Danke für Ihren Sticker!",
}
MEDIA_DEFAULT: Final = (
    "Diese Art von Nachricht kann ich als digitaler Assistent leider nicht lesen."
)
MEDIA_OFFER: Final = (
    " Schreiben Sie mir Ihre Frage gern in ein paar Worten – oder chatten Sie mit einer Person "
    "aus unserem Kundenservice, die sich das ansehen kann."
)
# What the transcript shows for a customer's message without words.
MEDIA_LABEL: Final = {
    "image": "[Bild]",
    "audio": "[Audiodatei]",
    "voice": "[Sprachnachricht]",
    "video": "[Video]",
    "document": "[Datei]",
    "sticker": "[Sticker]",
    "location": "[Standort]",
    "reaction": "[Reaktion]",
    "contacts": "[Kontaktkarte]",
    "unsupported": "[Nachricht, die Meta nicht weitergibt]",
}
# An agent's reply while the channel's window is closed (HTTP 409 to the console).
WINDOW_CLOSED: Final = (
    "Das Antwortfenster von {channel} ist geschlossen: {window}. Freie Nachrichten sind nicht "
    "mehr erlaubt."
)
SEND_FAILED: Final = (
    "Die Nachricht ist gespeichert, konnte aber nicht über {channel} zugestellt werden "
    "({reason}). Bitte versuchen Sie es später noch einmal oder legen Sie einen Rückruf an."
)
CHANNEL_NAMES: Final = {"web": "Webchat", "whatsapp": "WhatsApp", "messenger": "Messenger"}
CONTACT_BLOCKED: Final = "Der Kontakt ist bis {until} gesperrt; der Chat ist beendet."
NOT_SOCIAL: Final = "Das geht nur bei WhatsApp- und Messenger-Gesprächen."
NO_TEMPLATE: Final = "Diese Vorlage ist nicht freigegeben."
TEMPLATE_SENT: Final = "Vorlage „{name}“ gesendet."
CALLBACK_CREATED: Final = "Rückruf für {contact} angelegt."
# The web app's own system messages as they would appear in WhatsApp or Messenger.
UNKNOWN_MENTION: Final = "Diese Erwähnung gibt es nicht."
