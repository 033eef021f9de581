"""The clock checks: a plan's ``check`` actions (same size, listed time moved by whole hours: a time-zone move or
a DST change at the source) settled as an upload or a skip.

BLS lists local time, so a file whose listed time moved by whole hours may be unchanged. :class:`Checker` settles
each such file from the ``source-timestamp-confirmed`` tag an earlier run left, else from a HEAD of the source file
(under the survey's redirect rule, :func:`dataquest.bls.links.within`), and remembers a confirmed skip in that tag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.bls.links import within
from dataquest.bls.plan import Action, Plan, confirm
from dataquest.config import TAG_CONFIRMED_TIMESTAMP
from dataquest.errors import error_line
from dataquest.http.client import BLS
from dataquest.storage import aws_error

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from dataquest.bls.listing import SourceFile
    from dataquest.bls.mirror import MirrorObject
    from dataquest.http.client import Fetcher

logger = log.get("dataquest.bls.sync")


@dataclass(frozen=True)
class Checker:
    """Settles a plan's ``check`` actions for one survey; remembers a confirmed skip unless ``dry_run``."""

    fetcher: Fetcher
    s3: S3Client
    bucket: str
    survey_url: str
    dry_run: bool

    def confirm_checks(self, plan: Plan, mirror: dict[str, MirrorObject]) -> Plan:
        """Each ``check`` (same size, listed time moved by whole hours) made an upload or a skip: a skip at once
        when an earlier run confirmed this listed time (the object's ``source-timestamp-confirmed`` tag), else by
        a HEAD of the file (read-only, so a dry run does it too; a HEAD that fails leaves the file to be
        uploaded). A confirmed skip is remembered in that tag (not in a dry run)."""
        if not plan.of("check"):
            return plan
        actions = [
            self._settle(a, a.source, mirror) if a.action == "check" and a.source is not None else a
            for a in plan.actions
        ]
        return Plan(plan.survey, plan.prefix, tuple(actions), plan.problems)

    def _settle(self, action: Action, source: SourceFile, mirror: dict[str, MirrorObject]) -> Action:
        tags = self._tags(action.key)
        listed = source.timestamp
        if tags.get(TAG_CONFIRMED_TIMESTAMP) == listed:
            reason = f"{action.reason}; confirmed unchanged by an earlier run's Last-Modified"
            return replace(action, action="skip", reason=reason)
        try:
            response = self.fetcher.head(source.url, source=BLS, allow=within(self.survey_url))
            last_modified = response.headers.get("last-modified")
        except Exception as exc:  # noqa: BLE001 - the GET of the upload meets it again and reports it
            log.event(logger, "clock check failed", level=logging.WARNING, key=action.key, error=error_line(exc))
            last_modified = None
        decided = confirm(action, mirror.get(action.key), last_modified)
        if decided.action == "skip" and not self.dry_run:
            self._remember(action.key, tags, listed)
        return decided

    def _tags(self, key: str) -> dict[str, str]:
        try:
            found = self.s3.get_object_tagging(Bucket=self.bucket, Key=key).get("TagSet", [])
        except (ClientError, BotoCoreError) as exc:
            log.event(logger, "reading tags failed", level=logging.WARNING, key=key, error=aws_error(exc))
            return {}
        return {t["Key"]: t["Value"] for t in found}

    def _remember(self, key: str, tags: dict[str, str], listed: str) -> None:
        """Tag ``key`` with the listed timestamp confirmed unchanged (its other tags, the SHA-256, kept)."""
        tag_set = [{"Key": k, "Value": v} for k, v in {**tags, TAG_CONFIRMED_TIMESTAMP: listed}.items()]
        try:
            self.s3.put_object_tagging(Bucket=self.bucket, Key=key, Tagging={"TagSet": tag_set})  # type: ignore[typeddict-item]
        except (ClientError, BotoCoreError) as exc:  # the next run asks the source again: slower, not wrong
            log.event(
                logger,
                "remembering a confirmed clock change failed",
                level=logging.WARNING,
                key=key,
                error=aws_error(exc),
            )
