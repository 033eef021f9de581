"""The transfer handler over moto's S3 and SQS and the BLS stand-in (a local HTTP server with Range/If-Range):
idempotent skips, resumable uploads over several invocations, a source that changes between two of them, and a
malformed record that fails alone. Every expected value is the stand-in's bytes or the handler's own answer."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

import pytest

from dataquest.app import App
from dataquest.bls.mirror import read_object
from dataquest.bls.plan import decide
from dataquest.bls.transfer import resume
from dataquest.bls.transfer import worker as transferjob
from dataquest.bls.transfer.messages import parse_message
from dataquest.bls.transfer.resume import PartsDigest
from dataquest.bls.transfer.upload import TransferConfig
from dataquest.bls.transfer.worker import Transfers, run_record
from dataquest.bls.verify import check_object
from dataquest.config import Settings, transfer_interval
from dataquest.documents import to_document
from dataquest.events import SqsMessage
from dataquest.handlers import transfer as transfer_handler
from dataquest.local import relay
from dataquest.local.invoke import handler_invoker
from tests.support.fanout import BUCKET, MODIFIED, Fanout, fanout_world, lambda_context

MiB = 1024 * 1024


@pytest.fixture
def fanout() -> Iterator[Fanout]:
    with fanout_world() as world:
        yield world


def test_a_file_bigger_than_one_invocation_takes_several_and_arrives_whole(fanout: Fanout) -> None:
    size = 20 * MiB + 12345  # three 8 MiB parts: an invocation near its limit after every part
    fanout.site.put_generated("pr/pr.data.1.AllData", size, seed=7, modified=MODIFIED)
    fanout.send(fanout.message("pr.data.1.AllData"))

    answers = fanout.drain(lambda_context(0))

    assert answers == [{"batchItemFailures": []}] * 3
    key = "bls/pr/pr.data.1.AllData"
    data = fanout.body(key)
    assert hashlib.sha256(data).hexdigest() == fanout.site.sha256_of("pr/pr.data.1.AllData")
    chained = PartsDigest(8 * MiB)
    chained.update(data)
    assert fanout.tags(key) == {"sha256-parts": chained.hexdigest(), "part-size": str(8 * MiB)}
    finding = check_object(fanout.s3, BUCKET, key)  # dataquest verify reads the chained digest back
    assert (finding.recorded, finding.actual, finding.error) == (chained.hexdigest(), chained.hexdigest(), None)
    ranges = [r.range for r in fanout.site.requests if r.method == "GET"]
    assert ranges == ["", f"bytes={8 * MiB}-", f"bytes={16 * MiB}-"]
    assert [(o["event"], o["bytes"]) for o in fanout.outcomes()] == [
        ("resumed", 8 * MiB),
        ("resumed", 8 * MiB),
        ("upload", size - 16 * MiB),
    ]
    assert fanout.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    source = fanout.message("pr.data.1.AllData").files[0].source()
    assert decide(source, read_object(fanout.s3, BUCKET, key))[0] == "skip"  # the next plan takes it as done


def test_a_file_done_in_one_invocation_records_its_plain_sha256(fanout: Fanout) -> None:
    fanout.site.put_generated("pr/pr.data.1.AllData", 9 * MiB, seed=3, modified=MODIFIED)
    fanout.send(fanout.message("pr.data.1.AllData"))

    assert fanout.drain(lambda_context()) == [{"batchItemFailures": []}]

    key = "bls/pr/pr.data.1.AllData"
    assert fanout.tags(key) == {"sha256": fanout.site.sha256_of("pr/pr.data.1.AllData")}
    assert fanout.body(key) == fanout.site.data_of("pr/pr.data.1.AllData")


def test_a_source_changed_between_two_invocations_aborts_and_starts_over(fanout: Fanout) -> None:
    path = "pr/pr.data.1.AllData"
    fanout.site.put_generated(path, 20 * MiB, seed=1, modified=MODIFIED)
    fanout.send(fanout.message("pr.data.1.AllData"))
    first = relay.receive(fanout.sqs, fanout.queue_url, wait_seconds=0, batch_size=1)
    function = partial(transfer_handler.handler, app=fanout.app)
    relay.deliver(
        fanout.sqs, fanout.queue_url, fanout.queue_arn, first, handler_invoker(function, lambda: lambda_context(0))
    )
    paused = fanout.s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert len(paused) == 1

    fanout.site.put_generated(path, 20 * MiB, seed=2, modified=datetime(2025, 9, 5, 8, 0))  # same size, new bytes
    answers = fanout.drain(lambda_context())

    assert answers == [{"batchItemFailures": []}]
    assert fanout.body("bls/pr/pr.data.1.AllData") == fanout.site.data_of(path)
    assert [r.range for r in fanout.site.requests if r.method == "GET"] == ["", f"bytes={8 * MiB}-"]
    assert fanout.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []  # the first one aborted
    assert fanout.tags("bls/pr/pr.data.1.AllData") == {"sha256": fanout.site.sha256_of(path)}


def test_a_redelivered_message_for_a_finished_file_is_skipped_without_a_download(fanout: Fanout) -> None:
    fanout.site.put("pr/pr.class", b"class\r\n", modified=MODIFIED)
    fanout.site.put("pr/pr.series", b"series\r\n", modified=MODIFIED)
    message = fanout.message("pr.class", "pr.series")
    fanout.send(message)
    fanout.drain(lambda_context())
    gets = fanout.site.file_gets()

    fanout.send(message)  # SQS delivers at least once
    assert fanout.drain(lambda_context()) == [{"batchItemFailures": []}]

    assert fanout.site.file_gets() == gets == 2
    assert sorted(o["event"] for o in fanout.outcomes()) == ["skip", "skip", "upload", "upload"]
    assert fanout.body("bls/pr/pr.series") == b"series\r\n"


def test_a_malformed_record_fails_alone(fanout: Fanout) -> None:
    fanout.site.put("pr/pr.class", b"class\r\n", modified=MODIFIED)
    fanout.site.put("pr/pr.series", b"series\r\n", modified=MODIFIED)
    good = fanout.message("pr.class").body()
    series = fanout.message("pr.series").files
    outside = json.loads(good)
    outside["files"][0]["url"] = "https://elsewhere.example/pr.class"
    event = {
        "Records": [
            {"messageId": "m-garbage", "body": "{not json"},
            {"messageId": "m-good", "body": good},
            {"messageId": "m-old", "body": json.dumps({**json.loads(good), "v": 0})},
            {"messageId": "m-escape", "body": good.replace("pr.class", "../ce/ce.class", 1)},
            {"messageId": "m-outside", "body": json.dumps(outside)},
            {
                "messageId": "m-half",
                "body": json.dumps({**outside, "files": [*to_document(series), *outside["files"]]}),
            },
        ]
    }

    answer = transfer_handler.handler(event, lambda_context(), app=fanout.app)

    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == ["m-garbage", "m-old", "m-escape", "m-outside", "m-half"]
    assert fanout.body("bls/pr/pr.class") == b"class\r\n"
    assert fanout.site.file_gets() == 1  # m-half's good file was not fetched: every URL is checked first
    assert fanout.s3.list_objects_v2(Bucket=BUCKET, Prefix="bls/pr/pr.series")["KeyCount"] == 0


def test_a_bug_met_by_one_file_of_a_message_is_that_files_error_and_the_others_are_done(
    fanout: Fanout, monkeypatch: pytest.MonkeyPatch
) -> None:
    fanout.site.put("pr/pr.class", b"class\r\n", modified=MODIFIED)
    fanout.site.put("pr/pr.series", b"series\r\n", modified=MODIFIED)
    real_read = transferjob.read_object

    def read_with_a_bug(s3: object, bucket: str, key: str) -> object:
        if key.endswith("/pr.class"):
            raise KeyError("not a DataQuestError")
        return real_read(s3, bucket, key)  # type: ignore[arg-type]

    monkeypatch.setattr(transferjob, "read_object", read_with_a_bug)
    event = {"Records": [{"messageId": "m-1", "body": fanout.message("pr.class", "pr.series").body()}]}

    answer = transfer_handler.handler(event, lambda_context(), app=fanout.app)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # delivered again: the done file skips then
    assert fanout.body("bls/pr/pr.series") == b"series\r\n"
    outcomes = fanout.outcomes()
    assert [(o["path"], o["event"]) for o in outcomes] == [("pr.class", "error"), ("pr.series", "upload")]
    assert outcomes[0]["error"] == "unexpected KeyError: 'not a DataQuestError'"


@pytest.mark.usefixtures("small_parts")
def test_a_continuation_whose_upload_is_gone_starts_over(fanout: Fanout) -> None:
    path = "pr/big"
    fanout.site.put_generated(path, 3000, seed=4, modified=MODIFIED)
    cfg = TransferConfig(part_size=1000, multipart_threshold=1000, concurrency=1)
    near = Transfers.of(fanout.app, lambda_context(0), config=cfg)
    assert run_record(near, SqsMessage("m-1", fanout.message("big").body()))
    paused = parse_message(
        fanout.sqs.receive_message(QueueUrl=fanout.queue_url)["Messages"][0]["Body"], fanout.site.base_url
    )
    assert paused.resume is not None
    assert paused.resume.offset == 1000
    fanout.s3.abort_multipart_upload(Bucket=BUCKET, Key="bls/pr/big", UploadId=paused.resume.upload_id)

    assert run_record(Transfers.of(fanout.app, lambda_context(), config=cfg), SqsMessage("m-2", paused.body()))

    assert fanout.body("bls/pr/big") == fanout.site.data_of(path)
    assert [r.range for r in fanout.site.requests if r.method == "GET"] == ["", ""]  # from byte 0 again


@pytest.mark.usefixtures("small_parts")
def test_each_part_goes_to_s3_while_the_next_is_read(fanout: Fanout, monkeypatch: pytest.MonkeyPatch) -> None:
    fanout.site.put_generated("pr/big", 3000, seed=5, modified=MODIFIED)
    cfg = TransferConfig(part_size=1000, multipart_threshold=1000, concurrency=1)
    read: list[threading.Event] = [threading.Event() for _ in range(4)]
    real_blocks = resume.blocks_of

    def counted_blocks(*args: object, **kw: object) -> Iterator[bytes]:
        for n, block in enumerate(real_blocks(*args, **kw), start=1):  # type: ignore[arg-type]
            read[n].set()
            yield block

    overlapped: dict[int, bool] = {}
    real_upload = fanout.app.s3.upload_part

    def upload_part(**kw: Any) -> Any:
        if kw["PartNumber"] < 3:  # part n in flight: is part n + 1 read meanwhile? (5 s: no, it waits for this)
            overlapped[kw["PartNumber"]] = read[kw["PartNumber"] + 1].wait(timeout=5)
        return real_upload(**kw)

    monkeypatch.setattr(resume, "blocks_of", counted_blocks)
    monkeypatch.setattr(fanout.app.s3, "upload_part", upload_part)

    assert run_record(
        Transfers.of(fanout.app, lambda_context(), config=cfg), SqsMessage("m-1", fanout.message("big").body())
    )

    assert overlapped == {1: True, 2: True}
    assert fanout.body("bls/pr/big") == fanout.site.data_of("pr/big")
    assert [(o["event"], o["bytes"]) for o in fanout.outcomes()] == [("upload", 3000)]


def test_a_transfer_container_paces_at_the_interval_times_the_maximum_concurrency() -> None:
    settings = Settings(request_interval=1.0, transfer_streams=2)
    assert transfer_interval(settings) == 2.0
    env = {"DQ_TRANSFER_STREAMS": "3", "DQ_REQUEST_INTERVAL": "0.5", "DQ_TRANSFER_QUEUE_URL": "https://q"}
    loaded = Settings.from_env(env)
    assert (loaded.transfer_streams, loaded.transfer_queue_url, transfer_interval(loaded)) == (3, "https://q", 1.5)
    assert Settings.from_env({}).transfer_streams == 2
    with App(replace(settings, contact="ops@example.org")) as app:
        assert app.transfer_fetcher.min_interval == 2.0
        assert app.transfer_fetcher is app.transfer_fetcher  # its pacing spans the container's invocations
        assert app.fetcher.min_interval == 1.0


def test_verify_finds_an_object_whose_bytes_no_longer_match_its_chained_digest(fanout: Fanout) -> None:
    good = bytes(range(256)) * 100
    chained = PartsDigest(1000)
    chained.update(good[:10])
    chained.update(good[10:])  # any chunking: the parts are cut at part-size
    tags = {"TagSet": [{"Key": "sha256-parts", "Value": chained.hexdigest()}, {"Key": "part-size", "Value": "1000"}]}
    fanout.s3.put_object(Bucket=BUCKET, Key="bls/pr/x", Body=good, Tagging="")
    fanout.s3.put_object_tagging(Bucket=BUCKET, Key="bls/pr/x", Tagging=tags)
    assert check_object(fanout.s3, BUCKET, "bls/pr/x").actual == chained.hexdigest()

    fanout.s3.put_object(Bucket=BUCKET, Key="bls/pr/x", Body=good[:-1] + b"!")
    fanout.s3.put_object_tagging(Bucket=BUCKET, Key="bls/pr/x", Tagging=tags)
    finding = check_object(fanout.s3, BUCKET, "bls/pr/x")

    assert finding.recorded == chained.hexdigest()
    assert finding.actual not in (None, chained.hexdigest())
    assert finding.source == "sha256-parts tag/1000"


def test_the_transfer_handler_starts_requests_no_faster_than_its_share_of_the_interval(fanout: Fanout) -> None:
    names = [f"pr.m{i}" for i in range(8)]
    for name in names:
        fanout.site.put(f"pr/{name}", name.encode(), modified=MODIFIED)
    settings = replace(fanout.app.settings, request_interval=0.125, transfer_streams=2)  # 0.25 s per container
    with App(settings, s3=fanout.s3, sqs=fanout.sqs) as app:
        fanout.app = app
        fanout.send(fanout.message(*names))
        assert fanout.drain(lambda_context()) == [{"batchItemFailures": []}]

    assert fanout.site.file_gets() == 8
    # one start per 0.25 s: 4 in a second, 5 on its boundary; paced at the interval alone, all 8 would fit in one
    assert fanout.site.max_requests_per_second() <= 5


def test_each_invocation_emits_its_counts_as_metrics(fanout: Fanout) -> None:
    """One EMF line per invocation, dimension Function=transfer: the resumed parts, then the upload, then a skip."""
    size = 20 * MiB + 12345
    fanout.site.put_generated("pr/pr.data.1.AllData", size, seed=7, modified=MODIFIED)
    fanout.send(fanout.message("pr.data.1.AllData"))
    fanout.drain(lambda_context(0))
    fanout.send(fanout.message("pr.data.1.AllData"))  # a redelivery of a finished file
    fanout.drain(lambda_context())

    names = ("FilesUploaded", "FilesSkipped", "FilesResumed", "Errors", "BytesDownloaded")
    lines = fanout.metrics()
    assert [line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for line in lines] == [[["Function"]]] * 4
    assert {line["Function"] for line in lines} == {"transfer"}
    assert [tuple(line[n] for n in names) for line in lines] == [
        (0, 0, 1, 0, 8 * MiB),
        (0, 0, 1, 0, 8 * MiB),
        (1, 0, 0, 0, size - 16 * MiB),
        (0, 1, 0, 0, 0),
    ]
