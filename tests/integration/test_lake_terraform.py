"""terraform/modules/lake applied to moto, and the lake function's work under exactly its role's policies with IAM
enforced (as tests/integration/terraform_least_privilege.py does for the other three functions).

1. The module is applied to a moto server (tests/support/moto_lake.py: moto's Athena fails the workgroup's
   ListTagsForResource, corrected there) beside a bucket; a second plan is empty. The workgroup enforces an
   encrypted result location and a scan cutoff; the named queries are the package's SQL files.
2. The role's policies (the module's inline ones) are read back from IAM; a second moto server enforces IAM
   (tests/support/moto_lake.py: moto_iam's corrections, and Glue checked against its ARNs): an administrator
   creates the same bucket and Glue database, a user holding exactly the role's policies, and one holding the
   analyst policy.
3. The lake handler runs under the function user's keys on S3 notifications for bls/pr/: silver and gold land
   under lake/ and in Glue; the function user cannot write bls/ or _locks/; the analyst reads the tables and
   Glue, and cannot write bls/, touch _locks/ or change the catalog. moto does not check Conditions (the
   analyst's s3:prefix) nor execute Athena SQL (DuckDB runs it in the unit tests).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

pytest.importorskip("pyiceberg")

from dataquest.app import App
from dataquest.config import Settings
from dataquest.handlers import lake as lake_handler
from dataquest.lake.catalog import bucket_lake
from dataquest.lake.gold import NAMED_QUERIES, named_query
from dataquest.lake.query import run_query
from tests.support.aws import client, moto_process
from tests.support.lake_survey import POPULATION, write_survey
from tests.support.terraform import ROOT, TERRAFORM_DIR, init_offline, require_terraform, run_terraform

pytestmark = [pytest.mark.integration, pytest.mark.terraform]

BUCKET = "dataquest-lake-test"
NAME = "dataquest-test-lake"
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/dataquest/report@sha256:{'2' * 64}"
SERVICES = ["athena", "cloudwatch", "events", "glue", "iam", "lambda", "logs", "s3", "sqs", "sts"]
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
CUTOFF = 10 << 30


def root_config(endpoint: str) -> str:
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in SERVICES)
    return f"""
provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}

resource "aws_s3_bucket" "data" {{
  bucket        = "{BUCKET}"
  force_destroy = true
}}

module "lake" {{
  source                         = "../modules/lake"
  name                           = "{NAME}"
  bucket_name                    = aws_s3_bucket.data.bucket
  bucket_arn                     = aws_s3_bucket.data.arn
  image_uri                      = "{IMAGE}"
  bytes_scanned_cutoff_per_query = {CUTOFF}
  environment_variables          = {{ DQ_BUCKET = aws_s3_bucket.data.bucket }}
}}

