"""How fast does the static path answer, for good specs and hostile ones?

Times, as whole processes (what a user waits for), ``netspec check`` on

* every golden bad spec in ``tests/golden/diagnostics`` (alias bombs, node
  limits, absurd repeats, Python tags, ...), each of which must end in
  exit status 1 within a second or two,
* ``specs/resnet152.yaml``, the largest zoo spec,

against a bare ``python -c "import pydantic, yaml"``, and prints each figure
and its ratio to that baseline (median of ``--repeat`` runs).

    .venv/bin/python benchmarks/hostile_inputs.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "diagnostics"


def run_seconds(argv: list[str], repeat: int) -> tuple[float, int]:
    """(median wall seconds, exit status) of running ``argv`` ``repeat`` times."""
    times, status = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        status = subprocess.run(argv, cwd=ROOT, capture_output=True).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    check = [sys.executable, "-m", "netspec", "check", "-q"]
    baseline, _ = run_seconds([sys.executable, "-c", "import pydantic, yaml"], args.repeat)
    print(f"baseline: python -c 'import pydantic, yaml'      {baseline * 1000:7.0f} ms")
    rows = [("specs/resnet152.yaml", "specs/resnet152.yaml")]
    rows += [(f"golden/{path.stem}", str(path.relative_to(ROOT))) for path in sorted(GOLDEN.glob("*.yaml"))]
    slowest = 0.0
    for label, path in rows:
        seconds, status = run_seconds(check + [path], args.repeat)
        slowest = max(slowest, seconds) if label.startswith("golden/") else slowest
        print(f"netspec check {label:<34} {seconds * 1000:7.0f} ms  {seconds / baseline:5.1f}×  exit {status}")
    print(f"slowest hostile/bad spec: {slowest * 1000:.0f} ms ({slowest / baseline:.1f}× the baseline)")


if __name__ == "__main__":
    main()
