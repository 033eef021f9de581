"""A synthetic ``/pub/time.series/`` tree shaped like BLS's, for tests and ``make bench-tree`` (issue 12).

Usage::

    from tests.support.bls_site import BlsSite
    from tests.support.bls_tree import SyntheticTree

    tree = SyntheticTree(seed=7, scale=1)        # ~10 surveys, ~60 files, a few MB
    with BlsSite() as site:
        tree.install(site)                       # every file, served lazily (no body is held in memory)
        tree.surveys                             # ("ap", "bd", ...): the survey folders, sorted
        change = tree.mutate(["ap", "cu", "la"]) # a new release of three surveys
        tree.install(site)                       # the site now serves it

The shape
    ``scale`` 1 is a small tree for tests: 10 surveys of about six files each. Larger scales approach the real
    tree (65 surveys, ~1,100 files, tens of GB): ``round(10 * scale)`` surveys (at most 65, two-letter BLS codes)
    with ``<s>.series``, ``<s>.data.0.Current``, ``<s>.data.1.AllData``, ``<s>.txt``, ``<s>.footnote``, ``<s>.period``
    and ``0.5 + 2 * (scale - 1)`` mapping files on average (``<s>.area``, ``<s>.item``, ...). Every seventh survey (from
    the fourth) has a ``supplemental/`` sub-folder of two files. Sizes are log-normal around a base per kind of
    file, times ``scale ** 2 * size_factor``; one survey in twenty (at least one) has an ``AllData`` eight times
    larger: a heavy tail with a few large files.

The root listing
    Next to the survey folders the root holds what BLS's does and a ``--survey all`` must skip: a ``compressed/``
    folder and documentation files (``overview.txt``, ``survey_list.txt``), in :data:`NON_SURVEY`. Every survey
    folder is two lowercase letters; no non-survey entry is.

Bytes
    A file's bytes are a pure function of ``(seed, path, version)`` (:meth:`TreeFile.body_seed`), made by
    :meth:`BlsSite.put_generated` as they are sent, so the stand-in serves gigabytes without holding them.
    :meth:`SyntheticTree.mutate` makes a new version of one file per named survey (new bytes, a new size and a
    listing time one day later), adds one mapping file and removes another (or adds a second one where there is
    none to remove): the :class:`Change` lists the paths.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tests.support.bls_site import BlsSite

# The two-letter codes of BLS time-series surveys (65, the size of the real tree).
SURVEY_CODES = (
    "ap", "bd", "bg", "bp", "cc", "cd", "ce", "cf", "ch", "ci", "cm", "cs", "cu", "cw", "cx", "ec",
    "ee", "ei", "en", "ep", "eu", "fi", "fm", "fw", "gg", "gp", "hc", "hs", "ii", "in", "ip", "is",
    "jl", "jt", "la", "le", "li", "lu", "mp", "mu", "nb", "nc", "nd", "ng", "nw", "oe", "or", "pc",
    "pd", "pr", "ri", "sa", "sh", "si", "sm", "su", "ta", "tu", "wd", "wm", "wp", "ws", "ln", "ly", "ml",
)  # fmt: skip
MAPPINGS = ("area", "item", "industry", "occupation", "sector", "measure", "duration", "seasonal", "class",
            "datatype", "state", "ownership", "size", "category", "characteristic", "base")  # fmt: skip
NON_SURVEY = ("compressed/", "overview.txt", "survey_list.txt")
BASE_TIME = datetime(2025, 9, 4, 7, 30)
KiB = 1024

# (kind, base size in bytes at scale 1, log-normal sigma)
_CORE = (
    ("data.1.AllData", 200 * KiB, 1.0),
    ("data.0.Current", 100 * KiB, 0.8),
    ("series", 20 * KiB, 0.8),
    ("txt", 10 * KiB, 0.4),
    ("footnote", 200, 0.5),
    ("period", 150, 0.2),
)
_MAPPING = (600, 1.0)


@dataclass(frozen=True)
class TreeFile:
    """One file of the tree: path below the root (``ap/ap.series``), size, listing time and version."""

    path: str
    size: int
    modified: datetime
    version: int = 0

    def body_seed(self, seed: int) -> int:
        """The seed of this version's bytes: a pure function of ``(seed, path, version)``."""
        digest = hashlib.sha256(f"{seed}\0{self.path}\0{self.version}".encode()).digest()
        return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Change:
    """What :meth:`SyntheticTree.mutate` did: paths below the root."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def moved(self) -> tuple[str, ...]:
        """The files a sync must transfer (changed and added)."""
        return tuple(sorted(self.changed + self.added))


@dataclass
class SyntheticTree:
    seed: int = 0
    scale: float = 1.0
    size_factor: float = 1.0
    files: dict[str, TreeFile] = field(default_factory=dict)
    generation: int = 0

    def __post_init__(self) -> None:
        if self.scale < 1:
            raise ValueError("scale must be at least 1")
        if not self.files:
            self.files = {f.path: f for f in self._generate()}

    # --- shape ---------------------------------------------------------------------------------------------
    @property
    def surveys(self) -> tuple[str, ...]:
        return tuple(sorted({p.split("/", 1)[0] for p in self.files if "/" in p} - {"compressed"}))

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files.values())

    def survey_files(self, survey: str) -> list[TreeFile]:
        return [f for p, f in sorted(self.files.items()) if p.startswith(survey + "/")]

    def folders(self) -> list[str]:
        """Every folder below the root that holds a file, as ``ap/`` or ``ce/supplemental/``."""
        return sorted({p.rsplit("/", 1)[0] + "/" for p in self.files if "/" in p})

    def _size(self, rng: random.Random, base: int, sigma: float) -> int:
        return max(1, int(base * self.scale**2 * self.size_factor * math.exp(rng.gauss(0, sigma))))

    def _modified(self, rng: random.Random) -> datetime:
        return BASE_TIME - timedelta(days=rng.choice((0, 0, 0, 7, 30, 400)), minutes=rng.randrange(0, 600))

    def _generate(self) -> Iterable[TreeFile]:
        rng = random.Random(self.seed)
        count = min(len(SURVEY_CODES), round(10 * self.scale))
        codes = sorted(rng.sample(SURVEY_CODES, count))
        large = set(rng.sample(codes, max(1, count // 20)))
        extra = 2 * (self.scale - 1)
        for i, s in enumerate(codes):
            for kind, base, sigma in _CORE:
                size = self._size(rng, base * (8 if kind == "data.1.AllData" and s in large else 1), sigma)
                yield TreeFile(f"{s}/{s}.{kind}", size, self._modified(rng))
            for m in rng.sample(MAPPINGS, min(len(MAPPINGS), round(rng.uniform(0, 1 + 2 * extra)))):
                yield TreeFile(f"{s}/{s}.{m}", self._size(rng, *_MAPPING), self._modified(rng))
            if i % 7 == 3:
                for name in ("notes.txt", f"{s}.data.2.Supplement"):
                    yield TreeFile(f"{s}/supplemental/{name}", self._size(rng, 5 * KiB, 1.0), self._modified(rng))
        yield TreeFile("compressed/readme.txt", 300, BASE_TIME)
        yield TreeFile("overview.txt", 4 * KiB, BASE_TIME)
        yield TreeFile("survey_list.txt", 2 * KiB, BASE_TIME)

    # --- releases ------------------------------------------------------------------------------------------
    def mutate(self, surveys: Sequence[str]) -> Change:
        """A new release of ``surveys``: in each, one data file changes, one mapping file is added and one removed
        (when the survey has none to remove, a second one is added). Deterministic from the seed."""
        self.generation += 1
        rng = random.Random(f"{self.seed}/{self.generation}")
        when = BASE_TIME + timedelta(days=self.generation)
        changed: list[str] = []
        added: list[str] = []
        removed: list[str] = []
        for s in surveys:
            if s not in self.surveys:
                raise KeyError(f"{s!r} is not a survey of this tree ({', '.join(self.surveys)})")
            target = self.files[f"{s}/{s}.data.0.Current"]
            self.files[target.path] = replace(
                target, size=max(1, target.size + rng.randrange(1, 4096)), modified=when, version=target.version + 1
            )
            changed.append(target.path)
            present = [m for m in MAPPINGS if f"{s}/{s}.{m}" in self.files]
            absent = [m for m in MAPPINGS if m not in present]
            new = [f"{s}/{s}.{m}" for m in rng.sample(absent, 1 if present else 2)]
            for path in new:
                self.files[path] = TreeFile(path, self._size(rng, *_MAPPING), when, self.generation)
            added += new
            if present:
                gone = f"{s}/{s}.{rng.choice(present)}"
                del self.files[gone]
                removed.append(gone)
        return Change(tuple(changed), tuple(added), tuple(removed))

    # --- serving -------------------------------------------------------------------------------------------
    def install(self, site: BlsSite) -> None:
        """Make ``site`` serve this tree under its root: every file added or updated, files no longer in the
        tree removed (paths outside the root are left alone)."""
        wanted = {site.root + p for p in self.files}
        for path in [p for p in site.files if p.startswith(site.root) and p not in wanted]:
            site.remove(path)
        for f in self.files.values():
            site.put_generated(f.path, f.size, seed=f.body_seed(self.seed), modified=f.modified)
