from __future__ import annotations

from tests.support.aws import client


def test_moto_server_round_trip(moto_endpoint: str) -> None:
    s3 = client("s3", moto_endpoint)
    s3.create_bucket(Bucket="support-check")
    s3.put_object(Bucket="support-check", Key="k", Body=b"abc")
    assert s3.get_object(Bucket="support-check", Key="k")["Body"].read() == b"abc"
