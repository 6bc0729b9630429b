"""Execute capsim's notebooks headless, as CI does (sim-cli/tests/notebooks.rs).

    python run_all.py                      # every *.ipynb in this folder
    python run_all.py sweep-analysis.ipynb  # only these

Each notebook runs top to bottom in a fresh kernel of this Python (the venv's), with this
folder as its working directory, so the parameters cells' relative paths (data/...) resolve.
The committed files are never written: outputs stay in memory. A failing cell stops that
notebook; the script prints the cell's error and exits with status 1.
"""

import os
import pathlib
import re
import sys
import time

# The kernel must be this interpreter's, not a python3 kernelspec elsewhere on the machine
# (~/.local/share/jupyter/kernels/python3 would otherwise come first): JUPYTER_PATH is
# searched before the user's folder, and jupyter_client starts a spec whose argv is
# `python` with sys.executable.
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    p for p in [str(pathlib.Path(sys.prefix) / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")] if p
)

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
CELL_TIMEOUT_S = 300


def run(path: pathlib.Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
    )
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as error:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # IPython colours its tracebacks
        print(f"FAILED {path.name}: a cell raised\n{plain}", file=sys.stderr)
        return False
    print(f"ok {path.name} ({time.monotonic() - started:.1f} s)")
    return True


def main(argv: list[str]) -> int:
    paths = [HERE / a for a in argv] if argv else sorted(HERE.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks in {HERE}", file=sys.stderr)
        return 1
    missing = [p for p in paths if not p.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(str(p) for p in missing)}", file=sys.stderr)
        return 1
    results = [run(p) for p in paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
