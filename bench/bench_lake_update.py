"""Silver's incremental update over a 25-survey synthetic tree: ``make bench-lake-update``.

    python bench/bench_lake_update.py [--surveys 25] [--data-mb 60] [--seed 7]

The tree: the survey codes and the data files' sizes of ``SyntheticTree(scale=surveys / 10)`` (tests/support/
bls_tree.py, heavy-tailed: one survey in twenty has an ``AllData`` eight times larger), scaled to ``--data-mb``
of data in all, written as BLS text (padded fields, CRLF): per survey ``<s>.series`` (with ``series_title``),
``<s>.data.0.Current`` (the last two years of every series) and ``<s>.data.1.AllData`` (every year).

Three phases, one process, ``update_survey`` over every survey each time, the lake's folder listed before and
after each (every file's size and mtime: what a phase wrote is what is new or changed):

1. first build: every survey ``updated``; seconds and CPU seconds per source MB (the model's rate).
2. no-op: every survey ``unchanged``; target: nothing written (no file new or changed).
3. one changed file (one value of one survey's ``Current``): that survey ``updated``, the others ``unchanged``;
   targets: no data file written outside that survey's partitions, and the bytes written at most 1.2x that
   survey's size in silver (its live data files in ``observations``, ``series`` and ``footnotes``).

Then the model of the real tree (bench/tree.py's :func:`lake_model`): silver's first build and a day's cost.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from tests.support.bls_tree import SyntheticTree  # noqa: E402
from tree import lake_model  # noqa: E402

BENCH = ROOT / ".bench"
MB = 10**6
DAILY_CHANGED = 3  # bench/tree.py's --changed default: a day's releases
TARGET = 1.2  # bytes written per byte of the survey in silver
SILVER = ("observations", "series", "footnotes")


def data_text(survey: str, size: int, rng: random.Random) -> tuple[str, str, list[str]]:
    """``<s>.data.1.AllData`` of about ``size`` bytes, its ``Current`` (the last two years) and its series ids."""
    rows_per_series = 25 * 12  # 25 years of months
    series = max(1, size // (rows_per_series * 42))
    ids = [f"{survey.upper()}U{n:08d}" for n in range(series)]
    header = "series_id                    \tyear\tperiod\t       value\tfootnote_codes\r\n"
    every, current = [header], [header]
    for sid in ids:
        value = rng.uniform(10, 500)
        for year in range(2001, 2026):
            for month in range(1, 13):
                value *= 1 + rng.gauss(0, 0.01)  # a random walk: Parquet compresses it about as much as BLS's data
                line = f"{sid:<30}\t{year}\tM{month:02d}\t{value:12.1f}\t\r\n"
                every.append(line)
                if year >= 2024:
                    current.append(line)
    return "".join(every), "".join(current), ids


def write_tree(folder: Path, surveys: int, data_mb: float, seed: int) -> dict[str, int]:
    """The synthetic tree under ``folder`` (one folder per survey); each survey's source bytes."""
    shape = SyntheticTree(seed=seed, scale=surveys / 10)
    sizes = {s: sum(f.size for f in shape.survey_files(s) if ".data." in f.path) for s in shape.surveys}
    total = sum(sizes.values())
    rng = random.Random(seed)
    shutil.rmtree(folder, ignore_errors=True)
    written: dict[str, int] = {}
    for survey, size in sizes.items():
        target = folder / survey
        target.mkdir(parents=True)
        every, current, ids = data_text(survey, int(size * data_mb * MB / total), rng)
        (target / f"{survey}.data.1.AllData").write_bytes(every.encode())
        (target / f"{survey}.data.0.Current").write_bytes(current.encode())
        titles = "".join(f"{sid}\tSynthetic series {sid}\r\n" for sid in ids)
        (target / f"{survey}.series").write_bytes(f"series_id\tseries_title\r\n{titles}".encode())
        written[survey] = sum(p.stat().st_size for p in target.iterdir())
    return written


def listing(lake: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(lake)): (p.stat().st_size, p.stat().st_mtime_ns) for p in lake.rglob("*") if p.is_file()}


