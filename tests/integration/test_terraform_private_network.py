"""The private-networking option applied: dev (``envs/aws``) with ``private_network`` set, on a moto server holding a
VPC, two private subnets and their route table (made with boto3, as the user's network would be). Checked with
boto3: every function (the lake's too) in the subnets behind the functions' security group, the S3 gateway endpoint
on the route table, the SQS and Glue interface endpoints with private DNS; then destroyed. terraform_apply/ applies
dev without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import client, moto_process
from tests.support.terraform import DEV_VARS, REGION, copy_env, init, require_success, require_terraform, run_all

pytestmark = [pytest.mark.integration, pytest.mark.terraform]


def user_network(endpoint: str) -> dict[str, Any]:
    ec2 = client("ec2", endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]
        for i, zone in enumerate("ab", start=1)
    ]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet["SubnetId"])
    return {"vpc_id": vpc, "subnet_ids": [s["SubnetId"] for s in subnets], "route_table_ids": [table]}


def test_dev_with_private_network_applies_with_its_endpoints(tmp_path: Path) -> None:
    require_terraform()
    if not os.environ.get("DQ_TF_PLUGIN_DIR"):
        pytest.skip("DQ_TF_PLUGIN_DIR is unset: this apply inits from a provider mirror (no registry here)")
    # moto_lake: moto_lambda's corrections and the Athena workgroup's tags (dev deploys the lake too).
    with moto_process(module="tests.support.moto_lake", env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}) as endpoint:
        network = user_network(endpoint)
        dev = copy_env(tmp_path, "dev", endpoint, [*DEV_VARS, f"-var=private_network={json.dumps(network)}"], True)
        init(dev)
        require_success(run_all([dev], "apply", "-auto-approve", "-input=false"), "apply")
        try:
            lam, ec2, iam = (client(s, endpoint) for s in ("lambda", "ec2", "iam"))
            groups = ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["dataquest-dev-functions"]}]
            )
            [group] = groups["SecurityGroups"]
            for fn in ("ingest", "transfer", "report", "lake"):
                config = lam.get_function(FunctionName=f"dataquest-dev-{fn}")["Configuration"]["VpcConfig"]
                assert sorted(config["SubnetIds"]) == sorted(network["subnet_ids"]), fn
                assert config["SecurityGroupIds"] == [group["GroupId"]], fn
                attached = iam.list_attached_role_policies(RoleName=f"dataquest-dev-{fn}-{REGION}")["AttachedPolicies"]
                assert [p["PolicyName"] for p in attached] == ["AWSLambdaVPCAccessExecutionRole"], fn
            assert dev.outputs()["vpc_config"] == {
                "subnet_ids": network["subnet_ids"],
                "security_group_ids": [group["GroupId"]],
            }
            endpoints = {e["ServiceName"]: e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]}
            # The lake function's catalog is Glue; no function calls Athena, so it has no endpoint.
            assert set(endpoints) == {f"com.amazonaws.{REGION}.{name}" for name in ("s3", "sqs", "glue")}
            s3 = endpoints[f"com.amazonaws.{REGION}.s3"]
            assert (s3["VpcEndpointType"], s3["RouteTableIds"]) == ("Gateway", network["route_table_ids"])
            for name in ("sqs", "glue"):
                interface = endpoints[f"com.amazonaws.{REGION}.{name}"]
                assert (interface["VpcEndpointType"], interface["PrivateDnsEnabled"]) == ("Interface", True), name
                assert sorted(interface["SubnetIds"]) == sorted(network["subnet_ids"]), name
        finally:
            require_success(run_all([dev], "destroy", "-auto-approve", "-input=false"), "destroy")
        assert client("lambda", endpoint).list_functions()["Functions"] == []
        endpoints_left = client("ec2", endpoint).describe_vpc_endpoints()["VpcEndpoints"]
        assert {e["State"].lower() for e in endpoints_left} <= {"deleted"}  # EC2 lists deleted endpoints a while
