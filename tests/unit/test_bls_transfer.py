from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from dataquest.bls.listing import SourceFile
from dataquest.bls.mirror import abort_stale_uploads
from dataquest.bls.plan import source_metadata
from dataquest.bls.transfer.upload import TransferConfig, transfer
from dataquest.errors import SourceError, StorageError
from dataquest.http.client import Fetcher

BUCKET = "mirror-bucket"
URL = "https://download.bls.gov/pub/time.series/pr/big"
CFG = TransferConfig(part_size=1000, multipart_threshold=2500, concurrency=3)


# Kilobyte parts: moto is told to accept parts below S3's 5 MiB floor.
pytestmark = pytest.mark.usefixtures("small_parts")


class CutStream(httpx.SyncByteStream):
    def __init__(self, data: bytes, cut_at: int) -> None:
        self.data, self.cut_at = data, cut_at

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut_at]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def fetcher(data: bytes, *, cut_at: int | None = None, length: int | None = None) -> Fetcher:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Length": str(len(data) if length is None else length)}
        if cut_at is not None:
            return httpx.Response(200, headers=headers, stream=CutStream(data, cut_at))
        return httpx.Response(200, headers=headers, content=data)

    return Fetcher(httpx.Client(transport=httpx.MockTransport(handler)), min_interval=0, sleep=lambda s: None)


def source(size: int) -> SourceFile:
    return SourceFile(path="big", url=URL, size=size, modified=datetime(2025, 9, 4, 7, 30))


def run(s3: Any, data: bytes, src: SourceFile | None = None, **kw: Any) -> Any:
    src = src or source(len(data))
    return transfer(
        fetcher(data, **kw), s3, bucket=BUCKET, key="bls/pr/big", source=src, metadata=source_metadata(src), config=CFG
    )


def test_a_small_file_is_one_put_with_its_sha256_in_metadata(s3: Any) -> None:
    data = b"x" * 2000
    result = run(s3, data)
    obj = s3.get_object(Bucket=BUCKET, Key="bls/pr/big", ChecksumMode="ENABLED")
    assert obj["Body"].read() == data
    sha = hashlib.sha256(data).hexdigest()
    assert (result.multipart, result.sha256, result.size) == (False, sha, 2000)
    assert obj["Metadata"] == {
        "sha256": sha,
        "source-size": "2000",
        "source-timestamp": "2025-09-04T07:30",
        "source-url": URL,
    }
    assert obj["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_a_large_file_streams_as_bounded_parts_with_its_sha256_in_a_tag(s3: Any) -> None:
    data = bytes(range(256)) * 40  # 10240 bytes: 11 parts of at most 1000
    sizes: list[int] = []
    inflight = [0, 0]  # now, most at once
    together = threading.Condition()

    def before(params: dict[str, Any], **_: Any) -> None:
        # Each part waits (up to 5 s) until a second one is in flight too, once: uploads one at a time would
        # never get there, and the most seen would stay 1.
        with together:
            sizes.append(len(params["Body"]))
            inflight[0] += 1
            inflight[1] = max(inflight[1], inflight[0])
            together.notify_all()
            together.wait_for(lambda: inflight[1] >= 2, timeout=5)

    def after(**_: Any) -> None:
        with together:
            inflight[0] -= 1

    s3.meta.events.register("before-parameter-build.s3.UploadPart", before)
    s3.meta.events.register("after-call.s3.UploadPart", after)
    result = run(s3, data)
    assert s3.get_object(Bucket=BUCKET, Key="bls/pr/big")["Body"].read() == data
    sha = hashlib.sha256(data).hexdigest()
    assert (result.multipart, result.parts, result.sha256) == (True, 11, sha)
    assert sorted(sizes) == [240] + [1000] * 10
    assert 2 <= inflight[1] <= CFG.concurrency  # parts went up side by side, never more than configured
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="bls/pr/big")["TagSet"]
    assert tags == [{"Key": "sha256", "Value": sha}]
    meta = s3.head_object(Bucket=BUCKET, Key="bls/pr/big")["Metadata"]
    assert meta["source-size"] == "10240"
    assert "sha256" not in meta


