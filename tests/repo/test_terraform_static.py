"""Static checks of terraform/: the house style and the promises the environments make, read from the files.

The files are read with python-hcl2 (a full HCL2 grammar), not regexes: a regex reading `name = value` lines or
matching braces misreads nested blocks, heredocs and strings that hold braces. python-hcl2's shapes, with the
options below: a file is a dict of block kinds, each a list of one-entry dicts keyed by label (a resource's by type,
then name); a nested block is a list of dicts; a string literal is its text; any other expression is kept as
``"${...}"`` text (``"${var.environment}"``), a bool or number as itself.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
ENVS = sorted(p for p in (TERRAFORM / "envs").iterdir() if p.is_dir())
TRIGGER_KEYS = ["population/nation_population.json", "bls/pr/pr.data.0.Current"]
HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def _hcl(text: str) -> dict[str, Any]:
    document: dict[str, Any] = hcl2.loads(text, serialization_options=HCL)
    return document


def _load(path: Path) -> dict[str, Any]:
    return _hcl(path.read_text())


def _blocks(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The top-level `kind "label" { ... }` blocks (variable, output, module) by label, in the file's order."""
    return {label: body for entry in document.get(kind, []) for label, body in entry.items()}


def _resources(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The `resource "type" "name" { ... }` blocks by (type, name), in the file's order."""
    return {
        (kind, name): body
        for entry in document.get("resource", [])
        for kind, named in entry.items()
        for name, body in named.items()
    }


def _tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


def _versions(path: Path) -> dict[str, Any]:
    """The `terraform { ... }` block of a versions.tf."""
    [block] = _load(path)["terraform"]
    settings: dict[str, Any] = block
    return settings


def _aws_provider_range(path: Path) -> str:
    [providers] = _versions(path)["required_providers"]
    return str(providers["aws"]["version"])


def test_the_reader_keeps_nested_blocks_heredocs_and_braces_in_strings() -> None:
    """What the regex reader this replaced got wrong: a heredoc or a string holding braces, a nested block."""
    text = (
        'variable "a" {\n  type = object({ b = string })\n  description = "a { brace"\n'
        "  validation {\n    condition = true\n    error_message = <<-EOT\n      }\n    EOT\n  }\n}\n"
        'variable "c" {\n}\nresource "t" "this" {\n  depends_on = [t.other]\n}\n'
    )
    document = _hcl(text)
    assert list(_blocks(document, "variable")) == ["a", "c"]
    a = _blocks(document, "variable")["a"]
    assert (a["type"], a["description"], a["validation"][0]["condition"]) == (
        "${object({b = string})}",
        "a { brace",
        True,
    )
    assert _blocks(document, "variable")["c"] == {}
    assert _resources(document) == {("t", "this"): {"depends_on": ["${t.other}"]}}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_has_the_house_layout_and_a_main_resource_named_this(module: Path) -> None:
    assert sorted(p.name for p in module.iterdir() if p.is_file()) == [
        "README.md",
        "main.tf",
        "outputs.tf",
        "variables.tf",
        "versions.tf",
    ]
    main = _load(module / "main.tf")
    if module.name == "pipeline":  # the composition: the other modules wired together, no resource of its own
        assert "resource" not in main
        sources = sorted(call["source"] for call in _blocks(main, "module").values())
        # ingest, transfer and report functions; the report and transfer queues; the bucket's one notification.
        modules = ["alarms", "bucket", "dashboard", "lambda_image", "lambda_image", "lambda_image", "notifications"]
        modules += ["private_network", "queue", "queue", "schedule"]
        assert sources == [f"../{name}" for name in modules]
    else:
        assert any(name == "this" for _, name in _resources(main)), f"modules/{module.name}: no resource named this"
    # Modules set a range, environments pin: logging_config needs 5.32; 6.x is a major version nobody has tested.
    assert _aws_provider_range(module / "versions.tf") == ">= 5.32, < 6"
    # A floor: 1.5, or 1.9 where a variable's validation reads a local (the pipeline's bls_surveys, from the layout).
    assert _versions(module / "versions.tf")["required_version"] in (">= 1.5", ">= 1.9")


@pytest.mark.parametrize("path", _tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_variable_is_described_and_typed_and_every_output_described(path: Path) -> None:
    document = _load(path)
    for name, variable in _blocks(document, "variable").items():
        assert "description" in variable, f"variable {name} has no description"
        assert "type" in variable, f"variable {name} has no type"
        assert not re.search(r"\bany\b", variable["type"]), f"variable {name} is typed `any`"
    for name, output in _blocks(document, "output").items():
        assert "description" in output, f"output {name} has no description"
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", name), f"output {name} is not <thing>_<attr>"


def test_no_create_toggles_and_no_override_files_in_the_repository() -> None:
    for path in _tf_files():
        assert not [name for name in _blocks(_load(path), "variable") if name.startswith("create_")], path
        assert not path.name.endswith("override.tf"), f"{path}: override files belong to the tests' temp copies"


AWS = TERRAFORM / "envs" / "aws"


def test_dev_and_prod_are_one_root_calling_the_pipeline_module_once_and_the_lake_beside_it() -> None:
    main = _load(AWS / "main.tf")
    assert not {"resource", "data", "locals"} & set(main), "resources belong in modules/"
    calls = _blocks(main, "module")
    assert list(calls) == ["pipeline", "lake"]
    arguments = calls["pipeline"]
    assert arguments["source"] == "../../modules/pipeline"
    [provider] = _load(AWS / "versions.tf")["provider"]
    assert provider["aws"]["default_tags"][0]["tags"]["Environment"] == "${var.environment}"

    # Every variable reaches the pipeline under its own name (aws_region configures the provider; lake_image_uri is
    # the lake's); none is unused.
    variables = set(_blocks(_load(AWS / "variables.tf"), "variable")) - {"aws_region", "lake_image_uri"}
    passed = {name for name, value in arguments.items() if isinstance(value, str) and value.startswith("${var.")}
    assert passed == variables
    assert all(arguments[name] == f"${{var.{name}}}" for name in variables)
    # The lake is wired to the pipeline's bucket, nothing of its own; the pipeline alarms on it and shows it.
    lake = calls["lake"]
    assert lake["source"] == "../../modules/lake"
    assert (lake["bucket_name"], lake["bucket_arn"]) == (
        "${module.pipeline.bucket_name}",
        "${module.pipeline.bucket_arn}",
    )
    assert "alarm_topic_arns" not in lake
    assert arguments["lake"] == "${module.lake.monitoring_targets}"
    assert lake["image_uri"] == "${coalesce(var.lake_image_uri, var.report_image_uri)}"

    # Every output of the pipeline is passed through unchanged, then the lake's.
    module_outputs = _blocks(_load(TERRAFORM / "modules" / "pipeline" / "outputs.tf"), "output")
    outputs = _blocks(_load(AWS / "outputs.tf"), "output")
    assert list(outputs)[: len(module_outputs)] == list(module_outputs)
    for name, output in outputs.items():
        if name in module_outputs:
            assert output["value"] == f"${{module.pipeline.{name}}}"
        else:
            assert name.startswith("lake_"), name
            assert output["value"] in (f"${{module.lake.{name.removeprefix('lake_')}}}", lake["image_uri"]), name


def test_dev_and_prod_set_the_same_variables_each_its_own_values_and_state() -> None:
    dev, prod = _load(AWS / "dev.tfvars"), _load(AWS / "prod.tfvars")
    assert list(dev) == list(prod), "dev.tfvars and prod.tfvars set different variables"
    assert (dev["environment"], prod["environment"]) == ("dev", "prod")
    # What the environment files set is declared by the root and has no default there but what they may override.
    variables = _blocks(_load(AWS / "variables.tf"), "variable")
    assert set(dev) <= set(variables)
    # The backend settings: one state file each, one S3 key each; otherwise equal.
    for kind in ["local.tfbackend", "s3.tfbackend.example"]:
        texts = [(AWS / f"{env}.{kind}").read_text() for env in ("dev", "prod")]
        assert texts[0].replace("dev", "prod") == texts[1], kind
        assert texts[0] != texts[1]
    assert _versions(AWS / "versions.tf")["backend"] == [{"local": {}}]
    # No file Terraform would load on its own for both environments is committed.
    assert not [p.name for p in AWS.iterdir() if p.name.startswith("terraform.tfvars") or ".auto.tfvars" in p.name]


def test_prod_requires_an_alarm_email_and_runs_hours_after_dev() -> None:
    dev, prod = _load(AWS / "dev.tfvars"), _load(AWS / "prod.tfvars")
    assert prod["alarm_email_required"] is True
    hours = [
        int(re.fullmatch(r"cron\(0 (\d+) \* \* \? \*\)", env["schedule_expression"]).group(1)) for env in (dev, prod)
    ]  # type: ignore[union-attr]
    # Each run's planner paces itself at 1 request/s for the whole deployment; two deployments starting together
    # would double the rate BLS sees. Three hours apart: a whole run (planner and transfers) fits between them.
    assert abs(hours[0] - hours[1]) >= 3


def test_the_pipeline_module_validates_what_the_environments_pass() -> None:
    variables = _blocks(_load(TERRAFORM / "modules" / "pipeline" / "variables.tf"), "variable")
    for name in ["environment", "ingest_image_uri", "report_image_uri", "contact_email"]:
        assert "default" not in variables[name], f"{name} must be required"
        assert variables[name].get("validation"), f"{name} is not validated"
    for name in ["ingest_image_uri", "report_image_uri"]:
        assert "@sha256:" in variables[name]["description"]


@pytest.mark.parametrize("path", ["modules/pipeline/main.tf", "envs/local/main.tf"])
def test_every_environment_notifies_on_the_same_report_inputs(path: str) -> None:
    document = _load(TERRAFORM / path)
    [locals_] = document["locals"]
    assert "report_trigger_keys" in locals_, f"{path} defines no report_trigger_keys"
    # Both read the keys from the layout file (test_terraform_layout.py holds its values), in this order.
    inputs = [re.fullmatch(r"\$\{local\.layout\.report_inputs\.(\w+)\}", key) for key in locals_["report_trigger_keys"]]
    layout = json.loads((ROOT / "src" / "dataquest" / "layout.json").read_text())["report_inputs"]
    assert [layout[match.group(1)] for match in inputs if match] == TRIGGER_KEYS
    # Through the one notifications module, after the bucket's settings and the queue's policy.
    notifications = _blocks(document, "module")["notifications"]
    assert notifications["bucket_name"] == "${module.bucket.configured_bucket_name}"
    assert "for key in local.report_trigger_keys" in notifications["queues"]
    assert "module.report_queue.notification_queue_arn" in notifications["queues"]


def test_only_the_notifications_module_writes_a_bucket_notification() -> None:
    """A bucket has one notification configuration: a second aws_s3_bucket_notification would overwrite it."""
    writers = [p for p in _tf_files() if any(kind == "aws_s3_bucket_notification" for kind, _ in _resources(_load(p)))]
    assert writers == [TERRAFORM / "modules" / "notifications" / "main.tf"]


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_environment_pins_the_provider_and_commits_its_lock(env: Path) -> None:
    assert _aws_provider_range(env / "versions.tf") == "~> 5.100"
    locked = _blocks(_load(env / ".terraform.lock.hcl"), "provider")
    aws = locked["registry.terraform.io/hashicorp/aws"]
    assert aws["version"] == "5.100.0"
    assert any(re.fullmatch(r"h1:[A-Za-z0-9+/=]{44}", h) for h in aws["hashes"]), "the lock records the provider's hash"


def test_image_uris_by_digest_and_the_contact_are_required() -> None:
    variables = _blocks(_load(AWS / "variables.tf"), "variable")
    for name in ["ingest_image_uri", "report_image_uri", "contact_email", "environment", "schedule_expression"]:
        assert "default" not in variables[name], f"{name} must be required"
    for name in ["ingest_image_uri", "report_image_uri"]:
        assert "@sha256:" in variables[name]["description"], f"{name}'s description shows the digest form"


def test_local_env_needs_only_the_endpoint_variable() -> None:
    variables = _blocks(_load(TERRAFORM / "envs" / "local" / "variables.tf"), "variable")
    assert list(variables) == ["aws_endpoint_url"]
    assert variables["aws_endpoint_url"]["default"] == "http://localhost:4566"
    outputs = _blocks(_load(TERRAFORM / "envs" / "local" / "outputs.tf"), "output")
    assert {"bucket_name", "report_queue_url", "transfer_queue_url"} <= set(outputs)


def _version_floor(path: Path) -> tuple[int, ...]:
    match = re.fullmatch(r">=\s*([0-9.]+)", _versions(path).get("required_version", ""))
    assert match, f"{path}: no required_version floor"
    return tuple(int(part) for part in match.group(1).split("."))


def _uses_lockfile(settings: dict[str, Any]) -> bool:
    """``use_lockfile = true`` in a backend file, or in a `terraform { backend "s3" { ... } }` example."""
    backends = [s for block in settings.get("terraform", []) for b in block.get("backend", []) for s in b.values()]
    return any(s.get("use_lockfile") is True for s in [settings, *backends])


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_backend_example_works_with_the_terraform_the_environment_requires(env: Path) -> None:
    floor = _version_floor(env / "versions.tf")
    examples = sorted(env.glob("*backend*.example"))
    if not examples:
        assert env.name == "local", f"envs/{env.name} has no backend example"
    for example in examples:
        if _uses_lockfile(_load(example)):
            # S3-native locking: experimental in 1.10, stable in 1.11.
            assert floor >= (1, 11), (
                f"envs/{env.name}: use_lockfile needs Terraform >= 1.11, versions.tf allows {floor}"
            )


def test_bucket_settings_are_written_one_after_the_other() -> None:
    """S3 answers 409 OperationAborted to concurrent configuration writes on one bucket: each setting waits for the
    one before (a plan cannot show this; only the configuration can)."""
    resources = _resources(_load(TERRAFORM / "modules" / "bucket" / "main.tf"))
    chain = [
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
    ]
    bodies = {kind: resources[kind, "this"] for kind in chain if (kind, "this") in resources}
    assert list(bodies) == chain, "every bucket setting is a resource named this"
    for before, after in itertools.pairwise(chain):
        assert bodies[after].get("depends_on") == [f"${{{before}.this}}"], f"{after} must wait for {before}"


def test_every_iam_role_and_policy_name_carries_the_region() -> None:
    # IAM names are per account: one environment in two regions must not collide on a role or a managed policy.
    named = {
        f"{path.relative_to(TERRAFORM)}: {kind}.{name}": body["name"]
        for path in _tf_files()
        for (kind, name), body in _resources(_load(path)).items()
        if kind in {"aws_iam_role", "aws_iam_policy", "aws_iam_user", "aws_iam_group"}
    }
    assert "modules/lake/main.tf: aws_iam_policy.analyst" in named
    assert {where: name for where, name in named.items() if "region" not in name} == {}
