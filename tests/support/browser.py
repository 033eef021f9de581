"""Headless Chromium for the report page: a screenshot, the DOM after load, and the requests the page made.

The page's requests come from Chromium's net log (``--log-net-log``): every URL request the network stack
started, with its initiator. Chromium's own background requests (component updates, time sync) have no
origin as initiator (``"not an origin"``) and are left out; a request the page starts (an image, a script, a
font, a stylesheet) names the page's origin (``"null"`` for a file). ``file:`` and ``data:`` loads never reach
the network stack, so any URL that remains is a request the page made to the network. No name resolves during
a run (``--host-resolver-rules``): nothing leaves the machine, whatever the page asks for.

Also the command behind ``make screenshot``::

    python -m tests.support.browser screenshot PAGE.html OUT.png [--width 1000 --height 1600]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """``DQ_CHROMIUM``, else the first Chromium on PATH."""
    if os.environ.get("DQ_CHROMIUM"):
        return os.environ["DQ_CHROMIUM"]
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


@dataclass(frozen=True)
class Rendered:
    dom: str
    """The DOM after load, serialised (``--dump-dom``)."""
    requests: list[str]
    """URLs of the network requests the page started."""
    console: list[str]
    """Chromium's console lines (CSP refusals, script errors)."""


def render(
    url: str,
    *,
    width: int,
    height: int,
    screenshot: Path | None = None,
    scale: float = 1.0,
    timeout: float = 120,
) -> Rendered:
    """Load ``url`` once in a fresh profile: the DOM, the page's requests, the console; a PNG if asked.

    ``width`` and ``height`` are CSS pixels; the PNG has ``scale`` device pixels for each.
    """
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium on PATH (apt-get install chromium, or set DQ_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="dq-chromium-") as tmp:
        netlog = Path(tmp) / "netlog.json"
        args = [
            chromium,
            *FLAGS,
            f"--user-data-dir={tmp}/profile",
            f"--log-net-log={netlog}",
            "--net-log-capture-mode=Default",
            f"--window-size={width},{height}",
            f"--force-device-scale-factor={scale}",
            "--dump-dom",
        ]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            args.append(f"--screenshot={screenshot.resolve()}")
        proc = subprocess.run([*args, url], capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        return Rendered(dom=proc.stdout, requests=page_requests(netlog), console=console)


def page_requests(netlog: Path) -> list[str]:
    """The URLs of the requests a page started, from a Chromium net log (see the module's docstring)."""
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if (
            names.get(event["type"]) == "URL_REQUEST_START_JOB"
            and "url" in params
            and params.get("initiator") != "not an origin"
        ):
            urls.append(str(params.get("url")))
    return urls


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError(f"{path}: not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.browser")
    sub = parser.add_subparsers(dest="command", required=True)
    shot = sub.add_parser("screenshot", help="a PNG of a page as headless Chromium draws it")
    shot.add_argument("page", type=Path)
    shot.add_argument("out", type=Path)
    shot.add_argument("--width", type=int, default=1000)
    shot.add_argument("--height", type=int, default=1600)
    shot.add_argument("--scale", type=float, default=1.0, help="device pixels per CSS pixel (0.6: a smaller PNG)")
    args = parser.parse_args(argv)
    rendered = render(
        args.page.resolve().as_uri(), width=args.width, height=args.height, screenshot=args.out, scale=args.scale
    )
    if rendered.requests:
        print(f"screenshot: the page made network requests: {rendered.requests}", file=sys.stderr)
        return 1
    width, height = png_size(args.out)
    print(f"{args.out} ({width}x{height}, {args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
