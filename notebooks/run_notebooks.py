"""Execute the notebooks headlessly (as CI does) on surge outputs.

Usage: python3 notebooks/run_notebooks.py RUN_DIR SWEEP_DIR
Each notebook runs in notebooks/ with SURGE_RUN / SURGE_SWEEP pointing at the outputs; a cell
that raises fails the script (exit 1) and names the notebook.
"""
import os
import pathlib
import sys

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    os.environ["SURGE_RUN"] = str(pathlib.Path(sys.argv[1]).resolve())
    os.environ["SURGE_SWEEP"] = str(pathlib.Path(sys.argv[2]).resolve())
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in ["explore-run.ipynb", "what-if-review.ipynb"]:
        nb = nbformat.read(HERE / name, as_version=4)
        client = NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}})
        try:
            client.execute()
        except Exception as e:  # noqa: BLE001 - report which notebook failed
            print(f"notebook {name} failed: {e}", file=sys.stderr)
            return 1
        print(f"notebook {name}: {len(nb.cells)} cells executed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
