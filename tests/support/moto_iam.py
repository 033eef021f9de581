"""A moto server that enforces IAM: ``python -m tests.support.moto_iam -H 127.0.0.1 -p PORT``.

Start it with ``INITIAL_NO_AUTH_ACTION_COUNT`` in its environment (moto reads it at import): the first N requests
go through unchecked (the bootstrap that creates an administrator user and its key), every later request must be
signed by a known access key whose user's policies allow the action on the resource.

What moto's enforcement checks (moto/iam/access_control.py, moto/core/authorization.py, moto/s3/responses.py):
the signature, the IAM action, and the Resource element against the bucket ARN (bucket operations) or
``bucket/key`` ARN (object operations) or, for SQS, the queue ARN. S3 operations map to IAM actions as AWS's do
(``ListObjectsV2`` is ``s3:ListBucket``, ``ListMultipartUploads`` is ``s3:ListBucketMultipartUploads``,
``CreateMultipartUpload``/``UploadPart``/``CompleteMultipartUpload`` are ``s3:PutObject``, ``HeadObject`` is
``s3:GetObject``, a ``versionId`` GET is ``s3:GetObjectVersion``).

What it does not check: Condition elements of identity policies (no ``s3:prefix``, ``aws:SecureTransport``...:
only the request's own parameters are ever compared), resource-based policies (the bucket and queue policies),
KMS key policies, and services whose requests carry no resource (CloudWatch Logs checks against ``*``).

One inaccuracy is corrected here, towards AWS: moto authorises ``DeleteObjects`` against the bucket's ARN, so a
role allowed ``s3:DeleteObject`` on ``bucket/prefix/*`` (as AWS wants it) would see every key refused, and one
allowed it on the bucket ARN (meaningless in AWS) would pass. AWS authorises each key of the batch as
``s3:DeleteObject`` on ``bucket/key`` and reports refused keys in ``Errors``; this server does the same.

A second one, for SQS: moto checks a batch request against an IAM action of the request's own name
(``sqs:SendMessageBatch``), which AWS does not have; AWS authorises ``SendMessageBatch`` as ``sqs:SendMessage``,
``DeleteMessageBatch`` as ``sqs:DeleteMessage`` and ``ChangeMessageVisibilityBatch`` as
``sqs:ChangeMessageVisibility``. This server does the same, so that a role granted ``sqs:SendMessage`` (the
planner's, which sends its transfers ten to a request) may send a batch, as in AWS.
"""

from __future__ import annotations

import sys
from typing import Any

import xmltodict


def _patch_delete_objects() -> None:
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import BucketAccessDeniedError, MalformedXML, S3AccessDeniedError
    from moto.s3.responses import S3Response

    def delete_keys(self: Any, bucket_name: str, authenticated: bool = True) -> Any:
        # `authenticated` is moto's verdict on the bucket ARN, which AWS does not use here: each key is checked.
        body = xmltodict.parse(self.body, strip_whitespace=False)
        objects = body["Delete"].get("Object", [])
        if not isinstance(objects, list):
            objects = [objects]
        if not objects:
            raise MalformedXML()
        bypass = self.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
        allowed, errors = [], []
        for obj in objects:
            self.data["Action"] = "DeleteObject"
            try:
                self._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=obj["Key"])
            except (BucketAccessDeniedError, S3AccessDeniedError):
                errors.append({"Key": obj["Key"], "Code": "AccessDenied", "Message": "Access Denied"})
            else:
                allowed.append(obj)
        deleted, locked = self.backend.delete_objects(bucket_name, allowed, bypass) if allowed else ([], [])
        errors += [{"Key": k, "Code": "AccessDenied", "Message": "object protected by object lock"} for k in locked]
        self.data["Action"] = "DeleteObjects"
        result = {
            "Deleted": [
                {"Key": k, "VersionId": v or None, "DeleteMarkerVersionId": d or None, "DeleteMarker": bool(d) or None}
                for k, v, d in deleted
            ],
            "Errors": errors,
        }
        return self.serialized(ActionResult(result))

    S3Response._bucket_response_delete_keys = delete_keys  # type: ignore[method-assign]


# The IAM action AWS authorises an SQS batch request by (the SQS API reference, "Permissions" of each action).
SQS_BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def _patch_sqs_batch_actions() -> None:
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = SQS_BATCH_ACTIONS.get(self._action, self._action)

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto import server

    _patch_delete_objects()
    _patch_sqs_batch_actions()
    server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
