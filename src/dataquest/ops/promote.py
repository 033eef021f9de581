"""ECR promotion by digest: put a release tag on the very manifest a build tag names, without rebuilding.

:func:`promote` resolves the source tag to its manifest and digest (``batch_get_image``) and puts the target tag
on that same manifest (``put_image`` with the manifest, its media type and the digest). Nothing is pulled or
pushed; the layers stay where they are. The answers ECR can give::

    put_image succeeds                    the tag now names the digest; changed: true (in a MUTABLE repository
                                          this moves it from the previous release, which is logged)
    ImageAlreadyExistsException           the tag already names this digest: nothing changes; changed: false
    ImageTagAlreadyExistsException        an IMMUTABLE repository refuses to move a tag: PromotionError saying so
                                          and what to do (a new tag per release, or a MUTABLE repository)

A missing repository or source tag is a :class:`PromotionError` naming it, raised before anything is written;
``put_image`` is a single call, so a failed promotion moves nothing.

The image must be one single-platform manifest: Lambda runs neither multi-architecture images nor image indexes
(its docs: the image "must target only one of the architectures"; an index, even one whose only other entries are
buildx's attestations, fails with "media type ... is not supported"). An index is refused with one line saying how
to rebuild (``--provenance=false --sbom=false``, as ``make images`` does). The image must also run on the function's
CPU type (Terraform's ``architecture``, default ``x86_64``): an arm64 image deploys fine on an x86_64 function, then
every invocation fails (``Runtime.InvalidEntrypoint``). So before any tag is put, the architecture is read from the
image itself, from its config blob (fetched through ``get_download_url_for_layer`` and checked against its digest).
Anything but exactly the function's is refused with one line saying what to rebuild.

``dataquest promote`` wraps it (:mod:`dataquest.cli.ops`) for ``make push`` and ``make promote``:

- ``release --env ENV --from TAG [--to TAG] [--prefix dataquest] [--tfvars PATH]``: promotes ``<prefix>/ingest``
  and ``<prefix>/report`` and writes the ``<function>_image_uri = <repository uri>@sha256:...`` values the
  Terraform environment consumes (Terraform deploys digests, never tags);
- ``registry`` / ``login-password``: the registry host and a ``docker login`` password, from boto3 (no AWS CLI).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from dataquest import log
from dataquest.config import DEFAULT_ARCHITECTURE
from dataquest.documents import INTERNAL, renamed
from dataquest.errors import PromotionError

__all__ = ["PromotionError", "Promotion", "Release", "promote", "release", "registry"]

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

logger = log.get(__name__)

FUNCTIONS = ("ingest", "report")
# The single-platform manifests Lambda runs, and the indexes it does not (asked for too, so that one is refused by
# name rather than answered as "not found").
MANIFEST_MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
]
INDEX_MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
]
ACCEPTED_MEDIA_TYPES = MANIFEST_MEDIA_TYPES + INDEX_MEDIA_TYPES


# Lambda's CPU types (Terraform's `architecture`, in config) and the name an image config gives each (OCI / Docker).
IMAGE_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class Promotion:
    """The outcome: the contract's ``promote --json`` document, through :func:`documents.to_document`."""

    repository: str
    digest: str
    from_tag: str = field(metadata=renamed("from"))
    to_tag: str = field(metadata=renamed("to"))
    changed: bool
    previous_digest: str | None = field(default=None, metadata=INTERNAL)