output "lake" {{
  value = module.lake
}}
"""


@dataclass
class Applied:
    endpoint: str
    outputs: dict[str, Any]
    role_policies: dict[str, dict[str, Any]]
    analyst_policy: dict[str, Any]
    directory: Path


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Applied]:
    require_terraform()
    tmp = tmp_path_factory.mktemp("lake-tf")
    tree = tmp / "terraform"
    shutil.copytree(TERRAFORM_DIR / "modules", tree / "modules")
    sql = ROOT / "src" / "dataquest" / "lake" / "sql"
    shutil.copytree(sql, tmp / sql.relative_to(ROOT))  # the module reads ../../../src/dataquest/lake/sql
    layout = ROOT / "src" / "dataquest" / "layout.json"
    shutil.copy2(layout, tmp / layout.relative_to(ROOT))  # and the S3 layout beside it
    with moto_process(module="tests.support.moto_lake") as endpoint:
        root = tree / "root"
        root.mkdir()
        (root / "main.tf").write_text(root_config(endpoint))
        init_offline(root)
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        os.environ.update({k: os.environ.get(k, v) for k, v in env.items()})
        done = run_terraform(root, "apply", "-auto-approve", "-no-color")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        outputs = json.loads(run_terraform(root, "output", "-json").stdout)["lake"]["value"]
        iam = client("iam", endpoint)
        role = outputs["role_name"]
        policies = {
            n: iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]
            for n in iam.list_role_policies(RoleName=role)["PolicyNames"]
        }
        arn = outputs["analyst_policy_arn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        analyst = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        yield Applied(endpoint, outputs, policies, analyst, root)


def test_the_module_applies_and_a_second_plan_is_empty(applied: Applied) -> None:
    done = run_terraform(applied.directory, "plan", "-detailed-exitcode", "-no-color")
    assert done.returncode == 0, done.stdout[-3000:]
    athena = client("athena", applied.endpoint)
    group = athena.get_work_group(WorkGroup=NAME)["WorkGroup"]["Configuration"]
    assert group["EnforceWorkGroupConfiguration"] is True
    assert group["BytesScannedCutoffPerQuery"] == CUTOFF
    results = group["ResultConfiguration"]
    assert results["OutputLocation"] == f"s3://{BUCKET}/athena-results/"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"
    ids = applied.outputs["named_query_ids"].values()
    queries = {q["Name"]: q for q in (athena.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids)}
    assert {f"dataquest-{n.replace('_', '-')}" for n in NAMED_QUERIES} == set(queries)
    for name in NAMED_QUERIES:
        query = queries[f"dataquest-{name.replace('_', '-')}"]
        assert query["QueryString"] == named_query(name)
        assert query["Database"] == "dataquest"
    rule = client("events", applied.endpoint).describe_rule(Name=NAME)
    assert rule["Arn"] == applied.outputs["event_rule_arn"]
    assert json.loads(rule["EventPattern"])["detail"]["object"]["key"][0] == {"prefix": "bls/"}
    assert client("glue", applied.endpoint).get_database(Name="dataquest")["Database"]["Name"] == "dataquest"


@dataclass
class Keys:
    key_id: str
    secret: str

    def client(self, service: str, endpoint: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )


def user(iam: Any, name: str, policies: dict[str, Any]) -> Keys:
    iam.create_user(UserName=name)
    for policy, document in policies.items():
        iam.put_user_policy(UserName=name, PolicyName=policy, PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


def denied(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as exc:  # moto's Glue answers a JSON API's refusal in XML: botocore sees only the 403
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return exc.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"} or status == 403
    return False


def test_the_lake_function_works_under_its_own_policy_with_iam_enforced(
    applied: Applied, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with moto_process(module="tests.support.moto_lake", env={"INITIAL_NO_AUTH_ACTION_COUNT": "3"}) as endpoint:
        iam = client("iam", endpoint)
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        admin = Keys(key["AccessKeyId"], key["SecretAccessKey"])
        with pytest.raises(ClientError, match="InvalidAccessKeyId"):
            client("s3", endpoint).list_buckets()
        iam, s3 = admin.client("iam", endpoint), admin.client("s3", endpoint)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        admin.client("glue", endpoint).create_database(DatabaseInput={"Name": "dataquest"})
        for path in write_survey(tmp_path / "pr").iterdir():
            s3.put_object(Bucket=BUCKET, Key=f"bls/pr/{path.name}", Body=path.read_bytes())
        s3.put_object(Bucket=BUCKET, Key="population/nation_population.json", Body=json.dumps(POPULATION).encode())
        function = user(iam, applied.outputs["role_name"], applied.role_policies)
        analyst = user(iam, "analyst", {"analyst": applied.analyst_policy})

        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        for var, value in {
            "AWS_ACCESS_KEY_ID": function.key_id,
            "AWS_SECRET_ACCESS_KEY": function.secret,
            "AWS_ENDPOINT_URL": endpoint,
            "DQ_BUCKET": BUCKET,
            "DQ_LAKE_DATABASE": "dataquest",
        }.items():
            monkeypatch.setenv(var, value)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        body = {
            "Records": [
                {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": BUCKET}, "object": {"key": k}}}
                for k in ("bls/pr/pr.data.0.Current", "population/nation_population.json")
            ]
        }
        app = App(Settings.from_env(), s3=function.client("s3", endpoint))
        lake = bucket_lake(BUCKET)
        result = lake_handler.handler({"Records": [{"messageId": "m1", "body": json.dumps(body)}]}, None, app, lake)
        assert result == {"batchItemFailures": []}
        best = run_query(lake, "SELECT series_id, year, value FROM best_years WHERE periods = 'quarters' ORDER BY 1")
        assert best.rows[0] == {"series_id": "PRS30006011", "year": 2013, "value": 3.8}
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert any(k.startswith("lake/observations/") for k in keys)

        own_s3 = function.client("s3", endpoint)
        assert denied(own_s3.put_object, Bucket=BUCKET, Key="bls/pr/pr.data.0.Current", Body=b"x")
        assert denied(own_s3.put_object, Bucket=BUCKET, Key="_locks/bls-sync", Body=b"x")
        assert denied(function.client("glue", endpoint).delete_database, Name="dataquest")

        reader = analyst.client("s3", endpoint)
        table_key = next(k for k in keys if k.startswith("lake/best_years/metadata/"))
        assert reader.get_object(Bucket=BUCKET, Key=table_key)["Body"].read()
        assert denied(reader.put_object, Bucket=BUCKET, Key="bls/pr/pr.series", Body=b"x")
        assert denied(reader.get_object, Bucket=BUCKET, Key="bls/pr/pr.series")
        assert denied(reader.put_object, Bucket=BUCKET, Key="_locks/bls-sync", Body=b"x")
        glue = analyst.client("glue", endpoint)
        assert {t["Name"] for t in glue.get_tables(DatabaseName="dataquest")["TableList"]} >= {"observations"}
        assert denied(glue.delete_table, DatabaseName="dataquest", Name="observations")
