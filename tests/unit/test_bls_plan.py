from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dataquest.bls.listing import Folder, SourceFile
from dataquest.bls.plan import MirrorObject, clock_shift, confirm, make_plan, source_metadata
from dataquest.documents import to_document

URL = "https://download.bls.gov/pub/time.series/pr/"


def src(path: str, size: int, when: datetime = datetime(2025, 9, 4, 7, 30)) -> SourceFile:
    return SourceFile(path=path, url=URL + path, size=size, modified=when)


def mirrored(source: SourceFile, *, sha: str | None = "ab" * 32, **meta: str) -> MirrorObject:
    return MirrorObject(
        key="bls/pr/" + source.path, size=source.size, metadata={**source_metadata(source), **meta}, sha256=sha
    )


def kinds(plan) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {a.path: (a.action, a.reason) for a in plan.actions}


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
    assert [a.key for a in plan.of("upload")] == [
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
    assert [(a.key, a.reason) for a in plan.of("delete")] == [("bls/pr/old", "gone from the source listing")]
    assert plan.problems == ()


def test_a_listing_missing_more_than_half_of_the_mirror_deletes_nothing() -> None:
    kept = src("f0", 1)
    mirror = {m.key: m for m in [mirrored(src(f"f{i}", 1)) for i in range(5)]}
    plan = make_plan("pr", [kept], mirror)
    assert plan.of("delete") == []
    assert len(plan.of("keep")) == 4
    assert len(plan.problems) == 1
    assert "more than half" in plan.problems[0]
    assert "--max-delete 4" in plan.problems[0]


def test_max_delete_caps_deletes_and_explicitly_allows_a_large_one() -> None:
    kept = src("f0", 1)
    mirror = {m.key: m for m in [mirrored(src(f"f{i}", 1)) for i in range(5)]}
    capped = make_plan("pr", [kept], mirror, max_delete=2)
    assert [a.path for a in capped.of("delete")] == ["f1", "f2"]
    assert [a.path for a in capped.of("keep")] == ["f3", "f4"]
    assert "--max-delete is 2" in capped.problems[0]
    allowed = make_plan("pr", [kept], mirror, max_delete=4)
    assert [a.path for a in allowed.of("delete")] == ["f1", "f2", "f3", "f4"]
    assert allowed.problems == ()
    none = make_plan("pr", [kept], mirror, max_delete=0)
    assert none.of("delete") == []


def test_objects_outside_the_survey_prefix_are_never_planned() -> None:
    mirror = {
        "bls/prx/a": MirrorObject(key="bls/prx/a", size=1),
        "_logs/ingest/x.jsonl": MirrorObject(key="_logs/ingest/x.jsonl", size=1),
    }
    plan = make_plan("pr", [src("a", 1)], mirror)
    assert [(a.action, a.key) for a in plan.actions] == [("upload", "bls/pr/a")]


def test_the_plan_document_names_survey_action_key_and_reason() -> None:
    plan = make_plan("pr", [src("a", 1)], {})
    assert to_document(plan.actions) == [
        {
            "survey": "pr",
            "action": "upload",
            "path": "a",
            "key": "bls/pr/a",
            "reason": "new: not in the mirror",
            "size": 1,
        }
    ]


# --- every listing is guarded, folder by folder ------------------------------------------------------------------


def folder(path: str, entries: int = 1, error: str | None = None) -> Folder:
    return Folder(path=path, url=URL + path, entries=entries, error=error)


def tree_mirror(paths: list[str]) -> dict[str, MirrorObject]:
    return {m.key: m for m in (mirrored(src(p, 1)) for p in paths)}


ROOT_FILES = [f"f{i}" for i in range(10)]


def test_an_empty_sub_folder_listing_deletes_nothing_under_it() -> None:
    mirror = tree_mirror([*ROOT_FILES, "sub/a", "sub/b"])
    files = [src(p, 1) for p in ROOT_FILES]
    plan = make_plan("pr", files, mirror, folders=(folder("", 11), folder("sub/", 0)))
    assert plan.of("delete") == []
    assert {a.path for a in plan.of("keep")} == {"sub/a", "sub/b"}
    assert len(plan.problems) == 1
    assert "sub/" in plan.problems[0]
    assert "is empty" in plan.problems[0]
    assert "--max-delete 2" in plan.problems[0]
    allowed = make_plan("pr", files, mirror, folders=(folder("", 11), folder("sub/", 0)), max_delete=2)
    assert {a.path for a in allowed.of("delete")} == {"sub/a", "sub/b"}


def test_a_sub_folder_listing_with_fewer_than_half_its_mirror_deletes_nothing_there() -> None:
    sub = [f"sub/{i}" for i in range(6)]
    mirror = tree_mirror([*ROOT_FILES, *sub])
    files = [src(p, 1) for p in [*ROOT_FILES, "sub/0", "sub/1"]]
    plan = make_plan("pr", files, mirror, folders=(folder("", 11), folder("sub/", 2)))
    assert plan.of("delete") == []
    assert {a.path for a in plan.of("keep")} == {"sub/2", "sub/3", "sub/4", "sub/5"}
    assert "lists 2 of the mirror's 6 objects" in plan.problems[0]
    # the same survey-wide: 4 of 16 gone is not "more than half", so only the per-folder guard held them


def test_a_failed_sub_folder_listing_deletes_nothing_under_it_even_with_max_delete() -> None:
    mirror = tree_mirror([*ROOT_FILES, "sub/a", "sub/deeper/b"])
    files = [src(p, 1) for p in ROOT_FILES]
    folders = (folder("", 11), folder("sub/", error="GET .../sub/ answered 500"))
    for max_delete in (None, 100):
        plan = make_plan("pr", files, mirror, folders=folders, max_delete=max_delete)
        assert plan.of("delete") == []
        assert {a.path for a in plan.of("keep")} == {"sub/a", "sub/deeper/b"}
        assert all("listing of " + URL + "sub/ failed" in a.reason for a in plan.of("keep"))
        assert plan.problems == ()  # the walk reports the folder's error once


def test_a_renamed_file_in_a_small_folder_is_deleted() -> None:
    mirror = tree_mirror([*ROOT_FILES, "sub/old"])
    files = [src(p, 1) for p in [*ROOT_FILES, "sub/new"]]
    plan = make_plan("pr", files, mirror, folders=(folder("", 11), folder("sub/", 1)))
    assert [a.path for a in plan.of("delete")] == ["sub/old"]
    assert plan.problems == ()


def test_a_sub_folder_removed_from_its_parent_counts_against_the_parent_listing() -> None:
    mirror = tree_mirror([*ROOT_FILES, "gone/a", "gone/b"])
    files = [src(p, 1) for p in ROOT_FILES]
    plan = make_plan("pr", files, mirror, folders=(folder("", 10),))
    assert sorted(a.path for a in plan.of("delete")) == ["gone/a", "gone/b"]  # 10 listed of 12: not under half
    many = tree_mirror([*ROOT_FILES, *(f"gone/{i}" for i in range(30))])
    held = make_plan("pr", files, many, folders=(folder("", 10),))
    assert held.of("delete") == []
    assert "lists 10 of the mirror's 40 objects" in held.problems[0]


# --- listing clocks move ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "recorded", "hours"),
    [
        ("2025-11-02T07:30", "2025-11-02T08:30", -1),
        ("2025-03-09T09:30", "2025-03-09T08:30", 1),
        ("2025-09-04T12:30", "2025-09-04T07:30", 5),
        ("2025-09-04T07:30", "2025-09-04T07:30", None),
        ("2025-09-04T07:31", "2025-09-04T07:30", None),
        ("2025-09-05T07:30", "2025-09-04T07:30", None),  # a day later: a new release, not a clock
        ("garbage", "2025-09-04T07:30", None),
    ],
)
def test_clock_shift_is_whole_hours_under_a_day(listed: str, recorded: str, hours: int | None) -> None:
    assert clock_shift(listed, recorded) == hours


