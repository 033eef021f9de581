"""ECR promotion by digest (dataquest.ops.promote and `dataquest promote`) against moto's ECR."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from dataquest import cli
from dataquest.documents import to_document
from dataquest.ops import promote

REAL_DOWNLOAD_CONFIG = promote.download_config  # the autouse fixture below serves the blobs for moto instead

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
# The variable validation of terraform/envs/<env>/variables.tf: an image by digest, never by tag.
TF_IMAGE_URI = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def config_blob(seed: str, arch: str = "amd64") -> bytes:
    """An image config as `docker build` writes it (the part that matters here: its architecture)."""
    return json.dumps({"architecture": arch, "os": "linux", "config": {"Labels": {"seed": seed}}}).encode()


def manifest(seed: str, arch: str = "amd64") -> str:
    """A single-platform image manifest; ``seed`` makes its config digest (and so its own digest) unique."""
    layer = hashlib.sha256(f"layer-{seed}".encode()).hexdigest()
    config = hashlib.sha256(config_blob(seed, arch)).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1234,
                "digest": f"sha256:{config}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 5678,
                    "digest": f"sha256:{layer}",
                }
            ],
        }
    )


# The config blobs pushed (moto's ECR stores manifests only and has no get_download_url_for_layer): (repo, digest).
BLOBS: dict[tuple[str, str], bytes] = {}


@pytest.fixture(autouse=True)
def registry_blobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[str, str], bytes]]:
    """promote.download_config served from what push() stored (download_config itself is tested on its own)."""
    BLOBS.clear()

    def served(_ecr: Any, repository: str, digest: str, http: Any = None) -> bytes:
        if (repository, digest) not in BLOBS:
            raise promote.PromotionError(f"no blob {digest} in {repository}")
        return BLOBS[repository, digest]

    monkeypatch.setattr(promote, "download_config", served)
    yield BLOBS
    BLOBS.clear()


@pytest.fixture
def ecr() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ecr", region_name="us-east-1")


def push(ecr: Any, repository: str, tag: str, seed: str, arch: str = "amd64") -> str:
    """What `docker push` leaves: the config blob, and the manifest under a tag. Returns its digest."""
    body = manifest(seed, arch)
    BLOBS[repository, json.loads(body)["config"]["digest"]] = config_blob(seed, arch)
    answer = ecr.put_image(
        repositoryName=repository, imageManifest=body, imageManifestMediaType=MEDIA_TYPE, imageTag=tag
    )
    return str(answer["image"]["imageId"]["imageDigest"])


def tags(ecr: Any, repository: str) -> dict[str, list[str]]:
    """digest -> sorted tags, for every image in the repository."""
    details = ecr.describe_images(repositoryName=repository)["imageDetails"]
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}


@pytest.fixture
def mutable(ecr: Any) -> str:
    ecr.create_repository(repositoryName="dataquest/ingest", imageTagMutability="MUTABLE")
    return "dataquest/ingest"


@pytest.fixture
def immutable(ecr: Any) -> str:
    ecr.create_repository(repositoryName="dataquest/report", imageTagMutability="IMMUTABLE")
    return "dataquest/report"


def test_promote_puts_the_tag_on_the_same_digest(ecr: Any, mutable: str) -> None:
    digest = push(ecr, mutable, "abc1234", "one")
    result = promote.promote(ecr, mutable, "abc1234", "dev")
    assert to_document(result) == {
        "repository": mutable,
        "digest": digest,
        "from": "abc1234",
        "to": "dev",
        "changed": True,
    }
    assert tags(ecr, mutable) == {digest: ["abc1234", "dev"]}
    # The manifest under the new tag is byte-identical: no rebuild, no new image.
    got = ecr.batch_get_image(repositoryName=mutable, imageIds=[{"imageTag": "dev"}])["images"][0]
    assert got["imageManifest"] == manifest("one")


def test_promoting_again_changes_nothing(ecr: Any, mutable: str) -> None:
    digest = push(ecr, mutable, "abc1234", "one")
    promote.promote(ecr, mutable, "abc1234", "dev")
    again = promote.promote(ecr, mutable, "abc1234", "dev")
    assert again.changed is False
    assert again.digest == digest
    assert tags(ecr, mutable) == {digest: ["abc1234", "dev"]}


def test_a_mutable_repository_moves_the_tag_from_the_previous_release(ecr: Any, mutable: str) -> None:
    old = push(ecr, mutable, "abc1234", "one")
    new = push(ecr, mutable, "def5678", "two")
    promote.promote(ecr, mutable, "abc1234", "prod")
    moved = promote.promote(ecr, mutable, "def5678", "prod")
    assert moved.changed is True
    assert moved.previous_digest == old
    assert tags(ecr, mutable) == {old: ["abc1234"], new: ["def5678", "prod"]}


def test_an_immutable_repository_refuses_a_move_and_says_what_to_do(ecr: Any, immutable: str) -> None:
    old = push(ecr, immutable, "abc1234", "one")
    new = push(ecr, immutable, "def5678", "two")
    assert promote.promote(ecr, immutable, "abc1234", "prod").changed is True
    with pytest.raises(promote.PromotionError) as caught:
        promote.promote(ecr, immutable, "def5678", "prod")
    message = str(caught.value)
    assert "immutable" in message
    assert f"'prod' already names {old}" in message
    assert "--to prod-def5678" in message
    assert "MUTABLE" in message
    # Nothing moved.
    assert tags(ecr, immutable) == {old: ["abc1234", "prod"], new: ["def5678"]}


def test_an_immutable_repository_accepts_the_same_promotion_again(ecr: Any, immutable: str) -> None:
    digest = push(ecr, immutable, "abc1234", "one")
    promote.promote(ecr, immutable, "abc1234", "prod")
    assert promote.promote(ecr, immutable, "abc1234", "prod").changed is False
    assert tags(ecr, immutable) == {digest: ["abc1234", "prod"]}


def test_a_missing_source_tag_is_named_and_nothing_is_tagged(ecr: Any, mutable: str) -> None:
    digest = push(ecr, mutable, "abc1234", "one")
    with pytest.raises(
        promote.PromotionError, match=r"source tag 'nope' not found in ECR repository 'dataquest/ingest'"
    ):
        promote.promote(ecr, mutable, "nope", "dev")
    assert tags(ecr, mutable) == {digest: ["abc1234"]}


def test_a_missing_repository_is_named(ecr: Any) -> None:
    with pytest.raises(promote.PromotionError, match=r"ECR repository 'dataquest/absent' does not exist"):
        promote.promote(ecr, "dataquest/absent", "abc1234", "dev")


def test_the_cli_prints_the_contract_document(ecr: Any, mutable: str, capsys: pytest.CaptureFixture[str]) -> None:
    digest = push(ecr, mutable, "abc1234", "one")
    argv = ["promote", "--json", "--repository", mutable, "--from", "abc1234", "--to", "dev"]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {
        "repository": mutable,
        "digest": digest,
        "from": "abc1234",
        "to": "dev",
        "changed": True,
    }
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


def test_the_cli_fails_with_one_line_naming_the_missing_tag(
    ecr: Any, mutable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["promote", "--json", "--repository", mutable, "--from", "ghost", "--to", "dev"])
    out, err = capsys.readouterr()
    assert code != 0
    assert "source tag 'ghost' not found" in json.loads(out)["error"]
    assert err.count("\n") == 1
    assert "source tag 'ghost' not found" in err


def test_release_promotes_both_functions_and_writes_digests_for_terraform(ecr: Any, tmp_path: Path) -> None:
    for fn in promote.FUNCTIONS:
        ecr.create_repository(repositoryName=f"dataquest/{fn}", imageTagMutability="IMMUTABLE")
    digests = {fn: push(ecr, f"dataquest/{fn}", "abc1234", fn) for fn in promote.FUNCTIONS}
    tfvars = tmp_path / "envs" / "aws" / "prod.images.tfvars.json"

    doc = to_document(
        promote.release(ecr, prefix="dataquest", from_tag="abc1234", to_tag="prod-abc1234", tfvars=tfvars)
    )

    written = json.loads(tfvars.read_text())
    assert set(written) == {"ingest_image_uri", "report_image_uri"}
    for fn in promote.FUNCTIONS:
        uri = written[f"{fn}_image_uri"]
        assert TF_IMAGE_URI.match(uri)
        assert uri.endswith(f"/dataquest/{fn}@{digests[fn]}")
        assert ".dkr.ecr.us-east-1.amazonaws.com/" in uri
    assert [p["changed"] for p in doc["promotions"]] == [True, True]
    assert doc["image_uris"] == written


def test_release_checks_every_source_before_tagging_any(ecr: Any, tmp_path: Path) -> None:
    for fn in promote.FUNCTIONS:
        ecr.create_repository(repositoryName=f"dataquest/{fn}")
    ingest = push(ecr, "dataquest/ingest", "abc1234", "ingest")  # the report image was never pushed
    tfvars = tmp_path / "images.auto.tfvars.json"
    with pytest.raises(promote.PromotionError, match="dataquest/report"):
        promote.release(ecr, prefix="dataquest", from_tag="abc1234", to_tag="dev", tfvars=tfvars)
    assert tags(ecr, "dataquest/ingest") == {ingest: ["abc1234"]}
    assert not tfvars.exists()


def test_promote_release_and_registry_for_make(
    ecr: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for fn in promote.FUNCTIONS:
        ecr.create_repository(repositoryName=f"dataquest/{fn}")
        push(ecr, f"dataquest/{fn}", "abc1234", fn)
    assert cli.main(["promote", "release", "--env", "dev", "--from", "abc1234"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {p["to"] for p in doc["promotions"]} == {"dev-abc1234"}
    assert json.loads((tmp_path / "terraform/envs/aws/dev.images.tfvars.json").read_text()) == doc["image_uris"]

    assert cli.main(["promote", "registry"]) == 0
    assert capsys.readouterr().out.strip().endswith(".dkr.ecr.us-east-1.amazonaws.com")
    assert cli.main(["promote", "login-password"]) == 0
    assert capsys.readouterr().out.strip()

    assert cli.main(["promote", "release", "--env", "dev", "--from", "missing"]) == 1
    assert "source tag 'missing' not found" in capsys.readouterr().err


# --- the CPU type: an image built for another architecture than the function's is refused -----------------------
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def push_index(ecr: Any, repository: str, tag: str, platforms: list[str]) -> str:
    """An image index (what buildx makes with attestations or several platforms)."""
    entries = [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + hashlib.sha256(f"{tag}-{arch}".encode()).hexdigest(),
            "size": 1000,
            "platform": {"architecture": arch, "os": "linux" if arch != "unknown" else "unknown"},
        }
        for arch in platforms
    ]
    body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": entries})
    answer = ecr.put_image(
        repositoryName=repository, imageManifest=body, imageManifestMediaType=INDEX_TYPE, imageTag=tag
    )
    return str(answer["image"]["imageId"]["imageDigest"])


def test_an_arm64_image_is_refused_for_an_x86_64_function_in_one_line(ecr: Any, mutable: str) -> None:
    digest = push(ecr, mutable, "abc1234", "one", arch="arm64")
    with pytest.raises(promote.PromotionError) as caught:
        promote.promote(ecr, mutable, "abc1234", "dev")  # the default architecture: x86_64
    message = str(caught.value)
    assert message == (
        "dataquest/ingest:abc1234 is built for linux/arm64, but the function runs on x86_64 (linux/amd64): "
        "rebuild with make images ARCH=x86_64 and push again, or set the function's architecture"
    )
    assert "\n" not in message
    assert tags(ecr, mutable) == {digest: ["abc1234"]}  # nothing tagged


def test_an_arm64_image_promotes_for_an_arm64_function_and_an_amd64_one_does_not(ecr: Any, mutable: str) -> None:
    arm = push(ecr, mutable, "arm", "one", arch="arm64")
    amd = push(ecr, mutable, "amd", "two", arch="amd64")
    assert promote.promote(ecr, mutable, "arm", "dev", architecture="arm64").digest == arm
    with pytest.raises(promote.PromotionError, match=r"built for linux/amd64, but the function runs on arm64"):
        promote.promote(ecr, mutable, "amd", "dev", architecture="arm64")
    assert tags(ecr, mutable) == {arm: ["arm", "dev"], amd: ["amd"]}


@pytest.mark.parametrize(
    "platforms",
    [["amd64", "unknown"], ["amd64", "arm64"], ["amd64"]],
    ids=["one-image-and-its-attestation", "two-platforms", "one-entry"],
)
def test_an_index_is_refused_in_one_line_whatever_its_platforms(
    ecr: Any, mutable: str, platforms: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Lambda runs a single-platform manifest only: an index, even one whose only other entry is buildx's
    attestation, fails to deploy ("media type ... is not supported")."""
    index = push_index(ecr, mutable, "built", platforms)
    with pytest.raises(promote.PromotionError, match=r"is an image index .*--provenance=false --sbom=false"):
        promote.promote(ecr, mutable, "built", "dev")
    assert tags(ecr, mutable) == {index: ["built"]}
    assert cli.main(["promote", "--repository", mutable, "--from", "built", "--to", "dev"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{mutable}:built is an image index (application/vnd.oci.image.index.v1+json), which Lambda" in err


def test_release_refuses_an_index_before_tagging_any(ecr: Any, tmp_path: Path) -> None:
    for fn in promote.FUNCTIONS:
        ecr.create_repository(repositoryName=f"dataquest/{fn}")
    ingest = push(ecr, "dataquest/ingest", "abc1234", "ingest")
    push_index(ecr, "dataquest/report", "abc1234", ["amd64", "unknown"])
    tfvars = tmp_path / "dev.images.tfvars.json"
    with pytest.raises(promote.PromotionError, match=r"dataquest/report:abc1234 is an image index"):
        promote.release(ecr, prefix="dataquest", from_tag="abc1234", to_tag="dev", tfvars=tfvars)
    assert tags(ecr, "dataquest/ingest") == {ingest: ["abc1234"]}
    assert not tfvars.exists()


def test_an_unknown_architecture_is_refused(ecr: Any, mutable: str) -> None:
    push(ecr, mutable, "abc1234", "one")
    with pytest.raises(promote.PromotionError, match=r"architecture must be one of x86_64, arm64, not 'amd64'"):
        promote.promote(ecr, mutable, "abc1234", "dev", architecture="amd64")


def test_release_refuses_a_mismatch_before_tagging_any(ecr: Any, tmp_path: Path) -> None:
    for fn in promote.FUNCTIONS:
        ecr.create_repository(repositoryName=f"dataquest/{fn}")
    ingest = push(ecr, "dataquest/ingest", "abc1234", "ingest", arch="amd64")
    push(ecr, "dataquest/report", "abc1234", "report", arch="arm64")
    tfvars = tmp_path / "images.auto.tfvars.json"
    with pytest.raises(promote.PromotionError, match=r"dataquest/report:abc1234 is built for linux/arm64"):
        promote.release(ecr, prefix="dataquest", from_tag="abc1234", to_tag="dev", tfvars=tfvars)
    assert tags(ecr, "dataquest/ingest") == {ingest: ["abc1234"]}
    assert not tfvars.exists()


def test_make_promote_passes_the_architecture(
    ecr: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for fn in promote.FUNCTIONS:
        ecr.create_repository(repositoryName=f"dataquest/{fn}")
        push(ecr, f"dataquest/{fn}", "abc1234", fn, arch="arm64")
    assert cli.main(["promote", "release", "--env", "dev", "--from", "abc1234"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("dataquest promote: error: dataquest/ingest:abc1234 is built for linux/arm64")
    assert cli.main(["promote", "release", "--env", "dev", "--from", "abc1234", "--architecture", "arm64"]) == 0
    assert {p["to"] for p in json.loads(capsys.readouterr().out)["promotions"]} == {"dev-abc1234"}


def test_the_cli_refuses_a_mismatch_with_one_line(ecr: Any, mutable: str, capsys: pytest.CaptureFixture[str]) -> None:
    push(ecr, mutable, "abc1234", "one", arch="arm64")
    code = cli.main(["promote", "--repository", mutable, "--from", "abc1234", "--to", "dev"])
    err = capsys.readouterr().err
    assert code != 0
    assert err.count("\n") == 1
    assert "dataquest/ingest:abc1234 is built for linux/arm64, but the function runs on x86_64" in err


# --- download_config: ECR's layer download URL, then the blob, checked against its digest -----------------------
def test_download_config_fetches_the_blob_through_ecr_and_checks_its_digest() -> None:
    blob = config_blob("one", "arm64")
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    url = "https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/blob?X-Amz-Signature=x"
    ecr = boto3.client("ecr", region_name="us-east-1")
    served = {url: blob}
    http = httpx.Client(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, content=served[str(r.url)]) if str(r.url) in served else httpx.Response(404)
        )
    )
    with Stubber(ecr) as stub:
        params = {"repositoryName": "dataquest/report", "layerDigest": digest}
        stub.add_response("get_download_url_for_layer", {"downloadUrl": url, "layerDigest": digest}, params)
        assert REAL_DOWNLOAD_CONFIG(ecr, "dataquest/report", digest, http) == blob
        # A blob whose bytes do not hash to the digest is refused.
        served[url] = config_blob("two", "arm64")
        stub.add_response("get_download_url_for_layer", {"downloadUrl": url, "layerDigest": digest}, params)
        with pytest.raises(promote.PromotionError, match=r"has the digest sha256:"):
            REAL_DOWNLOAD_CONFIG(ecr, "dataquest/report", digest, http)
        # ECR's own error is translated.
        stub.add_client_error(
            "get_download_url_for_layer", "LayerInaccessibleException", "gone", expected_params=params
        )
        with pytest.raises(promote.PromotionError, match=r"reading the image config .* failed"):
            REAL_DOWNLOAD_CONFIG(ecr, "dataquest/report", digest, http)
        stub.assert_no_pending_responses()


def test_the_cli_promotes_an_arm64_image_for_an_arm64_function(
    ecr: Any, mutable: str, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = push(ecr, mutable, "abc1234", "one", arch="arm64")
    argv = ["promote", "--json", "--repository", mutable, "--from", "abc1234", "--to", "dev", "--architecture", "arm64"]
    assert cli.main(argv) == 0
    assert json.loads(capsys.readouterr().out)["digest"] == digest
    assert tags(ecr, mutable) == {digest: ["abc1234", "dev"]}


def test_the_cpu_types_promote_knows_are_the_ones_the_command_line_offers() -> None:
    from dataquest.config import DEFAULT_ARCHITECTURE, LAMBDA_ARCHITECTURES

    assert set(promote.IMAGE_ARCHITECTURES) == set(LAMBDA_ARCHITECTURES)
    assert DEFAULT_ARCHITECTURE in LAMBDA_ARCHITECTURES


def test_promote_without_a_subcommand_needs_its_three_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["promote", "--repository", "dataquest/report", "--json"]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert "needs --from, --to" in json.loads(captured.out)["error"]
    assert captured.err.startswith("dataquest promote: error: dataquest promote needs --from, --to")
