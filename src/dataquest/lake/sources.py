"""A survey's files, wherever they are: a local folder (``build-lake --data-dir``) or the mirror in S3.

:class:`SourceFile` names one file with its identity: the S3 ``VersionId`` (else the ETag) and the SHA-256 of
its bytes, the lineage every commit records. A folder's files have no version; their SHA-256 is their identity.
:func:`classify` sorts a survey's file names into data files (``<s>.data.<n>.<name>``, in the order that wins
a conflict), the series file, the footnote file and the mapping files (every other ``<s>.<name>``); ``.txt``
and ``.contacts`` are documents, not tables.

:meth:`Survey.fetch` makes a file readable by path: a folder's file as it is, an S3 object streamed into a
temporary file (hashed on the way, never held in memory whole).
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dataquest.config import BLS_PREFIX
from dataquest.errors import StorageError, ValidationError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK = 1 << 20
DOCUMENTS = ("txt", "contacts")
_DATA = re.compile(r"^[a-z0-9]+\.data\.(\d+)\.(.+)$")


@dataclass(frozen=True)
class SourceFile:
    """One file of a survey: its name (``pr.data.0.Current``), its version (S3) and SHA-256 (once read)."""

    name: str
    identity: str
    """What says the file is unchanged before it is read: the S3 ETag, or a local file's SHA-256."""
    version: str | None = None
    sha256: str | None = None

    def lineage(self) -> dict[str, str | None]:
        return {"identity": self.identity, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class Files:
    """A survey's files by role. ``data`` is in precedence order: where two carry a row, the first wins."""

    data: tuple[str, ...]
    series: str | None
    footnote: str | None
    mappings: tuple[str, ...]
    period: str | None = None


def data_rank(name: str) -> tuple[int, str]:
    """The data files' precedence: the lower BLS file number first (``pr.data.0.Current`` before ``.1.AllData``)."""
    found = _DATA.match(name)
    return (int(found.group(1)), name) if found else (1 << 30, name)


def classify(survey: str, names: list[str]) -> Files:
    """Sort ``names`` (file names of one survey folder) by role; see the module's docstring."""
    ours = [n for n in names if n.startswith(f"{survey}.") and "/" not in n]
    data = sorted((n for n in ours if _DATA.match(n)), key=data_rank)
    tables = {n.removeprefix(f"{survey}."): n for n in ours if not _DATA.match(n)}
    skip = {"series", "footnote", "period", *DOCUMENTS}
    return Files(
        data=tuple(data),
        series=tables.get("series"),
        footnote=tables.get("footnote"),
        mappings=tuple(sorted(n for suffix, n in tables.items() if suffix not in skip)),
        period=tables.get("period"),
    )


class Survey(Protocol):
    """Where a survey's files come from."""

    name: str

    def list(self) -> dict[str, SourceFile]: ...

    def fetch(self, file: SourceFile) -> AbstractContextManager[tuple[Path, SourceFile]]: ...


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class FolderSurvey:
    """A survey's files in a local folder (``pr.*`` in ``folder``)."""

    name: str
    folder: Path

    def list(self) -> dict[str, SourceFile]:
        if not self.folder.is_dir():
            raise ValidationError(f"{self.folder}: not a folder; expected the survey's files (as BLS serves them)")
        found: dict[str, SourceFile] = {}
        for path in sorted(self.folder.iterdir()):
            if path.is_file() and path.name.startswith(f"{self.name}."):
                sha = _sha256_file(path)
                found[path.name] = SourceFile(name=path.name, identity=sha, version=f"sha256:{sha}", sha256=sha)
        return found

    @contextmanager
    def fetch(self, file: SourceFile) -> Iterator[tuple[Path, SourceFile]]:
        yield self.folder / file.name, file


@dataclass
class S3Survey:
    """A survey's mirror: the objects under ``bls/<survey>/`` of ``bucket`` (the top level only)."""

    name: str
    s3: S3Client
    bucket: str
    prefix: str = BLS_PREFIX
    tmpdir: str | None = field(default=None)

    @property
    def folder(self) -> str:
        return f"{self.prefix}{self.name}/"

    def list(self) -> dict[str, SourceFile]:
        found: dict[str, SourceFile] = {}
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.folder)
            for page in pages:
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(self.folder) :]
                    if name and "/" not in name:
                        found[name] = SourceFile(name=name, identity=obj["ETag"].strip('"'))
        except Exception as exc:
            raise StorageError(f"s3://{self.bucket}/{self.folder}: cannot list the survey's files: {exc}") from exc
        return found

    @contextmanager
    def fetch(self, file: SourceFile) -> Iterator[tuple[Path, SourceFile]]:
        key = f"{self.folder}{file.name}"
        digest = hashlib.sha256()
        with tempfile.TemporaryDirectory(prefix="dq-lake-", dir=self.tmpdir) as tmp:
            path = Path(tmp) / file.name
            try:
                resp = self.s3.get_object(Bucket=self.bucket, Key=key)
                with path.open("wb") as out:
                    for chunk in resp["Body"].iter_chunks(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            except Exception as exc:
                raise StorageError(f"s3://{self.bucket}/{key}: cannot read it: {exc}") from exc
            version = resp.get("VersionId")
            etag = resp["ETag"].strip('"')
            read = replace(file, identity=etag, version=version if version not in (None, "null") else etag)
            yield path, replace(read, sha256=digest.hexdigest())