def test_a_same_size_file_listed_an_hour_off_is_checked_not_uploaded() -> None:
    recorded = mirrored(src("f", 10), **{"source-last-modified": "Thu, 04 Sep 2025 11:30:00 GMT"})
    shifted = src("f", 10, datetime(2025, 9, 4, 8, 30))
    plan = make_plan("pr", [shifted], {recorded.key: recorded})
    (action,) = plan.actions
    assert action.action == "check"
    assert "+1 h" in action.reason
    same = confirm(action, recorded, "Thu, 04 Sep 2025 11:30:00 GMT")
    assert same.action == "skip"
    assert confirm(action, recorded, "Thu, 04 Sep 2025 11:30:00 +0000").action == "skip"  # the same instant
    assert confirm(action, recorded, "Fri, 05 Sep 2025 11:30:00 GMT").action == "upload"
    assert confirm(action, recorded, None).action == "upload"
    assert confirm(action, recorded, "not a date").action == "upload"
    resized = make_plan("pr", [src("f", 11, datetime(2025, 9, 4, 8, 30))], {recorded.key: recorded})
    assert resized.actions[0].action == "upload"


def test_an_object_without_a_recorded_last_modified_is_confirmed_by_its_own_write_time() -> None:
    written = datetime(2025, 9, 5, 0, 0, tzinfo=UTC)
    legacy = MirrorObject(
        key="bls/pr/f",
        size=10,
        metadata=source_metadata(src("f", 10)),
        sha256="ab" * 32,
        last_modified=written,
    )
    plan = make_plan("pr", [src("f", 10, datetime(2025, 9, 4, 6, 30))], {legacy.key: legacy})
    (action,) = plan.actions
    assert action.action == "check"
    assert confirm(action, legacy, "Thu, 04 Sep 2025 11:30:00 GMT").action == "skip"  # before our copy
    assert confirm(action, legacy, "Sat, 06 Sep 2025 11:30:00 GMT").action == "upload"  # after it


def test_source_url_metadata_is_redacted() -> None:
    meta = source_metadata(
        SourceFile("a", "https://u:pw@download.bls.gov/pub/time.series/pr/a", 1, datetime(2025, 1, 1))
    )
    assert meta["source-url"] == "https://***@download.bls.gov/pub/time.series/pr/a"
