"""A command's end-to-end ground: a fresh bucket on the moto server and a BLS stand-in serving a two-file ``pr``
survey, with the environment pointing the command at both (no pause between requests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support import aws
from tests.support.bls_site import BlsSite


@contextmanager
def stock_survey(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, *, bucket_prefix: str, population: bytes | None = None
) -> Iterator[tuple[BlsSite, Any]]:
    """``(site, s3)``: ``s3.bucket`` names the new bucket; ``population`` is also served (``DQ_POPULATION_URL``)."""
    s3 = aws.client("s3", moto_endpoint)
    bucket = f"{bucket_prefix}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.bucket = bucket
    with BlsSite() as site:
        site.put("pr/pr.class", b"class\r\n")
        site.put("pr/pr.series", b"series\r\n")
        env = {
            "AWS_ENDPOINT_URL": moto_endpoint,
            "DQ_BUCKET": bucket,
            "DQ_CONTACT": "ops@example.org",
            "DQ_BLS_BASE_URL": site.base_url,
            "DQ_REQUEST_INTERVAL": "0",
        }
        if population is not None:
            site.put("/api/population.json", population, content_type="application/json")
            env["DQ_POPULATION_URL"] = site.url("/api/population.json")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield site, s3


def objects(s3: Any) -> list[str]:
    """Every key of ``s3.bucket``, sorted."""
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=s3.bucket).get("Contents", []))
