"""The fan-out at the handler level on moto: the ingest job as the planner (``DQ_TRANSFER_QUEUE_URL`` set), the
transfer queue, and the transfer handler fed by the relay, mirror a scale-1 synthetic tree byte for byte."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest

from dataquest.app import App
from dataquest.config import RESUMABLE_UPLOAD_GRACE
from dataquest.documents import to_document
from dataquest.ingest import run_ingest
from dataquest.local import relay
from dataquest.local.invoke import handler_invoker
from tests.support.bls_tree import SyntheticTree
from tests.support.fanout import BUCKET, Fanout, fanout_world, lambda_context
from tests.unit.test_report import POPULATION


@pytest.fixture
def fanout() -> Iterator[Fanout]:
    with fanout_world() as world:
        yield world


def keys(s3: Any, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def drain(fanout: Fanout) -> int:
    """Deliver the transfer queue to the transfer handler, ten records a batch, as the event source does."""
    invoke = handler_invoker(fanout.app_handler, lambda_context)
    batches = 0
    while messages := relay.receive(fanout.sqs, fanout.queue_url, wait_seconds=0, batch_size=10):
        result = relay.deliver(fanout.sqs, fanout.queue_url, fanout.queue_arn, messages, invoke, retry_now=True)
        assert result.failed == []
        batches += 1
    return batches


@contextmanager
def planner(fanout: Fanout, tree: SyntheticTree) -> Iterator[App]:
    """``tree`` served, and the App of the ingest job mirroring its surveys (the transfer handler's App too)."""
    tree.install(fanout.site)
    fanout.site.serve("/population.json", POPULATION)
    settings = replace(fanout.app.settings, surveys=tree.surveys, population_url=fanout.site.url("/population.json"))
    with App(settings, s3=fanout.s3, sqs=fanout.sqs) as app:
        fanout.app = app
        yield app


def test_the_planner_queue_and_transfer_handler_mirror_a_synthetic_tree_byte_for_byte(fanout: Fanout) -> None:
    tree = SyntheticTree(seed=3, scale=1)
    with planner(fanout, tree) as app:
        summary = run_ingest(app)

        assert (summary.uploaded, summary.files_seen, summary.errors) == (0, len(tree.files) - 3, [])
        expected = {
            s: {"files": len(tree.survey_files(s)), "bytes": sum(f.size for f in tree.survey_files(s))}
            for s in tree.surveys
        }
        assert to_document(summary)["planned"] == expected
        assert keys(fanout.s3, "bls/") == []  # the planner transfers nothing itself
        trail_key = keys(fanout.s3, "_logs/ingest/")[0]
        trail = [json.loads(x) for x in fanout.body(trail_key).decode().splitlines()]
        planned = {e["survey"]: {"files": e["files"], "bytes": e["bytes"]} for e in trail if e["event"] == "planned"}
        assert planned == expected

        assert drain(fanout) >= 1

        mirrored = {k.removeprefix("bls/"): fanout.body(k) for k in keys(fanout.s3, "bls/")}
        wanted = {p: fanout.site.data_of(p) for p in tree.files if p.split("/", 1)[0] in tree.surveys}
        assert mirrored.keys() == wanted.keys()
        assert all(mirrored[p] == wanted[p] for p in wanted)
        run_folder = str(summary.trail_key).removesuffix(".jsonl") + "/transfers/"
        assert all(k.startswith(run_folder) for k in keys(fanout.s3, "_logs/ingest/") if "/transfers/" in k)
        outcomes = [
            json.loads(line)
            for k in keys(fanout.s3, "_logs/ingest/")
            if "/transfers/" in k
            for line in fanout.body(k).decode().splitlines()
        ]
        assert sorted(o["path"] for o in outcomes) == sorted(p.split("/", 1)[1] for p in wanted)
        assert {o["event"] for o in outcomes} == {"upload"}

        gets = fanout.site.file_gets()
        again = run_ingest(app)  # a no-op day: everything skipped, nothing planned, nothing downloaded
        assert to_document(again)["planned"] == {s: {"files": 0, "bytes": 0} for s in tree.surveys}
        assert again.skipped == len(wanted)
        assert drain(fanout) == 0
        assert fanout.site.file_gets() == gets + 1  # the population only


def test_a_release_in_three_surveys_plans_only_their_files_and_the_planner_deletes(fanout: Fanout) -> None:
    tree = SyntheticTree(seed=5, scale=1)
    with planner(fanout, tree) as app:
        run_ingest(app)
        drain(fanout)
        change = tree.mutate(tree.surveys[:3])
        tree.install(fanout.site)

        summary = run_ingest(app)

        moved = [*change.changed, *change.added]
        planned = {s: p["files"] for s, p in to_document(summary)["planned"].items() if p["files"]}
        assert planned == {s: sum(1 for p in moved if p.startswith(s + "/")) for s in tree.surveys[:3]}
        assert summary.deleted == len(change.removed)
        assert [k for k in keys(fanout.s3, "bls/") if k.removeprefix("bls/") in change.removed] == []
        drain(fanout)
        mirrored = {k.removeprefix("bls/"): fanout.body(k) for k in keys(fanout.s3, "bls/")}
        assert mirrored == {p: fanout.site.data_of(p) for p in tree.files if p.split("/", 1)[0] in tree.surveys}


def test_the_planner_spares_a_transfers_open_upload_and_aborts_a_dead_ones(fanout: Fanout) -> None:
    """A transfer resumed over several invocations keeps its multipart upload open without the lease: the next
    planner leaves it alone while it is young (RESUMABLE_UPLOAD_GRACE) and aborts it once it is older. (moto gives
    every upload the same fixed ``Initiated`` time, so the planner's clock is set relative to it.)"""
    tree = SyntheticTree(seed=7, scale=1)
    key = f"bls/{tree.surveys[0]}/resuming.bin"
    with planner(fanout, tree) as app:
        fanout.s3.create_multipart_upload(Bucket=BUCKET, Key=key)
        initiated = fanout.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]["Initiated"]
        with patch("dataquest.bls.mirror.datetime") as clock:
            clock.now.return_value = initiated + timedelta(minutes=30)
            run_ingest(app)
            open_uploads = [u["Key"] for u in fanout.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
            assert open_uploads == [key]

            clock.now.return_value = initiated + RESUMABLE_UPLOAD_GRACE + timedelta(minutes=1)
            run_ingest(app)
            assert "Uploads" not in fanout.s3.list_multipart_uploads(Bucket=BUCKET)
