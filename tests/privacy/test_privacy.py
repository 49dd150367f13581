"""Personal data is masked before storage and in logs; the figures of the dialogues are not."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.privacy import MaskingFilter, anonymise_address, mask, public_contacts

IBANS = [
    "DE89 3704 0044 0532 0130 00",
    "DE89370400440532013000",
    "de89 3704 0044 0532 0130 00",
    "de89370400440532013000",
    "DE89 370400440532013000",
    "AT61 1904 3002 3457 3201",
    "CH93 0076 2011 6238 5295 7",
    "NL91 ABNA 0417 1643 00",
    "nl91abna0417164300",
    "BE68 5390 0754 7034",
    "FR14 2004 1010 0505 0001 3M02 606",
    "IT60 X054 2811 1010 0000 0123 456",
    "ES91 2100 0418 4502 0005 1332",
    "PL61 1090 1014 0000 0712 1981 2874",
    "LU28 0019 4006 4475 0000",
    "GB29 NWBK 6016 1331 9268 19",
    "DE89 3704 0044 0532 0130 0",  # a digit missing: still an IBAN for privacy's sake
    "DE89 3704 0044 0532 0130 000",  # a digit too many
    "XK05 1212 0123 4567 8906",  # Kosovo: not SEPA, caught by the general rule
]

EMAILS = [
    "max.mustermann@example.org",
    "Max.Mustermann+strom@web.de",
    "m_muster-1980@t-online.de",
    "info@stadtwerke-musterstadt.example",
    "jörg.müller@gmx.de",
    "a@b.co",
    "kunde@mail.sub.example.com",
]

PHONES = [
    "+49 30 1234567",
    "+4930 1234567",
    "+49301234567",
    "+49 (0)30 1234567",
    "+49 (0) 30 123 45 67",
    "+49-30-1234567",
    "0049 30 1234567",
    "0049301234567",
    "030/1234567",
    "030 / 123 45 67",
    "030-1234567",
    "030 1234567",
    "0301234567",
    "0171-1234567",
    "0171 1234567",
    "01711234567",
    "0171/123 45 67",
    "(030) 123 45 67",
    "(030)1234567",
    "(0171) 1234567",
    "0800 1234567",
    "0800 123 45 67",
    "089 12345",
    "+43 1 234567",  # Vienna
    "+41 44 668 18 00",  # Zurich
    "03631 12345",
]


@pytest.mark.parametrize("iban", IBANS)
def test_iban_is_masked(iban: str) -> None:
    text = f"Meine IBAN ist {iban}, bitte abbuchen."
    assert mask(text) == "Meine IBAN ist [IBAN], bitte abbuchen."


@pytest.mark.parametrize("iban", IBANS[:5])
def test_iban_alone_or_glued_to_punctuation(iban: str) -> None:
    assert mask(iban) == "[IBAN]"
    assert mask(f"IBAN:{iban}.") == "IBAN:[IBAN]."
    assert mask(f"({iban})") == "([IBAN])"


def test_iban_in_groups_does_not_swallow_the_next_word() -> None:
    # BE IBANs have 16 characters: four groups of four, followed by a word of four letters.
    assert mask("BE68 5390 0754 7034 bitt") == "[IBAN] bitt"
    assert mask("DE89 3704 0044 0532 0130 00 1234") == "[IBAN] 1234"


def test_repeated_iban_starts_are_not_an_iban() -> None:
    assert mask("DE89 DE89 DE89 DE89 DE89 DE89") == "DE89 DE89 DE89 DE89 DE89 DE89"


def test_two_ibans() -> None:
    text = "alt DE89 3704 0044 0532 0130 00, neu AT61 1904 3002 3457 3201"
    assert mask(text) == "alt [IBAN], neu [IBAN]"


@pytest.mark.parametrize("email", EMAILS)
def test_email_is_masked(email: str) -> None:
    assert mask(f"Schreiben Sie an {email}.") == "Schreiben Sie an [E-Mail]."
    assert mask(f"<{email}>") == "<[E-Mail]>"


def test_email_with_digits_is_not_taken_for_a_phone_number() -> None:
    assert mask("030123456789@example.org") == "[E-Mail]"


@pytest.mark.parametrize("phone", PHONES)
def test_phone_is_masked(phone: str) -> None:
    assert mask(f"Rufen Sie mich an: {phone}.") == "Rufen Sie mich an: [Telefon]."
    assert mask(f"Tel. {phone}, danke") == "Tel. [Telefon], danke"
    assert mask(phone) == "[Telefon]"


def test_several_phone_numbers() -> None:
    text = "Festnetz 030/1234567 oder mobil 0171-1234567"
    assert mask(text) == "Festnetz [Telefon] oder mobil [Telefon]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0171 1234567 030 1234567", "[Telefon] [Telefon]"),
        ("0171 1234567 0301234567 0171 1234567", "[Telefon] [Telefon] [Telefon]"),
        ("+49 171 1234567 / 030 1234567", "[Telefon] / [Telefon]"),
        ("0171 1234567 0301 123", "[Telefon] 0301 123"),  # the tail is too short for a number
        ("0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9", "0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9"),
    ],
)
def test_phone_numbers_written_one_after_the_other(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meine Kundennummer ist 12345678.", "Meine Kundennummer ist [Kundennummer]."),
        ("Kundennummer: 1234 5678", "Kundennummer: [Kundennummer]"),
        ("Kundennummer 0301234567", "Kundennummer [Kundennummer]"),
        ("kundennummer lautet: 123-456-789", "kundennummer lautet: [Kundennummer]"),
        ("Kunden-Nr. 4711", "Kunden-Nr. [Kundennummer]"),
        ("Kundennr. 4711/0815", "Kundennr. [Kundennummer]"),
        ("Kd.-Nr. 4711/0815 und Zähler", "Kd.-Nr. [Kundennummer] und Zähler"),
        ("Kd.Nr.: 123456", "Kd.Nr.: [Kundennummer]"),
        ("KdNr 123456", "KdNr [Kundennummer]"),
        ("customer number: AB-12345", "customer number: [Kundennummer]"),
        ("Customer ID 998877", "Customer ID [Kundennummer]"),
        ("Vertragsnummer 2000123456", "Vertragsnummer [Vertragsnummer]"),
        ("Vertrags-Nr.: 2000.123.456", "Vertrags-Nr.: [Vertragsnummer]"),
        ("Vertragskonto 800123456", "Vertragskonto [Vertragsnummer]"),
        ("Vertragskontonummer lautet 800 123 456", "Vertragskontonummer lautet [Vertragsnummer]"),
        ("contract number 55-4433", "contract number [Vertragsnummer]"),
        ("Zählernummer 1ESY1160612345", "Zählernummer [Zählernummer]"),
        ("Zählernr.: 7147192.", "Zählernr.: [Zählernummer]."),
        ("Zähler-Nr. 1 ESY11 6061 2345", "Zähler-Nr. [Zählernummer]"),
        ("Zaehlernummer 12345678", "Zaehlernummer [Zählernummer]"),
        ("meter number 00112233", "meter number [Zählernummer]"),
        (
            "Kundennummer 123456, Zählernummer 987654",
            "Kundennummer [Kundennummer], Zählernummer [Zählernummer]",
        ),
    ],
)
def test_numbers_after_a_keyword_are_masked_and_the_keyword_kept(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # the instalment dialogue
        "Mein Verbrauch liegt bei 3.500 kWh im Jahr.",
        "3500 kWh",
        "ca. 15.000 kWh Gas",
        "15.000",
        "1.500.000 kWh",
        "Der Arbeitspreis ist 48,5 Cent.",
        "48,5 ct/kWh",
        "0,485 €/kWh",
        "0.485 EUR/kWh",
        "Ich zahle 12 Euro im Monat.",
        "Abschlag 120,50 €",
        "Grundpreis 0 Euro",
        "Grundpreis 120 € im Jahr, 11 Abschläge",
        # dates, years, times
        "am 1.12.2022",
        "seit dem 01.12.2022",
        "vom 01.01.2023 bis 31.12.2023",
        "im Jahr 2023",
        "2022/2023",
        "01/2023",
        "Dezember 2022 und März 2023",
        "zwischen 08 und 18 Uhr",
        "08:00-18:00",
        "von 0 bis 100",
        "Werte 0 500 1000",
        # postcodes, house numbers, short numbers
        "Marktplatz 1, 12345 Musterstadt",
        "01067 Dresden",
        "Zählerstand 0123456",
        "Rechnung vom 3.4.",
        "Ziffer 0800",
        "Paragraf 3 Absatz 2 EWPBG",
        # keywords without a number
        "Wo finde ich meine Kundennummer?",
        "Meine Kundennummer und Zählernummer habe ich nicht.",
        "Vertragskonto",
        "Kundennummer [Kundennummer]",
        # plain words with letters and digits
        "Tarif SW24 Basis",
        "Strom2023",
        "ab12 3456",
        "Das kostet 3,20 € pro Tag bei 14 Tagen.",
        "",
    ],
)
def test_ordinary_figures_are_kept(text: str) -> None:
    assert mask(text) == text


def test_mixed_message() -> None:
    text = (
        "Hallo, Kundennummer 4711, ich verbrauche 3.500 kWh zu 48,5 Cent. "
        "Bitte abbuchen von DE89 3704 0044 0532 0130 00 und Rückruf unter 0171 1234567 "
        "oder max@example.org."
    )
    assert mask(text) == (
        "Hallo, Kundennummer [Kundennummer], ich verbrauche 3.500 kWh zu 48,5 Cent. "
        "Bitte abbuchen von [IBAN] und Rückruf unter [Telefon] oder [E-Mail]."
    )


def test_public_contacts_stay_readable() -> None:
    utility = {
        "phone": "0800 1234567",
        "email": "kundenservice@stadtwerke-musterstadt.example",
        "name": "Stadtwerke",
        "demo": True,
    }
    public = public_contacts(utility)
    assert public == {"0800 1234567", "kundenservice@stadtwerke-musterstadt.example"}
    text = (
        "Rufen Sie uns an: 0800 1234567 oder +49 800 123 45 67, "
        "oder schreiben Sie an Kundenservice@Stadtwerke-Musterstadt.example. "
        "Ihre Nummer 0171 1234567 und max@example.org speichern wir nicht."
    )
    assert mask(text, public=public) == (
        "Rufen Sie uns an: 0800 1234567 oder +49 800 123 45 67, "
        "oder schreiben Sie an Kundenservice@Stadtwerke-Musterstadt.example. "
        "Ihre Nummer [Telefon] und [E-Mail] speichern wir nicht."
    )


def test_public_contacts_of_the_real_profile(kb) -> None:
    public = public_contacts(kb.utility)
    # The hotline, the 24-hour fault number (the emergency answer) and the e-mail.
    text = f"{kb.utility['phone']} / {kb.utility['emergency_phone']} / {kb.utility['email']}"
    assert mask(text, public=public) == text


@pytest.mark.parametrize("text", IBANS + EMAILS + PHONES)
def test_mask_is_idempotent_on_examples(text: str) -> None:
    once = mask(f"x {text} y")
    assert mask(once) == once


FRAGMENTS = st.sampled_from(
    IBANS
    + EMAILS
    + PHONES
    + [
        "Kundennummer",
        "Kd.-Nr.",
        "Zählernummer:",
        "ist",
        "3.500 kWh",
        "48,5",
        "0,485 €/kWh",
        "1.12.2022",
        "12345",
        "0",
        "00",
        "+",
        "(",
        ")",
        "/",
        "-",
        ".",
        ",",
        ":",
        "@",
        "DE",
        "[IBAN]",
        "[Telefon]",
    ]
)
SEPARATORS = st.sampled_from(["", " ", "  ", ", ", "\n", "/", "-", "."])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(FRAGMENTS, SEPARATORS), max_size=8))
def test_mask_is_idempotent(parts: list[tuple[str, str]]) -> None:
    text = "".join(fragment + separator for fragment, separator in parts)
    once = mask(text)
    assert mask(once) == once


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789 +-/().,:@aDEkKdnrNum", max_size=60))
def test_mask_is_idempotent_on_noise(text: str) -> None:
    once = mask(text)
    assert mask(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "0" + "1 " * 5000 + "x",
        "DE89 " * 2000,
        "de12 3456 " * 1000,
        "Kundennummer " + "1-" * 5000 + "x",
        "+49" + " 1" * 5000 + ".5",
        "a@" * 5000,
        "x@" + "a-" * 5000,
        "a" * 10000 + "@",
        # repeated IBAN-like groups must not be peeled off one per masking pass
        "DE89 " * 2000,
        "DE89 3704 0044 0532 0130 00 " * 400,
        "XX12 3456 7890 1234 56 0171 1234567 890123 " * 300,
    ],
)
def test_long_adversarial_input_is_fast(text: str) -> None:
    start = time.perf_counter()
    mask(text)
    assert time.perf_counter() - start < 0.5


# --- logging --------------------------------------------------------------------------------


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("tests.privacy.masking")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers = []


def test_filter_masks_message_and_args(log) -> None:
    logger, stream = log
    logger.info("customer wrote %r from %s", "IBAN DE89370400440532013000", "max@example.org")
    logger.info("call %(phone)s", {"phone": "0171 1234567"})
    assert stream.getvalue().splitlines() == [
        "customer wrote 'IBAN [IBAN]' from [E-Mail]",
        "call [Telefon]",
    ]


def test_filter_masks_objects_rendered_by_str(log) -> None:
    class Customer:
        def __str__(self) -> str:
            return "Kundennummer 4711"

    logger, stream = log
    logger.warning("for %s: %d kWh", Customer(), 3500)
    assert stream.getvalue() == "for Kundennummer [Kundennummer]: 3500 kWh\n"


def test_filter_masks_tracebacks(log) -> None:
    logger, stream = log
    try:
        raise ValueError("bad IBAN DE89 3704 0044 0532 0130 00")
    except ValueError:
        logger.exception("failed for max@example.org")
    output = stream.getvalue()
    assert "failed for [E-Mail]" in output
    assert "ValueError: bad IBAN [IBAN]" in output
    assert "DE89" not in output and "max@" not in output


def test_filter_masks_child_loggers_when_attached_to_the_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    parent = logging.getLogger("tests.privacy.parent")
    parent.handlers = [handler]
    parent.propagate = False
    try:
        logging.getLogger("tests.privacy.parent.child").warning("Tel. 030/1234567")
    finally:
        parent.handlers = []
    assert stream.getvalue() == "Tel. [Telefon]\n"


def test_filter_never_drops_records_and_survives_bad_format_strings() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s %s", ("0171 1234567",), None)
    assert MaskingFilter().filter(record) is True
    assert record.args == ("[Telefon]",)
    ok = logging.LogRecord("x", logging.INFO, __file__, 1, "plain 0171 1234567", None, None)
    assert MaskingFilter().filter(ok) is True
    assert ok.getMessage() == "plain [Telefon]"


# --- client addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.57:51234", "203.0.113.0"),
        ("203.0.113.57", "203.0.113.0"),
        ("10.1.2.3:80", "10.1.2.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348:443", "2001:db8:85a3::"),
        ("[2001:db8:85a3::7]:443", "2001:db8:85a3::"),
        ("2001:db8:85a3:8d3::", "2001:db8:85a3::"),
        ("::ffff:198.51.100.23:8080", "198.51.100.0"),
        ("::1:5678", "::"),
        ("testclient:50000", "-"),
        ("", "-"),
        ("unix:/run/web.sock", "-"),
    ],
)
def test_client_addresses_keep_only_their_network(address: str, expected: str) -> None:
    assert anonymise_address(address) == expected


def test_access_lines_carry_the_network_not_the_client(log) -> None:
    """uvicorn's access logger passes the client's host:port as its first argument."""
    logger, stream = log
    access = logging.getLogger("uvicorn.access")
    saved = (access.handlers, access.propagate, access.level)
    access.handlers, access.propagate = list(logger.handlers), False
    access.setLevel(logging.INFO)
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "203.0.113.57:51234", "POST",
                    "/api/conversations?mail=max@example.org", "1.1", 201)
        # Other loggers' addresses are the services' own and stay readable.
        logger.info("Rasa at %s", "127.0.0.1:5005")
    finally:
        access.handlers, access.propagate, access.level = saved
    assert stream.getvalue().splitlines() == [
        '203.0.113.0 - "POST /api/conversations?mail=[E-Mail] HTTP/1.1" 201',
        "Rasa at 127.0.0.1:5005",
    ]