@dataclass(frozen=True)
class Release:
    """What :func:`release` did: the promotions, the image URIs by digest, and where they were written."""

    promotions: list[Promotion]
    image_uris: dict[str, str]
    tfvars: str | None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def resolve(ecr: ECRClient, repository: str, tag: str) -> tuple[str, str, str]:
    """``(digest, manifest, media type)`` of the image ``tag`` names in ``repository``."""
    try:
        answer = ecr.batch_get_image(
            repositoryName=repository, imageIds=[{"imageTag": tag}], acceptedMediaTypes=ACCEPTED_MEDIA_TYPES
        )
    except ClientError as exc:
        if _code(exc) == "RepositoryNotFoundException":
            raise PromotionError(
                f"ECR repository {repository!r} does not exist in this account and region: check --repository "
                "(terraform/envs/shared creates <prefix>/ingest and <prefix>/report) and AWS_REGION"
            ) from exc
        raise PromotionError(f"reading {repository}:{tag} from ECR failed: {exc}") from exc
    except BotoCoreError as exc:
        raise PromotionError(f"reading {repository}:{tag} from ECR failed: {exc}") from exc
    images = answer.get("images", [])
    if not images:
        reasons = "; ".join(f"{f.get('failureCode')}: {f.get('failureReason')}" for f in answer.get("failures", []))
        raise PromotionError(
            f"source tag {tag!r} not found in ECR repository {repository!r} ({reasons or 'no image'}): push it "
            f"first (make push tags images with the git commit) or check the tag"
        )
    image = images[0]
    digest = image["imageId"]["imageDigest"]
    manifest = image["imageManifest"]
    media_type = image.get("imageManifestMediaType") or json.loads(manifest).get("mediaType") or ""
    return digest, manifest, media_type


def download_config(ecr: ECRClient, repository: str, digest: str, http: httpx.Client | None = None) -> bytes:
    """The config blob ``digest`` of an image in ``repository`` (ECR's layer download URL), checked against it."""
    try:
        url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest)["downloadUrl"]
        get = http.get if http is not None else httpx.get
        response = get(url, timeout=30, follow_redirects=True)
        response.raise_for_status()
    except (ClientError, BotoCoreError, httpx.HTTPError) as exc:
        raise PromotionError(
            f"reading the image config {digest} from ECR repository {repository!r} failed: {exc}"
        ) from exc
    seen = "sha256:" + hashlib.sha256(response.content).hexdigest()
    if seen != digest:
        raise PromotionError(f"the image config ECR served for {repository}@{digest} has the digest {seen}")
    return response.content


def image_architectures(ecr: ECRClient, repository: str, manifest: str) -> list[str]:
    """The architecture a single-platform image is built for, as its config says."""
    doc = json.loads(manifest)
    config = json.loads(download_config(ecr, repository, doc["config"]["digest"]))
    return [str(config.get("architecture") or "unknown")]


def check_single_image(repository: str, tag: str, manifest: str, media_type: str) -> None:
    """Refuse, in one line, an image index (a manifest list): Lambda runs one single-platform manifest only."""
    if media_type in INDEX_MEDIA_TYPES or isinstance(json.loads(manifest).get("manifests"), list):
        raise PromotionError(
            f"{repository}:{tag} is an image index ({media_type or 'a manifest list'}), which Lambda does not run: "
            "rebuild with `--provenance=false --sbom=false` (make images does) and push again"
        )


def check_architecture(ecr: ECRClient, repository: str, tag: str, manifest: str, architecture: str) -> None:
    """Refuse, in one line, an image that is not built for exactly ``architecture`` (x86_64 or arm64)."""
    if architecture not in IMAGE_ARCHITECTURES:
        raise PromotionError(f"architecture must be one of {', '.join(IMAGE_ARCHITECTURES)}, not {architecture!r}")
    wanted = IMAGE_ARCHITECTURES[architecture]
    found = image_architectures(ecr, repository, manifest)
    if found != [wanted]:
        built = " and ".join(f"linux/{a}" for a in found) or "no known architecture"
        raise PromotionError(
            f"{repository}:{tag} is built for {built}, but the function runs on {architecture} (linux/{wanted}): "
            f"rebuild with make images ARCH={architecture} and push again, or set the function's architecture"
        )


def current_digest(ecr: ECRClient, repository: str, tag: str) -> str | None:
    """The digest ``tag`` names now, or ``None`` when no image has it."""
    try:
        details = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        if _code(exc) == "ImageNotFoundException":
            return None
        raise PromotionError(f"reading {repository}:{tag} from ECR failed: {exc}") from exc
    return details[0]["imageDigest"] if details else None


