"""Run every benchmark in bench/ (each prints ratios against its own baseline).

``bench_gpu.py`` trains the paper's 2×1024 BiLSTM for a budget sized for a GPU, which would take
hours on a CPU: it runs here only when named (``run_all.py gpu``); ``make bench-gpu`` runs it alone.
"""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONLY_WHEN_NAMED = {"gpu"}


def main() -> int:
    only = set(sys.argv[1:])
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if (only and name not in only) or (not only and name in ONLY_WHEN_NAMED):
            continue
        print(f"\n##### {script.name}", flush=True)
        started = time.monotonic()
        if subprocess.call([sys.executable, str(script)], cwd=HERE.parent) != 0:
            failed.append(script.name)
        print(f"##### {script.name}: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
