"""A moto server for the lake's Terraform and its least-privilege test: ``python -m tests.support.moto_lake``.

Athena's tags, as AWS answers them.

Terraform's ``aws_athena_workgroup`` reads the workgroup's tags back after creating it, and moto 5 fails that
read twice over: it answers "Athena Resource ... Does Not Exist" (400) for a workgroup that has no tags, where
AWS answers an empty list; and the provider, with ``skip_requesting_account_id`` (as every test override sets
it), names the workgroup by an ARN without the account (``arn:aws:athena:us-east-1::workgroup/x``), which moto
keys with it. This server puts the account into such an ARN and answers an existing resource's missing tags
with ``{"Tags": []}`` (tagging and untagging go through the same ARN fix). It also keeps Lambda's logging
configuration, as tests/support/moto_lambda.py does. moto's Athena does not execute SQL at all: the named
queries' SQL is executed by DuckDB in tests/unit/test_lake_gold.py instead. moto 5.2.5 has no DeleteNamedQuery
(Terraform's destroy retried it for ever) and answers GetNamedQuery of a missing id with a 500: this server
deletes, and answers a missing id with InvalidRequestException, as AWS does.

S3's events in EventBridge, as AWS sends them. moto 5.2.5 forwards a bucket's events to EventBridge once its
notification configuration holds ``EventBridgeConfiguration``, but leaves that element out when the configuration
is read back (Terraform's ``eventbridge = true`` would drift for ever): this server writes it back. (moto sends no
event for a delete marker, where AWS sends ``Object Deleted``: the tests delete a version, which moto announces.)

Glue's tags, as AWS keeps them: under the ARN with the account, whichever way the caller spells it.

Glue's resources, as AWS authorises them. moto's IAM enforcement (tests/support/moto_iam.py, whose corrections
this server applies too) checks a Glue request against the resource ``*``, so a role granted Glue actions on its
database's ARNs only (least privilege, as AWS wants it) would be refused everything, and one granted ``*`` would
pass. Here a Glue request is checked against the ARN it acts on: the table
(``table/<database>/<name>``) where it names one, else the database, else the catalog.
"""

from __future__ import annotations

import re
import sys
from typing import Any

_NO_ACCOUNT = re.compile(r"^(arn:[^:]+:(?:athena|glue):[^:]*):(:.*)$")


def _with_account(arn: str, account_id: str) -> str:
    found = _NO_ACCOUNT.match(arn)
    return f"{found.group(1)}:{account_id}{found.group(2)}" if found else arn


def _patch_athena_tags() -> None:
    from moto.athena.models import AthenaBackend

    listing, tagging, untagging = (
        AthenaBackend.list_tags_for_resource,
        AthenaBackend.tag_resource,
        AthenaBackend.untag_resource,
    )

    def exists(self: Any, arn: str) -> bool:
        name = arn.rsplit("/", 1)[-1]
        kind = arn.split(":", 5)[-1].split("/", 1)[0]
        return (kind == "workgroup" and name in self.work_groups) or (
            kind == "datacatalog" and name in self.data_catalogs
        )

    def list_tags_for_resource(self: Any, resource_arn: str) -> dict[str, Any] | None:
        arn = _with_account(resource_arn, self.account_id)
        found: dict[str, Any] | None = listing(self, arn)
        if not found and exists(self, arn):
            return {"Tags": []}
        return found

    def tag_resource(self: Any, arn: str, tags: dict[str, str]) -> None:
        tagging(self, _with_account(arn, self.account_id), tags)

    def untag_resource(self: Any, arn: str, tag_keys: list[str]) -> None:
        untagging(self, _with_account(arn, self.account_id), tag_keys)

    AthenaBackend.list_tags_for_resource = list_tags_for_resource  # type: ignore[method-assign]
    AthenaBackend.tag_resource = tag_resource  # type: ignore[method-assign]
    AthenaBackend.untag_resource = untag_resource  # type: ignore[method-assign]


