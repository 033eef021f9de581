from __future__ import annotations

from datetime import datetime

from dataquest.bls.listing import SourceFile
from dataquest.bls.plan import MirrorObject, make_plan, source_metadata

URL = "https://download.bls.gov/pub/time.series/pr/"


def src(path: str, size: int, when: datetime = datetime(2025, 9, 4, 7, 30)) -> SourceFile:
    return SourceFile(path=path, url=URL + path, size=size, modified=when)


def mirrored(source: SourceFile, *, sha: str | None = "ab" * 32, **meta: str) -> MirrorObject:
    return MirrorObject(
        key="bls/pr/" + source.path, size=source.size, metadata={**source_metadata(source), **meta}, sha256=sha
    )


def kinds(plan) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {a.path: (a.kind, a.reason) for a in plan.actions}


def test_each_listed_file_is_uploaded_or_skipped_with_its_reason() -> None:
    unchanged = src("same", 10)
    newer = src("newer", 10, datetime(2025, 9, 5, 7, 30))
    resized = src("resized", 11)
    foreign = src("foreign", 10)
    unfinished = src("unfinished", 10)
    new = src("new", 1)
    mirror = {
        m.key: m
        for m in [
            mirrored(unchanged),
            mirrored(src("newer", 10)),  # same size, older listing timestamp recorded
            MirrorObject(key="bls/pr/resized", size=10),
            MirrorObject(key="bls/pr/foreign", size=10, metadata={}),
            mirrored(unfinished, sha=None),
        ]
    }
    plan = make_plan("pr", [unchanged, newer, resized, foreign, unfinished, new], mirror)
    got = kinds(plan)
    assert got["same"] == ("skip", "unchanged: 10 bytes, listed 2025-09-04T07:30")
    assert got["newer"][0] == "upload"
    assert "2025-09-05T07:30 is newer than the recorded 2025-09-04T07:30" in got["newer"][1]
    assert got["resized"] == ("upload", "size changed: the listing says 11 bytes, the mirror holds 10")
    assert got["foreign"][0] == "upload"
    assert "records no source size" in got["foreign"][1]
    assert got["unfinished"] == ("upload", "no SHA-256 recorded: the last upload did not finish")
    assert got["new"] == ("upload", "new: not in the mirror")
    assert plan.problems == ()
    assert [a.key for a in plan.uploads] == [
        "bls/pr/newer",
        "bls/pr/resized",
        "bls/pr/foreign",
        "bls/pr/unfinished",
        "bls/pr/new",
    ]


def test_files_gone_from_the_listing_are_deleted() -> None:
    files = [src(f"f{i}", 1) for i in range(4)]
    mirror = {m.key: m for m in [mirrored(f) for f in files] + [MirrorObject(key="bls/pr/old", size=3)]}
    plan = make_plan("pr", files, mirror)
    assert [(a.key, a.reason) for a in plan.deletes] == [("bls/pr/old", "gone from the source listing")]
    assert plan.problems == ()


def test_a_listing_missing_more_than_half_of_the_mirror_deletes_nothing() -> None:
    kept = src("f0", 1)
    mirror = {m.key: m for m in [mirrored(src(f"f{i}", 1)) for i in range(5)]}
    plan = make_plan("pr", [kept], mirror)
    assert plan.deletes == []
    assert len(plan.of("keep")) == 4
    assert len(plan.problems) == 1
    assert "more than half" in plan.problems[0]
    assert "--max-delete 4" in plan.problems[0]


def test_max_delete_caps_deletes_and_explicitly_allows_a_large_one() -> None:
    kept = src("f0", 1)
    mirror = {m.key: m for m in [mirrored(src(f"f{i}", 1)) for i in range(5)]}
    capped = make_plan("pr", [kept], mirror, max_delete=2)
    assert [a.path for a in capped.deletes] == ["f1", "f2"]
    assert [a.path for a in capped.of("keep")] == ["f3", "f4"]
    assert "--max-delete is 2" in capped.problems[0]
    allowed = make_plan("pr", [kept], mirror, max_delete=4)
    assert [a.path for a in allowed.deletes] == ["f1", "f2", "f3", "f4"]
    assert allowed.problems == ()
    none = make_plan("pr", [kept], mirror, max_delete=0)
    assert none.deletes == []


def test_objects_outside_the_survey_prefix_are_never_planned() -> None:
    mirror = {
        "bls/prx/a": MirrorObject(key="bls/prx/a", size=1),
        "_logs/ingest/x.jsonl": MirrorObject(key="_logs/ingest/x.jsonl", size=1),
    }
    plan = make_plan("pr", [src("a", 1)], mirror)
    assert [(a.kind, a.key) for a in plan.actions] == [("upload", "bls/pr/a")]


def test_the_plan_document_names_survey_action_key_and_reason() -> None:
    plan = make_plan("pr", [src("a", 1)], {})
    assert plan.to_document() == [
        {
            "survey": "pr",
            "action": "upload",
            "path": "a",
            "key": "bls/pr/a",
            "reason": "new: not in the mirror",
            "size": 1,
        }
    ]
