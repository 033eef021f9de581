"""Static checks of terraform/: the house style and the promises the environments make, read from the files."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = sorted(p for p in (TERRAFORM / "modules").iterdir() if p.is_dir())
ENVS = sorted(p for p in (TERRAFORM / "envs").iterdir() if p.is_dir())
TRIGGER_KEYS = ["population/nation_population.json", "bls/pr/pr.data.0.Current"]


def _blocks(text: str, kind: str) -> dict[str, str]:
    """Top-level `kind "name" { ... }` blocks by name (brace matching; strings in these files hold no braces)."""
    found: dict[str, str] = {}
    for match in re.finditer(rf'^{kind} "([^"]+)" \{{', text, flags=re.MULTILINE):
        depth, i = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        found[match.group(1)] = text[match.end() : i - 1]
    return found


def _tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


def test_blocks_parser_reads_nested_braces() -> None:
    text = (
        'variable "a" {\n  type = object({ b = string })\n  validation {\n    condition = true\n  }\n}\n'
        'variable "c" {\n}\n'
    )
    assert set(_blocks(text, "variable")) == {"a", "c"}
    assert "validation" in _blocks(text, "variable")["a"]
    assert _blocks(text, "variable")["c"].strip() == ""


def _arguments(body: str) -> dict[str, str]:
    """The top-level `name = expression` lines of a block's body (nested blocks and objects are indented deeper)."""
    return dict(re.findall(r"^  ([a-z_]+)\s+= (.+)$", body, flags=re.MULTILINE))


