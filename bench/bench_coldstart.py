"""Cold start: how long a fresh Python process takes to import each Lambda handler, against a pandas-based one.

    python bench/bench_coldstart.py [--runs 10]

Each measurement is a fresh subprocess that times ``import <module>`` (best of ``--runs``); the baseline is
what a pandas-based handler imports at load (``pandas`` and ``boto3``). The handlers import polars only when a
report is computed, so ``dataquest.report.builder`` (which imports polars) is shown too: that is the first report's
extra cost in a cold container.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ("pandas", "boto3")
CODE = "import time; t = time.perf_counter(); import {mods}; print(time.perf_counter() - t)"


def import_seconds(modules: tuple[str, ...], runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode caches exist in an image too
    best = float("inf")
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CODE.format(mods=", ".join(modules))],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        best = min(best, float(out.stdout.strip()))
    return best


def exists(module: str) -> bool:
    sys.path.insert(0, str(ROOT / "src"))
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False
    finally:
        sys.path.pop(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per module (best is kept)")
    args = parser.parse_args()

    # The handlers themselves: a missing one is an error, never a stand-in module measured under another name.
    targets = ["dataquest.handlers.ingest", "dataquest.handlers.report", "dataquest.report.builder"]
    missing = [m for m in targets if not exists(m)]
    if missing:
        print(f"bench-coldstart: cannot import {', '.join(missing)} from {ROOT / 'src'}", file=sys.stderr)
        return 1
    import_seconds(BASELINE, 1)  # warm the bytecode caches and the page cache once
    for t in targets:
        import_seconds((t,), 1)
    baseline = import_seconds(BASELINE, args.runs)
    print(f"import time, best of {args.runs} fresh processes (Python {sys.version.split()[0]}):")
    print(f"  {'pandas + boto3 (baseline)':<38} {baseline * 1000:8.1f} ms")
    for t in dict.fromkeys(targets):
        seconds = import_seconds((t,), args.runs)
        note = " (imports polars)" if t == "dataquest.report.builder" else ""
        print(f"  {t + note:<38} {seconds * 1000:8.1f} ms   baseline / this = {baseline / seconds:4.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
