"""Fixtures shared by the unit tests."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader() -> Iterator[None]:
    """Every botocore session of the run reads the service models through one loader.

    moto's ``mock_aws`` resets boto3's default session on entry, and each new botocore session makes a new loader
    that parses the models' JSON again (S3's alone is ~0.1 s of CPU): a third of the unit tests' CPU went to
    parsing the same files hundreds of times. A loader only caches what it read from its search path, so sessions
    can share it; what each session registers (handlers, credentials, config) stays its own.
    """
    shared = functools.cache(botocore.loaders.create_loader)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", shared)
        yield


@pytest.fixture
def s3(request: pytest.FixtureRequest) -> Iterator[Any]:
    """moto's S3 in this process, with the test module's ``BUCKET`` created."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=request.module.BUCKET)
        yield client


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts multipart parts of any size (S3's 5 MiB floor), so transfers can use kilobyte parts."""
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1)
