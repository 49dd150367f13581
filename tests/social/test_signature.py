import hashlib
import hmac
import json

import pytest

from bot.social.signature import sign, signature_valid, verification_challenge

SECRET = "app-secret-for-tests"
# Meta escapes non-ASCII characters: the body as received, not as Python would re-serialise it.
BODY = (
    b'{"object":"page","entry":[{"id":"1","messaging":[{"message":{"text":"Gr\\u00fc\\u00dfe"}}]}]}'
)


def test_sign_is_hmac_sha256_of_the_raw_bytes_with_the_prefix():
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY) == f"sha256={expected}"


def test_the_right_signature_is_accepted():
    assert signature_valid(SECRET, BODY, sign(SECRET, BODY))
    # Meta writes lowercase hex; a proxy that changes the case does not break the check.
    digest = sign(SECRET, BODY).removeprefix("sha256=")
    assert signature_valid(SECRET, BODY, "sha256=" + digest.upper())


def test_re_serialised_json_does_not_match():
    reserialised = json.dumps(json.loads(BODY), ensure_ascii=False).encode()
    assert reserialised != BODY
    assert not signature_valid(SECRET, reserialised, sign(SECRET, BODY))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + hashlib.sha1(BODY).hexdigest(),  # Rasa's connector checks only this old header
        sign("another-secret", BODY),
        sign(SECRET, BODY + b" "),
        sign(SECRET, BODY)[:-1],
        sign(SECRET, BODY) + "0",
        sign(SECRET, BODY).replace("sha256=", ""),  # no prefix
        "sha256=" + "ü" * 64,  # not hex
        "sha256=\ud800" + "a" * 63,  # a lone surrogate must not raise
    ],
)
def test_wrong_or_missing_signatures_are_refused(header):
    assert not signature_valid(SECRET, BODY, header)


def test_an_empty_secret_never_validates():
    assert not signature_valid("", BODY, sign("", BODY))


PARAMS = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}


def test_the_challenge_is_echoed_for_the_right_token():
    assert verification_challenge(PARAMS, "verify-me") == "1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {**PARAMS, "hub.verify_token": "wrong"},
        {**PARAMS, "hub.mode": "unsubscribe"},
        {k: v for k, v in PARAMS.items() if k != "hub.verify_token"},
        {k: v for k, v in PARAMS.items() if k != "hub.challenge"},
        {**PARAMS, "hub.challenge": ""},
        {**PARAMS, "hub.challenge": "9" * 201},
        {**PARAMS, "hub.verify_token": "verify-me\ud800"},
    ],
)
def test_the_challenge_is_refused_otherwise(params):
    assert verification_challenge(params, "verify-me") is None


def test_an_unset_verify_token_refuses_everything():
    assert verification_challenge({**PARAMS, "hub.verify_token": ""}, "") is None
