from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from dataquest.bls.links import within
from dataquest.bls.listing import parse_listing, walk
from dataquest.errors import ListingError, SourceError
from dataquest.http.client import Fetcher
from tests.support.bls_site import BlsSite, iis_entry

BASE = "https://download.bls.gov/pub/time.series/"


def fetcher_for(site: BlsSite, seen: list[str] | None = None) -> Fetcher:
    """A Fetcher whose transport answers from ``site``'s tree without a server (listing pages and files)."""

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if seen is not None:
            seen.append(path)
        if path.endswith("/"):
            return httpx.Response(200, content=site.listing(path), headers={"Content-Type": "text/html"})
        if path in site.files:
            return httpx.Response(200, content=site.data_of(path))
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"User-Agent": "t (+a@b.org)"})
    return Fetcher(client, min_interval=0, sleep=lambda s: None)


@pytest.mark.shared_data
def test_the_real_pr_listing_parses_to_its_12_files(shared_data: Path) -> None:
    page = (shared_data / "bls-pr-2025-09.listing.html").read_text()
    entries = parse_listing(page, BASE + "pr/")
    assert len(entries) == 12
    by_name = {e.name: e for e in entries}
    assert by_name["pr.data.0.Current"].size == 1564284
    assert by_name["pr.data.0.Current"].modified == datetime(2025, 9, 4, 7, 30)
    assert by_name["pr.period"].modified == datetime(1994, 1, 7, 14, 53)
    assert by_name["pr.txt"].href == "/pub/time.series/pr/pr.txt"
    assert all(e.kind == "file" for e in entries)
    assert by_name["pr.data.1.AllData"].size == 3187878  # not in the sample (tests/data/README.md)
    shipped = [e for e in entries if (shared_data / "bls-pr-2025-09" / e.name).is_file()]
    assert len(shipped) >= 11
    for e in shipped:
        assert e.size == (shared_data / "bls-pr-2025-09" / e.name).stat().st_size


def test_iis_entries_parse_folders_and_12_hour_clock() -> None:
    rows = [
        iis_entry(datetime(2024, 12, 31, 0, 5), None, "/pub/time.series/pr/sub/", "sub"),
        iis_entry(datetime(2024, 1, 2, 12, 30), 0, "/pub/time.series/pr/empty.txt", "empty.txt"),
        iis_entry(datetime(2024, 1, 2, 23, 59), 123456789012, "/pub/time.series/pr/huge", "huge"),
    ]
    page = f'<html><body><pre><A HREF="/pub/time.series/">[To Parent Directory]</A><br><br>{"".join(rows)}</pre>'
    entries = parse_listing(page, BASE + "pr/")
    assert [(e.name, e.kind, e.size, e.modified) for e in entries] == [
        ("sub", "dir", None, datetime(2024, 12, 31, 0, 5)),
        ("empty.txt", "file", 0, datetime(2024, 1, 2, 12, 30)),
        ("huge", "file", 123456789012, datetime(2024, 1, 2, 23, 59)),
    ]


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("<html><body>Service Unavailable</body></html>", "not a BLS directory listing"),
        ('<html><pre><A HREF="/pub/time.series/">[To Parent Directory]</A><br><br>  9/4/2025  7:30 AM  ', "cut"),
        ("<html><pre></pre></html>", "neither entries nor a parent link"),
        (
            '<pre><A HREF="/pub/">[To Parent Directory]</A><br><br>yesterday 12 <A HREF="/pub/x">x</A><br></pre>',
            "not in the IIS format",
        ),
    ],
)
def test_a_page_that_is_not_a_listing_is_refused(page: str, message: str) -> None:
    with pytest.raises(ListingError, match=message):
        parse_listing(page, BASE + "pr/")


def test_walk_follows_sub_folders_iteratively_and_ignores_hostile_links() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.put("pr/a/one.txt", b"11")
    site.put("pr/a/b/two.txt", b"222", modified=datetime(2025, 1, 2, 15, 4))
    site.mkdir("pr/empty/")
    site.put("ce/ce.txt", b"other survey")
    when = datetime(2025, 9, 4, 7, 30)
    hostile = [
        iis_entry(when, 5, "http://evil.example/pub/time.series/pr/x", "other host"),
        iis_entry(when, 5, "/pub/time.series/pr/../ce/ce.txt", "dotdot"),
        iis_entry(when, 5, "/pub/time.series/ce/ce.txt", "leaves the folder"),
        iis_entry(when, None, "/pub/time.series/", "parent as a dir"),
        iis_entry(when, 5, "/pub/time.series/pr/pr.class?C=M;O=D", "query"),
        iis_entry(when, 5, "/pub/time.series/pr/bad%00name", "nul"),
        iis_entry(when, 5, "/pub/time.series/pr/" + "x" * 1000, "absurdly long"),
        iis_entry(when, 5, "/pub/time.series/pr/back%5Cslash", "backslash"),
        iis_entry(when, None, "/pub/time.series/pr/a/", "a folder listed twice"),
    ]
    for row in hostile:
        site.add_raw_entry("pr/", row)
    seen: list[str] = []
    tree = walk(fetcher_for(site, seen), BASE + "pr/")

    assert [(f.path, f.size) for f in tree.files] == [("a/b/two.txt", 3), ("a/one.txt", 2), ("pr.class", 1)]
    two = tree.files[0]
    assert two.url == BASE + "pr/a/b/two.txt"
    assert two.timestamp == "2025-01-02T15:04"
    # one GET per folder, none outside the survey folder
    assert sorted(seen) == sorted(
        ["/pub/time.series/pr/", "/pub/time.series/pr/a/", "/pub/time.series/pr/a/b/", "/pub/time.series/pr/empty/"]
    )
    assert len(tree.ignored) == 8
    reasons = " ".join(i.reason for i in tree.ignored)
    assert "another host" in reasons
    assert "query string" in reasons
    assert "control characters" in reasons
    assert tree.listing_bytes > 0


