"""Where the tables live: a SQL catalog on sqlite with a local warehouse (the laptop), or Glue with S3 (AWS).

:func:`local_lake` is the embedded default: ``<root>/catalog.db`` and ``<root>/warehouse/`` (``DQ_LAKE_DIR``,
default ``./lake``). :func:`bucket_lake` is the AWS one: the Glue database ``DQ_LAKE_DATABASE`` (default
``dataquest``) with table data and metadata under ``s3://<bucket>/lake/`` (never under ``bls/``); it honours
``AWS_ENDPOINT_URL`` (moto, LocalStack) for Glue and S3 alike. :func:`lake_from_settings` picks: a bucket when
``DQ_BUCKET`` is set, else the local one. Every setting comes from :class:`~dataquest.config.Settings`; the
credentials S3 needs (pyiceberg and polars read the files themselves) from botocore's own chain.

A :class:`Lake` opens its tables by name, creating each with its schema on first use, and carries the
``storage_options`` polars needs to read S3 (without the endpoint it would go to real AWS).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataquest.config import DEFAULT_LAKE_DATABASE, DEFAULT_LAKE_DIR, Settings
from dataquest.errors import ConfigurationError
from dataquest.lake import schema

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

LAKE_PREFIX = "lake/"
DEFAULT_DATABASE = DEFAULT_LAKE_DATABASE
DEFAULT_DIR = DEFAULT_LAKE_DIR
os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")  # polars: no warning about a planner plugin we lack


@dataclass
class Lake:
    """A catalog, the namespace of the lake's tables, where new tables go, and polars' storage options."""

    catalog: Catalog
    namespace: str
    location: str | None = None
    storage_options: dict[str, str] = field(default_factory=dict)
    where: str = ""

    def table(self, name: str) -> Table:
        """The table ``name`` (see :data:`dataquest.lake.schema.TABLES`), created empty on first use."""
        from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError  # noqa: PLC0415

        try:  # loaded first: a create that finds the table would still write a metadata file
            return self.catalog.load_table((self.namespace, name))
        except NoSuchTableError:
            pass
        spec = schema.TABLES[name]
        location = f"{self.location.rstrip('/')}/{name}" if self.location else None
        try:
            return self.catalog.create_table(
                (self.namespace, name),
                schema=spec.schema,
                partition_spec=spec.partition,
                location=location,
                properties=spec.properties,
            )
        except TableAlreadyExistsError:  # another writer created it meanwhile
            return self.catalog.load_table((self.namespace, name))

    def existing(self) -> list[str]:
        """The lake's tables that exist now."""
        return sorted(ident[-1] for ident in self.catalog.list_tables(self.namespace))


def local_lake(root: str | Path) -> Lake:
    """The laptop's lake: a sqlite SQL catalog and a warehouse folder under ``root`` (created if missing)."""
    from pyiceberg.catalog.sql import SqlCatalog  # noqa: PLC0415 - pyiceberg only where the lake is used

    base = Path(root).resolve()
    (base / "warehouse").mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog("dataquest", uri=f"sqlite:///{base / 'catalog.db'}", warehouse=(base / "warehouse").as_uri())
    _ensure_namespace(catalog, DEFAULT_DATABASE)
    return Lake(catalog=catalog, namespace=DEFAULT_DATABASE, where=str(base))


def bucket_lake(bucket: str, settings: Settings | None = None) -> Lake:
    """The bucket's lake: Glue database ``DQ_LAKE_DATABASE``, tables under ``s3://<bucket>/lake/``."""
    from pyiceberg.catalog.glue import GlueCatalog  # noqa: PLC0415 - pyiceberg only where the lake is used

    settings = settings or Settings.from_env()
    database, region, endpoint = settings.lake_database, settings.aws_region, settings.aws_endpoint_url
    props: dict[str, Any] = {"client.region": region, "s3.region": region}
    options = {"aws_region": region}
    if endpoint:
        props |= {"glue.endpoint": endpoint, "s3.endpoint": endpoint, "s3.force-virtual-addressing": "false"}
        options |= {"aws_endpoint_url": endpoint, "aws_allow_http": "true"}
    for prop, opt, value in _credentials():
        props[prop] = value
        options[opt] = value
    catalog = GlueCatalog("dataquest", **props)
    _ensure_namespace(catalog, database)
    return Lake(
        catalog=catalog,
        namespace=database,
        location=f"s3://{bucket}/{LAKE_PREFIX}",
        storage_options=options,
        where=f"glue:{database} s3://{bucket}/{LAKE_PREFIX}",
    )


def _ensure_namespace(catalog: Catalog, name: str) -> None:
    """Create the namespace only where it is missing: in AWS, Terraform owns the database (the role reads it)."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchNamespaceError  # noqa: PLC0415

    try:
        catalog.load_namespace_properties(name)
    except NoSuchNamespaceError:
        with contextlib.suppress(NamespaceAlreadyExistsError):
            catalog.create_namespace(name)


def _credentials() -> list[tuple[str, str, str]]:
    """(pyiceberg property, polars option, value) of the credentials botocore finds (environment, profile, role):
    the catalog's Glue client finds its own, but pyiceberg's and polars' S3 readers are handed them."""
    import boto3  # noqa: PLC0415

    found = boto3.Session().get_credentials()
    if found is None:
        return []
    frozen = found.get_frozen_credentials()
    given = [
        ("s3.access-key-id", "aws_access_key_id", frozen.access_key),
        ("s3.secret-access-key", "aws_secret_access_key", frozen.secret_key),
        ("s3.session-token", "aws_session_token", frozen.token),
    ]
    return [(prop, opt, value) for prop, opt, value in given if value]


def local_root(settings: Settings | None = None) -> str:
    """The laptop's lake folder: ``DQ_LAKE_DIR``, default ``./lake``."""
    return (settings or Settings.from_env()).lake_dir


def lake_from_settings(settings: Settings | None = None, *, local_dir: str | None = None) -> Lake:
    """The bucket's lake when ``DQ_BUCKET`` is set (and no ``local_dir`` is asked for), else the local one."""
    settings = settings or Settings.from_env()
    if local_dir is None and settings.bucket:
        return bucket_lake(settings.bucket, settings)
    root = local_dir or settings.lake_dir
    if Path(root).exists() and not Path(root).is_dir():
        raise ConfigurationError(f"lake folder {root}: not a folder; set DQ_LAKE_DIR (or --lake) to a folder")
    return local_lake(root)
