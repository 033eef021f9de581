"""verify: each object re-hashed against the SHA-256 it recorded (metadata, tag or ChecksumSHA256); mismatches
and unrecorded objects found and, with repair, fetched again through the sync's transfer path."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from dataquest.bls.sync import sync_surveys
from dataquest.bls.verify import VerifySummary, verify
from dataquest.documents import to_document
from tests.unit.test_bls_sync import CFG, Source, body, keys, settings

BUCKET = "sync-bucket"  # test_bls_sync's settings() names this bucket

pytestmark = pytest.mark.usefixtures("small_parts")


@pytest.fixture
def mirrored(s3: Any) -> Source:
    source = Source()
    source.site.put("pr/pr.class", b"class\r\n")  # single part: sha256 in metadata
    source.site.put("pr/pr.series", b"s" * 5000)  # multipart with CFG: sha256 in a tag
    source.site.put("pr/sub/deep.txt", b"deep")
    assert sync_surveys(settings(), source.fetcher(), s3, transfer_config=CFG).ok
    return source


def run(s3: Any, source: Source, *, repair: bool = False, **kw: Any) -> VerifySummary:
    return verify(settings(**kw), s3, repair=repair, fetcher=source.fetcher(), transfer_config=CFG)


def replace_keeping_the_record(s3: Any, key: str, data: bytes) -> None:
    """What no sync notices: other bytes of the same size, with the old metadata and tags copied over."""
    head = s3.head_object(Bucket=BUCKET, Key=key)
    tags = s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]
    assert head["ContentLength"] == len(data)
    tagging = "&".join(f"{t['Key']}={t['Value']}" for t in tags)
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, Metadata=head["Metadata"], Tagging=tagging)


def test_an_intact_mirror_verifies_clean(s3: Any, mirrored: Source) -> None:
    summary = run(s3, mirrored)
    assert to_document(summary) == {"checked": 3, "mismatched": [], "unrecorded": [], "repaired": [], "errors": []}
    assert summary.ok
    assert mirrored.file_gets() == 3  # the sync's; verify read S3 only


@pytest.mark.parametrize(("key", "where"), [("bls/pr/pr.class", "metadata"), ("bls/pr/pr.series", "tag")])
def test_bytes_replaced_with_the_same_size_are_found_and_repaired(
    s3: Any, mirrored: Source, key: str, where: str
) -> None:
    good = body(s3, key)
    bad = bytes(b ^ 0x20 for b in good)
    replace_keeping_the_record(s3, key, bad)

    found = run(s3, mirrored)
    assert not found.ok
    assert found.checked == 3
    assert to_document(found.mismatched) == [
        {
            "key": key,
            "recorded": hashlib.sha256(good).hexdigest(),
            "actual": hashlib.sha256(bad).hexdigest(),
            "recorded_in": where,
        }
    ]
    assert body(s3, key) == bad  # verify alone changes nothing

    repaired = run(s3, mirrored, repair=True)
    assert repaired.repaired == [key]
    assert repaired.ok
    assert body(s3, key) == good
    assert keys(s3, "_locks/") == []  # the repair's lease is released
    assert to_document(run(s3, mirrored))["mismatched"] == []


def test_an_object_with_no_record_is_unrecorded_and_repair_records_it(s3: Any, mirrored: Source) -> None:
    s3.put_object(Bucket=BUCKET, Key="bls/pr/pr.class", Body=b"class\r\n")  # no metadata, no checksum
    found = run(s3, mirrored)
    assert to_document(found.unrecorded) == [
        {"key": "bls/pr/pr.class", "actual": hashlib.sha256(b"class\r\n").hexdigest()}
    ]
    assert to_document(found.mismatched) == []
    assert not found.ok
    assert run(s3, mirrored, repair=True).repaired == ["bls/pr/pr.class"]
    assert s3.head_object(Bucket=BUCKET, Key="bls/pr/pr.class")["Metadata"]["sha256"]
    assert run(s3, mirrored).ok


def test_s3s_own_full_object_checksum_is_a_record(s3: Any, mirrored: Source) -> None:
    data = b"class\r\n"
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    s3.put_object(Bucket=BUCKET, Key="bls/pr/pr.class", Body=data, ChecksumAlgorithm="SHA256", ChecksumSHA256=digest)
    assert run(s3, mirrored).ok


def test_an_object_the_source_no_longer_lists_is_not_repaired_but_reported(s3: Any, mirrored: Source) -> None:
    s3.put_object(Bucket=BUCKET, Key="bls/pr/gone.txt", Body=b"old")
    summary = run(s3, mirrored, repair=True)
    assert summary.repaired == []
    assert [e.key for e in summary.errors] == ["bls/pr/gone.txt"]
    assert "no longer lists it" in summary.errors[0].error
    assert not summary.ok


def test_all_verifies_every_survey_folder_in_the_bucket(s3: Any, mirrored: Source) -> None:
    s3.put_object(Bucket=BUCKET, Key="bls/ce/ce.txt", Body=b"ce")
    summary = run(s3, mirrored, surveys=("all",))
    assert summary.surveys == ["ce", "pr"]
    assert summary.checked == 4
    assert [d.key for d in summary.unrecorded] == ["bls/ce/ce.txt"]


def test_a_repair_while_a_sync_holds_the_lease_is_refused_per_object(s3: Any, mirrored: Source) -> None:
    from dataquest.bls.lease import acquire

    replace_keeping_the_record(s3, "bls/pr/pr.class", b"CLASS\r\n")
    held = acquire(s3, BUCKET, "pr", ttl=60)
    summary = run(s3, mirrored, repair=True)
    assert summary.repaired == []
    assert "another sync of survey 'pr' is running" in summary.errors[0].error
    held.release()


def test_a_stream_that_breaks_mid_read_is_that_objects_error(
    s3: Any, mirrored: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_get = s3.get_object

    def cut(**kw: Any) -> Any:
        answer = real_get(**kw)
        if kw["Key"] == "bls/pr/pr.class":

            def chunks(chunk_size: int = 1024) -> Any:
                raise ConnectionResetError("peer reset the stream")
                yield b""

            monkeypatch.setattr(answer["Body"], "iter_chunks", chunks)
        return answer

    monkeypatch.setattr(s3, "get_object", cut)
    doc = to_document(run(s3, mirrored))
    assert doc["checked"] == 2  # the other two were read whole
    assert doc["errors"] == [
        {
            "key": "bls/pr/pr.class",
            "error": "reading s3://sync-bucket/bls/pr/pr.class failed: "
            "unexpected ConnectionResetError: peer reset the stream",
        }
    ]
    assert doc["mismatched"] == []  # and are intact
    assert doc["unrecorded"] == []


# --- issue 25: a part size from a tag, a redirect during repair and a bucket's prefixes are untrusted -------------


def _tag_parts(s3: Any, key: str, part_size: str) -> None:
    digest = hashlib.sha256(b"whatever").hexdigest()
    tags = [{"Key": "sha256-parts", "Value": digest}, {"Key": "part-size", "Value": part_size}]
    s3.put_object_tagging(Bucket=BUCKET, Key=key, Tagging={"TagSet": tags})


@pytest.mark.timeout(20)
@pytest.mark.parametrize("part_size", ["0", "1", "00", "6000000000"])
def test_a_part_size_that_is_no_real_multipart_size_is_that_objects_error_not_a_hang(s3: Any, part_size: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="bls/pr/big", Body=b"x" * 20_001)
    _tag_parts(s3, "bls/pr/big", part_size)

    doc = to_document(verify(settings(), s3))

    assert doc["checked"] == 0
    assert [e["key"] for e in doc["errors"]] == ["bls/pr/big"]
    assert f"part-size tag {part_size!r} is not the part size of a 20001-byte object" in doc["errors"][0]["error"]


def test_a_part_size_that_disagrees_with_the_uploads_part_count_is_refused(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="bls/pr/one", Body=b"x" * 3000)  # a single PUT: its ETag names no parts
    _tag_parts(s3, "bls/pr/one", "1000")  # 3 parts would do: S3 cannot tell, the recorded digest decides
    created = s3.create_multipart_upload(Bucket=BUCKET, Key="bls/pr/multi")
    etags = [
        s3.upload_part(Bucket=BUCKET, Key="bls/pr/multi", UploadId=created["UploadId"], PartNumber=n, Body=b"y" * 1500)[
            "ETag"
        ]
        for n in (1, 2)
    ]
    parts = [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key="bls/pr/multi", UploadId=created["UploadId"], MultipartUpload={"Parts": parts}
    )
    _tag_parts(s3, "bls/pr/multi", "1000")  # 3000 bytes in 1000-byte parts is 3 parts; S3 says 2

    doc = to_document(verify(settings(), s3))

    assert [e["key"] for e in doc["errors"]] == ["bls/pr/multi"]
    assert "S3 says 2 parts" in doc["errors"][0]["error"]
    assert [m["key"] for m in doc["mismatched"]] == ["bls/pr/one"]


@pytest.mark.parametrize(
    "location",
    ["/pub/time.series/ce/pr.class", "https://elsewhere.example/pr.class", "/pub/time.series/pr/x?y=1"],
)
def test_repair_refuses_a_redirect_the_sync_refuses(s3: Any, mirrored: Source, location: str) -> None:
    mirrored.site.put("ce/pr.class", b"CE BYTES")
    replace_keeping_the_record(s3, "bls/pr/pr.class", b"CLASS\r\n")
    mirrored.redirects["/pub/time.series/pr/pr.class"] = location

    summary = run(s3, mirrored, repair=True)

    assert summary.repaired == []
    assert [e.key for e in summary.errors] == ["bls/pr/pr.class"]
    assert "redirect" in summary.errors[0].error
    assert body(s3, "bls/pr/pr.class") == b"CLASS\r\n"  # not another folder's bytes


def test_all_takes_only_prefixes_that_are_survey_names(s3: Any, mirrored: Source) -> None:
    for key in ("bls/../x", "bls/PR/x", "bls/a b/x", "bls/ce/ce.txt"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"z")

    summary = verify(settings(surveys=("all",)), s3, repair=True, fetcher=mirrored.fetcher(), transfer_config=CFG)

    assert summary.surveys == ["ce", "pr"]
    assert sorted(e.key for e in summary.errors if "not a survey name" in e.error) == [
        "bls/../",
        "bls/PR/",
        "bls/a b/",
    ]
    assert all(path.startswith(("/pub/time.series/ce/", "/pub/time.series/pr/")) for path, _ in mirrored.seen)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="_locks/sync-bls/")["KeyCount"] == 0  # every lease released
    found = s3.list_objects_v2(Bucket=BUCKET, Prefix="_locks/").get("Contents", [])
    assert all(o["Key"].count("/") == 2 for o in found)  # _locks/sync-bls/<survey>.json at most, nothing above