def _patch_athena_named_queries() -> None:
    from moto.athena.exceptions import AthenaClientError
    from moto.athena.responses import AthenaResponse

    getting = AthenaResponse.get_named_query

    def delete_named_query(self: Any) -> str:
        self.athena_backend.named_queries.pop(self._get_param("NamedQueryId"), None)
        return "{}"

    def get_named_query(self: Any) -> str:
        if self._get_param("NamedQueryId") not in self.athena_backend.named_queries:
            raise AthenaClientError("InvalidRequestException", "NamedQuery was not found")
        return str(getting(self))

    AthenaResponse.delete_named_query = delete_named_query  # type: ignore[attr-defined]
    AthenaResponse.get_named_query = get_named_query  # type: ignore[method-assign]


def _patch_s3_eventbridge() -> None:
    from moto.s3.responses import S3Response

    reading = S3Response.get_bucket_notification
    element = "<EventBridgeConfiguration></EventBridgeConfiguration>"

    def get_bucket_notification(self: Any) -> Any:
        answer = reading(self)
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or config.event_bridge is None:
            return answer
        status, headers, body = answer if isinstance(answer, tuple) else (200, {}, answer)
        text = body.decode() if isinstance(body, bytes) else str(body)
        if "EventBridgeConfiguration" not in text:
            text = text.replace("</NotificationConfiguration>", f"{element}</NotificationConfiguration>")
            if "</NotificationConfiguration>" not in text:  # nothing else configured: an empty document
                text = f'<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{element}</NotificationConfiguration>'
        headers = {k: v for k, v in dict(headers).items() if k.lower() != "content-length"}
        return status, headers, text

    S3Response.get_bucket_notification = get_bucket_notification  # type: ignore[method-assign]


def _patch_glue_tags() -> None:
    """The Glue database's tags under the ARN with the account (the provider, without one, read none: drift)."""
    from moto.glue.models import GlueBackend

    getting, tagging, untagging = GlueBackend.get_tags, GlueBackend.tag_resource, GlueBackend.untag_resource

    def get_tags(self: Any, resource_id: str) -> dict[str, str]:
        return dict(getting(self, _with_account(resource_id, self.account_id)))

    def tag_resource(self: Any, resource_arn: str, tags: dict[str, str] | None) -> None:
        tagging(self, _with_account(resource_arn, self.account_id), tags)

    def untag_resource(self: Any, resource_arn: str, tag_keys: list[str]) -> None:
        untagging(self, _with_account(resource_arn, self.account_id), tag_keys)

    GlueBackend.get_tags = get_tags  # type: ignore[method-assign]
    GlueBackend.tag_resource = tag_resource  # type: ignore[method-assign]
    GlueBackend.untag_resource = untag_resource  # type: ignore[method-assign]


def _glue_resource(region: str, account: str, params: dict[str, Any]) -> str:
    base = f"arn:aws:glue:{region}:{account}"
    table_input = params.get("TableInput") if isinstance(params.get("TableInput"), dict) else {}
    database = params.get("DatabaseName")
    table = params.get("TableName") or table_input.get("Name") or (params.get("Name") if database else None)
    if database and table:
        return f"{base}:table/{database}/{table}"
    name = database or params.get("Name") or (params.get("DatabaseInput") or {}).get("Name")
    return f"{base}:database/{name}" if name else f"{base}:catalog"


def _patch_glue_resources() -> None:
    import json

    from moto.glue.responses import GlueResponse

    def _determine_resource(self: Any) -> str:
        try:
            params = json.loads(self.body or "{}")
        except ValueError:
            params = {}
        return _glue_resource(self.region, self.current_account, params if isinstance(params, dict) else {})

    GlueResponse._determine_resource = _determine_resource  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    from moto import server

    from tests.support.moto_iam import _patch_delete_objects, _patch_sqs_batch_actions
    from tests.support.moto_lambda import _patch_logging_config

    _patch_logging_config()
    _patch_athena_tags()
    _patch_athena_named_queries()
    _patch_s3_eventbridge()
    _patch_glue_tags()
    _patch_glue_resources()
    _patch_delete_objects()
    _patch_sqs_batch_actions()
    server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
