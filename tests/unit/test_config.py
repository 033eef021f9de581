from __future__ import annotations

import pytest

from dataquest.config import (
    DEFAULT_BLS_BASE_URL,
    DEFAULT_SURVEYS,
    MAX_LEASE_TTL,
    MAX_REQUEST_INTERVAL,
    Settings,
    is_survey_name,
    log_level,
)
from dataquest.errors import ConfigurationError


def test_defaults_from_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s.bls_base_url == DEFAULT_BLS_BASE_URL
    assert s.surveys == ("pr",)
    assert s.bucket is None


def test_surveys_are_parsed_deduplicated_and_validated() -> None:
    assert Settings.from_env({"DQ_BLS_SURVEYS": "pr, ce,pr"}).surveys == ("pr", "ce")
    with pytest.raises(ConfigurationError, match="DQ_BLS_SURVEYS"):
        Settings.from_env({"DQ_BLS_SURVEYS": "../etc"})
    assert not is_survey_name("pr\n")  # the whole name fits the rule, not a prefix of it ("$" allows a final newline)


def test_flag_overrides_win_and_none_is_ignored() -> None:
    s = Settings.from_env({"DQ_BUCKET": "env-bucket"}).with_overrides(bucket=None, surveys=["CE"])
    assert s.bucket == "env-bucket"
    assert s.surveys == ("ce",)


def test_missing_contact_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="DQ_CONTACT is not set"):
        Settings.from_env({}).user_agent()
    with pytest.raises(ConfigurationError, match="not an e-mail"):
        Settings.from_env({"DQ_CONTACT": "nobody"}).user_agent()
    assert "ops@example.org" in Settings.from_env({"DQ_CONTACT": "ops@example.org"}).user_agent()


def test_missing_bucket_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="DQ_BUCKET"):
        Settings.from_env({}).require_bucket()


def test_base_url_gets_a_trailing_slash_and_must_be_http() -> None:
    assert Settings.from_env({"DQ_BLS_BASE_URL": "http://x/pub"}).bls_base_url == "http://x/pub/"
    with pytest.raises(ConfigurationError):
        Settings.from_env({"DQ_BLS_BASE_URL": "ftp://x/"})


def test_the_lease_ttl_is_short_by_default_and_must_be_a_positive_finite_number() -> None:
    assert Settings.from_env({}).lease_ttl == 60.0
    assert Settings.from_env({"DQ_LEASE_TTL": "2.5"}).lease_ttl == 2.5
    for bad in ("0", "-1", "nan", "inf", "1e400", "soon"):
        with pytest.raises(ConfigurationError, match="DQ_LEASE_TTL"):
            Settings.from_env({"DQ_LEASE_TTL": bad})
    with pytest.raises(ConfigurationError, match="DQ_REQUEST_INTERVAL"):
        Settings.from_env({"DQ_REQUEST_INTERVAL": "inf"})


def test_a_garbled_endpoint_url_is_a_configuration_error() -> None:
    assert Settings.from_env({"AWS_ENDPOINT_URL": "http://localhost:4566"}).aws_endpoint_url == "http://localhost:4566"
    for bad in ("not a url", "localhost:4566", "http://", "ftp://x"):
        with pytest.raises(ConfigurationError, match="AWS_ENDPOINT_URL="):
            Settings.from_env({"AWS_ENDPOINT_URL": bad})


def test_the_log_level_is_a_setting_read_like_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from dataquest import log
    from dataquest.config import log_level

    assert log_level({}) == logging.INFO
    assert log_level({"DQ_LOG_LEVEL": "debug"}) == logging.DEBUG
    with pytest.raises(ConfigurationError, match="DQ_LOG_LEVEL='chatty' is not a log level"):
        log_level({"DQ_LOG_LEVEL": "chatty"})
    monkeypatch.setenv("DQ_LOG_LEVEL", "Warning")
    log.setup()
    assert logging.getLogger("dataquest").level == logging.WARNING


# --- issue 25: bounds, hosts, ASCII, plain digits, and one meaning for an empty variable ------------------------


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("DQ_LEASE_TTL", "1e12", f"at most {MAX_LEASE_TTL:g}"),
        ("DQ_REQUEST_INTERVAL", "100000", f"at most {MAX_REQUEST_INTERVAL:g}"),
        ("DQ_BLS_BASE_URL", "https://", "has no host"),
        ("DQ_BLS_BASE_URL", "https:///pub/", "has no host"),
        ("DQ_BLS_BASE_URL", "https://exa mple.org/", "has no host"),
        ("DQ_POPULATION_URL", "https://", "has no host"),
        ("DQ_POPULATION_URL", "file:///etc/passwd", "is not an http(s) URL"),
        ("DQ_TRANSFER_STREAMS", "1_0", "plain digits"),
        ("DQ_TRANSFER_STREAMS", "\u0663", "plain digits"),
        ("DQ_TRANSFER_STREAMS", "+3", "plain digits"),
        ("DQ_PARTS_IN_FLIGHT", "\uff14", "plain digits"),
        ("DQ_QUERY_SCAN_LIMIT", "lots", "plain digits"),
        ("DQ_QUERY_SCAN_LIMIT", "0", "between 1 and"),
    ],
)
def test_a_value_the_run_cannot_use_is_refused_naming_the_variable(name: str, value: str, said: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"^{name}=") as info:
        Settings.from_env({name: value})
    assert said in str(info.value)


@pytest.mark.parametrize("contact", ["jos\u00e9@example.org", "ops@ex\u00e4mple.org", "ops@example.org\u200b"])
def test_a_non_ascii_contact_is_a_clear_error_before_any_request(contact: str) -> None:
    settings = Settings.from_env({"DQ_CONTACT": contact})
    with pytest.raises(ConfigurationError, match=r"^DQ_CONTACT=.*ASCII"):
        settings.user_agent()


@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_variable_means_its_default_for_every_setting(blank: str) -> None:
    names = [
        "DQ_BUCKET",
        "DQ_CONTACT",
        "DQ_BLS_BASE_URL",
        "DQ_BLS_SURVEYS",
        "DQ_POPULATION_URL",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "DQ_REQUEST_INTERVAL",
        "DQ_PARTS_IN_FLIGHT",
        "DQ_TRANSFER_STREAMS",
        "DQ_LEASE_TTL",
        "DQ_TRANSFER_QUEUE_URL",
        "DQ_MAX_SURVEYS",
        "DQ_LOG_LEVEL",
        "DQ_LAKE_DIR",
        "DQ_LAKE_DATABASE",
        "DQ_QUERY_SCAN_LIMIT",
    ]
    assert Settings.from_env(dict.fromkeys(names, blank)) == Settings.from_env({})
    assert Settings.from_env({"DQ_BLS_SURVEYS": blank}).surveys == DEFAULT_SURVEYS
    assert log_level({"DQ_LOG_LEVEL": blank}) == log_level({})


def test_the_lake_settings_are_read_here_with_their_defaults() -> None:
    default = Settings.from_env({})
    assert (default.lake_dir, default.lake_database, default.query_scan_limit) == ("lake", "dataquest", 4 << 30)
    given = Settings.from_env(
        {"DQ_LAKE_DIR": "/tmp/l", "DQ_LAKE_DATABASE": "dataquest_dev", "DQ_QUERY_SCAN_LIMIT": "10737418240"}
    )
    assert (given.lake_dir, given.lake_database, given.query_scan_limit) == ("/tmp/l", "dataquest_dev", 10 << 30)
