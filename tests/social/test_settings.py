import pytest

from bot.social.settings import DEFAULT_GRAPH_API_URL, MetaSettingsError, meta_settings_from

FULL = {
    "META_APP_SECRET": "s3cret",
    "META_VERIFY_TOKEN": "verify",
    "META_ACCESS_TOKEN": "EAAB-token",
    "GRAPH_API_URL": "http://127.0.0.1:9999/v24.0/",
    "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "MESSENGER_PAGE_ID": "1234567890123",
}


def test_unset_secret_means_off():
    assert meta_settings_from({}) is None
    assert meta_settings_from({**FULL, "META_APP_SECRET": "  "}) is None


def test_full_settings():
    settings = meta_settings_from(FULL)
    assert settings.graph_api_url == "http://127.0.0.1:9999/v24.0"
    assert settings.api_version == "v24.0"
    assert settings.whatsapp_phone_number_id == "106540352242922"
    assert "s3cret" not in repr(settings) and "EAAB" not in repr(settings)


def test_default_graph_url_is_pinned():
    settings = meta_settings_from({k: v for k, v in FULL.items() if k != "GRAPH_API_URL"})
    assert settings.graph_api_url == DEFAULT_GRAPH_API_URL


def test_one_channel_is_enough():
    settings = meta_settings_from({k: v for k, v in FULL.items() if k != "MESSENGER_PAGE_ID"})
    assert settings.messenger_page_id is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"META_VERIFY_TOKEN": ""}, "META_VERIFY_TOKEN must be set"),
        ({"META_ACCESS_TOKEN": ""}, "META_ACCESS_TOKEN must be set"),
        ({"GRAPH_API_URL": "https://graph.facebook.com"}, "pinned API version"),
        ({"GRAPH_API_URL": "graph.facebook.com/v24.0"}, "pinned API version"),
        ({"WHATSAPP_PHONE_NUMBER_ID": "", "MESSENGER_PAGE_ID": ""}, "set WHATSAPP_PHONE_NUMBER_ID"),
        ({"MESSENGER_PAGE_ID": "my-page"}, "MESSENGER_PAGE_ID must be the numeric id"),
    ],
)
def test_problems_name_the_variable(change, message):
    with pytest.raises(MetaSettingsError) as info:
        meta_settings_from({**FULL, **change})
    assert message in str(info.value)
