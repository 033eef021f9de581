"""``--survey all``: the survey folders of the root listing, by the root listing rule; a bad root touches nothing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest

from dataquest.bls.listing import discover_surveys
from dataquest.bls.sync import sync_surveys
from dataquest.config import Settings, parse_surveys
from dataquest.errors import ConfigurationError, ListingError
from tests.support.bls_site import BlsSite, iis_entry
from tests.support.bls_tree import SyntheticTree
from tests.unit.test_bls_listing import fetcher_for
from tests.unit.test_bls_sync import CFG, Source, body, keys, settings

BASE = "https://download.bls.gov/pub/time.series/"
BUCKET = "sync-bucket"
WHEN = datetime(2025, 9, 4, 7, 30)

pytestmark = pytest.mark.usefixtures("small_parts")


def test_the_surveys_are_the_folders_of_the_synthetic_root_and_the_rest_is_skipped_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tree = SyntheticTree(seed=3)
    site = BlsSite()
    tree.install(site)
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG, logger="dataquest"):
        surveys = discover_surveys(fetcher_for(site, seen), BASE)
    assert surveys == tree.surveys
    assert seen == ["/pub/time.series/"]  # the root alone: no survey folder is listed to find the surveys
    skipped = {
        r.fields["href"]: r.fields["reason"]  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "root entry skipped"
    }
    assert skipped == {
        "/pub/time.series/compressed/": "a folder that holds no survey",
        "/pub/time.series/overview.txt": "a file, not a folder",
        "/pub/time.series/survey_list.txt": "a file, not a folder",
    }
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.getMessage() == "root entry skipped")


def test_names_outside_the_rule_and_links_outside_the_root_are_not_surveys() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    for href, name in [
        ("/pub/time.series/AP/", "AP"),  # the rule: lowercase letters and digits
        ("/pub/time.series/all/", "all"),  # the keyword, never a folder to mirror
        ("/pub/time.series/pr/sub/", "sub"),  # not right below the root
        ("https://elsewhere.example/pub/time.series/ce/", "ce"),  # another host
        ("/pub/time.series/../x/", "x"),  # leaves the root
        ("/pub/time.series/my%20survey/", "my survey"),
    ]:
        site.add_raw_entry("", iis_entry(WHEN, None, href, name))
    assert discover_surveys(fetcher_for(site), BASE) == ("pr",)


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("<html>Access Denied</html>", "is not a BLS directory listing"),
        ("", "is not a BLS directory listing"),
        ("<pre>", "cut before </pre>"),
        ('<pre><A HREF="/pub/">[To Parent Directory]</A></pre>', "has no survey folder"),
    ],
)
def test_a_garbage_or_empty_root_listing_is_a_listing_error_naming_the_url(page: str, message: str) -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.override_listing("", page)
    with pytest.raises(ListingError, match=message) as info:
        discover_surveys(fetcher_for(site), BASE)
    assert info.value.url == BASE
    assert BASE in str(info.value)


def test_a_root_with_only_compressed_and_files_has_no_survey() -> None:
    site = BlsSite()
    site.put("compressed/readme.txt", b"r")
    site.put("overview.txt", b"o")
    with pytest.raises(ListingError) as info:
        discover_surveys(fetcher_for(site), BASE)
    assert str(info.value) == (
        f"GET {BASE}: the root listing has no survey folder (lowercase letters and digits, not compressed); "
        "nothing is mirrored or deleted (check DQ_BLS_BASE_URL)"
    )


def test_all_stands_alone_in_the_settings() -> None:
    assert Settings.from_env({"DQ_BLS_SURVEYS": "all"}).all_surveys
    assert Settings.from_env({"DQ_BLS_SURVEYS": " ALL "}).surveys == ("all",)
    assert not Settings.from_env({"DQ_BLS_SURVEYS": "pr,ce"}).all_surveys
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"DQ_BLS_SURVEYS": "pr,all,ce"})
    assert str(info.value) == (
        "DQ_BLS_SURVEYS: 'all' stands alone (every survey folder of the root listing); it cannot be mixed with "
        "names (pr, ce): give either 'all' or the names"
    )
    with pytest.raises(ConfigurationError, match=r"^--survey: 'all' stands alone"):
        Settings().with_overrides(surveys=["all", "pr"])
    assert parse_surveys("all,all", "x") == ("all",)


def root_source() -> Source:
    src = Source()
    src.site.put("pr/pr.class", b"class\r\n")
    src.site.put("pr/pr.series", b"s" * 5000)  # multipart with CFG
    src.site.put("ce/ce.txt", b"ce")
    src.site.put("ce/sub/deep.txt", b"deep")
    src.site.put("compressed/pr.zip", b"zip")
    src.site.put("overview.txt", b"o")
    src.site.put_calendar()  # the ingest job mirrors BLS's release calendar too
    return src


def test_sync_all_mirrors_every_survey_folder_and_reports_the_resolved_names(s3: Any) -> None:
    src = root_source()
    summary = sync_surveys(settings(surveys=("all",)), src.fetcher(), s3, transfer_config=CFG)
    assert summary.ok, summary.errors
    assert summary.surveys == ["ce", "pr"]
    assert (summary.files_seen, summary.uploaded) == (4, 4)
    assert keys(s3, "bls/") == ["bls/ce/ce.txt", "bls/ce/sub/deep.txt", "bls/pr/pr.class", "bls/pr/pr.series"]
    for key in keys(s3, "bls/"):
        assert body(s3, key) == src.site.data_of(key.removeprefix("bls/"))
    assert [p for p, _ in src.seen].count("/pub/time.series/") == 1  # resolved once, first
    assert src.seen[0][0] == "/pub/time.series/"


def test_an_explicit_list_never_reads_the_root(s3: Any) -> None:
    src = root_source()
    summary = sync_surveys(settings(surveys=("pr",)), src.fetcher(), s3, transfer_config=CFG)
    assert summary.surveys == ["pr"]
    assert "/pub/time.series/" not in [p for p, _ in src.seen]


def test_a_bad_root_listing_leaves_the_mirror_intact(s3: Any) -> None:
    src = root_source()
    sync_surveys(settings(surveys=("all",)), src.fetcher(), s3, transfer_config=CFG)
    before = {k: body(s3, k) for k in keys(s3, "bls/")}
    trails = keys(s3, "_logs/")
    src.seen.clear()
    src.site.override_listing("", "<html><body>Service Unavailable</body></html>")
    with pytest.raises(ListingError, match=f"GET {BASE}: the page is not a BLS directory listing"):
        sync_surveys(settings(surveys=("all",)), src.fetcher(), s3, transfer_config=CFG)
    assert {k: body(s3, k) for k in keys(s3, "bls/")} == before  # nothing deleted, nothing written
    assert [p for p, _ in src.seen] == ["/pub/time.series/"]  # no survey touched
    assert keys(s3, "_logs/") == trails
    assert keys(s3, "_locks/") == []


def test_run_ingest_resolves_all_once_then_syncs_and_fetches_the_population(s3: Any) -> None:
    import io

    from dataquest.app import App
    from dataquest.ingest import run_ingest
    from tests.unit.test_report import POPULATION

    src = root_source()
    src.site.serve("population.json", POPULATION.encode() if isinstance(POPULATION, str) else POPULATION)
    cfg = settings(surveys=("all",), population_url=BASE + "population.json")
    with App(cfg, s3=s3, http=src.fetcher().client, metrics_stream=io.StringIO()) as app:
        summary = run_ingest(app)
    assert summary.surveys == ["ce", "pr"]
    assert summary.uploaded == 4
    assert [p for p, _ in src.seen].count("/pub/time.series/") == 1
    assert "population/nation_population.json" in keys(s3, "population/")


# --- issue 25: `--survey all` is capped (a hostile root of 3,000 folders ran for 296 s) -------------------------


def _wide_root(n: int) -> Source:
    src = Source()
    for i in range(n):
        src.site.put(f"s{i}/x.txt", b"x")
    return src


def test_a_root_with_more_surveys_than_the_cap_is_refused_before_any_survey_is_read() -> None:
    from dataquest.bls.listing import MAX_SURVEYS

    src = _wide_root(MAX_SURVEYS + 1)
    with pytest.raises(ListingError, match=rf"{MAX_SURVEYS + 1} survey folders, more than the cap of {MAX_SURVEYS}"):
        discover_surveys(src.fetcher(), BASE)
    assert [p for p, _ in src.seen] == ["/pub/time.series/"]
    assert len(discover_surveys(src.fetcher(), BASE, limit=MAX_SURVEYS + 1)) == MAX_SURVEYS + 1


def test_the_cap_is_a_setting_and_the_sync_obeys_it(s3: Any) -> None:
    src = root_source()
    with pytest.raises(ListingError, match="--max-surveys"):
        sync_surveys(settings(surveys=("all",), max_surveys=1), src.fetcher(), s3, transfer_config=CFG)
    assert keys(s3, "bls/") == []
    assert Settings.from_env({"DQ_MAX_SURVEYS": "500"}).max_surveys == 500
    with pytest.raises(ConfigurationError, match="DQ_MAX_SURVEYS"):
        Settings.from_env({"DQ_MAX_SURVEYS": "0"})


def test_the_command_line_raises_the_cap_with_a_flag(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from dataquest import cli

    with BlsSite() as site:
        for name in ("aa", "bb", "cc"):
            site.put(f"{name}/x.txt", b"x", modified=WHEN)
        monkeypatch.setenv("DQ_BUCKET", BUCKET)
        monkeypatch.setenv("DQ_CONTACT", "ops@example.org")
        monkeypatch.setenv("DQ_BLS_BASE_URL", site.base_url)
        monkeypatch.setenv("DQ_REQUEST_INTERVAL", "0")
        monkeypatch.setenv("DQ_MAX_SURVEYS", "2")
        assert cli.main(["sync-bls", "--survey", "all", "--dry-run", "--json"]) != 0
        assert "more than the cap of 2" in json.loads(capsys.readouterr().out)["error"]
        assert cli.main(["sync-bls", "--survey", "all", "--dry-run", "--json", "--max-surveys", "3"]) == 0
        assert json.loads(capsys.readouterr().out)["surveys"] == ["aa", "bb", "cc"]
