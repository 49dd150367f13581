from hypothesis import given, settings, strategies as st
from bot.privacy import mask
from tests.privacy.test_privacy import FRAGMENTS, SEPARATORS

@settings(max_examples=25000, deadline=None)
@given(st.text(alphabet="0123456789 +-/().,:@aDEkKdnrNum[]xX\n", max_size=80))
def test_noise(text):
    once = mask(text)
    assert mask(once) == once

@settings(max_examples=25000, deadline=None)
@given(st.lists(st.tuples(FRAGMENTS, SEPARATORS), max_size=10))
def test_frag(parts):
    text = "".join(a + b for a, b in parts)
    once = mask(text)
    assert mask(once) == once