def test_arguments_parser_reads_only_the_top_level_of_a_module_call() -> None:
    text = 'module "m" {\n  source = "../x"\n\n  a    = var.a\n  bb = {\n    c = 1\n  }\n}\n'
    assert _arguments(_blocks(text, "module")["m"]) == {"source": '"../x"', "a": "var.a", "bb": "{"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_module_has_the_house_layout_and_a_main_resource_named_this(module: Path) -> None:
    assert sorted(p.name for p in module.iterdir() if p.is_file()) == [
        "README.md",
        "main.tf",
        "outputs.tf",
        "variables.tf",
        "versions.tf",
    ]
    main = (module / "main.tf").read_text()
    if module.name == "pipeline":  # the composition: the other modules wired together, no resource of its own
        assert not re.search(r"^resource ", main, flags=re.MULTILINE)
        sources = sorted(_arguments(body)["source"] for body in _blocks(main, "module").values())
        # ingest, transfer and report functions; the report and transfer queues; the bucket's one notification.
        modules = ["alarms", "bucket", "dashboard", "lambda_image", "lambda_image", "lambda_image", "notifications"]
        modules += ["private_network", "queue", "queue", "schedule"]
        assert sources == [f'"../{name}"' for name in modules]
    else:
        assert re.search(r'^resource "[a-z0-9_]+" "this" \{', main, flags=re.MULTILINE)
    versions = (module / "versions.tf").read_text()
    # Modules set a range, environments pin: logging_config needs 5.32; 6.x is a major version nobody has tested.
    assert 'version = ">= 5.32, < 6"' in versions
    # A floor: 1.5, or 1.9 where a variable's validation reads a local (the pipeline's bls_surveys, from the layout).
    assert re.search(r'required_version = ">= 1\.(5|9)"', versions)


@pytest.mark.parametrize("path", _tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_variable_is_described_and_typed_and_every_output_described(path: Path) -> None:
    text = path.read_text()
    for name, body in _blocks(text, "variable").items():
        assert re.search(r"^\s+description\s+=", body, flags=re.MULTILINE), f"variable {name} has no description"
        type_ = re.search(r"^\s+type\s+=\s+(.+)$", body, flags=re.MULTILINE)
        assert type_, f"variable {name} has no type"
        assert "any" not in type_.group(1), f"variable {name} is typed `any`"
    for name, body in _blocks(text, "output").items():
        assert re.search(r"^\s+description\s+=", body, flags=re.MULTILINE), f"output {name} has no description"
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", name), f"output {name} is not <thing>_<attr>"


def test_no_create_toggles_and_no_override_files_in_the_repository() -> None:
    for path in _tf_files():
        assert not re.search(r'variable "create_', path.read_text()), path
        assert not path.name.endswith("override.tf"), f"{path}: override files belong to the tests' temp copies"


AWS = TERRAFORM / "envs" / "aws"


def test_dev_and_prod_are_one_root_calling_the_pipeline_module_once_and_the_lake_beside_it() -> None:
    main = (AWS / "main.tf").read_text()
    assert not re.search(r"^(resource|data|locals) ", main, flags=re.MULTILINE), "resources belong in modules/"
    calls = _blocks(main, "module")
    assert list(calls) == ["pipeline", "lake"]
    arguments = _arguments(calls["pipeline"])
    assert arguments["source"] == '"../../modules/pipeline"'
    assert "Environment = var.environment" in (AWS / "versions.tf").read_text()

    # Every variable reaches the pipeline under its own name (aws_region configures the provider; lake_image_uri is
    # the lake's); none is unused.
    variables = set(_blocks((AWS / "variables.tf").read_text(), "variable")) - {"aws_region", "lake_image_uri"}
    assert {name for name, value in arguments.items() if value.startswith("var.")} == variables
    assert all(arguments[name] == f"var.{name}" for name in variables)
    # The lake is wired to the pipeline's bucket and alarm topic, nothing of its own.
    lake = _arguments(calls["lake"])
    assert lake["source"] == '"../../modules/lake"'
    assert (lake["bucket_name"], lake["bucket_arn"]) == ("module.pipeline.bucket_name", "module.pipeline.bucket_arn")
    assert lake["alarm_topic_arns"] == "[module.pipeline.alarm_topic_arn]"
    assert lake["image_uri"] == "coalesce(var.lake_image_uri, var.report_image_uri)"

    # Every output of the pipeline is passed through unchanged, then the lake's.
    module_outputs = _blocks((TERRAFORM / "modules" / "pipeline" / "outputs.tf").read_text(), "output")
    outputs = _blocks((AWS / "outputs.tf").read_text(), "output")
    assert list(outputs)[: len(module_outputs)] == list(module_outputs)
    for name, body in outputs.items():
        value = _arguments(body)["value"]
        if name in module_outputs:
            assert value == f"module.pipeline.{name}"
        else:
            assert name.startswith("lake_"), name
            assert value in (f"module.lake.{name.removeprefix('lake_')}", lake["image_uri"]), name


def _tfvars(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z_]+)\s+= (.+)$", path.read_text(), flags=re.MULTILINE))


def test_dev_and_prod_set_the_same_variables_each_its_own_values_and_state() -> None:
    dev, prod = _tfvars(AWS / "dev.tfvars"), _tfvars(AWS / "prod.tfvars")
    assert list(dev) == list(prod), "dev.tfvars and prod.tfvars set different variables"
    assert (dev["environment"], prod["environment"]) == ('"dev"', '"prod"')
    # What the environment files set is declared by the root and has no default there but what they may override.
    variables = _blocks((AWS / "variables.tf").read_text(), "variable")
    assert set(dev) <= set(variables)
    # The backend settings: one state file each, one S3 key each; otherwise equal.
    for kind in ["local.tfbackend", "s3.tfbackend.example"]:
        texts = [(AWS / f"{env}.{kind}").read_text() for env in ("dev", "prod")]
        assert texts[0].replace("dev", "prod") == texts[1], kind
        assert texts[0] != texts[1]
    assert 'backend "local" {}' in (AWS / "versions.tf").read_text()
    # No file Terraform would load on its own for both environments is committed.
    assert not [p.name for p in AWS.iterdir() if p.name.startswith("terraform.tfvars") or ".auto.tfvars" in p.name]


def test_prod_requires_an_alarm_email_and_runs_hours_after_dev() -> None:
    dev, prod = _tfvars(AWS / "dev.tfvars"), _tfvars(AWS / "prod.tfvars")
    assert prod["alarm_email_required"] == "true"
    hours = [
        int(re.fullmatch(r'"cron\(0 (\d+) \* \* \? \*\)"', env["schedule_expression"]).group(1)) for env in (dev, prod)
    ]  # type: ignore[union-attr]
    # Each run's planner paces itself at 1 request/s for the whole deployment; two deployments starting together
    # would double the rate BLS sees. Three hours apart: a whole run (planner and transfers) fits between them.
    assert abs(hours[0] - hours[1]) >= 3


def test_the_pipeline_module_validates_what_the_environments_pass() -> None:
    variables = _blocks((TERRAFORM / "modules" / "pipeline" / "variables.tf").read_text(), "variable")
    for name in ["environment", "ingest_image_uri", "report_image_uri", "contact_email"]:
        assert "default" not in variables[name], f"{name} must be required"
        assert "validation" in variables[name], f"{name} is not validated"
    for name in ["ingest_image_uri", "report_image_uri"]:
        assert "@sha256:" in variables[name]


@pytest.mark.parametrize("path", ["modules/pipeline/main.tf", "envs/local/main.tf"])
def test_every_environment_notifies_on_the_same_report_inputs(path: str) -> None:
    text = (TERRAFORM / path).read_text()
    match = re.search(r"report_trigger_keys = \[(.*?)\]", text, flags=re.DOTALL)
    assert match, f"{path} defines no report_trigger_keys"
    # Both read the keys from the layout file (test_terraform_layout.py holds its values), in this order.
    inputs = re.findall(r"local\.layout\.report_inputs\.(\w+)", match.group(1))
    layout = json.loads((ROOT / "src" / "dataquest" / "layout.json").read_text())["report_inputs"]
    assert [layout[name] for name in inputs] == TRIGGER_KEYS
    # Through the one notifications module, after the bucket's settings and the queue's policy.
    notifications = _arguments(_blocks(text, "module")["notifications"])
    assert notifications["bucket_name"] == "module.bucket.configured_bucket_name"
    assert "for key in local.report_trigger_keys" in _blocks(text, "module")["notifications"]
    assert "module.report_queue.notification_queue_arn" in _blocks(text, "module")["notifications"]


def test_only_the_notifications_module_writes_a_bucket_notification() -> None:
    """A bucket has one notification configuration: a second aws_s3_bucket_notification would overwrite it."""
    writers = [p for p in _tf_files() if 'resource "aws_s3_bucket_notification"' in p.read_text()]
    assert writers == [TERRAFORM / "modules" / "notifications" / "main.tf"]


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_environment_pins_the_provider_and_commits_its_lock(env: Path) -> None:
    assert re.search(r'version\s+=\s+"~> 5\.100"', (env / "versions.tf").read_text())
    lock = (env / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock
    assert re.search(r'"h1:[A-Za-z0-9+/=]{44}"', lock), "the lock records the provider's hash"


def test_image_uris_by_digest_and_the_contact_are_required() -> None:
    variables = _blocks((AWS / "variables.tf").read_text(), "variable")
    for name in ["ingest_image_uri", "report_image_uri", "contact_email", "environment", "schedule_expression"]:
        assert "default" not in variables[name], f"{name} must be required"
    for name in ["ingest_image_uri", "report_image_uri"]:
        assert "@sha256:" in variables[name], f"{name}'s description shows the digest form"


def test_local_env_needs_only_the_endpoint_variable() -> None:
    variables = _blocks((TERRAFORM / "envs" / "local" / "variables.tf").read_text(), "variable")
    assert list(variables) == ["aws_endpoint_url"]
    assert 'default     = "http://localhost:4566"' in variables["aws_endpoint_url"]
    outputs = _blocks((TERRAFORM / "envs" / "local" / "outputs.tf").read_text(), "output")
    assert {"bucket_name", "report_queue_url", "transfer_queue_url"} <= set(outputs)


def _version_floor(text: str) -> tuple[int, ...]:
    match = re.search(r'required_version\s+=\s+">=\s*([0-9.]+)"', text)
    assert match, "no required_version floor"
    return tuple(int(part) for part in match.group(1).split("."))


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_backend_example_works_with_the_terraform_the_environment_requires(env: Path) -> None:
    floor = _version_floor((env / "versions.tf").read_text())
    examples = sorted(env.glob("*backend*.example"))
    if not examples:
        assert env.name == "local", f"envs/{env.name} has no backend example"
    for example in examples:
        if re.search(r"^\s*use_lockfile\s+=\s+true", example.read_text(), flags=re.MULTILINE):
            # S3-native locking: experimental in 1.10, stable in 1.11.
            assert floor >= (1, 11), (
                f"envs/{env.name}: use_lockfile needs Terraform >= 1.11, versions.tf allows {floor}"
            )


def test_bucket_settings_are_written_one_after_the_other() -> None:
    """S3 answers 409 OperationAborted to concurrent configuration writes on one bucket: each setting waits for the
    one before (a plan cannot show this; only the configuration can)."""
    text = (TERRAFORM / "modules" / "bucket" / "main.tf").read_text()
    # `resource "<type>" "this" {`: _blocks reads one label, so the type's block is read from its own header on.
    resources = {
        kind: _blocks(
            text[text.index(f'resource "{kind}" "this"') :].replace(f'"{kind}" "this"', f'"{kind}"', 1), "resource"
        )[kind]
        for kind in re.findall(r'^resource "([a-z0-9_]+)" "this"', text, flags=re.MULTILINE)
    }
    chain = [
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
    ]
    bodies = {kind: resources[kind] for kind in chain if kind in resources}
    assert list(bodies) == chain, "every bucket setting is a resource named this"
    for before, after in itertools.pairwise(chain):
        assert re.search(rf"depends_on\s+=\s+\[{before}\.this\]", bodies[after]), f"{after} must wait for {before}"
