"""Mask personal data in chat texts before they are stored or logged.

``mask(text)`` replaces

- IBANs (German and other SEPA formats, with or without spaces, any case) with ``[IBAN]``,
- e-mail addresses with ``[E-Mail]``,
- telephone numbers in the usual German notations (``+49 30 1234567``, ``0049 …``,
  ``030/1234567``, ``0171-1234567``, ``(030) 123 45 67``, ``0800 1234567``) with ``[Telefon]``,
- customer, contract and meter numbers *introduced by a keyword* (``Kundennummer``, ``Kd.-Nr.``,
  ``Vertragsnummer``, ``Vertragskonto``, ``Zählernummer``, ``Zählernr.``, ``customer number``
  …): the keyword stays, the number becomes ``[Kundennummer]``, ``[Vertragsnummer]`` or
  ``[Zählernummer]``.

It deliberately leaves the figures of the instalment dialogue alone: ``3.500 kWh``,
``48,5 Cent``, ``12 Euro im Monat``, ``15.000``, ``0,485 €/kWh``, dates such as ``1.12.2022``,
years. The rules that keep them apart:

- a telephone number starts with ``+``, ``00``, ``0`` followed by a non-zero digit, or ``(0``,
  uses only spaces, ``/`` and ``-`` between its digit groups (never ``.`` or ``,``) and has
  8 to 17 digits (``089 12345`` is the shortest German number in use; E.164 allows 15 digits
  after the ``00``);
- a bare number without a keyword is never a customer number: customer numbers look like any
  other figure, so only the keyword tells them apart.

Known limits. Masked although harmless (the safe side, and unusual in these dialogues): a date
typed with spaces (``01 12 2022``), a meter reading with leading zeros (``00123456``), a year
right after a keyword (``Kundennummer 2023``). Not masked: a number *before* its keyword
(``12345678 ist meine Kundennummer``), two telephone numbers separated by nothing but a space
whose digits together exceed 17, local numbers without an area code (``1234567``), names and
street addresses (no pattern finds them reliably). Postcodes (``12345 Musterstadt``) are kept.

The utility's own hotline and e-mail address stay readable when passed as ``public``
(``public_contacts(utility)``), so stored bot answers still show them.

``mask`` is idempotent: masking a masked text changes nothing. ``MaskingFilter`` applies it to
log records; attach it to *handlers*, because a logger's own filters do not see records that
propagate from child loggers.

Client IP addresses are personal data too (GDPR recital 30, CJEU C-582/14 "Breyer").
``anonymise_address`` shortens one the way web analytics do: an IPv4 address to its /24
network (``203.0.113.57`` → ``203.0.113.0``), an IPv6 address to its /48 (``2001:db8:1::``),
the port dropped. ``MaskingFilter`` applies it to uvicorn's access lines, whose first argument
is the client's ``host:port``. Nothing else in a log line is treated as an address: the
services' own addresses (``127.0.0.1:5005``) stay readable for operators.

A conversation id grants access to its transcript, so in access lines the id in a path
(``/conversations/<id>``) is shortened to its first eight characters (``shorten_ids``), as the
chat store's own messages name conversations.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final

IBAN_PLACEHOLDER: Final = "[IBAN]"
EMAIL_PLACEHOLDER: Final = "[E-Mail]"
PHONE_PLACEHOLDER: Final = "[Telefon]"
CUSTOMER_PLACEHOLDER: Final = "[Kundennummer]"
CONTRACT_PLACEHOLDER: Final = "[Vertragsnummer]"
METER_PLACEHOLDER: Final = "[Zählernummer]"
# What stands for a client address that is not an IP address (a Unix socket, a test client).
ADDRESS_PLACEHOLDER: Final = "-"
# The network bits kept of a client address: the /24 of IPv4 and the /48 of IPv6 identify a
# provider's network segment, not a household.
IPV4_KEPT_BITS: Final = 24
IPV6_KEPT_BITS: Final = 48
# The logger whose records carry the client's "host:port" as their first argument and the path
# (with the query) as their third.
ACCESS_LOGGER: Final = "uvicorn.access"
# What stays of a conversation id in a logged path: 8 of 32 characters (48 of 192 bits) tell
# an operator which conversation it was, and give no access to it.
KEPT_ID_CHARS: Final = 8
_ID_IN_PATH = re.compile(rf"(/conversations/)([A-Za-z0-9_-]{{{KEPT_ID_CHARS}}})[^/?#\s\"]+")

# Every placeholder stands where a token of letters and digits stood, so the patterns treat "[" and
# "]" like letters at their edges: a text reads the same to them before and after masking. That
# keeps a second pass of ``mask`` (it repeats until nothing changes) short and rare.

# IBAN lengths of the SEPA countries (ISO 13616 IBAN registry, SWIFT, release 2023). A known
# country's IBAN ends exactly after this many characters, so a word that follows it ("… 00
# bitte") is never swallowed, even when the IBAN is written in groups of four.
IBAN_LENGTHS: Final[Mapping[str, int]] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}  # fmt: skip
# Every SEPA BBAN has at least this many digits (NL: 10); the check keeps a word that happens to
# start with two letters and two digits from being taken for an IBAN.
_IBAN_MIN_BBAN_DIGITS: Final = 6
# An IBAN of an unknown country, or one mistyped by a character, is still masked when it looks
# like one: 10 to 30 BBAN characters in digit-bearing groups, at least 8 of them digits.
_IBAN_FALLBACK_BBAN: Final = range(10, 31)
_IBAN_FALLBACK_MIN_DIGITS: Final = 8

# German numbers have 8 digits at least (``089 12345``); 17 is ``00`` plus the 15 digits E.164
# allows (country code included), so no real number is too long.
PHONE_DIGITS: Final = range(8, 18)

_IBAN_START = re.compile(r"(?<![A-Za-z0-9\]])[A-Za-z]{2}[0-9]{2}")
_IBAN_CHUNK = re.compile(r"[ ]?([A-Za-z0-9]+)")

_EMAIL = re.compile(
    r"(?<![\w.%+\]-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w\[-])",
)

_PHONE = re.compile(
    r"""
    (?<![\w+\]])(?<![0-9\]][.,])     # not the tail of a word, a number or a decimal
    (?:
        (?:\+|00)[1-9][0-9]*         # country code (+49, 0049), maybe with the area code glued on
        (?:[ ]?\(0\)[ ]?[0-9]+)?     # "+49 (0) 30": the trunk zero some people keep
      | \(0[1-9][0-9]*\)[ ]?[0-9]+   # (030) 1234567
      | 0[1-9][0-9]*                 # 030, 0171, 0800, 01711234567
    )
    (?:(?:[ ]?[/-][ ]?|[ ])[0-9]+)*  # further groups: "030 123 45 67", "030/123", "0171-123"
    (?![\w+\[]|[.,][0-9\[])          # a decimal or a longer token is no telephone number
    """,
    re.VERBOSE,
)

# Between the digit groups of one telephone number; used to split runs of several numbers.
_PHONE_SEPARATOR = re.compile(r"((?:[ ]?[/-][ ]?|[ ]))")

# What may stand between the keyword and the number: "Kundennummer 123", "Kundennummer: 123",
# "Kundennummer ist 123", "Kundennummer lautet: 123".
_GAP = r"(?:[ \t]*[:#=][ \t]*|[ \t]+)(?:(?:ist|lautet|lauten|is|war|was)[ \t]*:?[ \t]+)?"
# The number: groups joined by ". / -" or a space; every group holds a digit, so the next word
# ("Kundennummer 123 und …") ends it. Meter numbers may contain letters (1ESY1160612345), and
# some numbers start with a letter code joined by a hyphen (AB-12345).
_NUMBER_GROUP = r"[A-Za-z]{0,4}[0-9][A-Za-z0-9]*"
_NUMBER = (
    rf"(?:[A-Za-z]{{1,4}}[./-])?{_NUMBER_GROUP}"
    rf"(?:(?:[ ]?[./-][ ]?|[ ]){_NUMBER_GROUP})*(?![A-Za-z0-9\[])"
)
_ID_KEYWORDS: Final = (
    (
        CUSTOMER_PLACEHOLDER,
        r"kunden[- ]?(?:nummer|nr\.?)n?|kd\.?[- ]?nr\.?|customer[- ](?:number|no\.?|id)",
    ),
    (
        CONTRACT_PLACEHOLDER,
        r"vertrags[- ]?(?:konto[- ]?)?(?:nummer|nr\.?)n?|vertragskonto"
        r"|contract[- ](?:number|no\.?|account)",
    ),
    (
        METER_PLACEHOLDER,
        r"z(?:ä|ae)hler[- ]?(?:nummer|nr\.?)n?|meter[- ](?:number|no\.?|id)",
    ),
)
_IDS = tuple(
    (
        placeholder,
        re.compile(
            rf"(?<![\w\]])(?P<keep>(?:{keyword}){_GAP})(?P<number>{_NUMBER})", re.IGNORECASE
        ),
    )
    for placeholder, keyword in _ID_KEYWORDS
)


def _is_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _is_token(char: str) -> bool:
    """Return whether ``char`` continues a token: an ASCII letter or digit, or a placeholder."""
    return _is_alnum(char) or char in "[]"


def _take_iban(text: str, pos: int, count: int) -> int | None:
    """Return the end of ``count`` IBAN characters from ``pos`` (single spaces allowed)."""
    taken = 0
    while taken < count:
        if text.startswith(" ", pos) and pos + 1 < len(text) and _is_alnum(text[pos + 1]):
            pos += 1
        if pos < len(text) and _is_alnum(text[pos]):
            pos += 1
            taken += 1
        else:
            return None
    return pos


def _iban_end(text: str, start: int) -> int | None:
    """Return where the IBAN starting at ``start`` ends, or None if it is no IBAN."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is not None:
        end = _take_iban(text, start + 4, length - 4)
        if end is not None and (end == len(text) or not _is_token(text[end])):
            bban = text[start + 4 : end]
            if sum(c.isdigit() for c in bban) >= _IBAN_MIN_BBAN_DIGITS:
                return end
    # Unknown country or the wrong length (a typo): groups that each hold a digit. A group that
    # could start another IBAN ends the run, so "DE89 DE89 DE89 …" never counts as one IBAN
    # (and masking it does not peel off one IBAN per pass).
    pos = start + 4
    bban = ""
    while (chunk := _IBAN_CHUNK.match(text, pos)) and any(c.isdigit() for c in chunk[1]):
        if bban and chunk[0].startswith(" ") and _IBAN_START.match(chunk[1]):
            break
        bban += chunk[1]
        pos = chunk.end()
        if len(bban) > _IBAN_FALLBACK_BBAN[-1]:
            return None  # too long for an IBAN; stopping early keeps long inputs linear
    digits = sum(c.isdigit() for c in bban)
    if len(bban) in _IBAN_FALLBACK_BBAN and digits >= _IBAN_FALLBACK_MIN_DIGITS:
        return pos
    return None


def _mask_ibans(text: str) -> str:
    parts: list[str] = []
    pos = 0
    for match in _IBAN_START.finditer(text):
        if match.start() < pos:  # inside an IBAN already replaced
            continue
        end = _iban_end(text, match.start())
        if end is None:
            continue
        parts.append(text[pos : match.start()])
        parts.append(IBAN_PLACEHOLDER)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _phone_key(number: str) -> str:
    """Normalise a telephone number for comparison: ``+49 (0)30 12`` and ``030 12`` agree."""
    number = number.replace("(0)", "")
    digits = "".join(c for c in number if c.isdigit())
    if number.lstrip().startswith("+"):
        digits = "00" + digits
    if digits.startswith("0049"):
        digits = "0" + digits[4:]
    return digits


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _split_numbers(candidate: str) -> list[str]:
    """Split a run of digit groups too long for one number where a new number starts.

    ``"0171 1234567 030 1234567"``: once the current number has telephone length, a group
    starting with ``0`` (a new area code) begins the next one. Separators stay with the
    preceding part.
    """
    parts = _PHONE_SEPARATOR.split(candidate)  # groups at even, separators at odd indexes
    numbers = [parts[0]]
    for separator, group in zip(parts[1::2], parts[2::2], strict=True):
        if group.startswith("0") and _digits(numbers[-1]) >= PHONE_DIGITS.start:
            numbers[-1] += separator
            numbers.append(group)
        else:
            numbers[-1] += separator + group
    return numbers


def _replace_phone(public: Collection[str]) -> Callable[[re.Match[str]], str]:
    def one(number: str) -> str:
        if _digits(number) not in PHONE_DIGITS or _phone_key(number) in public:
            return number
        return PHONE_PLACEHOLDER

    def replace(match: re.Match[str]) -> str:
        if _digits(match[0]) <= PHONE_DIGITS[-1]:
            return one(match[0])
        # Too long for one number: several written one after the other.
        return "".join(
            one(number.rstrip(" /-")) + number[len(number.rstrip(" /-")) :]
            for number in _split_numbers(match[0])
        )

    return replace


def _replace_email(public: Collection[str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return match[0] if match[0].lower() in public else EMAIL_PLACEHOLDER

    return replace


def _mask_once(text: str, keep_emails: Collection[str], keep_phones: Collection[str]) -> str:
    # E-mail first: an address may contain digits that look like a telephone number or IBAN.
    text = _EMAIL.sub(_replace_email(keep_emails), text)
    text = _mask_ibans(text)
    # Keyword numbers before telephone numbers: "Kundennummer 0301234567" is a customer number.
    for placeholder, pattern in _IDS:
        text = pattern.sub(rf"\g<keep>{placeholder}", text)
    return _PHONE.sub(_replace_phone(keep_phones), text)


def mask(text: str, *, public: Collection[str] = ()) -> str:
    """Replace personal data in ``text`` with placeholders.

    Args:
        text: a chat message, log line or free-text field.
        public: telephone numbers and e-mail addresses that stay readable because the utility
            publishes them itself (its hotline in a bot answer); see ``public_contacts``.

    Returns:
        The text with IBANs, e-mail addresses, telephone numbers and keyword-introduced
        customer, contract and meter numbers replaced; everything else unchanged.
    """
    keep_emails = {p.strip().lower() for p in public if "@" in p}
    keep_phones = {_phone_key(p) for p in public if "@" not in p}
    # Repeat until nothing changes: a replacement can change what a neighbouring pattern sees
    # (a run of digits that was too long for an IBAN gets shorter), and the result must be
    # final so that masking a masked text changes nothing. Every change removes digits or an
    # "@" and placeholders contain neither, so the loop ends; it rarely runs more than twice.
    while True:
        masked = _mask_once(text, keep_emails, keep_phones)
        if masked == text:
            return masked
        text = masked


def public_contacts(utility: Mapping[str, Any]) -> frozenset[str]:
    """Return the utility's own published contact data (``phone``, ``emergency_phone``, ``email``).

    Args:
        utility: the mapping of ``knowledge/utility.yml``.

    Returns:
        The values to pass as ``mask(..., public=...)`` so bot answers keep the hotline.
    """
    return frozenset(
        str(utility[key])
        for key in ("phone", "emergency_phone", "email")
        if isinstance(utility.get(key), str)
    )


def anonymise_address(address: str) -> str:
    """Shorten a client address (``host`` or ``host:port``) to its network; drop the port.

    Args:
        address: ``203.0.113.57``, ``203.0.113.57:51234``, ``2001:db8:1:2::7``,
            ``[2001:db8::7]:443`` or ``2001:db8::7:443`` (uvicorn writes IPv6 without brackets).

    Returns:
        ``203.0.113.0`` or ``2001:db8:1::``; :data:`ADDRESS_PLACEHOLDER` for anything that
        is not an IP address.
    """
    text = address.strip()
    if text.startswith("[") and "]" in text:
        candidates = [text[1 : text.index("]")]]
    else:
        # "host:port" first (uvicorn always appends the port), then a bare address. A bare IPv6
        # address may be read as host:port; the result is still a /48 with no host part.
        candidates = [text.rsplit(":", 1)[0], text] if ":" in text else [text]
    for candidate in candidates:
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        bits = IPV4_KEPT_BITS if ip.version == 4 else IPV6_KEPT_BITS
        return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False).network_address)
    return ADDRESS_PLACEHOLDER


def shorten_ids(path: str) -> str:
    """``path`` with every conversation id cut to its first characters and ``…``."""
    return _ID_IN_PATH.sub(r"\1\2…", path)


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal data in the message, its arguments and tracebacks.

    The message is rendered (``msg % args``) and masked as a whole, because a personal datum
    can sit in any argument, including objects whose ``str()`` contains it. In uvicorn's access
    lines the client address and conversation ids are shortened first
    (:func:`anonymise_address`, :func:`shorten_ids`). Attach it to the
    handlers: ``handler.addFilter(MaskingFilter())``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it.

        Args:
            record: the log record.

        Returns:
            Always True.
        """
        if (
            record.name == ACCESS_LOGGER
            and isinstance(record.args, tuple)
            and record.args
            and isinstance(record.args[0], str)
        ):
            args = list(record.args)
            args[0] = anonymise_address(str(args[0]))
            if len(args) > 2 and isinstance(args[2], str):
                args[2] = shorten_ids(args[2])
            record.args = tuple(args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A malformed format string: leave it for logging to report, masked piecewise.
            record.msg = mask(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        else:
            record.msg = mask(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters render the traceback lazily into exc_text; do it now to mask it.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True
