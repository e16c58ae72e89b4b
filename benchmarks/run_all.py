"""Run every benchmark script in this folder (``make bench``) and print their tables.

Benchmarks are scripts, not timed tests: each prints a table comparing spectm with a
peer measured in the same run. Results worth keeping are copied, with the command
that produced them, into ``benchmarks/README.md``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        r = subprocess.run([sys.executable, str(script)], check=False)
        if r.returncode:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