def written_since(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> dict[str, int]:
    return {p: size for p, (size, mtime) in after.items() if before.get(p) != (size, mtime)}


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def update_all(lake: Any, tree: Path) -> tuple[dict[str, str], float, float]:
    from dataquest.lake.silver import update_survey  # noqa: PLC0415 - timed with the rest of the phase
    from dataquest.lake.sources import FolderSurvey  # noqa: PLC0415

    start, used = time.perf_counter(), cpu()
    statuses = {}
    for folder in sorted(tree.iterdir()):
        update = update_survey(lake, FolderSurvey(folder.name, folder))
        if not update.ok:
            raise SystemExit(f"bench: {folder.name} failed: {update.failures[:2]}")
        statuses[folder.name] = update.status
    return statuses, time.perf_counter() - start, cpu() - used


def survey_size(lake: Any, survey: str) -> int:
    """The bytes of ``survey``'s live data files in silver's tables."""
    total = 0
    for name in SILVER:
        files = lake.table(name).inspect.files().to_pylist()
        total += sum(f["file_size_in_bytes"] for f in files if (f["partition"] or {}).get("survey") == survey)
    return total


def change_one_value(folder: Path) -> None:
    path = next(folder.glob("*.data.0.Current"))
    lines = path.read_bytes().split(b"\r\n")
    fields = lines[1].split(b"\t")
    fields[3] = f"{float(fields[3]) + 0.1:12.1f}".encode()
    lines[1] = b"\t".join(fields)
    path.write_bytes(b"\r\n".join(lines))


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--surveys", type=int, default=25)
    parser.add_argument("--data-mb", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phases", action="store_true", help="(internal) run the phases over the written tree")
    args = parser.parse_args()
    tree, root = BENCH / "lake-tree", BENCH / "lake-update"
    if not args.phases:  # the tree is written here; the phases run in a fresh process, whose peak is the lake's
        write_tree(tree, args.surveys, args.data_mb, args.seed)
        return subprocess.call([sys.executable, __file__, "--phases"])
    sizes = {f.name: sum(p.stat().st_size for p in f.iterdir()) for f in sorted(tree.iterdir())}
    shutil.rmtree(root, ignore_errors=True)
    print(f"tree: {len(sizes)} surveys, {sum(sizes.values()) / MB:.1f} MB of source; {load()}")
    from dataquest.lake.catalog import local_lake  # noqa: PLC0415

    lake = local_lake(root)
    before = listing(root)
    statuses, seconds, used = update_all(lake, tree)
    first = written_since(before, listing(root))
    source_mb = sum(sizes.values()) / MB
    print(
        f"first build: {sum(s == 'updated' for s in statuses.values())} surveys updated in {seconds:.1f} s "
        f"({used:.1f} s CPU; {source_mb / seconds:.1f} MB/s of source), {len(first)} files, "
        f"{sum(first.values()) / MB:.1f} MB written"
    )
    failed = not all(s == "updated" for s in statuses.values())
    before = listing(root)
    statuses, noop_seconds, _ = update_all(lake, tree)
    noop = written_since(before, listing(root))
    unchanged = all(s == "unchanged" for s in statuses.values())
    print(
        f"no-op: {sum(s == 'unchanged' for s in statuses.values())} unchanged in {noop_seconds:.1f} s; "
        f"{len(noop)} files, {sum(noop.values())} bytes written (target: none): {verdict(not noop and unchanged)}"
    )
    failed |= bool(noop) or not unchanged
    failed |= one_change(lake, root, tree, sizes)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lake_model(
        rate=source_mb * MB / seconds,
        cpu_rate=source_mb * MB / used,
        noop_seconds=noop_seconds / len(sizes),
        peak_mb=peak,
        daily_changed=DAILY_CHANGED,
    )
    print(f"done; {load()}")
    return 1 if failed else 0


def one_change(lake: Any, root: Path, tree: Path, sizes: dict[str, int]) -> bool:
    """Phase 3; True when a check failed."""
    survey = sorted(sizes, key=sizes.__getitem__)[len(sizes) // 2]  # a survey of the median size
    change_one_value(tree / survey)
    size = survey_size(lake, survey)
    before = listing(root)
    statuses, seconds, _ = update_all(lake, tree)
    changed = written_since(before, listing(root))
    data = {p: n for p, n in changed.items() if "/data/" in p}
    elsewhere = [p for p in data if f"survey={survey}" not in p]
    total = sum(changed.values())
    updated = [s for s, status in statuses.items() if status == "updated"]
    print(
        f"one changed file ({survey}.data.0.Current, one value): updated {updated} in {seconds:.1f} s; "
        f"{len(data)} data files ({sum(data.values()) / 1e3:.0f} kB), {len(changed) - len(data)} metadata files "
        f"({(total - sum(data.values())) / 1e3:.0f} kB), {len(elsewhere)} data files outside {survey}'s partitions "
        f"(target: none): {verdict(not elsewhere and updated == [survey])}"
    )
    ratio = total / size if size else float("inf")
    meta = sorted(((n, p) for p, n in changed.items() if p not in data), reverse=True)
    print(
        f"  bytes written {total / 1e3:.0f} kB = {ratio:.2f}x {survey}'s silver ({size / 1e3:.0f} kB; its data files "
        f"alone {sum(data.values()) / size:.2f}x; source {sizes[survey] / 1e3:.0f} kB) (target <= 1.2x): "
        f"{verdict(ratio <= TARGET)}"
    )
    print("  largest metadata files: " + ", ".join(f"{p.split('/', 2)[-1]} {n / 1e3:.0f} kB" for n, p in meta[:5]))
    if ratio > TARGET:
        overhead, data_ratio = total - sum(data.values()), sum(data.values()) / size
        print(
            f"  why missed: each commit's metadata ({overhead / 1e3:.0f} kB in {len(meta)} files: a gzipped "
            "metadata file, a manifest and a manifest list per snapshot, the catalog) does not shrink with the "
            f"survey; with data files at {data_ratio:.2f}x the target holds for a survey whose silver is over "
            f"{overhead / max(TARGET - data_ratio, 0.01) / 1e3:.0f} kB"
        )
    return bool(elsewhere) or updated != [survey] or ratio > TARGET


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