def test_an_empty_survey_listing_is_an_error() -> None:
    site = BlsSite()
    site.mkdir("pr/")
    with pytest.raises(ListingError, match="listing is empty"):
        walk(fetcher_for(site), BASE + "pr/")


def test_a_broken_sub_folder_listing_is_that_folders_error_and_the_walk_goes_on() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.put("pr/sub/x.txt", b"x")
    site.put("pr/ok/y.txt", b"y")
    site.override_listing("pr/sub/", "<html>maintenance</html>")
    tree = walk(fetcher_for(site), BASE + "pr/")
    assert [f.path for f in tree.files] == ["ok/y.txt", "pr.class"]
    assert [(f.path, f.url) for f in tree.failed] == [("sub/", BASE + "pr/sub/")]
    assert "not a BLS directory listing" in (tree.failed[0].error or "")
    assert {f.path: f.entries for f in tree.folders if f.error is None} == {"": 3, "ok/": 1}


def test_an_empty_sub_folder_listing_is_recorded_as_empty_not_as_an_error() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.mkdir("pr/sub/")
    tree = walk(fetcher_for(site), BASE + "pr/")
    assert {f.path: (f.entries, f.error) for f in tree.folders} == {"": (2, None), "sub/": (0, None)}


@pytest.mark.parametrize(
    "href",
    [
        "/pub/time.series/pr/a%2fb",
        "/pub/time.series/pr/a%2Fb",
        "/pub/time.series/pr/sub%2f..%2f..%2fce%2fce.txt",
        "/pub/time.series/pr/a%5cb",
        "/pub/time.series/pr/%2e%2e/ce/ce.txt",
        "/pub/time.series/pr/a%252fb/../../../ce/x",
        "http://[::1/pub/time.series/pr/x",
        "/pub/time.series/pr/%ff%fe",
        "/pub/time.series/pr/%0d%0aSet-Cookie",
        "https://download.bls.gov@evil.example/pub/time.series/pr/x",
        "/pub/time.series/pr//x",
        "\\\\evil\\share",
    ],
)
def test_an_encoded_separator_or_unreadable_link_never_becomes_a_file_or_folder(href: str) -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.add_raw_entry("pr/", iis_entry(datetime(2025, 9, 4, 7, 30), 5, href, "odd"))
    tree = walk(fetcher_for(site), BASE + "pr/")
    assert [f.path for f in tree.files] == ["pr.class"]
    assert [i.href for i in tree.ignored] == [href]


def test_a_literal_percent_sequence_that_decodes_to_no_separator_is_a_plain_name() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.add_raw_entry("pr/", iis_entry(datetime(2025, 9, 4, 7, 30), 5, "/pub/time.series/pr/a%252fb", "a%2fb"))
    tree = walk(fetcher_for(site), BASE + "pr/")
    odd = next(f for f in tree.files if f.path != "pr.class")
    assert odd.path == "a%2fb"  # one name, with a literal '%2f' in it: no new folder
    assert odd.url == BASE + "pr/a%252fb"


def test_a_base_url_with_credentials_keeps_links_on_its_host() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.add_raw_entry(
        "pr/", iis_entry(datetime(2025, 9, 4, 7, 30), 5, "https://download.bls.gov/pub/time.series/pr/abs", "abs")
    )
    tree = walk(fetcher_for(site), "https://u:p@download.bls.gov/pub/time.series/pr/")
    assert [f.path for f in tree.files] == ["abs", "pr.class"]


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        (BASE + "pr/x", True),
        (BASE + "pr/sub/", True),
        (BASE + "pr/", True),
        ("http://download.bls.gov/pub/time.series/pr/x", False),
        ("https://evil.example/pub/time.series/pr/x", False),
        ("https://download.bls.gov:8443/pub/time.series/pr/x", False),
        (BASE + "ce/x", False),
        (BASE + "pr/../ce/x", False),
        (BASE + "pr/a%2fb", False),
        (BASE + "pr/x?redirect=1", False),
        ("https://download.bls.gov/", False),
    ],
)
def test_within_applies_the_listing_rules_to_a_redirect(target: str, allowed: bool) -> None:
    assert (within(BASE + "pr/")(BASE + "pr/x", target) is None) is allowed


def test_a_sub_folder_that_redirects_off_the_survey_is_that_folders_error() -> None:
    site = BlsSite()
    site.put("pr/pr.class", b"c")
    site.put("pr/sub/x.txt", b"x")
    inner = fetcher_for(site)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/pub/time.series/pr/sub/":
            return httpx.Response(302, headers={"Location": "https://evil.example/pub/time.series/pr/sub/"})
        return inner.client._transport.handle_request(request)

    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"User-Agent": "t (+a@b.org)"})
    tree = walk(Fetcher(client, min_interval=0), BASE + "pr/")
    assert [f.path for f in tree.failed] == ["sub/"]
    assert "evil.example" in (tree.failed[0].error or "")
    assert not any("evil" in u for u in seen)


def test_a_redirect_of_the_survey_listing_itself_off_the_host_fails_the_survey() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"Location": "https://evil.example/"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with pytest.raises(SourceError, match="not followed"):
        walk(Fetcher(client, min_interval=0), BASE + "pr/")
