"""Issue 12 on one machine: `dataquest sync-bls --survey all` (a separate process) mirrors a scale-1 synthetic
BLS tree served by the stand-in into a moto server, byte for byte, within the limits: at most 2 bodies streaming
at once, and request starts spaced by DQ_REQUEST_INTERVAL (counted at the stand-in, tolerant to its arrival
jitter: no timing assertion)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support import aws
from tests.support.bls_site import BlsSite, MiB
from tests.support.bls_tree import SyntheticTree

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 0.05
JITTER = 0.05  # how late a request may arrive at the stand-in (threads, the loopback, a busy machine)
SPAN = 10  # requests: any SPAN + 1 consecutive starts cover at least SPAN intervals, less twice the jitter


def test_sync_bls_all_mirrors_the_tree_byte_for_byte_within_the_limits(moto_endpoint: str) -> None:
    s3 = aws.client("s3", moto_endpoint)
    bucket = f"tree-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    tree = SyntheticTree(seed=12, scale=1)
    with BlsSite(bandwidth=2 * MiB) as site:  # a capped stream: bodies overlap, so the pool's limit shows
        tree.install(site)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DQ_")}
        env.update(
            PYTHONPATH=str(ROOT / "src"),
            AWS_ENDPOINT_URL=moto_endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            DQ_BUCKET=bucket,
            DQ_CONTACT="ops@example.org",
            DQ_BLS_BASE_URL=site.base_url,
            DQ_REQUEST_INTERVAL=str(INTERVAL),
        )
        done = subprocess.run(
            [sys.executable, "-m", "dataquest.cli", "sync-bls", "--survey", "all", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        site.wait_idle()
        assert done.returncode == 0, done.stderr[-3000:]
        doc = json.loads(done.stdout)
        files = sorted(p for p in tree.files if p.split("/", 1)[0] in tree.surveys)
        assert (doc["surveys"], doc["uploaded"], doc["errors"]) == (list(tree.surveys), len(files), [])

        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="bls/")
        assert sorted(o["Key"] for page in pages for o in page.get("Contents", [])) == [f"bls/{p}" for p in files]
        for path in files:
            assert s3.get_object(Bucket=bucket, Key=f"bls/{path}")["Body"].read() == site.data_of(path), path

        folders = [f for f in tree.folders() if f != "compressed/"]
        assert site.listing_gets() == {site.root: 1} | {site.root + f: 1 for f in folders}
        assert (site.bodies(), site.max_streams()) == (len(files), 2)
        starts = sorted(r.at for r in site.requests)
    assert len(starts) == 1 + len(folders) + len(files)
    assert len(starts) > SPAN
    tightest = min(b - a for a, b in zip(starts, starts[SPAN:], strict=False))
    assert tightest >= SPAN * INTERVAL - 2 * JITTER, f"{SPAN + 1} requests started within {tightest:.3f} s"