def promote(
    ecr: ECRClient, repository: str, from_tag: str, to_tag: str, *, architecture: str = DEFAULT_ARCHITECTURE
) -> Promotion:
    """Put ``to_tag`` on the manifest ``from_tag`` names, once it is known to be built for ``architecture`` (see
    the module's docstring for ECR's answers)."""
    if not from_tag or not to_tag:
        raise PromotionError("both --from and --to need a tag")
    digest, manifest, media_type = resolve(ecr, repository, from_tag)
    check_single_image(repository, from_tag, manifest, media_type)
    check_architecture(ecr, repository, from_tag, manifest, architecture)
    previous = current_digest(ecr, repository, to_tag)
    kwargs: dict[str, Any] = {"imageManifestMediaType": media_type} if media_type else {}
    try:
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=to_tag, imageDigest=digest, **kwargs)
    except ClientError as exc:
        code = _code(exc)
        if code == "ImageAlreadyExistsException" and previous == digest:
            log.event(logger, "promote unchanged", repository=repository, tag=to_tag, digest=digest)
            return Promotion(repository, digest, from_tag, to_tag, changed=False, previous_digest=previous)
        if code in ("ImageTagAlreadyExistsException", "ImageAlreadyExistsException"):
            raise PromotionError(
                f"ECR repository {repository!r} has immutable tags: {to_tag!r} already names {previous} and "
                f"cannot be moved to {digest} ({code}); promote to a new tag for each release (e.g. "
                f"--to {to_tag}-{from_tag}) or set the repository's image_tag_mutability to MUTABLE"
            ) from exc
        raise PromotionError(f"putting tag {to_tag!r} on {repository}@{digest} failed ({code}): {exc}") from exc
    except BotoCoreError as exc:
        raise PromotionError(f"putting tag {to_tag!r} on {repository}@{digest} failed: {exc}") from exc
    if previous:
        log.event(logger, "promote moved", repository=repository, tag=to_tag, previous=previous, digest=digest)
    else:
        log.event(logger, "promote tagged", repository=repository, tag=to_tag, digest=digest)
    return Promotion(repository, digest, from_tag, to_tag, changed=True, previous_digest=previous)


def repository_uri(ecr: ECRClient, repository: str) -> str:
    try:
        return ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryUri"]
    except ClientError as exc:
        raise PromotionError(f"ECR repository {repository!r} cannot be described: {exc}") from exc


def release(  # noqa: PLR0913 - the options are keyword-only, each named at the call
    ecr: ECRClient,
    *,
    prefix: str,
    from_tag: str,
    to_tag: str,
    tfvars: Path | None = None,
    functions: Sequence[str] = FUNCTIONS,
    architecture: str = DEFAULT_ARCHITECTURE,
) -> Release:
    """Promote every function's image and write ``<function>_image_uri`` (by digest) to ``tfvars``.

    Every source tag is resolved, and its architecture checked, before any tag is put, so a missing image or one
    built for another CPU type stops the release before it starts.
    """
    repositories = {fn: f"{prefix}/{fn}" for fn in functions}
    for repository in repositories.values():
        _digest, manifest, media_type = resolve(ecr, repository, from_tag)
        check_single_image(repository, from_tag, manifest, media_type)
        check_architecture(ecr, repository, from_tag, manifest, architecture)
    promotions = {
        fn: promote(ecr, repo, from_tag, to_tag, architecture=architecture) for fn, repo in repositories.items()
    }
    uris = {f"{fn}_image_uri": f"{repository_uri(ecr, p.repository)}@{p.digest}" for fn, p in promotions.items()}
    if tfvars is not None:
        tfvars.parent.mkdir(parents=True, exist_ok=True)
        tfvars.write_text(json.dumps(uris, indent=2, sort_keys=True) + "\n")
    return Release(list(promotions.values()), uris, str(tfvars) if tfvars else None)


def registry(ecr: ECRClient) -> tuple[str, str]:
    """``(registry host, docker login password)`` from ECR's authorization token."""
    data = ecr.get_authorization_token()["authorizationData"][0]
    _user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return data["proxyEndpoint"].removeprefix("https://").removeprefix("http://"), password
