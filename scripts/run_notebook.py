"""Execute a notebook in place with nbclient (what ``make notebook`` runs): its outputs replaced by a fresh run.

    python scripts/run_notebook.py notebooks/report.ipynb [--out OTHER.ipynb] [--timeout 600]

The kernel is this Python's own (``python3``, from ipykernel in the ``notebook`` dependency group) and runs in
the notebook's folder, so relative paths in it mean what they say. A cell that fails stops the run with its
error, and the file is left as it was.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="write the executed notebook here (default: in place)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds a cell may run")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(
        nb, timeout=args.timeout, kernel_name="python3", resources={"metadata": {"path": str(args.notebook.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        print(f"{args.notebook}: a cell failed:\n{exc}", file=sys.stderr)
        return 1
    out = args.out or args.notebook
    nbformat.write(nb, out)
    print(f"{out}: executed, {sum(c.cell_type == 'code' for c in nb.cells)} code cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
