"""The commands that run the system: ``run`` (the embedded default, or an existing endpoint), ``status`` (the
last runs, the mirror, the latest report), ``relay`` (the local event source mapping) and ``promote`` (ECR
promotion by digest, with ``release``, ``registry`` and ``login-password`` for make)."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from dataquest import log
from dataquest.cli.common import CommandResult, add_bls_base_url, add_contact, add_population_url
from dataquest.config import DEFAULT_ARCHITECTURE, LAMBDA_ARCHITECTURES, Settings
from dataquest.documents import first_error, to_document
from dataquest.errors import ConfigurationError, PromotionError

if TYPE_CHECKING:
    from dataquest.app import App
    from dataquest.local.embedded import RunResult

logger = log.get("dataquest.cli")


def cmd_run(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.local import embedded

    if args.endpoint_url is not None:
        endpoint = Settings.from_env({"AWS_ENDPOINT_URL": args.endpoint_url}).aws_endpoint_url
        settings = settings.with_overrides(aws_endpoint_url=endpoint)
        if not settings.bucket:
            raise ConfigurationError("--endpoint-url needs a bucket there: pass --bucket (or set DQ_BUCKET)")
    result = embedded.run(settings, Path(args.out))
    error = first_error(result.errors) if result.errors else None
    return CommandResult(document=to_document(result), text=describe_run(result), ok=result.ok, error=error)


def describe_run(result: RunResult) -> str:
    """The short human summary of ``dataquest run``."""
    from dataquest.population import PopulationResult

    ing, relayed, out, moved = result.ingest, result.relay, Path(result.out), result.transferred
    pop = ing.population
    state, rows = ("unchanged", "?")
    if isinstance(pop, PopulationResult):
        state, rows = ("written" if pop.written else "unchanged"), str(pop.rows)
    lines = [
        f"ingest: {ing.files_seen} files seen, {ing.uploaded + moved.uploaded} uploaded, {ing.deleted} deleted, "
        f"{ing.bytes_downloaded + moved.bytes} bytes downloaded; population {state} ({rows} rows)",
        f"transfers: {result.transfers.received} delivered, {moved.resumed} resumed, {moved.skipped} already there, "
        f"{len(result.transfers.dead_letters)} dead-lettered",
        f"notifications: {relayed.received} delivered in {relayed.batches} "
        f"batch{'es' if relayed.batches != 1 else ''}, {len(relayed.dead_letters)} dead-lettered",
        f"reports produced: {len(result.reports)}" + (f" ({', '.join(result.reports)})" if result.reports else ""),
    ]
    report = out / "report.json"
    if report.is_file():
        doc = json.loads(report.read_text())
        stats = doc.get("population_stats", {})
        lines.append(
            f"population {stats.get('start_year')}..{stats.get('end_year')}: mean {stats.get('mean')}, "
            f"std {stats.get('std')}; best years: {len(doc.get('best_years', []))} series; "
            f"{doc.get('series_population', [{}])[0].get('series_id', '?')} rows: "
            f"{len(doc.get('series_population', []))}"
        )
    lines.append(f"files: {', '.join(str(out / f) for f in result.files) or 'none'}")
    if (fresh := ing.freshness) is not None:
        stale = ", ".join(f"{s.survey} ({s.release})" for s in fresh.stale) or "none"
        checked = f"{fresh.releases_due} release(s) due, stale surveys: {stale}" if fresh.checked else "no calendar"
        lines.append(f"freshness ({fresh.hours} h): {checked}; report {'stale' if fresh.report else 'current'}")
    if result.lake is not None and result.lake.query:
        surveys = ", ".join(f"{s} {status}" for s, status in result.lake.surveys.items()) or "none"
        lines.append(f"lake: {result.lake.where} ({surveys}); dataquest query {json.dumps(result.lake.query)}:")
        lines += [f"  {json.dumps(row, default=str)}" for row in result.lake.rows] or ["  (no rows)"]
    lines += [f"error: {e.where}: {e.error}" for e in result.errors]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from dataquest.app import App
    from dataquest.ops import status

    if args.runs < 1:
        raise ConfigurationError(f"--runs {args.runs}: give 1 or more")
    with App(settings) as app:
        found = status.collect(app.s3, settings.require_bucket(), runs=args.runs)
    return CommandResult(document=to_document(found), text=status.as_text(found))


def cmd_relay(args: argparse.Namespace, settings: Settings) -> CommandResult:
    import httpx

    from dataquest.app import App
    from dataquest.local import relay
    from dataquest.local.invoke import http_invoker

    stop = threading.Event()

    def _terminate(signum: int, _frame: object) -> None:
        # PID 1 in a container ignores SIGTERM unless it handles it: stop between batches, or now when idle.
        stop.set()
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, _terminate)
    stats = relay.RelayStats()
    try:
        with App(settings) as app:
            queue_url, queue_arn = relay.resolve_queue(app.sqs, args.queue, timeout=args.startup_timeout)
            log.event(logger, "relay started", queue_url=queue_url, function_url=args.function_url)
            with httpx.Client(timeout=httpx.Timeout(args.timeout, connect=5.0)) as client:
                stats = relay.run(
                    app.sqs,
                    queue_url,
                    queue_arn,
                    http_invoker(client, args.function_url),
                    wait_seconds=max(0, min(args.wait_seconds, 20)),
                    batch_size=args.batch_size,
                    stop=stop,
                    once=args.once,
                )
    except KeyboardInterrupt:
        pass  # SIGINT: stop as SIGTERM does, with the totals reached
    finally:
        signal.signal(signal.SIGTERM, previous)
    return CommandResult(document=to_document(stats), text=json.dumps(to_document(stats)))


def cmd_promote(args: argparse.Namespace, settings: Settings) -> CommandResult:
    from botocore.exceptions import BotoCoreError, ClientError

    from dataquest.app import App
    from dataquest.ops import promote

    with App(settings) as app:
        try:
            if args.action in ("registry", "login-password"):
                host, password = promote.registry(app.ecr)
                return CommandResult(document={}, text=host if args.action == "registry" else password)
            if args.action == "release":
                return _release(args, app)
            return _promote_one(args, app)
        except (BotoCoreError, ClientError) as exc:
            raise PromotionError(f"ECR failed: {exc}") from exc


def _promote_one(args: argparse.Namespace, app: App) -> CommandResult:
    from dataquest.ops import promote

    given = {"--repository": args.repository, "--from": args.from_tag, "--to": args.to_tag}
    missing = [flag for flag, value in given.items() if not value]
    if missing:
        raise ConfigurationError(
            f"dataquest promote needs {', '.join(missing)} (or a subcommand: release, registry, login-password)"
        )
    result = promote.promote(app.ecr, args.repository, args.from_tag, args.to_tag, architecture=args.architecture)
    verb = "promoted" if result.changed else "unchanged:"
    text = f"{verb} {result.repository}:{result.to_tag} -> {result.digest} (from {result.from_tag})"
    return CommandResult(to_document(result), text=text)


def _release(args: argparse.Namespace, app: App) -> CommandResult:
    from dataquest.ops import promote

    tfvars = Path(args.tfvars or f"terraform/envs/aws/{args.env}.images.tfvars.json")
    release = promote.release(
        app.ecr,
        prefix=args.prefix,
        from_tag=args.release_from,
        to_tag=args.release_to or f"{args.env}-{args.release_from}",
        tfvars=tfvars,
        architecture=args.release_architecture,
    )
    document = to_document(release)
    return CommandResult(document, text=json.dumps(document))  # make reads the document either way


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="the whole pipeline (planner, transfers, report) on an embedded S3/SQS emulator, or on an existing "
        "endpoint and bucket when both are given (AWS_ENDPOINT_URL and DQ_BUCKET, or --endpoint-url and --bucket): "
        "there the bucket must exist (it is never created), the queues and the notification are added if missing, "
        "and every object stays after the run",
    )
    p.add_argument("--out", default="out", metavar="DIR", help="where the report files go (default: ./out)")
    p.add_argument(
        "--endpoint-url", default=None, metavar="URL", help="an existing S3/SQS endpoint (default: $AWS_ENDPOINT_URL)"
    )
    add_contact(p)
    add_bls_base_url(p)
    add_population_url(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser(
        "status", parents=[common], help="the last runs (files planned/done/pending/failed), the mirror, the report"
    )
    p.add_argument("--runs", type=int, default=5, metavar="N", help="how many of the last runs (default: 5)")
    p.set_defaults(func=cmd_status)
    _add_relay(sub, common)
    _add_promote(sub, common)


def _add_relay(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "relay",
        parents=[common],
        help="play the SQS event source mapping locally: long-poll a queue, post each batch to a function's RIE "
        "endpoint, delete only the records that succeeded (honouring batchItemFailures)",
    )
    p.add_argument("--queue", required=True, help="the queue's name or URL")
    p.add_argument(
        "--function-url",
        required=True,
        help="the function's invoke endpoint, e.g. http://report:8080/2015-03-31/functions/function/invocations",
    )
    p.add_argument("--wait-seconds", type=int, default=20, help="SQS long-poll wait (0..20, default 20)")
    p.add_argument("--batch-size", type=int, default=10, help="records per batch (1..10, default 10)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for one invocation")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for the queue")
    p.add_argument("--once", action="store_true", help="stop when the queue is empty; print the totals")
    p.set_defaults(func=cmd_relay)


def _add_promote(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    architecture = {
        "choices": LAMBDA_ARCHITECTURES,
        "default": DEFAULT_ARCHITECTURE,
        "help": "the function's CPU type (Terraform's architecture): an image built for another is refused",
    }
    p = sub.add_parser("promote", parents=[common], help="put a release tag on an image by digest (no rebuild)")
    p.add_argument("--repository", default=None, metavar="R", help="the ECR repository name")
    p.add_argument("--from", dest="from_tag", default=None, metavar="TAG", help="the tag to promote")
    p.add_argument("--to", dest="to_tag", default=None, metavar="TAG", help="the tag to put on the same digest")
    p.add_argument("--architecture", **architecture)  # type: ignore[arg-type]
    p.set_defaults(func=cmd_promote, action=None)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    r = actions.add_parser("release", help="promote every function's image and write the Terraform image URIs")
    r.add_argument("--env", required=True, help="the Terraform environment (dev, prod)")
    r.add_argument("--from", dest="release_from", required=True, help="the tag make push gave (the git commit)")
    r.add_argument("--to", dest="release_to", default=None, help="the release tag (default: <env>-<from>)")
    r.add_argument("--prefix", default="dataquest", help="repositories are <prefix>/<function>")
    r.add_argument("--architecture", dest="release_architecture", **architecture)  # type: ignore[arg-type]
    r.add_argument(
        "--tfvars",
        default=None,
        help="where to write the image URIs (default terraform/envs/aws/<env>.images.tfvars.json)",
    )
    actions.add_parser("registry", help="print the ECR registry host (for docker tag/push)")
    actions.add_parser("login-password", help="print a docker login password (docker login -u AWS --password-stdin)")