def previous(s3: Any) -> bytes:
    s3.put_object(Bucket=BUCKET, Key="bls/pr/big", Body=b"previous version")
    return b"previous version"


def assert_untouched(s3: Any, old: bytes) -> None:
    assert s3.get_object(Bucket=BUCKET, Key="bls/pr/big")["Body"].read() == old
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


@pytest.mark.parametrize("size", [2000, 10000])
def test_a_cut_body_writes_nothing_and_leaves_no_parts(s3: Any, size: int) -> None:
    old = previous(s3)
    with pytest.raises(SourceError, match=r"cut after \d+ of \d+ bytes"):
        run(s3, b"y" * size, cut_at=size // 2 + 123)
    assert_untouched(s3, old)


def test_a_body_shorter_than_the_listing_writes_nothing(s3: Any) -> None:
    old = previous(s3)
    with pytest.raises(SourceError, match="ended after 5000 of the listed 6000 bytes"):
        run(s3, b"z" * 5000, source(6000), length=6000)
    assert_untouched(s3, old)


def test_a_body_longer_than_the_listing_writes_nothing(s3: Any) -> None:
    old = previous(s3)
    with pytest.raises(SourceError, match="longer than the listed 4000 bytes"):
        run(s3, b"z" * 5000, source(4000), length=4000)
    assert_untouched(s3, old)


def test_a_content_length_that_disagrees_with_the_listing_writes_nothing(s3: Any) -> None:
    old = previous(s3)
    with pytest.raises(SourceError, match="Content-Length is 5000 but the listing says 4000"):
        run(s3, b"z" * 5000, source(4000))
    assert_untouched(s3, old)


def test_an_s3_error_during_a_multipart_upload_aborts_it(s3: Any) -> None:
    old = previous(s3)
    calls = [0]

    def fail_third(params: dict[str, Any], **_: Any) -> None:
        calls[0] += 1
        if params["PartNumber"] == 3:
            raise RuntimeError("injected S3 failure")

    s3.meta.events.register("before-parameter-build.s3.UploadPart", fail_third)
    with pytest.raises(RuntimeError, match="injected"):
        run(s3, b"q" * 10000)
    assert_untouched(s3, old)


def test_a_client_error_on_complete_becomes_a_storage_error(s3: Any) -> None:
    old = previous(s3)
    from botocore.exceptions import ClientError

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "CompleteMultipartUpload")

    s3.meta.events.register("before-call.s3.CompleteMultipartUpload", refuse)
    with pytest.raises(StorageError, match="InternalError: boom; aborted, the previous object is untouched"):
        run(s3, b"q" * 10000)
    assert_untouched(s3, old)


def test_stale_multipart_uploads_under_the_prefix_are_aborted(s3: Any) -> None:
    s3.create_multipart_upload(Bucket=BUCKET, Key="bls/pr/x")
    s3.create_multipart_upload(Bucket=BUCKET, Key="bls/ce/y")
    assert abort_stale_uploads(s3, BUCKET, "bls/pr/") == ["bls/pr/x"]
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == ["bls/ce/y"]


def test_a_young_upload_is_spared_when_asked_an_old_one_is_not(s3: Any) -> None:
    """The fan-out planner spares a transfer's open upload (it continues in the next invocation), not a dead one."""
    s3.create_multipart_upload(Bucket=BUCKET, Key="bls/pr/young")
    started = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"][0]["Initiated"]
    hour = timedelta(hours=1)
    assert abort_stale_uploads(s3, BUCKET, "bls/pr/", spare_younger_than=hour, now=started + hour / 2) == []
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]] == ["bls/pr/young"]
    assert abort_stale_uploads(s3, BUCKET, "bls/pr/", spare_younger_than=hour, now=started + 2 * hour) == [
        "bls/pr/young"
    ]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=BUCKET)
