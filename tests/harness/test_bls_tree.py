"""The synthetic BLS tree (tests/support/bls_tree.py): deterministic, shaped like the real one, served lazily."""

from __future__ import annotations

import re
import statistics

import httpx
import pytest

from dataquest.bls.listing import parse_listing
from tests.conftest import SAMPLE_DATA
from tests.support.bls_site import BlsSite
from tests.support.bls_tree import NON_SURVEY, SyntheticTree

REAL_LISTING = SAMPLE_DATA / "bls-pr-2025-09.listing.html"
UA = {"User-Agent": "tests (test@example.org)"}


def test_same_seed_same_tree_and_bytes_other_seed_other_tree() -> None:
    a, b, c = SyntheticTree(seed=3), SyntheticTree(seed=3), SyntheticTree(seed=4)
    assert a.files == b.files
    assert a.files != c.files
    with BlsSite() as one, BlsSite() as two:
        a.install(one)
        b.install(two)
        path = f"{a.surveys[0]}/{a.surveys[0]}.series"
        assert one.sha256_of(path) == two.sha256_of(path)
        assert one.data_of(path) != one.data_of(f"{a.surveys[1]}/{a.surveys[1]}.series")[: a.files[path].size]


def test_scale_one_is_small_and_larger_scales_approach_the_real_tree() -> None:
    small = SyntheticTree(seed=1, scale=1)
    assert len(small.surveys) == 10
    assert 50 <= len(small.files) <= 80
    assert 1_000_000 < small.total_bytes < 20_000_000
    assert any(f.count("/") == 2 for f in small.folders())  # a sub-folder
    big = SyntheticTree(seed=1, scale=6.5)
    assert len(big.surveys) == 65
    assert 1_000 <= len(big.files) <= 1_250
    sizes = sorted(f.size for f in big.files.values())
    assert sizes[-1] > 100 * statistics.median(sizes)  # heavy tail: a few large files
    survey = big.surveys[0]
    names = {f.path.rsplit("/", 1)[1] for f in big.survey_files(survey)}
    assert {f"{survey}.series", f"{survey}.data.0.Current", f"{survey}.data.1.AllData", f"{survey}.txt"} <= names


def test_mutate_changes_adds_and_removes_only_in_the_named_surveys() -> None:
    tree = SyntheticTree(seed=5, scale=2)
    before = dict(tree.files)
    named = list(tree.surveys[:3])
    change = tree.mutate(named)
    touched = set(change.changed + change.added + change.removed)
    assert {p.split("/")[0] for p in touched} == set(named)
    assert len(change.changed) == 3
    assert len(change.added) >= 3
    assert all(p not in tree.files for p in change.removed)
    assert {p: f for p, f in before.items() if p not in touched} == {
        p: f for p, f in tree.files.items() if p not in touched
    }
    for p in change.changed:
        assert tree.files[p].modified > before[p].modified
        assert tree.files[p].body_seed(tree.seed) != before[p].body_seed(tree.seed)
    with pytest.raises(KeyError, match="not a survey"):
        tree.mutate(["zz"])


def test_install_follows_the_tree_and_leaves_other_paths_alone() -> None:
    tree = SyntheticTree(seed=2)
    with BlsSite() as site:
        site.serve("/tesseract/data.jsonrecords", b"{}")
        tree.install(site)
        path = f"{tree.surveys[0]}/{tree.surveys[0]}.data.0.Current"
        old = site.data_of(path)
        change = tree.mutate([tree.surveys[0]])
        tree.install(site)
        assert change.changed == (path,)
        assert {p[len(site.root) :] for p in site.files if p.startswith(site.root)} == set(tree.files)
        assert "/tesseract/data.jsonrecords" in site.files
        assert site.data_of(change.changed[0]) != old


def test_root_listing_parses_with_the_project_parser_and_separates_surveys() -> None:
    tree = SyntheticTree(seed=9)
    with BlsSite() as site:
        tree.install(site)
        page = httpx.get(site.base_url, headers=UA).text
    entries = parse_listing(page, site.root)
    dirs = {e.name for e in entries if e.kind == "dir"}
    files = {e.name for e in entries if e.kind == "file"}
    assert dirs == set(tree.surveys) | {"compressed"}
    assert files == {n for n in NON_SURVEY if not n.endswith("/")}
    assert {d for d in dirs if re.fullmatch(r"[a-z]{2}", d)} == set(tree.surveys)
    assert all(e.href == f"{site.root}{e.name}/" for e in entries if e.kind == "dir")


def test_the_root_and_a_survey_listing_have_the_real_pages_shape() -> None:
    real = REAL_LISTING.read_text()
    tree = SyntheticTree(seed=9)
    survey = tree.surveys[3]  # one with a sub-folder
    with BlsSite() as site:
        tree.install(site)
        page = site.listing(f"{survey}/").decode()
        root = site.listing("").decode()

    def frame(text: str, folder: str, parent: str) -> str:  # the page without its entries, folder and parent
        entry = r"\s*\d{1,2}/\d{1,2}/\d{4}\s+\d{1,2}:\d{2} [AP]M\s+(\d+|&lt;dir&gt;) <A HREF=\"[^\"]*\">[^<]*</A><br>"
        text = re.sub(entry, "", text)
        return text.replace(folder, "FOLDER").replace(f'"{parent}"', "PARENT")

    expected = frame(real, "/pub/time.series/pr/", "/pub/time.series/")
    assert frame(page, f"/pub/time.series/{survey}/", "/pub/time.series/") == expected
    assert frame(root, "/pub/time.series/", "/pub/") == expected
    entries = parse_listing(page, "x")
    assert [e.name for e in entries if e.kind == "dir"] == ["supplemental"]
    assert len(entries) == 1 + sum(1 for f in tree.survey_files(survey) if f.path.count("/") == 1)
