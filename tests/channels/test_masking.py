"""Every customer message the Rasa server receives is masked, whichever channel brings it
(channels/privacy.py); tests/production/test_privacy.py checks the stores of the real profile."""

from __future__ import annotations

from rasa.core.channels.channel import UserMessage

from channels import privacy
from channels.rest_with_metadata import RestWithMetadataInput

RAW = "IBAN DE89 3704 0044 0532 0130 00, Mail max@example.org, Tel. 0171 1234567, 3.500 kWh"
MASKED = "IBAN [IBAN], Mail [E-Mail], Tel. [Telefon], 3.500 kWh"


def test_user_messages_are_masked_once_installed():
    privacy.install()
    privacy.install()  # idempotent: masked once, Rasa's own constructor still runs
    message = UserMessage(f"  {RAW} ", sender_id="s", message_id="m1", metadata={"a": 1})
    assert message.text == MASKED
    assert (message.sender_id, message.message_id, message.metadata) == ("s", "m1", {"a": 1})
    assert UserMessage(MASKED).text == MASKED
    assert UserMessage("/faq_gaspreisbremse").text == "/faq_gaspreisbremse"
    assert UserMessage(None).text is None
    assert UserMessage(text=RAW).text == MASKED


def test_the_channel_installs_the_masking(monkeypatch):
    monkeypatch.setattr(UserMessage, "__init__", privacy._rasa_init)
    assert UserMessage(RAW).text == RAW
    RestWithMetadataInput.from_credentials(None)
    assert UserMessage(RAW).text == MASKED
