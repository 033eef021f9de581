"""The composition root: clients built once and lazily, closed by the App that built them (never one handed in),
one User-Agent rule, and the embedded queue's visibility timeout (Terraform's: tests/repo/test_deployed_settings.py)."""

from __future__ import annotations

import boto3
import httpx
import pytest
from moto import mock_aws

from dataquest import __version__
from dataquest.app import App
from dataquest.config import REPORT_FUNCTION_TIMEOUT, REPORT_QUEUE_VISIBILITY_TIMEOUT, Settings
from dataquest.errors import ConfigurationError
from dataquest.local.embedded import create_topology

SETTINGS = Settings(bucket="b", contact="ops@example.org")


def test_each_client_is_built_once_on_first_use() -> None:
    with mock_aws(), App(SETTINGS) as app:
        assert app.http is app.http
        assert app.fetcher is app.fetcher
        assert app.fetcher.client is app.http
        assert app.s3 is app.s3
        assert app.sqs is app.sqs


def test_the_app_closes_the_clients_it_built(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []
    with mock_aws():
        app = App(SETTINGS)
        with app:
            http, s3, sqs = app.http, app.s3, app.sqs
            monkeypatch.setattr(s3, "close", lambda: closed.append("s3"))
            monkeypatch.setattr(sqs, "close", lambda: closed.append("sqs"))
            assert not http.is_closed
        assert http.is_closed
        assert sorted(closed) == ["s3", "sqs"]
        assert app.http is not http  # asked again, it builds a new one
        app.close()


def test_the_app_leaves_clients_it_was_handed_open() -> None:
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with App(SETTINGS, http=http) as app:
        assert app.http is http
    assert not http.is_closed
    http.close()


def test_nothing_is_built_when_nothing_is_asked_for() -> None:
    app = App(Settings())  # no bucket, no contact: fine until a client is asked for
    app.close()


def test_every_request_names_the_contact_in_the_user_agent() -> None:
    with App(SETTINGS) as app:
        assert app.http.headers["User-Agent"] == f"dataquest/{__version__} (+ops@example.org)"


@pytest.mark.parametrize(("contact", "says"), [(None, "DQ_CONTACT is not set"), ("nobody", "not an e-mail address")])
def test_what_reaches_bls_needs_a_good_contact_before_any_request(contact: str | None, says: str) -> None:
    seen: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)))
    with App(Settings(bucket="b", contact=contact), http=http) as app, pytest.raises(ConfigurationError, match=says):
        _ = app.bls_fetcher
    assert seen == []


def test_without_a_contact_other_sources_get_the_tool_name_alone() -> None:
    with App(Settings(bucket="b")) as app:
        assert app.http.headers["User-Agent"] == f"dataquest/{__version__}"
    with App(Settings(bucket="b", contact="nobody")) as app, pytest.raises(ConfigurationError, match="e-mail"):
        _ = app.http  # a malformed contact is never sent


def test_the_embedded_queue_hides_a_message_for_six_report_timeouts() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        topology = create_topology(s3, sqs, "vt-bucket")
        attrs = sqs.get_queue_attributes(QueueUrl=topology.report.url, AttributeNames=["VisibilityTimeout"])
    assert REPORT_QUEUE_VISIBILITY_TIMEOUT == 6 * REPORT_FUNCTION_TIMEOUT
    assert attrs["Attributes"]["VisibilityTimeout"] == str(6 * REPORT_FUNCTION_TIMEOUT)
