"""Rules that Terraform and the package both apply hold equal: a value Terraform accepts must not make every
invocation fail at start-up (issue 24, item 2). Read with python-hcl2 from modules/pipeline/variables.tf; the
modules' `terraform test` files (pipeline.tftest.hcl) show Terraform refusing what the package refuses."""

from __future__ import annotations

import json
import re
from typing import Any

import hcl2
import pytest

from dataquest import config
from dataquest.errors import ConfigurationError
from tests.conftest import ROOT

VARIABLES = ROOT / "terraform" / "modules" / "pipeline" / "variables.tf"


def condition(name: str) -> str:
    """The validation condition of the pipeline module's variable ``name`` (the first one it has)."""
    with VARIABLES.open() as handle:
        document: dict[str, Any] = hcl2.load(handle)
    [variable] = [v[f'"{name}"'] for v in document["variable"] if f'"{name}"' in v]
    return str(variable["validation"][0]["condition"])


def hcl_regex(text: str) -> str:
    """The pattern of the one regex("...") call in ``text``, with HCL's string escapes undone."""
    match = re.search(r'regex\(("(?:[^"\\]|\\.)*")', text)
    assert match, text
    return str(json.loads(match.group(1)))


def test_contact_email_is_one_rule_on_both_sides() -> None:
    assert hcl_regex(condition("contact_email")) == config._EMAIL_RE.pattern


@pytest.mark.parametrize(
    "address", ["ops@example.com", "<ops@example.com>", "Ops <ops@example.com>", "ops@example", "a b@example.com"]
)
def test_terraform_and_the_package_agree_on_each_address(address: str) -> None:
    terraform_accepts = re.search(hcl_regex(condition("contact_email")), address) is not None
    try:
        config.Settings(contact=address).require_contact()
    except ConfigurationError:
        package_accepts = False
    else:
        package_accepts = True
    assert terraform_accepts == package_accepts


def test_transfer_streams_has_the_packages_bounds() -> None:
    text = condition("transfer_streams")
    lower = re.search(r"var\.transfer_streams >= (\d+)", text)
    upper = re.search(r"var\.transfer_streams <= (\d+)", text)
    assert lower, text
    assert upper, text
    # 2: the least maximum_concurrency AWS accepts for an SQS event source; the package reads any value from 1.
    assert int(lower.group(1)) == 2
    assert int(upper.group(1)) == config.MAX_TRANSFER_STREAMS
    assert config.Settings.from_env({"DQ_TRANSFER_STREAMS": upper.group(1)}).transfer_streams == int(upper.group(1))
    with pytest.raises(ConfigurationError, match="DQ_TRANSFER_STREAMS"):
        config.Settings.from_env({"DQ_TRANSFER_STREAMS": str(int(upper.group(1)) + 1)})


def test_freshness_hours_is_one_rule_on_both_sides() -> None:
    """DQ_FRESHNESS_HOURS: Terraform's default and bounds are the package's (config.FRESHNESS_HOURS)."""
    with VARIABLES.open() as handle:
        document: dict[str, Any] = hcl2.load(handle)
    [variable] = [v['"freshness_hours"'] for v in document["variable"] if '"freshness_hours"' in v]
    text = condition("freshness_hours")
    lower = re.search(r"var\.freshness_hours >= (\d+)", text)
    upper = re.search(r"var\.freshness_hours <= (\d+)", text)
    assert lower, text
    assert upper, text
    assert (variable["default"], int(lower.group(1)), int(upper.group(1))) == (
        config.DEFAULT_FRESHNESS_HOURS,
        1,
        config.MAX_FRESHNESS_HOURS,
    )
    assert config.Settings.from_env({}).freshness_hours == variable["default"]
    for accepted in (lower.group(1), upper.group(1)):
        assert config.Settings.from_env({"DQ_FRESHNESS_HOURS": accepted}).freshness_hours == int(accepted)
    for refused in (str(int(lower.group(1)) - 1), str(int(upper.group(1)) + 1), "1.5"):
        with pytest.raises(ConfigurationError, match="DQ_FRESHNESS_HOURS"):
            config.Settings.from_env({"DQ_FRESHNESS_HOURS": refused})
